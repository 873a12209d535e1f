"""TVM 0.12's AutoTVM unit tests of the config space (test_autotvm_space.py), the dispatch
context (test_autotvm_dispatch_context.py) and the XGBoost cost model
(test_autotvm_xgboost_model.py), as a TVM user's code reads after ``import tensorlang as
tvm; from tensorlang import te, autotune as autotvm``; test names kept.  The record and
measure tests are in test_autotvm_unit.py."""

import numpy as np

from tensorlang import autotune as autotvm
from tensorlang import te
from tensorlang.autotune.task.space import ConfigSpace, FallbackConfigEntity
from tensorlang.autotune.tuner.xgboost_cost_model import XGBoostCostModel
from tensorlang.testing.autotvm import get_sample_records, get_sample_task


def gemm_func(cfg, N):
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    k = te.reduce_axis((0, N), name="k")
    C = te.compute((N, N), lambda i, j: te.sum(A[i, k] * B[k, j], axis=[k]), name="C")
    s = te.create_schedule([C.op])
    y, x = s[C].op.axis
    cfg.define_split("tile_y", cfg.axis(y), num_outputs=2)
    cfg.define_split("tile_x", cfg.axis(x), num_outputs=2)
    return s, [A, B, C]


def test_split():
    cfg = ConfigSpace()
    gemm_func(cfg, 128)
    assert len(cfg) == 64
    assert len(cfg.space_map["tile_y"]) == 8
    cfg = ConfigSpace()
    for name, extent, policy, size in (("tile_x", 256, "factors", 45), ("tile_y", 256, "power2", 45),
                                       ("tile_z", 256, "verbose", 45), ("tile_a", 224, "factors", 63),
                                       ("tile_b", 224, "power2", 36), ("tile_c", 224, "verbose", 84)):
        cfg.define_split(name, cfg.axis(extent), policy=policy, num_outputs=3)
        assert len(cfg.space_map[name]) == size

    def count4(n):  # non-negative integer solutions of a + b + c + d = n
        return sum(n - a - b + 1 for a in range(n + 1) for b in range(n - a + 1))

    cfg = ConfigSpace()
    cfg.define_split("x", cfg.axis(2**25), policy="factors", num_outputs=4)
    assert len(cfg.space_map["x"]) == count4(25)
    cfg = FallbackConfigEntity()
    cfg.define_split("tile_n", cfg.axis(128), num_outputs=3)
    cfg.fallback_split("tile_n", [-1, 8, 4])
    assert cfg["tile_n"].size == [4, 8, 4]
    cfg = FallbackConfigEntity()
    cfg.define_split("tile_n", cfg.axis(49), num_outputs=3)
    cfg.fallback_split("tile_n", [-1, 8, 4])
    assert cfg["tile_n"].size == [7, 7, 1]
    cfg = FallbackConfigEntity()
    cfg.define_split("tile_n", cfg.axis(49), num_outputs=3)
    try:
        cfg.fallback_split("tile_n", [-1, 1, 0])
        raise AssertionError("fallback_split accepted a zero factor")
    except RuntimeError:
        pass


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
