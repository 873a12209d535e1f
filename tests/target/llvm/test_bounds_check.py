"""``llvm -bounds-check``: every buffer access is checked at run time; an out-of-bounds one is
a BoundsError naming the tensor, the index and the size (through the status-code path, also
from parallel workers and vector lanes), never garbage; in-bounds code gives numpy's results."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import BoundsError
from tensorlang.target.llvm.target import LLVMTarget

N = 37
rng = np.random.default_rng(0)


def _gather(schedule: str):
    A = te.placeholder((N,), name="A")
    Idx = te.placeholder((N,), name="Idx", dtype="int32")
    B = te.compute((N,), lambda i: A[Idx[i]] * 2 + 1, name="B")
    s = te.create_schedule(B.op)
    if schedule != "serial":
        xo, xi = s[B].split(B.op.axis[0], factor=8)  # a guarded tail of 5 lanes
        s[B].vectorize(xi)
        if schedule == "parallel":
            s[B].parallel(xo)
    return tl.build(s, [A, Idx, B], "llvm -bounds-check")


@pytest.mark.parametrize("schedule", ["serial", "vectorized", "parallel"])
def test_an_out_of_bounds_gather_is_a_bounds_error_naming_tensor_and_index(schedule: str) -> None:
    f = _gather(schedule)
    a = rng.standard_normal(N).astype("float32")
    idx = rng.integers(0, N, N).astype("int32")
    b = np.zeros(N, "float32")
    f(a, idx, b)
    np.testing.assert_allclose(b, a[idx] * 2 + 1, rtol=1e-6)
    for bad, at in ((N, 3), (-1, 20), (10**6, N - 1)):  # N - 1 sits in the vector tail
        wrong = idx.copy()
        wrong[at] = bad
        with pytest.raises(BoundsError, match=rf"out-of-bounds read of A\[{bad}\]: A has {N} elements"):
            f(a, wrong, b)
    f(a, idx, b)  # the next good call runs normally
    np.testing.assert_allclose(b, a[idx] * 2 + 1, rtol=1e-6)


def test_a_data_dependent_guard_that_lets_a_read_through_is_caught() -> None:
    A = te.placeholder((N,), name="A")
    # Lower time cannot know the guard; at run time, A[N] is read when A[N - 1] > 100.
    B = te.compute((N,), lambda i: te.if_then_else(A[i] > 100.0, A[i + 1], A[i]), name="B")
    f = tl.build(te.create_schedule(B.op), [A, B], "llvm -bounds-check")
    a = rng.standard_normal(N).astype("float32")
    b = np.zeros(N, "float32")
    f(a, b)
    np.testing.assert_array_equal(b, a)
    a[N - 1] = 1000.0
    with pytest.raises(BoundsError, match=rf"A\[{N}\]: A has {N} elements"):
        f(a, b)


def test_guarded_and_masked_accesses_pass_the_check() -> None:
    n = te.var("n")
    A = te.placeholder((n, 3), name="A")
    T = te.compute((n, 3), lambda i, j: te.if_then_else(i > 0, A[i - 1, j], 0.0) + A[i, j], name="T")
    C = te.compute((n, 3), lambda i, j: T[i, j] * 2, name="C")
    s = te.create_schedule(C.op)
    fused = s[C].fuse(*C.op.axis)
    xo, xi = s[C].split(fused, factor=16)
    s[C].vectorize(xi)
    f = tl.build(s, [A, C], "llvm -bounds-check")
    for rows in (1, 5, 11):
        a = rng.standard_normal((rows, 3)).astype("float32")
        c = np.zeros_like(a)
        f(a, c)
        want = a.copy()
        want[1:] += a[:-1]
        np.testing.assert_allclose(c, want * 2, rtol=1e-6)


def test_the_option_parses_and_prints() -> None:
    t = LLVMTarget.from_string("llvm -bounds-check")
    assert t.bounds_check and "-bounds-check" in str(t)
    assert not LLVMTarget.from_string("llvm").bounds_check
    assert LLVMTarget.from_string(str(t)).bounds_check


def test_an_out_of_bounds_write_is_a_bounds_error() -> None:
    from tensorlang.ir.function import Buffer, PrimFunc
    from tensorlang.ir.stmt import Store
    from tensorlang.te.expr import FloatImm, Var

    out, at = Buffer("Out", tl.te.as_dtype("float32"), [te.const(4)]), Var("at", "int32")
    func = PrimFunc("poke", [out, at], Store(out.data, FloatImm("float32", 1.5), at))
    f = tl.build(func, target="llvm -bounds-check")
    o = np.zeros(4, "float32")
    f(o, 2)
    np.testing.assert_array_equal(o, [0, 0, 1.5, 0])
    with pytest.raises(BoundsError, match=r"out-of-bounds write to Out\[4\]: Out has 4 elements"):
        f(o, 4)


def test_an_exported_library_keeps_its_checks(tmp_path) -> None:
    path = tmp_path / "gather.so"
    _gather("serial").export_library(path)
    f = tl.runtime.load_module(path)
    a = rng.standard_normal(N).astype("float32")
    idx = rng.integers(0, N, N).astype("int32")
    b = np.zeros(N, "float32")
    f(a, idx, b)
    np.testing.assert_allclose(b, a[idx] * 2 + 1, rtol=1e-6)
    idx[0] = -5
    with pytest.raises(BoundsError, match=r"read of A\[-5\]"):
        f(a, idx, b)
