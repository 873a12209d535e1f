"""What a call must meet before code runs, gathered at lower time: every symbolic split factor
(or nparts) is at least 1, every size the code computes from the scalar parameters in a
32-bit dtype (a loop's bounds, an allocation, an argument's shape) fits it, and every
unconditional read whose reach is symbolic stays inside its tensor (read_bounds).

Guarantees: each CallCheck uses only scalar parameters and shape variables (what the runtime
knows before calling), so the binder can evaluate it exactly; a split factor of 0 bound at
call time is an ArgumentError, never a loop that runs zero times, and a symbolic product past
2**31 - 1 in int32 is an ArgumentError, never a wrapped size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..arith import structural_key
from ..ir.function import Buffer, CallCheck
from ..ir.stmt import Allocate, For, ForKind, Stmt
from ..schedule.read_bounds import ReadMargin
from ..schedule.relations import Split
from ..schedule.schedule import Schedule
from ..te import expr as E
from ..te.functor import free_vars, post_order_visit


def call_checks(sch: Schedule, params: list[Buffer | E.Var], body: Stmt,
                reads: Sequence[ReadMargin] = (), extra: Sequence[CallCheck] = ()) -> list[CallCheck]:
    """The checks of a function with ``params`` (shape variables included) and ``body``, plus
    ``reads`` (schedule.read_bounds.symbolic_read_checks) and ``extra`` checks made elsewhere
    (empty_reductions)."""
    known = {p for p in params if isinstance(p, E.Var)}
    if not known:  # every size is a constant, checked at lower time: nothing is left for the call
        return []
    checks: dict[Any, CallCheck] = {}  # one check per (kind, value)

    def add(check: CallCheck) -> None:
        if isinstance(check.value, E.IntImm) or not free_vars(check.value) <= known:
            return
        checks.setdefault((check.minimum, structural_key(check.value)), check)

    for st in sch.stages:
        for rel in st.relations:
            if isinstance(rel, Split):
                kind = "factor" if rel.factor is not None else "nparts"
                value = rel.factor if rel.factor is not None else rel.nparts
                add(CallCheck(value, f"the split {kind} of axis {rel.parent.name} of stage {st.op.name}",
                              minimum=1))
    for r in reads:
        add(CallCheck(r.margin, r.what, minimum=0, message=r.message))
    for c in extra:
        add(c)
    narrow: list[CallCheck] = []

    def size(e: Any, what: str) -> None:
        if isinstance(e, E.PrimExpr) and e.dtype.is_int and e.dtype.bits <= 32 and _computes(e):
            narrow.append(CallCheck(e, what, fits=e.dtype))

    for p in params:
        if isinstance(p, Buffer):
            for d, dim in enumerate(p.shape):
                size(dim, f"dimension {d} of {p.name}")

    def visit(n: Any) -> None:
        if isinstance(n, For):
            size(n.min, f"the start of loop {n.loop_var.name}")
            size(n.extent, f"the extent of loop {n.loop_var.name}")
            wide = n.extent.value if isinstance(n.extent, E.Cast) else None
            if n.kind is ForKind.THREAD_BINDING and wide is not None and wide.dtype.bits > 32:
                # a 64-bit extent narrowed to a 32-bit GPU index (schedule_ops._narrow_thread_loop)
                what = f"the extent of loop {n.loop_var.name} (bound to {n.thread_tag})"
                narrow.append(CallCheck(E.const(2**31 - 1, wide.dtype) - wide, what, minimum=0,
                                        message=f"{what} is {wide}, more than a GPU index can count (2**31 - 1)"))
        elif isinstance(n, Allocate):
            size(n.extent, f"the size of {n.buffer.name}")
    post_order_visit(body, visit)
    for c in narrow:
        add(c)
    return list(checks.values())


def _computes(e: E.PrimExpr) -> bool:
    """Whether ``e`` does arithmetic (a bare variable or constant cannot overflow), all of it
    in its own dtype (no casts, whose steps the check would misread)."""
    if isinstance(e, (E.Var, E.IntImm)):
        return False
    same = True

    def fn(n: Any) -> None:
        nonlocal same
        if isinstance(n, E.Cast) or (isinstance(n, E.PrimExpr) and not isinstance(n, E.CmpOp)
                                     and n.dtype != e.dtype):
            same = False
    post_order_visit(e, fn)
    return same
