"""topi.nn.pool_grad (against a numpy loop reference, finite differences and te.gradient of pool2d),
topi.nn.sparse_transpose / sparse_add (against scipy and dense numpy), topi.sparse_reshape /
sparse_fill_empty_rows (against references following TensorFlow's rules) and
topi.vision.get_valid_counts / non_max_suppression (against a numpy loop reference and TVM's own
expected arrays), all on fresh random data; bad input raises a tensorlang error naming the argument.
Each of the numpy-backed operators is one stage whose packed function runs once per call."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import ArgumentError, DTypeError, ExprError, TargetError
from tensorlang.topi.testing import (
    get_valid_counts_python,
    non_max_suppression_python,
    pool2d_python,
    pool_grad_nchw,
    sparse_fill_empty_rows_python,
    sparse_reshape_python,
)
from tensorlang.topi.utils import get_const_tuple

from .runner import call, counting_calls, rand, rng, run_plain

EMU = "cuda -emulate"


# -- pool_grad ------------------------------------------------------------------------------------

def _pool_grad(shape, kernel, stride, padding, pool_type, ceil_mode, count_include_pad, layout="NCHW",
               dtype="float32", data=None):
    """pool_grad built and run on ``data`` (random by default) and a random output gradient."""
    A = te.placeholder(shape, dtype, name="A")
    P = topi.nn.pool2d(A, kernel, stride, (1, 1), padding, pool_type, ceil_mode, layout, count_include_pad)
    G = te.placeholder(P.shape, dtype, name="G")
    R = topi.nn.pool_grad(G, A, kernel, stride, padding, pool_type, ceil_mode, layout, count_include_pad)
    a = rand(*shape, dtype=dtype) if data is None else data
    g = rand(*get_const_tuple(P.shape), dtype=dtype)
    return a, g, run_plain(R, [G, A], [g, a])


CASES = [  # kernel, stride, padding (top, left, bottom, right), ceil_mode, count_include_pad
    ((3, 3), (2, 2), (1, 1, 1, 1), False, True),
    ((3, 3), (2, 2), (1, 1, 1, 1), False, False),
    ((2, 3), (1, 2), (0, 1, 2, 0), True, False),
    ((3, 2), (3, 1), (1, 0, 0, 1), True, True),
    ((2, 2), (2, 2), (0, 0, 0, 0), False, True),
    ((4, 3), (1, 1), (2, 1, 1, 2), False, False),
    ((2, 1), (3, 2), (1, 0, 0, 1), True, False),  # stride past the kernel: some elements in no window
]


@pytest.mark.parametrize("pool_type", ["max", "avg"])
@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad", CASES)
def test_pool_grad_matches_numpy(pool_type, kernel, stride, padding, ceil_mode, count_include_pad):
    a, g, got = _pool_grad((2, 3, 7, 8), kernel, stride, padding, pool_type, ceil_mode, count_include_pad)
    want = pool_grad_nchw(a, g, kernel, stride, padding, pool_type, ceil_mode, count_include_pad)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_max_pool_grad_gives_a_tied_window_to_its_first_maximum():
    # small integers: most windows hold several maxima; the top-most, then left-most, gets it (TVM's rule)
    a = rng.integers(-1, 2, size=(1, 2, 6, 7)).astype("float32")
    _, g, got = _pool_grad(a.shape, (3, 3), (1, 2), (1, 1, 1, 1), "max", False, True, data=a)
    np.testing.assert_allclose(got, pool_grad_nchw(a, g, (3, 3), (1, 2), (1, 1, 1, 1), "max", False), rtol=1e-5,
                               atol=1e-5)
    a, g, got = _pool_grad((1, 1, 2, 2), (2, 2), (1, 1), (0, 0, 0, 0), "max", False, True,
                           data=np.full((1, 1, 2, 2), rng.standard_normal(), "float32"))
    np.testing.assert_allclose(got[0, 0], [[g[0, 0, 0, 0], 0], [0, 0]])


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_pool_grad_in_nhwc_is_the_nchw_one_transposed(pool_type):
    a, g, got = _pool_grad((2, 7, 6, 3), (3, 2), (2, 1), (1, 0, 1, 1), pool_type, True, False, layout="NHWC")
    want = pool_grad_nchw(a.transpose(0, 3, 1, 2), g.transpose(0, 3, 1, 2), (3, 2), (2, 1), (1, 0, 1, 1), pool_type,
                          True, False)
    np.testing.assert_allclose(got, want.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pool_type,count_include_pad", [("max", True), ("avg", True), ("avg", False)])
def test_pool_grad_is_the_finite_difference_gradient_of_pool2d(pool_type, count_include_pad):
    kernel, stride, padding = (3, 2), (2, 2), (1, 0, 1, 1)
    while True:  # values 1e-4 apart: a max window whose two largest lie within eps would split the difference
        data = rng.standard_normal((1, 2, 5, 6))
        if np.diff(np.sort(data, axis=None)).min() > 1e-4:
            break
    a, g, got = _pool_grad((1, 2, 5, 6), kernel, stride, padding, pool_type, True, count_include_pad,
                           dtype="float64", data=data)

    def loss(x):
        out = pool2d_python(x, kernel, stride, (1, 1), padding, pool_type, True, "NCHW", count_include_pad)
        # ceil mode adds a column of windows made only of padding: -inf for max, and no input's
        return float((np.where(np.isfinite(out), out, 0) * g).sum())
    eps = 1e-6
    numeric = np.zeros_like(a)
    for pos in np.ndindex(*a.shape):
        up, down = a.copy(), a.copy()
        up[pos] += eps
        down[pos] -= eps
        numeric[pos] = (loss(up) - loss(down)) / (2 * eps)
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_pool_grad_agrees_with_te_gradient_of_pool2d(pool_type):
    A = te.placeholder((2, 2, 6, 5), name="A")
    P = topi.nn.pool2d(A, (2, 3), (2, 1), (1, 1), (1, 1, 0, 2), pool_type, False, "NCHW", False)
    H = te.placeholder(P.shape, name="H")
    (dA,) = te.gradient(P, [A], H)
    G = topi.nn.pool_grad(H, A, (2, 3), (2, 1), (1, 1, 0, 2), pool_type, False, "NCHW", False)
    auto, ours = run_plain([dA, G], [A, H], [rand(2, 2, 6, 5), rand(*get_const_tuple(P.shape))])
    np.testing.assert_allclose(ours, auto, rtol=1e-5, atol=1e-6)


def test_pool_grad_bad_arguments_name_them():
    A = te.placeholder((1, 2, 6, 6), name="A")
    G = te.placeholder((1, 2, 3, 3), name="G")
    with pytest.raises(ExprError, match="pool_type 'sum'"):
        topi.nn.pool_grad(G, A, (2, 2), (2, 2), (0, 0, 0, 0), "sum")
    with pytest.raises(ExprError, match=r"grads has shape \[1, 2, 3, 3\].* gives \[1, 2, 5, 5\]"):
        topi.nn.pool_grad(G, A, (2, 2), (1, 1), (0, 0, 0, 0), "max")
    with pytest.raises(DTypeError, match="grads is float64 but data is float32"):
        topi.nn.pool_grad(te.placeholder((1, 2, 3, 3), "float64", name="G"), A, (2, 2), (2, 2), (0, 0, 0, 0), "avg")
    with pytest.raises(ExprError, match="layout 'NCHw'"):
        topi.nn.pool_grad(G, A, (2, 2), (2, 2), (0, 0, 0, 0), "avg", layout="NCHw")
    with pytest.raises(ExprError, match="padding"):
        topi.nn.pool_grad(G, A, (2, 2), (2, 2), (0, 0, 0), "avg")
    with pytest.raises(ExprError, match="kernel"):
        topi.nn.pool_grad(G, A, (2, 2, 2), (2, 2), (0, 0, 0, 0), "avg")
    with pytest.raises(ExprError, match="grads must be a tensor"):
        topi.nn.pool_grad(np.zeros((1, 2, 3, 3)), A, (2, 2), (2, 2), (0, 0, 0, 0), "avg")


# -- sparse_transpose, sparse_add -----------------------------------------------------------------

def _csr(rows, cols, density=0.3):
    """A random CSR matrix with an empty row, an empty column and at least two stored values."""
    while True:  # a small matrix can come out empty, which the bad-input tests cannot corrupt
        dense = rng.standard_normal((rows, cols)) * (rng.random((rows, cols)) < density)
        dense[rng.integers(rows)] = 0  # an empty row
        dense[:, rng.integers(cols)] = 0  # an empty column
        if np.count_nonzero(dense) >= 2:
            return scipy.sparse.csr_matrix(dense.astype("float32"))


def _csr_placeholders(m, index_dtype):
    return (te.placeholder(m.data.shape, name="V"), te.placeholder(m.indices.shape, index_dtype, name="idx"),
            te.placeholder(m.indptr.shape, index_dtype, name="ptr"))


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_sparse_transpose_matches_scipy(index_dtype):
    m = _csr(11, 11)
    V, idx, ptr = _csr_placeholders(m, index_dtype)
    outs = topi.nn.sparse_transpose(V, idx, ptr)
    assert [str(o.dtype) for o in outs] == ["float32", "int32", "int32"]
    got = run_plain(outs, [V, idx, ptr], [m.data, m.indices.astype(index_dtype), m.indptr.astype(index_dtype)])
    want = m.T.tocsr()
    want.sort_indices()
    for g, w in zip(got, [want.data, want.indices, want.indptr]):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_sparse_add_matches_dense_numpy(index_dtype):
    m = _csr(6, 9)
    # a repeated column in a row adds twice: append an entry to a non-empty row
    row = int(np.flatnonzero(np.diff(m.indptr))[0])
    at = m.indptr[row + 1]
    data = np.insert(m.data, at, rng.standard_normal()).astype("float32")
    indices = np.insert(m.indices, at, m.indices[at - 1])
    indptr = m.indptr + (np.arange(len(m.indptr)) > row)
    want_sparse = scipy.sparse.csr_matrix((data, indices, indptr), shape=m.shape).toarray()  # sums duplicates
    x = rand(6, 9)
    D = te.placeholder((6, 9), name="D")
    V, idx, ptr = (te.placeholder(data.shape, name="V"), te.placeholder(indices.shape, index_dtype, name="idx"),
                   te.placeholder(indptr.shape, index_dtype, name="ptr"))
    out = topi.nn.sparse_add(D, V, idx, ptr)
    got = run_plain(out, [D, V, idx, ptr], [x, data, indices.astype(index_dtype), indptr.astype(index_dtype)])
    np.testing.assert_allclose(got, x + want_sparse, rtol=1e-6, atol=1e-6)


def test_sparse_bad_input_is_an_error_naming_it():
    m = _csr(5, 5)
    V, idx, ptr = _csr_placeholders(m, "int32")
    outs = topi.nn.sparse_transpose(V, idx, ptr)
    f = tl.build(te.create_schedule([o.op for o in outs]), [V, idx, ptr, *outs])
    res = [np.empty(get_const_tuple(o.shape), str(o.dtype)) for o in outs]
    bad = m.indices.astype("int32").copy()
    bad[0] = 5
    with pytest.raises(ArgumentError, match=r"sparse_indices\[0\] is 5, outside \[0, 5\)"):
        f(m.data, bad, m.indptr.astype("int32"), *res)
    bad = m.indptr.astype("int32").copy()
    bad[-1] -= 1
    with pytest.raises(ArgumentError, match="sparse_indptr must rise from 0"):
        f(m.data, m.indices.astype("int32"), bad, *res)
    with pytest.raises(ExprError, match="V must be 1-D .CSR"):
        topi.nn.sparse_transpose(te.placeholder((4, 2, 2), name="V"), idx, ptr)
    with pytest.raises(DTypeError, match="idx must be a 1-D integer tensor"):
        topi.nn.sparse_transpose(V, te.placeholder(idx.shape, "float32", name="idx"), ptr)
    with pytest.raises(TargetError, match="sparse_transpose: runs on the CPU only"):
        with tl.target.Target(EMU):
            topi.nn.sparse_transpose(V, idx, ptr)
    with pytest.raises(ExprError, match="ptr has 6 row pointers, but D has 4 rows"):
        topi.nn.sparse_add(te.placeholder((4, 5), name="D"), V, idx, ptr)
    with pytest.raises(DTypeError, match="D is float64 but the sparse values V are float32"):
        topi.nn.sparse_add(te.placeholder((5, 5), "float64", name="D"), V, idx, ptr)


# -- sparse_reshape, sparse_fill_empty_rows -------------------------------------------------------

def _coo(shape, n):
    """n distinct random coordinates in a dense tensor of ``shape``, in random order."""
    flat = rng.choice(int(np.prod(shape)), size=n, replace=False)
    return np.stack(np.unravel_index(flat, shape), axis=1).astype("int64")


@pytest.mark.parametrize("new_shape", [[-1, 6], [10, 2, 3], [60], [2, -1, 15], [4, 3, 5]])
def test_sparse_reshape_matches_tensorflow_rules(new_shape):
    prev = [4, 3, 5]
    idx = _coo(prev, 9)
    I = te.placeholder(idx.shape, "int64", name="I")
    PS = te.placeholder((3,), "int64", name="PS")
    NS = te.placeholder((len(new_shape),), "int64", name="NS")
    outs = topi.sparse_reshape(I, PS, NS, (9, len(new_shape)), (len(new_shape),))
    got = run_plain(outs, [I, PS, NS], [idx, np.array(prev), np.array(new_shape)])
    want = sparse_reshape_python(idx, np.array(prev), new_shape)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_sparse_reshape_bad_shapes_are_errors():
    idx = _coo([4, 3, 5], 6)
    I = te.placeholder(idx.shape, "int64", name="I")
    PS = te.placeholder((3,), "int64", name="PS")
    NS = te.placeholder((2,), "int64", name="NS")
    outs = topi.sparse_reshape(I, PS, NS, (6, 2), (2,))
    f = tl.build(te.create_schedule([o.op for o in outs]), [I, PS, NS, *outs])
    res = [np.empty((6, 2), "int64"), np.empty(2, "int64")]
    prev = np.array([4, 3, 5])
    for new, msg in (([-1, -1], "may hold one -1"), ([7, -1], "no size for the -1"), ([6, 9], "has 54 elements")):
        with pytest.raises(ArgumentError, match=msg):
            f(idx, prev, np.array(new), *res)
    outside = idx.copy()
    outside[2, 1] = 3
    with pytest.raises(ArgumentError, match=r"sparse_indices\[2\] = .* is outside prev_shape"):
        f(outside, prev, np.array([6, 10]), *res)
    with pytest.raises(ExprError, match=r"new_sparse_indices_shape\[1\] is 3, but it must be 2"):
        topi.sparse_reshape(I, PS, NS, (6, 3), (2,))
    with pytest.raises(DTypeError, match="new_shape must be an integer tensor"):
        topi.sparse_reshape(I, PS, te.placeholder((2,), name="NS"), (6, 2), (2,))


@pytest.mark.parametrize("shuffled", [False, True])
def test_sparse_fill_empty_rows_matches_tensorflow_rules(shuffled):
    rows, cols = 9, 5
    idx = _coo([rows, cols], 12)
    idx = idx if shuffled else idx[np.lexsort((idx[:, 1], idx[:, 0]))]
    vals = rand(12)
    default = rand(1)
    want = sparse_fill_empty_rows_python(idx, vals, [rows, cols], default)
    total = len(want[1])
    SI = te.placeholder(idx.shape, "int64", name="SI")
    SV = te.placeholder((12,), name="SV")
    DS = te.placeholder((2,), "int64", name="DS")
    DV = te.placeholder((1,), name="DV")
    outs = topi.sparse_fill_empty_rows(SI, SV, DS, DV, (total, 2), (total,), (rows,))
    assert [str(o.dtype) for o in outs] == ["int64", "float32", "int64"]
    got = run_plain(outs, [SI, SV, DS, DV], [idx, vals, np.array([rows, cols]), default])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_sparse_fill_empty_rows_needs_the_output_size_the_data_gives():
    idx = np.array([[0, 1], [2, 0], [2, 3]], "int64")
    SI = te.placeholder((3, 2), "int64", name="SI")
    SV = te.placeholder((3,), name="SV")
    DS = te.placeholder((2,), "int64", name="DS")
    DV = te.placeholder((1,), name="DV")
    outs = topi.sparse_fill_empty_rows(SI, SV, DS, DV, (4, 2), (4,), (4,))
    f = tl.build(te.create_schedule([o.op for o in outs]), [SI, SV, DS, DV, *outs])
    res = [np.empty((4, 2), "int64"), np.empty(4, "float32"), np.empty(4, "int64")]
    with pytest.raises(ArgumentError, match=r"gives 4 entries, but the data needs 5 \(3 nonzeros and 2 empty rows\)"):
        f(idx, rand(3), np.array([4, 4]), rand(1), *res)
    with pytest.raises(ArgumentError, match=r"sparse_indices\[1, 0\] = 2 is not a row of dense_shape\[0\] = 2"):
        f(idx, rand(3), np.array([2, 4]), rand(1), *res)
    with pytest.raises(DTypeError, match="default_value is int64 but sparse_values are float32"):
        topi.sparse_fill_empty_rows(SI, SV, DS, te.placeholder((1,), "int64", name="DV"), (4, 2), (4,), (4,))
    with pytest.raises(ExprError, match=r"new_sparse_values_shape\[0\] is 5, but it must be 4"):
        topi.sparse_fill_empty_rows(SI, SV, DS, DV, (4, 2), (5,), (4,))


# -- get_valid_counts, non_max_suppression --------------------------------------------------------

@pytest.mark.parametrize("score_threshold,id_index,score_index", [(0.5, -1, 0), (0, 0, 1), (-1, -1, 0),
                                                                 (0.55, 1, 0), ("tensor", 0, 1)])
def test_get_valid_counts_matches_numpy(score_threshold, id_index, score_index):
    data = rng.uniform(-2, 2, size=(3, 40, 6)).astype("float32")
    D = te.placeholder(data.shape, name="D")
    T = te.placeholder((1,), name="T")
    thr = rng.uniform(-1, 1) if score_threshold == "tensor" else score_threshold
    outs = topi.vision.get_valid_counts(D, T if score_threshold == "tensor" else thr, id_index, score_index)
    inputs, arrays = ([D, T], [data, np.array([thr], "float32")]) if score_threshold == "tensor" else ([D], [data])
    got = run_plain(outs, inputs, arrays)
    for g, w in zip(got, get_valid_counts_python(data, thr, id_index, score_index)):
        np.testing.assert_array_equal(g, w)


def _boxes(batch, anchors, length=6):
    """Random, much overlapping boxes: [class (some -1), score (some <= 0), x1, y1, x2, y2], some with
    their corners swapped; without the class column when ``length`` is 5."""
    corner = rng.uniform(0, 8, size=(batch, anchors, 2))
    size = rng.uniform(1, 5, size=(batch, anchors, 2))
    coords = np.concatenate([corner, corner + size], axis=2)
    swap = rng.random((batch, anchors)) < 0.2
    coords[swap] = coords[swap][:, [2, 3, 0, 1]]
    score = rng.uniform(-0.2, 1, size=(batch, anchors, 1))
    cls = rng.integers(-1, 3, size=(batch, anchors, 1))
    parts = [cls, score, coords] if length == 6 else [score, coords]
    return np.concatenate(parts, axis=2).astype("float32")


NMS_CASES = [  # max_output_size, iou_threshold, force_suppress, top_k, id_index, invalid_to_bottom
    (-1, 0.5, False, -1, 0, False),
    (3, 0.3, True, -1, 0, True),
    (-1, 0.4, False, 6, 0, True),
    (0, 0.5, False, -1, 0, False),
    (4, 0.2, False, 8, -1, False),
    (-1, 0.0, False, 5, 0, True),  # iou_threshold <= 0: the valid boxes, unsorted
]


@pytest.mark.parametrize("max_output_size,iou_threshold,force_suppress,top_k,id_index,invalid_to_bottom", NMS_CASES)
def test_non_max_suppression_matches_numpy(max_output_size, iou_threshold, force_suppress, top_k, id_index,
                                           invalid_to_bottom):
    batch, anchors = 3, 16
    data = _boxes(batch, anchors)
    valid = rng.integers(0, anchors + 1, size=batch).astype("int32")
    valid[0] = anchors
    order = np.stack([rng.permutation(anchors) for _ in range(batch)]).astype("int32")
    D = te.placeholder(data.shape, name="D")
    V = te.placeholder((batch,), "int32", name="V")
    I = te.placeholder((batch, anchors), "int32", name="I")
    kw = dict(max_output_size=max_output_size, iou_threshold=iou_threshold, force_suppress=force_suppress,
              top_k=top_k, coord_start=2, score_index=1, id_index=id_index, invalid_to_bottom=invalid_to_bottom)
    boxes = topi.vision.non_max_suppression(D, V, I, return_indices=False, **kw)
    box_indices, count = topi.vision.non_max_suppression(D, V, I, return_indices=True, **kw)
    got = run_plain([boxes, box_indices, count], [D, V, I], [data, valid, order])
    np.testing.assert_array_equal(got[0], non_max_suppression_python(data, valid, order, return_indices=False, **kw))
    want_indices, want_count = non_max_suppression_python(data, valid, order, return_indices=True, **kw)
    np.testing.assert_array_equal(got[1], want_indices)
    np.testing.assert_array_equal(got[2], want_count)


def test_get_valid_counts_feeds_non_max_suppression():
    data = _boxes(2, 24, length=5)  # [score, x1, y1, x2, y2], no class
    D = te.placeholder(data.shape, name="D")
    count, boxes, where = topi.vision.get_valid_counts(D, 0.1, id_index=-1, score_index=0)
    T = te.placeholder((1,), name="T")
    M = te.placeholder((1,), "int32", name="M")
    out, n = topi.vision.non_max_suppression(boxes, count, where, max_output_size=M, iou_threshold=T,
                                             coord_start=1, score_index=0, id_index=-1)
    got = run_plain([out, n], [D, T, M], [data, np.array([0.35], "float32"), np.array([5], "int32")])
    c, b, w = get_valid_counts_python(data, 0.1, -1, 0)
    want = non_max_suppression_python(b, c, w, 5, 0.35, coord_start=1, score_index=0, id_index=-1)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_non_max_suppression_gives_tvms_expected_arrays():
    # the two cases of TVM's test_topi_vision.py, with their expected outputs
    data = np.array([[[0, 0.8, 1, 20, 25, 45], [1, 0.7, 30, 60, 50, 80], [0, 0.4, 4, 21, 19, 40],
                      [2, 0.9, 35, 61, 52, 79], [1, 0.5, 100, 60, 70, 110]]], "float32")
    blank = [-1] * 6
    for d, args, kw, want in (
            (data, (-1, 0.7, True, 2), dict(coord_start=2, score_index=1, id_index=0),
             [[2, 0.9, 35, 61, 52, 79], [0, 0.8, 1, 20, 25, 45], blank, blank, blank]),
            (data[:, :, 1:].copy(), (2, 0.7, False, 2), dict(coord_start=1, score_index=0, id_index=-1),
             [[0.9, 35, 61, 52, 79], [0.8, 1, 20, 25, 45], blank[1:], blank[1:], blank[1:]])):
        D = te.placeholder(d.shape, name="D")
        V = te.placeholder((1,), "int32", name="V")
        I = te.placeholder((1, 5), "int32", name="I")
        out = topi.vision.non_max_suppression(D, V, I, *args, return_indices=False, **kw)
        idx = topi.vision.non_max_suppression(D, V, I, *args, return_indices=True, **kw)[0]
        got = run_plain([out, idx], [D, V, I], [d, np.array([4], "int32"), np.arange(5, dtype="int32")[None]])
        np.testing.assert_allclose(got[0], np.array([want], "float32"), rtol=1e-6)
        np.testing.assert_array_equal(got[1], [[3, 0, -1, -1, -1]])


def test_nms_bad_input_is_an_error_naming_it():
    D = te.placeholder((2, 8, 6), name="D")
    V = te.placeholder((2,), "int32", name="V")
    I = te.placeholder((2, 8), "int32", name="I")
    out = topi.vision.non_max_suppression(D, V, I, return_indices=False)
    f = tl.build(te.create_schedule(out.op), [D, V, I, out])
    with pytest.raises(ArgumentError, match=r"valid_count\[1\] is 9, outside \[0, 8\]"):
        f(_boxes(2, 8), np.array([3, 9], "int32"), np.zeros((2, 8), "int32"), np.empty((2, 8, 6), "float32"))
    idx, n = topi.vision.non_max_suppression(D, V, I, iou_threshold=0.0)
    f = tl.build(te.create_schedule([idx.op, n.op]), [D, V, I, idx, n])
    with pytest.raises(ArgumentError, match=r"indices\[0, 1\] is 99, not a box position in \[0, 8\)"):
        f(_boxes(2, 8), np.array([3, 2], "int32"), np.array([[0, 99] + [0] * 6] * 2, "int32"),
          np.empty((2, 8), "int32"), np.empty((2, 1), "int32"))
    with pytest.raises(ExprError, match="coord_start 3..6 is outside a box of 6 values"):
        topi.vision.non_max_suppression(D, V, I, coord_start=3)
    with pytest.raises(ExprError, match=r"indices must have shape \[2, 8\], got \[2, 7\]"):
        topi.vision.non_max_suppression(D, V, te.placeholder((2, 7), "int32", name="I"))
    with pytest.raises(DTypeError, match="valid_count must be an integer tensor"):
        topi.vision.non_max_suppression(D, te.placeholder((2,), name="V"), I)
    with pytest.raises(DTypeError, match="data must be float"):
        topi.vision.get_valid_counts(te.placeholder((2, 8, 6), "int32", name="D"))
    with pytest.raises(ExprError, match="score_index 6 is outside a box of 6 values"):
        topi.vision.get_valid_counts(D, 0.0, 0, 6)
    with pytest.raises(ExprError, match="top_k must be an int"):
        topi.vision.non_max_suppression(D, V, I, top_k=1.5)
    with pytest.raises(TargetError, match="non_max_suppression: runs on the CPU only"):
        with tl.target.Target(EMU):
            topi.vision.non_max_suppression(D, V, I)


# -- one stage, one run of numpy per call ---------------------------------------------------------

def assert_one_stage_runs_once_per_call(packed_name, outs, inputs, arrays, want):
    """``outs`` are the outputs of one stage; its built function, called twice, calls ``packed_name``
    once each time and gives ``want``."""
    assert len({id(o.op) for o in outs}) == 1, "every output comes from one stage"
    registered = tl.get_global_func(packed_name)
    f = tl.build(te.create_schedule(outs[0].op), list(inputs) + list(outs))
    with counting_calls(packed_name) as calls:
        for run in (1, 2):
            got = call(f, outs, arrays)
            assert len(calls) == run, f"{packed_name} ran {len(calls)} times in {run} call(s)"
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)
    assert tl.get_global_func(packed_name) is registered


def _transpose_once():
    m = _csr(8, 8)
    V, idx, ptr = _csr_placeholders(m, "int32")
    want = m.T.tocsr()
    want.sort_indices()
    return (topi.nn.sparse_transpose(V, idx, ptr), [V, idx, ptr],
            [m.data, m.indices.astype("int32"), m.indptr.astype("int32")], [want.data, want.indices, want.indptr])


def _reshape_once():
    idx = _coo([4, 3, 5], 7)
    I, PS, NS = (te.placeholder(idx.shape, "int64", name="I"), te.placeholder((3,), "int64", name="PS"),
                 te.placeholder((3,), "int64", name="NS"))
    new = np.array([2, -1, 5])
    return (topi.sparse_reshape(I, PS, NS, (7, 3), (3,)), [I, PS, NS], [idx, np.array([4, 3, 5]), new],
            sparse_reshape_python(idx, np.array([4, 3, 5]), new))


def _fill_once():
    idx = _coo([7, 4], 6)
    vals, default = rand(6), rand(1)
    want = sparse_fill_empty_rows_python(idx, vals, [7, 4], default)
    total = len(want[1])
    SI, SV, DS, DV = (te.placeholder(idx.shape, "int64", name="SI"), te.placeholder((6,), name="SV"),
                      te.placeholder((2,), "int64", name="DS"), te.placeholder((1,), name="DV"))
    return (topi.sparse_fill_empty_rows(SI, SV, DS, DV, (total, 2), (total,), (7,)), [SI, SV, DS, DV],
            [idx, vals, np.array([7, 4]), default], want)


@pytest.mark.parametrize("packed_name,declare", [("tensorlang.topi.nn.sparse_transpose", _transpose_once),
                                                 ("tensorlang.topi.sparse_reshape", _reshape_once),
                                                 ("tensorlang.topi.sparse_fill_empty_rows", _fill_once)])
def test_sparse_operators_run_numpy_once_per_call(packed_name, declare):
    outs, inputs, arrays, want = declare()
    assert_one_stage_runs_once_per_call(packed_name, outs, inputs, arrays, want)


def test_nms_operators_run_numpy_once_per_call():
    data = _boxes(2, 12)
    D = te.placeholder(data.shape, name="D")
    outs = topi.vision.get_valid_counts(D, 0.3, id_index=0, score_index=1)
    assert_one_stage_runs_once_per_call("tensorlang.topi.vision.get_valid_counts", outs, [D], [data],
                                        get_valid_counts_python(data, 0.3, 0, 1))
    valid = np.array([12, 7], "int32")
    order = np.stack([rng.permutation(12) for _ in range(2)]).astype("int32")
    V = te.placeholder((2,), "int32", name="V")
    I = te.placeholder((2, 12), "int32", name="I")
    kw = dict(max_output_size=4, iou_threshold=0.4, force_suppress=False, top_k=-1, coord_start=2, score_index=1,
              id_index=0)
    outs = topi.vision.non_max_suppression(D, V, I, return_indices=True, **kw)
    assert_one_stage_runs_once_per_call("tensorlang.topi.vision.non_max_suppression", outs, [D, V, I],
                                        [data, valid, order],
                                        non_max_suppression_python(data, valid, order, return_indices=True, **kw))
