"""TVM 0.12's tests/python/unittest/test_autotvm_droplet_tuner.py, as a TVM user's code reads
after ``from tensorlang import autotvm`` (imports changed only; test names kept), plus
tensorlang's own check that the droplet search descends to the best config of a cost surface."""

import time

from tensorlang.autotvm.measure.measure import MeasureResult, Runner
from tensorlang.autotvm.tuner.droplet_tuner import t_test_pvalue

from tensorlang import autotvm
from tensorlang.testing.autotvm import DummyRunner, get_sample_records, get_sample_task  # noqa: F401 - TVM's imports


def test_tuner():
    """Test Droplet Tuner"""

    task, _ = get_sample_task()
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())  # noqa: F841

    # When no range index, range_length should be the length of config space
    tuner = autotvm.tuner.DropletTuner(task)
    assert len(tuner.best_choice) == 3
    assert tuner.execution == 1
    assert tuner.batch == 16
    assert tuner.total_execution == max(tuner.dims)
    assert tuner.step == 1


def test_multi_filter():
    # Test with multi-filter
    task, _ = get_sample_task()
    task.config_space.multi_filter(
        filter=lambda entity: 0 <= (entity["tile_x"].size[1] * entity["tile_y"].size[1]) < 1024
    )
    tuner = autotvm.tuner.DropletTuner(task)
    valid_indexes = list(
        filter(lambda idx: tuner.space.is_index_valid(idx), range(tuner.space.range_length))
    )
    assert tuner.visited.issubset(valid_indexes)

    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())
    tuner.tune(n_trial=8, measure_option=measure_option)
    assert tuner.visited.issubset(valid_indexes)


# --- tensorlang's own -----------------------------------------------------------------------------

class _NoBuild:
    """A builder that builds nothing (the runner below only reads the configs)."""

    n_parallel = 4

    def build(self, measure_inputs):
        return [None] * len(measure_inputs)


class _BowlRunner(Runner):
    """Costs of a bowl over the (tile_y, tile_x) choice grid, lowest at choices (5, 3)."""

    def run(self, measure_inputs, build_results):
        out = []
        for inp in measure_inputs:
            y, x = inp.task.config_space.point2knob(inp.config.index)
            cost = (1 + (y - 5) ** 2 + (x - 3) ** 2) * 1e-3
            out.append(MeasureResult((cost, cost * 1.01, cost * 0.99), 0, 0.0, time.time()))
        return out


def test_droplet_descends_to_the_best_config():
    task, _ = get_sample_task()
    tuner = autotvm.tuner.DropletTuner(task)
    tuner.tune(n_trial=40, measure_option=autotvm.measure_option(builder=_NoBuild(), runner=_BowlRunner()))
    assert tuner.best_choice[1] == [5, 3]
    assert task.config_space.point2knob(tuner.best_config.index) == [5, 3]
    assert tuner.trials_done <= 40 and len(set(tuner.visited)) == len(tuner.visited)


def test_t_test_pvalue_matches_scipy_ttest_ind():
    # Values of scipy.stats.ttest_ind(a, b).pvalue (scipy 1.17), which TVM's DropletTuner uses.
    assert abs(t_test_pvalue([1.0, 2.0, 3.0], [4.0, 5.0, 7.0]) - 0.03410942316740962) < 1e-12
    assert abs(t_test_pvalue([1.0, 1.1, 0.9, 1.05], [1.02, 0.98, 1.2]) - 0.5072058779158937) < 1e-12
    assert abs(t_test_pvalue([10.0, 10.5], [1.0, 1.2, 0.8, 1.1, 0.9]) - 4.916545234397847e-08) < 1e-18
    assert t_test_pvalue([1.0, 1.0], [2.0, 2.0]) == 0.0
