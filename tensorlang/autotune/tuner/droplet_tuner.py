"""Droplet search (TVM's ``DropletTuner``): a descent over the grid of knob choices.

Each knob is one axis of the grid (its choices in the space's order).  The tuner measures the
neighbours of the best point so far: the points that move a subset of the knobs one step up,
or the same subset one step down.  When a batch finds no better point, the step widens (2, 3,
... up to the longest axis) so the search can jump out of a shallow valley; when one does, the
search restarts around it with step 1.  A point counts as better only when its mean cost is
lower and, with several repeats each, a t-test finds the difference significant at ``pvalue``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..measure.measure import MeasureErrorNo, MeasureInput, MeasureResult
from ..space import ConfigEntity
from ..task import Task
from .tuner import Tuner, TunerError

logger = logging.getLogger("tensorlang.autotune")

# Batches in a row without one valid measurement after which the search gives up (every
# neighbourhood it reaches is invalid).
_INVALID_ROUNDS = 4


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 1e-14
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_test_pvalue(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Student's t-test that samples ``a`` and ``b`` (two figures or more
    each) have the same mean, assuming equal variances; nan when both are constant and equal."""
    n1, n2 = len(a), len(b)
    m1, m2 = float(np.mean(a)), float(np.mean(b))
    df = n1 + n2 - 2
    pooled = (float(np.var(a, ddof=1)) * (n1 - 1) + float(np.var(b, ddof=1)) * (n2 - 1)) / df
    if pooled == 0.0:
        return math.nan if m1 == m2 else 0.0
    t = (m1 - m2) / math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    return _regularized_beta(df / 2.0, 0.5, df / (df + t * t))


class DropletTuner(Tuner):
    """Droplet search from ``start_position`` (one choice index per knob, all 0 by default).

    TVM's attributes: ``dims`` (choices per knob), ``best_choice`` (index, knob position,
    costs of the best point; index -1 before any), ``next`` (queued (index, position) pairs),
    ``execution`` (the current step), ``total_execution`` (the widest step), ``step`` (how
    much the step widens), ``batch`` (queue length the widening aims for), ``pvalue``."""

    def __init__(self, task: Task, start_position: Sequence[int] | None = None, pvalue: float = 0.05,
                 seed: Any = None):
        super().__init__(task, seed)
        self.dims = [len(knob) for knob in self.space.space_map.values()] or [1]
        if not 0 < pvalue <= 1:
            raise TunerError(f"DropletTuner pvalue must be in (0, 1], got {pvalue!r}")
        self.pvalue = float(pvalue)
        start = self._start(start_position)
        self.best_choice: tuple[int, list[int], list[float]] = (-1, [0] * len(self.dims), [math.inf])
        self.execution, self.total_execution, self.step = 1, max(self.dims), 1
        self.iter = 0
        self.batch = max(16, os.cpu_count() or 1)
        self.next: list[tuple[int, list[int]]] = []
        if start is not None:
            self.visited.add(start)
            self.next.append((start, self.space.point2knob(start)))
        self._invalid_rounds = 0

    def _start(self, position: Sequence[int] | None) -> int | None:
        """The index of the starting point: ``position`` (the first valid index from there on
        when it breaks a constraint); None when the space has no valid config."""
        if position is None:
            position = [0] * len(self.dims)
        position = list(position)
        if len(position) != len(self.dims) or not all(
                isinstance(p, (int, np.integer)) and 0 <= p < n for p, n in zip(position, self.dims)):
            raise TunerError(f"DropletTuner start_position must give one choice index per knob, within "
                             f"{self.dims}, got {position!r}")
        index = self.space.knob2point([int(p) for p in position]) if self.space.space_map else 0
        if self._available(index):
            return index
        for other in range(self.space.range_length):
            if self._available(other):
                return other
        return None

    def has_next(self) -> bool:
        return bool(self.next)

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        # Queued points stay queued until measured: update() matches results by index.
        return [self.space.get(index) for index, _ in self.next[:batch_size]]

    def _significant(self, best: Sequence[float], other: Sequence[float]) -> bool:
        """Whether ``other`` beats ``best`` beyond noise (always so with one figure either side)."""
        if len(best) <= 1 or len(other) <= 1:
            return True
        pvalue = t_test_pvalue(best, other)
        return math.isfinite(pvalue) and pvalue <= self.pvalue

    def _moves(self, distance: int) -> Iterator[list[int]]:
        """Offsets of the points ``distance`` away: each non-empty subset of the knobs moved up,
        then the same subset moved down (subsets that move more knobs first)."""
        n = len(self.dims)
        for mask in range(2**n - 1, 0, -1):
            bits = [(mask >> (n - 1 - i)) & 1 for i in range(n)]
            yield [distance * b for b in bits]
            yield [-distance * b for b in bits]

    def _queue_neighbours(self, distance: int) -> None:
        """Queue the unvisited valid points ``distance`` away from the best until the queue holds
        ``batch`` points (positions clipped to the grid)."""
        centre = self.best_choice[1]
        for move in self._moves(distance):
            if len(self.next) >= self.batch:
                return
            position = [min(max(c + m, 0), n - 1) for c, m, n in zip(centre, move, self.dims)]
            index = self.space.knob2point(position) if self.space.space_map else 0
            if self._available(index):
                self.visited.add(index)
                self.next.append((index, position))

    def update(self, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        measured = set()
        improved = False
        valid = 0
        for inp, res in zip(inputs, results):
            index = inp.config.index
            measured.add(index)
            costs = [float(c) for c in res.costs] if int(res.error_no) == MeasureErrorNo.NO_ERROR else []
            if not costs or not all(math.isfinite(c) for c in costs):
                continue
            valid += 1
            if np.mean(costs) < np.mean(self.best_choice[2]) and self._significant(self.best_choice[2], costs):
                self.best_choice = (index, self.space.point2knob(index), costs)
                improved = True
        self.next = [entry for entry in self.next if entry[0] not in measured]
        if improved:
            self.execution = 1
            self._queue_neighbours(1)
        # Widen the step while the queue is short of a batch.
        while len(self.next) < self.batch and self.execution < self.total_execution:
            self.execution += self.step
            self._queue_neighbours(self.execution)
        self.iter += 1
        self._invalid_rounds = 0 if valid else self._invalid_rounds + 1
        if self._invalid_rounds >= _INVALID_ROUNDS and self.next:
            logger.warning("DropletTuner: stopping after %d batches in a row without a valid measurement",
                           self._invalid_rounds)
            self.next = []


__all__ = ["DropletTuner", "t_test_pvalue"]
