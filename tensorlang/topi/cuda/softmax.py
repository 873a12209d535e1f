"""softmax and log_softmax on GPUs: one block per row (all axes but the softmax axis, fused), its
threads strided across the row; the row's maximum and sum of exponentials are cross-thread
reductions computed inside the block, the exponentials recomputed where they are read."""

from __future__ import annotations

from collections.abc import Sequence

from ... import te
from ...schedule.schedule import Schedule, create_schedule
from ...te.tensor import Tensor
from ..generic.helpers import as_tensors, const_size, softmax_stages
from .injective import bind_threads, max_threads
from .reduction import pow2_at_most


def schedule_softmax(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.softmax`` / ``log_softmax`` (``outs[0]``, or an elementwise op after it) for CUDA."""
    tensors = as_tensors(outs)
    sch = create_schedule([t.op for t in tensors])
    out = tensors[0]
    anchor, sm, maxelem, expo, expsum = softmax_stages(sch, out)
    if anchor.op is not out.op:  # an op after the softmax reading it by another shape: its own kernel
        bind_threads(sch, out)
    outputs = {id(o) for o in sch.outputs}
    if expo is not None and id(expo) not in outputs:
        sch[expo].compute_inline()  # exp(x - max) recomputed by the sum and the output: no row buffer

    ax = int(sm.attrs["axis"])
    axes = list(anchor.op.axis)
    row = axes[ax]
    outer = axes[:ax] + axes[ax + 1:]
    stage = sch[anchor]
    if outer:
        stage.reorder(*outer, row)
    bx = stage.fuse(*outer)
    length = const_size([row.dom.extent])
    limit = pow2_at_most(max_threads())
    num_thread = min(limit, pow2_at_most(length)) if length is not None else limit
    thread_x = te.thread_axis("threadIdx.x")
    _, xi = stage.split(row, factor=num_thread)
    stage.bind(bx, te.thread_axis("blockIdx.x"))
    stage.bind(xi, thread_x)
    for red in (maxelem, expsum):
        red_stage = sch[red]
        red_stage.compute_at(stage, bx)
        _, ki = red_stage.split(red.reduce_axis[0], factor=num_thread)
        red_stage.bind(ki, thread_x)
        red_stage.set_store_predicate(thread_x.var.equal(0))
    return sch
