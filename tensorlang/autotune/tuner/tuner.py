"""The tuner protocol and its measure-update loop: a config index is proposed at most once
(measured here or loaded from a log), constraint-invalid indices are never proposed, and the
best result seen so far is kept.

A tuner proposes configs (``next_batch``), learns from their measurements (``update``) and
can resume from tuning logs (``load_history``).  ``tune`` runs the loop with the measurement
layer of ``tensorlang.autotune.measure.local`` (imported only when tuning starts).
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ...errors import TensorLangError
from ...target.target import as_target
from ..measure import interrupted
from ..measure.kept_builds import KeptBuilds
from ..measure.local import MeasureOption
from ..measure.local import create_measure_batch as local_measure_batch
from ..measure.measure import Confirmation, MeasureErrorNo, MeasureInput, MeasureResult
from ..measure.timing import rank_cost, spread_of, steady_cost
from ..record import Ranking, record_cost, spread
from ..space import ConfigEntity, ConfigSpace, config_index
from ..task import Task

logger = logging.getLogger("tensorlang.autotune")
# One line per measured trial, on the logger TVM's tutorials configure.
trial_logger = logging.getLogger("autotvm")

Record = tuple[MeasureInput, MeasureResult]
Callback = Callable[["Tuner", list[MeasureInput], list[MeasureResult]], Any]

# Draws of a random index before falling back to a scan for an unvisited valid one.
_RANDOM_DRAWS = 64
_LEADERS = 8  # fastest configs remembered for confirm_best
# Confirmation (Tuner.confirm_best): trials within FLAT of the fastest are leaders too (one short
# trial each cannot order them), up to FLAT_LEADERS; confirmed leaders within NOISE_FLOOR of the
# best (or within their own rounds' spread) get more rounds; each confirming repeat lasts at least
# CONFIRM_MIN_REPEAT_MS, so that one round is not one short reading.
FLAT = 0.05
FLAT_LEADERS = 5
NOISE_FLOOR = 0.02
CONFIRM_MIN_REPEAT_MS = 20.0


def create_measure_batch(task: Task, option: Any, kept: KeptBuilds | None = None
                         ) -> Callable[[list[MeasureInput]], list[MeasureResult]]:
    """The measurement function of ``option`` for ``task`` (the measurement layer's own,
    imported here so that tuners can be built and tested without it); ``kept`` keeps the
    fastest trials' libraries for ``remeasure_leaders`` (local measurement only)."""
    runner = option.get("runner") if isinstance(option, dict) else getattr(option, "runner", None)
    own = getattr(runner, "create_measure_batch", None)
    if callable(own):  # a runner that pipelines builds and runs itself (e.g. RayRunner)
        builder = option.get("builder") if isinstance(option, dict) else getattr(option, "builder", None)
        return own(task, builder)
    return local_measure_batch(task, option, kept)


def _batch_size(option: Any) -> int:
    """Configs per batch: enough to keep every builder (and every measuring worker) busy."""
    sizes = []
    for part in ("builder", "runner"):
        obj = option.get(part) if isinstance(option, dict) else getattr(option, part, None)
        n = getattr(obj, "n_parallel", None)
        if n:
            sizes.append(int(n))
    return max(1, *sizes) if sizes else 2


def _normalized_target(target: Any) -> str:
    try:
        return str(as_target(target))
    except Exception:  # noqa: BLE001 - an unknown target in a log only means "not ours"
        return str(target)


def throughput(flop: float, result: MeasureResult) -> float:
    """Operations per second of a result by its ranking cost (``record.record_cost``; 0 for a
    failure); 1/seconds when ``flop`` is 0, so that configs of a task with an unknown flop
    count still rank by speed."""
    cost = record_cost(result)
    if not math.isfinite(cost) or cost <= 0:
        return 0.0
    return (flop if flop > 0 else 1.0) / cost


class TunerError(TensorLangError, ValueError):
    """A tuner was made, or its ``tune`` called, with an invalid argument."""


