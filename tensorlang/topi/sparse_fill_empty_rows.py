"""``sparse_fill_empty_rows`` (TVM's ``topi.sparse_fill_empty_rows``, TensorFlow's
``tf.sparse.fill_empty_rows``): a COO sparse tensor with an entry ``default_value`` at
``[row, 0, ..., 0]`` added for every row that has no nonzero.

Which rows are empty is known only when the compiled function runs, so this is one ``te.extern``
stage calling numpy through a packed function once for its three outputs (each of its own shape
and dtype), CPU only, as ``topi.sort`` is; the output shapes are given, as TVM's caller (Relay)
gives them, and must be the ones the data needs (an ``ArgumentError`` says which).

The output lists the entries row by row, each row's entries in their input order (TensorFlow's
order; TVM asks for input sorted by row, which it then keeps as it is).  Dtypes: the new indices
are int64 and the empty-row indicator int64 0 or 1, as TVM's operator makes them; the new values
keep ``sparse_values``' dtype (TVM's operator casts them to int64, which its Relay type does not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import te
from ..errors import ArgumentError, DTypeError, ExprError
from ..runtime.ndarray import NDArray
from ..runtime.packed import register_func
from ..te.tensor import Tensor
from .sparse_reshape import _check_tensor, _same, _shape_arg
from .utils import check_cpu_target, static_dim

_FILL = "tensorlang.topi.sparse_fill_empty_rows"


def _fill_packed(indices: NDArray, values: NDArray, dense_shape: NDArray, default_value: NDArray,
                 new_indices: NDArray, new_values: NDArray, empty_row_indicator: NDArray) -> None:
    """The new indices, the new values and the empty-row indicator, all at once."""
    idx = indices.numpy().astype(np.int64)
    vals = values.numpy()
    rows = int(dense_shape.numpy().astype(np.int64)[0])
    n = idx.shape[0]
    row = idx[:, 0]
    outside = (row < 0) | (row >= rows)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise ArgumentError(f"sparse_fill_empty_rows: sparse_indices[{k}, 0] = {int(row[k])} is not a row of "
                            f"dense_shape[0] = {rows}")
    if rows < 0:
        raise ArgumentError(f"sparse_fill_empty_rows: dense_shape[0] is {rows}")
    empty = np.bincount(row, minlength=rows) == 0
    fill_rows = np.flatnonzero(empty)
    total = n + len(fill_rows)
    for out, arg in ((new_indices, "new_sparse_indices_shape"), (new_values, "new_sparse_values_shape")):
        if out.shape[0] != total:
            raise ArgumentError(f"sparse_fill_empty_rows: {arg} gives {out.shape[0]} entries, but the data needs "
                                f"{total} ({n} nonzeros and {len(fill_rows)} empty rows)")
    if empty_row_indicator.shape[0] != rows:
        shape = list(empty_row_indicator.shape)
        raise ArgumentError(f"sparse_fill_empty_rows: empty_row_indicator_shape is {shape}, but dense_shape[0] is "
                            f"{rows}")
    # the filled entries, then a stable sort by row: each row's input entries keep their order
    order = np.argsort(np.concatenate([row, fill_rows]), kind="stable")
    filled = np.zeros((len(fill_rows), idx.shape[1]), np.int64)
    filled[:, 0] = fill_rows
    new_indices.copyfrom(np.concatenate([idx, filled])[order])
    default = np.full(len(fill_rows), default_value.numpy().reshape(-1)[0], vals.dtype)
    new_values.copyfrom(np.concatenate([vals, default])[order])
    empty_row_indicator.copyfrom(empty)


register_func(_FILL, _fill_packed, override=True)


def sparse_fill_empty_rows(sparse_indices: Tensor, sparse_values: Tensor, dense_shape: Tensor, default_value: Tensor,
                           new_sparse_indices_shape: Sequence[Any], new_sparse_values_shape: Sequence[Any],
                           empty_row_indicator_shape: Sequence[Any]) -> list[Tensor]:
    """``[new_sparse_indices, new_sparse_values, empty_row_indicator]`` for the COO tensor of
    ``dense_shape`` (ndims,) whose N nonzeros sit at ``sparse_indices`` (N, ndims) with values
    ``sparse_values`` (N,): every row r (first coordinate) with no nonzero gets the entry
    ``default_value[0]`` at [r, 0, ..., 0], and ``empty_row_indicator[r]`` is 1 for it, 0 for the others.

    The three shape arguments are the outputs' shapes, as TVM takes them: (N + empty rows, ndims),
    (N + empty rows,) and (dense_shape[0],)."""
    what = "sparse_fill_empty_rows"
    _check_tensor(what, sparse_indices, "sparse_indices", 2, integer=True)
    _check_tensor(what, sparse_values, "sparse_values", 1)
    _check_tensor(what, dense_shape, "dense_shape", 1, integer=True)
    if not isinstance(default_value, Tensor):
        raise ExprError(f"{what}: default_value must be a tensor of one value, got {type(default_value).__name__}")
    if len(default_value.shape) > 1 or static_dim(default_value.shape[0] if default_value.shape else 1) != 1:
        raise ExprError(f"{what}: default_value must hold one value (shape (1,)), "
                        f"got shape {list(default_value.shape)}")
    if default_value.dtype != sparse_values.dtype:
        raise DTypeError(f"{what}: default_value is {default_value.dtype} but sparse_values are {sparse_values.dtype}")
    out_idx = _shape_arg(what, new_sparse_indices_shape, "new_sparse_indices_shape", 2)
    out_val = _shape_arg(what, new_sparse_values_shape, "new_sparse_values_shape", 1)
    out_empty = _shape_arg(what, empty_row_indicator_shape, "empty_row_indicator_shape", 1)
    _same(what, "sparse_values' length", sparse_values.shape[0], sparse_indices.shape[0],
          "one value per row of sparse_indices")
    _same(what, "dense_shape's length", dense_shape.shape[0], sparse_indices.shape[1],
          "one size per column of sparse_indices")
    _same(what, "new_sparse_indices_shape[1]", out_idx[1], sparse_indices.shape[1], "sparse_indices' columns")
    _same(what, "new_sparse_values_shape[0]", out_val[0], out_idx[0], "new_sparse_indices_shape[0]")
    check_cpu_target(what)
    return te.extern([out_idx, out_val, out_empty], [sparse_indices, sparse_values, dense_shape, default_value],
                     lambda i, o: te.call_packed(_FILL, *i, *o), name="sparse_fill_empty_rows_cpu",
                     dtype=["int64", sparse_values.dtype, "int64"], tag="sparse_fill_empty_rows")


__all__ = ["sparse_fill_empty_rows"]
