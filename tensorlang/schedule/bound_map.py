"""TVM's ``te.schedule.InferBound``: the range of every loop of a schedule, as a mapping."""

from __future__ import annotations

from ..arith import simplify
from ..te.tensor import IterVar, Range
from .bound import infer_bound
from .inline import effective_bodies
from .schedule import Schedule


class Map(dict):
    """An IterVar -> Range mapping (TVM's ``tvm.container.Map`` as InferBound returns it)."""


def InferBound(sch: Schedule) -> Map:  # noqa: N802 - TVM's name
    """The range (min, extent) of each axis of each computed stage, after bound inference."""
    sch.legalize_attachments()
    bounds = infer_bound(sch, effective_bodies(sch))
    out = Map()
    for iv, rng in bounds.ranges.items():
        if isinstance(iv, IterVar):
            out[iv] = Range(simplify(rng.min), simplify(rng.extent))
    return out
