"""Reused subexpressions are compiled once: a 12-level DAG that a tree walk would visit 3**12
times builds in well under a second and computes what numpy computes; a reuse guarded by a
Select branch is not hoisted out of it."""

from __future__ import annotations

import time

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.te.cse import share_subexpressions
from tensorlang.te.expr import Let


def test_deep_reuse_builds_fast_and_matches_numpy(rng) -> None:
    n, levels = 64, 12
    A = te.placeholder((n,), "float64", name="A")

    def f(i):
        x = A[i]
        for _ in range(levels):
            x = x * 0.5 + x * x * 0.25
        return x
    B = te.compute((n,), f, name="B")
    s = te.create_schedule(B.op)
    start = time.perf_counter()
    m = tl.build(s, [A, B], "llvm")
    assert time.perf_counter() - start < 10  # 3**12 tree paths would take minutes
    a = rng.random(n)
    b = np.zeros(n)
    m(a, b)
    want = a.copy()
    for _ in range(levels):
        want = want * 0.5 + want * want * 0.25
    np.testing.assert_allclose(b, want, rtol=1e-12)


def test_guarded_reads_stay_under_their_branch(rng) -> None:
    n = 16
    A = te.placeholder((n,), name="A")

    def f(i):
        left = A[i - 1] * 2.0 + 1.0  # only valid for i > 0
        return te.if_then_else(i > 0, left * left, te.const(0.0))
    B = te.compute((n,), f, name="B")
    assert not isinstance(B.op.body[0], Let)  # the guarded product was not hoisted
    m = tl.build(te.create_schedule(B.op), [A, B], "llvm")
    a = rng.standard_normal(n).astype("float32")
    b = np.zeros(n, "float32")
    m(a, b)
    prev = np.concatenate([[0.0], a[:-1]]) * 2 + 1
    np.testing.assert_allclose(b, np.where(np.arange(n) > 0, prev * prev, 0), rtol=1e-6)


def test_unshared_expressions_are_returned_as_is() -> None:
    x = te.var("x")
    e = (x + 1) * (x + 2)
    assert share_subexpressions(e) is e
    y = x * x + 3
    shared = share_subexpressions(y * y)
    assert isinstance(shared, Let) and str(shared.value) == str(y)
