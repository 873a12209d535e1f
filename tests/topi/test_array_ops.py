"""sequence_mask, matrix_set_diag (TensorFlow's MatrixSetDiagV3: k bands, the four aligns),
invert_permutation, sparse_to_dense, reinterpret, meshgrid and collapse_sum against numpy references
written here, on fresh random data; each op's bad arguments are named."""

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import rand, rng, run_plain


def _ph(a, name):
    return te.placeholder(a.shape, name=name, dtype=str(a.dtype))


def _data(shape, dtype):
    if dtype.startswith("float"):
        return rand(*shape, dtype=dtype)
    return rng.integers(-50, 50, size=shape).astype(dtype)


# ---- sequence_mask


def _sequence_mask_ref(x, lengths, mask_value, axis):
    masked = np.arange(x.shape[axis])[:, None] >= lengths[None, :].astype(np.int64)  # (MAX_LEN, batch)
    if axis == 1:
        masked = masked.T
    masked = np.broadcast_to(masked.reshape(masked.shape + (1,) * (x.ndim - 2)), x.shape)
    return np.where(masked, np.asarray(mask_value, x.dtype), x)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("dtype, len_dtype, extra", [("float32", "int32", ()), ("int32", "int64", (3, 2))])
def test_sequence_mask_matches_numpy(axis, dtype, len_dtype, extra):
    max_len, batch = 6, 5
    shape = ((max_len, batch) if axis == 0 else (batch, max_len)) + extra
    x = _data(shape, dtype)
    # a zero, a full, an over-long and a negative length, and random ones
    lengths = np.concatenate([[0, max_len, max_len + 3, -1], rng.integers(0, max_len + 1, batch - 4)])
    lengths = rng.permutation(lengths).astype(len_dtype)
    X, L = _ph(x, "X"), _ph(lengths, "L")
    out = topi.sequence_mask(X, L, -7, axis)
    np.testing.assert_array_equal(run_plain(out, [X, L], [x, lengths]), _sequence_mask_ref(x, lengths, -7, axis))


def test_sequence_mask_bad_input_is_named():
    X, L = te.placeholder((4, 3), name="X"), te.placeholder((3,), name="L", dtype="int32")
    with pytest.raises(ExprError, match="sequence_mask: axis must be 0 or 1, got 2"):
        topi.sequence_mask(X, L, axis=2)
    with pytest.raises(ExprError, match=r"sequence_mask: valid_length L2 must have shape \(batch,\) = \(4,\)"):
        topi.sequence_mask(X, te.placeholder((3,), name="L2", dtype="int32"), axis=1)
    with pytest.raises(DTypeError, match="sequence_mask: valid_length F must hold integers"):
        topi.sequence_mask(X, te.placeholder((3,), name="F"))
    with pytest.raises(ExprError, match="sequence_mask: data V must have at least 2 dimensions"):
        topi.sequence_mask(te.placeholder((3,), name="V"), L)


# ---- matrix_set_diag


def _diag_len(d, rows, cols):
    return min(rows + min(0, d), cols - max(0, d))


def _matrix_set_diag_ref(x, diag, k_lo, k_hi, align):
    """TensorFlow's MatrixSetDiagV3, element by element."""
    rows, cols = x.shape[-2:]
    out = x.copy()
    max_len = max(_diag_len(d, rows, cols) for d in range(k_lo, k_hi + 1))
    left_super, left_sub = align.startswith("LEFT"), align.endswith("LEFT")
    for d in range(k_lo, k_hi + 1):
        values = diag if k_lo == k_hi else diag[..., k_hi - d, :]
        length = _diag_len(d, rows, cols)
        left = (d >= 0 and left_super) or (d <= 0 and left_sub)
        offset = 0 if left else max_len - length
        for t in range(length):
            out[..., t + max(0, -d), t + max(0, d)] = values[..., t + offset]
    return out


