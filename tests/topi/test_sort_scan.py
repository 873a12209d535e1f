"""topi's sort, argsort, topk (extern stages calling numpy through packed functions) and cumsum,
cumprod (ir_builder loops) built with a plain schedule and checked against numpy on fresh random
data; bad arguments raise a tensorlang error that names the operator and the argument."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError, DTypeError, ExprError, TargetError
from tensorlang.topi.scan import cumprod, cumsum
from tensorlang.topi.sort import argsort, sort, topk
from tensorlang.topi.utils import get_const_tuple
from tests.topi.runner import run_plain

rng = np.random.default_rng()
SHAPE = (3, 5, 6)
EMU = "cuda -emulate"


def _data(shape, dtype):
    # Integers from a small range, so that ties are common and stability is tested.
    if dtype.startswith("int"):
        return rng.integers(-4, 5, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _stable_order(a, axis, ascend):
    # An independent reference: negated keys are exact for floats and small integers.
    return np.argsort(a if ascend else -a, axis=axis, kind="stable")


# -- sort, argsort, topk -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("is_ascend", [True, False])
def test_sort_and_argsort_match_numpy(dtype, axis, is_ascend):
    A = te.placeholder(SHAPE, name="A", dtype=dtype)
    S = sort(A, axis=axis, is_ascend=is_ascend)
    I = argsort(A, axis=axis, is_ascend=is_ascend, dtype="int64")
    a = _data(SHAPE, dtype)
    s, i = run_plain([S, I], [A], [a])
    order = _stable_order(a, axis, is_ascend)
    assert S.dtype == dtype and I.dtype == "int64"
    np.testing.assert_array_equal(s, np.take_along_axis(a, order, axis))
    np.testing.assert_array_equal(i, order)


def test_argsort_defaults_to_float32_indices_and_ascending_last_axis():
    A = te.placeholder((4, 9), name="A")
    I = argsort(A)
    assert I.dtype == "float32"
    a = _data((4, 9), "float32")
    np.testing.assert_array_equal(run_plain(I, [A], [a]), np.argsort(a, axis=-1, kind="stable").astype("float32"))


def test_sort_puts_nan_where_numpy_does():
    A = te.placeholder((7,), name="A")
    a = np.array([2.0, np.nan, -1.0, 0.5, np.nan, 3.0, -7.0], "float32")
    np.testing.assert_array_equal(run_plain(sort(A), [A], [a]), np.sort(a))
    np.testing.assert_array_equal(run_plain(sort(A, is_ascend=False), [A], [a]), np.sort(a)[::-1])


def test_argsort_with_valid_count_sorts_only_the_valid_prefix():
    A = te.placeholder((4, 8), name="A")
    V = te.placeholder((4,), name="V", dtype="int32")
    for is_ascend in (True, False):
        I = argsort(A, valid_count=V, axis=1, is_ascend=is_ascend)
        assert I.dtype == "int32"  # as TVM's argsort_nms, whatever dtype says
        a = _data((4, 8), "int32").astype("float32")
        v = np.array([8, 0, 3, 5], "int32")
        ref = np.tile(np.arange(8), (4, 1))
        for r in range(4):
            ref[r, :v[r]] = _stable_order(a[r, :v[r]], 0, is_ascend)
        np.testing.assert_array_equal(run_plain(I, [A, V], [a, v]), ref)
        with pytest.raises(ArgumentError, match=r"argsort: valid_count\[2\] is 9"):
            run_plain(I, [A, V], [a, np.array([1, 2, 9, 0], "int32")])


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("axis,k", [(-1, 1), (1, 3), (0, 3), (-1, 6)])
@pytest.mark.parametrize("is_ascend", [False, True])
def test_topk_both_matches_numpy(dtype, axis, k, is_ascend):
    A = te.placeholder(SHAPE, name="A", dtype=dtype)
    V, I = topk(A, k=k, axis=axis, is_ascend=is_ascend)
    assert V.dtype == dtype and I.dtype == "int64"
    a = _data(SHAPE, dtype)
    v, i = run_plain([V, I], [A], [a])
    order = np.take(_stable_order(a, axis, is_ascend), np.arange(k), axis=axis)
    np.testing.assert_array_equal(i, order)
    np.testing.assert_array_equal(v, np.take_along_axis(a, order, axis))


def test_topk_values_or_indices_alone_and_index_dtype():
    A = te.placeholder((5, 10), name="A")
    a = _data((5, 10), "float32")
    order = _stable_order(a, 1, False)[:, :4]
    V = topk(A, k=4, ret_type="values")
    np.testing.assert_array_equal(run_plain(V, [A], [a]), np.take_along_axis(a, order, 1))
    I = topk(A, k=4, ret_type="indices", dtype="int32")
    assert isinstance(I, te.Tensor) and I.dtype == "int32"
    np.testing.assert_array_equal(run_plain(I, [A], [a]), order)


def test_sorted_results_feed_a_compute_stage():
    n = te.var("n")
    A = te.placeholder((n, 8), name="A")
    S = sort(A, axis=1, is_ascend=False)
    V, I = topk(A, k=2, axis=1)
    D = te.compute((n, 2), lambda r, j: S[r, j] - V[r, j] + I[r, j].astype("float32"), name="D")
    a = _data((5, 8), "float32")
    d = np.zeros((5, 2), "float32")
    tl.build(te.create_schedule(D.op), [A, D], target="llvm")(a, d)
    np.testing.assert_array_equal(d, _stable_order(a, 1, False)[:, :2].astype("float32"))


def test_sort_ops_check_their_arguments():
    A = te.placeholder((4, 6), name="A")
    with pytest.raises(ExprError, match="sort: axis 2 is out of range"):
        sort(A, axis=2)
    with pytest.raises(ExprError, match="argsort: axis -3 is out of range"):
        argsort(A, axis=-3)
    with pytest.raises(ExprError, match="topk: axis 5 is out of range"):
        topk(A, k=1, axis=5)
    assert [int(d) for d in topk(A, k=0, ret_type="values").shape] == [4, 6]  # k < 1: the whole axis, as TVM
    assert [int(d) for d in topk(A, k=-1, axis=0, ret_type="indices").shape] == [4, 6]
    with pytest.raises(ExprError, match="topk: k=7 is larger than axis 1"):
        topk(A, k=7)
    with pytest.raises(ExprError, match="topk: ret_type 'value' is not one of"):
        topk(A, k=2, ret_type="value")
    with pytest.raises(DTypeError, match="argsort: dtype bool cannot hold indices"):
        argsort(A, dtype="bool")
    with pytest.raises(DTypeError, match="topk: dtype int8 cannot hold the indices of an axis of length 300"):
        topk(te.placeholder((300,), name="B"), k=3, dtype="int8")
    with pytest.raises(ExprError, match=r"argsort: valid_count has shape \[6\]"):
        argsort(A, valid_count=te.placeholder((6,), name="V", dtype="int32"), axis=1)
    with pytest.raises(TargetError, match="sort: runs on the CPU only"):
        with tl.target.Target(EMU):
            sort(A)


def test_topk_checks_k_against_a_symbolic_axis_at_run_time():
    n = te.var("n")
    A = te.placeholder((2, n), name="A")
    V = topk(A, k=3, ret_type="values")
    f = tl.build(te.create_schedule(V.op), [A, V], target="llvm")
    with pytest.raises(ArgumentError, match="topk: k=3 is larger than the length 2"):
        f(_data((2, 2), "float32"), np.zeros((2, 3), "float32"))


# -- cumsum, cumprod -----------------------------------------------------------------------------

def _exclusive(ref, a, axis, combine):
    """numpy's inclusive result shifted by one along the axis, starting at the identity."""
    flat = a.reshape(-1) if axis is None else a
    ax = 0 if axis is None else axis
    first = np.full_like(np.take(ref, [0], axis=ax), 1 if combine == "prod" else 0) if ref.shape[ax] else ref[:0]
    return np.concatenate([first, np.take(ref, np.arange(flat.shape[ax] - 1), axis=ax)], axis=ax)


