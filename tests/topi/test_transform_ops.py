"""topi's layout, indexing, logical and bitwise ops (strided_slice, where, tile, gather, layout_transform,
bitwise_and, left_shift, all ...) built with a plain schedule and checked against numpy on fresh
random data; bad arguments raise a tensorlang error that names the operator."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import BoundsError, DTypeError, ExprError
from tests.topi.runner import rand, run_plain

rng = np.random.default_rng()


def _ints(shape, dtype):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("begin,end,strides", [
    ((1, -1, 0), (4, 2, 7), (2, -1, 3)),       # a negative step with a negative begin
    ((-1,), (-100,), (-2,)),                    # backwards from the end, end clipped
    ((0, 5), (5, -7), (1, -2)),                 # end before the start of the axis
    ((-3, 1, 2), (10, 4, -1), None),            # begin from the end, end clipped
    ((10,), (20,), None),                       # an empty slice
])
def test_strided_slice_matches_numpy(begin, end, strides):
    A = te.placeholder((5, 6, 7), name="A")
    a = rand(5, 6, 7)
    out = topi.strided_slice(A, begin, end, strides)
    ref = a[tuple(slice(b, e, s) for b, e, s in zip(begin, end, strides or [1] * len(begin)))]
    assert out.op.name == "T_strided_slice" and out.op.tag == "injective"
    np.testing.assert_array_equal(run_plain(out, [A], [a]), ref)


def test_strided_slice_axes_and_size_mode():
    A = te.placeholder((5, 6, 7), name="A")
    a = rand(5, 6, 7)
    out = topi.strided_slice(A, [5, 1], [0, 6], [-2, 2], axes=[2, 0])
    assert out.op.name == "T_strided_slice_with_axes"
    np.testing.assert_array_equal(run_plain(out, [A], [a]), a[1:6:2, :, 5:0:-2])
    out = topi.strided_slice(A, [1, -4], [2, -1], slice_mode="size")
    np.testing.assert_array_equal(run_plain(out, [A], [a]), a[1:3, -4:])


def test_flip_tile_repeat():
    A = te.placeholder((2, 3, 4), name="A")
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(run_plain(topi.flip(A, -1), [A], [a]), np.flip(a, -1))
    np.testing.assert_array_equal(run_plain(topi.flip(A), [A], [a]), np.flip(a, 0))
    np.testing.assert_array_equal(run_plain(topi.tile(A, (2, 1, 1, 3)), [A], [a]), np.tile(a, (2, 1, 1, 3)))
    np.testing.assert_array_equal(run_plain(topi.tile(A, (2,)), [A], [a]), np.tile(a, (2,)))
    np.testing.assert_array_equal(run_plain(topi.repeat(A, 3, 1), [A], [a]), np.repeat(a, 3, 1))
    assert topi.tile(A, (2,)).op.name == "T_tile" and topi.repeat(A, 2, 0).op.name == "T_repeat"


def test_layout_transform_permutation_and_channel_blocks():
    A = te.placeholder((2, 6, 3, 2), name="A")
    a = rand(2, 6, 3, 2)
    out = topi.layout_transform(A, "NCHW", "NHWC")
    assert out.op.name == "T_layout_trans"
    np.testing.assert_array_equal(run_plain(out, [A], [a]), a.transpose(0, 2, 3, 1))
    # 6 channels in blocks of 4: the last block is padded with zeros
    padded = np.concatenate([a, np.zeros((2, 2, 3, 2), "float32")], axis=1)
    ref = padded.reshape(2, 2, 4, 3, 2).transpose(0, 1, 3, 4, 2)
    np.testing.assert_array_equal(run_plain(topi.layout_transform(A, "NCHW", "NCHW4c"), [A], [a]), ref)
    B = te.placeholder((2, 3, 3, 2, 2), name="B")
    b = rand(2, 3, 3, 2, 2)
    unpacked = b.transpose(0, 1, 4, 2, 3).reshape(2, 6, 3, 2)
    np.testing.assert_array_equal(run_plain(topi.layout_transform(B, "NCHW2c", "NCHW"), [B], [b]), unpacked)
    np.testing.assert_array_equal(run_plain(topi.layout_transform(B, "NCHW2c", "NHWC3c"), [B], [b]),
                                  unpacked.reshape(2, 2, 3, 3, 2).transpose(0, 3, 4, 1, 2))


def test_gather_and_gather_nd_wrap_negative_indices_as_numpy():
    A = te.placeholder((3, 4, 5), name="A")
    a = rand(3, 4, 5)
    idx = rng.integers(-4, 4, (3, 2, 5)).astype("int32")
    Idx = te.placeholder(idx.shape, name="Idx", dtype="int32")
    out = topi.gather(A, 1, Idx)
    assert out.op.name == "T_gather"
    np.testing.assert_array_equal(run_plain(out, [A, Idx], [a, idx]), np.take_along_axis(a, idx, 1))
    nd = np.stack([rng.integers(-3, 3, (2, 4)), rng.integers(-4, 4, (2, 4))]).astype("int64")
    Nd = te.placeholder(nd.shape, name="Nd", dtype="int64")
    np.testing.assert_array_equal(run_plain(topi.gather_nd(A, Nd), [A, Nd], [a, nd]), a[tuple(nd)])
    bd = rng.integers(-4, 4, (1, 3, 2)).astype("int32")
    Bd = te.placeholder(bd.shape, name="Bd", dtype="int32")
    np.testing.assert_array_equal(run_plain(topi.gather_nd(A, Bd, batch_dims=1), [A, Bd], [a, bd]),
                                  np.stack([a[k][bd[0, k]] for k in range(3)]))
    with pytest.raises(BoundsError, match="A"):  # an index past the end, found when it is read
        run_plain(topi.gather(A, 1, Idx), [A, Idx], [a, np.full(idx.shape, 4, "int32")])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(axis):
    ind = rng.integers(-1, 6, (3, 4)).astype("int32")
    Ind = te.placeholder(ind.shape, name="Ind", dtype="int32")
    out = topi.one_hot(Ind, te.const(2.5), -1.0, 5, axis, "float32")
    ref = np.where(np.expand_dims(ind, axis) == np.arange(5).reshape([-1 if k == (axis % 3) else 1 for k in range(3)]),
                   2.5, -1.0)
    np.testing.assert_array_equal(run_plain(out, [Ind], [ind]), ref)


def test_where_broadcasts_condition_and_branches():
    C = te.placeholder((4, 1), name="C", dtype="bool")
    X = te.placeholder((5,), name="X")
    Y = te.placeholder((1, 5), name="Y")
    c, x, y = rng.random((4, 1)) < 0.5, rand(5), rand(1, 5)
    out = topi.where(C, X, Y)
    assert out.op.name == "T_where" and topi.utils.get_const_tuple(out.shape) == (4, 5)
    np.testing.assert_array_equal(run_plain(out, [C, X, Y], [c, x, y]), np.where(c, x, y))
    x[1] = 0.0
    np.testing.assert_array_equal(run_plain(topi.where(X, X, -1.0), [X], [x]), np.where(x, x, -1.0))


def test_full_and_full_like():
    np.testing.assert_array_equal(run_plain(topi.full((2, 3), "int32", 7.9), [], []), np.full((2, 3), 7, "int32"))
    A = te.placeholder((3, 2), name="A", dtype="float64")
    out = topi.full_like(A, -1.5)
    assert out.dtype == "float64" and out.op.name == "T_full_like"
    np.testing.assert_array_equal(run_plain(out, [A], [rand(3, 2, dtype="float64")]), np.full((3, 2), -1.5))


def test_sign_and_logical_not_follow_numpy():
    A = te.placeholder((3, 4), name="A")
    a = rand(3, 4)
    a[0, 0], a[1, 1], a[2, 2] = np.nan, 0.0, -0.0
    got = run_plain(topi.sign(A), [A], [a])
    np.testing.assert_array_equal(got, np.sign(a))
    np.testing.assert_array_equal(np.signbit(got[1:]), np.signbit(np.sign(a)[1:]))  # sign(-0.0) is 0.0
    np.testing.assert_array_equal(run_plain(topi.logical_not(A), [A], [a]), np.logical_not(a))
    Ai = te.placeholder((3, 4), name="Ai", dtype="int16")
    ai = _ints((3, 4), "int16")
    ai[0, 0] = 0
    np.testing.assert_array_equal(run_plain(topi.sign(Ai), [Ai], [ai]), np.sign(ai))
    P, Q = te.placeholder((3, 4), name="P", dtype="bool"), te.placeholder((4,), name="Q", dtype="bool")
    p, q = rng.random((3, 4)) < 0.5, rng.random(4) < 0.5
    np.testing.assert_array_equal(run_plain(topi.logical_xor(P, Q), [P, Q], [p, q]), np.logical_xor(p, q))
    np.testing.assert_array_equal(run_plain(topi.bitwise_and(P, Q), [P, Q], [p, q]), p & q)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int32", "uint32", "int64"])
def test_bitwise_ops_and_shifts_over_the_whole_range(dtype):
    A = te.placeholder((3, 4), name="A", dtype=dtype)
    B = te.placeholder((4,), name="B", dtype=dtype)
    a, b = _ints((3, 4), dtype), _ints((4,), dtype)
    outs = [topi.bitwise_and(A, B), topi.bitwise_or(A, B), topi.bitwise_xor(A, B), topi.bitwise_not(A),
            topi.bitwise_and(A, 0x5A)]
    got = run_plain(outs, [A, B], [a, b])
    for g, ref in zip(got, [a & b, a | b, a ^ b, ~a, a & np.array(0x5A, dtype)]):
        np.testing.assert_array_equal(g, ref)
    bits = np.iinfo(dtype).bits
    n = rng.integers(-2 if np.iinfo(dtype).min < 0 else 0, bits + 2, (4,)).astype(dtype)
    n[:2] = [0, bits - 1]
    with np.errstate(all="ignore"):  # numpy: shifts past the width give 0 (or -1 for negatives)
        ref = [np.left_shift(a, n), np.right_shift(a, n), np.left_shift(a, np.array(3, dtype))]
    got = run_plain([topi.left_shift(A, B), topi.right_shift(A, B), topi.left_shift(A, 3)], [A, B], [a, n])
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, True), ((0, 2), False)])
def test_all_any(axis, keepdims):
    A = te.placeholder((3, 4, 2), name="A")
    a = rng.integers(0, 2, (3, 4, 2)).astype("float32") * rand(3, 4, 2)
    a[0] = 1.0
    a[1, 0, 0] = np.nan  # truthy, as in numpy
    got = run_plain([topi.all(A, axis, keepdims), topi.any(A, axis, keepdims)], [A], [a])
    np.testing.assert_array_equal(got[0], np.all(a, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(got[1], np.any(a, axis=axis, keepdims=keepdims))
    assert got[0].dtype == np.bool_


def test_bad_arguments_name_the_operator():
    A = te.placeholder((3, 4, 5), name="A")
    Ind = te.placeholder((3, 4), name="Ind", dtype="int32")
    bad = [
        (ExprError, "strided_slice: strides", lambda: topi.strided_slice(A, [0], [2], [0])),
        (ExprError, "strided_slice: axis 3", lambda: topi.strided_slice(A, [0], [2], axes=[3])),
        (ExprError, "flip: axis -4", lambda: topi.flip(A, -4)),
        (ExprError, "tile: reps", lambda: topi.tile(A, (0, 2))),
        (ExprError, "repeat: repeats", lambda: topi.repeat(A, 0, 1)),
        (ExprError, "layout_transform: src_layout 'NCHW' has 4 axes", lambda: topi.layout_transform(A, "NCHW", "NHWC")),
        (ExprError, "layout_transform: dst_layout: invalid layout 'NC0h': sub-axis 'h' has factor 0",
         lambda: topi.layout_transform(A, "NCH", "NC0h")),
        (ExprError, "gather: indices has 2 dimension", lambda: topi.gather(A, 1, Ind)),
        (DTypeError, "gather: indices must hold integers", lambda: topi.gather(A, 0, A)),
        (ExprError, "gather_nd: indices.shape", lambda: topi.gather_nd(A, te.placeholder((4, 2), dtype="int32"))),
        (ExprError, "one_hot: axis 4", lambda: topi.one_hot(Ind, 1, 0, 3, 4, "float32")),
        (ExprError, "where: shapes", lambda: topi.where(A, A, te.placeholder((2, 5)))),
        (DTypeError, "bitwise_and: needs integer", lambda: topi.bitwise_and(A, A)),
        (DTypeError, "right_shift: needs integer", lambda: topi.right_shift(Ind, 1.5)),
        (ExprError, "all: axis 3", lambda: topi.all(A, 3)),
    ]
    for cls, message, make in bad:
        with pytest.raises(cls, match=message):
            make()


@pytest.mark.parametrize("axes,sa,sb", [
    (0, (3, 4), (2, 5)), (1, (3, 4), (4, 5)), (2, (2, 3, 4), (3, 4, 5)), (([1, 0], [0, 2]), (3, 4, 5), (4, 6, 3)),
    ((2, 1), (2, 3, 4), (5, 4, 6)), (([-1], [0]), (3, 4), (4, 2))])
def test_tensordot_matches_numpy(axes, sa, sb):
    a_np, b_np = rand(*sa), rand(*sb)
    A, B = te.placeholder(sa, name="A"), te.placeholder(sb, name="B")
    C = topi.tensordot(A, B, axes)
    np.testing.assert_allclose(run_plain(C, [A, B], [a_np, b_np]), np.tensordot(a_np, b_np, axes), rtol=1e-5, atol=1e-5)


def test_tensordot_and_elemwise_sum_errors_name_the_operator():
    A, B = te.placeholder((3, 4), name="A"), te.placeholder((5, 6), name="B")
    with pytest.raises(ExprError, match="topi.tensordot: axis 1 of a has 4 elements"):
        topi.tensordot(A, B, 1)
    with pytest.raises(ExprError, match="topi.tensordot: axes=3 is out of range"):
        topi.tensordot(A, B, 3)
    with pytest.raises(ExprError, match="topi.elemwise_sum: tensor 1 'B' has shape"):
        topi.elemwise_sum([A, B])


def test_elemwise_sum_matches_numpy():
    xs = [te.placeholder((4, 7), name=f"X{i}") for i in range(3)]
    arrays = [rand(4, 7) for _ in xs]
    np.testing.assert_allclose(run_plain(topi.elemwise_sum(xs), xs, arrays), sum(arrays), rtol=1e-6)


def test_reshape_checks_sizes_and_minus_one():
    A = te.placeholder((4, 5), name="A")
    a = rand(4, 5)
    np.testing.assert_array_equal(run_plain(topi.reshape(A, (2, -1, 5)), [A], [a]), a.reshape(2, -1, 5))
    for shape, match in (((3, 7), r"\(20 elements\) to \(3, 7\) \(21 elements\)"),
                         ((3, -1), "3 does not divide it"),
                         ((-1, -1), "at most one dimension"),
                         ((-2, 10), "negative dimension")):
        with pytest.raises(ExprError, match=f"reshape: .*{match}"):
            topi.reshape(A, shape)


def test_concatenate_and_stack_refuse_mismatched_shapes():
    A, B, C = te.placeholder((4, 5), name="A"), te.placeholder((3, 6), name="B"), te.placeholder((3, 5), name="C")
    with pytest.raises(ExprError, match="concatenate: dimension 1 of B has size 6, of A 5"):
        topi.concatenate([A, B], 0)
    with pytest.raises(ExprError, match=r"stack: B has shape \(3, 6\), A \(4, 5\)"):
        topi.stack([A, B])
    a, c = rand(4, 5), rand(3, 5)
    np.testing.assert_array_equal(run_plain(topi.concatenate([A, C], 0), [A, C], [a, c]), np.concatenate([a, c]))
    np.testing.assert_array_equal(run_plain(topi.stack([A, A], 1), [A], [a]), np.stack([a, a], 1))


@pytest.mark.parametrize("k", [-2, 0, 1, 5])
def test_trilu_matches_numpy_triu_and_tril(k):
    A = te.placeholder((3, 5, 6), name="A")
    a = rand(3, 5, 6)
    np.testing.assert_array_equal(run_plain(topi.trilu(A, k, True), [A], [a]), np.triu(a, k))
    np.testing.assert_array_equal(run_plain(topi.trilu(A, k, False), [A], [a]), np.tril(a, k))


def test_trilu_reads_k_from_a_tensor_at_run_time():
    A, K = te.placeholder((4, 4), name="A"), te.placeholder((1,), name="K", dtype="int32")
    a = rand(4, 4)
    for k in (-1, 2):
        got = run_plain(topi.trilu(A, K, True), [A, K], [a, np.array([k], "int32")])
        np.testing.assert_array_equal(got, np.triu(a, k))
    with pytest.raises(ExprError, match="at least 2 dimensions"):
        topi.trilu(te.placeholder((4,), name="v"), 0, True)
    with pytest.raises(DTypeError, match="integer"):
        topi.trilu(A, 0.5, True)


def test_shape_ndarray_size_and_fast_erf():
    import math
    A = te.placeholder((3, 5, 6), name="A")
    a = rand(3, 5, 6)
    np.testing.assert_array_equal(run_plain(topi.shape(A, "int64"), [A], [a]), np.array(a.shape, "int64"))
    size = run_plain(topi.ndarray_size(A), [A], [a])
    assert size.shape == () and size.dtype == np.int32 and int(size) == a.size
    np.testing.assert_allclose(run_plain(topi.fast_erf(A), [A], [a]), np.vectorize(math.erf)(a), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_unravel_index_matches_numpy(dtype):
    dims = np.array([3, 4, 5, 2], dtype="int64")
    flat = rng.integers(0, dims.prod(), size=17).astype(dtype)
    I, S = te.placeholder(flat.shape, name="I", dtype=dtype), te.placeholder(dims.shape, name="S", dtype="int64")
    got = run_plain(topi.unravel_index(I, S), [I, S], [flat, dims])
    np.testing.assert_array_equal(got, np.stack(np.unravel_index(flat, tuple(dims))))
    # A 0-d index, and the shape read when the kernel runs: a different shape, the same module.
    I0 = te.placeholder((), name="I0", dtype=dtype)
    one = np.array(rng.integers(0, 60), dtype=dtype)
    np.testing.assert_array_equal(run_plain(topi.unravel_index(I0, S), [I0, S], [one, np.array([5, 3, 4, 1])]),
                                  np.unravel_index(int(one), (5, 3, 4, 1)))
    for bad in (60, -1):  # past the end, negative: numpy raises, so does the kernel
        with pytest.raises(BoundsError):
            run_plain(topi.unravel_index(I0, S), [I0, S], [np.array(bad, dtype=dtype), np.array([5, 3, 4, 1])])
    with pytest.raises(DTypeError, match="unravel_index: indices must hold integers"):
        topi.unravel_index(te.placeholder((3,), name="F"), S)


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_take_floats_as_numpy_does(op):
    # numpy: a float is true when nonzero, NaN included; mixed with ints and bools, broadcast.
    a = np.array([[0.0, -0.0, 1.5, np.nan, -np.inf, 0.0]], "float32")
    b = np.array([[0], [3], [-1]], "int16")
    c = rng.random((3, 6)) < 0.5
    A, B, C = (te.placeholder(x.shape, str(x.dtype), name=n) for x, n in ((a, "A"), (b, "B"), (c, "C")))
    fn, ref = getattr(topi, op), getattr(np, op)
    np.testing.assert_array_equal(run_plain(fn(A, B), [A, B], [a, b]), ref(a, b))
    np.testing.assert_array_equal(run_plain(fn(C, A), [C, A], [c, a]), ref(c, a))


def test_take_modes_and_batch_dims_as_tvm():
    # TVM's take: "clip" by default (numpy's mode="clip"), "wrap" (numpy's negative indices),
    # "fast" (used as given: out of range is a BoundsError); batch_dims shares leading axes.
    a = rand(4, 5, 6)
    idx = np.array([[0, -1, 3], [-4, 7, 2]], "int32")
    A, I = te.placeholder(a.shape, name="A"), te.placeholder(idx.shape, "int32", name="I")
    for mode in ("clip", "wrap"):
        np.testing.assert_array_equal(run_plain(topi.take(A, I, 1, mode=mode), [A, I], [a, idx]),
                                      np.take(a, idx, axis=1, mode=mode))
        np.testing.assert_array_equal(run_plain(topi.take(A, I, mode=mode), [A, I], [a, idx]),
                                      np.take(a, idx, mode=mode))
    inside = np.array([[0, 4, 3], [1, 2, 2]], "int32")
    np.testing.assert_array_equal(run_plain(topi.take(A, I, 1, mode="fast"), [A, I], [a, inside]),
                                  np.take(a, inside, axis=1))
    with pytest.raises(BoundsError):
        run_plain(topi.take(A, I, 1, mode="fast"), [A, I], [a, idx])
    b = rng.integers(0, 5, (4, 3)).astype("int32")
    B = te.placeholder(b.shape, "int32", name="B")
    got = run_plain(topi.take(A, B, axis=1, batch_dims=1), [A, B], [a, b])
    np.testing.assert_array_equal(got, np.stack([np.take(a[k], b[k], axis=0) for k in range(4)]))
    with pytest.raises(ExprError, match="take: mode 'raise' is not"):
        topi.take(A, I, 1, mode="raise")
    with pytest.raises(ExprError, match="take: batch_dims=3 must lie in"):
        topi.take(A, I, 1, batch_dims=3)


def test_expand_like_broadcasts_along_the_new_axes():
    import tensorlang as tl
    rng = np.random.default_rng()
    a = rng.standard_normal((3, 4)).astype("float32")
    A, L = te.placeholder((3, 4), name="A"), te.placeholder((3, 5, 4, 2), name="L")
    for axis, view in (([1, 3], a[:, None, :, None]), ([-1, 1], a[:, None, :, None])):
        B = topi.expand_like(A, L, axis)
        b = np.empty((3, 5, 4, 2), "float32")
        tl.build(te.create_schedule(B.op), [A, B])(a, b)
        np.testing.assert_array_equal(b, np.broadcast_to(view, b.shape))
    S = te.placeholder((1,), name="S")
    B = topi.expand_like(S, L, [0, 1, 2, 3])   # a scalar as a 1-element tensor fills the shape
    s, b = rng.standard_normal(1).astype("float32"), np.empty((3, 5, 4, 2), "float32")
    tl.build(te.create_schedule(B.op), [S, B])(s, b)
    np.testing.assert_array_equal(b, np.full(b.shape, s[0]))
    with pytest.raises(ExprError, match="expand_like"):
        topi.expand_like(A, L, [1])
