"""Genetic search over knob points: fitness is measured throughput; children that are visited,
invalid or duplicated are mutated until new, so no config is measured twice."""

from __future__ import annotations

from collections.abc import Sequence

from ..measure.measure import MeasureInput, MeasureResult
from ..space import ConfigEntity
from ..task import Task
from .tuner import Tuner, throughput

# Re-mutations of a child that is visited or invalid before it is replaced by a random config.
_REPAIR_TRIES = 20


class GATuner(Tuner):
    """A generation of ``pop_size`` configs is measured, then the next one is bred from it
    and the ``elite_num`` best configs measured so far: parents are drawn with probability
    proportional to throughput, combined by one-point crossover of their knob points, and each
    knob of a child mutates to a random candidate with probability ``mutation_prob``."""

    def __init__(self, task: Task, pop_size: int = 100, elite_num: int = 3, mutation_prob: float = 0.1,
                 seed: int | None = None):
        super().__init__(task, seed)
        # As in TVM: no larger than the valid configs (len(space) counts those multi_filter left).
        self.pop_size = max(1, min(pop_size, len(self.space)))
        self.elite_num = max(0, min(elite_num, self.pop_size))
        self.mutation_prob = mutation_prob
        self.dims = self.space.dims
        self.fitness: dict[int, float] = {}
        # The first generation is drawn now, as TVM's is: its configs count as visited (reserved
        # for this tuner) before they are measured.
        self.generation: list[int] = self.space.sample_ints(self.pop_size, self.rng)
        self.visited.update(self.generation)
        self._pending: list[int] = list(self.generation)
        self._first = True  # the first generation is not fitted to a tune budget yet

    @property
    def genes(self) -> list[list[int]]:
        """The knob points of the current generation (TVM's ``genes``)."""
        return [self.space.point_of(i) for i in self.generation]

    def has_next(self) -> bool:
        return bool(self._pending) or super().has_next()

    def _mark_loaded(self, index: int) -> None:
        super()._mark_loaded(index)
        if index in self._pending:  # a logged record covers a config bred but not yet proposed
            self._pending.remove(index)

    def _fit_first_generation(self) -> None:
        """Shrink the first generation to this tune call's ``_generation_size``, releasing the
        configs reserved beyond it."""
        self._first = False
        size = self._generation_size()
        if len(self.generation) > size:
            # Only configs still reserved are released: one a loaded log covers stays visited.
            extra = set(self.generation[size:]) & set(self._pending)
            self.generation = self.generation[:size]
            self._pending = [i for i in self._pending if i not in extra]
            self.visited -= extra

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        if self._first:
            self._fit_first_generation()
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            if not self._pending:
                self.generation = self._breed()
                self._pending = list(self.generation)
                if not self._pending:
                    break
            idx = self._pending.pop(0)
            if idx in self.visited or self._available(idx):
                # reserved at construction, or bred since (a loaded log may have covered it)
                self.visited.add(idx)
                out.append(self.space.get(idx))
        return out

    def update(self, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        for inp, res in zip(inputs, results):
            self.fitness[inp.config.index] = throughput(self.task.flop, res)

    def _generation_size(self) -> int:
        """``pop_size``, but small enough for about four generations within this tune call's
        budget: with a population larger than the budget, the search never leaves its random
        first generation."""
        budget = getattr(self, "n_trial", 0) or 0
        if budget <= 0:
            return self.pop_size
        return max(2, min(self.pop_size, max(self.elite_num + 2, budget // 4)))

    def _breed(self) -> list[int]:
        size = self._generation_size()
        measured = [i for i in self.generation if i in self.fitness]
        elites = sorted(self.fitness, key=lambda i: -self.fitness[i])[:self.elite_num]
        parents = list(dict.fromkeys(measured + elites))
        best = max((self.fitness[i] for i in parents), default=0.0)
        children: list[int] = []
        chosen: set[int] = set()
        if len(parents) >= 2 and best > 0:
            weights = [self.fitness[i] / best + 1e-3 for i in parents]
            for _ in range(4 * size):
                if len(children) >= size:
                    break
                idx = self._child(parents, weights, chosen)
                if idx is not None:
                    children.append(idx)
                    chosen.add(idx)
        # The first generation, or a dead end (all fitness 0, children all visited): random.
        while len(children) < size and self.has_next():
            idx = self._random_available()
            if idx is None:
                break
            if idx in chosen:
                if len(chosen) + len(self.visited) + len(self.invalid) >= self.space.range_length:
                    break
                continue
            children.append(idx)
            chosen.add(idx)
        return children

    def _child(self, parents: list[int], weights: list[float], chosen: set[int]) -> int | None:
        p1, p2 = self.rng.choices(parents, weights=weights, k=2)
        g1, g2 = self.space.point_of(p1), self.space.point_of(p2)
        cut = self.rng.randrange(1, len(g1)) if len(g1) > 1 else 0
        gene = g1[:cut] + g2[cut:]
        for j, dim in enumerate(self.dims):
            if dim > 1 and self.rng.random() < self.mutation_prob:
                gene[j] = self.rng.randrange(dim)
        movable = [j for j, dim in enumerate(self.dims) if dim > 1]
        for _ in range(_REPAIR_TRIES):
            idx = self.space.index_of_point(gene)
            if idx not in chosen and self._available(idx):
                return idx
            if not movable:
                return None
            j = self.rng.choice(movable)
            gene[j] = self.rng.randrange(self.dims[j])
        return None
