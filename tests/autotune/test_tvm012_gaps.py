"""Behaviour added for TVM 0.12 compatibility, beyond what TVM's own tests check: error records,
redefined knobs, rank-binary labels, the GA's first generation, split_workload, early stopping."""

import collections
import json
import time

import numpy as np
import pytest

from tensorlang import autotune as autotvm
from tensorlang.autotune import record
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.space import ConfigRangeError, ConfigSpace, VirtualAxis
from tensorlang.autotune.tuner.xgboost_cost_model import XGBoostCostModel, binarized
from tensorlang.testing.autotvm import DummyRunner, get_sample_task


def test_error_result_keeps_own_message_and_writes_tvm_cost():
    task, target = get_sample_task()
    inp = MeasureInput(target, task, task.config_space.get(0))
    res = MeasureResult((ValueError("x"),), MeasureErrorNo.COMPILE_HOST, 0.1, time.time(), error_msg="own")
    data = json.loads(record.encode(inp, res))
    assert data["result"]["costs"] == [1e9] and data["result"]["error_msg"] == "own"
    # a TVM-style (traceback, exception) pair becomes the message
    res = MeasureResult(("Traceback ...", KeyError("k")), MeasureErrorNo.RUNTIME_DEVICE, 0.1, time.time())
    msg = json.loads(record.encode(inp, res))["result"]["error_msg"]
    assert "Traceback ..." in msg and "KeyError" in msg


def test_redefined_knob_replaces_and_refilters():
    cfg = ConfigSpace()
    cfg.define_knob("a", [1, 2, 3, 4])
    cfg.define_knob("b", [1, 2])
    cfg.multi_filter(lambda e: e["a"].val * e["b"].val >= 4)
    assert len(cfg) == 4  # (4,1) (2,2) (3,2) (4,2)
    cfg.define_knob("a", [4, 8])  # replaces: same place in the index order, the filter applies anew
    assert list(cfg.space_map) == ["a", "b"] and cfg.range_length == 4 and len(cfg) == 4
    assert [c["a"].val for c in cfg] == [4, 8, 4, 8]


def test_get_next_index_skips_constraint_invalid_indices():
    cfg = ConfigSpace()
    cfg.define_split("t", VirtualAxis(64), num_outputs=2)
    cfg.add_constraint(lambda e: e["t"].size[1] % 2 == 0, "even inner")
    assert cfg.get_next_index(0) == 1 and cfg.get_next_index(1) == 2  # inner 1 is index 0 only
    assert cfg.subrange_length(0, cfg.range_length) == cfg.range_length - 1
    with pytest.raises(ConfigRangeError):
        cfg.subrange_length(0, cfg.range_length + 1)
    with pytest.raises(ConfigRangeError):
        cfg.get_next_index(3, 0)


def test_rank_binary_objective_and_labels():
    task, _ = get_sample_task()
    model = XGBoostCostModel(task, loss_type="rank-binary")
    assert model.params["objective"] == "rank:pairwise"
    np.testing.assert_array_equal(binarized([0.0, 0.49, 0.5, 1.0]), [0, 0, 1, 1])
    xs = list(range(32))
    ys = [float(i) for i in xs]  # larger index, faster
    model.fit(xs, ys, plan_size=8)
    pred = model.predict(xs)
    assert np.corrcoef(pred, ys)[0, 1] > 0.5  # it learned the order


def test_ga_first_generation_fits_the_budget_and_never_repeats():
    task, _ = get_sample_task()
    tuner = autotvm.tuner.GATuner(task, pop_size=50, seed=1)
    assert len(tuner.visited) == 50  # reserved at construction, as TVM's
    seen = []
    option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())
    tuner.tune(n_trial=16, measure_option=option,
               callbacks=[lambda t, inputs, results: seen.extend(i.config.index for i in inputs)])
    assert len(seen) == 16 and max(collections.Counter(seen).values()) == 1
    # a budget of 16 breeds generations of 5 (about four in all): the rest of the first one was released
    assert len(tuner.visited) == 16 and set(seen) == tuner.visited


def test_ga_loaded_record_of_reserved_config_is_not_measured():
    task, target = get_sample_task()
    tuner = autotvm.tuner.GATuner(task, pop_size=8, seed=2)
    first = tuner.generation[0]
    logged = (MeasureInput(target, task, task.config_space.get(first)), MeasureResult((1.0,), 0, 0.1, time.time()))
    tuner.load_history([logged])
    seen = []
    option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())
    tuner.tune(n_trial=8, measure_option=option,
               callbacks=[lambda t, inputs, results: seen.extend(i.config.index for i in inputs)])
    assert first not in seen and len(seen) == 8


def test_split_workload(tmp_path):
    task, target = get_sample_task()
    other, _ = get_sample_task(64)
    recs = [(MeasureInput(target, t, t.config_space.get(i)), MeasureResult((1.0 + i,), 0, 0.1, time.time()))
            for t in (task, other) for i in range(3)]
    recs.append(recs[0])  # a duplicate
    log = tmp_path / "x.log"
    record.append(log, recs)
    paths = record.split_workload(log)
    assert [p.rsplit(".", 2)[-2:] for p in paths] == [["000", "wkl"], ["001", "wkl"]]
    split = [list(record.load_from_file(p)) for p in paths]
    assert [len(s) for s in split] == [3, 3]
    assert all(inp.task.workload_key == task.workload_key for inp, _ in split[0])
    assert len(list(record.load_from_file(record.split_workload(log, clean=False)[0]))) == 4


def test_early_stopping_zero_never_stops_early():
    task, _ = get_sample_task()
    tuner = autotvm.tuner.GridSearchTuner(task)
    option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())
    tuner.tune(n_trial=6, measure_option=option, early_stopping=0)  # TVM: `early_stopping or 1e9`
    assert tuner.trials_done == 6 and tuner.ttl == 0
