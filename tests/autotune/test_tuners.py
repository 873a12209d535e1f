"""Tuners against a mocked measurement whose costs are known: each finds the unique optimum,
seeds reproduce, nothing is measured twice, logs resume, constraints hold."""

from __future__ import annotations

import math
import os
from collections import Counter

import numpy as np
import pytest

from tensorlang import autotune, te
from tensorlang.autotune import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.measure import TaskRef
from tensorlang.autotune.task import create
from tensorlang.autotune.tuner import (
    GATuner,
    GridSearchTuner,
    RandomTuner,
    SimulatedAnnealingOptimizer,
    SklearnCostModel,
    XGBoostCostModel,
    XGBTuner,
)
from tensorlang.autotune.tuner import tuner as tuner_module
from tensorlang.autotune.tuner.features import FeatureCache, ItervarFeature, feature_type
from tensorlang.autotune.tuner.model_based_tuner import diversity_pick
from tensorlang.errors import TensorLangError


@autotune.template("test_tuners/matmul")
def matmul(n: int, constrained: bool = False):
    """tile_y, tile_x (5 each), tile_k (4), vec (2): 200 configs for n = 16."""
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    cfg = autotune.get_config()
    i, j = s[C].op.axis
    (kk,) = s[C].op.reduce_axis
    cfg.define_split("tile_y", i, num_outputs=2)
    cfg.define_split("tile_x", j, num_outputs=2)
    cfg.define_split("tile_k", kk, num_outputs=2, max_factor=8)
    cfg.define_knob("vec", [0, 1])
    if constrained:
        cfg.add_constraint(lambda c: c["tile_y"].size[-1] * c["tile_x"].size[-1] <= 16, "register tile <= 16")
    yo, yi = cfg["tile_y"].apply(s, C, i)
    xo, xi = cfg["tile_x"].apply(s, C, j)
    ko, ki = cfg["tile_k"].apply(s, C, kk)
    s[C].reorder(yo, xo, ko, ki, yi, xi)
    if cfg["vec"].val:
        s[C].vectorize(xi)
    return s, [A, B, C]


def known_cost(config) -> float:
    """Seconds of a config: a bowl in log2 of the tile sizes, lowest at tile_y 4, tile_x 8,
    tile_k 2 with vectorization (so every tuner has a unique optimum to find)."""
    ty = math.log2(config["tile_y"].size[-1])
    tx = math.log2(config["tile_x"].size[-1])
    tk = math.log2(config["tile_k"].size[-1])
    return 1e-3 * (1.0 + (ty - 2) ** 2 + (tx - 3) ** 2 + 0.5 * (tk - 1) ** 2 + (0.0 if config["vec"].val else 0.7))


