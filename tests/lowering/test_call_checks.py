"""Call-time checks of symbolic sizes (lowering/call_checks.py) and 64-bit loop variables where
a loop can pass 2**31 iterations (schedule.relations.loop_dtype)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError
from tensorlang.ir.stmt import For
from tensorlang.te.functor import post_order_visit


def _loops(func) -> list[For]:
    found: list[For] = []
    post_order_visit(func.body, lambda n: found.append(n) if isinstance(n, For) else None)
    return found


@pytest.mark.parametrize("how", ["factor", "nparts"])
def test_symbolic_split_factor_below_one_is_an_argument_error(how: str) -> None:
    n, f = te.var("n"), te.var("f")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2 + 1, name="B")
    s = te.create_schedule(B.op)
    s[B].split(B.op.axis[0], **{how: f})
    fn = tl.build(s, [A, B, f])
    a = np.random.default_rng(0).standard_normal(37).astype("float32")
    for good in (1, 3, 37, 50):
        b = np.full(37, np.nan, "float32")
        fn(a, b, good)
        np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)
    for bad in (0, -3):
        b = np.zeros(37, "float32")
        with pytest.raises(ArgumentError, match=rf"argument f: the split {how} of axis i of stage B is f = {bad}"):
            fn(a, b, bad)


def test_split_factor_expression_is_checked_naming_its_variables() -> None:
    n, f = te.var("n"), te.var("f")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1, name="B")
    s = te.create_schedule(B.op)
    s[B].split(B.op.axis[0], factor=f - 2)
    fn = tl.build(s, [A, B, f])
    a = np.random.default_rng(1).standard_normal(9).astype("float32")
    b = np.zeros(9, "float32")
    fn(a, b, 4)
    np.testing.assert_allclose(b, a + 1)
    with pytest.raises(ArgumentError, match=r"\(f - 2\) = 0 \(f = 2 from argument f\); it must be at least 1"):
        fn(a, b, 2)


def test_the_checks_travel_with_an_exported_library(tmp_path) -> None:
    n, f = te.var("n"), te.var("f")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] - 1, name="B")
    s = te.create_schedule(B.op)
    s[B].split(B.op.axis[0], factor=f)
    path = tmp_path / "lib.so"
    tl.build(s, [A, B, f]).export_library(path)
    fn = tl.runtime.load_module(path)
    a = np.random.default_rng(2).standard_normal(5).astype("float32")
    b = np.zeros(5, "float32")
    fn(a, b, 2)
    np.testing.assert_allclose(b, a - 1)
    with pytest.raises(ArgumentError, match="argument f"):
        fn(a, b, 0)


def test_a_symbolic_size_past_int32_is_an_argument_error_naming_the_variables() -> None:
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A", dtype="int8")
    B = te.compute((n * m,), lambda k: A[k // m, k % m], name="B")  # computed in int32
    fn = tl.build(te.create_schedule(B.op), [A, B])
    a = np.random.default_rng(3).integers(-100, 100, (7, 9)).astype("int8")
    b = np.zeros(63, "int8")
    fn(a, b)
    np.testing.assert_array_equal(b, a.ravel())
    # np.empty reserves address space only: the check refuses before a page is touched.
    big_a, big_b = np.empty((65536, 32768), "int8"), np.empty(2**31, "int8")
    with pytest.raises(ArgumentError, match=r"\(n \* m\) = 2147483648 does not fit int32.*n = 65536 from "
                                            r"dimension 0 of A, m = 32768 from dimension 1 of A"):
        fn(big_a, big_b)


def test_fused_symbolic_loops_use_int64() -> None:
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B = te.compute((n, m), lambda i, j: A[i, j] * 3, name="B")
    s = te.create_schedule(B.op)
    fused = s[B].fuse(*B.op.axis)
    assert str(fused.var.dtype) == "int64"
    fn = tl.build(s, [A, B])
    a = np.random.default_rng(4).standard_normal((5, 7)).astype("float32")
    b = np.zeros_like(a)
    fn(a, b)
    np.testing.assert_allclose(b, a * 3, rtol=1e-6)


def test_static_shapes_past_int32_get_int64_loops() -> None:
    A = te.placeholder((2**32,), name="A", dtype="int8")
    B = te.compute((2**32,), lambda k: A[k] + 1, name="B")
    s = te.create_schedule(B.op)
    s[B].split(B.op.axis[0], factor=64)
    loops = _loops(tl.lower(s, [A, B]))
    assert loops and all(str(f.loop_var.dtype) == "int64" for f in loops)
    # A small fused loop stays int32 (no cost where nothing can overflow).
    C = te.placeholder((64, 64), name="C")
    D = te.compute((64, 64), lambda i, j: C[i, j], name="D")
    s = te.create_schedule(D.op)
    assert str(s[D].fuse(*D.op.axis).var.dtype) == "int32"


def test_a_fused_loop_of_more_than_2_31_iterations_runs_them_all() -> None:
    # 32769 x 65536 = 2**31 + 65536 iterations: an int32 loop variable would wrap (before,
    # 65536 x 65536 folded to an extent of 0 and the sum silently stayed at its identity).
    A = te.placeholder((65536,), name="A", dtype="int64")
    k1, k2 = te.reduce_axis((0, 32769), "k1"), te.reduce_axis((0, 65536), "k2")
    C = te.compute((1,), lambda i: te.sum(A[k2], axis=[k1, k2]), name="C")
    s = te.create_schedule(C.op)
    fused = s[C].fuse(k1, k2)
    assert str(fused.var.dtype) == "int64"
    fn = tl.build(s, [A, C])
    a = np.random.default_rng(5).integers(0, 3, 65536).astype("int64")
    c = np.zeros(1, "int64")
    fn(a, c)
    assert c[0] == 32769 * int(a.sum())


def test_a_read_past_a_symbolic_tensor_is_an_argument_error_not_garbage() -> None:
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n,), name="A")
    B = te.compute((m,), lambda i: A[i + 1] * 2, name="B")  # needs m + 1 <= n
    fn = tl.build(te.create_schedule(B.op), [A, B])
    a = np.random.default_rng(6).standard_normal(9).astype("float32")
    b = np.zeros(8, "float32")
    fn(a, b)
    np.testing.assert_allclose(b, a[1:] * 2, rtol=1e-6)
    fn(a, np.zeros(0, "float32"))  # B empty: nothing is read
    with pytest.raises(ArgumentError, match=r"stage B reads A\[i \+ 1\] out of bounds: index 0 \('i \+ 1'\) reaches "
                                            r"1 \+ m - 1, but dimension 0 of A has size n \(n = 9 .*m = 9"):
        fn(a, np.zeros(9, "float32"))


def test_a_wide_fused_axis_bound_to_a_gpu_index_gets_a_32_bit_index() -> None:
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B = te.compute((n, m), lambda i, j: A[i, j] * 2 - 1, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(s[B].fuse(*B.op.axis), factor=64)  # int64: n * m can pass 2**31
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    bound = [f for f in _loops(tl.lower(s, [A, B])) if f.thread_tag]
    assert bound and all(str(f.loop_var.dtype) == "int32" for f in bound)
    fn = tl.build(s, [A, B], "cuda -emulate")
    a = np.random.default_rng(8).standard_normal((5, 7)).astype("float32")
    b = np.zeros_like(a)
    fn(a, b)
    np.testing.assert_allclose(b, a * 2 - 1, rtol=1e-6)
    assert any("more than a GPU index can count" in c.message for c in fn.signature.checks)


def test_a_constant_gpu_extent_past_2_31_is_a_lowering_error() -> None:
    A = te.placeholder((65536, 65536), name="A", dtype="int8")
    B = te.compute((65536, 65536), lambda i, j: A[i, j], name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(s[B].fuse(*B.op.axis), factor=1)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    with pytest.raises(tl.errors.LoweringError, match=r"bound to blockIdx.x has 4294967296 iterations"):
        tl.lower(s, [A, B])


def test_a_reduction_with_a_symbolic_start_is_checked_at_call_time() -> None:
    """k runs over [n, m): A[k + 1] stays inside A (m + 1 elements) exactly when n >= -1."""
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((m + 1,), name="A")
    k = te.reduce_axis((n, m), "k")
    B = te.compute((1,), lambda _: te.sum(A[k + 1], axis=k), name="B")
    f = tl.build(te.create_schedule(B.op), [A, B, n, m])
    a = np.random.default_rng(3).standard_normal(11).astype("float32")
    b = np.zeros(1, "float32")
    for start in (-1, 0, 4, 10, 15):  # 10 and 15: nothing to sum, as numpy's a[11:].sum()
        f(a, b, start, 10)
        np.testing.assert_allclose(b, [a[start + 1:].sum()], rtol=1e-5, atol=1e-6)
    with pytest.raises(ArgumentError, match=r"stage B reads A\[k \+ 1\] out of bounds: index 0 \('k \+ 1'\) "
                                            r"reaches n \+ 1\.\.m.*n = -3"):
        f(a, b, -3, 10)
