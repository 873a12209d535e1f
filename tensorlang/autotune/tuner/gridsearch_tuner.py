"""Grid search: every valid config once, in index order."""

from __future__ import annotations

from typing import Any

from ..space import ConfigEntity
from ..task import Task
from .index_range import IndexRangeMixin, seed_and_range
from .tuner import Tuner


class GridSearchTuner(IndexRangeMixin, Tuner):
    """Proposes configs in increasing index order, skipping visited and invalid ones; with TVM's
    ``range_idx=(begin, end)`` only those indices (both included).  ``index`` is the next index
    to propose (None once the range is done), as TVM's."""

    def __init__(self, task: Task, seed: Any = None, range_idx: Any = None):
        seed, range_idx = seed_and_range(seed, range_idx)
        super().__init__(task, seed)
        self._set_range(range_idx)
        self.index: int | None = self.begin_idx if self.begin_idx < self.end_idx else None
        if self.index is not None and not self.space.is_valid(self.index):
            self.index = self._after(self.index)

    def _after(self, index: int) -> int | None:
        return self.space.get_next_index(index, start=self.begin_idx, end=self.end_idx)

    def has_next(self) -> bool:
        while self.index is not None and not self._available(self.index):
            self.index = self._after(self.index)
        return self.index is not None

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            assert self.index is not None  # has_next said so
            out.append(self._take(self.index))
            self._proposed += 1
            self.index = self._after(self.index)
        return out