def checked_measure_option(option: Any, caller: str) -> Any:
    """``option`` when it can measure: ``autotune.measure_option(...)`` or any object (TVM-style)
    whose ``builder`` has ``build`` and ``runner`` has ``run``; TVM's dict of the two becomes a
    MeasureOption.  Else a TunerError naming ``caller`` and what it got, before anything runs
    (a bad option would otherwise fail mid-run, inside the measurement layer)."""
    if isinstance(option, dict):
        builder, runner = option.get("builder"), option.get("runner")
    else:
        builder, runner = getattr(option, "builder", None), getattr(option, "runner", None)
    if callable(getattr(builder, "build", None)) and callable(getattr(runner, "run", None)):
        return MeasureOption(builder, runner) if isinstance(option, dict) else option
    got = "None" if option is None else f"{type(option).__name__} {option!r:.80}"
    raise TunerError(f"{caller}: measure_option must be autotune.measure_option(builder=..., runner=...) "
                     f"(a builder with build() and a runner with run()), got {got}")


class Tuner:
    """Base of tuners: ``next_batch`` / ``update`` / ``load_history`` and the ``tune`` loop.

    Attributes read by callbacks: ``task``, ``best_config``, ``best_flops`` (task.flop / the
    best's ``record.record_cost``: its median repeat, or its confirmed cost once the leaders were
    re-measured; 0 until a config succeeds), ``best_measure_pair``,
    ``trials_done`` (trials measured by this tuner over all ``tune`` calls), ``n_trial`` (the
    budget of the current ``tune`` call), ``best_iter`` (the 0-based trial of that call that set
    the best) and ``visited`` (config indices proposed or loaded)."""

    def __init__(self, task: Task, seed: int | None = None):
        if not isinstance(getattr(task, "config_space", None), ConfigSpace):
            raise TunerError(f"{type(self).__name__} needs a task (autotune.task.create(...)), got {task!r:.100}")
        self.task = task
        self.space: ConfigSpace = task.config_space
        self.seed = seed
        self.rng = random.Random(seed)
        self.visited: set[int] = set()
        self.invalid: set[int] = set()  # indices known to break a constraint
        self.best_config: ConfigEntity | None = None
        self.best_flops = 0.0
        self.best_cost = math.inf
        self._shown_best_flops = 0.0  # the best of the trial log's lines (mean cost, as each line's own figure)
        self.best_measure_pair: Record | None = None
        self.trials_done = 0
        self.best_spread = 0.0  # (slowest - fastest) / median of the best's confirmation rounds
        self._ranking = Ranking()  # the one rule naming the best (record.Ranking)
        self.confirmed: list[tuple[ConfigEntity, tuple[float, ...]]] = []  # (config, round costs)
        self._leaders = Leaders()  # the fastest few, by rank cost
        # A successful trial came after the last confirmation of the leaders (``confirm_best``).
        self.needs_confirmation = False
        self.n_trial = 0
        # TVM's names: the 0-based trial (of the current tune call) that set the best, the
        # early_stopping of that call, and the trials it may still run before it stops ("time
        # to leave").
        self.best_iter = 0
        self.early_stopping: int | None = None
        self.ttl: int | None = None
        self._exhausted = False

    # --- the protocol subclasses implement ----------------------------------------------------

    def has_next(self) -> bool:
        """Whether an unvisited valid config may remain."""
        return not self._exhausted and len(self.visited) + len(self.invalid) < self.space.range_length

    def next_batch(self, batch_size: int) -> list[ConfigEntity]:
        """Up to ``batch_size`` configs never proposed before (fewer when the space runs out)."""
        raise NotImplementedError

    def update(self, inputs: Sequence[MeasureInput], results: Sequence[MeasureResult]) -> None:
        """Learn from measurements (of this tuner's proposals or of logged records)."""

    # --- helpers for subclasses -----------------------------------------------------------------

    def _available(self, index: int) -> bool:
        """Unvisited and valid; remembers invalid indices so each is checked once."""
        if index in self.visited or index in self.invalid:
            return False
        if not self.space.is_valid(index):
            self.invalid.add(index)
            return False
        return True

    def _take(self, index: int) -> ConfigEntity:
        self.visited.add(index)
        return self.space.get(index)

    def _random_available(self, lo: int = 0, hi: int | None = None) -> int | None:
        """A uniformly drawn unvisited valid index of [lo, hi) (the whole space by default); when
        draws keep missing (a nearly exhausted or heavily constrained space) the next available
        index after a random start."""
        hi = self.space.range_length if hi is None else hi
        n = hi - lo
        for _ in range(_RANDOM_DRAWS):
            idx = lo + self.rng.randrange(n)
            if self._available(idx):
                return idx
        start = self.rng.randrange(n)
        for off in range(n):
            idx = lo + (start + off) % n
            if self._available(idx):
                return idx
        self._exhausted = True
        return None

    # --- results --------------------------------------------------------------------------------

    def _record_best(self, inp: MeasureInput, res: MeasureResult, config: ConfigEntity) -> bool:
        """Take a trial or a confirmation into account (``record.Ranking``, the rule every reader
        of a log follows too); True when it is now the best."""
        cost = record_cost(res)
        if not math.isfinite(cost):
            return False
        self.needs_confirmation = res.confirm is None
        self._leaders.add(cost, inp, confirmed=res.confirm is not None)
        if not self._ranking.add(inp, res):
            return False
        self.best_cost = cost
        self.best_flops = self.task.flop / cost if self.task.flop > 0 else 0.0
        self.best_config = config
        self.best_measure_pair = (inp, res)
        self.best_spread = spread(res) if res.confirm is not None else 0.0
        return True

    def load_history(self, records: Iterable[Record], min_seed_records: int = 500) -> None:
        """Resume from logged records.  Records of this task's workload and target mark their
        configs visited, count toward the best result and feed ``update``; records of other
        workloads of the same template on the same kind of target (llvm, cuda) go, with this
        workload's, to ``transfer`` when there are at least ``min_seed_records`` in all."""
        mine_in: list[MeasureInput] = []
        mine_res: list[MeasureResult] = []
        others: list[Record] = []
        target = _normalized_target(self.task.target)
        stale = 0
        for inp, res in records:
            ref = inp.task
            if getattr(ref, "name", None) != self.task.name:
                continue
            ref_target = _normalized_target(getattr(ref, "target", inp.target))
            if getattr(ref, "workload_key", None) == self.task.workload_key and ref_target == target:
                idx = config_index(self.space, inp.config)
                if idx is None:
                    stale += 1
                    continue
                mine = MeasureInput(self.task.target, self.task, self.space.get(idx))
                self._mark_loaded(idx)
                self._record_best(mine, res, mine.config)
                if res.confirm is None:  # a confirmation re-measures a trial: nothing new to learn
                    mine_in.append(mine)
                    mine_res.append(res)
            elif ref_target.split()[0] == target.split()[0] and res.confirm is None:
                others.append((inp, res))
        logger.debug("load_history: %d records of this workload, %d of other workloads",
                     len(mine_in), len(others))
        if stale:
            warnings.warn(f"tensorlang.autotune: skipped {stale} logged record(s) of {self.task.name}"
                          f"{self.task.args}: their configs do not fit the template's config space any more "
                          "(the template changed since they were measured)", stacklevel=2)
        # As in TVM, every record of the template on this kind of target counts toward the
        # threshold and trains the transferred model.
        if len(others) + len(mine_in) >= min_seed_records:
            self.transfer(others + list(zip(mine_in, mine_res)))
        if mine_in:
            self.update(mine_in, mine_res)

    def _mark_loaded(self, index: int) -> None:
        """A logged record covers config ``index``: never propose it."""
        self.visited.add(index)

    def transfer(self, records: list[Record]) -> None:
        """Learn from records of other workloads of the same template (model-based tuners)."""

    # --- the loop -------------------------------------------------------------------------------

    def _measure_streaming(self, stream: Callable, inputs: list[MeasureInput],
                           callbacks: Sequence[Callback]) -> tuple[list[MeasureResult], list[int]]:
        """Take results as they arrive from ``stream(inputs)`` (``(k, result, primary)`` for input
        ``k``) and hand each to the callbacks at once, so a log callback keeps every finished
        trial even if this process dies mid-batch.  A trial measured on several device classes
        gives several results; the primary one is what the tuner learns from.  Returns the
        primary results in input order and the inputs that set a new best."""
        results: list[MeasureResult | None] = [None] * len(inputs)
        improved = []
        arriving = stream(inputs)
        try:
            for k, res, primary in arriving:
                if primary:
                    results[k] = res
                    if self._record_best(inputs[k], res, inputs[k].config):
                        improved.append(k)
                with interrupted.stop_signals_held():  # a Ctrl-C now waits until every callback has the trial
                    for callback in callbacks:
                        callback(self, [inputs[k]], [res])
        finally:
            close = getattr(arriving, "close", None)  # a generator stopped early: its cleanup runs now
            if callable(close):
                close()
        missing = [k for k, r in enumerate(results) if r is None]
        if missing:
            raise RuntimeError(f"the measurement stream gave no result for inputs {missing}")
        return results, improved  # type: ignore[return-value]

    def _log_measured_before(self, exc: BaseException, inputs: list[MeasureInput],
                             callbacks: Sequence[Callback]) -> None:
        """Hand the trials a batch finished before ``exc`` (an interrupt) to the callbacks, so a
        log keeps them and a resumed run does not measure them again."""
        done = interrupted.measured_before(exc)
        if done:
            with interrupted.stop_signals_held():
                for callback in callbacks:
                    callback(self, inputs[:len(done)], done)

    def tune(self, n_trial: int, measure_option: Any, early_stopping: int | None = None,
             callbacks: Sequence[Callback] = (), time_limit: float | None = None, si_prefix: str = "G",
             confirm_top: int = 0, confirm_rounds: int = 3) -> None:
        """Measure up to ``n_trial`` new configs in batches of the builder's ``n_parallel``.

        Stops early when the space is exhausted, after ``early_stopping`` trials without a
        new best, or once ``time_limit`` seconds have passed (checked between batches).
        Each trial is logged at DEBUG level on the ``autotvm`` logger, its throughput in
        ``si_prefix`` units (K, M, G, T) of FLOPS.  With ``confirm_top`` > 1 the fastest
        ``confirm_top`` configs are re-measured interleaved at the end, over ``confirm_rounds``
        rounds (``confirm_best``), and
        the best declared is the confirmed one (``best_spread`` says how steady it was).  The
        callbacks get those confirmations too, as results whose ``confirm`` is set (a log keeps
        them beside the trials, so that ``apply_history_best`` picks the confirmed best;
        progress displays skip them: they are not trials)."""
        scale = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}.get(si_prefix)
        if scale is None:
            raise TunerError(f"si_prefix {si_prefix!r} is not one of '', K, M, G, T, P")
        if isinstance(n_trial, bool) or not isinstance(n_trial, numbers.Integral) or n_trial < 0:
            raise TunerError(f"tune: n_trial must be a non-negative int, got {n_trial!r}")
        if early_stopping is not None and (isinstance(early_stopping, bool)
                                           or not isinstance(early_stopping, numbers.Integral)):
            raise TunerError(f"tune: early_stopping must be an int or None, got {early_stopping!r}")
        if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real)):
            raise TunerError(f"tune: time_limit must be a number of seconds or None, got {time_limit!r}")
        measure_option = checked_measure_option(measure_option, "tune")
        kept = KeptBuilds()
        measure_batch = create_measure_batch(self.task, measure_option, kept)
        batch_size = _batch_size(measure_option)
        self.n_trial = n_trial
        if not early_stopping:
            early_stopping = None  # TVM reads 0 as "never stop early" (``early_stopping or 1e9``)
        self.early_stopping = early_stopping
        start = time.monotonic()
        # best_at: the 0-based trial of this call that set the best (0 while none did), so that,
        # as in TVM, tuning stops once done >= best_at + early_stopping.
        done = best_at = 0
        try:
            while done < n_trial and self.has_next():
                if time_limit is not None and time.monotonic() - start >= time_limit:
                    logger.debug("tune: time limit of %.1f s reached after %d trials", time_limit, done)
                    break
                configs = self.next_batch(min(batch_size, n_trial - done))
                if not configs:
                    break
                inputs = [MeasureInput(self.task.target, self.task, c) for c in configs]
                stream = getattr(measure_batch, "stream", None)
                if callable(stream):
                    results, improved = self._measure_streaming(stream, inputs, callbacks)
                else:
                    try:
                        results = list(measure_batch(inputs))
                    except BaseException as exc:
                        self._log_measured_before(exc, inputs, callbacks)
                        raise
                    improved = [k for k, (inp, res) in enumerate(zip(inputs, results))
                                if self._record_best(inp, res, inp.config)]
                if improved:
                    best_at = self.best_iter = done + max(improved)
                if trial_logger.isEnabledFor(logging.DEBUG):
                    # Each line shows the best up to and including its own trial, as TVM's does (the
                    # batch is measured before it is logged, so the tuner's best may be a later one),
                    # and from the same figure as the line's own: the mean cost (best_flops ranks by
                    # the median, so a line's best could exceed every figure shown).
                    running = getattr(self, "_shown_best_flops", 0.0)
                    for k, (inp, res) in enumerate(zip(inputs, results)):
                        flops = self.task.flop / res.mean_cost if res.ok and self.task.flop else 0.0
                        running = max(running, flops)
                        trial_logger.debug("No: %d\t%sFLOPS: %.2f/%.2f\tresult: %s\t%s", self.trials_done + k + 1,
                                           si_prefix, flops / scale, running / scale,
                                           res.error_no.kind if not res.ok else f"{res.mean_cost:.3e} s",
                                           inp.config)
                    self._shown_best_flops = running
                done += len(results)
                self.trials_done += len(results)
                # The callbacks (the log among them) before the model is refitted: a Ctrl-C during a
                # fit, seconds long with xgboost, then loses no measured trial.
                if not callable(stream):
                    for callback in callbacks:
                        callback(self, inputs, results)
                self.update(inputs, results)
                self.ttl = min(n_trial if early_stopping is None else best_at + early_stopping, n_trial) - done
                if early_stopping is not None and done >= best_at + early_stopping:
                    logger.debug("tune: early stop after %d trials (best at trial %d)", done, best_at)
                    break
            # Also with nothing left to measure, when the trials this tuner knows (a resumed log's)
            # came after the last confirmation: a run killed while confirming is confirmed by its rerun.
            if confirm_top > 1 and (done or self.needs_confirmation):
                self.confirm_best(measure_option, confirm_top, confirm_rounds, callbacks=callbacks, kept=kept)
        finally:
            kept.close()
            close = getattr(measure_batch, "close", None)
            if callable(close):
                close()

    def confirm_leaders(self, top: int) -> list[MeasureInput]:
        """The configs ``confirm_best`` re-measures: the ``top`` fastest trials so far, and, when
        the trial ranking is flat (further trials within ``FLAT`` of the fastest, which one short
        trial each cannot order), those too, up to ``FLAT_LEADERS`` in all."""
        return self._leaders.leading(top)

    def confirm_best(self, measure_option: Any, top: int = 3, rounds: int = 3,
                     callbacks: Sequence[Callback] = (), kept: KeptBuilds | None = None) -> None:
        """Re-measure the fastest configs so far before a best is declared (``confirm_leaders``:
        the ``top`` fastest, more when the trials cannot order them) with ``remeasure_leaders``:
        built once, run ``rounds`` times interleaved, each run in a fresh process, ranked by the
        ``steady_cost`` of their rounds, leaders within noise of the best given more rounds.  A
        lucky short reading of one trial cannot win this way.  Each leader's rounds become one
        result with ``confirm`` set (its rank among the leaders; its cost, as for every record,
        the median of its figures), handed to ``callbacks`` as a batch; ``best_spread`` is the
        range of the best's rounds over their median.  Failures here keep the unconfirmed best.
        ``kept``: the libraries of this run's fastest trials, run again instead of rebuilt."""
        measure_option = checked_measure_option(measure_option, "confirm_best")
        leaders = self.confirm_leaders(top)
        t0 = time.monotonic()
        confirmed = remeasure_leaders(self.task, leaders, measure_option, rounds, kept)
        if not confirmed:
            return
        self.confirmed = [(inp.config, tuple(res.costs)) for inp, res in confirmed]
        for inp, res in confirmed:
            self._record_best(inp, res, inp.config)
        for callback in callbacks:
            callback(self, [inp for inp, _ in confirmed], [res for _, res in confirmed])
        logger.debug("tune: confirmed best %s at %.3e s (spread %.1f%%) among %d leaders in %.1f s",
                     self.best_config, self.best_cost, 100 * self.best_spread, len(leaders),
                     time.monotonic() - t0)


