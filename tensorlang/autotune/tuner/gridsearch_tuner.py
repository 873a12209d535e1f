"""Grid search: every valid config once, in index order."""

from __future__ import annotations

from ..space import ConfigEntity
from ..task import Task
from .tuner import Tuner


class GridSearchTuner(Tuner):
    """Proposes configs in increasing index order, skipping visited and invalid ones."""

    def __init__(self, task: Task, seed: int | None = None):
        super().__init__(task, seed)
        self._next = 0

    def has_next(self) -> bool:
        while self._next < self.space.range_length and not self._available(self._next):
            self._next += 1
        return self._next < self.space.range_length

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            out.append(self._take(self._next))
            self._next += 1
        return out
