"""A static estimate of the work in one iteration of a parallel loop, in element operations.

Guarantees: ``work_per_iteration(body)`` is a positive integer: every Load, Store and value
(non-index) arithmetic node counts its lanes, times the extents of the loops around it inside
``body`` (a loop whose extent is not a constant counts as ``UNKNOWN_EXTENT`` iterations).  It
only has to be right within a factor of a few: the parallel launcher compares iterations x this
with a threshold (``__tl_parallel_min_work``) to run small loops on fewer threads, where waking
another thread (or waiting for one whose core the scheduler lent away) costs more than it saves.
"""

from __future__ import annotations

from typing import Any

from ...ir import stmt as S
from ...te import expr as E
from ...te.functor import children

UNKNOWN_EXTENT = 64
_CAP = 1 << 40  # keeps the product inside an i64 with any extent

# Element operations per call that make a second thread worth waking: about 10 us of a
# vector add's work on one core (64K floats of one vector add is 256K operations).
DEFAULT_MIN_PARALLEL_WORK = 1 << 18


def work_per_iteration(body: S.Stmt) -> int:
    """Element operations in one run of ``body`` (see the module docstring)."""
    return max(1, min(_count(body), _CAP))


def _count(node: Any) -> int:
    if isinstance(node, S.For):
        ext = node.extent.value if isinstance(node.extent, E.IntImm) else UNKNOWN_EXTENT
        return min(max(ext, 0) * _count(node.body) + _count(node.extent), _CAP)
    own = 0
    if isinstance(node, (E.Load, S.Store)):
        own = (node.dtype if isinstance(node, E.Load) else node.value.dtype).lanes
    elif isinstance(node, (E.BinaryOp, E.Call, E.Select, E.Cast)) and not node.dtype.is_int:
        own = node.dtype.lanes
    return min(own + sum(_count(c) for c in children(node)), _CAP)
