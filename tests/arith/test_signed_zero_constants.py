"""-0.0 and 0.0 are different constants: the simplifier must not merge them (a fuzzing finding).

``te.if_then_else(c, 0.0, -0.0)`` was simplified to ``0.0`` (its two sides had equal structural
keys, since ``-0.0 == 0.0``), and ``te.min(-0.0, 0.0)`` folded to ``-0.0`` where numpy's
``minimum`` gives ``0.0`` (float16's loop gives the first operand)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.arith import simplify, structural_equal

FLOATS = ["float16", "float32", "float64"]


def _run(fn, a: np.ndarray, vectorize: bool) -> np.ndarray:
    n = a.shape[0]
    A = te.placeholder((n,), str(a.dtype), name="A")
    C = te.compute((n,), lambda i: fn(A[i]), name="C")
    s = te.create_schedule(C.op)
    if vectorize:
        _, xi = s[C].split(C.op.axis[0], factor=8)
        s[C].vectorize(xi)
    f = tl.build(s, [A, C], "llvm")
    out = np.full(n, 7, C.dtype.numpy())
    f(a, out)
    return out


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    want = want.astype(got.dtype)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vectorize", [False, True])
def test_select_between_zeros_of_both_signs(dtype: str, vectorize: bool, rng: np.random.Generator) -> None:
    a = rng.standard_normal(37).astype(dtype)
    pz, nz = te.const(0.0, dtype), te.const(-0.0, dtype)
    for t, f, tv, fv in ((pz, nz, 0.0, -0.0), (nz, pz, -0.0, 0.0)):
        got = _run(lambda x, t=t, f=f: te.if_then_else(x > 0, t, f), a, vectorize)
        _same_bits(got, np.where(a > 0, np.array(tv, dtype), np.array(fv, dtype)))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vectorize", [False, True])
def test_constant_min_max_of_signed_zeros_folds_as_numpy(dtype: str, vectorize: bool,
                                                          rng: np.random.Generator) -> None:
    a = rng.standard_normal(37).astype(dtype)
    for x, y in ((-0.0, 0.0), (0.0, -0.0), (np.nan, 0.0), (1.0, np.nan)):
        for te_fn, np_fn in ((te.min, np.minimum), (te.max, np.maximum)):
            want_c = np_fn(np.array([x], dtype), np.array([y], dtype))[0]
            # folded (both constants) and computed (one side read from memory) agree with numpy
            got = _run(lambda v: te.if_then_else(v > 0, te_fn(te.const(x, dtype), te.const(y, dtype)), v),
                       a, vectorize)
            _same_bits(got, np.where(a > 0, want_c, a))
            b = np.where(a > 0, np.array(x, dtype), a).astype(dtype)
            got = _run(lambda v: te_fn(v, te.const(y, dtype)), b, vectorize)
            _same_bits(got, np_fn(b, np.array(y, dtype)))


def test_structural_keys_tell_zeros_apart_and_nan_equals_itself() -> None:
    assert not structural_equal(te.const(0.0, "float32"), te.const(-0.0, "float32"))
    assert structural_equal(te.const(float("nan"), "float32"), te.const(float("nan"), "float32"))
    x = te.var("x", "float32")
    e = simplify(te.if_then_else(x > 0, te.const(0.0, "float32"), te.const(-0.0, "float32")))
    assert isinstance(e, te.Select)


def test_folding_a_cast_that_overflows_float16_is_quiet(rng: np.random.Generator) -> None:
    # a Cast whose operand becomes a constant only during simplification (the select folds)
    import warnings

    big = float(rng.uniform(1e5, 1e30))
    x = te.var("x", "float64")
    e = te.expr.Cast("float16", te.expr.Select(te.const(True), te.const(big, "float64"), x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folded = simplify(e)
    assert isinstance(folded, te.FloatImm) and folded.value == np.float16(np.inf)
