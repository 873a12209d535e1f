"""TVM's ``ir.Range``: ``Range(end)`` and ``Range(begin, end)`` make tensorlang's half-open
``te`` Range (min, extent), so ported code that builds ranges for an analyzer or an axis gets the
same object the rest of tensorlang uses."""

from __future__ import annotations

from typing import Any

from ..te.tensor import Range as _TeRange
from .alias import AliasMeta


class Range(metaclass=AliasMeta):
    """``Range(begin, end=None)``: [0, begin) with one argument, else [begin, end)."""

    _target = _TeRange

    def __new__(cls, begin: Any, end: Any = None) -> _TeRange:  # type: ignore[misc]
        if end is None:
            return _TeRange(0, begin)
        return _TeRange.from_begin_end(begin, end)

    @staticmethod
    def from_min_extent(min_value: Any, extent: Any) -> _TeRange:
        """[min_value, min_value + extent)."""
        return _TeRange(min_value, extent)


__all__ = ["Range"]
