"""TVM's ``te.schedule.InferBound``: the range of every loop of a schedule, as a mapping."""

from __future__ import annotations

from typing import Any

from ..arith import simplify
from ..errors import ScheduleError
from ..te.tensor import IterVar, Range
from .bound import infer_bound
from .inline import effective_bodies
from .schedule import Schedule


class Map(dict):
    """An IterVar -> Range mapping (TVM's ``tvm.container.Map`` as InferBound returns it);
    ``bounds`` and ``bodies`` keep what ``ScheduleOps`` needs."""

    bounds = None
    bodies = None


def InferBound(sch: Schedule) -> Map:  # noqa: N802 - TVM's name
    """The range (min, extent) of each axis of each computed stage, after bound inference."""
    sch.legalize_attachments()
    bodies = effective_bodies(sch)
    bounds = infer_bound(sch, bodies)
    out = Map()
    out.bounds, out.bodies = bounds, bodies
    for iv, rng in bounds.ranges.items():
        if isinstance(iv, IterVar):
            out[iv] = Range(simplify(rng.min), simplify(rng.extent))
    return out


def ScheduleOps(sch: Schedule, bounds: Map, debug_keep_trivial_loop: bool = False) -> Any:  # noqa: N802
    """TVM's ``te.schedule.ScheduleOps``: the loop nest of ``sch`` (before storage flattening)
    for the bounds ``InferBound(sch)`` returned."""
    from ..lowering.schedule_ops import schedule_ops  # the lowering layer, for this TVM name only
    if not isinstance(bounds, Map) or bounds.bounds is None:
        raise ScheduleError("ScheduleOps expects the result of te.schedule.InferBound(s)")
    return schedule_ops(sch, bounds.bodies, bounds.bounds, set())


def SchedulePostProcToPrimFunc(args: Any, stmt: Any, binds: Any = None) -> Any:  # noqa: N802 - TVM's name
    """TVM's ``te.schedule.SchedulePostProcToPrimFunc``: tensorlang's ScheduleOps result is a loop
    nest to read, not a function to build (its storage flattening is part of ``tvm.lower``)."""
    raise ScheduleError("te.schedule.SchedulePostProcToPrimFunc: tensorlang does not build a function from "
                        "ScheduleOps' loop nest (ScheduleOps, StorageFlatten and the rest are steps of tvm.lower); "
                        "use tvm.lower(s, args), which gives the flattened PrimFunc that tir.transform passes "
                        "and tvm.build take")
