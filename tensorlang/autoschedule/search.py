"""Evolutionary search over sketches and decisions, guided by the prior and a learned cost model.

``SketchSearch`` proposes batches of never-measured candidates of one ``SearchTask``:

* first batch: decisions built from the machine's register tiles (``prior.seed_decisions``)
  and many random decisions per sketch, ranked by the analytic prior (``prior_score``) and
  re-ranked by the pretrained cost model when one is shipped, the best kept.  It is drawn with a
  fixed seed, so it is the same whatever the search's seed: already good without any
  measurement, and a good start for every seed;
* later batches: a population of the fastest measured candidates and the prior's best is
  mutated for a few generations; each generation is ranked by the XGBoost model refitted on
  every measurement so far (the prior breaks ties until the model has data), and a small share
  of each batch stays random for exploration.

Every candidate is a (sketch, decisions) pair; ``records.to_config`` turns it into a log config.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autotune.measure.measure import MeasureInput, MeasureResult
from ..autotune.record import Ranking, record_cost
from ..autotune.space import ConfigEntity, InstantiationError
from ..autotune.tuner.tuner import Leaders
from . import feature_workers, prior
from .cost_model import FEATURE, XGBRankModel, features
from .records import candidate_key, from_config, to_config
from .sketch import Sketch

_PRIOR_SAMPLES = 256     # random decisions drawn per sketch for a first batch
_GENERATIONS = 3
_POPULATION = 24
_CHILDREN = 48           # mutants a generation ranks with the model
_EPSILON = 0.1           # share of a batch drawn at random from the prior's top
# Seconds of feature extraction (lowering) a batch may spend per proposed candidate: the
# search must stay cheaper than measuring.
_FEATURE_SECONDS = 0.4
# Features of several new candidates are extracted in ``feature_workers`` forked children when
# extracting them here would take this many seconds or more (a fork costs ~20-40 ms).
_PARALLEL_SECONDS = 0.25


class SketchSearch:
    """Search state of one task: measured candidates, the model, the best so far."""

    def __init__(self, task: Any, seed: int | None = None, cost_model: XGBRankModel | None = None,
                 sketches: Sequence[Sketch] | None = None):
        self.task = task
        # what is searched: the task's sketches, or those a policy's custom rules chose
        self.sketches: list[Sketch] = list(task.sketches if sketches is None else sketches)
        self.rng = random.Random(seed)
        self.model = cost_model if cost_model is not None else XGBRankModel(seed=seed or 0)
        self.measured: dict[str, float] = {}     # candidate key -> throughput (0 on failure)
        self.cands: dict[str, tuple[Sketch, dict[str, Any]]] = {}
        self.pending: set[str] = set()
        self.seed_scores: dict[str, float] = {}
        self._seeded = False  # seed_scores were computed (by a first batch, or for a resumed search)
        self.xs: list[np.ndarray] = []
        self.ys: list[float] = []
        self._feat: dict[str, np.ndarray | None] = {}
        self._feat_time = 0.0     # seconds spent extracting features, and how many were extracted
        self._feat_count = 0
        self._serial_time = 0.0   # the same, of extractions in this process alone
        self._serial_count = 0
        self.stopped: str | None = None  # why the last run of trials stopped short (its reference failed)
        # Processes that may extract features side by side (``feature_workers``): set by a tuning
        # run that builds in forked children on as many cores; 1 extracts here only.
        self.feature_workers = 1
        self.best_flops = 0.0
        self.best_cost = math.inf
        self.best_config: ConfigEntity | None = None
        self.trials_done = 0
        self._ranking = Ranking()  # the rule every reader of a log names the best by
        self._leaders = Leaders()  # the fastest few, for the final re-measurement
        # A successful trial came after the last confirmation of the leaders (``task.confirm_best``).
        self.needs_confirmation = False

    @property
    def search_task(self) -> Any:
        """The task searched (TVM's name: a measure callback reads ``policy.search_task``)."""
        return self.task

    # -- candidates ------------------------------------------------------------------------------
    def _key(self, sketch: Sketch, d: dict[str, Any]) -> str:
        key = candidate_key(sketch, d)
        self.cands.setdefault(key, (sketch, d))
        return key

    def _fresh(self, key: str) -> bool:
        return key not in self.measured and key not in self.pending

    def is_new(self, sketch: Sketch, decisions: dict[str, Any]) -> bool:
        """Whether the candidate was neither measured nor proposed before."""
        return self._fresh(self._key(sketch, decisions))

    def _prior_pool(self, per_sketch: int, rng: random.Random | None = None) -> list[tuple[float, str]]:
        pool: list[tuple[float, str]] = []
        for sketch in self.sketches:
            slots = self.task.slots(sketch)
            seen: set[str] = set()
            for _ in range(per_sketch):
                d = prior.random_decisions(slots, rng or self.rng)
                key = self._key(sketch, d)
                if key in seen:
                    continue
                seen.add(key)
                pool.append((prior.prior_score(self.task.dag, sketch, d, self.task.hardware), key))
        pool.sort(key=lambda t: -t[0])
        return pool

    def _seeds(self, pool: list[tuple[float, str]]) -> list[tuple[float, str]]:
        """The register-tile seeds of every sketch (``prior.seed_decisions``) with their scores,
        remembered in ``seed_scores`` so later batches still consider the unmeasured ones."""
        out = []
        for sketch in self.sketches:
            base = next((self.cands[k][1] for _, k in pool if self.cands[k][0] == sketch), None)
            if base is None:
                continue
            for d in prior.seed_decisions(self.task.dag, sketch, self.task.slots(sketch), base, self.task.hardware):
                key = self._key(sketch, d)
                score = prior.prior_score(self.task.dag, sketch, d, self.task.hardware)
                self.seed_scores[key] = score
                out.append((score, key))
        return out

    def _features(self, keys: Sequence[str]) -> np.ndarray:
        new = [k for k in dict.fromkeys(keys) if k not in self._feat]
        serial = self._serial_time / self._serial_count if self._serial_count else 0.05
        if self.feature_workers > 1 and len(new) >= 4 and serial * len(new) >= _PARALLEL_SECONDS:
            t0 = time.perf_counter()
            values = feature_workers.extract(self.task, [to_config(*self.cands[k]) for k in new], self.feature_workers)
            self._feat.update(zip(new, values))
            self._feat_time += time.perf_counter() - t0
            self._feat_count += len(new)
        rows = []
        for key in keys:
            if key not in self._feat:
                t0 = time.perf_counter()
                self._feat[key] = self._extract(key)
                spent = time.perf_counter() - t0
                self._feat_time += spent
                self._feat_count += 1
                self._serial_time += spent
                self._serial_count += 1
            f = self._feat[key]
            rows.append(f if f is not None else np.full(features_length(), np.nan, dtype=np.float32))
        return np.array(rows, dtype=np.float32).reshape(len(rows), -1)

    def _extract(self, key: str) -> np.ndarray | None:
        sketch, d = self.cands[key]
        return features(self.task, to_config(sketch, d))

    def _affordable(self, budget_s: float) -> int:
        """How many new feature vectors fit in ``budget_s`` seconds (at the mean cost so far)."""
        mean = self._feat_time / self._feat_count if self._feat_count else 0.05
        return max(4, int(budget_s / max(mean, 1e-3)))

    def _rank(self, keys: list[str], prior_scores: dict[str, float], limit: int | None = None) -> list[str]:
        """``keys`` best first: by the model when it has something to say, the prior breaking ties.
        With ``limit``, only the prior's best ``limit`` keys without features get them extracted;
        the rest follow in prior order."""
        if not keys:
            return []
        if limit is not None:
            keys = sorted(keys, key=lambda k: -prior_scores.get(k, 0.0))
            new = [k for k in keys if k not in self._feat]
            cut = set(new[limit:])
            tail = [k for k in keys if k in cut]
            return self._rank([k for k in keys if k not in cut], prior_scores) + tail
        scores = self.model.predict(self._features(keys)) if (self.model.trained or self.model.base) else None
        pri = np.array([prior_scores.get(k, 0.0) for k in keys])
        if scores is None:
            total = pri
        else:
            s = np.asarray(scores, dtype=float)
            invalid = np.array([self._feat.get(k) is None for k in keys])
            # Ranks of both, the model weighted more as measurements of this task arrive (the
            # pretrained model alone ranks other tasks' shapes little better than the prior).
            w = min(0.9, 0.4 + len(self.ys) / 64) if self.model.trained else 0.25
            total = w * _ranks(s) + (1 - w) * _ranks(pri)
            total[invalid] = -np.inf
        order = np.argsort(-total, kind="stable")
        return [keys[i] for i in order if np.isfinite(total[i])]

    def next_batch(self, n: int) -> list[ConfigEntity]:
        """Up to ``n`` candidates never measured nor proposed before."""
        # A first batch also where a resumed log holds less than a batch (a run killed during its
        # first batch): its other candidates, the same again, come first.
        first = not self._seeded and not self.pending and len(self.measured) < n
        # The first pool is drawn with a fixed seed: the first batch does not depend on the search's seed.
        pool = self._prior_pool(_PRIOR_SAMPLES if first else _PRIOR_SAMPLES // 4,
                                random.Random(0) if first else None)
        if first:
            pool = sorted(pool + self._seeds(pool), key=lambda t: -t[0])
            self._seeded = True
        elif not self._seeded:
            # A resumed search (a log that holds its first batch, or the part of it measured
            # before a kill): the register-tile seeds a first batch remembers stay candidates,
            # as in a search that was never stopped.
            self._seeds(self._prior_pool(_PRIOR_SAMPLES, random.Random(0)))
            self._seeded = True
        prior_scores = dict((k, s) for s, k in pool)
        prior_scores.update(self.seed_scores)
        fresh_prior = [k for _, k in pool if self._fresh(k)]
        if first:
            # The register-tile seeds the prior likes best, then the prior's best of every
            # sketch (the prior compares decisions within a sketch better than it compares
            # sketches), then the prior's next best ranked by the model (pretrained, when shipped).
            seeds = [k for k in self.seed_scores if self._fresh(k)]
            firsts: dict[str, str] = {}
            for key in fresh_prior:
                firsts.setdefault(self.cands[key][0].name, key)
            heads = seeds[:max(0, n - len(firsts))]
            heads += [k for k in firsts.values() if k not in heads][:max(1, n - len(heads))]
            rest = [k for k in fresh_prior[:3 * n] if k not in heads]
            ranked = self._rank(rest, prior_scores, limit=self._affordable(_FEATURE_SECONDS * n))
            picked = heads + _diverse(ranked, n - len(heads), self.cands)
        else:
            picked = self._evolve(n, fresh_prior, prior_scores)
        n_random = max(0, min(len(fresh_prior), int(round(_EPSILON * n)))) if self.measured else 0
        extra = [k for k in fresh_prior[:4 * n] if k not in picked]
        self.rng.shuffle(extra)
        picked = picked[:n - n_random] + extra[:n_random]
        if len(picked) < n:
            picked += [k for k in fresh_prior if k not in picked][:n - len(picked)]
        out = []
        for key in picked[:n]:
            self.pending.add(key)
            sketch, d = self.cands[key]
            out.append(to_config(sketch, d, self.task.flop))
        return out

    def _evolve(self, n: int, fresh_prior: list[str], prior_scores: dict[str, float]) -> list[str]:
        best_measured = sorted((k for k, y in self.measured.items() if y > 0), key=lambda k: -self.measured[k])
        seeds = sorted((k for k in self.seed_scores if self._fresh(k)), key=lambda k: -self.seed_scores[k])
        population = best_measured[:_POPULATION // 2] + seeds[:_POPULATION // 4] + fresh_prior[:_POPULATION // 4]
        children: set[str] = set()
        deadline = time.perf_counter() + _FEATURE_SECONDS * n
        for _ in range(_GENERATIONS):
            if not population or time.perf_counter() > deadline:
                break
            new: list[str] = []
            for _ in range(_CHILDREN):
                parent = population[min(int(self.rng.expovariate(1 / 4)), len(population) - 1)]
                sketch, d = self.cands[parent]
                child = prior.mutate(d, self.task.slots(sketch), self.rng)
                if self.rng.random() < 0.3:
                    child = prior.mutate(child, self.task.slots(sketch), self.rng)
                key = self._key(sketch, child)
                if self._fresh(key) and key not in children:
                    prior_scores.setdefault(key, prior.prior_score(self.task.dag, sketch, child, self.task.hardware))
                    new.append(key)
            children.update(new)
            budget = self._affordable(max(0.0, deadline - time.perf_counter()))
            ranked = self._rank(new + [k for k in population if self._fresh(k)], prior_scores, limit=budget)
            population = best_measured[:_POPULATION // 3] + ranked[:_POPULATION]
        ranked = self._rank(list(dict.fromkeys([*sorted(children), *fresh_prior[:n], *seeds[:n]])), prior_scores,
                            limit=n)
        return _diverse(ranked, n, self.cands)

    # -- learning ---------------------------------------------------------------------------------
    def leaders(self, top: int) -> list[MeasureInput]:
        """The candidates a final re-measurement takes (``tuner.Leaders``): the ``top`` fastest
        trials, more when further ones are within noise of the fastest."""
        return self._leaders.leading(top)

    def _record_best(self, inp: MeasureInput, res: MeasureResult) -> None:
        """Keep the leaders and the best (``record.Ranking``: a confirmed winner takes the lead)."""
        cost = record_cost(res)
        if not math.isfinite(cost):
            return
        if res.confirm is None:
            self.needs_confirmation = True
        self._leaders.add(cost, inp, confirmed=res.confirm is not None)  # a confirmed figure replaces the trial's
        if self._ranking.add(inp, res):
            self.best_cost = cost
            self.best_flops = self.task.flop / cost if self.task.flop else 0.0
            self.best_config = inp.config

    def update(self, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        """Record measurements (this search's proposals or a resumed log's, confirmations of the
        leaders included) and refit the model."""
        for inp, res in zip(inputs, results):
            try:
                sketch, d = from_config(inp.config)
            except InstantiationError:
                continue
            key = self._key(sketch, d)
            self.pending.discard(key)
            self._record_best(inp, res)
            if res.confirm is not None:  # a re-measurement of a trial: nothing new to learn
                self.needs_confirmation = False
                continue
            cost = record_cost(res)  # the ranking rule of every log reader
            thr = (self.task.flop or 1.0) / cost if res.ok and 0 < cost < math.inf else 0.0
            self.measured[key] = thr
            f = self._features([key])[0]
            if not np.isnan(f).any():
                self.xs.append(f)
                self.ys.append(thr)
        if self.xs:
            self.model.fit(np.array(self.xs), np.array(self.ys))


def features_length() -> int:
    return FEATURE.length()


def _ranks(x: np.ndarray) -> np.ndarray:
    x = np.where(np.isfinite(x), x, -1e30)
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x)) / max(1, len(x) - 1)
    return r


def _diverse(ranked: list[str], n: int, cands: dict[str, tuple[Sketch, dict[str, Any]]]) -> list[str]:
    """The first ``n`` of ``ranked``, skipping a candidate that differs from an already picked
    one in a single decision while others remain (so a batch spreads over the space)."""
    picked: list[str] = []
    skipped: list[str] = []
    for key in ranked:
        if len(picked) >= n:
            break
        sketch, d = cands[key]
        close = any(cands[p][0] == sketch and sum(d[s] != cands[p][1][s] for s in d) <= 1 for p in picked)
        (skipped if close else picked).append(key)
    return picked + skipped[:n - len(picked)]
