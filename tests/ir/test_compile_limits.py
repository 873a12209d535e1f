"""Compile-time blow-ups become clear errors: huge unrolls and vector widths are refused with a
LoweringError naming the loop, a split factor beyond the extent is clamped to it, and chains of
thousands of operations compile or raise ExprError, never RecursionError."""

from __future__ import annotations

import time

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ExprError, LoweringError


def _vadd(n: int):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    return A, B, te.create_schedule(B.op)


def test_huge_unroll_is_refused_naming_the_loop() -> None:
    A, B, s = _vadd(100_000)
    s[B].unroll(B.op.axis[0])
    start = time.perf_counter()
    with pytest.raises(LoweringError, match="cannot unroll loop i: 100000 iterations"):
        tl.lower(s, [A, B])
    assert time.perf_counter() - start < 5


def test_huge_vector_is_refused_and_huge_split_factors_are_clamped(rng) -> None:
    A, B, s = _vadd(8192)
    s[B].vectorize(B.op.axis[0])
    with pytest.raises(LoweringError, match="8192 lanes"):
        tl.lower(s, [A, B])
    A, B, s = _vadd(100)
    _, xi = s[B].split(B.op.axis[0], factor=2**30)  # far beyond the extent: clamped to 100
    s[B].unroll(xi)
    f = tl.build(s, [A, B], "llvm")
    a = rng.standard_normal(100).astype("float32")
    b = np.zeros(100, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a + 1, rtol=1e-6)


@pytest.mark.parametrize("terms,ok", [(1500, True), (6000, False)])
def test_long_chains_compile_or_raise_expr_error(terms: int, ok: bool, rng) -> None:
    A = te.placeholder((terms,), name="A")

    def chain(_):
        x = A[0]
        for k in range(1, terms):
            x = x + A[k]
        return x
    if not ok:
        with pytest.raises(ExprError, match="nested too deeply"):
            B = te.compute((1,), chain, name="B")
            tl.build(te.create_schedule(B.op), [A, B], "llvm")
        return
    B = te.compute((1,), chain, name="B")
    f = tl.build(te.create_schedule(B.op), [A, B], "llvm")
    a = rng.random(terms).astype("float32")
    b = np.zeros(1, "float32")
    f(a, b)
    np.testing.assert_allclose(b[0], a.sum(dtype=np.float64), rtol=1e-4)


def test_unconditional_out_of_bounds_reads_are_lowering_errors(rng) -> None:
    A = te.placeholder((16, 8), name="A")
    B = te.compute((16, 8), lambda i, j: A[i, j + 1] * 2.0, name="B")
    with pytest.raises(LoweringError, match=r"stage B reads A\[i, j \+ 1\] out of bounds: index 1.*1\.\.8.*size 8"):
        tl.lower(te.create_schedule(B.op), [A, B])
    k = te.reduce_axis((0, 9), name="k")
    C = te.compute((16,), lambda i: te.sum(A[i, k], axis=k), name="C")
    with pytest.raises(LoweringError, match="stage C reads A"):
        tl.lower(te.create_schedule(C.op), [A, C])
    # the same read under a guard is fine, and computes what numpy computes
    D = te.compute((16, 8), lambda i, j: te.if_then_else(j < 7, A[i, j + 1], 0.0), name="D")
    f = tl.build(te.create_schedule(D.op), [A, D], "llvm")
    a = rng.standard_normal((16, 8)).astype("float32")
    d = np.zeros((16, 8), "float32")
    f(a, d)
    np.testing.assert_array_equal(d, np.concatenate([a[:, 1:], np.zeros((16, 1), "float32")], axis=1))


def test_index_type_is_chosen_from_buffer_sizes(rng) -> None:
    n = 65536  # 2**32 elements: int32 offsets would wrap (A[j - 65536]) and allocations be 0
    A = te.placeholder((n, n), name="A")
    C = te.compute((n, n), lambda i, j: A[i, j] + 1.0, name="C")
    D = te.compute((n, n), lambda i, j: C[i, j] * 2.0, name="D")
    func = tl.lower(te.create_schedule(D.op), [A, D])
    text = str(func)
    assert "allocate C[float32 * int64(4294967296)]" in text
    assert "int64(i) * int64(65536) + int64(j)" in text
    # small buffers keep int32 offsets; symbolic 2-D ones use int64 and still compute right
    B = te.placeholder((64, 64), name="B")
    E = te.compute((64, 64), lambda i, j: B[i, j] * 2.0, name="E")
    assert "int64" not in str(tl.lower(te.create_schedule(E.op), [B, E]))
    m, k = te.var("m"), te.var("k")
    P = te.placeholder((m, k), name="P")
    Q = te.compute((m, k), lambda i, j: P[i, j] * 3.0, name="Q")
    s = te.create_schedule(Q.op)
    _, xi = s[Q].split(Q.op.axis[1], factor=8)
    s[Q].vectorize(xi)
    f = tl.build(s, [P, Q], "llvm")
    p = rng.random((37, 53)).astype("float32")
    q = np.zeros_like(p)
    f(p, q)
    np.testing.assert_allclose(q, p * 3, rtol=1e-6)
