"""cumsum and cumprod along one axis (TVM's ``topi.cumsum/cumprod``), as loop IR.

Each is a ``te.extern`` stage written with ``tir.ir_builder``: a running total is a sequential
recurrence along the axis, which ``te.compute`` cannot express without a reduction per element
(quadratic work), and an ``ir_builder`` loop runs it in one pass with no numpy callback, so the
same declaration compiles for GPUs too.  The loop nest depends on the target current at
declaration (as TVM picks ``topi.cuda.cumsum`` for GPUs):

* CPU (no target, or ``llvm``): ``for outer (parallel) / for k along the axis / for inner``,
  each row computed from the row before it, the innermost loop contiguous in memory.
* GPU (``with Target("cuda")``, ``cuda -emulate`` included): one thread per line along the axis
  (``blockIdx.x`` x ``threadIdx.x`` over the other dimensions), each walking its line serially.
  A line is not split among threads (no parallel-prefix scan), so a long axis with few lines,
  such as ``axis=None``, runs on few threads: correct, not fast.

Either way the stage builds with a plain ``te.create_schedule(out.op)`` (an extern stage has no
loops to schedule) and can feed later compute stages.  Values are accumulated in the output
dtype, element by element as numpy does, so integers wrap as ``np.cumsum(x, dtype=...)`` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..ir import builder as ir_builder
from ..ir.stmt import Evaluate, For, ForKind
from ..target import Target
from ..te.dtype import as_dtype
from ..te.expr import PrimExpr, Var, const
from ..te.tensor import Tensor
from .transform import normalize_axis
from .utils import get_const_int, prod


def _const_or_none(e: Any) -> int | None:
    try:
        return get_const_int(e)
    except ExprError:
        return None


def _out_dtype(op: str, data: Tensor, dtype: Any) -> str:
    """The output and accumulator dtype: ``dtype``, else data's (TVM keeps int32 as int32, where
    numpy would widen it); bool data, which cannot hold a count, sums as int64 as numpy does."""
    if dtype is None or dtype == "":
        return "int64" if data.dtype.is_bool else str(data.dtype)
    dt = as_dtype(dtype)
    if dt.lanes != 1 or not (dt.is_int or dt.is_float):
        raise DTypeError(f"{op}: dtype {dt} cannot accumulate; use an integer or float type")
    return str(dt)


def _gpu_threads() -> int | None:
    """Threads per block when the current target is a GPU, else None (CPU loops)."""
    target = Target.current()
    if target is None or "gpu" not in target.keys:
        return None
    return int(target.max_num_threads)


def _scan(op: str, data: Tensor, axis: int | None, dtype: Any, exclusive: Any,
          combine: Callable[[PrimExpr, PrimExpr], PrimExpr], identity: int) -> Tensor:
    if not isinstance(data, Tensor):
        raise ExprError(f"{op}: data must be a tensor, got {type(data).__name__}")
    out_dtype = _out_dtype(op, data, dtype)
    if axis is None:
        # Like numpy, scan the flattened data: the buffer is already row-major, so the loops
        # just treat it as one line; the output is 1-D.
        total = prod(data.shape) if data.shape else 1
        out_shape: list[Any] = [total]
        outer: Any = 1
        length: Any = total
        inner: Any = 1
    else:
        if not data.shape:
            raise ExprError(f"{op}: data {data.name} is a scalar, so axis {axis} is out of range; pass axis=None")
        ax = normalize_axis(axis, len(data.shape), op)
        out_shape = list(data.shape)
        outer = prod(data.shape[:ax])
        length = data.shape[ax]
        inner = prod(data.shape[ax + 1:])
    exclusive = bool(exclusive)
    sizes = [_const_or_none(e) for e in (outer, length, inner)]
    symbolic = [e for e in (outer, length, inner) if isinstance(e, PrimExpr) and _const_or_none(e) is None]
    if not symbolic:
        # 64-bit loop variables once a flat index can pass int32.
        index_dtype = "int64" if sizes[0] * sizes[1] * sizes[2] > 2 ** 31 - 1 else "int32"
    else:
        # The size variables' own width (the call-time size check guards an int32 overflow).
        index_dtype = "int64" if any(e.dtype.bits == 64 for e in symbolic) else "int32"
    outer, length, inner = (const(s, index_dtype) if s is not None else e.astype(index_dtype)
                            for s, e in zip(sizes, (outer, length, inner)))
    # A symbolic axis length may be 0 at run time, when there is no element 0 to start from.
    guard = sizes[1] is None
    threads = _gpu_threads()

    def fcompute(ins: list, outs: list) -> Any:
        if 0 in sizes:
            return Evaluate(const(0))  # an empty output: nothing to write
        ib = ir_builder.create()
        src = ib.buffer_ptr(ins[0])
        dst = ib.buffer_ptr(outs[0])

        def start(here: PrimExpr) -> None:
            # Element 0 of a line starts the total; the exclusive form starts from the identity.
            dst[here] = const(identity, out_dtype) if exclusive else src[here].astype(out_dtype)

        def step(here: PrimExpr, prev: PrimExpr) -> None:
            # Element k's total from element k - 1's; the exclusive form adds element k - 1.
            dst[here] = combine(dst[prev], src[prev if exclusive else here].astype(out_dtype))

        if threads is None:
            with ib.for_range(0, outer, name="outer", dtype=index_dtype, kind="parallel") as o:
                base = o * length * inner
                with _maybe_if(ib, guard, length > 0):
                    if sizes[2] == 1:  # the axis is innermost: one line per outer index
                        start(base)
                        with ib.for_range(1, length, name="k", dtype=index_dtype) as k:
                            step(base + k, base + k - 1)
                    else:
                        # Row by row, so that the innermost loop runs along contiguous memory.
                        with ib.for_range(0, inner, name="inner", dtype=index_dtype) as i:
                            start(base + i)
                        with ib.for_range(1, length, name="k", dtype=index_dtype) as k:
                            with ib.for_range(0, inner, name="inner", dtype=index_dtype) as i:
                                step(base + k * inner + i, base + (k - 1) * inner + i)
            return ib.get()

        lines = outer * inner
        per_block = threads if None in (sizes[0], sizes[2]) else max(1, min(threads, sizes[0] * sizes[2]))
        bx, tx = Var("blockIdx.x", "int32"), Var("threadIdx.x", "int32")
        line = bx.astype(index_dtype) * per_block + tx.astype(index_dtype)
        with ib.if_scope(line < lines):
            # Neighbouring threads take neighbouring inner indices: coalesced when inner > 1.
            base = (line // inner) * length * inner + line % inner
            with _maybe_if(ib, guard, length > 0):
                start(base)
                with ib.for_range(1, length, name="k", dtype=index_dtype) as k:
                    step(base + k * inner, base + (k - 1) * inner)
        blocks = ((lines + (per_block - 1)) // per_block).astype("int32")
        body = For(tx, const(0, "int32"), const(per_block, "int32"), ForKind.THREAD_BINDING, ib.get(), "threadIdx.x")
        return For(bx, const(0, "int32"), blocks, ForKind.THREAD_BINDING, body, "blockIdx.x")

    return te.extern(out_shape, [data], fcompute, name=f"{op}_generic", dtype=out_dtype, tag=f"{op}_generic")


def _maybe_if(ib: ir_builder.IRBuilder, needed: bool, cond: PrimExpr) -> Any:
    """``ib.if_scope(cond)`` when ``needed``, else a scope that adds nothing."""
    return ib.if_scope(cond) if needed else contextlib.nullcontext()


def cumsum(data: Tensor, axis: int | None = None, dtype: str | None = None, exclusive: bool | None = None) -> Tensor:
    """Running sums of ``data`` along ``axis`` (of the flattened data when None), in ``dtype``
    (default data's); ``exclusive`` leaves each element out of its own sum (the first is 0)."""
    return _scan("cumsum", data, axis, dtype, exclusive, lambda a, b: a + b, 0)


def cumprod(data: Tensor, axis: int | None = None, dtype: str | None = None, exclusive: bool | None = None) -> Tensor:
    """Running products of ``data`` along ``axis`` (of the flattened data when None), in ``dtype``
    (default data's); ``exclusive`` leaves each element out of its own product (the first is 1)."""
    return _scan("cumprod", data, axis, dtype, exclusive, lambda a, b: a * b, 1)


__all__ = ["cumsum", "cumprod"]
