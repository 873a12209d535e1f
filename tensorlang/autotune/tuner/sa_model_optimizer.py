"""Simulated annealing over config indices under a feature-extraction budget: returns the best
predicted valid configs outside the excluded set, spending at most about ``feature_budget``
units of feature extraction per call (one unit: one plain config).

Scoring a config needs its features, and for IR-based features that means instantiating and
lowering it (milliseconds for a plain config, hundreds for a heavily unrolled one, in Python).
So every call first rescores all configs whose features are already cached (free: one
batched prediction), seeds half of the chains at the best of them, and then anneals, paying
for newly seen configs in small chunks; once the budget is spent a move to a new config is
rejected and the search stops (the overshoot is at most one chunk).  Cheap feature types
(knobs) cost nothing and anneal for ``n_iter`` steps.
"""

from __future__ import annotations

import heapq
import logging
import math
import time

import numpy as np

from ..task import Task
from .model_based_tuner import CostModel, ModelOptimizer

logger = logging.getLogger("tensorlang.autotune")


class SimulatedAnnealingOptimizer(ModelOptimizer):
    """``parallel_size`` annealing chains; a neighbour changes one knob's candidate index.

    Moves are accepted with probability ``exp((new - old) / (T * scale))``, where ``scale`` is
    the spread of the scores seen at the start (so ``temp`` means the same for any model's
    score range) and T falls linearly from ``temp[0]`` to ``temp[1]`` over ``n_iter`` steps.
    The search ends after ``n_iter`` steps, after ``early_stop`` steps without a change of the
    best ``num``, or when the feature budget is spent.  With ``persistent`` the chains resume
    where the previous call left them."""

    def __init__(self, task: Task, n_iter: int = 500, temp: tuple[float, float] | float = (1.0, 0.0),
                 parallel_size: int = 64, early_stop: int = 50, persistent: bool = True,
                 feature_budget: float = 400, log_interval: int = 50, seed: int | None = None,
                 extract_chunk: int = 8):
        self.task = task
        self.space = task.config_space
        self.n_iter = n_iter
        self.temp = (float(temp), float(temp)) if isinstance(temp, (int, float)) else (float(temp[0]), float(temp[1]))
        self.parallel_size = max(1, min(parallel_size, self.space.range_length))
        self.early_stop = early_stop
        self.persistent = persistent
        self.feature_budget = feature_budget
        self.log_interval = log_interval
        self.extract_chunk = max(1, extract_chunk)
        self.rng = np.random.default_rng(seed)
        self.points: list[int] | None = None
        self._valid: dict[int, bool] = {}
        self._movable = [j for j, d in enumerate(self.space.dims) if d > 1]

    # --- space helpers ----------------------------------------------------------------------

    def _is_valid(self, idx: int) -> bool:
        ok = self._valid.get(idx)
        if ok is None:
            ok = self._valid[idx] = self.space.is_valid(idx)
        return ok

    def _random_index(self) -> int:
        # Python ints: exact for spaces beyond 2**63 too.
        return int(self.rng.integers(0, 2**62)) % self.space.range_length

    def _random_valid(self, n: int) -> list[int]:
        out = []
        for _ in range(50 * n):
            if len(out) >= n:
                break
            idx = self._random_index()
            if self._is_valid(idx):
                out.append(idx)
        return out or [self._random_index()]

    def _neighbour(self, idx: int) -> int:
        if not self._movable:
            return idx
        point = self.space.point_of(idx)
        j = self._movable[int(self.rng.integers(len(self._movable)))]
        dim = self.space.dims[j]
        point[j] = (point[j] + int(self.rng.integers(1, dim))) % dim
        return self.space.index_of_point(point)

    # --- search ------------------------------------------------------------------------------

    def find_maximums(self, model: CostModel, num: int, exclusive: set[int]) -> list[int]:
        tic = time.perf_counter()
        scores: dict[int, float] = {}
        budget = [float(self.feature_budget)]
        refused = [False]  # a new config was refused for lack of budget: the search is over

        def score(indices: list[int]) -> np.ndarray:
            """Scores of ``indices``, -inf for invalid ones and new ones beyond the budget."""
            out = np.full(len(indices), -np.inf)
            todo = [k for k, i in enumerate(indices) if i not in scores and self._is_valid(i)]
            if todo:
                fresh = list(dict.fromkeys(indices[k] for k in todo))
                free = model.has_features(fresh)
                allowed = [i for i, f in zip(fresh, free) if f]
                costly = [i for i, f in zip(fresh, free) if not f]
                for start in range(0, len(costly), self.extract_chunk):
                    if budget[0] <= 0:
                        refused[0] = True
                        break
                    chunk = costly[start:start + self.extract_chunk]
                    budget[0] -= model.extract_features(chunk)
                    allowed += chunk
                if allowed:
                    scores.update(zip(allowed, (float(s) for s in model.predict(allowed))))
            for k, i in enumerate(indices):
                out[k] = scores.get(i, -np.inf) if self._is_valid(i) else -np.inf
            return out

        known = [i for i in model.known_indices() if i not in exclusive]
        if known:
            score(known)
        chains = list(self.points) if self.persistent and self.points else []
        best_known = sorted((i for i in known if math.isfinite(scores.get(i, -np.inf))), key=lambda i: -scores[i])
        n_seed = self.parallel_size // 2 if best_known else 0
        chains = list(dict.fromkeys(best_known[:n_seed] + chains))[:self.parallel_size]
        if len(chains) < self.parallel_size:
            chains += self._random_valid(self.parallel_size - len(chains))
        cur = score(chains)

        # The best `num` outside `exclusive`, as a min-heap, to see when the search stalls.
        top: list[tuple[float, int]] = []
        in_top: set[int] = set()

        def offer(idx: int, s: float) -> bool:
            if idx in exclusive or idx in in_top or not math.isfinite(s) or num <= 0:
                return False
            if len(top) < num:
                heapq.heappush(top, (s, idx))
            elif s > top[0][0]:
                in_top.discard(heapq.heapreplace(top, (s, idx))[1])
            else:
                return False
            in_top.add(idx)
            return True

        for i, s in scores.items():
            offer(i, s)
        finite = np.array([s for s in scores.values() if math.isfinite(s)])
        scale = float(np.std(finite)) if len(finite) > 1 and np.std(finite) > 0 else 1.0
        t0, t1 = self.temp
        cool = (t0 - t1) / (self.n_iter + 1)
        temp = t0
        last_change = steps = 0
        for k in range(self.n_iter):
            if k - last_change >= self.early_stop or refused[0]:
                break
            steps += 1
            proposals = [self._neighbour(i) for i in chains]
            new = score(proposals)
            with np.errstate(invalid="ignore", over="ignore"):
                delta = np.where(np.isfinite(cur), new - cur, np.where(np.isfinite(new), np.inf, -np.inf))
                prob = np.exp(np.minimum(delta / (max(temp, 0.0) * scale + 1e-9), 0.0))
            accept = self.rng.random(len(chains)) < np.nan_to_num(prob, nan=0.0)
            for c in np.flatnonzero(accept):
                chains[c] = proposals[c]
                cur[c] = new[c]
            for i, s in zip(proposals, new):
                if offer(i, float(s)):
                    last_change = k
            temp -= cool
            if self.log_interval and k % self.log_interval == 0:
                logger.debug("SA iter %d: best %.4g, %d scored, budget left %.0f, %.2f s", k,
                             max((t[0] for t in top), default=-np.inf), len(scores), budget[0],
                             time.perf_counter() - tic)
        if self.persistent:
            self.points = chains
        logger.debug("SA done: %d iterations, %d configs scored, %.0f units of features, %.2f s", steps,
                     len(scores), self.feature_budget - budget[0], time.perf_counter() - tic)
        return [idx for _, idx in sorted(top, key=lambda t: -t[0])]
