"""topi.argmax/argmin follow numpy: NaN beats every number and the first NaN wins, ties keep
the first index, -inf and +inf are ordinary values; also under a split reduction (rfactor)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi


def _rows() -> np.ndarray:
    rng = np.random.default_rng(8)
    a = rng.integers(-3, 4, (9, 11)).astype("float32")  # many ties
    a[0, 4] = np.nan
    a[1, [2, 7]] = np.nan  # two NaNs: the first wins
    a[2, :] = np.nan
    a[3, 10] = np.nan  # NaN last
    a[4, 0] = np.nan  # NaN first
    a[5, :] = -np.inf
    a[6, 3], a[6, 8] = np.inf, np.inf
    a[7, :] = 2.0
    return a


@pytest.mark.parametrize("which", ["argmax", "argmin"])
@pytest.mark.parametrize("rfactor", [False, True])
def test_arg_reductions_match_numpy_with_nan_inf_and_ties(which: str, rfactor: bool) -> None:
    A = te.placeholder((9, 11), name="A")
    B = getattr(topi, which)(A, axis=1)
    s = te.create_schedule(B.op)
    if rfactor:
        red = B.op.input_tensors[0]
        ko, ki = s[red].split(red.op.reduce_axis[0], factor=4)
        s.rfactor(red, ki)
    f = tl.build(s, [A, B])
    a = _rows()
    b = np.zeros(9, "int32")
    f(a, b)
    np.testing.assert_array_equal(b, getattr(np, which)(a, axis=1))


@pytest.mark.parametrize("which", ["argmax", "argmin"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_arg_reductions_over_every_axis_give_numpys_flat_index_and_shape(which: str, keepdims: bool) -> None:
    a = np.random.default_rng().standard_normal((3, 4, 5)).astype("float32")
    a[1, 2, 3] = np.nan if which == "argmax" else -np.inf
    A = te.placeholder(a.shape, name="A")
    B = getattr(topi, which)(A, axis=None, keepdims=keepdims)
    want = np.asarray(getattr(np, which)(a, axis=None, keepdims=keepdims))
    assert tuple(int(d) for d in B.shape) == want.shape  # (1, 1, 1) or ()
    b = np.zeros(tuple(int(d) for d in B.shape), "int32")
    tl.build(te.create_schedule(B.op), [A, B])(a, b)
    np.testing.assert_array_equal(b.ravel(), want.ravel())


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_float16_sums_add_up_in_float32_as_accurately_as_numpy(target: str) -> None:
    # One float16 rounding per element drifts by ~0.4 over 1000 normals; numpy's pairwise sum
    # (and this float32 accumulation) stays within ~0.03 of the exact sum.
    x = np.random.default_rng().standard_normal((6, 1000)).astype("float16")
    X = te.placeholder(x.shape, "float16", name="X")
    out = topi.sum(X, axis=1)
    assert out.op.name == "T_sum" and out.dtype == "float16"
    with tl.target.Target(target):
        s = topi.x86.schedule_reduce(out) if target == "llvm" else topi.cuda.schedule_reduce(out)
    got = np.zeros(6, "float16")
    tl.build(s, [X, out], target=target)(x, got)
    exact = x.astype(np.float64).sum(axis=1)
    np.testing.assert_allclose(got.astype(np.float64), exact, atol=0.05, rtol=2e-3)
    np.testing.assert_allclose(got.astype(np.float64), np.sum(x, axis=1).astype(np.float64), atol=0.05, rtol=2e-3)
