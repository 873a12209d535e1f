"""topi's einsum and matmul (tensorlang.topi.einsum) and arange, reverse_sequence and the scatters
(tensorlang.topi.index_ops), built with a plain schedule and checked against numpy on fresh random data;
bad arguments raise a tensorlang error that names the operator and the argument."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te
from tensorlang.errors import DTypeError, ExprError
from tensorlang.topi.einsum import einsum, matmul
from tensorlang.topi.index_ops import arange, reverse_sequence, scatter, scatter_elements, scatter_nd
from tensorlang.topi.utils import get_const_tuple
from tests.topi.runner import rand, run_plain

rng = np.random.default_rng()


# --- matmul -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("transp_a", [False, True])
@pytest.mark.parametrize("transp_b", [False, True])
def test_matmul_with_transposes(transp_a, transp_b):
    m, k, n = rng.integers(1, 9, 3)
    a, b = rand(m, k), rand(k, n)
    a_in, b_in = (a.T.copy() if transp_a else a), (b.T.copy() if transp_b else b)
    A, B = te.placeholder(a_in.shape, name="A"), te.placeholder(b_in.shape, name="B")
    out = matmul(A, B, transp_a, transp_b)
    assert out.op.name == "T_matmul" and out.op.tag == "matmul"
    np.testing.assert_allclose(run_plain(out, [A, B], [a_in, b_in]), a @ b, rtol=1e-5, atol=1e-5)


def test_matmul_rejects_bad_operands():
    A, B, C = te.placeholder((3, 4), name="A"), te.placeholder((5, 2), name="B"), te.placeholder((2, 3, 4), name="C")
    with pytest.raises(ExprError, match="matmul: a has 4 columns .* b has 5 rows"):
        matmul(A, B)
    with pytest.raises(ExprError, match="matmul: b must be 2-D, got 3-D"):
        matmul(A, C)
    with pytest.raises(ExprError, match="matmul: a must be a tensor"):
        matmul(np.zeros((3, 4)), B)


# --- einsum -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("subscripts,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(2, 3), (3, 4)]),                      # implicit output
    ("ij,jk", [(2, 1), (3, 4)]),                      # a size-1 index broadcasts across operands, as in numpy
    ("ij->ji", [(3, 5)]),
    ("bA", [(2, 3)]),                                  # implicit output in ASCII order: "Ab"
    ("ii->i", [(4, 4)]),                               # diagonal
    ("ii", [(5, 5)]),                                  # trace, a 0-d result
    ("iij->j", [(3, 3, 2)]),
    ("ij->", [(2, 3)]),
    ("i,i", [(6,), (6,)]),
    ("i,j->ij", [(2,), (3,)]),
    (",i", [(), (3,)]),                                # a 0-d operand
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("abc,cd,a->bd", [(2, 3, 4), (4, 3), (2,)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),  # broadcasting batch dimensions
    ("...ii->...i", [(2, 3, 3)]),
    ("i...->...", [(2, 3, 4)]),
    ("...i,...i", [(2, 1, 3), (4, 3)]),                # implicit: the '...' dimensions come first
    ("i...", [(2, 3)]),
    ("...i->i", [(3,)]),                               # an ellipsis over no dimensions
])
def test_einsum_matches_numpy(subscripts, shapes):
    arrays = [rand(*s) for s in shapes]
    tensors = [te.placeholder(s, name=f"X{n}") for n, s in enumerate(shapes)]
    out = einsum(subscripts, *tensors)
    ref = np.einsum(subscripts, *arrays)
    assert out.op.name == "T_einsum" and out.op.tag == "einsum"
    assert get_const_tuple(out.shape) == ref.shape
    np.testing.assert_allclose(run_plain(out, tensors, arrays), ref, rtol=1e-4, atol=1e-5)


def test_einsum_accepts_a_list_of_operands_and_integer_tensors():
    a, b = rng.integers(-9, 9, (3, 4)).astype("int32"), rng.integers(-9, 9, (4,)).astype("int32")
    A, B = te.placeholder(a.shape, "int32", name="A"), te.placeholder(b.shape, "int32", name="B")
    out = einsum("ij,j->i", [A, B])
    assert out.dtype == "int32"
    np.testing.assert_array_equal(run_plain(out, [A, B], [a, b]), np.einsum("ij,j->i", a, b))


@pytest.mark.parametrize("subscripts,shapes,match", [
    ("ij,jk->ik", [(3, 4)], r"einsum: subscripts 'ij,jk->ik' name 2 operand\(s\) but 1"),
    ("ij->i->j", [(3, 4)], "einsum: subscripts .* at most one '->'"),
    ("i2->i", [(3, 4)], "einsum: subscripts may only hold letters"),
    ("ij", [(3, 4, 5)], "einsum: subscripts term 'ij' has 2 index.* operand 0 of 3 dimension"),
    ("ijk", [(3, 4)], "einsum: subscripts term 'ijk' has 3 index.* operand 0 of 2 dimension"),
    ("ij,jk", [(3, 4), (5, 6)], "einsum: index 'j' has size 4 in one operand and 5 in operand 1"),
    ("ii->i", [(3, 4)], "einsum: index 'i' repeats in operand 0 over dimensions of different sizes"),
    ("ij->ii", [(3, 3)], "einsum: output subscripts 'ii' repeat index 'i'"),
    ("ij->iz", [(3, 3)], "einsum: output index 'z' does not appear"),
    ("...ij->ij", [(2, 3, 4)], "einsum: the inputs' '...' covers 1 dimension.* output subscripts 'ij'"),
    ("......i->i", [(2, 3, 4)], "einsum: subscripts term .* more than one ellipsis"),
    ("...i,...i", [(2, 3), (4, 3)], r"einsum: the dimensions covered by '...' do not broadcast \(2 against 4\)"),
])
def test_einsum_rejects_bad_subscripts(subscripts, shapes, match):
    tensors = [te.placeholder(s, name=f"X{n}") for n, s in enumerate(shapes)]
    with pytest.raises(ExprError, match=match):
        einsum(subscripts, *tensors)


def test_einsum_rejects_bad_operands():
    with pytest.raises(ExprError, match="einsum: needs at least one operand"):
        einsum("ij")
    with pytest.raises(ExprError, match="einsum: operand 1 must be a tensor"):
        einsum("i,i", te.placeholder((3,), name="A"), np.zeros(3))
    with pytest.raises(ExprError, match="einsum: subscripts must be a string"):
        einsum(3, te.placeholder((3,), name="A"))


# --- arange -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(7,), (2, 9), (1, 10, 3), (0.5, 3.2, 0.3), (5, -2, -1), (3.0, -1.5, -0.7),
                                  (4, 1), (-3, 3, 2.5)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_arange_matches_numpy(args, dtype):
    out = arange(*args, dtype=dtype)
    ref = np.arange(*args, dtype=dtype)
    assert out.dtype == dtype and get_const_tuple(out.shape) == ref.shape
    np.testing.assert_allclose(run_plain(out, [], []), ref, rtol=1e-6, atol=1e-6)


def test_arange_accepts_constant_expressions_and_random_ranges():
    start, stop = sorted(rng.uniform(-20, 20, 2))
    step = rng.uniform(0.1, 3)
    np.testing.assert_allclose(run_plain(arange(start, stop, step, "float64"), [], []), np.arange(start, stop, step))
    out = arange(te.const(2), te.const(11), te.const(3), dtype="int32")
    np.testing.assert_array_equal(run_plain(out, [], []), np.arange(2, 11, 3, dtype="int32"))


def test_arange_rejects_bad_arguments():
    with pytest.raises(ExprError, match="arange: step must not be zero"):
        arange(0, 5, 0)
    with pytest.raises(ExprError, match="arange: stop must be a constant number"):
        arange(0, te.var("n"))
    with pytest.raises(ExprError, match="arange: start must be a number"):
        arange(True, 5)
    with pytest.raises(DTypeError, match="arange: dtype 'float13'"):
        arange(5, dtype="float13")
    with pytest.raises(DTypeError, match="arange: dtype must be a scalar integer or float type"):
        arange(2, dtype="bool")


# --- reverse_sequence ---------------------------------------------------------------------------------------

def _reverse_sequence_ref(a, lengths, seq_axis, batch_axis):
    out = a.copy()
    n = a.shape[seq_axis]
    for b, length in enumerate(lengths):
        length = min(int(length), n)
        if length <= 1:
            continue
        src = [slice(None)] * a.ndim
        src[batch_axis], src[seq_axis] = b, slice(0, length)
        dst = list(src)
        dst[seq_axis] = slice(length - 1, None, -1) if length < n else slice(None, None, -1)
        out[tuple(src)] = a[tuple(dst)]
    return out


@pytest.mark.parametrize("shape,seq_axis,batch_axis", [((4, 6), 1, 0), ((6, 4), 0, 1), ((3, 2, 5), 2, 0),
                                                       ((3, 5, 2), -2, -1), ((2, 3, 4, 5), 1, 3)])
@pytest.mark.parametrize("ldtype", ["int32", "int64"])
def test_reverse_sequence_matches_numpy(shape, seq_axis, batch_axis, ldtype):
    a = rand(*shape)
    nb, n = shape[batch_axis], shape[seq_axis]
    lengths = rng.integers(-1, n + 3, nb).astype(ldtype)  # none, all, and past the end (clipped)
    lengths[0] = n + 2
    A, L = te.placeholder(shape, name="A"), te.placeholder((nb,), ldtype, name="L")
    out = reverse_sequence(A, L, seq_axis, batch_axis)
    assert out.op.name == "T_reverse_sequence" and out.op.tag == "injective"
    np.testing.assert_array_equal(run_plain(out, [A, L], [a, lengths]),
                                  _reverse_sequence_ref(a, lengths, seq_axis % len(shape), batch_axis % len(shape)))


def test_reverse_sequence_rejects_bad_arguments():
    A = te.placeholder((3, 4, 5), name="A")
    L = te.placeholder((3,), "int32", name="L")
    with pytest.raises(ExprError, match="reverse_sequence: seq_axis and batch_axis are both axis 0"):
        reverse_sequence(A, L, 0, 0)
    with pytest.raises(ExprError, match="reverse_sequence: seq_axis 3 is out of range"):
        reverse_sequence(A, L, 3, 0)
    with pytest.raises(ExprError, match="reverse_sequence: batch_axis -4 is out of range"):
        reverse_sequence(A, L, 1, -4)
    with pytest.raises(ExprError, match="reverse_sequence: seq_lengths has 3 entries but the batch axis 1 has 4"):
        reverse_sequence(A, L, 0, 1)
    with pytest.raises(ExprError, match="reverse_sequence: seq_lengths must be a 1-D tensor"):
        reverse_sequence(A, te.placeholder((3, 1), "int32", name="L2"))
    with pytest.raises(DTypeError, match="reverse_sequence: seq_lengths must hold integers, got float32"):
        reverse_sequence(A, te.placeholder((3,), name="Lf"))


# --- scatter_elements / scatter ----------------------------------------------------------------------------

_UFUNCS = {"update": lambda old, new: new, "add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}


def _scatter_elements_ref(data, indices, updates, axis, reduction):
    """Row-major over the updates, as the kernel applies them; negative indices count from the end."""
    out = data.copy()
    for pos in np.ndindex(indices.shape):
        where = list(pos)
        where[axis] = int(indices[pos]) % data.shape[axis]
        out[tuple(where)] = _UFUNCS[reduction](out[tuple(where)], updates[pos])
    return out


def _distinct_indices(data_shape, index_shape, axis, dtype):
    """Indices along ``axis`` that never repeat within a fiber (so "update" has one answer), half negative."""
    n = data_shape[axis]
    keys = rng.random(index_shape[:axis] + (n,) + index_shape[axis + 1:])
    picked = np.argsort(keys, axis=axis).take(range(index_shape[axis]), axis=axis)
    return np.where(rng.random(picked.shape) < 0.5, picked - n, picked).astype(dtype)


@pytest.mark.parametrize("data_shape,index_shape,axis", [((7,), (4,), 0), ((4, 5), (4, 5), 0), ((4, 5), (3, 5), 1),
                                                         ((3, 4, 5), (2, 4, 3), -1), ((3, 4, 5), (3, 2, 5), 1)])
@pytest.mark.parametrize("idtype", ["int32", "int64"])
def test_scatter_elements_update_matches_numpy(data_shape, index_shape, axis, idtype):
    ax = axis % len(data_shape)
    data, updates = rand(*data_shape), rand(*index_shape)
    indices = _distinct_indices(data_shape, index_shape, ax, idtype)
    D, I, U = (te.placeholder(data_shape, name="D"), te.placeholder(index_shape, idtype, name="I"),
               te.placeholder(index_shape, name="U"))
    out = scatter_elements(D, I, U, axis)
    got = run_plain(out, [D, I, U], [data, indices, updates])
    np.testing.assert_array_equal(got, _scatter_elements_ref(data, indices, updates, ax, "update"))
    np.testing.assert_array_equal(run_plain(scatter(D, I, U, axis), [D, I, U], [data, indices, updates]), got)
    if index_shape == data_shape:  # numpy's own answer where it takes full-size indices
        ref = data.copy()
        np.put_along_axis(ref, indices % data_shape[ax], updates, ax)
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("reduction", ["update", "add", "mul", "min", "max"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_scatter_elements_reductions_with_repeated_indices(reduction, axis):
    shape = (4, 3, 5)
    ax = axis % 3
    data = rand(*shape, dtype="float64")
    index_shape = tuple(d + 2 if k == ax else d for k, d in enumerate(shape))  # more updates than slots
    indices = rng.integers(-shape[ax], shape[ax], index_shape).astype("int32")
    updates = rand(*index_shape, dtype="float64")
    D, I, U = (te.placeholder(shape, "float64", name="D"), te.placeholder(index_shape, "int32", name="I"),
               te.placeholder(index_shape, "float64", name="U"))
    got = run_plain(scatter_elements(D, I, U, axis, reduction), [D, I, U], [data, indices, updates])
    np.testing.assert_allclose(got, _scatter_elements_ref(data, indices, updates, ax, reduction), rtol=1e-12)


def test_scatter_elements_integer_data_and_out_of_range_indices_are_skipped():
    data = rng.integers(-50, 50, (3, 4)).astype("int32")
    updates = rng.integers(-50, 50, (3, 4)).astype("int32")
    indices = np.array([[0, 5, -1, -4], [7, 2, 1, -5], [3, 0, 2, 1]], "int64")  # 5, 7, -5 fall outside
    D, I, U = te.placeholder((3, 4), "int32", name="D"), te.placeholder((3, 4), "int64", name="I"), \
        te.placeholder((3, 4), "int32", name="U")
    got = run_plain(scatter_elements(D, I, U, 1, "add"), [D, I, U], [data, indices, updates])
    keep = (indices >= -4) & (indices < 4)
    ref = data.copy()
    rows = np.broadcast_to(np.arange(3)[:, None], (3, 4))
    np.add.at(ref, (rows[keep], indices[keep] % 4), updates[keep])
    np.testing.assert_array_equal(got, ref)


def test_scatter_elements_rejects_bad_arguments():
    D = te.placeholder((3, 4), name="D")
    I = te.placeholder((3, 4), "int32", name="I")
    U = te.placeholder((3, 4), name="U")
    with pytest.raises(ExprError, match="scatter_elements: reduction 'mean' is not one of"):
        scatter_elements(D, I, U, 0, "mean")
    with pytest.raises(ExprError, match="scatter_elements: axis 2 is out of range"):
        scatter_elements(D, I, U, 2)
    with pytest.raises(DTypeError, match="scatter_elements: indices must hold integers, got float32"):
        scatter_elements(D, U, U)
    with pytest.raises(DTypeError, match="scatter_elements: updates has dtype float64 but data has float32"):
        scatter_elements(D, I, te.placeholder((3, 4), "float64", name="U64"))
    with pytest.raises(ExprError, match=r"scatter_elements: updates has shape \(3, 2\) but indices has shape"):
        scatter_elements(D, I, te.placeholder((3, 2), name="U2"))
    with pytest.raises(ExprError, match="scatter_elements: indices has 1 dimension"):
        scatter_elements(D, te.placeholder((3,), "int32", name="I1"), te.placeholder((3,), name="U1"))
    with pytest.raises(ExprError, match="scatter_elements: indices dimension 1 has size 6, more than data's 4"):
        scatter_elements(D, te.placeholder((2, 6), "int32", name="I6"), te.placeholder((2, 6), name="U6"))
    with pytest.raises(ExprError, match="scatter_elements: data must be a tensor"):
        scatter(np.zeros((3, 4)), I, U)


# --- scatter_nd ---------------------------------------------------------------------------------------------

def _scatter_nd_ref(data, indices, updates, mode):
    out = data.copy()
    m = indices.shape[0]
    for y in np.ndindex(indices.shape[1:]):
        where = tuple(int(indices[(k,) + y]) % data.shape[k] for k in range(m))
        out[where] = _UFUNCS[mode](out[where], updates[y])
    return out


@pytest.mark.parametrize("data_shape,index_shape", [((5,), (1, 3)), ((4, 5), (1, 2, 2)), ((4, 5, 3), (2, 6)),
                                                    ((4, 5, 3), (3, 2, 2)), ((6, 2), (2,))])
@pytest.mark.parametrize("mode", ["update", "add", "mul", "min", "max"])
def test_scatter_nd_matches_numpy(data_shape, index_shape, mode):
    m = index_shape[0]
    ys = index_shape[1:]
    upd_shape = ys + data_shape[m:]
    data, updates = rand(*data_shape), rand(*upd_shape)
    count = int(np.prod(ys, dtype=int))
    if mode == "update":  # distinct positions, so the answer does not depend on the order of the writes
        flat = rng.choice(int(np.prod(data_shape[:m])), count, replace=False)
        picked = np.stack(np.unravel_index(flat, data_shape[:m])).reshape(index_shape)
    else:
        picked = np.stack([rng.integers(0, data_shape[k], ys) for k in range(m)]).reshape(index_shape)
    indices = np.where(rng.random(index_shape) < 0.5, picked - np.array(data_shape[:m]).reshape(
        (m,) + (1,) * len(ys)), picked).astype("int32")
    D, I, U = (te.placeholder(data_shape, name="D"), te.placeholder(index_shape, "int32", name="I"),
               te.placeholder(upd_shape, name="U"))
    out = scatter_nd(D, I, U, mode)
    assert out.dtype == "float32" and get_const_tuple(out.shape) == data_shape
    got = run_plain(out, [D, I, U], [data, indices, updates])
    ref = _scatter_nd_ref(data, indices, updates, mode)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    if mode == "update":
        direct = data.copy()
        direct[tuple(indices)] = updates
        np.testing.assert_array_equal(got, direct)


def test_scatter_nd_rejects_bad_arguments():
    D = te.placeholder((4, 5, 3), name="D")
    I = te.placeholder((2, 6), "int32", name="I")
    U = te.placeholder((6, 3), name="U")
    with pytest.raises(ExprError, match="scatter_nd: mode 'sub' is not one of"):
        scatter_nd(D, I, U, "sub")
    with pytest.raises(ExprError, match=r"scatter_nd: updates has shape \(6, 4\) but .* need \(6, 3\)"):
        scatter_nd(D, I, te.placeholder((6, 4), name="U4"))
    with pytest.raises(ExprError, match=r"scatter_nd: indices.shape\[0\] = 4 must be a constant in 1..3"):
        scatter_nd(D, te.placeholder((4, 6), "int32", name="I4"), U)
    with pytest.raises(DTypeError, match="scatter_nd: indices must hold integers, got float32"):
        scatter_nd(D, te.placeholder((2, 6), name="If"), U)
    with pytest.raises(DTypeError, match="scatter_nd: updates has dtype int32 but data has float32"):
        scatter_nd(D, I, te.placeholder((6, 3), "int32", name="Ui"))
    with pytest.raises(ExprError, match="scatter_nd: indices must have at least one dimension"):
        scatter_nd(D, te.placeholder((), "int32", name="I0"), U)
