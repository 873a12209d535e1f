"""Bad schedules and bad calls raise tensorlang errors that name what is wrong and where."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError, LoweringError, ScheduleError, TargetError, TensorLangError


def _mm(n=16):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return A, B, C


@pytest.mark.parametrize("factor", [0, -3])
def test_split_factor_must_be_positive(factor):
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    with pytest.raises(ScheduleError, match=r"stage C: split of i: factor must be a positive integer"):
        s[C].split(C.op.axis[0], factor=factor)


def test_split_needs_exactly_one_amount():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    with pytest.raises(ScheduleError, match="exactly one of factor= or nparts="):
        s[C].split(C.op.axis[0], factor=2, nparts=2)


def test_reorder_with_axis_of_another_stage():
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1, name="B")
    C = te.compute((8,), lambda i: B[i] * 2, name="C")
    s = te.create_schedule(C.op)
    with pytest.raises(ScheduleError, match="stage C: reorder was given axis i, which belongs to stage B"):
        s[C].reorder(B.op.axis[0], C.op.axis[0])


def test_split_axis_twice():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    s[C].split(C.op.axis[0], factor=4)
    with pytest.raises(ScheduleError, match="already split"):
        s[C].split(C.op.axis[0], factor=2)


def test_vectorize_reduction_axis():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    with pytest.raises(ScheduleError, match="cannot vectorize reduction axis k"):
        s[C].vectorize(C.op.reduce_axis[0])


def test_parallel_reduction_axis():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    with pytest.raises(ScheduleError, match="cannot parallel reduction axis k"):
        s[C].parallel(C.op.reduce_axis[0])


def test_vectorize_symbolic_extent():
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1, name="B")
    s = te.create_schedule(B.op)
    s[B].vectorize(B.op.axis[0])
    with pytest.raises(LoweringError, match="cannot vectorize axis i"):
        tl.lower(s, [A, B])


def test_fuse_non_adjacent():
    A = te.placeholder((4, 5, 6), name="A")
    B = te.compute((4, 5, 6), lambda i, j, k: A[i, j, k], name="B")
    s = te.create_schedule(B.op)
    i, j, k = B.op.axis
    with pytest.raises(ScheduleError, match="consecutive"):
        s[B].fuse(i, k)


def test_bind_on_cpu_target():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    s[C].bind(C.op.axis[0], te.thread_axis("blockIdx.x"))
    with pytest.raises(TargetError, match="stage C: axis i is bound to blockIdx.x.*GPU target"):
        tl.build(s, [A, B, C], target="llvm")


def test_inline_reduction_and_output():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    with pytest.raises(ScheduleError, match="cannot inline a reduction"):
        s[C].compute_inline()


def test_compute_at_with_outside_consumer():
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1, name="B")
    C = te.compute((8,), lambda i: B[i] * 2, name="C")
    D = te.compute((8,), lambda i: B[i] + C[i], name="D")
    s = te.create_schedule(D.op)
    s[B].compute_at(s[C], C.op.axis[0])
    with pytest.raises(LoweringError, match="also read by stage D"):
        tl.lower(s, [A, D])


def test_missing_argument_tensor():
    A, B, C = _mm()
    s = te.create_schedule(C.op)
    with pytest.raises(LoweringError, match="tensor B is used but is neither in the argument list"):
        tl.lower(s, [A, C])


@pytest.fixture(scope="module")
def vadd():
    A = te.placeholder((64,), name="A")
    B = te.placeholder((64,), name="B")
    C = te.compute((64,), lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    return tl.build(s, [A, B, C], target="llvm", name="vadd")


def test_call_wrong_count(vadd):
    a = np.zeros(64, np.float32)
    with pytest.raises(ArgumentError, match="vadd expects 3 arguments"):
        vadd(a, a)


def test_call_wrong_dtype(vadd):
    a, c = np.zeros(64, np.float32), np.zeros(64, np.float32)
    with pytest.raises(ArgumentError, match="B.*float32.*float64"):
        vadd(a, np.zeros(64), c)


def test_call_wrong_shape(vadd):
    a, c = np.zeros(64, np.float32), np.zeros(64, np.float32)
    with pytest.raises(ArgumentError, match="B"):
        vadd(a, np.zeros(65, np.float32), c)


def test_call_non_contiguous(vadd):
    a, c = np.zeros(64, np.float32), np.zeros(64, np.float32)
    with pytest.raises(ArgumentError, match="contiguous"):
        vadd(a, np.zeros(128, np.float32)[::2], c)


def test_errors_share_a_base_class():
    assert issubclass(ArgumentError, TensorLangError) and issubclass(ScheduleError, TensorLangError)
