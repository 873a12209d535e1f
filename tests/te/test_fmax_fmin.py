"""te.fmax/te.fmin ignore NaN (numpy.fmax/fmin; as reductions numpy.fmax.reduce), while
te.max/te.min propagate it: compiled with LLVM (scalar and vectorized) and run by the reference
interpreter, against numpy on random data with NaN, infinities and signed zeros."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te
from tensorlang.ir.function import Buffer

from ..ir.interp import run as interpret

FLOATS = ["float16", "float32", "float64"]


def _data(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, nan_rate: float) -> np.ndarray:
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype)
    pick = rng.random(shape)
    x[pick < nan_rate] = np.nan
    odd = (pick >= nan_rate) & (pick < nan_rate + 0.1)
    x[odd] = rng.choice(special, odd.sum())
    return x


def _run_both(s, args, arrays) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The outputs of the LLVM build and of the interpreter on the lowered IR."""
    compiled = [a.copy() for a in arrays]
    tl.build(s, args, "llvm")(*compiled)
    func = tl.lower(s, args)
    interpreted = [a.copy() for a in arrays]
    bufs = {p.data: arr for p, arr in zip(func.params, interpreted) if isinstance(p, Buffer)}
    interpret(func.body, bufs, {})
    return compiled, interpreted


@settings(max_examples=25, deadline=None)
@given(dtype=st.sampled_from(FLOATS), n=st.integers(1, 40), vectorize=st.booleans(),
       nan_rate=st.sampled_from([0.0, 0.3, 0.9]), seed=st.integers(0, 2**32 - 1))
def test_elementwise_fmax_fmin_match_numpy(dtype, n, vectorize, nan_rate, seed) -> None:
    rng = np.random.default_rng(seed)
    A, B = te.placeholder((n,), dtype, name="A"), te.placeholder((n,), dtype, name="B")
    C = te.compute((n,), lambda i: te.fmax(A[i], B[i]), name="C")
    D = te.compute((n,), lambda i: te.fmin(A[i], B[i]), name="D")
    E = te.compute((n,), lambda i: te.max(A[i], B[i]), name="E")
    s = te.create_schedule([C.op, D.op, E.op])
    if vectorize:
        for T in (C, D, E):
            _, xi = s[T].split(T.op.axis[0], factor=8)
            s[T].vectorize(xi)
    a, b = _data(rng, (n,), dtype, nan_rate), _data(rng, (n,), dtype, nan_rate)
    garbage = [_data(rng, (n,), dtype, 0.5) for _ in range(3)]
    for outs in _run_both(s, [A, B, C, D, E], [a, b, *garbage]):
        np.testing.assert_array_equal(outs[2], np.fmax(a, b))
        np.testing.assert_array_equal(outs[3], np.fmin(a, b))
        np.testing.assert_array_equal(outs[4], np.maximum(a, b))  # te.max still propagates NaN


@settings(max_examples=25, deadline=None)
@given(dtype=st.sampled_from(FLOATS), rows=st.integers(1, 6), k=st.integers(1, 30),
       nan_rate=st.sampled_from([0.0, 0.3, 0.9, 1.0]), seed=st.integers(0, 2**32 - 1))
def test_fmax_fmin_reductions_match_numpy_reduce(dtype, rows, k, nan_rate, seed) -> None:
    rng = np.random.default_rng(seed)
    A = te.placeholder((rows, k), dtype, name="A")
    r1, r2 = te.reduce_axis((0, k), "r1"), te.reduce_axis((0, k), "r2")
    Mx = te.compute((rows,), lambda i: te.fmax(A[i, r1], axis=r1), name="Mx")
    Mn = te.compute((rows,), lambda i: te.fmin(A[i, r2], axis=r2), name="Mn")
    s = te.create_schedule([Mx.op, Mn.op])
    a = _data(rng, (rows, k), dtype, nan_rate)
    outs_llvm, outs_interp = _run_both(s, [A, Mx, Mn], [a, np.zeros(rows, dtype), np.zeros(rows, dtype)])
    for outs in (outs_llvm, outs_interp):
        np.testing.assert_array_equal(outs[1], np.fmax.reduce(a, axis=1))  # NaN only for all-NaN rows
        np.testing.assert_array_equal(outs[2], np.fmin.reduce(a, axis=1))


def test_on_integers_fmax_is_max() -> None:
    A, B = te.placeholder((50,), "int16", name="A"), te.placeholder((50,), "int16", name="B")
    C = te.compute((50,), lambda i: te.fmax(A[i], B[i]) - te.fmin(A[i], B[i]), name="C")
    R = te.reduce_axis((0, 50), "r")
    M = te.compute((1,), lambda i: te.fmin(A[R], axis=R), name="M")
    s = te.create_schedule([C.op, M.op])
    rng = np.random.default_rng(7)
    a = rng.integers(-30000, 30000, 50).astype("int16")
    b = rng.integers(-30000, 30000, 50).astype("int16")
    c, m = np.zeros(50, "int16"), np.zeros(1, "int16")
    tl.build(s, [A, B, C, M])(a, b, c, m)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(c, np.maximum(a, b) - np.minimum(a, b))
    assert m[0] == a.min()
