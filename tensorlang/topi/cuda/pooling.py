"""Pooling on GPUs (``topi.nn.pool2d``, ``global_pool``, ``adaptive_pool``): one thread per output
element (the output's loops fused and split over blocks of ``max_num_threads``), the padding and
other elementwise stages inlined, the window reductions computed in each thread's registers."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from ..generic.helpers import inline_all, schedule_each
from .injective import bind_threads


def schedule_pool_output(sch: Schedule, out: Tensor) -> None:
    """One thread per element of ``out``; the stages it reads inlined, or computed in its thread."""
    if not isinstance(out.op, ComputeOp):
        return
    reductions = inline_all(sch, out)
    _, tx = bind_threads(sch, out)
    for red in reductions:
        sch[red].compute_at(sch[out], tx)


def schedule_pool(outs: Tensor | Sequence[Tensor], layout: str = "NCHW") -> Schedule:
    """Schedule ``topi.nn.pool2d`` (and elementwise ops after it) for CUDA, in any layout."""
    return schedule_each(outs, schedule_pool_output)


def schedule_adaptive_pool(outs: Tensor | Sequence[Tensor], layout: str = "NCHW") -> Schedule:
    """Schedule ``topi.nn.adaptive_pool`` / ``global_pool`` (and elementwise ops after it) for CUDA."""
    return schedule_pool(outs, layout)