@pytest.mark.parametrize("shape", [(4, 6), (2, 5, 3), (3, 3)])
@pytest.mark.parametrize("align", ["RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT"])
def test_matrix_set_diag_matches_tensorflow_v3(shape, align):
    rows, cols = shape[-2:]
    x = rand(*shape)
    X = _ph(x, "X")
    # one diagonal (main, super, sub, the corners), bands across, above and below the main diagonal
    cases = [0, 1, -1, cols - 1, -(rows - 1), (-1, 1), (0, 2), (-2, -1), (-(rows - 1), cols - 1), (1, 1), [2]]
    for k in cases:
        k_lo, k_hi = (k[0], k[-1]) if isinstance(k, (tuple, list)) else (k, k)
        if not -rows < k_lo <= k_hi < cols:
            continue
        max_len = max(_diag_len(d, rows, cols) for d in range(k_lo, k_hi + 1))
        dshape = shape[:-2] + ((k_hi - k_lo + 1,) if k_lo != k_hi else ()) + (max_len,)
        diag = rand(*dshape)
        D = _ph(diag, "D")
        out = topi.matrix_set_diag(X, D, k, align)
        got = run_plain(out, [X, D], [x, diag])
        np.testing.assert_array_equal(got, _matrix_set_diag_ref(x, diag, k_lo, k_hi, align), err_msg=f"k={k}")


def test_matrix_set_diag_tensorflow_documented_example():
    # the k = (-1, 2) example of tf.linalg.set_diag, packed both ways
    x = np.full((2, 3, 4), 7, "int32")
    right_left = np.array([[[0, 9, 1], [6, 5, 8], [1, 2, 3], [4, 5, 0]],
                           [[0, 1, 2], [5, 6, 4], [6, 1, 2], [3, 4, 0]]], "int32")
    left_right = np.array([[[9, 1, 0], [6, 5, 8], [1, 2, 3], [0, 4, 5]],
                           [[1, 2, 0], [5, 6, 4], [6, 1, 2], [0, 3, 4]]], "int32")
    expected = np.array([[[1, 6, 9, 7], [4, 2, 5, 1], [7, 5, 3, 8]],
                         [[6, 5, 1, 7], [3, 1, 6, 2], [7, 4, 2, 4]]], "int32")
    X, D = _ph(x, "X"), _ph(right_left, "D")
    for diag, align in ((right_left, "RIGHT_LEFT"), (left_right, "LEFT_RIGHT")):
        out = topi.matrix_set_diag(X, D, (-1, 2), align)
        np.testing.assert_array_equal(run_plain(out, [X, D], [x, diag]), expected)


def test_matrix_set_diag_default_is_the_main_diagonal():
    x, diag = rng.integers(0, 9, (2, 3, 4)).astype("int64"), rng.integers(10, 20, (2, 3)).astype("int64")
    X, D = _ph(x, "X"), _ph(diag, "D")
    ref = x.copy()
    ref[:, np.arange(3), np.arange(3)] = diag
    np.testing.assert_array_equal(run_plain(topi.matrix_set_diag(X, D), [X, D], [x, diag]), ref)


def test_matrix_set_diag_bad_input_is_named():
    X = te.placeholder((3, 4), name="X")
    with pytest.raises(ExprError, match=r"matrix_set_diag: diagonal D must have shape \(2, 3\) for data \(3, 4\) "
                                        r"and k = \(-1, 0\), got \(3,\)"):
        topi.matrix_set_diag(X, te.placeholder((3,), name="D"), (-1, 0))
    with pytest.raises(ExprError, match="matrix_set_diag: align 'RIGHT' is not"):
        topi.matrix_set_diag(X, te.placeholder((3,), name="D"), 0, "RIGHT")
    with pytest.raises(ExprError, match=r"matrix_set_diag: k = \(2, 1\) must satisfy -3 < k_lo <= k_hi < 4"):
        topi.matrix_set_diag(X, te.placeholder((2, 3), name="D"), (2, 1))
    with pytest.raises(ExprError, match=r"matrix_set_diag: k = \(4, 4\) must satisfy"):
        topi.matrix_set_diag(X, te.placeholder((1,), name="D"), 4)
    with pytest.raises(DTypeError, match="matrix_set_diag: diagonal I is int32 but data X is float32"):
        topi.matrix_set_diag(X, te.placeholder((3,), name="I", dtype="int32"))
    with pytest.raises(ExprError, match=r"matrix_set_diag: k must be an int or a pair"):
        topi.matrix_set_diag(X, te.placeholder((3,), name="D"), (0, 1, 2))


# ---- invert_permutation


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
@pytest.mark.parametrize("n", [1, 9, 40])
def test_invert_permutation_matches_numpy(dtype, n):
    perm = rng.permutation(n).astype(dtype)
    P = _ph(perm, "P")
    out = topi.invert_permutation(P)
    assert out.dtype == dtype
    np.testing.assert_array_equal(run_plain(out, [P], [perm]), np.argsort(perm).astype(dtype))


