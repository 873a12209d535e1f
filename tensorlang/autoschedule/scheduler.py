"""``tune_tasks``: share one trial budget among several search tasks, where the gain is largest.

A gradient task scheduler in the manner of Ansor's: after one warm-up batch per task, each
round goes to the task whose weighted latency is expected to fall fastest.  A task's expected
gain mixes its recent improvement per trial (backward window) with an optimistic estimate
(its best latency divided by its trials so far: the first trials of a task pay off most);
tasks that stopped improving get rounds again only when the others stall too.  One progress
display covers all tasks.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..autotune import record
from ..autotune.tuner.tuner import checked_measure_option
from ..errors import TensorLangError
from .search import SketchSearch
from .task import (
    BATCH,
    SearchTask,
    confirm_best,
    default_measure_option,
    finish_trials,
    finishing_reserve,
    preload,
    require_device,
    resume,
    run_trials,
)
from .tuning_options import TuningOptions

_WINDOW = 3       # rounds in the backward window
_ALPHA = 0.2      # weight of the optimistic forward estimate
# TVM's TaskScheduler parameters that tensorlang accepts and does not use
_TVM_SCHEDULER_OPTIONS = {"objective_func", "strategy", "load_model_file", "alpha", "beta", "gamma",
                          "backward_window_size", "callbacks"}


class TaskScheduler:
    """Round-by-round allocation state (exposed for tests and reports)."""

    def __init__(self, tasks: Sequence[SearchTask], weights: Sequence[float] | None = None, seed: int | None = None,
                 *, task_weights: Sequence[float] | None = None, load_log_file: str | None = None,
                 **tvm_options: Any):
        """``weights`` (TVM: ``task_weights``) scale each task's latency in the objective, as the
        number of times a network runs it.  ``load_log_file`` holds trials that start the tasks'
        searches.  TVM's other tuning parameters (``strategy``, ``alpha``, ``beta``, ...) are
        accepted and not used."""
        if not tasks:
            raise TensorLangError("tune_tasks needs at least one SearchTask")
        unknown = set(tvm_options) - _TVM_SCHEDULER_OPTIONS
        if unknown:
            raise TensorLangError(f"TaskScheduler: unknown argument(s) {', '.join(sorted(unknown))}")
        if weights is None:
            weights = task_weights
        self.load_log_file = load_log_file
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

    def tune(self, tune_option: TuningOptions, search_policy: Any = "default", search_policy_params: Any = None,
             adaptive_training: bool = False, per_task_early_stopping: int | None = None) -> TaskScheduler:
        """TVM's form: measure ``tune_option.num_measure_trials`` new trials over the tasks into
        its ``RecordToFile`` log (trials the log already holds start the searches)."""
        if not isinstance(tune_option, TuningOptions):
            raise TensorLangError(f"TaskScheduler.tune needs a TuningOptions, got {tune_option!r}")
        if self.load_log_file is not None:
            for search in self.searches:
                preload(search, self.load_log_file, tune_option.log)
        return _tune(self, tune_option.num_measure_trials, tune_option.log,
                     tune_option.measure_option(default_measure_option), tune_option.verbose > 0, 3, 3,
                     additional=True)


def tune_tasks(tasks: Sequence[SearchTask], n_trials: int, log: str | os.PathLike | None = None,
               measure_option: Any = None, weights: Sequence[float] | None = None, seed: int | None = None,
               verbose: bool = True, confirm_top: int = 3, confirm_rounds: int = 3) -> TaskScheduler:
    """Tune ``tasks`` with ``n_trials`` trials in all (counting trials ``log`` already holds),
    giving rounds to the tasks with the largest expected gain; every trial goes to ``log``.
    Then each task's fastest candidates are re-measured side by side (``task.confirm_best``,
    with ``confirm_top`` > 1) and its best is the confirmed one."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise TensorLangError(f"n_trials must be a non-negative int, got {n_trials!r}")
    if measure_option is not None:
        measure_option = checked_measure_option(measure_option, "tune_tasks")
    sched = TaskScheduler(tasks, weights, seed)
    return _tune(sched, n_trials, log, measure_option or default_measure_option(), verbose, confirm_top,
                 confirm_rounds)


def _tune(sched: TaskScheduler, n_trials: int, log: str | os.PathLike | None, option: Any, verbose: bool,
          confirm_top: int, confirm_rounds: int, additional: bool = False) -> TaskScheduler:
    """The rounds of ``tune_tasks``; with ``additional``, ``n_trials`` are new trials on top of
    those ``log`` holds.  A bad or busy log stops the run before anything is measured."""
    with record.exclusive_writer(log) if log is not None else contextlib.nullcontext():
        return _rounds(sched, n_trials, log, option, verbose, confirm_top, confirm_rounds, additional)


def _rounds(sched: TaskScheduler, n_trials: int, log: str | os.PathLike | None, option: Any, verbose: bool,
            confirm_top: int, confirm_rounds: int, additional: bool) -> TaskScheduler:
    tasks = sched.tasks
    for task in tasks:
        require_device(task, option)
    used = sum(resume(s, log) for s in sched.searches)
    if additional:
        n_trials += used
    if verbose and used:
        print(f"resuming: {used} trial(s) already in {log}, {max(0, n_trials - used)} to go", file=sys.stderr)
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
