"""topi.sparse.utils.random_bsr_matrix as tune_sparse_x86 uses it, feeding topi.nn.sparse_dense
(checked against numpy), and the tutorial's auto_scheduler._ffi_api import."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.topi.sparse.utils import random_bsr_matrix


def test_random_bsr_matrix_shapes_and_seed() -> None:
    np.random.seed(7)
    w = random_bsr_matrix(32, 64, 4, 8, 0.1, "float32")
    blocks = int(0.1 * 32 * 64 / 32) + 1
    assert w.data.shape == (blocks, 4, 8) and w.indices.shape == (blocks,) and w.indptr.shape == (32 // 4 + 1,)
    assert w.dtype == np.float32 and w.blocksize == (4, 8)
    np.random.seed(7)
    again = random_bsr_matrix(32, 64, 4, 8, 0.1, "float32")
    np.testing.assert_array_equal(w.toarray(), again.toarray())
    full = random_bsr_matrix(8, 8, 4, 4, 1.0)
    assert full.data.shape == (4, 4, 4)  # never more blocks than there are
    with pytest.raises(tvm.TVMError, match="must tile"):
        random_bsr_matrix(30, 64, 4, 8, 0.1)
    with pytest.raises(tvm.TVMError, match="density"):
        random_bsr_matrix(32, 64, 4, 8, 1.5)


def test_sparse_dense_on_a_random_bsr_weight() -> None:
    M, N, K = 16, 32, 48
    w = tvm.topi.sparse.utils.random_bsr_matrix(N, K, 4, 8, 0.2, "float32")
    X = te.placeholder((M, K), name="X")
    data = te.placeholder(w.data.shape, name="W_data")
    indices = te.placeholder(w.indices.shape, "int32", name="W_indices")
    indptr = te.placeholder(w.indptr.shape, "int32", name="W_indptr")
    out = topi.nn.sparse_dense(X, data, indices, indptr)
    f = tvm.build(te.create_schedule(out.op), [X, data, indices, indptr, out], "llvm")
    x = np.random.default_rng().standard_normal((M, K)).astype(np.float32)
    y = np.empty((M, N), np.float32)
    f(x, w.data, w.indices.astype(np.int32), w.indptr.astype(np.int32), y)
    np.testing.assert_allclose(y, x @ w.toarray().T, rtol=1e-4, atol=1e-4)


def test_ffi_api_imports_and_names_itself() -> None:
    from tensorlang.autoschedule import _ffi_api

    with pytest.raises(tvm.TVMError, match="SearchPolicyUtilsHasCacheReadStage: tensorlang does not provide"):
        _ffi_api.SearchPolicyUtilsHasCacheReadStage(None, 0)
