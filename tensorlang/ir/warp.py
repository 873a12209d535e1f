"""Warp shuffle intrinsics: values exchanged between the lanes of a warp without memory.

``shfl_down(value, delta, width)`` is the value of lane ``lane + delta`` within each segment of
``width`` lanes (the lane's own value when that lane is outside its segment); ``shfl_idx(value,
src, width)`` is the value of lane ``src`` of the segment.  Every lane of the warp must execute
a shuffle together (never under thread-dependent control flow), like a barrier.
"""

from __future__ import annotations

from ..te.expr import Call, PrimExpr, const

SHFL_DOWN = "tl.shfl_down"
SHFL_IDX = "tl.shfl_idx"
SHUFFLES = (SHFL_DOWN, SHFL_IDX)
WARP_SIZE = 32


def shfl_down(value: PrimExpr, delta: int, width: int) -> Call:
    return Call(value.dtype, SHFL_DOWN, (value, const(delta), const(width)))


def shfl_idx(value: PrimExpr, src: int, width: int) -> Call:
    return Call(value.dtype, SHFL_IDX, (value, const(src), const(width)))


def is_shuffle(e: object) -> bool:
    return isinstance(e, Call) and e.name in SHUFFLES
