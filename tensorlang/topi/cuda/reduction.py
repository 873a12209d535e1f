"""Reductions on GPUs (``topi.sum/max/min/prod/all/any/argmax/argmin``).  Few outputs with long
reductions: one block per output, its threads each reduce a strided part and then combine their
partial results across ``threadIdx.x`` (an all-reduce).  Many outputs, or short reductions: one
thread per output reducing serially.  An elementwise op after the reduction shares its kernel."""

from __future__ import annotations

from collections.abc import Sequence

from ... import te
from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from ..generic.helpers import const_size, out_size, schedule_reductions
from .injective import bind_threads, max_threads

# An all-reduce pays when the reduction has at least a warp's worth of elements and either the
# outputs are too few to fill the GPU with one thread each or every output's reduction is long.
MIN_ALL_REDUCE = 32
FEW_OUTPUTS = 4096


def pow2_at_most(n: int) -> int:
    """The largest power of two not above ``n`` (1 for n < 1)."""
    return 1 << (max(n, 1).bit_length() - 1)


def use_all_reduce(n_out: int | None, n_red: int | None) -> bool:
    """Whether a reduction of ``n_red`` elements to each of ``n_out`` outputs gets a block per output."""
    if n_red is None:
        return n_out is not None and n_out <= FEW_OUTPUTS
    if n_red < MIN_ALL_REDUCE:
        return False
    return n_out is not None and (n_out <= FEW_OUTPUTS or n_red >= 4 * n_out)


def schedule_reduction_at(sch: Schedule, red: ComputeOp, anchor: Tensor) -> None:
    """Schedule reduction ``red`` in the kernel of ``anchor``: ``red``'s own output, or a consumer
    (argmax's index copy, an elementwise op) that reads one element of it per element."""
    n_red = const_size([iv.dom.extent for iv in red.reduce_axis])
    stage = sch[red]
    if not use_all_reduce(out_size(red), n_red):
        if anchor.op is red:
            bind_threads(sch, anchor)
        else:
            _, tx = bind_threads(sch, anchor)
            stage.compute_at(sch[anchor], tx)
        return
    # a power of two: partial results then combine by warp shuffles
    limit = pow2_at_most(max_threads())
    num_thread = min(limit, pow2_at_most(n_red)) if n_red is not None else limit
    thread_x = te.thread_axis("threadIdx.x")
    block_x = te.thread_axis("blockIdx.x")
    _, ki = stage.split(stage.fuse(*red.reduce_axis), factor=num_thread)
    stage.bind(ki, thread_x)
    if anchor.op is red:
        stage.bind(stage.fuse(*red.axis), block_x)
    else:
        # one block per anchor element; its threads' partial results combine into one value, which
        # the anchor reads (every thread of the block writes the same element)
        bx = sch[anchor].fuse(*anchor.op.axis)
        sch[anchor].bind(bx, block_x)
        stage.compute_at(sch[anchor], bx)
    stage.set_store_predicate(thread_x.var.equal(0))


def schedule_reduce(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule reductions (and elementwise ops after them) for CUDA."""
    return schedule_reductions(outs, schedule_reduction_at, bind_threads)
