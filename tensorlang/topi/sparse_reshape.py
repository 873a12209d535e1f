"""``sparse_reshape`` (TVM's ``topi.sparse_reshape``, TensorFlow's ``tf.sparse.reshape``): the
coordinates of a COO sparse tensor's nonzeros under a new dense shape.

The new shape is a tensor, read when the compiled function runs, so this is one ``te.extern`` stage
calling numpy through a packed function once for both outputs (each of its own shape and dtype),
CPU only, as ``topi.sort`` is; the output shapes are given, as TVM's caller (Relay) gives them.
Checked at run time, as TensorFlow checks them: at most one -1 in the new shape, the other sizes
non-negative, the same number of elements before and after, and every coordinate inside the old
shape; anything else is an ``ArgumentError``.
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
from .utils import check_cpu_target, static_dim

_RESHAPE = "tensorlang.topi.sparse_reshape"


def _check_tensor(what: str, t: Any, arg: str, ndim: int, integer: bool = False) -> Tensor:
    if not isinstance(t, Tensor):
        raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
    if len(t.shape) != ndim:
        raise ExprError(f"{what}: {arg} must be {ndim}-D, got shape {list(t.shape)}")
    if integer and not t.dtype.is_int:
        raise DTypeError(f"{what}: {arg} must be an integer tensor, got {t.dtype}")
    return t


def _shape_arg(what: str, shape: Any, arg: str, ndim: int) -> list[Any]:
    """An output shape argument: ``ndim`` sizes (ints or expressions)."""
    if isinstance(shape, Tensor) or not isinstance(shape, (list, tuple)) or len(shape) != ndim:
        raise ExprError(f"{what}: {arg} must be a list of {ndim} sizes, got {shape!r}")
    return list(shape)


def _same(what: str, arg: str, got: Any, want: Any, why: str) -> None:
    g, w = static_dim(got), static_dim(want)
    if g is not None and w is not None and g != w:
        raise ExprError(f"{what}: {arg} is {g}, but it must be {w} ({why})")


# -- the packed function ------------------------------------------------------------------------

def _reshape_packed(indices: NDArray, prev_shape: NDArray, new_shape: NDArray, new_indices: NDArray,
                    resolved_shape: NDArray) -> None:
    """The new coordinates and the new shape with its -1 resolved."""
    idx = indices.numpy().astype(np.int64)
    old = prev_shape.numpy().astype(np.int64)
    new = new_shape.numpy().astype(np.int64)
    if (old < 0).any():
        raise ArgumentError(f"sparse_reshape: prev_shape {old.tolist()} has a negative size")
    unknown = np.flatnonzero(new == -1)
    if len(unknown) > 1 or (new < -1).any():
        raise ArgumentError(f"sparse_reshape: new_shape {new.tolist()} may hold one -1 and otherwise sizes >= 0")
    total = int(np.prod(old))
    known = int(np.prod(new[new != -1]))
    resolved = new.copy()
    if len(unknown):
        if known == 0 or total % known:
            raise ArgumentError(f"sparse_reshape: no size for the -1 of new_shape {new.tolist()} gives the "
                                f"{total} elements of prev_shape {old.tolist()}")
        resolved[unknown[0]] = total // known
    elif known != total:
        raise ArgumentError(f"sparse_reshape: new_shape {new.tolist()} has {known} elements but prev_shape "
                            f"{old.tolist()} has {total}")
    outside = (idx < 0) | (idx >= old)
    if outside.any():
        row = int(np.flatnonzero(outside.any(axis=1))[0])
        raise ArgumentError(f"sparse_reshape: sparse_indices[{row}] = {idx[row].tolist()} is outside prev_shape "
                            f"{old.tolist()}")
    # row-major flat positions in the old shape, unravelled in the new one
    flat = (idx * np.concatenate([np.cumprod(old[::-1])[::-1][1:], [1]])).sum(axis=1)
    strides = np.concatenate([np.cumprod(resolved[::-1])[::-1][1:], [1]])
    new_indices.copyfrom((flat[:, None] // strides) % np.where(resolved > 0, resolved, 1) if len(flat) else
                         np.zeros((0, len(resolved)), np.int64))
    resolved_shape.copyfrom(resolved)


register_func(_RESHAPE, _reshape_packed, override=True)


# -- declaration --------------------------------------------------------------------------------

def sparse_reshape(sparse_indices: Tensor, prev_shape: Tensor, new_shape: Tensor,
                   new_sparse_indices_shape: Sequence[Any], new_shape_shape: Sequence[Any]) -> list[Tensor]:
    """``[new_sparse_indices, new_shape]``: the (N, n_new) coordinates of the N nonzeros whose (N, n_old)
    coordinates ``sparse_indices`` are given in a dense tensor of shape ``prev_shape`` (n_old,), in a
    dense tensor reshaped (row-major, as numpy's reshape) to ``new_shape`` (n_new,), whose one -1, if
    any, becomes the size that keeps the number of elements; that resolved shape is the second output.

    ``new_sparse_indices_shape`` is (N, n_new) and ``new_shape_shape`` (n_new,), the shapes of the two
    outputs, as TVM takes them.  The coordinates keep ``sparse_indices``' dtype, the shape
    ``prev_shape``'s."""
    what = "sparse_reshape"
    _check_tensor(what, sparse_indices, "sparse_indices", 2, integer=True)
    _check_tensor(what, prev_shape, "prev_shape", 1, integer=True)
    _check_tensor(what, new_shape, "new_shape", 1, integer=True)
    out_idx = _shape_arg(what, new_sparse_indices_shape, "new_sparse_indices_shape", 2)
    out_shape = _shape_arg(what, new_shape_shape, "new_shape_shape", 1)
    _same(what, "prev_shape's length", prev_shape.shape[0], sparse_indices.shape[1],
          "sparse_indices has one column per dimension of prev_shape")
    _same(what, "new_shape_shape[0]", out_shape[0], new_shape.shape[0], "new_shape's length")
    _same(what, "new_sparse_indices_shape[0]", out_idx[0], sparse_indices.shape[0],
          "the number of nonzeros, sparse_indices' rows")
    _same(what, "new_sparse_indices_shape[1]", out_idx[1], new_shape.shape[0], "new_shape's length")
    check_cpu_target(what)
    indices, shape = te.extern([out_idx, out_shape], [sparse_indices, prev_shape, new_shape],
                               lambda i, o: te.call_packed(_RESHAPE, *i, *o), name="sparse_reshape_cpu",
                               dtype=[sparse_indices.dtype, prev_shape.dtype], tag="sparse_reshape_cpu")
    return [indices, shape]


__all__ = ["sparse_reshape"]
