"""Pooling on GPUs (``topi.nn.pool2d``, ``global_pool``, ``adaptive_pool``): one thread per output
element (the output's loops fused and split over blocks of ``max_num_threads``), the padding and
other elementwise stages inlined, the window reductions computed in each thread's registers.  ``lrn``
(a window sum over channels) takes the same schedule; ``pool_grad`` runs each of its reductions (the
argmax of each window, then the sum of gradients) as its own kernel, one thread per element."""

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


def schedule_lrn(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.lrn`` for CUDA: one thread per output element, its window sum in the thread."""
    return schedule_each(outs, schedule_pool_output)


def _pool_grad_output(sch: Schedule, out: Tensor) -> None:
    if not isinstance(out.op, ComputeOp):
        return
    reductions = inline_all(sch, out)
    bind_threads(sch, out)
    # each reduction a kernel of its own: the gradient sum reads the argmax of several windows
    for red in reductions:
        bind_threads(sch, red.output(0))


def schedule_pool_grad(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.pool_grad`` (max or average) for CUDA."""
    return schedule_each(outs, _pool_grad_output)
