"""Shared helpers: fresh random inputs and a build-run-compare check against numpy."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorlang as tl

# Every lowering in the tests checks the invariants its passes establish (tensorlang.ir.verify).
os.environ.setdefault("TENSORLANG_VERIFY_IR", "1")


def random_array(rng: np.random.Generator, shape, dtype: str) -> np.ndarray:
    """Fresh random data of any supported dtype (never constant)."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        lo, hi = max(info.min, -100), min(info.max, 100)
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(dt)
    return (rng.standard_normal(shape)).astype(dt)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng()


def run(s, args, inputs: list[np.ndarray], out_shapes_dtypes, name: str = "f", **build_kw):
    """Build, run on ``inputs``, return the output arrays (fresh random garbage beforehand)."""
    f = tl.build(s, args, target="llvm", name=name, **build_kw)
    rng = np.random.default_rng()
    outs = [random_array(rng, shp, dt) for shp, dt in out_shapes_dtypes]
    f(*inputs, *outs)
    return outs