@pytest.mark.parametrize("op,np_op,name", [(cumsum, np.cumsum, "sum"), (cumprod, np.cumprod, "prod")])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("exclusive", [None, True])
def test_cumsum_and_cumprod_match_numpy(op, np_op, name, dtype, axis, exclusive):
    A = te.placeholder(SHAPE, name="A", dtype=dtype)
    B = op(A, axis=axis, exclusive=exclusive)
    assert B.dtype == dtype  # TVM keeps the data's dtype (numpy would widen int32)
    if name == "prod" and dtype == "float32":
        a = rng.uniform(0.5, 1.5, SHAPE).astype(dtype)  # products stay in range
    else:
        a = _data(SHAPE, dtype)
    ref = np_op(a, axis=axis, dtype=dtype)
    if exclusive:
        ref = _exclusive(ref, a, axis, name)
    np.testing.assert_allclose(run_plain(B, [A], [a]), ref, rtol=1e-5, atol=1e-5)


def test_integer_cumsum_and_cumprod_wrap_like_numpy():
    A = te.placeholder((4, 50), name="A", dtype="int32")
    a = rng.integers(-2**31, 2**31, size=(4, 50), dtype=np.int64).astype("int32")
    np.testing.assert_array_equal(run_plain(cumsum(A, axis=1), [A], [a]), np.cumsum(a, axis=1, dtype="int32"))
    np.testing.assert_array_equal(run_plain(cumprod(A, axis=0), [A], [a]), np.cumprod(a, axis=0, dtype="int32"))
    B = te.placeholder((200,), name="B", dtype="uint8")
    b = rng.integers(0, 256, size=200).astype("uint8")
    C = cumsum(B, dtype="int8")
    np.testing.assert_array_equal(run_plain(C, [B], [b]), np.cumsum(b, dtype="int8"))


