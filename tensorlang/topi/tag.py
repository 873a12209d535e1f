"""Operator tags: how schedules (``traverse_inline``, generic schedules) recognise an op's pattern."""

from __future__ import annotations

ELEMWISE = "elemwise"
BROADCAST = "broadcast"
INJECTIVE = "injective"
COMM_REDUCE = "comm_reduce"
COMM_REDUCE_IDX = "comm_reduce_idx"


def is_broadcast(tag: str) -> bool:
    """Elementwise and broadcast ops (a tag may carry a suffix after a comma, e.g. ``broadcast,add``)."""
    return tag.startswith(ELEMWISE) or tag.startswith(BROADCAST)


def is_injective(tag: str) -> bool:
    """Ops whose every output element reads a fixed set of input elements: safe to inline."""
    return is_broadcast(tag) or tag.startswith(INJECTIVE)
