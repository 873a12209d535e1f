"""Elementwise, broadcast and injective ops on GPUs: the output's loops fused into one, split into
blocks of the target's ``max_num_threads`` threads (``blockIdx.x`` x ``threadIdx.x``), the
injective ops feeding it inlined."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...schedule.schedule import Schedule
from ...target import Target
from ...te.tensor import ComputeOp, IterVar, Tensor
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


def _private_reductions(sch: Schedule, out: Tensor) -> list[Any]:
    """The stages of reductions left at the root that only ``out`` reads (directly or through stages
    inlined into it)."""
    reached, todo = {id(out.op)}, [out.op]
    while todo:  # out and the inlined stages it absorbed
        for t in todo.pop().input_tensors:
            st = sch.stage_map.get(id(t.op))
            if st is not None and st.attach_type == "inline" and id(t.op) not in reached:
                reached.add(id(t.op))
                todo.append(t.op)
    found = []
    for st in sch.stages:
        op = st.op
        if type(op) is not ComputeOp or not op.reduce_axis or st.is_output or st.attach_type != "root":
            continue
        readers = [r for r in sch.stages if any(t.op is op for t in r.op.input_tensors)]
        if readers and all(id(r.op) in reached for r in readers):
            found.append(st)
    return found


def schedule_injective_from_existing(sch: Schedule, out: Tensor) -> Schedule:
    """Bind the loops of ``out`` to blocks and threads in the existing schedule ``sch``.  A reduction
    that only ``out`` reads (``topi.sparse_to_dense`` finds each element's listing with one) cannot
    be inlined, and at the root it would run outside any kernel: each thread computes the part of
    it that the thread reads."""
    _, tx = bind_threads(sch, out)
    for st in _private_reductions(sch, out):
        st.compute_at(sch[out], tx)
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