class MockMeasure:
    """Stands in for the measurement layer: known costs, and a count of every measurement."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.order: list[int] = []

    def create(self, task, option, kept=None):
        def measure_batch(inputs: list[MeasureInput]) -> list[MeasureResult]:
            out = []
            for inp in inputs:
                self.counts[inp.config.index] += 1
                self.order.append(inp.config.index)
                out.append(MeasureResult((known_cost(inp.config),), MeasureErrorNo.NO_ERROR))
            return out
        return measure_batch


class Option:
    """The part of a measure option that the tuner reads (build and run are never called: the
    mock measures)."""

    class builder:  # noqa: N801 - mirrors option.builder.n_parallel
        n_parallel = 4
        build = staticmethod(lambda inputs: [])

    class runner:  # noqa: N801 - mirrors option.runner
        run = staticmethod(lambda inputs, builds: [])


@pytest.fixture
def mock(monkeypatch) -> MockMeasure:
    m = MockMeasure()
    monkeypatch.setattr(tuner_module, "create_measure_batch", m.create)
    return m


@pytest.fixture(scope="module")
def task():
    return create("test_tuners/matmul", (16,), "llvm")


def optimum(task) -> int:
    return min(range(len(task.config_space)), key=lambda i: known_cost(task.config_space.get(i)))


def xgb(task, seed: int = 0, **kw) -> XGBTuner:
    return XGBTuner(task, plan_size=16, seed=seed, **kw)


# --- (a) every tuner finds the known optimum ------------------------------------------------------

def test_space_is_small_and_has_a_unique_optimum(task):
    costs = sorted(known_cost(c) for c in task.config_space)
    assert len(task.config_space) == 200
    assert costs[0] < costs[1]


@pytest.mark.parametrize("make", [GridSearchTuner, RandomTuner], ids=["grid", "random"])
def test_exhaustive_tuners_find_the_optimum(task, mock, make):
    tuner = make(task, seed=1)
    tuner.tune(len(task.config_space), Option())
    assert tuner.best_config.index == optimum(task)
    assert tuner.best_flops == pytest.approx(task.flop / known_cost(tuner.best_config))
    assert not tuner.has_next()
    assert tuner.trials_done == len(task.config_space)


def test_ga_finds_the_optimum_in_fewer_trials(task, mock):
    tuner = GATuner(task, pop_size=20, seed=0)
    tuner.tune(120, Option())
    assert tuner.trials_done == 120 and max(mock.counts.values()) == 1
    assert tuner.best_config.index == optimum(task)


@pytest.mark.parametrize("make", [
    lambda t: xgb(t, feature_type="itervar"),
    lambda t: xgb(t, feature_type="knob"),
    lambda t: xgb(t, feature_type="curve"),
    lambda t: xgb(t, feature_type="itervar", loss_type="reg", diversity_filter_ratio=2),
    lambda t: xgb(t, cost_model=SklearnCostModel(t, "itervar", estimator="gbr", seed=0)),
    lambda t: xgb(t, cost_model=SklearnCostModel(t, "knob", estimator="rf", seed=0)),
], ids=["xgb-itervar", "xgb-knob", "xgb-curve", "xgb-reg-diverse", "sklearn-gbr", "sklearn-rf"])
def test_model_based_tuners_find_the_optimum_in_a_third_of_the_space(task, mock, make):
    """64 of 200 configs: a random search finds the optimum that early about a third of the time."""
    tuner = make(task)
    tuner.tune(64, Option())
    assert tuner.trials_done == 64 and max(mock.counts.values()) == 1
    assert tuner.best_config.index == optimum(task)
    assert tuner.train_ct >= 2  # the model planned at least two rounds


def test_early_stopping_and_time_limit(task, mock):
    tuner = RandomTuner(task, seed=3)
    tuner.tune(200, Option(), early_stopping=8)
    assert tuner.trials_done < 200
    tuner = RandomTuner(task, seed=3)
    tuner.tune(200, Option(), time_limit=0.0)
    assert tuner.trials_done == 0


# --- (b) seeds reproduce ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda t, s: RandomTuner(t, seed=s),
    lambda t, s: GATuner(t, pop_size=16, seed=s),
    lambda t, s: xgb(t, seed=s),
], ids=["random", "ga", "xgb"])
def test_same_seed_same_sequence(task, monkeypatch, make):
    orders = []
    for seed in (7, 7, 8):
        m = MockMeasure()
        monkeypatch.setattr(tuner_module, "create_measure_batch", m.create)
        make(task, seed).tune(48, Option())
        orders.append(m.order)
    assert orders[0] == orders[1]
    assert orders[0] != orders[2]


# --- (c) nothing measured twice; logs resume --------------------------------------------------------

def records_of(task, indices, ref: bool = True):
    out = []
    for i in indices:
        cfg = task.config_space.get(i)
        owner = TaskRef(task.name, task.args, task.target, task.workload_key) if ref else task
        out.append((MeasureInput(task.target, owner, cfg), MeasureResult((known_cost(cfg),), MeasureErrorNo.NO_ERROR)))
    return out


@pytest.mark.parametrize("make", [
    lambda t: GridSearchTuner(t), lambda t: RandomTuner(t, seed=0), lambda t: GATuner(t, pop_size=16, seed=0),
    lambda t: xgb(t, feature_type="knob"),
], ids=["grid", "random", "ga", "xgb"])
def test_resumed_tuning_never_remeasures(task, mock, make):
    loaded = list(range(0, 200, 3))  # includes the optimum's neighbours, maybe the optimum
    tuner = make(task)
    tuner.load_history(records_of(task, loaded))
    assert set(loaded) <= tuner.visited
    assert tuner.best_config.index == min(loaded, key=lambda i: known_cost(task.config_space.get(i)))
    tuner.tune(50, Option())
    tuner.tune(200, Option())  # a second call continues; the space runs out
    assert max(mock.counts.values()) == 1
    assert not set(mock.counts) & set(loaded)
    assert len(mock.counts) == 200 - len(loaded)
    assert tuner.best_config.index == optimum(task)


def test_ga_resumed_with_a_small_budget_never_remeasures_a_logged_config(task, mock):
    # The first generation (pop_size 100: half the space) is drawn and reserved before the log is
    # loaded; a small budget then releases most of it, logged configs drawn in it included, which
    # were proposed again (a resumed `tensorlang tune --tuner ga` logged a config twice).
    loaded = list(range(0, 200, 2))
    tuner = GATuner(task, seed=0)
    tuner.load_history(records_of(task, loaded))
    tuner.tune(8, Option())
    tuner.tune(200, Option())
    assert max(mock.counts.values()) == 1
    assert not set(mock.counts) & set(loaded)
    assert len(mock.counts) == 200 - len(loaded)


def test_history_of_other_workloads_and_targets_is_not_visited(task, mock):
    other = create("test_tuners/matmul", (16, True), "llvm")
    tuner = RandomTuner(task, seed=0)
    tuner.load_history(records_of(other, range(20)))
    foreign_target = [(MeasureInput("cuda", TaskRef(task.name, task.args, "cuda", task.workload_key), inp.config), res)
                      for inp, res in records_of(task, range(20))]
    tuner.load_history(foreign_target)
    assert not tuner.visited and tuner.best_config is None


def test_transfer_learning_from_other_workloads(task, mock):
    other = create("test_tuners/matmul", (32,), "llvm")
    tuner = xgb(task)
    tuner.load_history(records_of(other, range(0, len(other.config_space), 2)), min_seed_records=20)
    assert tuner.cost_model.base_model is not None
    assert tuner.trials  # the base model planned the first proposals
    tuner.tune(64, Option())
    assert tuner.best_config.index == optimum(task)


# --- (d) constraints ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda t: GridSearchTuner(t), lambda t: RandomTuner(t, seed=0), lambda t: GATuner(t, pop_size=16, seed=0),
    lambda t: xgb(t, feature_type="itervar"),
], ids=["grid", "random", "ga", "xgb"])
def test_constraint_violations_are_never_proposed(mock, make):
    task = create("test_tuners/matmul", (16, True), "llvm")
    space = task.config_space
    valid = {i for i in range(len(space)) if space.is_valid(i)}
    assert 0 < len(valid) < len(space)
    tuner = make(task)
    tuner.tune(len(space), Option())
    assert set(mock.counts) == valid
    assert max(mock.counts.values()) == 1


# --- features and models --------------------------------------------------------------------------------

def test_itervar_features_see_tiling_and_vectorization(task):
    cache = FeatureCache(task, ItervarFeature(), n_jobs=1)
    space = task.config_space
    plain = space.index_of({"tile_y": [-1, 4], "tile_x": [-1, 8], "tile_k": [-1, 2], "vec": 0})
    vec = space.index_of({"tile_y": [-1, 4], "tile_x": [-1, 8], "tile_k": [-1, 2], "vec": 1})
    other_tile = space.index_of({"tile_y": [-1, 2], "tile_x": [-1, 8], "tile_k": [-1, 2], "vec": 1})
    x, valid = cache.rows([plain, vec, other_tile])
    assert valid.all() and x.shape == (3, ItervarFeature().length())
    assert not np.array_equal(x[0], x[1]) and not np.array_equal(x[1], x[2])
    assert cache.cached([plain, 5]).tolist() == [True, False]


def test_invalid_configs_get_no_features_and_score_minus_inf():
    task = create("test_tuners/matmul", (16, True), "llvm")
    space = task.config_space
    bad = next(i for i in range(len(space)) if not space.is_valid(i))
    good = next(i for i in range(len(space)) if space.is_valid(i))
    for name in ("itervar", "curve", "knob"):
        x, valid = FeatureCache(task, feature_type(name), n_jobs=1).rows([bad, good])
        assert valid.tolist() == [False, True] and not x[0].any()
    model = XGBoostCostModel(task, "knob", seed=0)
    xs = [i for i in range(len(space)) if space.is_valid(i)][:40]
    model.fit(xs, [1.0 / known_cost(space.get(i)) for i in xs], plan_size=8)
    scores = model.predict([bad, good])
    assert scores[0] == -np.inf and np.isfinite(scores[1])


def test_annealing_respects_the_feature_budget_and_exclusions(task):
    space = task.config_space
    model = XGBoostCostModel(task, "itervar", seed=0)
    measured = list(range(0, 200, 12))
    model.fit(measured, [1.0 / known_cost(space.get(i)) for i in measured], plan_size=8)
    before = len(model.cache)
    sa = SimulatedAnnealingOptimizer(task, feature_budget=20, extract_chunk=4, seed=0)
    plan = sa.find_maximums(model, 8, set(measured))
    assert 0 < len(model.cache) - before <= 20 + 4  # one chunk of overshoot at most
    assert len(plan) == 8 and len(set(plan)) == 8 and not set(plan) & set(measured)
    scores = model.predict(plan)
    assert list(scores) == sorted(scores, reverse=True)


def test_diversity_pick_prefers_other_knob_values():
    scores = np.array([1.0, 0.99, 0.5, -np.inf])
    points = np.array([[0, 0], [0, 0], [1, 1], [2, 2]])
    assert diversity_pick(scores, points, 2) == [0, 2]
    assert diversity_pick(scores, points, 5) == [0, 2, 1]  # never an unbuildable (-inf) one


def test_parallel_extraction_matches_serial(task):
    indices = list(range(0, 200, 10))  # 20 configs: 10 per child of n_jobs=2
    serial, _ = FeatureCache(task, ItervarFeature(), n_jobs=1).rows(indices)
    parallel, _ = FeatureCache(task, ItervarFeature(), n_jobs=2, min_parallel=2).rows(indices)
    np.testing.assert_array_equal(serial, parallel)


def test_parallel_extraction_survives_a_child_that_dies(task, monkeypatch):
    """A worker that dies (a crash while lowering a config) costs its share a serial extraction
    here, not the tuning run (a process pool raised BrokenProcessPool)."""
    indices = list(range(0, 80, 10))
    serial, _ = FeatureCache(task, ItervarFeature(), n_jobs=1).rows(indices)
    parent, real = os.getpid(), ItervarFeature.extract_costed

    def dies_in_a_child(self, task, config):
        if os.getpid() != parent:
            os._exit(3)
        return real(self, task, config)

    monkeypatch.setattr(ItervarFeature, "extract_costed", dies_in_a_child)
    parallel, _ = FeatureCache(task, ItervarFeature(), n_jobs=2, min_parallel=2).rows(indices)
    np.testing.assert_array_equal(serial, parallel)


@pytest.mark.parametrize("option", ["fast", None, {"builder": "local"}, Option.builder])
def test_a_bad_measure_option_is_refused_before_measuring(task, mock, option):
    """Not a measure option: a TunerError naming the argument and what it got, not an
    AttributeError from inside the measurement layer."""
    tuner = RandomTuner(task, seed=0)
    with pytest.raises(tuner_module.TunerError, match=r"tune: measure_option must be autotune.measure_option"
                                                      rf".*got {type(option).__name__ if option is not None else ''}"):
        tuner.tune(4, option)
    assert not mock.counts
    with pytest.raises(tuner_module.TunerError, match="confirm_best: measure_option"):
        tuner.confirm_best("fast")
    # TVM's measure_option is a dict of the two
    tuner.tune(4, {"builder": Option.builder, "runner": Option.runner})
    assert tuner.trials_done == 4


def test_auto_scheduler_refuses_a_bad_measure_option(tmp_path):
    """SearchTask.tune and tune_tasks check measure_option before the log is opened."""
    from tensorlang import autoschedule

    def add(n):
        a = te.placeholder((n,), name="A")
        return [a, te.compute((n,), lambda i: a[i] + 1, name="B")]

    search_task = autoschedule.SearchTask(func=add, args=(16,), target="llvm")
    log = tmp_path / "auto.json"
    with pytest.raises(TensorLangError, match="SearchTask.tune: measure_option must be .*got str 'fast'"):
        search_task.tune(2, log=str(log), measure_option="fast", verbose=False)
    with pytest.raises(TensorLangError, match="tune_tasks: measure_option must be .*got int 3"):
        autoschedule.tune_tasks([search_task], 2, log=str(log), measure_option=3, verbose=False)
    assert not log.exists()


# --- the real measurement layer ---------------------------------------------------------------------

def test_end_to_end_with_local_measurement_and_resume(task, tmp_path):
    """Eight real trials (build, check, time), logged, then resumed from the log."""
    from tensorlang.autotune import LocalBuilder, LocalRunner, measure_option, record
    from tensorlang.autotune.callback import log_to_file

    option = measure_option(LocalBuilder(n_parallel=2), LocalRunner(number=2, repeat=1))
    log = tmp_path / "tune.jsonl"
    tuner = XGBTuner(task, plan_size=4, feature_type="itervar", seed=0)
    tuner.tune(8, option, callbacks=[log_to_file(log)])
    assert tuner.trials_done == 8 and tuner.best_flops > 0
    records = list(record.load_from_file(log))
    assert len(records) == 8 and all(res.ok for _, res in records)
    resumed = XGBTuner(task, plan_size=4, seed=1)
    resumed.load_history(records)
    assert resumed.visited == {inp.config.index for inp, _ in records}
    assert resumed.best_flops == pytest.approx(tuner.best_flops)
    assert len(resumed.xs) == 8 and resumed.train_ct == 1  # the logged trials trained its model


def test_confirm_best_remeasures_the_leaders_interleaved(task):
    """A lucky first reading does not survive confirmation: the leaders are re-measured in
    rounds (more rounds for those within noise of each other) and the best declared is the
    lowest steady cost (upper quartile) of the rounds; its figure is their median."""
    from tensorlang.autotune import LocalBuilder, LocalRunner, measure_option
    from tensorlang.autotune.measure.measure import MeasureErrorNo, MeasureInput, MeasureResult

    option = measure_option(LocalBuilder(n_parallel=2), LocalRunner(number=2, repeat=3))
    tuner = RandomTuner(task, seed=3)
    tuner.tune(6, option, confirm_top=3)
    assert tuner.confirmed and len(tuner.confirmed) <= tuner_module.FLAT_LEADERS
    assert tuner.best_config.index == tuner.confirmed[0][0].index
    rounds = tuner.confirmed[0][1]
    assert len(rounds) in (3, 6) and tuner.best_flops == pytest.approx(task.flop / np.median(rounds))
    steady = [tuner_module.steady_cost(r) for _, r in tuner.confirmed]
    assert steady == sorted(steady)
    assert tuner.best_spread >= 0
    # Fake a lucky reading of one leader: 1000x faster than it is. Confirmation measures it for real.
    lucky = tuner.confirmed[-1][0]
    tuner._record_best(MeasureInput(task.target, task, lucky),
                       MeasureResult((1e-9, 1e-9, 1e-9), MeasureErrorNo.NO_ERROR), lucky)
    assert tuner.best_cost == 1e-9
    tuner.confirm_best(option, top=3)
    assert tuner.best_cost > 1e-6 and tuner.best_flops < task.flop / 1e-6


@pytest.mark.parametrize("name", ["GridSearchTuner", "RandomTuner"])
def test_range_idx_limits_proposals_to_that_slice_of_the_space(name):
    """TVM's range_idx=(begin, end), both included, splits one space across machines: together
    the slices propose every valid config once."""
    from tensorlang import autotune as autotvm
    from tensorlang.testing.autotvm import get_sample_task
    task, _ = get_sample_task()
    n = task.config_space.range_length
    cls = getattr(autotvm.tuner, name)
    seen = []
    for begin, end in ((0, n // 3), (n // 3 + 1, n - 1)):
        tuner = cls(task, range_idx=(begin, end))
        while tuner.has_next():
            batch = tuner.next_batch(5)
            assert all(begin <= c.index <= end for c in batch)
            seen += [c.index for c in batch]
    valid = [i for i in range(n) if task.config_space.is_valid(i)]
    assert sorted(seen) == valid
    with pytest.raises(TensorLangError, match="range_idx"):
        cls(task, range_idx=(3, n))
