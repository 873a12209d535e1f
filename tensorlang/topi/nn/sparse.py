"""Sparse times dense matrix products (``sparse_dense``) over CSR and BSR matrices, as TVM's topi
declares them: each output element reduces over the nonzeros of one sparse row, so the reduction's
extent is read from ``indptr`` when the compiled function runs."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.tensor import Tensor
from ..utils import get_const_int


def _check(dense: Tensor, data: Tensor, indices: Tensor, indptr: Tensor) -> None:
    if len(dense.shape) != 2:
        raise ExprError(f"sparse_dense: the dense matrix {dense.name} must be 2-D, got shape {tuple(dense.shape)}")
    if len(data.shape) not in (1, 3):
        raise ExprError(f"sparse_dense: the sparse values {data.name} must be 1-D (CSR) or 3-D (BSR blocks), "
                        f"got shape {tuple(data.shape)}")
    for t in (indices, indptr):
        if len(t.shape) != 1 or not t.dtype.is_int:
            raise DTypeError(f"sparse_dense: {t.name} must be a 1-D integer tensor, got {t.dtype}{tuple(t.shape)}")
    if dense.dtype != data.dtype:
        raise DTypeError(f"sparse_dense: {dense.name} is {dense.dtype} but the sparse values {data.name} are "
                         f"{data.dtype}")


def sparse_dense(dense_data: Tensor, sparse_data: Tensor, sparse_indices: Tensor, sparse_indptr: Tensor,
                 sparse_lhs: bool = False) -> Tensor:
    """``dense_data @ S.T`` (shape (M, N)), or ``S @ dense_data.T`` (shape (N, M)) when
    ``sparse_lhs``, for the sparse matrix S of N rows given in CSR form (values (nnz,), column
    indices (nnz,), row pointers (N + 1,)) or in BSR form (blocks (nblocks, bs_r, bs_c), block
    column indices (nblocks,), block-row pointers (N / bs_r + 1,)).  ``dense_data`` is (M, K)
    with K the columns of S.  An index or pointer outside its tensor is a ``BoundsError`` when
    the compiled function runs."""
    _check(dense_data, sparse_data, sparse_indices, sparse_indptr)
    rows_plus_1 = get_const_int(sparse_indptr.shape[0])
    m = dense_data.shape[0]
    blocked = len(sparse_data.shape) == 3

    if blocked:
        # One stage per (dense row, block row, row in block): its reduction's range depends on the
        # block row only, so the rows of a block can be the innermost (vector) loop.
        nblocks = rows_plus_1 - 1
        bs_r, bs_c = (get_const_int(d) for d in sparse_data.shape[1:])
        n = nblocks * bs_r

        def block_element(i: Any, block_row: Any, r: Any) -> Any:
            start = sparse_indptr[block_row]
            k = te.reduce_axis((0, sparse_indptr[block_row + 1] - start), name="elem_idx")
            c = te.reduce_axis((0, bs_c), name="c")
            block = start + k
            column = sparse_indices[block] * bs_c + c
            return te.sum(sparse_data[block, r, c] * dense_data[i, column], axis=[k, c])

        blocks = te.compute((m, nblocks, bs_r), block_element, name="T_sparse_dense_block",
                            tag=f"sparse_dense_sp_{'lhs' if sparse_lhs else 'rhs'}_bsrmm_block")

        def element(i: Any, row: Any) -> Any:
            return blocks[i, row // bs_r, row % bs_r]
    else:
        n = rows_plus_1 - 1

        def element(i: Any, row: Any) -> Any:
            start = sparse_indptr[row]
            k = te.reduce_axis((0, sparse_indptr[row + 1] - start), name="elem_idx")
            nonzero = start + k
            return te.sum(sparse_data[nonzero] * dense_data[i, sparse_indices[nonzero]], axis=k)

    side = "lhs" if sparse_lhs else "rhs"
    tag = f"sparse_dense_sp_{side}_{'bsrmm' if blocked else 'csrmm'}"
    # Which inputs hold the sparse matrix: auto-scheduling tasks find them here to match TVM's
    # task_inputs names ("sparse_dense_bsr_<N>_<K>_<bs_r>_<bs_c>_<blocks>_<pointers>_W_data" ...).
    attrs = {"sparse_inputs": (dense_data, sparse_data, sparse_indices, sparse_indptr)}
    if sparse_lhs:
        return te.compute((n, m), lambda row, i: element(i, row), name="T_sparse_dense", tag=tag, attrs=attrs)
    return te.compute((m, n), element, name="T_sparse_dense", tag=tag, attrs=attrs)
