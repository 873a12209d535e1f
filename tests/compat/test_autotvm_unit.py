"""TVM's autotvm record/measure/xgboost-model unit tests, as TVM users write them (imports changed)."""

import time

import numpy as np

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang.autotune.dispatcher import ApplyHistoryBest
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.record import decode, encode, measure_str_key
from tensorlang.autotune.tuner.xgboost_cost_model import XGBoostCostModel
from tensorlang.contrib import utils
from tensorlang.testing.autotvm import DummyRunner, bad_matmul, get_sample_records, get_sample_task


def test_load_dump():
    task, target = get_sample_task()
    inp = MeasureInput(target, task, task.config_space.get(0))
    result = MeasureResult((2.0, 2.23, 0.23, 0.123, 0.234, 0.123), MeasureErrorNo.NO_ERROR, 2.3, time.time())
    row = encode(inp, result, protocol="json")
    inp_2, result_2 = decode(row, protocol="json")
    assert measure_str_key(inp) == measure_str_key(inp_2)
    assert result.costs == result_2.costs
    assert result.error_no == result_2.error_no
    assert result.timestamp == result_2.timestamp


def test_file_io():
    temp = utils.tempdir()
    file_path = temp.relpath("temp.log")
    tsk, target = get_sample_task()
    inputs = [MeasureInput(target, tsk, tsk.config_space.get(i)) for i in range(0, 10)]
    # a cost of 0 is an invalid record here (tensorlang skips it on reading), so costs start at 1
    results = [MeasureResult((i + 1,), 0, 0, 0) for i in range(0, 10)]
    with open(file_path, "w") as fo:
        cb = autotvm.callback.log_to_file(fo)
        cb(None, inputs, results)
    ref = zip(inputs, results)
    for x, y in zip(ref, autotvm.record.load_from_file(file_path)):
        assert x[1] == y[1]
    hist_best = ApplyHistoryBest([file_path, file_path])
    x = hist_best.query(target, tsk.workload)
    assert str(x) == str(inputs[0][2])


def test_apply_history_best():
    tsk, target = get_sample_task()
    best = str(tsk.config_space.get(2))
    records = [
        (MeasureInput(target, tsk, tsk.config_space.get(0)), MeasureResult((0.1,), 0, 2.3, 0)),
        (MeasureInput(target, tsk, tsk.config_space.get(1)), MeasureResult((0.3,), 0, 2.3, 0)),
        (MeasureInput(target, tsk, tsk.config_space.get(2)), MeasureResult((0.01,), 0, 2.3, 0)),
        (MeasureInput(target, tsk, tsk.config_space.get(4)), MeasureResult((0.4,), 0, 2.3, 0)),
    ]
    assert str(ApplyHistoryBest(records).query(target, tsk.workload)) == best
    assert str(ApplyHistoryBest(iter(records)).query(target, tsk.workload)) == best


def test_task_tuner_without_measurement():
    task, _ = get_sample_task(32)
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())
    for tuner_class in [autotvm.tuner.RandomTuner, autotvm.tuner.GridSearchTuner, autotvm.tuner.GATuner,
                        autotvm.tuner.XGBTuner]:
        tuner = tuner_class(task)
        tuner.tune(n_trial=4, measure_option=measure_option)
        assert tuner.best_flops > 1


def test_check_correctness():
    task, target = get_sample_task(32)
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(),
                                            runner=autotvm.LocalRunner(check_correctness=True))

    def _callback_correct(tuner, measure_inputs, measure_results):
        for _, res in zip(measure_inputs, measure_results):
            assert res.error_no == 0

    tuner = autotvm.tuner.RandomTuner(task)
    tuner.tune(n_trial=2, measure_option=measure_option, callbacks=[_callback_correct])

    # a bad template: on "-device=bad_device" it skips the last k, and the reference (built for
    # plain llvm, as in TVM) catches it
    n = 32
    target = tvm.target.Target("llvm -device=bad_device")
    task = autotvm.task.create(bad_matmul, args=(n, n, n, "float32"), target=target)
    seen = []

    def _callback_wrong(tuner, measure_inputs, measure_results):
        for _, res in zip(measure_inputs, measure_results):
            seen.append(res.error_no)
            assert res.error_no == MeasureErrorNo.WRONG_ANSWER

    tuner = autotvm.tuner.RandomTuner(task)
    tuner.tune(n_trial=2, measure_option=measure_option, callbacks=[_callback_wrong])
    assert len(seen) == 2


def test_xgboost_fit_and_tuner_history():
    task, target = get_sample_task()
    records = get_sample_records(n=100)
    base_model = XGBoostCostModel(task, feature_type="itervar", loss_type="reg")
    base_model.fit_log(records, plan_size=32)
    upper_model = XGBoostCostModel(task, feature_type="itervar", loss_type="reg")
    upper_model.load_basemodel(base_model)
    xs = np.arange(10)
    ys = np.arange(10)
    upper_model.fit(xs, ys, plan_size=32)
    assert len(upper_model.predict(np.arange(12))) == 12
    records = get_sample_records(n=10)
    tuner = autotvm.tuner.XGBTuner(task)
    tuner.load_history(records, min_seed_records=10)
    assert tuner.cost_model.base_model is not None
    tuner = autotvm.tuner.XGBTuner(task)
    tuner.load_history(records, min_seed_records=11)
    assert tuner.cost_model.base_model is None
    tuner = autotvm.tuner.XGBTuner(task)
    records = get_sample_records(n=5)
    tuner.update([inp for inp, _ in records], [res for _, res in records])
    assert len(tuner.xs) == 5 and len(tuner.ys) == 5 and len(tuner.visited) == 5
    assert all(x in tuner.visited for x in tuner.xs)
    assert tvm.target.Target("llvm -device=bad_device").keys[0] == "bad_device"
