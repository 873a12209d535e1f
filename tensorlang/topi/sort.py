"""sort, argsort and topk along one axis (TVM's ``topi.sort/argsort/topk``, their CPU path).

Each is a ``te.extern`` stage whose code calls a packed function registered below, which sorts
with numpy: a comparison sort does not fit ``te.compute``'s one-element-per-point model, and
TVM's CPU path calls a C++ packed function the same way.  So these stages build with a plain
``te.create_schedule`` for ``llvm`` (and feed later compute stages, which read their outputs
like any tensor), but not inside a GPU kernel: declared under a ``cuda`` target they raise, naming
their GPU forms ``topi.cuda.sort/argsort/topk`` (``topi/cuda/sort.py``), which order alike.

Order: stable, ties keep their order along the axis in both directions (TVM's ``stable_sort``
with its ascending or descending comparator), so ascending order is
``np.argsort(x, kind="stable")``; NaN sorts as numpy sorts it, above every number (last when
ascending, first when descending).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import te
from ..errors import ArgumentError, DTypeError, ExprError
from ..runtime.ndarray import NDArray
from ..runtime.packed import register_func
from ..te.dtype import as_dtype
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from .transform import normalize_axis
from .utils import check_cpu_target, get_const_int

_SORT = "tensorlang.topi.sort"
_ARGSORT = "tensorlang.topi.argsort"
_ARGSORT_VALID = "tensorlang.topi.argsort_valid_count"
_TOPK = "tensorlang.topi.topk"
_RET_TYPES = ("both", "values", "indices")


# -- the packed functions (numpy on the arrays the compiled code passes) ------------------------

def _order(x: np.ndarray, axis: int, ascend: bool) -> np.ndarray:
    """Indices that sort ``x`` stably along ``axis``, ties in their original order either way."""
    if ascend:
        return np.argsort(x, axis=axis, kind="stable")
    # Descending and stable: sort the reversed axis ascending (ties then come last-first), map
    # the positions back and reverse again.  Negating the keys instead would overflow the most
    # negative integer and fail on unsigned types.
    n = x.shape[axis]
    return np.flip(n - 1 - np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)


def _sort_packed(data: NDArray, out: NDArray, axis: int, is_ascend: int) -> None:
    x = data.numpy()
    out.copyfrom(np.take_along_axis(x, _order(x, axis, bool(is_ascend)), axis))


def _argsort_packed(data: NDArray, out: NDArray, axis: int, is_ascend: int) -> None:
    out.copyfrom(_order(data.numpy(), axis, bool(is_ascend)))  # copyfrom casts to the index dtype


def _argsort_valid_packed(data: NDArray, valid_count: NDArray, out: NDArray, axis: int, is_ascend: int) -> None:
    """TVM's ``argsort_nms``: along ``axis`` only the first ``valid_count`` elements are sorted;
    position k past them gets index k."""
    x = np.moveaxis(data.numpy(), axis, -1)
    n = x.shape[-1]
    counts = valid_count.numpy().astype(np.int64)
    bad = (counts < 0) | (counts > n)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ArgumentError(f"argsort: valid_count{list(where)} is {int(counts[where])}, outside [0, {n}] "
                            f"(the length of the sorted axis)")
    pos = np.arange(n)
    invalid = pos >= counts[..., None]
    # Dense ranks make one integer key for any dtype (NaN ranks last, as numpy sorts it), so
    # descending order is the negated rank; invalid positions all get key 0 and sort after the
    # valid ones by the primary key, keeping their order k.  lexsort is stable.
    _, rank = np.unique(x, return_inverse=True)
    rank = rank.reshape(x.shape).astype(np.int64)
    key = np.where(invalid, 0, rank if is_ascend else -rank)
    idx = np.lexsort((key, invalid), axis=-1)
    out.copyfrom(np.moveaxis(idx, -1, axis))


def _topk_packed(data: NDArray, *args: Any) -> None:
    """``(data, *outputs, k, axis, is_ascend, ret_type)``: values and/or indices of the first k."""
    *outs, k, axis, is_ascend, ret_type = args
    x = data.numpy()
    n = x.shape[axis]
    if k > n:
        raise ArgumentError(f"topk: k={k} is larger than the length {n} of axis {axis} of the data")
    idx = np.take(_order(x, axis, bool(is_ascend)), np.arange(k), axis=axis)
    results = {"values": lambda: np.take_along_axis(x, idx, axis), "indices": lambda: idx}
    wanted = ["values", "indices"] if ret_type == "both" else [ret_type]
    for out, what in zip(outs, wanted):
        out.copyfrom(results[what]())


# Registered when the module is imported, as TVM's runtime registers its sort functions at load;
# override=True lets a reload of this module register them again.
register_func(_SORT, _sort_packed, override=True)
register_func(_ARGSORT, _argsort_packed, override=True)
register_func(_ARGSORT_VALID, _argsort_valid_packed, override=True)
register_func(_TOPK, _topk_packed, override=True)


# -- declarations -------------------------------------------------------------------------------

def check_sort_data(op: str, data: Any) -> None:
    """An ExprError naming ``op`` unless ``data`` is a tensor with an axis to sort along (the CPU
    and GPU sorts share the checks)."""
    if not isinstance(data, Tensor):
        raise ExprError(f"{op}: data must be a tensor, got {type(data).__name__}")
    if not data.shape:
        raise ExprError(f"{op}: data {data.name} is a scalar; it needs an axis to sort along")


def sort_index_dtype(op: str, dtype: Any, length: Any) -> str:
    """``dtype`` checked to hold every index 0..length-1 exactly (length when it is a constant)."""
    dt = as_dtype(dtype)
    if dt.lanes != 1 or not (dt.is_int or dt.is_float):
        raise DTypeError(f"{op}: dtype {dt} cannot hold indices; use an integer or float type")
    if not isinstance(length, PrimExpr) or _is_const(length):
        n = get_const_int(length)
        # floats hold whole numbers exactly up to 2**(mantissa bits + 1)
        largest = (2 ** (dt.bits - 1) - 1 if dt.is_signed else 2 ** dt.bits - 1) if dt.is_int else \
            2 ** {16: 11, 32: 24, 64: 53}[dt.bits]
        if n - 1 > largest:
            raise DTypeError(f"{op}: dtype {dt} cannot hold the indices of an axis of length {n}")
    return str(dt)


def _is_const(e: Any) -> bool:
    try:
        get_const_int(e)
    except ExprError:
        return False
    return True


def sort(data: Tensor, axis: int = -1, is_ascend: bool = True) -> Tensor:
    """``data`` sorted along ``axis`` (ascending, or descending when ``is_ascend`` is false)."""
    check_sort_data("sort", data)
    ax = normalize_axis(axis, len(data.shape), "sort")
    check_cpu_target("sort", "topi.cuda.sort")
    return te.extern(data.shape, [data],
                     lambda ins, outs: te.call_packed(_SORT, ins[0], outs[0], ax, int(bool(is_ascend))),
                     name="sort_cpu", dtype=data.dtype, tag="sort_cpu")


def argsort(data: Tensor, valid_count: Tensor | None = None, axis: int = -1, is_ascend: bool = True,
            dtype: str = "float32") -> Tensor:
    """The indices that sort ``data`` along ``axis``, as ``dtype`` (TVM's default float32).

    With ``valid_count`` (an integer tensor of ``data``'s shape without ``axis``, TVM's NMS form)
    only the first ``valid_count`` elements along the axis are sorted, the positions after them
    keep their own index, and the result is int32 whatever ``dtype`` says, as in TVM."""
    check_sort_data("argsort", data)
    ax = normalize_axis(axis, len(data.shape), "argsort")
    check_cpu_target("argsort", "topi.cuda.argsort")
    asc = int(bool(is_ascend))
    if valid_count is None:
        out_dtype = sort_index_dtype("argsort", dtype, data.shape[ax])
        return te.extern(data.shape, [data],
                         lambda ins, outs: te.call_packed(_ARGSORT, ins[0], outs[0], ax, asc),
                         name="argsort_cpu", dtype=out_dtype, tag="argsort_cpu")
    if not isinstance(valid_count, Tensor):
        raise ExprError(f"argsort: valid_count must be a tensor, got {type(valid_count).__name__}")
    if not valid_count.dtype.is_int:
        raise DTypeError(f"argsort: valid_count must be an integer tensor, got {valid_count.dtype}")
    expected = [d for k, d in enumerate(data.shape) if k != ax]
    if len(valid_count.shape) != len(expected) or any(
            _is_const(a) and _is_const(b) and get_const_int(a) != get_const_int(b)
            for a, b in zip(valid_count.shape, expected)):
        raise ExprError(f"argsort: valid_count has shape {list(valid_count.shape)}; it needs data's shape "
                        f"without axis {ax}: {list(expected)}")
    sort_index_dtype("argsort", "int32", data.shape[ax])
    return te.extern(data.shape, [data, valid_count],
                     lambda ins, outs: te.call_packed(_ARGSORT_VALID, ins[0], ins[1], outs[0], ax, asc),
                     name="argsort_cpu", dtype="int32", tag="argsort_cpu")


def topk(data: Tensor, k: int = 1, axis: int = -1, ret_type: str = "both", is_ascend: bool = False,
         dtype: str = "int64") -> Any:
    """The ``k`` largest elements along ``axis`` (smallest when ``is_ascend``), in sorted order:
    ``[values, indices]`` for ``ret_type="both"``, else the ``"values"`` or the ``"indices"``
    (as ``dtype``) alone.  ``k`` is a constant no larger than the axis; ``k < 1`` means the whole
    axis, as in TVM (ported code passes ``k=0`` or ``k=-1`` for a full sort)."""
    check_sort_data("topk", data)
    ax = normalize_axis(axis, len(data.shape), "topk")
    if ret_type not in _RET_TYPES:
        raise ExprError(f"topk: ret_type '{ret_type}' is not one of {', '.join(repr(r) for r in _RET_TYPES)}")
    if isinstance(k, PrimExpr) and not _is_const(k):
        raise ExprError(f"topk: k must be a constant, got {k}")
    kk = get_const_int(k)
    length = data.shape[ax]
    if kk < 1:
        if not _is_const(length):
            raise ExprError(f"topk: k={kk} asks for the whole axis {ax}, whose length is not a constant")
        kk = get_const_int(length)
    if _is_const(length) and kk > get_const_int(length):
        raise ExprError(f"topk: k={kk} is larger than axis {ax} of {data.name}, of length {get_const_int(length)}")
    check_cpu_target("topk", "topi.cuda.topk")
    index_dtype = sort_index_dtype("topk", dtype, length)
    shape = list(data.shape)
    shape[ax] = kk
    dtypes = {"both": [data.dtype, index_dtype], "values": [data.dtype], "indices": [index_dtype]}[ret_type]
    asc = int(bool(is_ascend))
    outs = te.extern([shape] * len(dtypes), [data],
                     lambda ins, outs: te.call_packed(_TOPK, ins[0], *outs, kk, ax, asc, ret_type),
                     name="topk_cpu", dtype=dtypes, tag="topk_cpu")
    return list(outs) if ret_type == "both" else outs


__all__ = ["sort", "argsort", "topk"]
