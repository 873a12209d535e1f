"""Pooling on CPUs (``topi.nn.pool2d``, ``global_pool``, ``adaptive_pool``): the padding and other
elementwise stages inlined; a pooling output runs its fused loops in parallel, an elementwise
output after the pooling is vectorised along its innermost axis with the window reductions
computed per row inside its parallel loop."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from .. import tag
from ..generic.helpers import inline_all, schedule_each
from .injective import parallel_fused, parallel_vectorize


def schedule_pool_output(sch: Schedule, out: Tensor) -> None:
    """Parallel loops for ``out``; the stages it reads inlined, or computed inside them."""
    if not isinstance(out.op, ComputeOp):
        return
    reductions = inline_all(sch, out)
    at = parallel_vectorize(sch, out) if tag.is_injective(out.op.tag) else parallel_fused(sch, out)
    for red in reductions:
        if at is not None:
            sch[red].compute_at(sch[out], at)
        else:
            parallel_fused(sch, red.output(0))


def schedule_pool(outs: Tensor | Sequence[Tensor], layout: str = "NCHW") -> Schedule:
    """Schedule ``topi.nn.pool2d`` (and elementwise ops after it) for x86, in any layout."""
    return schedule_each(outs, schedule_pool_output)


def schedule_adaptive_pool(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.adaptive_pool`` / ``global_pool`` (and elementwise ops after it) for x86."""
    return schedule_pool(outs)
