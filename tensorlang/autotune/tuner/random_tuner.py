"""Random search: uniformly drawn unvisited valid configs, reproducible for a given seed."""

from __future__ import annotations

from ..space import ConfigEntity
from .tuner import Tuner


class RandomTuner(Tuner):
    """Proposes configs uniformly at random among those never proposed and valid."""

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            idx = self._random_available()
            if idx is None:
                break
            out.append(self._take(idx))
        return out
