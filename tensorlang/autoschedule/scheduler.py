"""``TaskScheduler``: share one trial budget among several search tasks, where it helps most.

Ansor's task scheduler (TVM 0.12's ``auto_scheduler.TaskScheduler``): after one warm-up round
per task, each round goes to the next task in turn (``strategy="round-robin"``) or to the task
whose round is expected to lower the objective most (``"gradient"``).  The objective is
``objective_func(best_costs)`` (default: the ``task_weights``-weighted sum of the tasks' best
latencies); a task's expected gain is the objective's derivative with respect to its latency
(numerical, as TVM does: a task the objective ignores gets no rounds after its warm-up) times
its expected latency drop per round, which mixes its recent drop (``backward_window_size``
rounds back, weight ``alpha``) with an optimistic estimate (best / rounds so far, capped by
``beta`` times what similar tasks reach).  ``tune_tasks`` is tensorlang's form of the same run.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autotune import record
from ..autotune.measure.kept_builds import KeptBuilds
from ..autotune.measure.local import REFERENCE_FAILED
from ..autotune.tuner.tuner import checked_measure_option
from ..errors import TensorLangError
from .policy import PreloadMeasuredStates, RandomModel, SketchPolicy, XGBModel
from .records import from_config
from .scheduler_callbacks import NO_COST, ShowProgress, TaskSchedulerCallback
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
from .tuning_options import TuningOptions, TuningOptionsError

STRATEGIES = ("round-robin", "gradient")
# op attribute naming a family of similar operators (TVM's), whose speeds bound each other's gains
SIMILARITY_TAG = "auto_scheduler_task_scheduler_tag"


class TaskScheduler:
    """``TaskScheduler(tasks, task_weights=None, objective_func=None, strategy="gradient", ...)``.

    The state TVM's callbacks and tests read is kept under TVM's names: ``best_costs`` (numpy
    array of seconds, ``1e10`` while a task has no working candidate; it may be set before
    ``tune``), ``task_cts`` (rounds per task), ``task_best_cts`` (the round of each task's
    best), ``task_costs_history``, ``ct`` (trials measured by this ``tune``), ``best_ct``,
    ``best_score``, ``cur_score``, ``dead_tasks``, ``num_measures_per_round``, ``tic``."""

    def __init__(self, tasks: Sequence[SearchTask], task_weights: Sequence[float] | None = None,
                 objective_func: Callable[[Any], float] | None = None, strategy: str = "gradient",
                 load_model_file: str | None = None, load_log_file: str | None = None, alpha: float = 0.2,
                 beta: float = 2, gamma: float = 0.5, backward_window_size: int = 3,
                 callbacks: Sequence[TaskSchedulerCallback] | None = None, *, weights: Sequence[float] | None = None,
                 seed: int | None = None):
        """``task_weights`` (or ``weights``) scale each task's latency in the default objective,
        as the number of times a network runs it.  ``load_log_file`` holds trials that start the
        tasks' searches and the scheduler's state; ``load_model_file`` a cost model to start
        from.  ``callbacks`` default to tensorlang's progress line (``ShowProgress``); TVM's
        ``PrintTableInfo`` and ``LogEstimatedLatency`` are there to ask for.  ``gamma`` is
        accepted as in TVM, which does not use it either."""
        if not tasks:
            raise TensorLangError("TaskScheduler needs at least one SearchTask")
        if strategy not in STRATEGIES:
            raise TensorLangError(f"TaskScheduler strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        if weights is not None and task_weights is not None:
            raise TensorLangError("TaskScheduler: give task_weights or weights, not both")
        weights = task_weights if task_weights is not None else weights
        self.tasks = list(tasks)
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(self.tasks)
        if len(self.weights) != len(self.tasks):
            raise TensorLangError(f"TaskScheduler: {len(self.weights)} task weights for {len(self.tasks)} tasks")
        if objective_func is not None and not callable(objective_func):
            raise TensorLangError(f"TaskScheduler objective_func must be callable (best costs -> float), "
                                  f"got {objective_func!r}")
        self.objective_func = objective_func or (lambda costs: sum(w * c for w, c in zip(self.weights, costs)))
        self.strategy = strategy
        self.load_model_file = load_model_file
        self.load_log_file = load_log_file
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        if isinstance(backward_window_size, bool) or not isinstance(backward_window_size, int) \
                or backward_window_size < 1:
            raise TensorLangError(f"TaskScheduler backward_window_size must be a positive int, "
                                  f"got {backward_window_size!r}")
        self.backward_window_size = backward_window_size
        self.callbacks = list(callbacks) if callbacks is not None else [ShowProgress()]
        for cb in self.callbacks:
            if not (callable(getattr(cb, "pre_tune", None)) and callable(getattr(cb, "post_tune", None))):
                raise TensorLangError(f"TaskScheduler callbacks need pre_tune(scheduler, task_id) and "
                                      f"post_tune(scheduler, task_id) (a TaskSchedulerCallback), got {cb!r}")
        self.seed = seed
        self.searches = [SketchSearch(t, seed=self._seed(i)) for i, t in enumerate(self.tasks)]

        n = len(self.tasks)
        self.best_costs = NO_COST * np.ones(n)
        self.task_cts = [0] * n
        self.task_best_cts = [0] * n
        self.task_costs_history: list[list[float]] = [[] for _ in range(n)]
        self.cur_score = self._score(self.best_costs)
        self.tune_option: TuningOptions | None = None
        self.ct: int | None = None
        self.best_ct: int | None = None
        self.best_score: float | None = None
        self.tic: float | None = None
        self.num_measures_per_round: int | None = None
        self.dead_tasks: set[int] = set()
        # failed trials of this run, by task: kind -> count, and the first error's message
        self.task_errors: list[dict[str, int]] = [{} for _ in range(n)]
        self.first_error: list[str | None] = [None] * n
        self.task_ok = [0] * n  # trials of this run that gave a time
        self.budget = 0           # trials this run may measure
        self.verbose = 1
        self.early_stopping_all = math.inf
        self.early_stopping_task = math.inf
        # similarity groups: tasks whose stages carry the same tags (and a similar flop count)
        self.flop_cts = [t.compute_dag.flop_ct for t in self.tasks]
        self.task_tags = [_similarity_tag(t) for t in self.tasks]
        self.group_of: dict[str, list[int]] = {}
        for i, tag in enumerate(self.task_tags):
            if tag:
                self.group_of.setdefault(tag, []).append(i)

    def _seed(self, i: int) -> int | None:
        return None if self.seed is None else self.seed + i

    @property
    def task_trials(self) -> list[int]:
        """Trials each task's search has measured, resumed ones included."""
        return [s.trials_done for s in self.searches]

    def _score(self, costs: Any) -> float:
        score = self.objective_func(costs)
        return float(getattr(score, "value", score))  # a tir FloatImm from a te-built objective

    # -- TVM's entry point ----------------------------------------------------------------------------
    def tune(self, tune_option: TuningOptions, search_policy: Any = "default", search_policy_params: Any = None,
             adaptive_training: bool = False, per_task_early_stopping: int | None = None) -> TaskScheduler:
        """Measure ``tune_option.num_measure_trials`` new trials over the tasks, into its
        ``RecordToFile`` log (the trials that log holds start the searches and the scheduler),
        in rounds of ``min(num_measures_per_round, num_measure_trials // len(tasks))`` trials.

        ``search_policy`` is "default" / "sketch.xgb" (the learned cost model), "sketch.random"
        (the analytic prior alone) or one ``SketchPolicy`` per task; ``search_policy_params`` and
        ``adaptive_training`` go to the policies and their model (tensorlang's search sizes
        itself, so they change nothing).  A task with no better candidate in
        ``per_task_early_stopping`` trials gets no more rounds; the run stops when the
        objective has not improved in ``tune_option.early_stopping`` trials.
        ``tune_option.measure_callbacks`` see every measured batch."""
        if not isinstance(tune_option, TuningOptions):
            raise TensorLangError(f"TaskScheduler.tune needs an auto_scheduler.TuningOptions, got {tune_option!r}")
        if search_policy_params is not None and not isinstance(search_policy_params, dict):
            raise TensorLangError(f"TaskScheduler.tune: search_policy_params must be a dict, "
                                  f"got {search_policy_params!r}")
        if per_task_early_stopping is not None and (isinstance(per_task_early_stopping, bool)
                                                    or not isinstance(per_task_early_stopping, int)):
            raise TensorLangError(f"TaskScheduler.tune: per_task_early_stopping must be an int or None, "
                                  f"got {per_task_early_stopping!r}")
        per_round = min(tune_option.num_measures_per_round, tune_option.num_measure_trials // len(self.tasks))
        if per_round <= 0:
            raise TuningOptionsError(
                f"TaskScheduler.tune: num_measure_trials={tune_option.num_measure_trials} and num_measures_per_round="
                f"{tune_option.num_measures_per_round} leave no trial for a round of each of the {len(self.tasks)} "
                f"tasks; num_measure_trials must be at least {len(self.tasks)}")
        self.tune_option = tune_option
        policies = self._policies(search_policy, search_policy_params, adaptive_training, tune_option.verbose)
        self.searches = [p.search for p in policies]
        for p in policies:
            for path in p.preload:
                preload(p.search, path, tune_option.log)
        self.early_stopping_task = math.inf if per_task_early_stopping is None else per_task_early_stopping
        self.early_stopping_all = math.inf if tune_option.early_stopping is None else tune_option.early_stopping
        return _tune(self, tune_option.num_measure_trials, per_round, tune_option.log,
                     tune_option.measure_option(default_measure_option), tune_option.verbose,
                     tune_option.callbacks, confirm_top=3, confirm_rounds=3, additional=True)

    def _policies(self, search_policy: Any, params: dict | None, adaptive_training: bool,
                  verbose: int) -> list[SketchPolicy]:
        """One search policy per task, as TVM's ``make_search_policies`` names them."""
        if isinstance(search_policy, (list, tuple)):
            if len(search_policy) != len(self.tasks) or not all(isinstance(p, SketchPolicy) for p in search_policy):
                raise TensorLangError(f"TaskScheduler.tune: search_policy must be a name or one SketchPolicy per task "
                                      f"({len(self.tasks)}), got {search_policy!r:.200}")
            return list(search_policy)
        names = {"default": "xgb", "sketch.xgb": "xgb", "sketch.random": "random"}
        if search_policy not in names:
            raise TensorLangError(f"TaskScheduler.tune: unknown search_policy {search_policy!r} (known: "
                                  f"{', '.join(names)}, or a list of SketchPolicy)")
        preloads = [PreloadMeasuredStates(self.load_log_file)] if self.load_log_file else None
        policies = []
        for i, task in enumerate(self.tasks):
            # a model per task: tensorlang's ranker is fitted on one task's candidates
            if names[search_policy] == "xgb":
                model: Any = XGBModel(model_file=self.load_model_file, adaptive_training=adaptive_training)
            else:
                model = RandomModel()
            policies.append(SketchPolicy(task, model, params=params, seed=self._seed(i), verbose=verbose,
                                         init_search_callbacks=preloads))
        return policies

    # -- the rounds ---------------------------------------------------------------------------------
    def _restore(self, paths: Sequence[str]) -> None:
        """Rounds and best costs of the tasks from the trials in ``paths`` (TVM's
        ``_restore_status``): rounds are estimated as trials / ``num_measures_per_round``."""
        index = {(t.workload_key, str(t.target)): i for i, t in enumerate(self.tasks)}
        trials = [0] * len(self.tasks)
        best_at = [0] * len(self.tasks)
        seen = False
        for path in dict.fromkeys(os.path.abspath(p) for p in paths):
            if not os.path.exists(path):
                continue
            with warnings.catch_warnings():  # the searches' own reading of the log already warned
                warnings.simplefilter("ignore")
                records = list(record.load_from_file(path))
            for inp, res in records:
                i = index.get((inp.task.workload_key, str(inp.task.target)))
                if i is None or not _is_auto_config(inp.config):
                    continue
                seen = True
                trials[i] += 1
                cost = record.record_cost(res)
                if cost < self.best_costs[i]:
                    self.best_costs[i] = cost
                    best_at[i] = trials[i]
        if not seen:
            return
        per_round = self.num_measures_per_round or 1
        for i in range(len(self.tasks)):
            if trials[i] - best_at[i] > self.early_stopping_task:
                self.dead_tasks.add(i)
            self.task_cts[i] += int(trials[i] / per_round + 0.5)
            self.task_best_cts[i] += int(best_at[i] / per_round + 0.5)
            self.task_costs_history[i].append(float(self.best_costs[i]))
        self.cur_score = self._score(self.best_costs)

    def _expected_gain(self, i: int) -> float:
        """How much a round of task ``i`` is expected to lower the objective (TVM's negated
        gradient): d objective / d latency_i times the expected drop of latency_i."""
        best = float(self.best_costs[i])
        delta = 1e-4
        lowered = list(self.best_costs)
        lowered[i] -= delta
        chain = (self._score(self.best_costs) - self._score(lowered)) / delta
        rounds = self.task_cts[i]
        window = self.backward_window_size
        hist = self.task_costs_history[i]
        recent = 0.0
        if rounds - 1 < len(hist) and rounds - 1 - window >= 0:
            recent = (hist[rounds - 1 - window] - hist[rounds - 1]) / window
        # optimistic: the next round lowers the latency as much as an average round so far did,
        # but not below what the fastest similar task suggests is reachable
        reachable = best - best / max(rounds, 1)
        group = self.group_of.get(self.task_tags[i] or "", [])
        if len(group) > 1:
            best_speed = max(self.flop_cts[j] / self.best_costs[j] for j in group)
            reachable = min(reachable, self.beta * self.flop_cts[i] / best_speed)
        optimistic = best - reachable
        return chain * (self.alpha * recent + (1 - self.alpha) * optimistic)

    def _next_task(self, last: int) -> int:
        n = len(self.tasks)
        if self.strategy == "round-robin":
            i = (last + 1) % n
            while i in self.dead_tasks:
                i = (i + 1) % n
            return i
        gains = [0.0 if i in self.dead_tasks else self._expected_gain(i) for i in range(n)]
        # ties (no information yet): the live task with the fewest rounds, as fair as TVM's random pick
        return max((i for i in range(n) if i not in self.dead_tasks),
                   key=lambda i: (gains[i], -self.task_cts[i], -i))

    def _adjust_similarity_group(self, i: int) -> None:
        """A task tuned far more often than its group's others yet still much slower than the
        fastest of them is not similar after all: it leaves the group."""
        group = self.group_of.get(self.task_tags[i] or "", [])
        if len(group) <= 1:
            return
        best_speed = max(self.flop_cts[j] / self.best_costs[j] for j in group)
        if self.flop_cts[i] / self.best_costs[i] < best_speed / self.beta and \
                self.task_cts[i] > 5 + max(self.task_cts[j] for j in group if j != i):
            group.remove(i)
            self.task_tags[i] = None


def _is_auto_config(config: Any) -> bool:
    try:
        from_config(config)
    except Exception:  # noqa: BLE001 - a template config of the same workload: not this task's trial
        return False
    return True


def _similarity_tag(task: SearchTask) -> str | None:
    """Tags of the task's stages and the order of its flop count (TVM's ``derive_similarity_tag``);
    None when no stage is tagged."""
    tags = [op.attrs[SIMILARITY_TAG] for op in task.compute_dag.ops if SIMILARITY_TAG in getattr(op, "attrs", {})]
    if not tags:
        return None
    return "_".join(map(str, tags)) + f"_{int(math.log(task.compute_dag.flop_ct + 1, 1.618))}"


def tune_tasks(tasks: Sequence[SearchTask], n_trials: int, log: str | os.PathLike | None = None,
               measure_option: Any = None, weights: Sequence[float] | None = None, seed: int | None = None,
               verbose: bool = True, confirm_top: int = 3, confirm_rounds: int = 3,
               early_stopping: int | None = None) -> TaskScheduler:
    """Tune ``tasks`` with ``n_trials`` trials in all (counting trials ``log`` already holds),
    giving rounds (a batch each) to the tasks with the largest expected gain; every trial goes
    to ``log``.  A task gets no more rounds once ``early_stopping`` of its trials found no
    better candidate.  Then each task's fastest candidates are re-measured side by side
    (``task.confirm_best``, with ``confirm_top`` > 1) and its best is the confirmed one."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise TensorLangError(f"n_trials must be a non-negative int, got {n_trials!r}")
    if early_stopping is not None and (isinstance(early_stopping, bool) or not isinstance(early_stopping, int)
                                       or early_stopping < 1):
        raise TensorLangError(f"tune_tasks early_stopping must be a positive int or None, got {early_stopping!r}")
    if measure_option is not None:
        measure_option = checked_measure_option(measure_option, "tune_tasks")
    sched = TaskScheduler(tasks, weights=weights, seed=seed)
    if early_stopping is not None:
        sched.early_stopping_task = early_stopping
    # Rounds are a batch, smaller when the budget is small, so that every task gets a warm-up round.
    per_round = min(BATCH, max(1, n_trials // len(tasks)))
    return _tune(sched, n_trials, per_round, log, measure_option or default_measure_option(), int(verbose), (),
                 confirm_top, confirm_rounds)


def _tune(sched: TaskScheduler, n_trials: int, per_round: int, log: str | os.PathLike | None, option: Any,
          verbose: int, measure_callbacks: Sequence[Callable], confirm_top: int, confirm_rounds: int,
          additional: bool = False) -> TaskScheduler:
    """The rounds; with ``additional``, ``n_trials`` are new trials on top of those ``log``
    holds.  A bad or busy log stops the run before anything is measured."""
    kept = [KeptBuilds() for _ in sched.tasks]  # each task's fastest libraries, for confirm_best
    try:
        with record.exclusive_writer(log) if log is not None else contextlib.nullcontext():
            return _rounds(sched, n_trials, per_round, log, option, verbose, measure_callbacks, confirm_top,
                           confirm_rounds, additional, kept)
    finally:
        for k in kept:
            k.close()


def _rounds(sched: TaskScheduler, n_trials: int, per_round: int, log: str | os.PathLike | None, option: Any,
            verbose: int, measure_callbacks: Sequence[Callable], confirm_top: int, confirm_rounds: int,
            additional: bool, kept: Sequence[KeptBuilds]) -> TaskScheduler:
    tasks = sched.tasks
    for task in tasks:
        require_device(task, option)
    resumed = sum(resume(s, log) for s in sched.searches)
    budget = n_trials if additional else max(0, n_trials - resumed)
    if verbose and resumed:
        print(f"resuming: {resumed} trial(s) already in {log}, {budget} to go", file=sys.stderr)
    sched.verbose, sched.budget, sched.num_measures_per_round = verbose, budget, per_round
    sched.ct = sched.best_ct = 0
    sched.tic = time.time()
    sched._restore([p for p in (sched.load_log_file, log) if p is not None])

    def one_round(i: int, limit: int) -> int:
        """Task ``i``'s round of up to ``limit`` trials (TVM's ``_tune_task``)."""
        for cb in sched.callbacks:
            cb.pre_tune(sched, i)
        improved = []

        def watch(search: Any, inputs: Any, results: Any) -> None:
            for res in results:
                if res.ok:
                    sched.task_ok[i] += 1
                else:
                    kinds = sched.task_errors[i]
                    kinds[res.error_no.kind] = kinds.get(res.error_no.kind, 0) + 1
                    if sched.first_error[i] is None:
                        sched.first_error[i] = res.error_msg or res.error_no.kind
                cost = record.record_cost(res)
                if cost < sched.best_costs[i]:
                    sched.best_costs[i] = cost
                    improved.append(cost)
        n = run_trials(tasks[i], sched.searches[i], limit, log, option, None, [*measure_callbacks, watch], kept[i])
        sched.task_cts[i] += 1
        if improved:
            sched.task_best_cts[i] = sched.task_cts[i]
        failed = sum(sched.task_errors[i].values())
        name = tasks[i].name.removeprefix("auto/")
        why = None
        # no candidate left, none better for a while, or nothing works: the task gets no more rounds
        if n == 0:
            why = f"its search space is exhausted after {sched.searches[i].trials_done} trial(s)"
        elif (sched.task_cts[i] - sched.task_best_cts[i]) * per_round > sched.early_stopping_task:
            why = f"no better candidate in its last {sched.early_stopping_task} trial(s)"
        elif not sched.task_ok[i] and not math.isfinite(sched.searches[i].best_cost) and \
                (failed >= 2 * per_round or (sched.first_error[i] or "").startswith(REFERENCE_FAILED)):
            # every trial failed (its reference itself, or two rounds of candidates): a task that
            # can never give a time would take every round the gradient hands out
            why = f"all {failed} trial(s) failed ({(sched.first_error[i] or '?').splitlines()[0][:200]})"
        if why is not None:
            sched.dead_tasks.add(i)
            if verbose:
                print(f"  {name}: no more rounds: {why}", file=sys.stderr)
        sched.task_costs_history[i].append(float(sched.best_costs[i]))
        sched.ct += n
        sched.cur_score = sched._score(sched.best_costs)
        for cb in sched.callbacks:
            cb.post_tune(sched, i)
        return n

    def spend(limit: int, last: int) -> tuple[int, bool]:
        """Rounds until ``limit`` trials; (last task tuned, whether the run stopped early)."""
        while sched.ct < limit and len(sched.dead_tasks) < len(tasks):
            last = sched._next_task(last)
            one_round(last, min(per_round, limit - sched.ct))
            sched._adjust_similarity_group(last)
            if sched.cur_score < sched.best_score:
                sched.best_score, sched.best_ct = sched.cur_score, sched.ct
            elif sched.ct - sched.best_ct >= sched.early_stopping_all and \
                    all(c < NO_COST / 10 for c in sched.best_costs):
                if verbose:
                    print(f"Stop early since no performance improvement in the last {sched.early_stopping_all} "
                          "measurement trials.", file=sys.stderr)
                return last, True
        return last, False

    # The warm-up: a round for every task that has none yet, then the strategy's rounds, then each
    # task's finishing variants (``task.finish_trials``), then the rest.
    reserves = [finishing_reserve(t) for t in tasks]
    limit = max(0, budget - sum(reserves))
    for i in range(len(tasks)):
        if not sched.task_cts[i] and sched.ct < limit:
            one_round(i, min(per_round, limit - sched.ct))
    sched.best_ct, sched.best_score = sched.ct, sched.cur_score
    last, stopped = spend(limit, -1)
    if not stopped:
        for i, reserve in enumerate(reserves):
            n = finish_trials(tasks[i], sched.searches[i], min(reserve, budget - sched.ct), log, option,
                              measure_callbacks, kept[i])
            sched.ct += n
            if n:
                sched.best_costs[i] = min(sched.best_costs[i], sched.searches[i].best_cost)
        sched.cur_score = sched._score(sched.best_costs)
        spend(budget, last)
    if verbose and sched.callbacks and sys.stderr.isatty():
        print(file=sys.stderr)
    if confirm_top > 1:
        for task, search, task_kept in zip(tasks, sched.searches, kept):
            if search.needs_confirmation and len(search.leaders(confirm_top)) > 1:
                if verbose:
                    print(f"  {task.name}: re-measuring the leaders", file=sys.stderr)
                confirm_best(task, search, option, log, confirm_top, confirm_rounds, task_kept)
    return sched


__all__ = ["TaskScheduler", "tune_tasks", "STRATEGIES"]