class Leaders:
    """The fastest few configs of a run (``_LEADERS``), by their trial figure or, once confirmed,
    their confirmed one: what a final re-measurement takes (the template tuner's and the
    auto-scheduler's)."""

    def __init__(self) -> None:
        self._ranked: list[tuple[float, int, MeasureInput]] = []  # (cost, arrival, input), fastest first
        self._arrivals = 0

    def add(self, cost: float, inp: MeasureInput, confirmed: bool = False) -> None:
        """Take one trial (or, ``confirmed``, a re-measurement that replaces its trial figure)."""
        index = inp.config.index
        self._arrivals += 1
        if confirmed:
            self._ranked = [t for t in self._ranked if t[2].config.index != index]
        if all(t[2].config.index != index for t in self._ranked):
            self._ranked.append((cost, self._arrivals, inp))
            self._ranked.sort(key=lambda t: (t[0], t[1]))
            del self._ranked[_LEADERS:]

    def leading(self, top: int) -> list[MeasureInput]:
        """The leaders to re-measure, fastest first: the ``top`` fastest, and, when further ones
        are within ``FLAT`` of the fastest (one short trial each cannot order them), those too,
        up to ``FLAT_LEADERS`` in all."""
        ranked = self._ranked
        n = min(top, len(ranked))
        if ranked and top > 1:
            fastest = ranked[0][0]
            while n < min(max(top, FLAT_LEADERS), len(ranked)) and ranked[n][0] <= fastest * (1 + FLAT):
                n += 1
        return [inp for _, _, inp in ranked[:n]]


