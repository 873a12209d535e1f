"""Out-of-bounds reads found at lower time: every read a stage makes whatever its conditions
(not under an if_then_else branch or a reduction's where=) must stay inside the read tensor's
declared shape over the stage's whole domain; otherwise a LoweringError names the stage, the
tensor, the dimension, the index and the range it reaches.

Only stages computed at root are checked (they compute their whole domain), and only where
the bounds are constants; a guarded read (``te.if_then_else(i > 0, A[i - 1], 0)``) is left to
the guard.
"""

from __future__ import annotations

from typing import Any

from ..arith import Interval, const_bound
from ..errors import LoweringError
from ..te import expr as E
from ..te.functor import children
from .schedule import Schedule, Stage


def check_reads_in_bounds(sch: Schedule, bodies: dict[Stage, tuple[E.PrimExpr, ...]]) -> None:
    """LoweringError for the first unconditional read outside its tensor's shape."""
    for st, body in bodies.items():
        if st.attach_type != "root":
            continue
        op = st.op
        ranges: dict[E.Var, Interval] = {}
        for iv in list(op.axis) + list(getattr(op, "reduce_axis", ())):
            lo, ext = iv.dom.min, iv.dom.extent
            if not (isinstance(lo, E.IntImm) and isinstance(ext, E.IntImm)) or ext.value <= 0:
                break
            dt = iv.var.dtype
            ranges[iv.var] = Interval(E.const(lo.value, dt), E.const(lo.value + ext.value - 1, dt))
        else:
            for read in _unconditional_reads(body):
                _check(st, read, ranges)


def _unconditional_reads(body: tuple[E.PrimExpr, ...]) -> list[E.TensorRead]:
    found: list[E.TensorRead] = []
    seen: set[int] = set()
    stack: list[Any] = list(body)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, E.TensorRead):
            found.append(node)
        if isinstance(node, E.Select):
            stack.append(node.condition)
        elif isinstance(node, E.Reduce):
            always = isinstance(node.condition, E.IntImm) and node.condition.value
            stack.extend(node.source if always else ())
        else:
            stack.extend(children(node))
    return found


def _check(st: Stage, read: E.TensorRead, ranges: dict[E.Var, Interval]) -> None:
    tensor = read.tensor
    for d, (idx, size) in enumerate(zip(read.indices, tensor.shape)):
        if not isinstance(size, E.IntImm):
            continue
        lo, hi = const_bound(idx, ranges)
        if lo is None or hi is None:
            continue
        if lo < 0 or hi >= size.value:
            raise LoweringError(
                f"stage {st.op.name} reads {tensor.name}[{', '.join(str(i) for i in read.indices)}] out of "
                f"bounds: index {d} ('{idx}') reaches {lo}..{hi} but dimension {d} of {tensor.name} has "
                f"size {size.value}; guard the read with te.if_then_else or shrink the compute's shape")
