"""argwhere: the coordinates of the nonzero elements of a tensor (TVM's ``topi.argwhere``).

How many elements are nonzero is known only when the kernel runs, so the caller gives the
output's shape, as TVM's relay does (its type inference gives the row count as a ``te.var``):
a ``te.var`` / ``te.size_var`` row count is bound from the output array the caller passes, a
constant one is fixed when the function is built.  Either way the rows must equal the number of
nonzero elements: another count is an ``ArgumentError`` when the kernel runs (TVM's kernel would
write past the end or leave rows unwritten).  The work is a ``te.extern`` stage calling a packed
function that uses numpy, as sort.py's stages do, so it builds for CPU targets only: declared
under a ``cuda`` target it raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import te
from ..errors import ArgumentError, DTypeError, ExprError
from ..runtime.ndarray import NDArray
from ..runtime.packed import register_func
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from .sort import _is_const
from .utils import check_cpu_target, get_const_int

_ARGWHERE = "tensorlang.topi.argwhere"


def _argwhere_packed(condition: NDArray, out: NDArray) -> None:
    where = np.argwhere(condition.numpy())  # row-major order, as TVM's loops
    if out.shape[0] != where.shape[0]:
        raise ArgumentError(f"argwhere: the output has {out.shape[0]} row(s) but the condition has "
                            f"{where.shape[0]} nonzero element(s); give output_shape that row count")
    out.copyfrom(where)


# Registered at import, as sort.py's; override=True lets a reload register again.
register_func(_ARGWHERE, _argwhere_packed, override=True)


def _rows_and_cols(output_shape: Any) -> tuple[Any, Any]:
    """(row count, column count or None) from TVM's forms: a tensor or type with a 2-D ``shape``,
    a [rows, ndim] list, or the row count alone."""
    if isinstance(output_shape, (int, PrimExpr)) and not isinstance(output_shape, bool):
        return output_shape, None
    shape = getattr(output_shape, "shape", output_shape)
    try:
        dims = list(shape)
    except TypeError:
        raise ExprError(f"argwhere: output_shape must be a tensor, a [rows, ndim] list or a row count, "
                        f"got {output_shape!r}") from None
    if len(dims) != 2:
        raise ExprError(f"argwhere: output_shape {dims} must have 2 dimensions (rows, ndim)")
    return dims[0], dims[1]


def argwhere(output_shape: Any, condition: Tensor) -> Tensor:
    """The coordinates of the nonzero elements of ``condition`` (any rank from 1), row-major, as
    an int32 tensor (rows, ndim) (numpy.argwhere).  ``output_shape``: TVM's form, a tensor or
    type whose ``shape`` is (rows, ndim), or a [rows, ndim] list, or just the rows: an int, or a
    ``te.var`` bound from the output array at run time."""
    what = "argwhere"
    if not isinstance(condition, Tensor):
        raise ExprError(f"{what}: condition must be a tensor, got {type(condition).__name__}")
    ndim = len(condition.shape)
    if ndim == 0:
        raise ExprError(f"{what}: condition {condition.name} is a scalar; give it at least one dimension")
    if condition.dtype.lanes != 1 or condition.dtype.is_handle:
        raise DTypeError(f"{what}: condition must hold booleans or numbers, got {condition.dtype}")
    rows, cols = _rows_and_cols(output_shape)
    if cols is not None and (not _is_const(cols) or get_const_int(cols) != ndim):
        raise ExprError(f"{what}: output_shape has {cols} columns but condition has {ndim} dimension(s)")
    if isinstance(rows, PrimExpr) and not _is_const(rows):
        if not rows.dtype.is_int or rows.dtype.is_bool:
            raise DTypeError(f"{what}: the row count {rows} must be an integer expression, got {rows.dtype}")
    else:
        try:
            count = get_const_int(rows)
        except ExprError:
            raise ExprError(f"{what}: the row count must be an integer or an expression, got {rows!r}") from None
        if count < 0:
            raise ExprError(f"{what}: the row count {count} is negative")
        rows = count
    check_cpu_target(what)
    return te.extern([rows, ndim], [condition], lambda ins, outs: te.call_packed(_ARGWHERE, ins[0], outs[0]),
                     name="argwhere_cpu", dtype="int32", tag="argwhere_cpu")


__all__ = ["argwhere"]