def test_dtype_override_accumulates_in_that_dtype():
    A = te.placeholder((3, 40), name="A", dtype="int32")
    a = rng.integers(2**30, 2**31, size=(3, 40)).astype("int32")  # int32 sums would overflow
    B = cumsum(A, axis=-1, dtype="int64", exclusive=True)
    assert B.dtype == "int64"
    ref = np.cumsum(a, axis=-1, dtype="int64") - a
    np.testing.assert_array_equal(run_plain(B, [A], [a]), ref)
    F = te.placeholder((30,), name="F")
    f = rng.standard_normal(30).astype("float32")
    P = cumprod(F, dtype="float64")
    np.testing.assert_allclose(run_plain(P, [F], [f]), np.cumprod(f.astype("float64")), rtol=1e-12)
    M = te.placeholder((2, 3), name="M", dtype="bool")
    m = rng.random((2, 3)) < 0.5
    np.testing.assert_array_equal(run_plain(cumsum(M), [M], [m]), np.cumsum(m))  # counts, as int64


def test_cumsum_symbolic_and_empty_shapes_feed_a_compute_stage():
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B = cumsum(A, axis=0)
    C = te.compute(B.shape, lambda i, j: B[i, j] * 2.0, name="C")
    f = tl.build(te.create_schedule(C.op), [A, C], target="llvm")
    for shape in [(5, 7), (0, 3), (3, 0), (1, 1)]:
        a = _data(shape, "float32")
        c = np.zeros(shape, "float32")
        f(a, c)
        np.testing.assert_allclose(c, np.cumsum(a, axis=0) * 2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis,exclusive", [(1, False), (-1, True), (None, False)])
def test_cumsum_on_cuda_emulate_runs_one_thread_per_line(axis, exclusive):
    A = te.placeholder(SHAPE, name="A")
    with tl.target.Target(EMU):
        B = cumsum(A, axis=axis, exclusive=exclusive)
        f = tl.build(te.create_schedule(B.op), [A, B], target=EMU)
    assert "threadIdx.x" in f.get_source("cuda")
    a = _data(SHAPE, "float32")
    b = np.zeros(get_const_tuple(B.shape), "float32")
    f(a, b)
    ref = np.cumsum(a, axis=axis)
    if exclusive:
        ref = _exclusive(ref, a, axis, "sum")
    np.testing.assert_allclose(b, ref, rtol=1e-5, atol=1e-5)


def test_scan_ops_check_their_arguments():
    A = te.placeholder((4, 6), name="A")
    with pytest.raises(ExprError, match="cumsum: axis 2 is out of range"):
        cumsum(A, axis=2)
    with pytest.raises(ExprError, match="cumprod: axis -3 is out of range"):
        cumprod(A, axis=-3)
    with pytest.raises(DTypeError, match="cumsum: dtype bool cannot accumulate"):
        cumsum(A, dtype="bool")
    with pytest.raises(ExprError, match="cumprod: data must be a tensor"):
        cumprod(np.zeros(3))


def test_topk_with_k_below_one_sorts_the_whole_axis_as_tvm():
    a = rng.standard_normal((4, 6)).astype("float32")
    A = te.placeholder((4, 6), name="A")
    values = run_plain(topk(A, k=0, ret_type="values"), [A], [a])
    np.testing.assert_array_equal(values, -np.sort(-a, axis=1))


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_matches_numpy(dtype, right):
    from tensorlang.topi import searchsorted
    seq = np.sort(_data((40,), dtype))                 # ties included for the integers
    extra = [] if dtype == "int32" else [np.nan, -np.inf, np.inf]
    vals = np.concatenate([_data((19 - len(extra),), dtype), seq[::9], extra]).astype(dtype).reshape(4, 6)
    if dtype == "float32":
        seq[-2:] = np.nan                              # NaN sorts last, as numpy sorts it
    side = "right" if right else "left"
    S, V = te.placeholder(seq.shape, name="S", dtype=dtype), te.placeholder(vals.shape, name="V", dtype=dtype)
    got = run_plain(searchsorted(S, V, right), [S, V], [seq, vals])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.searchsorted(seq, vals, side=side))
    # Rows of sequences, each searched for its own values (torch.searchsorted's batched form).
    rows = np.sort(_data((3, 12), dtype), axis=1)
    rv = _data((3, 5), dtype)
    R, RV = te.placeholder(rows.shape, name="R", dtype=dtype), te.placeholder(rv.shape, name="RV", dtype=dtype)
    got = run_plain(searchsorted(R, RV, right, "int32"), [R, RV], [rows, rv])
    np.testing.assert_array_equal(got, np.stack([np.searchsorted(r, v, side=side) for r, v in zip(rows, rv)]))
    with pytest.raises(ExprError, match="searchsorted: sorted_sequence R.* and values .* must share"):
        searchsorted(R, te.placeholder((2, 5), name="W", dtype=dtype))
