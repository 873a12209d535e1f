"""Clamps nested in clamps (the region a cache_read stage copies, the union of many clamped and
guarded reads) simplify in time linear in their size: the simplifier visited the operands of
every min, max and sum again, and this build took over a minute (three terms; 7 s for one)."""

import time

import numpy as np

import tensorlang as tvm
from tensorlang import te, tir


def _terms(A, G, i):
    i16 = tir.const(60, "int16")
    row = (i.astype("int16") + i16).astype("int32") + 3  # wraps nowhere, but is narrow arithmetic
    t1 = te.if_then_else(tir.all(row >= 0, row < 3), A[row, i],
                         te.if_then_else(A[te.min(te.max((i & 1) - 3, 0), 2), i % 2] > 0,
                                         A[te.min(te.max((i - 3) // -3, 0), 2), te.min(te.max(i * 4 + i, 0), 1)],
                                         A[te.min(tir.Select(i < 0, i, i), 2) % 3, i % 2]))
    j = tir.Select(i < 4, i * -2 + 1, tir.truncdiv(i - 3, 7))
    t2 = te.if_then_else(tir.Not(tir.all(i >= 0, i < 3, j >= 0, j < 2, i < 7)),
                         A[i % 3, te.min(te.max(i * 4 + i, 0), 1)], A[i, j])
    t3 = te.if_then_else(G[i % 4] < 0, A[(i - 1) // 1 % 3, i % 2],
                         A[tir.truncmod(i - 2, 4) % 3, (i * 4 + i).astype("int64").astype("int32") % 2])
    return t1 + t2 + t3


def test_a_cache_region_of_many_clamped_reads_builds_quickly_and_right():
    A = te.placeholder((3, 2), name="A")
    G = te.placeholder((4,), name="G", dtype="int32")
    O = te.compute((4,), lambda i: _terms(A, G, i), name="O")
    plain = tvm.build(te.create_schedule(O.op), [A, G, O], target="llvm")
    s = te.create_schedule(O.op)
    AL = s.cache_read(A, "local", [O])
    s[AL].compute_at(s[O], O.op.axis[0])
    start = time.perf_counter()
    cached = tvm.build(s, [A, G, O], target="llvm")
    assert time.perf_counter() - start < 30.0  # a hang guard (it was minutes), not a speed figure
    rng = np.random.default_rng()
    a, g = rng.standard_normal((3, 2)).astype("float32"), rng.integers(-5, 5, 4).astype("int32")
    want, got = np.empty(4, "float32"), np.empty(4, "float32")
    plain(a, g, want)
    cached(a, g, got)
    np.testing.assert_array_equal(got, want)  # the same reads as the schedule without the cache
