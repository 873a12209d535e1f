"""Findings of the s23 fuzz campaign against numpy (random te pipelines, reductions and schedules on
llvm and "cuda -emulate"): topi.prod of float16 multiplies up in float32 and rounds once, as numpy's
reduction does (as topi.sum already did), instead of overflowing or drifting in float16."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi


def _prod(x: np.ndarray, target: str, axis: int) -> np.ndarray:
    X = te.placeholder(x.shape, "float16", name="X")
    out = topi.prod(X, axis=axis)
    assert out.dtype == "float16"
    with tl.target.Target(target):
        s = topi.x86.schedule_reduce(out) if target == "llvm" else topi.cuda.schedule_reduce(out)
    got = np.zeros(tuple(int(d) for d in out.shape), "float16")
    tl.build(s, [X, out], target=target)(x, got)
    return got


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_float16_prod_does_not_overflow_where_numpy_does_not(target: str) -> None:
    rng = np.random.default_rng()
    # two factors whose product passes float16's 65504, then a small one that brings it back
    x = np.stack([rng.uniform(260, 400, 5), rng.uniform(260, 400, 5), rng.uniform(1e-3, 5e-3, 5)], axis=1)
    x = x.astype("float16")
    got = _prod(x, target, axis=1)
    want = np.prod(x, axis=1)
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=2e-3)


def test_float16_prod_of_many_factors_stays_as_accurate_as_numpy() -> None:
    # One float16 rounding per factor drifts by ~10 ulps over 400 factors near 1; numpy rounds once.
    x = np.random.default_rng().uniform(0.95, 1.05, (6, 400)).astype("float16")
    got = _prod(x, "llvm", axis=1).astype(np.float64)
    exact = np.prod(x.astype(np.float64), axis=1)
    np.testing.assert_allclose(got, exact, rtol=1e-3)
    np.testing.assert_allclose(got, np.prod(x, axis=1).astype(np.float64), rtol=1e-3)
