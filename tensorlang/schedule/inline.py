"""Inlining: the body of every computed stage with the stages marked compute_inline
substituted into it (transitively), so later steps never see an inlined tensor."""

from __future__ import annotations

from typing import Any

from ..errors import ScheduleError
from ..te import expr as E
from ..te.expr import PrimExpr, TensorRead, Var
from ..te.functor import Mutator, free_vars, post_order_visit, substitute
from ..te.tensor import ComputeOp, Tensor
from ..te.tensor_intrin import TensorComputeOp
from .schedule import Schedule, Stage


class _Inline(Mutator):
    def __init__(self, defs: dict[Tensor, tuple[list[Var], PrimExpr]]):
        super().__init__()
        self.defs = defs

    def visit_TensorRead(self, node: TensorRead) -> PrimExpr:
        idx = tuple(self.visit(i) for i in node.indices)
        d = self.defs.get(node.tensor)
        if d is None:
            return node.with_fields(indices=idx)
        params, body = d
        # An index of another integer type (an int64 index tensor's element) takes the axis's
        # type: the body's index arithmetic is in it, and an in-bounds index fits it.
        return substitute(body, {p: i if i.dtype == p.dtype else E.cast(i, p.dtype) for p, i in zip(params, idx)})


def effective_bodies(sch: Schedule) -> dict[Stage, tuple[PrimExpr, ...]]:
    """Bodies of all computed, non-inlined stages with inlined stages substituted."""
    defs: dict[Tensor, tuple[list[Var], PrimExpr]] = {}
    out: dict[Stage, tuple[PrimExpr, ...]] = {}
    for st in sch.stages:
        op = st.op
        if not isinstance(op, ComputeOp):
            continue
        if isinstance(op, TensorComputeOp):
            inlined = [t.name for t in op.input_tensors if t in defs]
            if inlined:
                raise ScheduleError(f"stage {op.name} runs a tensor intrinsic on regions of {', '.join(inlined)}, "
                                    "which is inlined; a region needs storage: compute it at root or compute_at")
        body = tuple(_Inline(defs).visit(b) for b in op.body) if defs else op.body
        if st.attach_type == "inline":
            params = [iv.var for iv in op.axis]
            for i, b in enumerate(body):
                defs[op.output(i)] = (params, b)
        else:
            out[st] = body
    return out


def reads_of(body: tuple[PrimExpr, ...]) -> list[TensorRead]:
    """Every tensor read in the bodies, in order, its indices free of the bodies' ``Let``
    variables (shared subexpressions, ``te.cse``): bound inference and index checks see them in
    terms of the loop variables, which is what they are outside the ``Let``."""
    found: list[TensorRead] = []
    lets: dict[Var, PrimExpr] = {}

    def fn(n: Any) -> None:
        if isinstance(n, TensorRead):
            found.append(n)
        elif isinstance(n, E.Let):
            lets[n.var] = n.value
    for b in body:
        post_order_visit(b, fn)
    if not lets:
        return found
    resolved: dict[Var, PrimExpr] = {}

    def value_of(v: Var) -> PrimExpr:
        if v not in resolved:  # a value uses only variables bound outside it: no cycle
            inner = [u for u in free_vars(lets[v]) if u in lets]
            resolved[v] = substitute(lets[v], {u: value_of(u) for u in inner}) if inner else lets[v]
        return resolved[v]
    out = []
    for rd in found:
        used = [u for i in rd.indices for u in free_vars(i) if u in lets]
        if used:
            mapping = {u: value_of(u) for u in used}
            rd = rd.with_fields(indices=tuple(substitute(i, mapping) for i in rd.indices))
        out.append(rd)
    return out


def _auto_inline(sch: Any, accept: Any) -> None:
    for st in sch.stages:
        op = st.op
        if (type(op) is ComputeOp and not op.reduce_axis and not st.is_output and st.attach_type == "root"
                and accept(op)):
            st.compute_inline()


def _reads_match(op: Any, index_ok: Any) -> bool:
    axes = [iv.var for iv in op.axis]
    return all(index_ok(list(rd.indices), axes) for b in op.body for rd in reads_of((b,)))


def AutoInlineElemWise(sch: Any) -> None:  # noqa: N802 - TVM's name
    """Inline every stage that reads its inputs at exactly its own output index."""
    _auto_inline(sch, lambda op: _reads_match(op, lambda idx, axes: len(idx) == len(axes) and
                                              all(i is v for i, v in zip(idx, axes))))


def AutoInlineBroadcast(sch: Any) -> None:  # noqa: N802
    """Inline every elementwise or broadcasting stage (each index an own axis or a constant)."""
    _auto_inline(sch, lambda op: _reads_match(op, lambda idx, axes: all(
        isinstance(i, E.IntImm) or any(i is v for v in axes) for i in idx)))


def AutoInlineInjective(sch: Any) -> None:  # noqa: N802
    """Inline every stage without a reduction."""
    _auto_inline(sch, lambda op: True)
