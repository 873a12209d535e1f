"""Elementwise, broadcast and injective ops on GPUs: the output's loops fused into one, split into
blocks of the target's ``max_num_threads`` threads (``blockIdx.x`` x ``threadIdx.x``), the
injective ops feeding it inlined."""

from __future__ import annotations

from collections.abc import Sequence

from ... import te
from ...schedule.schedule import Schedule
from ...target import Target
from ...te.tensor import IterVar, Tensor
from ..generic.helpers import out_size, schedule_each


def max_threads() -> int:
    """The current target's threads per block (TVM's ``Target.current().max_num_threads``)."""
    return int(Target.current(allow_none=False).max_num_threads)


def bind_threads(sch: Schedule, out: Tensor, num_thread: int | None = None) -> tuple[IterVar, IterVar]:
    """Fuse the loops of ``out``, split them by ``num_thread`` (default: the target's maximum) and bind
    the parts to ``blockIdx.x`` and ``threadIdx.x``; returns (block axis, thread axis)."""
    stage = sch[out]
    fused = stage.fuse(*stage.op.axis)
    limit = num_thread or max_threads()
    size = out_size(out.op)
    factor = max(1, min(limit, size)) if size is not None else limit
    bx, tx = stage.split(fused, factor=factor)
    stage.bind(bx, te.thread_axis("blockIdx.x"))
    stage.bind(tx, te.thread_axis("threadIdx.x"))
    return bx, tx


def schedule_injective_from_existing(sch: Schedule, out: Tensor) -> Schedule:
    """Bind the loops of ``out`` to blocks and threads in the existing schedule ``sch``."""
    bind_threads(sch, out)
    return sch


def schedule_injective(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule injective ``outs`` for CUDA: producers inlined, each output one block/thread grid."""
    return schedule_each(outs, schedule_injective_from_existing, inline=True)


def schedule_elemwise(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule elementwise ``outs`` for CUDA (as ``schedule_injective``)."""
    return schedule_injective(outs)


def schedule_broadcast(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule broadcast ``outs`` for CUDA (as ``schedule_injective``)."""
    return schedule_injective(outs)