@pytest.mark.parametrize("dtype", ["int32", "uint16"])
def test_invert_permutation_of_a_non_permutation(dtype):
    # documented: the last position holding j wins, -1 (wrapped for unsigned) where none does,
    # values outside [0, n) are ignored
    data = np.array([2, 0, 2, 9, 0, 1], dtype)
    D = _ph(data, "D")
    expected = np.array([4, 5, 2, -1, -1, -1]).astype(dtype)
    np.testing.assert_array_equal(run_plain(topi.invert_permutation(D), [D], [data]), expected)


def test_invert_permutation_bad_input_is_named():
    with pytest.raises(DTypeError, match="invert_permutation: data F must hold integers, got float32"):
        topi.invert_permutation(te.placeholder((4,), name="F"))
    with pytest.raises(ExprError, match=r"invert_permutation: data M must be 1-D, got shape \(2, 2\)"):
        topi.invert_permutation(te.placeholder((2, 2), name="M", dtype="int32"))


# ---- sparse_to_dense


def _sparse_to_dense_ref(indices, shape, values, default):
    out = np.full(shape, default, dtype=values.dtype)
    idx = np.asarray(indices).reshape(-1, len(shape)) if np.ndim(indices) else np.reshape(indices, (1, 1))
    vals = np.broadcast_to(values, (len(idx),))
    for where, v in zip(idx, vals):  # in order: a later listing of an index wins
        if all(0 <= w < s for w, s in zip(where, shape)):
            out[tuple(where)] = v
    return out


@pytest.mark.parametrize("values_0d", [False, True])
@pytest.mark.parametrize("out_shape", [(7,), (3, 4), (2, 3, 4)])
def test_sparse_to_dense_matches_numpy(out_shape, values_0d):
    n = 6
    cols = [rng.integers(0, s, n) for s in out_shape]
    indices = np.stack(cols, axis=1).astype("int64")
    indices[-1] = indices[0]  # a duplicate: the last listing wins
    if len(out_shape) == 1:
        indices = indices[:, 0].astype("int32")
    values = rand() if values_0d else rand(n)
    values = np.asarray(values, "float32")
    default = float(rng.standard_normal())
    I, V = _ph(indices, "I"), _ph(values, "V")
    out = topi.sparse_to_dense(I, out_shape, V, default)
    assert out.dtype == "float32"
    got = run_plain(out, [I, V], [indices, values])
    np.testing.assert_allclose(got, _sparse_to_dense_ref(indices, out_shape, values, default), rtol=0, atol=1e-6)


def test_sparse_to_dense_scalar_index_tensor_default_and_ignored_indices():
    values = rng.integers(1, 100, ()).astype("int32")
    index = np.array(rng.integers(0, 5), "int32")
    default = np.array(-3, "int32")
    I, V, Dv = _ph(index, "I"), _ph(values, "V"), _ph(default, "Dv")
    out = topi.sparse_to_dense(I, [5], V, Dv)
    got = run_plain(out, [I, V, Dv], [index, values, default])
    np.testing.assert_array_equal(got, _sparse_to_dense_ref(index, (5,), values, -3))
    # indices outside the output (negative or too large) set nothing, as in TVM
    indices = np.array([[0, 1], [-1, 0], [2, 5], [1, 2]], "int32")
    vals = np.array([1, 2, 3, 4], "int32")
    I2, V2 = _ph(indices, "I2"), _ph(vals, "V2")
    got = run_plain(topi.sparse_to_dense(I2, (3, 5), V2), [I2, V2], [indices, vals])
    np.testing.assert_array_equal(got, _sparse_to_dense_ref(indices, (3, 5), vals, 0))


def test_sparse_to_dense_bad_input_is_named():
    I, V = te.placeholder((4, 2), name="I", dtype="int32"), te.placeholder((4,), name="V")
    with pytest.raises(ExprError, match=r"sparse_to_dense: output_shape \(5,\) must have 2 dimension\(s\)"):
        topi.sparse_to_dense(I, [5], V)
    with pytest.raises(ExprError, match=r"sparse_to_dense: sparse_values W must be 0-D or have shape \(4,\)"):
        topi.sparse_to_dense(I, [5, 5], te.placeholder((3,), name="W"))
    with pytest.raises(DTypeError, match="sparse_to_dense: sparse_indices F must hold integers"):
        topi.sparse_to_dense(te.placeholder((4,), name="F"), [5], V)
    with pytest.raises(ExprError, match="sparse_to_dense: sparse_indices T must be 0-D, 1-D or 2-D"):
        topi.sparse_to_dense(te.placeholder((4, 2, 1), name="T", dtype="int32"), [5, 5], V)
    with pytest.raises(ExprError, match="sparse_to_dense: default_value Dv must hold one value"):
        topi.sparse_to_dense(I, [5, 5], V, te.placeholder((2,), name="Dv"))


