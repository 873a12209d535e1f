"""softmax and log_softmax on CPUs: the rows (all axes but the softmax axis, fused) run in
parallel; each row's maximum, exponentials and sum are computed in its iteration, and the row is
vectorised when the softmax axis is the innermost one."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule, Stage, create_schedule
from ...te.tensor import IterVar, Tensor
from ..generic.helpers import as_tensors, const_size, softmax_stages
from .injective import parallel_vectorize, vector_lanes


def _vectorize_row(stage: Stage, row: IterVar, lanes: int) -> None:
    """Vectorise ``row`` whole, or split into vectors of ``lanes`` when it is longer."""
    extent = const_size([row.dom.extent])
    if extent is None or extent > lanes:
        _, xi = stage.split(row, factor=lanes)
        stage.vectorize(xi)
    elif extent > 1:
        stage.vectorize(row)


def schedule_softmax(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.softmax`` / ``log_softmax`` (``outs[0]``, or an elementwise op after it) for x86."""
    tensors = as_tensors(outs)
    sch = create_schedule([t.op for t in tensors])
    out = tensors[0]
    anchor, sm, maxelem, expo, expsum = softmax_stages(sch, out)
    if anchor.op is not out.op:  # an op after the softmax reading it by another shape: its own loops
        parallel_vectorize(sch, out)
    outputs = {id(o) for o in sch.outputs}

    ax = int(sm.attrs["axis"])
    innermost = ax == len(anchor.shape) - 1
    axes = list(anchor.op.axis)
    row = axes[ax]
    outer = axes[:ax] + axes[ax + 1:]
    stage = sch[anchor]
    fused = None
    if outer:
        stage.reorder(*outer, row)
        fused = stage.fuse(*outer)
        stage.parallel(fused)
    if innermost:
        _vectorize_row(stage, row, vector_lanes(anchor))
    # the exponentials are kept in a row buffer, read by the sum and by the output
    for part in (maxelem, expo, expsum):
        if part is None or id(part) in outputs:
            continue
        if fused is not None:
            sch[part].compute_at(stage, fused)
    if expo is not None and innermost and id(expo) not in outputs:
        _vectorize_row(sch[expo], expo.axis[ax], vector_lanes(expo.output(0)))
    return sch
