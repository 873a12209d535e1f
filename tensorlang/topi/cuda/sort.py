"""sort, argsort and topk along one axis on GPUs (TVM's ``topi.cuda.sort/argsort/topk`` and their
``schedule_*``), as ``ir_builder`` kernels: the CPU versions (``topi.sort`` ...) call numpy through a
packed function, which cannot run inside a GPU program.

The kernel is a rank sort: one thread per element finds the element's place in its line along the
axis by counting the elements that come before it, then writes it (and its index) there.  That is
n comparisons per element, n² per line: no synchronization or scratch memory, and every thread
does the same work, but a line of 100 000 elements costs 10¹⁰ comparisons; the lines TVM's sort
tests, NMS and top-k heads use (up to some thousands) are cheap.

The order is the CPU path's: stable (equal elements keep their order along the axis in both
directions), NaN above every number (last when ascending, first when descending), so ascending
order is ``np.argsort(x, kind="stable")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import ExprError
from ...ir import builder as ir_builder
from ...schedule.schedule import Schedule
from ...te.expr import PrimExpr, const
from ...te.tensor import Tensor
from ..sort import check_sort_data, sort_index_dtype
from ..transform import normalize_axis
from ..utils import get_const_int, prod
from .injective import max_threads

_RET_TYPES = ("both", "values", "indices")


def _static_shape(op: str, data: Tensor) -> list[int]:
    try:
        return [get_const_int(d) for d in data.shape]
    except ExprError:
        raise ExprError(f"topi.cuda.{op}: the shape of {data.name} must be constant, got {list(data.shape)}; "
                        "the GPU sort has no symbolic-shape form") from None


def _before(a: PrimExpr, b: PrimExpr, ascend: bool) -> PrimExpr:
    """Whether ``a`` sorts strictly before ``b`` (NaN counts as the largest value)."""
    if not a.dtype.is_float:
        return a < b if ascend else a > b
    # x == x: x is not NaN
    if ascend:
        return te.any(a < b, te.all(te.isnan(b), a == a))
    return te.any(a > b, te.all(te.isnan(a), b == b))


def _same(a: PrimExpr, b: PrimExpr) -> PrimExpr:
    """Whether ``a`` and ``b`` tie (two NaNs do)."""
    if not a.dtype.is_float:
        return a == b
    return te.any(a == b, te.all(te.isnan(a), te.isnan(b)))


def _rank_sort(op: str, data: Tensor, axis: int, is_ascend: Any, k: int | None,
               out_dtypes: Sequence[str], wants: Sequence[str]) -> list[Tensor]:
    """The sort kernel: outputs ``wants`` ("values" / "indices", with ``out_dtypes``) holding the
    first ``k`` (all when None) elements of each line along ``axis`` in sorted order."""
    shape = _static_shape(op, data)
    ax = normalize_axis(axis, len(shape), op)
    n = shape[ax]
    keep = n if k is None else k
    outer, inner = prod(shape[:ax]), prod(shape[ax + 1:])
    out_shape = list(shape)
    out_shape[ax] = keep
    ascend = bool(is_ascend)
    total = outer * n * inner
    idt = "int64" if total > 2 ** 31 - 1 else "int32"

    def fcompute(ins: list, outs: list) -> Any:
        ib = ir_builder.create()
        if total == 0 or keep == 0:
            return ib.get()
        src = ib.buffer_ptr(ins[0])
        dst = dict(zip(wants, (ib.buffer_ptr(o) for o in outs)))
        per_block = max(1, min(max_threads(), total))
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", (total + per_block - 1) // per_block)
        ib.scope_attr(tx, "thread_extent", per_block)
        tid = bx.var.astype(idt) * per_block + tx.var.astype(idt)
        with ib.if_scope(tid < total):
            # thread tid takes element i of line (o, q); neighbouring threads, neighbouring i
            i = ib.let("i", tid % n)
            line = tid // n
            o, q = ib.let("o", line // inner), ib.let("q", line % inner)
            base = ib.let("base", o * (n * inner) + q)
            mine = ib.let("mine", src[base + i * inner])
            rank = ib.allocate(idt, (1,), name="rank", scope="local")
            rank[0] = const(0, idt)
            with ib.for_range(0, n, name="j", dtype=idt) as j:
                other = src[base + j * inner]
                first = te.any(_before(other, mine, ascend), te.all(_same(other, mine), j < i))
                rank[0] = rank[0] + first.astype(idt)
            with ib.if_scope(rank[0] < keep):
                at = o * (keep * inner) + rank[0] * inner + q
                if "values" in dst:
                    dst["values"][at] = mine
                if "indices" in dst:
                    dst["indices"][at] = i.astype(out_dtypes[wants.index("indices")])
        return ib.get()

    outs = te.extern([out_shape] * len(wants), [data], fcompute, name=f"{op}_gpu", dtype=list(out_dtypes),
                     tag=f"{op}_gpu")
    return list(outs) if isinstance(outs, (list, tuple)) else [outs]


def sort(data: Tensor, axis: int = -1, is_ascend: Any = 1) -> Tensor:
    """``data`` sorted along ``axis`` (ascending, or descending when ``is_ascend`` is false)."""
    check_sort_data("sort", data)
    return _rank_sort("sort", data, axis, is_ascend, None, [str(data.dtype)], ["values"])[0]


def argsort(data: Tensor, axis: int = -1, is_ascend: Any = 1, dtype: str = "float32",
            ret_type: str = "indices") -> Any:
    """The indices that sort ``data`` along ``axis``, as ``dtype`` (TVM's default float32);
    ``ret_type="both"`` gives ``[sorted values, indices]``."""
    check_sort_data("argsort", data)
    if ret_type not in ("both", "indices"):
        raise ExprError(f"topi.cuda.argsort: ret_type '{ret_type}' is not 'both' or 'indices'")
    ax = normalize_axis(axis, len(data.shape), "argsort")
    index_dtype = sort_index_dtype("argsort", dtype, data.shape[ax])
    if ret_type == "both":
        return _rank_sort("argsort", data, axis, is_ascend, None, [str(data.dtype), index_dtype],
                          ["values", "indices"])
    return _rank_sort("argsort", data, axis, is_ascend, None, [index_dtype], ["indices"])[0]


def topk(data: Tensor, k: Any = 1, axis: int = -1, ret_type: str = "both", is_ascend: Any = False,
         dtype: str = "int64") -> Any:
    """The ``k`` largest elements along ``axis`` (smallest when ``is_ascend``), in sorted order:
    ``[values, indices]`` for ``ret_type="both"``, else the values or the indices (as ``dtype``)
    alone; ``k < 1`` means the whole axis, as in TVM."""
    check_sort_data("topk", data)
    if ret_type not in _RET_TYPES:
        raise ExprError(f"topk: ret_type '{ret_type}' is not one of {', '.join(repr(r) for r in _RET_TYPES)}")
    shape = _static_shape("topk", data)
    ax = normalize_axis(axis, len(shape), "topk")
    try:
        kk = get_const_int(k)
    except ExprError:
        raise ExprError(f"topk: k must be a constant, got {k}") from None
    kk = shape[ax] if kk < 1 else kk
    if kk > shape[ax]:
        raise ExprError(f"topk: k={kk} is larger than axis {ax} of {data.name}, of length {shape[ax]}")
    index_dtype = sort_index_dtype("topk", dtype, shape[ax])
    wants = ["values", "indices"] if ret_type == "both" else [ret_type]
    dtypes = [str(data.dtype) if w == "values" else index_dtype for w in wants]
    outs = _rank_sort("topk", data, axis, is_ascend, kk, dtypes, wants)
    return outs if ret_type == "both" else outs[0]


def _schedule(outs: Tensor | Sequence[Tensor]) -> Schedule:
    # The kernels bind their own threads: the schedule only has to hold the extern stages.
    outs = [outs] if isinstance(outs, Tensor) else list(outs)
    return te.create_schedule([o.op for o in outs])


def schedule_sort(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule for ``topi.cuda.sort``."""
    return _schedule(outs)


def schedule_argsort(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule for ``topi.cuda.argsort``."""
    return _schedule(outs)


def schedule_topk(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule for ``topi.cuda.topk``."""
    return _schedule(outs)
