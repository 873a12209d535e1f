"""``tune_tasks``: share one trial budget among several search tasks, where the gain is largest.

A gradient task scheduler in the manner of Ansor's: after one warm-up batch per task, each
round goes to the task whose weighted latency is expected to fall fastest.  A task's expected
gain mixes its recent improvement per trial (backward window) with an optimistic estimate
(its best latency divided by its trials so far: the first trials of a task pay off most);
tasks that stopped improving get rounds again only when the others stall too.  One progress
display covers all tasks.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..errors import TensorLangError
from .search import SketchSearch
from .task import (
    BATCH,
    SearchTask,
    confirm_best,
    default_measure_option,
    finish_trials,
    finishing_reserve,
    resume,
    run_trials,
)

_WINDOW = 3       # rounds in the backward window
_ALPHA = 0.2      # weight of the optimistic forward estimate


class TaskScheduler:
    """Round-by-round allocation state (exposed for tests and reports)."""

    def __init__(self, tasks: Sequence[SearchTask], weights: Sequence[float] | None = None, seed: int | None = None):
        if not tasks:
            raise TensorLangError("tune_tasks needs at least one SearchTask")
        self.tasks = list(tasks)
        self.weights = list(weights) if weights is not None else [1.0] * len(tasks)
        if len(self.weights) != len(self.tasks):
            raise TensorLangError(f"tune_tasks: {len(self.weights)} weights for {len(self.tasks)} tasks")
        self.searches = [SketchSearch(t, seed=None if seed is None else seed + i) for i, t in enumerate(tasks)]
        self.history: list[list[float]] = [[] for _ in tasks]   # best latency after each round

    def best_latency(self, i: int) -> float:
        return self.searches[i].best_cost

    def gradient(self, i: int) -> float:
        """Expected decrease of the weighted total latency per trial spent on task ``i``."""
        s, hist = self.searches[i], self.history[i]
        best = s.best_cost
        if not math.isfinite(best):
            return math.inf                    # nothing works yet: its latency is unknown, try again
        trials = max(1, s.trials_done)
        backward = 0.0
        if len(hist) > _WINDOW and math.isfinite(hist[-1 - _WINDOW]):
            backward = (hist[-1 - _WINDOW] - hist[-1]) / (_WINDOW * BATCH)
        forward = best / trials
        return self.weights[i] * ((1 - _ALPHA) * backward + _ALPHA * forward)

    def pick(self) -> int:
        grads = [self.gradient(i) for i in range(len(self.tasks))]
        return max(range(len(grads)), key=lambda i: (grads[i], -self.searches[i].trials_done))


def tune_tasks(tasks: Sequence[SearchTask], n_trials: int, log: str | os.PathLike | None = None,
               measure_option: Any = None, weights: Sequence[float] | None = None, seed: int | None = None,
               verbose: bool = True, confirm_top: int = 3, confirm_rounds: int = 3) -> TaskScheduler:
    """Tune ``tasks`` with ``n_trials`` trials in all (counting trials ``log`` already holds),
    giving rounds to the tasks with the largest expected gain; every trial goes to ``log``.
    Then each task's fastest candidates are re-measured side by side (``task.confirm_best``,
    with ``confirm_top`` > 1) and its best is the confirmed one."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise TensorLangError(f"n_trials must be a non-negative int, got {n_trials!r}")
    sched = TaskScheduler(tasks, weights, seed)
    option = measure_option or default_measure_option()
    used = sum(resume(s, log) for s in sched.searches)
    for i in range(len(tasks)):
        sched.history[i].append(sched.best_latency(i))
    start = time.monotonic()
    # Warm-up: one batch for every task that has none yet.
    order = [i for i, s in enumerate(sched.searches) if s.trials_done == 0] if used else list(range(len(tasks)))
    # Rounds are a batch, smaller when the budget is small, so that every task gets a warm-up round.
    round_size = min(BATCH, max(1, n_trials // len(tasks)))

    def spend(limit: int) -> None:
        nonlocal used
        while used < limit:
            i = order.pop(0) if order else sched.pick()
            n = run_trials(sched.tasks[i], sched.searches[i], min(round_size, limit - used), log, option)
            if n == 0:
                break
            used += n
            sched.history[i].append(sched.best_latency(i))
            if verbose:
                _show(sched, used, n_trials, time.monotonic() - start)

    # The rounds, then each task's finishing variants (``task.finish_trials``), then the rest.
    reserves = [finishing_reserve(t) for t in sched.tasks]
    spend(max(0, n_trials - sum(reserves)))
    for i, reserve in enumerate(reserves):
        n = finish_trials(sched.tasks[i], sched.searches[i], min(reserve, n_trials - used), log, option)
        used += n
        if n and verbose:
            _show(sched, used, n_trials, time.monotonic() - start)
    spend(n_trials)
    if verbose:
        print(file=sys.stderr)
    if confirm_top > 1:
        for task, search in zip(sched.tasks, sched.searches):
            if search.needs_confirmation:
                if verbose:
                    print(f"  {task.name}: re-measuring the leaders", file=sys.stderr)
                confirm_best(task, search, option, log, confirm_top, confirm_rounds)
    return sched


def _show(sched: TaskScheduler, used: int, total: int, elapsed: float) -> None:
    parts = []
    for t, s in zip(sched.tasks, sched.searches):
        parts.append(f"{t.name.removeprefix('auto/')} {s.trials_done}t "
                     + (f"{s.best_flops / 1e9:.1f}GF" if s.best_config is not None else "-"))
    line = f"[{used}/{total}] " + " | ".join(parts) + f" | {elapsed:.0f} s"
    end = "\r" if sys.stderr.isatty() else "\n"
    print(line, end=end, file=sys.stderr, flush=True)
