"""``schedule_extern``: the schedule of an extern stage (a packed-function call, an ir_builder
body) and the injective ops after it, as TVM's ``topi.generic.schedule_extern``."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.inline import AutoInlineInjective
from ...schedule.schedule import Schedule, create_schedule
from ...te.extern import ExternOp
from ...te.tensor import ComputeOp, Tensor
from .helpers import as_tensors


def schedule_extern(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """A schedule of ``outs``: every injective stage that is not an output inlined (into the
    outputs computed after the extern stages), the loops of each computed output fused into one;
    extern outputs stay as they are."""
    tensors = as_tensors(outs)
    sch = create_schedule([t.op for t in tensors])
    AutoInlineInjective(sch)
    for t in tensors:
        if isinstance(t.op, ComputeOp) and not isinstance(t.op, ExternOp) and t.op.axis:
            sch[t].fuse(*sch[t].op.axis)
    return sch
