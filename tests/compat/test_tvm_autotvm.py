"""TVM 0.12's AutoTVM unit tests of the config space (test_autotvm_space.py), the dispatch
context (test_autotvm_dispatch_context.py) and the XGBoost cost model
(test_autotvm_xgboost_model.py), as a TVM user's code reads after ``import tensorlang as
tvm; from tensorlang import te, autotune as autotvm``; test names kept.  TVM's space test
``test_split`` is test_autotvm.py::test_split_space_sizes_and_fallback_split; the record and
measure tests are in test_autotvm_unit.py."""

import numpy as np

from tensorlang import autotune as autotvm
from tensorlang.autotune.tuner.xgboost_cost_model import XGBoostCostModel
from tensorlang.testing.autotvm import get_sample_records, get_sample_task


def test_fallback():
    called = []

    @autotvm.template("testing/dispatch_fallback")
    def simple_template(a, b):
        cfg = autotvm.get_config()
        assert cfg.is_fallback
        called.append((a, b))

    simple_template(2, 3)
    assert called == [(2, 3)]


def test_fit():
    task, target = get_sample_task()
    records = get_sample_records(n=500)
    base_model = XGBoostCostModel(task, feature_type="itervar", loss_type="rank")
    base_model.fit_log(records, plan_size=32)
    upper_model = XGBoostCostModel(task, feature_type="itervar", loss_type="rank")
    upper_model.load_basemodel(base_model)
    xs = np.arange(10)
    ys = np.arange(10)
    upper_model.fit(xs, ys, plan_size=32)
    # the fitted model ranks: its predictions are finite, one per config
    pred = upper_model.predict(np.arange(20))
    assert len(pred) == 20 and np.all(np.isfinite(pred))


def test_tuner():
    task, target = get_sample_task()
    records = get_sample_records(n=100)
    tuner = autotvm.tuner.XGBTuner(task)
    tuner.load_history(records)
    assert tuner.cost_model.base_model is None  # fewer records than min_seed_records (500)
