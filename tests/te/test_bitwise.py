"""Bitwise operators and shifts (& | ^ ~ << >>, tir.bitwise_*/shift_*) against numpy: integer
operands only, numpy's results for every count (negative and past the width included)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te, tir
from tensorlang.errors import DTypeError

_OPS = {
    "and": (lambda a, b: a & b, np.bitwise_and),
    "or": (lambda a, b: a | b, np.bitwise_or),
    "xor": (lambda a, b: a ^ b, np.bitwise_xor),
    "shl": (lambda a, b: a << b, np.left_shift),
    "shr": (lambda a, b: a >> b, np.right_shift),
    "not_a": (lambda a, b: ~a, lambda a, b: np.invert(a)),
    "tir": (lambda a, b: tir.shift_right(tir.bitwise_xor(a, b), tir.bitwise_and(b, 3)),
            lambda a, b: np.right_shift(a ^ b, b & 3)),
}
_DTYPES = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


def _data(rng, dt, n):
    info = np.iinfo(dt)
    a = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    b = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    # half the counts near the width, where shifts stop being plain
    b[: n // 2] = rng.integers(0 if info.min == 0 else -3, info.bits + 3, n // 2).astype(dt)
    return a, b


def _build(expr_fn, dt, n, target, lanes=0):
    A = te.placeholder((n,), dt, name="A")
    B = te.placeholder((n,), dt, name="B")
    C = te.compute((n,), lambda i: expr_fn(A[i], B[i]), name="C")
    s = te.create_schedule(C.op)
    if target.startswith("cuda"):
        xo, xi = s[C].split(C.op.axis[0], factor=16)
        s[C].bind(xo, te.thread_axis("blockIdx.x"))
        s[C].bind(xi, te.thread_axis("threadIdx.x"))
    elif lanes:
        xo, xi = s[C].split(C.op.axis[0], factor=lanes)
        s[C].vectorize(xi)
    return tl.build(s, [A, B, C], target), C.dtype


@settings(max_examples=40, deadline=None)
@given(dt=st.sampled_from(_DTYPES), op=st.sampled_from(sorted(_OPS)), lanes=st.sampled_from([0, 4, 16]))
def test_operators_match_numpy(dt, op, lanes):
    rng = np.random.default_rng()
    expr_fn, ref = _OPS[op]
    f, out_dt = _build(expr_fn, dt, 48, "llvm", lanes)
    a, b = _data(rng, dt, 48)
    out = np.empty(48, str(out_dt))
    f(a, b, out)
    np.testing.assert_array_equal(out, ref(a, b))


@pytest.mark.parametrize("dt", ["int8", "uint32", "int64"])
def test_a_combination_on_cuda_emulate(dt):
    rng = np.random.default_rng()
    f, _ = _build(lambda a, b: ((a << b) ^ (b & 7)) | (a >> b) + ~a, dt, 64, "cuda -emulate")
    a, b = _data(rng, dt, 64)
    out = np.empty(64, dt)
    f(a, b, out)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out, (np.left_shift(a, b) ^ (b & 7)) | (np.right_shift(a, b) + np.invert(a)))


def test_constants_fold_as_numpy():
    for dt in _DTYPES:
        info = np.iinfo(dt)
        for x in (info.min, -5 if info.min else 5, info.max):
            for y in (-1, 0, 3, info.bits - 1, info.bits, info.bits + 2):
                if not info.min <= y <= info.max:
                    continue
                for fn, ref in (_OPS["shl"], _OPS["shr"], _OPS["and"], _OPS["xor"]):
                    got = fn(te.const(x, dt), te.const(y, dt))
                    assert isinstance(got, te.IntImm)
                    assert got.value == int(ref(np.array(x, dt), np.array(y, dt))), (dt, x, y)


def test_conditions_stay_logical_and_floats_are_refused():
    i = te.var("i")
    assert isinstance((i < 3) & (i > 1), te.And) and isinstance((i < 3) | True, te.Or)
    assert isinstance((i < 3) ^ (i > 1), te.NE) and isinstance(~(i < 3), te.Not)
    assert isinstance(i & 1, te.BitwiseAnd) and isinstance(1 << i, te.ShiftLeft)
    x = te.var("x", "float32")
    with pytest.raises(DTypeError, match="integer operands"):
        x & 1
    with pytest.raises(DTypeError, match="integer operand"):
        ~x
    with pytest.raises(DTypeError, match="integer operands"):
        x << 2


def test_printed_with_python_precedence():
    i, j = te.var("i"), te.var("j")
    assert str((i + 1) << (j & 3)) == "i + 1 << (j & 3)"
    assert str((i << 1) + 1) == "(i << 1) + 1"
    assert str(i | j & 7 ^ 2) == "i | j & 7 ^ 2"


def test_a_condition_and_an_integer_are_bitwise_as_numpy():
    a = np.random.default_rng().integers(-3, 4, 64).astype("int8")
    b = np.random.default_rng().integers(-4, 5, 64).astype("int8")
    A, B = te.placeholder((64,), "int8", name="A"), te.placeholder((64,), "int8", name="B")
    And = te.compute((64,), lambda i: (A[i] > 0) & B[i], name="And")
    Or = te.compute((64,), lambda i: B[i] | (A[i] < 0), name="Or")
    Both = te.compute((64,), lambda i: (A[i] > 0) & (B[i] > 0), name="Both")
    f = tl.build(te.create_schedule([And.op, Or.op, Both.op]), [A, B, And, Or, Both])
    outs = [np.zeros(64, str(t.dtype)) for t in (And, Or, Both)]
    f(a, b, *outs)
    for got, want in zip(outs, [(a > 0) & b, b | (a < 0), (a > 0) & (b > 0)]):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
