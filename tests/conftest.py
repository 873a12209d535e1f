"""Shared helpers: fresh random inputs and a build-run-compare check against numpy."""

from __future__ import annotations

import os
import sys

# Machines like CI's run Python with PYTHONDONTWRITEBYTECODE=1, so every interpreter the suite starts
# (xdist workers, CLI runs, tuning and Ray workers, fresh-import checks) would compile tensorlang's
# 60,000 lines, and pytest every test module, from source again: 1-2 s an interpreter, 13 s a worker's
# collection. The suite writes bytecode into the (ignored) __pycache__ folders, as Python does by default.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import tensorlang as tl  # noqa: E402

# A tuning run's confirmation times each leader in fresh processes with repeats of at least 20 ms
# (tuner.CONFIRM_MIN_REPEAT_MS), so that a leader is not judged by one short reading: with the
# suite's microsecond kernels that was half of a small tuning test's time, spent on figures no test
# reads for accuracy. The confirmation itself (rounds, ties, ranks, the .confirmed log) runs as ever.
from tensorlang.autotune.tuner import tuner as _tuner  # noqa: E402

_tuner.CONFIRM_MIN_REPEAT_MS = 2.0

# Every lowering in the tests checks the invariants its passes establish (tensorlang.ir.verify),
# once, on the last step's output: after every step (=1) made build-heavy tests a fifth slower.
os.environ.setdefault("TENSORLANG_VERIFY_IR", "last")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (each 13-30 s, their paths also covered in part by cheaper tests) run
    with TENSORLANG_SLOW_TESTS=1 or ``-m slow`` only: the default run, CI's, must stay within its
    15 minutes on 2 cores."""
    if os.environ.get("TENSORLANG_SLOW_TESTS") or "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with TENSORLANG_SLOW_TESTS=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


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