def remeasure_leaders(task: Any, leaders: Sequence[MeasureInput], measure_option: Any,
                      rounds: int = 3, kept: KeptBuilds | None = None) -> list[Record]:
    """The ``leaders`` of a tuning run re-measured side by side, fastest first: built once (or
    taken from ``kept``, the libraries their trials ran), then
    run ``rounds`` times interleaved (the order rotated each round), each run in the runner's
    fresh process (``fresh_processes``), each repeat at least ``CONFIRM_MIN_REPEAT_MS`` long.
    Leaders rank by the ``steady_cost`` of their rounds (the upper quartile): a config fast in
    some processes and slow in others loses to one that is fast in all of them.  When leaders
    are within noise of the best (``NOISE_FLOOR``, or their rounds' own spread), those get
    ``rounds`` more rounds before they are ranked.  Each leader with all its rounds gives one
    result: its round figures as costs, ``confirm`` its rank.  Returns [] for fewer than two
    leaders or when measuring fails (confirming is a refinement, never a failure of the run)."""
    if len(leaders) < 2:
        return []
    configs = [inp.config for inp in leaders]
    per: list[list[float]] = [[] for _ in configs]
    times = [[0.0, 0.0] for _ in configs]  # build and run seconds spent on each leader
    device: list[Any] = [None] * len(configs)
    runner = measure_option.runner
    fresh = getattr(runner, "fresh_processes", None)

    def run_rounds(ks: list[int], first: int, count: int) -> None:
        for r in range(first, first + count):
            order = [ks[(j + r) % len(ks)] for j in range(len(ks))]
            # A runner that keeps one measuring process is asked for a fresh one per run here.
            with fresh(CONFIRM_MIN_REPEAT_MS) if callable(fresh) else contextlib.nullcontext():
                results = runner.run(task, [builds[k] for k in order])
            for k, res in zip(order, results):
                times[k][1] += float(getattr(res, "run_time", 0.0) or 0.0)
                if res.ok and res.costs:
                    per[k].append(rank_cost(res.costs))
                    device[k] = getattr(res, "device", None)

    try:
        builds = [kept.take(inp) if kept is not None else None for inp in leaders]
        missing = [k for k, b in enumerate(builds) if b is None]
        try:
            if missing:
                for k, b in zip(missing, measure_option.builder.build(task, [configs[k] for k in missing])):
                    builds[k] = b
            for k, b in enumerate(builds):
                times[k][0] = float(getattr(b, "build_time", 0.0) or 0.0)
            run_rounds(list(range(len(configs))), 0, rounds)
            ties = _ties(per, [k for k, p in enumerate(per) if len(p) == rounds])
            if len(ties) > 1:
                run_rounds(ties, rounds, rounds)
        finally:
            for b in builds:
                if getattr(b, "filename", None) and os.path.exists(b.filename):
                    os.unlink(b.filename)
    except Exception as exc:  # noqa: BLE001 - confirming is a refinement, never a failure
        logger.warning("tune: re-measuring the leaders failed (%s); keeping the best as measured", exc)
        return []
    scored = sorted((steady_cost(per[k]), k) for k, p in enumerate(per) if len(p) >= rounds)
    out: list[Record] = []
    for rank, (_, k) in enumerate(scored, 1):
        build_time, run_time = times[k]
        out.append((leaders[k], MeasureResult(tuple(per[k]), MeasureErrorNo.NO_ERROR, all_cost=build_time + run_time,
                                              build_time=build_time, run_time=run_time, device=device[k],
                                              confirm=Confirmation(rank, len(scored)))))
    return out


def _ties(per: list[list[float]], complete: list[int]) -> list[int]:
    """The leaders (indices into ``per``, round figures each) whose steady cost is within
    noise of the best's: within ``NOISE_FLOOR`` or within either one's spread of rounds."""
    if len(complete) < 2:
        return []
    best = min(complete, key=lambda k: steady_cost(per[k]))
    top = steady_cost(per[best])
    return [k for k in complete
            if steady_cost(per[k]) <= top * (1 + max(NOISE_FLOOR, spread_of(per[best]), spread_of(per[k])))]
