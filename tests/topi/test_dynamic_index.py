"""topi.adv_index (numpy advanced indexing by broadcast index tensors) and topi.dynamic_strided_slice
(begin/end/strides read at run time, the sliced lengths bound from the output array), which
topi.strided_slice also reaches when given tensors, checked against numpy on fresh random data."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import rand, run_plain

rng = np.random.default_rng()


@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int32", "uint8")])
def test_adv_index_broadcasts_the_index_tensors(dtypes):
    a = rand(5, 6, 7)
    A = te.placeholder(a.shape, name="A")
    I0, I1 = te.placeholder((3, 1), dtypes[0], name="I0"), te.placeholder((1, 4), dtypes[1], name="I1")
    low0 = -5 if dtypes[0].startswith("int") else 0
    i0 = rng.integers(low0, 5, (3, 1)).astype(dtypes[0])  # negative entries count from the end
    i1 = rng.integers(0, 6, (1, 4)).astype(dtypes[1])
    out = topi.adv_index(A, [I0, I1])
    assert tuple(int(d) for d in out.shape) == (3, 4, 7)
    np.testing.assert_array_equal(run_plain(out, [A, I0, I1], [a, i0, i1]), a[i0, i1])
    # one index tensor indexes the first axis only
    out = topi.adv_index(A, [I0])
    np.testing.assert_array_equal(run_plain(out, [A, I0], [a, i0]), a[i0])


def test_adv_index_names_bad_arguments():
    A = te.placeholder((5, 6), name="A")
    with pytest.raises(DTypeError, match=r"adv_index: indices\[0\] \(F\) must hold integers"):
        topi.adv_index(A, [te.placeholder((2,), name="F")])
    with pytest.raises(ExprError, match="adv_index: 3 index tensors for A of 2 dimension"):
        topi.adv_index(A, [te.placeholder((2,), "int32")] * 3)


def _run_slice(f, a, arrays, ref):
    out = rng.standard_normal(ref.shape).astype("float32")
    f(a, *arrays, out)
    return out


@pytest.mark.parametrize("via", ["dynamic_strided_slice", "strided_slice"])
def test_dynamic_strided_slice_reads_begin_end_strides_at_run_time(via):
    a = rand(4, 5, 3)
    A = te.placeholder(a.shape, name="A")
    B, E, S = (te.placeholder((3,), "int64", name=n) for n in "BES")
    out = getattr(topi, via)(A, B, E, S)
    f = tvm.build(te.create_schedule(out.op), [A, B, E, S, out], "llvm")
    cases = [([0, 1, 0], [4, 5, 3], [1, 2, 1]), ([3, -1, 2], [0, -6, -4], [-1, -2, -1]),
             ([-3, 0, 1], [4, 5, 3], [2, 3, 1])]
    for begin, end, strides in cases:
        ref = a[tuple(slice(*t) for t in zip(begin, end, strides))]
        got = _run_slice(f, a, [np.array(v, "int64") for v in (begin, end, strides)], ref)
        np.testing.assert_array_equal(got, ref)


def test_strided_slice_with_begin_tensor_and_constant_end_and_strides():
    a = rand(6, 7)
    A, B = te.placeholder(a.shape, name="A"), te.placeholder((2,), "int32", name="B")
    out = topi.strided_slice(A, B, [6, 7])  # strides default to 1
    assert out.op.name == "T_dynamic_strided_slice"
    f = tvm.build(te.create_schedule(out.op), [A, B, out], "llvm")
    for begin in ([1, 2], [0, 5], [-2, -7]):
        ref = a[begin[0]:, begin[1]:]
        np.testing.assert_array_equal(_run_slice(f, a, [np.array(begin, "int32")], ref), ref)
    # constant begin/end/strides give a static shape; output_shape fixes it
    out = topi.dynamic_strided_slice(A, [1, 0], [6, 7], [2, 3])
    assert tuple(int(d) for d in out.shape) == (3, 3)
    np.testing.assert_array_equal(run_plain(out, [A], [a]), a[1::2, ::3])
    out = topi.dynamic_strided_slice(A, B, [6, 7], [1, 1], output_shape=(4, 5))
    np.testing.assert_array_equal(run_plain(out, [A, B], [a, np.array([2, 2], "int32")]), a[2:, 2:])
    with pytest.raises(ExprError, match="strided_slice: axes and slice_mode='size' are not supported"):
        topi.strided_slice(A, B, [6, 7], axes=[0, 1])
