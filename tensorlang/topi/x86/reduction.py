"""Reductions on CPUs (``topi.sum/max/min/prod/all/any/argmax/argmin``): the data-parallel loops of
the reduction fused and run in parallel, each output reduced serially in its thread; the
elementwise ops feeding it inlined, and an elementwise op after it given the reduction's loops."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from .. import tag
from ..generic.helpers import schedule_reductions
from .injective import parallel_fused, parallel_vectorize


def schedule_reduction_at(sch: Schedule, red: ComputeOp, anchor: Tensor) -> None:
    """Schedule reduction ``red`` in the loops of ``anchor``: ``red``'s own output, or a consumer
    (argmax's index copy, an elementwise op) with as many elements."""
    if anchor.op is red:
        parallel_fused(sch, anchor)
        return
    at = parallel_vectorize(sch, anchor) if tag.is_injective(anchor.op.tag) else parallel_fused(sch, anchor)
    if at is not None:
        sch[red].compute_at(sch[anchor], at)
    else:
        parallel_fused(sch, red.output(0))


def schedule_reduce(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule reductions (and elementwise ops after them) for x86."""
    return schedule_reductions(outs, schedule_reduction_at, parallel_vectorize)
