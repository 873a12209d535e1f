"""Out-of-bounds reads found at lower time (schedule/read_bounds.py): guarded reads are checked
over the points where their guard holds, reads of stages computed at another stage's loop over
the region they compute; correct guards and regions still build and match numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import LoweringError

N = 10
rng = np.random.default_rng(0)


def _lower(*tensors, compute_at: bool = False):
    *inputs, out = tensors
    s = te.create_schedule(out.op)
    if compute_at:
        producer = out.op.input_tensors[0]
        s[producer].compute_at(s[out], out.op.axis[0])
    return s, tl.lower(s, [*inputs, out])


@pytest.mark.parametrize("cond, index, reach", [
    (lambda i: i >= 0, lambda i: i - 1, r"-1\.\.8"),          # the guard forgets the first point
    (lambda i: i < N, lambda i: i + 1, r"1\.\.10"),           # ... or the last
    (lambda i: te.all(i > 0, i <= N - 1), lambda i: i + 1, r"2\.\.10"),
    (lambda i: ~te.any(i < 3, i > 5), lambda i: i + 5, r"8\.\.10"),  # not (i < 3 or i > 5): 3..5
])
def test_a_wrong_guard_is_a_lowering_error(cond, index, reach) -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: te.if_then_else(cond(i), A[index(i)], 0.0), name="B")
    with pytest.raises(LoweringError, match=rf"stage B reads A\[.*out of bounds: index 0 .* reaches {reach} .*size 10"):
        _lower(A, B)


def test_the_untaken_side_of_a_guard_is_checked_under_the_negated_guard() -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: te.if_then_else(i > 0, 0.0, A[i - 1]), name="B")  # A[-1] when i == 0
    with pytest.raises(LoweringError, match=r"reaches -1\.\.-1"):
        _lower(A, B)


def test_right_guards_build_and_match_numpy() -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: te.if_then_else(i > 0, A[i - 1], 0.0) + te.if_then_else(i != N - 1, A[i + 1], 0.0)
                   + te.if_then_else(te.all(i >= 2, i < 4), A[i * 2 - 4 + 2], 0.0), name="B")
    k = te.reduce_axis((0, N), "k")
    C = te.compute((1,), lambda _: te.sum(A[k + 1], axis=k, where=k < N - 1), name="C")
    s = te.create_schedule([B.op, C.op])
    f = tl.build(s, [A, B, C])
    a = rng.standard_normal(N).astype("float32")
    b, c = np.zeros(N, "float32"), np.zeros(1, "float32")
    f(a, b, c)
    want = np.concatenate([[0], a[:-1]]) + np.concatenate([a[1:], [0]])
    want[2:4] += a[[2, 4]]  # A[2i - 2] for i = 2, 3
    # Sums of signed normals can land near 0, where only an absolute bound holds: want is summed in
    # float64 (concatenating [0] promotes it), and numpy sums the 9 terms of c pairwise, not in order.
    np.testing.assert_allclose(b, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(c, [a[1:].sum()], rtol=1e-5, atol=1e-5)


def test_a_wrong_reduction_where_is_a_lowering_error() -> None:
    A = te.placeholder((N,), name="A")
    k = te.reduce_axis((0, N), "k")
    C = te.compute((1,), lambda _: te.sum(A[k + 1], axis=k, where=k < N), name="C")
    with pytest.raises(LoweringError, match=r"stage C reads A\[k \+ 1\].*reaches 1\.\.10"):
        _lower(A, C)


def test_a_data_dependent_guard_is_left_to_the_guard() -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: te.if_then_else(A[i] > 100.0, A[i + 1], A[i]), name="B")
    _, func = _lower(A, B)  # no error: the guard decides at run time (see -bounds-check)
    a = rng.standard_normal(N).astype("float32")
    b = np.zeros(N, "float32")
    tl.build(te.create_schedule(B.op), [A, B])(a, b)
    np.testing.assert_array_equal(b, a)


def test_reads_of_an_attached_stage_are_checked_over_the_region_it_computes() -> None:
    A = te.placeholder((N,), name="A")
    # B's domain (12 points) reaches past A, but computed at C's loop it only makes C's 10.
    B = te.compute((N + 2,), lambda i: A[i] * 2, name="B")
    C = te.compute((N,), lambda i: B[i] + 1, name="C")
    with pytest.raises(LoweringError, match=r"stage B reads A\[i\].*reaches 0\.\.11"):
        _lower(A, C)  # at root B computes all 12
    s, _ = _lower(A, C, compute_at=True)
    a = rng.standard_normal(N).astype("float32")
    c = np.zeros(N, "float32")
    tl.build(s, [A, C])(a, c)
    np.testing.assert_allclose(c, a * 2 + 1, rtol=1e-6)


def test_an_out_of_bounds_read_in_an_attached_stage_is_a_lowering_error() -> None:
    A = te.placeholder((N,), name="A")
    B = te.compute((N,), lambda i: A[i + 1] * 2, name="B")
    C = te.compute((N,), lambda i: B[i] + 1, name="C")
    with pytest.raises(LoweringError, match=r"stage B reads A\[i \+ 1\].*reaches 1\.\.10"):
        _lower(A, C, compute_at=True)


def _cases(i, j, n, leaf):
    """A chain of n*n nested selects, case (a, b) giving leaf(a, b): how TVM's const_matrix
    writes a constant matrix."""
    e = te.const(0.0, "float32")
    for a in range(n):
        for b in range(n):
            e = te.Select(te.all(i == a, j == b), leaf(a, b), e)
    return e


def test_a_chain_of_select_cases_lowers_quickly_and_checks_each_case() -> None:
    # Each false branch splits the points left into up to four boxes; following equal boxes
    # once (not once per way of reaching them) keeps a 6x6 chain polynomial (it took minutes).
    A = te.placeholder((6, 6), name="A")
    B = te.compute((6, 6), lambda i, j: _cases(i, j, 6, lambda a, b: A[j, i] * float(a * 6 + b + 1)), name="B")
    f = tl.build(te.create_schedule(B.op), [A, B])
    a, b = rng.standard_normal((6, 6)).astype("float32"), np.zeros((6, 6), "float32")
    f(a, b)
    np.testing.assert_allclose(b, a.T * np.arange(1, 37, dtype="float32").reshape(6, 6), rtol=1e-6)
    # A case reading outside A is still found, deep in the chain.
    C = te.compute((6, 6), lambda i, j: _cases(i, j, 6, lambda a, b: A[i + (1 if (a, b) == (5, 0) else 0), j]),
                   name="C")
    with pytest.raises(LoweringError, match=r"stage C reads A\[.*out of bounds"):
        _lower(A, C)


def test_past_the_visit_budget_the_reads_are_checked_at_run_time(monkeypatch) -> None:
    from tensorlang.schedule import read_bounds

    monkeypatch.setattr(read_bounds, "MAX_VISITS", 5)
    A = te.placeholder((6, 6), name="A")
    B = te.compute((6, 6), lambda i, j: _cases(i, j, 3, lambda a, b: A[i, j + a]), name="B")
    text = str(tl.lower(te.create_schedule(B.op), [A, B]))
    assert "bounds_check" in text
    f = tl.build(te.create_schedule(B.op), [A, B])
    a, b = rng.standard_normal((6, 6)).astype("float32"), np.zeros((6, 6), "float32")
    f(a, b)
    want = np.zeros((6, 6), "float32")
    for i in range(3):
        for j in range(3):
            want[i, j] = a[i, j + i]
    np.testing.assert_array_equal(b, want)
