"""Elementwise, broadcast and injective ops on CPUs: the injective ops feeding the output inlined,
its innermost axis vectorised (split into 64-byte vectors when it is longer), the loops outside
the vectors fused and run in parallel."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.tensor import IterVar, Tensor
from ..generic.helpers import const_size, schedule_each

VECTOR_BYTES = 64
MAX_LANES = 16


def vector_lanes(t: Tensor) -> int:
    """Elements of ``t`` in one vector register of 64 bytes (at most 16)."""
    return max(1, min(MAX_LANES, VECTOR_BYTES // t.dtype.bytes))


def parallel_vectorize(sch: Schedule, out: Tensor) -> IterVar | None:
    """Vectorise the innermost axis of ``out`` and run the loops outside it in parallel (fused);
    returns the innermost loop outside the vectors (None when there is none: 0-d, or one short axis)."""
    stage = sch[out]
    axes = list(out.op.axis)
    if not axes:
        return None
    inner = axes[-1]
    lanes = vector_lanes(out)
    extent = const_size([inner.dom.extent])
    outer = axes[:-1]
    if extent is None or extent > lanes:
        xo, xi = stage.split(inner, factor=lanes)  # a tail that does not divide is guarded
        stage.vectorize(xi)
        if not outer:
            stage.parallel(xo)
            return xo
    elif extent > 1:
        stage.vectorize(inner)
    if not outer:
        return None
    fused = stage.fuse(*outer)
    stage.parallel(fused)
    return fused


def parallel_fused(sch: Schedule, out: Tensor) -> IterVar | None:
    """Fuse all loops of ``out`` (a reduction's: its data-parallel ones) and run them in parallel."""
    if not out.op.axis:
        return None
    fused = sch[out].fuse(*out.op.axis)
    sch[out].parallel(fused)
    return fused


def schedule_injective_from_existing(sch: Schedule, out: Tensor) -> Schedule:
    """Vectorise and parallelise the loops of ``out`` in the existing schedule ``sch``."""
    parallel_vectorize(sch, out)
    return sch


def schedule_injective(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule injective ``outs`` for x86: producers inlined, outer loops parallel, inner vectorised."""
    return schedule_each(outs, schedule_injective_from_existing, inline=True)


def schedule_elemwise(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule elementwise ``outs`` for x86 (as ``schedule_injective``)."""
    return schedule_injective(outs)


def schedule_broadcast(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule broadcast ``outs`` for x86 (as ``schedule_injective``)."""
    return schedule_injective(outs)


CONCAT_VECTOR_LIMIT = 64


def schedule_concatenate(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.concatenate`` outputs for x86: producers inlined, the leading axes fused and run
    in parallel, the innermost axis vectorised (whole up to 64 elements, else by its largest divisor
    up to 64), as TVM's x86 schedule does."""

    def per_output(sch: Schedule, out: Tensor) -> None:
        axes = list(out.op.axis)
        if not axes:
            return
        stage = sch[out]
        if len(axes) > 1:
            extent = const_size([axes[-1].dom.extent])
            if extent is not None and extent > 1:
                factor = max(d for d in range(1, min(extent, CONCAT_VECTOR_LIMIT) + 1) if extent % d == 0)
                if factor == extent:
                    stage.vectorize(axes[-1])
                elif factor > 1:
                    stage.vectorize(stage.split(axes[-1], factor=factor)[1])
            outer = axes[:min(3, len(axes) - 1)]
        else:
            outer = axes
        stage.parallel(stage.fuse(*outer))

    return schedule_each(outs, per_output, inline=True)
