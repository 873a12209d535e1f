"""extern_bounds: guarantees that an extern stage (te.extern, a hybrid script) whose code surely
reads or writes past one of its own tensors, or past a scratch buffer it allocates itself with a
constant size (``ib.allocate``), is refused at lowering, naming the stage, the tensor or buffer
and the index, instead of corrupting memory when it runs.

"Surely": the access sits under no condition (or only under conditions true at every point of
the loops around it, such as a thread-index guard that the launch extents always meet), every
loop around it (serial or bound to a GPU index) has a constant extent of at least 1, and its
index (or a vector index's first and last lanes) is linear in those loops' variables with
constant coefficients, so the loops reach the index's extremes; the tensor has a constant shape
and no strides or offset.  An access it cannot decide so (data-dependent indices, accesses under
a condition that may fail) is left alone: ``-bounds-check`` targets check every access at run
time.
"""

from __future__ import annotations

import math
from typing import Any

from ..arith.analyzer import detect_linear_equation
from ..arith.interval import Interval
from ..arith.simplify import can_prove
from ..errors import LoweringError
from ..ir.stmt import Allocate, For, IfThenElse, Store
from ..te.expr import Call, IntImm, Load, PrimExpr, Ramp, Select, Var, const
from ..te.extern import ExternOp
from ..te.functor import Visitor, free_vars


def check_extern_bounds(op: ExternOp) -> None:
    """Raise LoweringError for an access of ``op``'s body that surely leaves its tensor, or a
    scratch buffer the body allocates with a constant size."""
    sizes: dict[Var, tuple[int, str, str]] = {}
    for buf, t in list(zip(op.input_placeholders, op.inputs)) + list(zip(op.output_placeholders, op.outputs)):
        if buf.strides or (buf.elem_offset is not None and not _is_zero(buf.elem_offset)):
            continue
        if all(isinstance(d, IntImm) for d in buf.shape):
            sizes[buf.data] = (math.prod(d.value for d in buf.shape), t.name, "a tensor")
    body = op.extern_body
    if not isinstance(body, PrimExpr):
        _Check(op.name, sizes).visit(body)


def _is_zero(e: Any) -> bool:
    return isinstance(e, IntImm) and e.value == 0


class _Check(Visitor):
    def __init__(self, stage: str, sizes: dict[Var, tuple[int, str, str]]):
        super().__init__()
        self.stage, self.sizes = stage, sizes
        self.loops: list[tuple[Var, int, int]] = []  # (variable, min, extent) of the loops around
        self.conditional = 0  # > 0 under an if or a select: the access may never happen

    def visit_For(self, node: For) -> None:
        self.visit(node.min)
        self.visit(node.extent)
        if isinstance(node.min, IntImm) and isinstance(node.extent, IntImm) and node.extent.value >= 1:
            self.loops.append((node.loop_var, node.min.value, node.extent.value))
            self.visit(node.body)
            self.loops.pop()
        else:  # a loop that may not run: nothing in it surely happens
            self.conditional += 1
            self.visit(node.body)
            self.conditional -= 1

    def visit_Allocate(self, node: Allocate) -> None:
        self.visit(node.extent)
        if isinstance(node.extent, IntImm):  # a scratch buffer of known size: its accesses are checked too
            self.sizes[node.buffer] = (node.extent.value, node.buffer.name, f"a {node.scope or 'global'} buffer")
        self.visit(node.body)

    def visit_IfThenElse(self, node: IfThenElse) -> None:
        self.visit(node.condition)
        if self._always(node.condition):  # the then-branch surely runs, the else-branch never
            self.visit(node.then_case)
            return
        self.conditional += 1
        self.visit(node.then_case)
        if node.else_case is not None:
            self.visit(node.else_case)
        self.conditional -= 1

    def _always(self, cond: PrimExpr) -> bool:
        """Whether ``cond`` holds at every point of the loops around."""
        ranges = {v: Interval(const(start, v.dtype), const(start + extent - 1, v.dtype))
                  for v, start, extent in self.loops}
        try:
            return can_prove(cond, ranges)
        except Exception:  # noqa: BLE001 - a condition the simplifier cannot take is not known true
            return False

    def visit_Select(self, node: Select) -> None:
        self.visit(node.condition)
        self.conditional += 1
        self.visit(node.true_value)
        self.visit(node.false_value)
        self.conditional -= 1

    def visit_Call(self, node: Call) -> None:
        if node.name != "if_then_else":
            self.generic_visit(node)
            return
        self.visit(node.args[0])
        self.conditional += 1  # only the chosen branch runs
        for a in node.args[1:]:
            self.visit(a)
        self.conditional -= 1

    def visit_Load(self, node: Load) -> None:
        self.generic_visit(node)
        self._access(node.buffer, node.index, "reads")

    def visit_Store(self, node: Store) -> None:
        self.generic_visit(node)
        self._access(node.buffer, node.index, "writes")

    def _access(self, buffer: Var, index: PrimExpr, verb: str) -> None:
        known = self.sizes.get(buffer)
        if known is None or self.conditional:
            return
        first, span = index, 0
        if isinstance(index, Ramp):  # a vector access: its lanes reach base .. base + (lanes-1) stride
            if not isinstance(index.stride, IntImm):
                return
            first, span = index.base, index.stride.value * (index.lanes - 1)
        if first.dtype.lanes != 1:
            return
        size, name, kind = known
        variables = [v for v, _, _ in self.loops]
        coeffs = detect_linear_equation(first, variables)
        if not coeffs or not all(isinstance(c, IntImm) for c in coeffs):
            return
        *scales, base = (c.value for c in coeffs)
        lo, hi = base + min(0, span), base + max(0, span)
        for c, (_, start, extent) in zip(scales, self.loops):
            ends = (c * start, c * (start + extent - 1))
            lo, hi = lo + min(ends), hi + max(ends)
        if lo < 0 or hi >= size:
            where = ", ".join(f"{v.name} in [{start}, {start + extent})" for v, start, extent in self.loops
                              if v in free_vars(index))
            raise LoweringError(f"stage {self.stage}: its code {verb} {name}[{index}], element "
                                f"{lo if lo < 0 else hi} of {kind} of {size} elements"
                                + (f" (for {where})" if where else "")
                                + ("; it would run past the tensor's memory" if kind == "a tensor" else
                                   f"; it would run past the memory allocated for {name}"))
