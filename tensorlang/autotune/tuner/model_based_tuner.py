"""Model-guided search: a cost model learns throughput from measured configs and an optimizer
proposes the configs it predicts fastest; a share of every plan stays random, and a proposal
is never a visited or constraint-invalid config.

``CostModel`` and ``ModelOptimizer`` are the two protocols; ``ModelBasedTuner`` combines
them (TVM's classic layout: XGBoost is one cost model, simulated annealing one optimizer).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from ..measure.measure import MeasureInput, MeasureResult
from ..space import ConfigEntity
from ..task import Task
from .tuner import Record, Tuner, throughput

logger = logging.getLogger("tensorlang.autotune")


class CostModel(ABC):
    """Predicts relative throughput of configs of one task, given by config index."""

    @abstractmethod
    def fit(self, xs: Sequence[int], ys: Sequence[float], plan_size: int) -> None:
        """Train on configs ``xs`` and their throughput ``ys`` (0 for failed trials)."""

    @abstractmethod
    def fit_log(self, records: Sequence[Record], plan_size: int) -> bool:
        """Train on records of other workloads of the same template; False when they give
        nothing to learn from (no template to rebuild them, no successful trial)."""

    @abstractmethod
    def predict(self, xs: Sequence[int]) -> np.ndarray:
        """Scores of configs ``xs`` (higher is faster); -inf for configs that cannot be built."""

    @abstractmethod
    def spawn_base_model(self) -> CostModel:
        """A fresh model of the same kind, to be trained with ``fit_log`` for transfer."""

    def load_basemodel(self, base_model: CostModel) -> None:
        """Start from ``base_model``'s predictions (transfer learning); ignored by default."""

    def has_features(self, xs: Sequence[int]) -> np.ndarray:
        """Which configs can be scored without extracting new features (all by default)."""
        return np.ones(len(xs), dtype=bool)

    def extract_features(self, xs: Sequence[int]) -> float:
        """Extract the features of ``xs`` ahead of ``predict``; returns the work it took in
        units of one plain config (0 for models whose features are free)."""
        return 0.0

    def known_indices(self) -> list[int]:
        """Configs whose features are already extracted (scored for free by optimizers)."""
        return []


class ModelOptimizer(ABC):
    """Searches a task's space for the configs a cost model scores highest."""

    @abstractmethod
    def find_maximums(self, model: CostModel, num: int, exclusive: set[int]) -> list[int]:
        """Up to ``num`` valid config indices outside ``exclusive``, best predicted first."""


def diversity_pick(scores: np.ndarray, points: np.ndarray, n_pick: int, weight: float = 0.5) -> list[int]:
    """Greedily pick ``n_pick`` rows: each step takes the row with the best rank-normalized
    score minus ``weight`` times its knob-space closeness to the rows already picked (the
    largest share of knobs it has in common with one of them).  Returns row positions."""
    n = len(scores)
    if n == 0:
        return []
    finite = np.where(np.isfinite(scores), scores, -np.inf)
    rank = np.empty(n)
    rank[np.argsort(finite, kind="stable")] = np.arange(n) / max(n - 1, 1)
    closeness = np.zeros(n)
    remaining = np.isfinite(scores)
    picked: list[int] = []
    for _ in range(min(n_pick, int(remaining.sum()))):
        gain = np.where(remaining, rank - weight * closeness, -np.inf)
        j = int(np.argmax(gain))
        picked.append(j)
        remaining[j] = False
        closeness = np.maximum(closeness, (points == points[j]).mean(axis=1))
    return picked


class ModelBasedTuner(Tuner):
    """Tuner driven by a cost model and an optimizer.

    The first configs are random.  After 16, 32 and 64 trials, then every ``plan_size`` new
    trials (once at least ``min_valid`` trials succeeded), the model is refit and the optimizer
    plans the next ``plan_size`` proposals: the top ``(1 - epsilon)`` share by predicted
    throughput, then random configs (epsilon-greedy).  With ``diversity_filter_ratio`` r the
    plan is picked from ``r`` times as many candidates by ``diversity_pick``."""

    def __init__(self, task: Task, cost_model: CostModel, model_optimizer: ModelOptimizer, plan_size: int,
                 diversity_filter_ratio: float | None = None, seed: int | None = None, epsilon: float = 0.05,
                 min_valid: int = 3):
        super().__init__(task, seed)
        self.cost_model = cost_model
        self.model_optimizer = model_optimizer
        self.plan_size = max(1, int(plan_size))
        self.diversity_filter_ratio = diversity_filter_ratio
        self.epsilon = epsilon
        self.min_valid = min_valid
        self.xs: list[int] = []
        self.ys: list[float] = []
        self.trials: list[int] = []
        self.trial_pt = 0
        self.train_ct = 0
        self._fit_size = 0

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        out: list[ConfigEntity] = []
        while len(out) < batch_size and self.has_next():
            idx = None
            while idx is None and self.trial_pt < len(self.trials):
                cand = self.trials[self.trial_pt]
                self.trial_pt += 1
                if self._available(cand):
                    idx = cand
            if idx is None:
                idx = self._random_available()
                if idx is None:
                    break
            out.append(self._take(idx))
        return out

    def update(self, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        for inp, res in zip(inputs, results):
            self.xs.append(inp.config.index)
            self.ys.append(throughput(self.task.flop, res))
            self.visited.add(inp.config.index)
        n_valid = sum(1 for y in self.ys if y > 0)
        # Refit after 16, 32, 64, then every plan_size measurements: waiting for a whole first
        # plan of random samples would make a 64-trial run a random search.
        step = min(self.plan_size, max(16, self._fit_size))
        if len(self.xs) - self._fit_size >= step and n_valid >= self.min_valid:
            self.cost_model.fit(self.xs, self.ys, self.plan_size)
            self._fit_size = len(self.xs)
            self.train_ct += 1
            self.trials = self._plan(self.cost_model)
            self.trial_pt = 0

    def transfer(self, records: list[Record]) -> None:
        base = self.cost_model.spawn_base_model()
        if not base.fit_log(records, self.plan_size):
            return
        self.cost_model.load_basemodel(base)
        if not self.trials:
            self.trials = self._plan(base)
            self.trial_pt = 0

    def _plan(self, model: CostModel) -> list[int]:
        n_plan = self.plan_size - int(self.epsilon * self.plan_size)
        exclusive = self.visited | self.invalid
        if not self.diversity_filter_ratio:
            return list(self.model_optimizer.find_maximums(model, n_plan, exclusive))
        pool = list(self.model_optimizer.find_maximums(model, int(self.diversity_filter_ratio * n_plan), exclusive))
        if not pool:
            return []
        points = np.array([self.space.point_of(i) for i in pool])
        picked = diversity_pick(np.asarray(model.predict(pool), dtype=float), points, n_plan)
        return [pool[j] for j in picked]
