"""Loop partitioning: guard-free main ranges, same results."""

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.ir.stmt import Store
from tensorlang.te.functor import post_order_visit
from tests.conftest import random_array, run


def _stores(func):
    found = []
    post_order_visit(func.body, lambda n: found.append(n) if isinstance(n, Store) else None)
    return found


def test_split_tail_gets_a_guard_free_main_loop(rng):
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=16)
    s[B].vectorize(xi)
    stores = _stores(tl.lower(s, [A, B]))
    assert any(st.predicate is None for st in stores)      # the main range
    assert any(st.predicate is not None for st in stores)  # the tail
    f = tl.build(s, [A, B])
    for size in (5, 16, 100):
        a = random_array(rng, (size,), "float32")
        b = np.empty_like(a)
        f(a, b)
        np.testing.assert_allclose(b, a * 2, rtol=1e-6)


def test_padding_checks_leave_the_interior(rng):
    H = 20
    A = te.placeholder((H,), name="A")
    P = te.compute((H + 2,), lambda i: te.if_then_else(te.all(i >= 1, i < H + 1), A[i - 1], 0.0), name="P")
    k = te.reduce_axis((0, 3), name="k")
    B = te.compute((H,), lambda i: te.sum(P[i + k], axis=k), name="B")
    s = te.create_schedule(B.op)
    s[P].compute_inline()
    text = str(tl.lower(s, [A, B]))
    assert text.count("select(") < text.count("B[")  # the interior loop reads A without a select
    a = random_array(rng, (H,), "float32")
    (b,) = run(s, [A, B], [a], [((H,), "float32")])
    p = np.pad(a, 1)
    np.testing.assert_allclose(b, p[:-2] + p[1:-1] + p[2:], rtol=1e-5)


def test_a_guard_on_a_remainder_is_not_treated_as_linear(rng):
    # i % 3 agrees with i at 0, 1 and 2; a partition that samples those three points took the
    # guard for linear and dropped it from i = 3, 6, 9 (found as a wrong conv2d CUDA config).
    A = te.placeholder((12,), name="A")
    B = te.compute((12,), lambda i: te.if_then_else(te.indexmod(i, 3) >= 1, A[i], 0.0), name="B")
    s = te.create_schedule(B.op)
    a = random_array(rng, (12,), "float32")
    (b,) = run(s, [A, B], [a], [((12,), "float32")])
    np.testing.assert_array_equal(b, np.where(np.arange(12) % 3 >= 1, a, 0))


def test_a_guard_mixing_linear_and_remainder_terms(rng):
    A = te.placeholder((5, 12), name="A")
    B = te.compute((5, 12), lambda y, i: te.if_then_else(
        te.all(te.indexmod(i, 4) + y >= 2, i + y < 14), A[y, i], 0.0), name="B")
    s = te.create_schedule(B.op)
    s[B].reorder(B.op.axis[1], B.op.axis[0])
    a = random_array(rng, (5, 12), "float32")
    (b,) = run(s, [A, B], [a], [((5, 12), "float32")])
    y, i = np.meshgrid(np.arange(5), np.arange(12), indexing="ij")
    np.testing.assert_array_equal(b, np.where((i % 4 + y >= 2) & (i + y < 14), a, 0))
