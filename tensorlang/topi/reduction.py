"""Reductions over tensor axes: sum, max, min, prod, all, any, argmax, argmin (tag ``comm_reduce``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import ExprError
from ..te.expr import PrimExpr, convert
from ..te.tensor import Tensor
from . import tag
from .transform import normalize_axes, reshape
from .utils import check_tensors, static_dim
from .utils import prod as _size


def _axes(data: Tensor, axis: Any, what: str = "reduction") -> list[int]:
    """The axes to reduce, sorted: all of them for None; an int or a sequence of ints otherwise
    (a float, a string or a repeated axis is an ``ExprError`` naming ``axis``, as numpy raises)."""
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    ndim = len(data.shape)
    if axis is None:
        return list(range(ndim))
    return sorted(normalize_axes(axis, ndim, what))


def _reduce(data: Tensor, axis: Any, keepdims: bool, reducer: Any, name: str, value: Any = None) -> Tensor:
    ndim = len(data.shape)
    red = _axes(data, axis, name.removeprefix("T_"))
    if not red:
        # Nothing to reduce (a 0-d tensor, or axis=()): numpy returns the elements themselves, as
        # each reducer over one element does (converted as the reducer would convert them).
        return te.compute(data.shape, lambda *i: value(data(*i)) if value else data(*i), name=name,
                          tag=tag.ELEMWISE)
    raxes = {k: te.reduce_axis((0, data.shape[k]), name=f"k{k}") for k in red}
    keep = [k for k in range(ndim) if k not in raxes]
    shape = [1 if k in raxes else data.shape[k] for k in range(ndim)] if keepdims else [data.shape[k] for k in keep]

    def body(*i: Any) -> PrimExpr:
        src = []
        pos = 0
        for k in range(ndim):
            if k in raxes:
                src.append(raxes[k])
                if keepdims:
                    pos += 1
            else:
                src.append(i[pos] if not keepdims else i[k])
                pos += 1
        elem = data(*src)
        return reducer(value(elem) if value else elem, axis=[raxes[k] for k in red])
    return te.compute(shape, body, name=name, tag=tag.COMM_REDUCE)


def sum(data: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001 - TVM's name
    """Sum over ``axis`` (all axes when None).  float16 adds up in float32, rounded once at the
    end: summed in float16 one element at a time, 1000 normals drift by ~0.4 where numpy's
    pairwise sum stays within ~0.01."""
    check_tensors("sum", data=data)
    return _wide_float16(data, axis, keepdims, te.sum, "T_sum")


def _wide_float16(data: Tensor, axis: Any, keepdims: bool, reducer: Any, name: str) -> Tensor:
    """``_reduce``, accumulating float16 data in float32 and rounding the result back."""
    if str(data.dtype) != "float16":
        return _reduce(data, axis, keepdims, reducer, name)
    acc = _reduce(data, axis, keepdims, reducer, name + "_f32", value=lambda e: e.astype("float32"))
    return te.compute(acc.shape, lambda *i: acc(*i).astype("float16"), name=name, tag=tag.ELEMWISE)


def max(data: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001 - TVM's name
    """Maximum over ``axis``."""
    check_tensors("max", data=data)
    return _reduce(data, axis, keepdims, te.max, "T_max")


def min(data: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001 - TVM's name
    """Minimum over ``axis``."""
    check_tensors("min", data=data)
    return _reduce(data, axis, keepdims, te.min, "T_min")


_prod = te.comm_reducer(lambda x, y: x * y, lambda dt: te.const(1, dt), name="prod")


def prod(data: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Product over ``axis``.  float16 multiplies up in float32, rounded once at the end, as numpy's
    reduction does: in float16, [300, 300, 0.001] overflows to inf where numpy gives 90."""
    check_tensors("prod", data=data)
    return _wide_float16(data, axis, keepdims, _prod, "T_prod")


_all = te.comm_reducer(lambda x, y: te.all(x, y), lambda dt: te.const(True, dt), name="all")
_any = te.comm_reducer(lambda x, y: te.any(x, y), lambda dt: te.const(False, dt), name="any")


def _truth(v: PrimExpr) -> PrimExpr:
    """``v`` as bool: nonzero is True (NaN too), as numpy."""
    return v if v.dtype.is_bool else v != te.const(0, v.dtype)


