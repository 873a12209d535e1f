"""Confirmation of the leaders (Tuner.confirm_best) against a scripted measurement whose round
figures are known: steady configs beat configs that are fast only in some processes, a flat trial
ranking widens the leaders, and leaders within noise of each other get more rounds."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest

from tensorlang import autotune
from tensorlang.autotune import record
from tensorlang.autotune.callback import log_to_file
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.measure.timing import steady_cost
from tensorlang.autotune.tuner import RandomTuner
from tensorlang.autotune.tuner import tuner as tuner_module

from . import templates

MS = 1e-3


@pytest.fixture(scope="module")
def task():
    return autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm")


@dataclass
class _Build:
    index: int
    build_time: float = 0.01
    error_no: int = 0

    @property
    def ok(self) -> bool:
        return True


class _Scripted:
    """Builder and runner in one: config ``index`` measures ``script[index][r]`` ms in its r-th
    run (the last figure repeats), each run asked for inside ``fresh_processes``."""

    def __init__(self, script: dict[int, list[float]]):
        self.script = script
        self.runs: dict[int, int] = {}
        self.fresh_min_ms: list[float] = []
        self.inside = False
        self.builder, self.runner = self, self

    def build(self, task, configs):
        return [_Build(c.index) for c in configs]

    @contextlib.contextmanager
    def fresh_processes(self, min_repeat_ms: float = 0.0):
        self.fresh_min_ms.append(min_repeat_ms)
        self.inside = True
        yield
        self.inside = False

    def run(self, task, builds):
        assert self.inside, "confirmation runs must each be in a fresh process"
        out = []
        for b in builds:
            r = self.runs.get(b.index, 0)
            self.runs[b.index] = r + 1
            figures = self.script[b.index]
            ms = figures[min(r, len(figures) - 1)]
            out.append(MeasureResult((ms * MS,) * 3, MeasureErrorNo.NO_ERROR, run_time=0.1))
        return out


def _trials(task, trials_ms: dict[int, float]) -> list:
    return [(MeasureInput(task.target, task, task.config_space.get(i)),
             MeasureResult((ms * MS,) * 3, MeasureErrorNo.NO_ERROR, timestamp=1.7e9 + k))
            for k, (i, ms) in enumerate(trials_ms.items())]


def _tuner_with_trials(task, trials_ms: dict[int, float], log=None) -> RandomTuner:
    tuner = RandomTuner(task, seed=0)
    trials = _trials(task, trials_ms)
    if log is not None:
        record.append(log, trials)
    tuner.load_history(trials)
    return tuner


def test_steady_cost_is_the_upper_quartile_of_the_rounds():
    assert steady_cost([1.0]) == 1.0
    assert steady_cost([1.0, 1.0, 1.3]) == pytest.approx(1.15)  # one slow round of three counts half
    assert steady_cost([1.0, 1.0, 1.0, 1.0, 1.0, 1.6]) == pytest.approx(1.0)  # one of six does not
    assert steady_cost([2.0, 1.0, 3.0]) == steady_cost([1.0, 2.0, 3.0]) == pytest.approx(2.5)


def test_a_config_fast_only_in_some_processes_loses_to_a_steady_one(task, tmp_path):
    # Config 3 is fastest in its trial and in 2 of 3 fresh processes (its median), but slow in
    # the third (30% slower); config 8 is 2% slower, in every process.  The median of the rounds
    # would declare 3; the steady cost declares 8, and so does every reader of the log.
    script = {3: [2.00, 2.60, 2.00, 2.00, 2.62, 2.00], 8: [2.04] * 6, 5: [2.50] * 6}
    log = tmp_path / "log.json"
    tuner = _tuner_with_trials(task, {3: 1.95, 8: 2.05, 5: 2.40}, log)
    option = _Scripted(script)
    tuner.confirm_best(option, top=3, rounds=3, callbacks=[log_to_file(log)])
    assert [c.index for c, _ in tuner.confirmed] == [8, 3, 5]
    assert tuner.best_config.index == 8
    assert tuner.best_cost == pytest.approx(2.04 * MS)  # the declared figure: the median of its rounds
    assert set(option.fresh_min_ms) == {tuner_module.CONFIRM_MIN_REPEAT_MS}
    # 8 and 3 were within each other's spread: both got 3 more rounds; 5 was clearly slower.
    assert option.runs == {3: 6, 8: 6, 5: 3}
    records = list(record.load_with_confirmations(log))
    with autotune.apply_history_best(str(log)) as ctx:
        assert ctx.query(task.target, task.workload_key).index == 8
    (ranking,) = record.best_records(records, lambda inp, res: inp.task.workload_key).values()
    assert ranking.best[0].config.index == 8


def test_leaders_clearly_apart_get_no_extra_rounds(task):
    script = {1: [2.0, 2.01, 2.0], 2: [2.3, 2.3, 2.31], 4: [2.6] * 3}
    tuner = _tuner_with_trials(task, {1: 2.0, 2: 2.3, 4: 2.6})
    option = _Scripted(script)
    tuner.confirm_best(option, top=3, rounds=3)
    assert option.runs == {1: 3, 2: 3, 4: 3}
    assert [c.index for c, _ in tuner.confirmed] == [1, 2, 4] and tuner.best_config.index == 1


def test_a_flat_trial_ranking_widens_the_leaders_to_five(task):
    # Six trials within 5% of the fastest: the trials cannot order them; five are confirmed.
    trials = {10: 2.00, 11: 2.02, 12: 2.03, 13: 2.05, 14: 2.08, 15: 2.09, 16: 2.5}
    tuner = _tuner_with_trials(task, trials)
    assert [inp.config.index for inp in tuner.confirm_leaders(3)] == [10, 11, 12, 13, 14]
    # The fifth-fastest trial turns out fastest once re-measured.
    script = {i: [2.2] for i in trials} | {14: [1.9]}
    option = _Scripted(script)
    tuner.confirm_best(option, top=3, rounds=3)
    assert tuner.best_config.index == 14 and len(tuner.confirmed) == 5
    # A clear trial ranking keeps to --confirm-top; top 1 or 0 confirms nothing.
    tuner = _tuner_with_trials(task, {10: 2.0, 11: 2.3, 12: 2.4, 13: 2.5})
    assert [inp.config.index for inp in tuner.confirm_leaders(3)] == [10, 11, 12]
    assert len(tuner.confirm_leaders(1)) == 1


def test_confirming_runs_place_the_arrays_at_random_addresses():
    # Forked children inherit one heap: without padding every confirming run of a config would
    # see the same placement of its arrays.  The padding differs from call to call, at both the
    # offset within a page and the page count.
    from tensorlang.autotune.measure import local

    sizes = {tuple(p.nbytes for p in local._layout_padding()) for _ in range(20)}
    assert all(small + big <= local._LAYOUT_PADDING_MAX for small, big in sizes)  # a memory limit allows for it
    assert len({small for small, _ in sizes}) > 5 and len({big % 4096 for _, big in sizes}) > 5
    assert len({big // 4096 for _, big in sizes}) > 5
    runner = autotune.LocalRunner()
    assert not runner._vary_layout and runner.persistent
    with runner.fresh_processes(40.0):
        assert runner._vary_layout and not runner.persistent and runner.min_repeat_ms == 40.0
    assert not runner._vary_layout and runner.persistent and runner.min_repeat_ms == 0


def test_a_resumed_tuner_with_nothing_left_to_measure_confirms_unconfirmed_trials(task, tmp_path):
    """A script killed while confirming, run again: its tuner loads every trial (TVM's
    load_from_file leaves LOG.confirmed out) and has none left, yet confirms its leaders; once
    they are confirmed (a log read with its confirmations), a rerun does not confirm again."""
    log = str(tmp_path / "mm.json")
    _tuner_with_trials(task, {1: 3.0, 2: 2.0, 3: 4.0}, log=log)  # the killed run's trials
    tuner = RandomTuner(task, seed=0)
    tuner.load_history(record.load_from_file(log))
    scripted = _Scripted({1: [3.0], 2: [2.0], 3: [4.0]})
    tuner.tune(0, scripted, confirm_top=2, callbacks=[log_to_file(log)])
    assert sum(scripted.runs.values()) > 0 and tuner.best_config.index == 2
    assert any(record.is_confirmation(res) for _, res in record.load_with_confirmations(log))
    again = RandomTuner(task, seed=0)
    again.load_history(record.load_with_confirmations(log))
    rerun = _Scripted({1: [3.0], 2: [2.0], 3: [4.0]})
    again.tune(0, rerun, confirm_top=2)
    assert rerun.runs == {} and again.best_config.index == 2
