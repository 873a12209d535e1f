"""Reads lowering can neither prove inside their tensor nor reject (a data-dependent index or
guard, a guarded read over symbolic sizes) are checked when they happen: a BoundsError naming
the tensor, the dimension and the index, never garbage or a crash. Reads it proves carry no
check, so ordinary kernels pay nothing."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import BoundsError

rng = np.random.default_rng(41)


def _checks(func) -> int:
    return str(func).count("tl.bounds_check")


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_a_wrong_guard_over_symbolic_sizes_is_a_bounds_error(target: str) -> None:
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    wrong = te.compute((n, n), lambda i, j: te.if_then_else(i + j <= n, A[i + j], 0.0), name="W")
    right = te.compute((n, n), lambda i, j: te.if_then_else(i + j < n, A[i + j], 0.0), name="R")
    mods = []
    for out in (wrong, right):
        s = te.create_schedule(out.op)
        if target.startswith("cuda"):
            s[out].bind(out.op.axis[0], te.thread_axis("blockIdx.x"))
            jo, ji = s[out].split(out.op.axis[1], factor=8)
            s[out].bind(ji, te.thread_axis("threadIdx.x"))
        else:
            jo, ji = s[out].split(out.op.axis[1], factor=4)
            s[out].vectorize(ji)  # masked tail lanes must not trip the check
        mods.append(tl.build(s, [A, out], target))
    for size in (2, 6, 9):  # (with n = 1, i + j <= n never reaches A[1])
        a = rng.standard_normal(size).astype("float32")
        b = np.zeros((size, size), "float32")
        mods[1](a, b)
        want = np.array([[a[i + j] if i + j < size else 0 for j in range(size)] for i in range(size)], "float32")
        np.testing.assert_array_equal(b, want)
        with pytest.raises(BoundsError, match=rf"read of A\[{size}\]: A has {size} elements"):
            mods[0](a, b)


def test_a_data_dependent_guard_and_index_are_checked() -> None:
    N = 12
    A = te.placeholder((N, 3), name="A")
    Idx = te.placeholder((N,), name="Idx", dtype="int32")
    B = te.compute((N, 3), lambda i, j: te.if_then_else(A[i, j] > 5.0, A[i, j + 1], A[Idx[i], j]), name="B")
    f = tl.build(te.create_schedule(B.op), [A, Idx, B])
    a = rng.standard_normal((N, 3)).astype("float32")
    idx = rng.integers(0, N, N).astype("int32")
    b = np.zeros((N, 3), "float32")
    f(a, idx, b)
    np.testing.assert_array_equal(b, a[idx])
    bad = idx.copy()
    bad[4] = N + 2
    with pytest.raises(BoundsError, match=rf"read of A: index 0 is {N + 2}, but dimension 0 of A has size {N}"):
        f(a, bad, b)
    a[7, 2] = 9.0  # the guard now lets A[7, 3] through
    with pytest.raises(BoundsError, match=r"read of A: index 1 is 3, but dimension 1 of A has size 3"):
        f(a, idx, b)


def test_proven_reads_carry_no_check() -> None:
    n, m, k = te.var("n"), te.var("m"), te.var("k")
    A, B = te.placeholder((n, k), name="A"), te.placeholder((k, m), name="B")
    r = te.reduce_axis((0, k), "r")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, r] * B[r, j], axis=r), name="C")
    assert _checks(tl.lower(te.create_schedule(C.op), [A, B, C])) == 0
    X = te.placeholder((1, 3, 9, 9), name="X")
    W = te.placeholder((4, 3, 3, 3), name="W")
    Y = topi.nn.conv2d_nchw(X, W, 1, 1, 1)
    assert _checks(tl.lower(te.create_schedule(Y.op), [X, W, Y])) == 0
    P = te.compute((9,), lambda i: te.if_then_else(te.all(i >= 1, i < 8), X[0, 0, i - 1, i + 1], 0.0), name="P")
    assert _checks(tl.lower(te.create_schedule(P.op), [X, P])) == 0
    # indices through shared (let-bound) subexpressions: cse0 = i * 81 + j, X[cse0 // 81 % 3, ...]
    R = topi.reshape(X, (3, 81))
    S = topi.nn.softmax(R)
    assert _checks(tl.lower(te.create_schedule(S.op), [X, S])) == 0


def test_a_read_through_shared_subexpressions_past_its_tensor_is_rejected() -> None:
    A = te.placeholder((10,), name="A")

    def body(i, j):
        k = i * 5 + j  # used twice: te.compute binds it to a variable
        return A[k] + A[k + 1]
    B = te.compute((2, 5), body, name="B")
    with pytest.raises(tl.errors.LoweringError, match=r"stage B reads A\[.*out of bounds.*reaches 1\.\.10"):
        tl.lower(te.create_schedule(B.op), [A, B])


def test_the_bounds_check_option_still_checks_everything() -> None:
    N = 8
    A = te.placeholder((N,), name="A")
    Idx = te.placeholder((N,), name="Idx", dtype="int32")
    B = te.compute((N,), lambda i: A[Idx[i]], name="B")
    f = tl.build(te.create_schedule(B.op), [A, Idx, B], "llvm -bounds-check")
    with pytest.raises(BoundsError, match=r"read of A\[-4\]: A has 8 elements"):
        f(rng.standard_normal(N).astype("float32"), np.full(N, -4, "int32"), np.zeros(N, "float32"))
