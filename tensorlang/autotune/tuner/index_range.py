"""TVM's ``range_idx`` for the index-based tuners: a tuner that proposes only the config indices
[begin, end] (both included), so one space can be split across machines; and the attributes
TVM's index-based tuners expose about that range."""

from __future__ import annotations

from typing import Any

from ..space import ConfigSpace
from .tuner import TunerError


def index_range(space: ConfigSpace, range_idx: Any) -> tuple[int, int]:
    """[lo, hi) of the indices a tuner may propose: the whole space, or TVM's inclusive
    ``range_idx=(begin, end)``."""
    n = space.range_length
    if range_idx is None:
        return 0, n
    try:
        begin, end = (int(v) for v in range_idx)
    except (TypeError, ValueError):
        raise TunerError(f"range_idx must be a (begin, end) pair of config indices, got {range_idx!r}") from None
    if not 0 <= begin <= end < n:
        raise TunerError(f"range_idx {range_idx!r} must satisfy 0 <= begin <= end < {n} (the space's size)")
    return begin, end + 1


def seed_and_range(seed: Any, range_idx: Any) -> tuple[Any, Any]:
    """(seed, range_idx) of a tuner's arguments: TVM's GridSearchTuner(task, (b, e)) passes the
    range where tensorlang's tuners take the seed."""
    if isinstance(seed, (tuple, list)) and range_idx is None:
        return None, seed
    return seed, range_idx


class IndexRangeMixin:
    """TVM's ``IndexBaseTuner`` attributes: ``begin_idx`` and ``end_idx`` (exclusive) bound the
    indices proposed, ``range_length`` is their count, ``visited_max`` how many of them are valid
    (after ``multi_filter`` and constraints), ``counter`` how many this tuner proposed."""

    space: ConfigSpace
    visited: set[int]
    begin_idx: int
    end_idx: int

    def _set_range(self, range_idx: Any) -> None:
        self.begin_idx, self.end_idx = index_range(self.space, range_idx)
        self.range_length = self.end_idx - self.begin_idx
        self._visited_max: int | None = None
        self._proposed = 0

    @property
    def visited_max(self) -> int:
        # Counted on first use: with constraints it evaluates every index of the range.
        if self._visited_max is None:
            self._visited_max = self.space.subrange_length(self.begin_idx, self.end_idx)
        return self._visited_max

    @property
    def counter(self) -> int:
        """Configs this tuner proposed (TVM's ``counter``)."""
        return self._proposed


__all__ = ["index_range", "seed_and_range", "IndexRangeMixin"]