# ---- reinterpret


@pytest.mark.parametrize("src, dst", [("float32", "int32"), ("int32", "float32"), ("float64", "uint64"),
                                      ("float16", "int16"), ("int8", "uint8")])
def test_reinterpret_matches_numpy_view(src, dst):
    x = (rand(3, 5) * 100).astype(src)
    X = _ph(x, "X")
    out = topi.reinterpret(X, dst)
    assert out.dtype == dst
    got = run_plain(out, [X], [x])
    np.testing.assert_array_equal(got.view(src), x)  # bit-exact, NaN patterns included


def test_reinterpret_bad_input_is_named():
    X = te.placeholder((3,), name="X")
    with pytest.raises(DTypeError, match=r"reinterpret: cannot reinterpret X of float32 \(32 bits\) as int64 "
                                         r"\(64 bits\)"):
        topi.reinterpret(X, "int64")
    with pytest.raises(DTypeError, match="reinterpret: unknown dtype 'word'"):
        topi.reinterpret(X, "word")


# ---- meshgrid


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("lengths", [(5,), (3, 4), (2, 0, 4), (3, None, 2, 1)])
def test_meshgrid_matches_numpy(indexing, lengths):
    arrays = [rand(n) if n is not None else np.asarray(rand(), "float32") for n in lengths]
    arrays = [a.astype("int32") if m == 1 else a for m, a in enumerate(arrays)]  # dtypes may differ
    tensors = [_ph(a, f"A{m}") for m, a in enumerate(arrays)]
    outs = topi.meshgrid(tensors, indexing)
    refs = np.meshgrid(*arrays, indexing=indexing)
    assert len(outs) == len(refs)
    if 0 in lengths:  # empty grids: only the shapes to check
        assert all(tuple(int(d) for d in o.shape) == r.shape for o, r in zip(outs, refs))
        return
    got = run_plain(outs, tensors, arrays)
    got = got if isinstance(got, list) else [got]
    for g, r, o in zip(got, refs, outs):
        assert o.dtype == r.dtype
        np.testing.assert_array_equal(g, r)


def test_meshgrid_bad_input_is_named():
    A = te.placeholder((3,), name="A")
    with pytest.raises(ExprError, match="meshgrid: indexing 'ji' is not 'ij' or 'xy'"):
        topi.meshgrid([A, A], "ji")
    with pytest.raises(ExprError, match=r"meshgrid: M must be 0-D or 1-D, got shape \(2, 2\)"):
        topi.meshgrid([A, te.placeholder((2, 2), name="M")], "ij")
    with pytest.raises(ExprError, match="meshgrid: needs at least one tensor"):
        topi.meshgrid([], "ij")


# ---- collapse_sum


def _collapse_sum_ref(x, target):
    lead = x.ndim - len(target)
    out = x.astype(np.float64).sum(axis=tuple(range(lead)))
    axes = tuple(k for k, t in enumerate(target) if t == 1 and out.shape[k] != 1)
    return out.sum(axis=axes, keepdims=True).reshape(target)


@pytest.mark.parametrize("shape, target", [((2, 3, 4), (3, 1)), ((2, 3, 4), (4,)), ((2, 3, 4), (2, 3, 4)),
                                           ((2, 3, 4), (1, 1, 1)), ((2, 3, 4), ()), ((5, 1, 3), (1, 1, 3)),
                                           ((4, 1, 6), (2, 1, 4, 1, 6)[2:]), ((3, 2), (1, 2))])
def test_collapse_sum_matches_numpy(shape, target):
    x = rand(*shape)
    X = _ph(x, "X")
    out = topi.collapse_sum(X, target)
    assert tuple(int(d) for d in out.shape) == target
    got = run_plain(out, [X], [x])
    np.testing.assert_allclose(got, _collapse_sum_ref(x, target), rtol=1e-5, atol=1e-5)


def test_collapse_sum_bad_input_is_named():
    X = te.placeholder((2, 3, 4), name="X")
    with pytest.raises(ExprError, match=r"collapse_sum: target_shape \(3, 2\) does not broadcast to the shape "
                                        r"\(2, 3, 4\) of X"):
        topi.collapse_sum(X, (3, 2))
    with pytest.raises(ExprError, match=r"collapse_sum: target_shape \(1, 2, 3, 4\) does not broadcast"):
        topi.collapse_sum(X, (1, 2, 3, 4))
