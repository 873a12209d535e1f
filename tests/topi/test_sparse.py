"""topi.nn.sparse_dense over CSR and BSR matrices, sparse on either side, against numpy on
fresh random sparse matrices (scipy's arrays); a bad pointer is a BoundsError, and a schedule
that moves a reduction of data-dependent length outside the loop its length depends on is
refused."""

import numpy as np
import pytest
import scipy.sparse

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import BoundsError, DTypeError, ExprError, ScheduleError

from .runner import rand, rng, run_plain


def _sparse(n, k, fmt, block, density=0.35):
    mask = rng.random((n // block[0], k // block[1])) < density
    mask[0] = False  # an empty (block) row
    dense = np.kron(mask, np.ones(block)) * rng.standard_normal((n, k))
    m = scipy.sparse.csr_matrix(dense.astype("float32"))
    return m if fmt == "csr" else m.tobsr(blocksize=block)


def _placeholders(w, x_shape, index_dtype):
    X = te.placeholder(x_shape, name="X")
    V = te.placeholder(w.data.shape, name="V")
    idx = te.placeholder(w.indices.shape, index_dtype, name="idx")
    ptr = te.placeholder(w.indptr.shape, index_dtype, name="ptr")
    return X, V, idx, ptr


@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
@pytest.mark.parametrize("sparse_lhs", [False, True])
@pytest.mark.parametrize("fmt,block", [("csr", (1, 1)), ("bsr", (4, 2)), ("bsr", (8, 1))])
def test_sparse_dense_matches_numpy(fmt, block, sparse_lhs, index_dtype):
    m, n, k = 5, 24, 16
    w = _sparse(n, k, fmt, block)
    x = rand(m, k)
    X, V, idx, ptr = _placeholders(w, (m, k), index_dtype)
    out = topi.nn.sparse_dense(X, V, idx, ptr, sparse_lhs=sparse_lhs)
    assert tuple(int(d) for d in out.shape) == ((n, m) if sparse_lhs else (m, n))
    got = run_plain(out, [X, V, idx, ptr], [x, w.data, w.indices.astype(index_dtype), w.indptr.astype(index_dtype)])
    want = (w @ x.T) if sparse_lhs else x @ w.T.toarray()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_pointer_past_the_values_is_a_bounds_error():
    w = _sparse(8, 8, "csr", (1, 1), density=0.5)
    X, V, idx, ptr = _placeholders(w, (3, 8), "int32")
    out = topi.nn.sparse_dense(X, V, idx, ptr)
    f = tl.build(te.create_schedule(out.op), [X, V, idx, ptr, out])
    bad = w.indptr.astype("int32").copy()
    bad[-1] += 3
    with pytest.raises(BoundsError):
        f(rand(3, 8), w.data, w.indices.astype("int32"), bad, np.empty((3, 8), "float32"))


def test_bad_arguments_name_the_tensor():
    X = te.placeholder((4, 8), name="X")
    V = te.placeholder((10,), name="V")
    idx = te.placeholder((10,), "int32", name="idx")
    ptr = te.placeholder((5,), "int32", name="ptr")
    with pytest.raises(DTypeError, match="idx must be a 1-D integer tensor"):
        topi.nn.sparse_dense(X, V, te.placeholder((10,), "float32", name="idx"), ptr)
    with pytest.raises(ExprError, match="V must be 1-D .CSR. or 3-D"):
        topi.nn.sparse_dense(X, te.placeholder((10, 2), name="V"), idx, ptr)
    with pytest.raises(DTypeError, match="X is float32 but the sparse values V are float64"):
        topi.nn.sparse_dense(X, te.placeholder((10,), "float64", name="V"), idx, ptr)


def test_reordering_a_data_dependent_reduction_outside_its_row_is_refused():
    w = _sparse(8, 8, "csr", (1, 1))
    X, V, idx, ptr = _placeholders(w, (3, 8), "int32")
    out = topi.nn.sparse_dense(X, V, idx, ptr)
    s = te.create_schedule(out.op)
    i, row = out.op.axis
    (k,) = out.op.reduce_axis
    with pytest.raises(ScheduleError, match="range of reduction axis elem_idx .* depends on row"):
        s[out].reorder(i, k, row)
    ro, ri = s[out].split(row, factor=2)
    with pytest.raises(ScheduleError, match="put loop elem_idx outside loop row.inner"):
        s[out].reorder(i, ro, k, ri)
    s[out].reorder(ro, i)  # legal: the reduction stays innermost
    x = rand(3, 8)
    res = np.empty((3, 8), "float32")
    tl.build(s, [X, V, idx, ptr, out])(x, w.data, w.indices.astype("int32"), w.indptr.astype("int32"), res)
    np.testing.assert_allclose(res, x @ w.T.toarray(), rtol=1e-5, atol=1e-5)
