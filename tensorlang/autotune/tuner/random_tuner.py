"""Random search: uniformly drawn unvisited valid configs, reproducible for a given seed."""

from __future__ import annotations

from typing import Any

from ..space import ConfigEntity
from ..task import Task
from .index_range import IndexRangeMixin, seed_and_range
from .tuner import Tuner


class RandomTuner(IndexRangeMixin, Tuner):
    """Proposes configs uniformly at random among those never proposed and valid; with TVM's
    ``range_idx=(begin, end)`` only among those indices (both included)."""

    def __init__(self, task: Task, seed: Any = None, range_idx: Any = None):
        seed, range_idx = seed_and_range(seed, range_idx)
        super().__init__(task, seed)
        self._set_range(range_idx)

    def has_next(self) -> bool:
        if (self.begin_idx, self.end_idx) == (0, self.space.range_length):
            return super().has_next()
        done = sum(1 for i in self.visited | self.invalid if self.begin_idx <= i < self.end_idx)
        return not self._exhausted and done < self.range_length

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            idx = self._random_available(self.begin_idx, self.end_idx)
            if idx is None:
                break
            out.append(self._take(idx))
            self._proposed += 1
        return out