def all(data: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001 - TVM's name
    """Whether every element over ``axis`` is nonzero (bool)."""
    check_tensors("all", data=data)
    return _reduce(data, axis, keepdims, _all, "T_all", _truth)


def any(data: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001 - TVM's name
    """Whether some element over ``axis`` is nonzero (bool)."""
    check_tensors("any", data=data)
    return _reduce(data, axis, keepdims, _any, "T_any", _truth)


def _arg_reducer(better: str, last: bool = False) -> Any:
    def combine(x: Sequence[PrimExpr], y: Sequence[PrimExpr]) -> tuple[PrimExpr, PrimExpr]:
        # ties keep the smaller index, as numpy does; the identity's index -1 compares as the
        # largest (unsigned), so any real element tying with it (a row of -inf) wins.  With
        # ``last`` (TVM's select_last_index) ties keep the larger index: compared signed, the
        # identity's -1 is the smallest, so again any real element wins over it.
        if last:
            y_on_tie = y[0] > x[0]
        else:
            unsigned = "uint64" if y[0].dtype.bits == 64 else "uint32"
            y_on_tie = y[0].astype(unsigned) < x[0].astype(unsigned)
        wins = y[1] > x[1] if better == "max" else y[1] < x[1]
        take_y = te.any(wins, te.all(y[1] == x[1], y_on_tie))
        if y[1].dtype.is_float:  # numpy: NaN beats every number, the first (last) NaN wins
            x_nan, y_nan = x[1] != x[1], y[1] != y[1]
            take_y = te.if_then_else(x_nan, te.all(y_nan, y_on_tie), te.any(y_nan, take_y))
        return te.if_then_else(take_y, y[0], x[0]), te.if_then_else(take_y, y[1], x[1])

    def identity(idx_dt: Any, val_dt: Any) -> tuple[PrimExpr, PrimExpr]:
        if val_dt.is_float:  # -inf (+inf): a row of -inf still has a maximum
            worst = te.const(float("-inf") if better == "max" else float("inf"), val_dt)
        else:
            worst = te.min_value(val_dt) if better == "max" else te.max_value(val_dt)
        return te.const(-1, idx_dt), worst
    # numpy.argmax of an empty axis raises: so does this, rather than return -1
    return te.comm_reducer(combine, identity, name=f"arg{better}", allow_empty=False)


_argmax, _argmin = _arg_reducer("max"), _arg_reducer("min")
_argmax_last, _argmin_last = _arg_reducer("max", last=True), _arg_reducer("min", last=True)


_INT32_MAX = 2**31 - 1


def index_dtype(dims: Sequence[Any]) -> str:
    """int32 (TVM's argmax dtype) when an index into ``dims`` (flattened) always fits in it, else
    int64, numpy's.  A symbolic dimension counts as the largest value its dtype holds, so an int32
    shape variable keeps int32 and an int64 one (or a product that may pass 2**31 - 1) gives int64:
    never a wrapped index."""
    bound = 1
    for d in dims:
        value = static_dim(d)
        bound *= value if value is not None else (_INT32_MAX if convert(d).dtype.bits <= 32 else 2**63 - 1)
    return "int32" if bound - 1 <= _INT32_MAX else "int64"


def _arg(data: Tensor, axis: Any, keepdims: bool, reducer: Any, name: str, idx_dt: str | None = None) -> Tensor:
    ndim = len(data.shape)
    red = _axes(data, axis, name.removeprefix("T_"))
    if len(red) != 1 and axis is not None:
        raise ExprError(f"{name}: reduce over one axis (got {axis!r})")
    if axis is None and ndim != 1:
        # The flat index, over every axis; keepdims keeps them all, as numpy's (1, ..., 1).
        # The index dtype comes from the dimensions themselves: their product may be an int32
        # expression even when its value cannot fit in int32.
        flat = _arg(reshape(data, [_size(data.shape)]), 0, keepdims, reducer, name, index_dtype(data.shape))
        return reshape(flat, [1] * ndim) if keepdims else flat
    ax = red[0]
    k = te.reduce_axis((0, data.shape[ax]), name="k")
    idx_dt = idx_dt or index_dtype([data.shape[ax]])
    shape = [1 if d == ax else data.shape[d] for d in range(ndim)] if keepdims else \
        [data.shape[d] for d in range(ndim) if d != ax]

    def body(*i: Any) -> tuple[PrimExpr, PrimExpr]:
        idx = list(i)
        if keepdims:
            idx[ax] = k
        else:
            idx.insert(ax, k)
        return reducer((k.var.astype(idx_dt), data(*idx)), axis=k)
    idx_val = te.compute(shape, body, name=name + "_red_temp", tag=tag.COMM_REDUCE_IDX)
    # The index alone is the result: a copy stage keeps the value output internal to the schedule.
    return te.compute(shape, lambda *i: idx_val[0](*i), name=name, tag=tag.COMM_REDUCE_IDX)


def argmax(data: Tensor, axis: Any = None, keepdims: bool = False, select_last_index: bool = False) -> Tensor:
    """Index of the maximum along ``axis`` (the flat index when None; the first one on ties, the
    last with ``select_last_index``, as TVM's): int32 as TVM's, int64 when the reduced extent may
    pass 2**31 - 1 (``index_dtype``).  NaN counts as the maximum (numpy's rule)."""
    check_tensors("argmax", data=data)
    return _arg(data, axis, keepdims, _argmax_last if select_last_index else _argmax, "T_argmax")


def argmin(data: Tensor, axis: Any = None, keepdims: bool = False, select_last_index: bool = False) -> Tensor:
    """Index of the minimum along ``axis``, as ``argmax`` (int32, or int64 for a huge extent)."""
    check_tensors("argmin", data=data)
    return _arg(data, axis, keepdims, _argmin_last if select_last_index else _argmin, "T_argmin")


__all__ = ["all", "any", "argmax", "argmin", "max", "min", "prod", "sum"]
