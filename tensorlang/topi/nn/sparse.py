"""Sparse times dense matrix products (``sparse_dense``) over CSR and BSR matrices, as TVM's topi
declares them: each output element reduces over the nonzeros of one sparse row, so the reduction's
extent is read from ``indptr`` when the compiled function runs.  ``sparse_add`` (dense plus CSR)
reduces the same way; ``sparse_transpose`` (CSR) scatters, so it is a ``te.extern`` stage calling
numpy through a packed function, CPU only, as ``topi.sort`` is."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import te
from ...errors import ArgumentError, DTypeError, ExprError
from ...runtime.ndarray import NDArray
from ...runtime.packed import register_func
from ...te.tensor import Tensor
from ..utils import check_cpu_target, check_tensors, get_const_int, static_dim


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
    check_tensors("sparse_dense", dense_data=dense_data, sparse_data=sparse_data, sparse_indices=sparse_indices,
                  sparse_indptr=sparse_indptr)
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



def _check_csr(what: str, data: Tensor, indices: Tensor, indptr: Tensor) -> None:
    check_tensors(what, sparse_data=data, sparse_indices=indices, sparse_indptr=indptr)
    if len(data.shape) != 1:
        raise ExprError(f"{what}: the sparse values {data.name} must be 1-D (CSR; BSR is not supported), "
                        f"got shape {tuple(data.shape)}")
    for t in (indices, indptr):
        if len(t.shape) != 1 or not t.dtype.is_int:
            raise DTypeError(f"{what}: {t.name} must be a 1-D integer tensor, got {t.dtype}{tuple(t.shape)}")
    nnz, n_idx = static_dim(data.shape[0]), static_dim(indices.shape[0])
    if nnz is not None and n_idx is not None and nnz != n_idx:
        raise ExprError(f"{what}: {data.name} has {nnz} values but {indices.name} has {n_idx} column indices")
    if static_dim(indptr.shape[0]) is None or static_dim(indptr.shape[0]) < 1:
        raise ExprError(f"{what}: the row pointers {indptr.name} need a constant length (rows + 1), "
                        f"got shape {tuple(indptr.shape)}")


def sparse_add(dense_data: Tensor, sparse_data: Tensor, sparse_indices: Tensor, sparse_indptr: Tensor) -> Tensor:
    """``dense_data`` (M, N) plus the CSR matrix of M rows given by its values, column indices and
    row pointers (M + 1,); repeated column indices in a row all add.  Each output element sums its
    row's nonzeros that fall in its column, so a column index outside [0, N) adds to nothing."""
    what = "sparse_add"
    check_tensors(what, dense_data=dense_data)
    _check_csr(what, sparse_data, sparse_indices, sparse_indptr)
    if len(dense_data.shape) != 2:
        raise ExprError(f"{what}: the dense matrix {dense_data.name} must be 2-D, got shape {tuple(dense_data.shape)}")
    if dense_data.dtype != sparse_data.dtype:
        raise DTypeError(f"{what}: {dense_data.name} is {dense_data.dtype} but the sparse values {sparse_data.name} "
                         f"are {sparse_data.dtype}")
    rows = get_const_int(sparse_indptr.shape[0]) - 1
    m = static_dim(dense_data.shape[0])
    if m is not None and m != rows:
        raise ExprError(f"{what}: {sparse_indptr.name} has {rows + 1} row pointers, but {dense_data.name} has {m} rows "
                        f"(it needs rows + 1)")

    def nonzeros(i: Any, j: Any) -> Any:
        start = sparse_indptr[i]
        k = te.reduce_axis((0, sparse_indptr[i + 1] - start), name="elem_idx")
        hit = sparse_indices[start + k] == j.astype(sparse_indices.dtype)
        return te.sum(te.if_then_else(hit, sparse_data[start + k], te.const(0, sparse_data.dtype)), axis=k)
    # a reduction is a stage's whole body, so the sum of the row's nonzeros is a stage of its own
    sparse = te.compute(dense_data.shape, nonzeros, name="T_sparse_add_nonzeros", tag="sparse_add_csr_nonzeros")
    return te.compute(dense_data.shape, lambda i, j: dense_data[i, j] + sparse[i, j], name="T_sparse_add",
                      tag="sparse_add_csr")


# -- sparse_transpose: a data-dependent scatter, done by numpy in a packed function ---------------

_TRANSPOSE = "tensorlang.topi.nn.sparse_transpose"


def _transpose_packed(data: NDArray, indices: NDArray, indptr: NDArray, values: NDArray, rows: NDArray,
                      pointers: NDArray) -> None:
    """The transposed values, row indices and row pointers of a square CSR matrix, all at once."""
    x, cols, ptr = data.numpy(), indices.numpy().astype(np.int64), indptr.numpy().astype(np.int64)
    n, nnz = ptr.shape[0] - 1, x.shape[0]
    if ptr[0] != 0 or ptr[-1] != nnz or (np.diff(ptr) < 0).any():
        raise ArgumentError(f"sparse_transpose: sparse_indptr must rise from 0 to the {nnz} values without "
                            f"falling, got {ptr.tolist()}")
    bad = (cols < 0) | (cols >= n)
    if bad.any():
        k = int(np.argmax(bad))
        raise ArgumentError(f"sparse_transpose: sparse_indices[{k}] is {int(cols[k])}, outside [0, {n}) "
                            f"(the matrix must be square: {n} x {n})")
    # A stable sort by column keeps each column's entries in row order, which is where the
    # row-by-row scatter of TVM's kernel puts them (the output's indices come out sorted).
    order = np.argsort(cols, kind="stable")
    values.copyfrom(x[order])
    rows.copyfrom(np.repeat(np.arange(n), np.diff(ptr))[order])
    pointers.copyfrom(np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n))]))


register_func(_TRANSPOSE, _transpose_packed, override=True)


def sparse_transpose(sparse_data: Tensor, sparse_indices: Tensor, sparse_indptr: Tensor) -> list[Tensor]:
    """The transpose of a square n x n CSR matrix, in CSR: ``[values, column indices (int32), row
    pointers (int32, n + 1)]``, each row's entries in column order.  A pointer or index that does not
    describe such a matrix is an ``ArgumentError`` when the compiled function runs."""
    what = "sparse_transpose"
    _check_csr(what, sparse_data, sparse_indices, sparse_indptr)
    check_cpu_target(what)
    nnz = sparse_data.shape[0]
    # one stage, so the packed function runs once: the outputs have their own shapes and dtypes
    values, rows, ptr = te.extern([(nnz,), (nnz,), sparse_indptr.shape], [sparse_data, sparse_indices, sparse_indptr],
                                  lambda ins, outs: te.call_packed(_TRANSPOSE, *ins, *outs),
                                  name="sparse_transpose_cpu", dtype=[sparse_data.dtype, "int32", "int32"],
                                  tag="sparse_transpose_csr")
    return [values, rows, ptr]
