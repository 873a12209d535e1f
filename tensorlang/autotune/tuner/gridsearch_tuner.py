"""Grid search: every valid config once, in index order."""

from __future__ import annotations

from typing import Any

from ..space import ConfigEntity
from ..task import Task
from .index_range import index_range, seed_and_range
from .tuner import Tuner


class GridSearchTuner(Tuner):
    """Proposes configs in increasing index order, skipping visited and invalid ones; with TVM's
    ``range_idx=(begin, end)`` only those indices (both included)."""

    def __init__(self, task: Task, seed: Any = None, range_idx: Any = None):
        seed, range_idx = seed_and_range(seed, range_idx)
        super().__init__(task, seed)
        self._next, self._end = index_range(self.space, range_idx)

    def has_next(self) -> bool:
        while self._next < self._end and not self._available(self._next):
            self._next += 1
        return self._next < self._end

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            out.append(self._take(self._next))
            self._next += 1
        return out
