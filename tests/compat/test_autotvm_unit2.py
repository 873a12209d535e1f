"""More of TVM 0.12's autotvm unit tests (space, index/GA tuners, record, flop calculator), as TVM
users write them (imports changed), and TVM-style code that used to fail here."""

import io
import time

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.autotune.measure.local import BuildResult
from tensorlang.autotune.measure.measure import Runner
from tensorlang.autotune.record import ApplyHistoryBest, encode
from tensorlang.autotune.task.space import ConfigSpace
from tensorlang.autotune.task.task import compute_flop
from tensorlang.testing.autotvm import DummyRunner, get_sample_task
from tests.compat.test_autotvm import gemm_func  # TVM's test helper, shared


def _raises_exception(f):
    try:
        f()
    except Exception:
        return True
    return False


class _NoCompileBuilder(autotvm.LocalBuilder):
    """LocalBuilder's batch size (n_parallel), without compiling: DummyRunner never runs what is
    built, so these tuner tests pay no compiler per trial (LocalBuilder + DummyRunner are still
    used together by test_copy_template_still_tunes)."""

    def build(self, measure_inputs, configs=None):
        return [BuildResult("", MeasureErrorNo.NO_ERROR) for _ in measure_inputs]


def _dummy_option():
    return autotvm.measure_option(builder=_NoCompileBuilder(), runner=DummyRunner())


def _mf(entity):
    return 32 <= (entity["tile_x"].size[1] * entity["tile_y"].size[1]) < 1024


# ---------------- test_autotvm_space.py (TVM 0.12)

def test_multi_filter():
    cfg = ConfigSpace()
    gemm_func(cfg, 128)
    cfg_mf = ConfigSpace()
    gemm_func(cfg_mf, 128)
    cfg_mf.multi_filter(filter=_mf)
    assert len(cfg) == 64 and len(cfg_mf) == 34
    assert cfg.subrange_length(0, 64) == 64
    assert cfg.subrange_length(16, 32) == 16
    assert cfg.subrange_length(16, 16) == 0
    assert _raises_exception(lambda: cfg.subrange_length(0, 128))
    assert _raises_exception(lambda: cfg.subrange_length(-64, 64))
    assert _raises_exception(lambda: cfg.subrange_length(64, 0))
    assert cfg_mf.subrange_length(0, 64) == 34
    assert cfg_mf.subrange_length(0, 32) == 17
    assert cfg_mf.subrange_length(16, 32) == 10
    assert _raises_exception(lambda: cfg_mf.subrange_length(0, 128))
    assert _raises_exception(lambda: cfg_mf.subrange_length(-64, 64))
    assert _raises_exception(lambda: cfg_mf.subrange_length(64, 0))
    assert cfg.get_next_index(0) == 1
    assert cfg.get_next_index(0, 1) == 1
    assert cfg.get_next_index(0, 2) == 2
    assert cfg.get_next_index(0, -1) is None
    assert cfg.get_next_index(0, -2) is None
    assert cfg.get_next_index(63) is None
    assert cfg.get_next_index(63, 2) is None
    assert cfg.get_next_index(63, -1) == 62
    assert cfg.get_next_index(63, -2) == 61
    assert cfg.get_next_index(60, 1, end=63) == 61
    assert cfg.get_next_index(63, -1, start=60) == 62
    assert cfg_mf.get_next_index(0) == 5
    assert cfg_mf.get_next_index(0, 1) == 5
    assert cfg_mf.get_next_index(0, 2) == 6
    assert cfg_mf.get_next_index(0, -1) is None
    assert cfg_mf.get_next_index(0, -2) is None
    assert cfg_mf.get_next_index(63) is None
    assert cfg_mf.get_next_index(63, 1) is None
    assert cfg_mf.get_next_index(63, 2) is None
    assert cfg_mf.get_next_index(63, -1) == 58
    assert cfg_mf.get_next_index(63, -2) == 57
    assert cfg_mf.get_next_index(60, 1, end=63) is None
    assert cfg_mf.get_next_index(63, -1, start=60) is None


def test_subrange_out_of_space_is_an_assertion_error():
    cfg = ConfigSpace()
    gemm_func(cfg, 128)
    # TVM asserts there; a port's `except AssertionError` keeps working
    with pytest.raises(AssertionError):
        cfg.subrange_length(0, 128)
    with pytest.raises(AssertionError):
        cfg.subrange_length(64, 0)


def test_filter_and_multi_filter():
    cfg = ConfigSpace()
    gemm_func(cfg, 128, filter_y=lambda y: y.size[-1] < 64)
    assert len(cfg) == 48
    assert cfg.range_length == 48
    cfg.multi_filter(filter=_mf)
    assert len(cfg) == 27
    assert cfg.range_length == 48

    cfg = ConfigSpace()
    s, (A, B, C) = gemm_func(cfg, 128, filter_y=None)
    cfg.multi_filter(filter=_mf)
    assert len(cfg) == 34
    assert cfg.range_length == 64
    y, x = s[C].op.axis
    # defining tile_y again replaces it, as in TVM
    cfg.define_split("tile_y", cfg.axis(y), num_outputs=2, filter=lambda y: y.size[-1] < 64)
    assert len(cfg) == 27
    assert cfg.range_length == 48
    assert list(cfg.space_map) == ["tile_y", "tile_x"]


# ---------------- test_autotvm_index_tuner.py (TVM 0.12)

def test_grid_search_tuner():
    task, _ = get_sample_task()
    measure_option = _dummy_option()

    tuner = autotvm.tuner.GridSearchTuner(task)
    assert tuner.begin_idx == 0
    assert tuner.end_idx == 64
    assert tuner.index == 0
    assert tuner.range_length == 64
    assert tuner.visited_max == 64

    tuner = autotvm.tuner.GridSearchTuner(task, range_idx=(8, 15))
    assert tuner.begin_idx == 8
    assert tuner.end_idx == 16
    assert tuner.index == 8
    assert tuner.range_length == 8
    assert tuner.visited_max == 8
    tuner.tune(n_trial=8, measure_option=measure_option)
    assert len(tuner.visited) == 8
    assert not tuner.has_next()

    task, _ = get_sample_task()
    task.config_space.multi_filter(filter=_mf)
    tuner = autotvm.tuner.GridSearchTuner(task)
    assert tuner.begin_idx == 0
    assert tuner.end_idx == 64
    assert tuner.index == 5
    assert tuner.range_length == 64
    assert tuner.visited_max == 34

    tuner = autotvm.tuner.GridSearchTuner(task, range_idx=(8, 15))
    assert tuner.begin_idx == 8
    assert tuner.end_idx == 16
    assert tuner.index == 12
    assert tuner.range_length == 8
    assert tuner.visited_max == 4
    tuner.tune(n_trial=8, measure_option=measure_option)
    assert len(tuner.visited) == 4
    assert not tuner.has_next()
    assert tuner.counter == 4


def test_random_tuner():
    task, _ = get_sample_task()
    measure_option = _dummy_option()
    tuner = autotvm.tuner.RandomTuner(task, range_idx=(8, 15))
    assert tuner.begin_idx == 8
    assert tuner.end_idx == 16
    assert tuner.range_length == 8
    assert tuner.visited_max == 8
    tuner.tune(n_trial=8, measure_option=measure_option)
    assert len(tuner.visited) == 8
    assert not tuner.has_next()
    for idx in tuner.visited:
        assert 8 <= idx <= 15

    task, _ = get_sample_task()
    task.config_space.multi_filter(filter=_mf)
    tuner = autotvm.tuner.RandomTuner(task, range_idx=(8, 15))
    assert tuner.visited_max == 4
    tuner.tune(n_trial=8, measure_option=measure_option)
    assert len(tuner.visited) == 4
    assert not tuner.has_next()
    for idx in tuner.visited:
        assert 8 <= idx <= 15


# ---------------- test_autotvm_ga_tuner.py (TVM 0.12)

def test_ga_tuner():
    task, _ = get_sample_task()
    tuner = autotvm.tuner.GATuner(task, pop_size=32)
    valid_indexes = list(filter(lambda idx: tuner.space.is_index_valid(idx), range(tuner.space.range_length)))
    assert tuner.visited.issubset(valid_indexes)
    assert tuner.pop_size == len(tuner.visited) == len(tuner.genes)
    assert len(tuner.space) == 64
    measure_option = _dummy_option()
    tuner.tune(n_trial=len(tuner.space), measure_option=measure_option)
    assert tuner.visited.issubset(valid_indexes)


def test_ga_tuner_multi_filter():
    task, _ = get_sample_task()
    task.config_space.multi_filter(
        filter=lambda entity: 8 <= (entity["tile_x"].size[1] * entity["tile_y"].size[1]) < 1024
    )
    tuner = autotvm.tuner.GATuner(task, pop_size=100)
    valid_indexes = list(filter(lambda idx: tuner.space.is_index_valid(idx), range(tuner.space.range_length)))
    assert tuner.visited.issubset(valid_indexes)
    assert tuner.pop_size == len(tuner.visited) == len(tuner.genes)
    assert len(tuner.space) == 43 and tuner.pop_size == 43
    measure_option = _dummy_option()
    tuner.tune(n_trial=len(tuner.space), measure_option=measure_option)
    assert tuner.visited.issubset(valid_indexes)
    assert len(tuner.visited) == 43


# ---------------- XGBTuner's loss types (TVM 0.12's tune_relay tutorials use rank-binary)

def test_xgb_tuner_rank_binary():
    task, _ = get_sample_task()
    measure_option = _dummy_option()
    tuner = autotvm.tuner.XGBTuner(task, loss_type="rank-binary", plan_size=8)
    assert tuner.cost_model.loss_type == "rank-binary"
    tuner.tune(n_trial=20, measure_option=measure_option)
    assert tuner.best_flops > 1
    assert tuner.cost_model.trained  # the model was fitted with this loss
    assert len(tuner.visited) == 20


# ---------------- Tuner.tune: TVM's early stopping and best_iter

class _CostRunner(Runner):
    """Cost by config index: trials 0, 1, 2 improve, then nothing does."""

    def __init__(self):
        super().__init__(1, 1)

    def run(self, measure_inputs, build_results):
        return [MeasureResult((1.0 / (inp.config.index + 1) if inp.config.index < 3 else 1.0,), 0, 0.1, time.time())
                for inp in measure_inputs]

    def get_build_kwargs(self):
        return {}


@pytest.mark.parametrize("early_stopping", [1, 3, 5])
def test_early_stopping_as_tvm(early_stopping):
    task, _ = get_sample_task()
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(n_parallel=1), runner=_CostRunner())
    tuner = autotvm.tuner.GridSearchTuner(task)
    seen = []
    tuner.tune(n_trial=40, measure_option=measure_option, early_stopping=early_stopping,
               callbacks=[lambda t, inputs, results: seen.extend(i.config.index for i in inputs)])
    # TVM stops once i >= best_iter + early_stopping; the best (index 2) is trial 2 unless it
    # stopped before reaching it
    best_iter = 0 if early_stopping == 1 else 2
    assert tuner.best_iter == best_iter
    assert len(seen) == best_iter + early_stopping


# ---------------- test_autotvm_record.py (TVM 0.12)

def test_apply_history_best_multiple_batches(tmpdir):
    tsk, target = get_sample_task()
    best = str(tsk.config_space.get(2))

    inputs_batch_1 = [MeasureInput(target, tsk, tsk.config_space.get(i)) for i in range(2)]
    results_batch_1 = [MeasureResult((i,), 0, 0, 0) for i in range(1, 3)]
    filepath_batch_1 = tmpdir / "batch_1.log"
    with open(filepath_batch_1, "w") as file:
        autotvm.callback.log_to_file(file)(None, inputs_batch_1, results_batch_1)

    inputs_batch_2 = [MeasureInput(target, tsk, tsk.config_space.get(i)) for i in range(2, 4)]
    results_batch_2 = [MeasureResult((0.5,), 0, 0, 0), MeasureResult((3,), 0, 0, 0)]
    filepath_batch_2 = tmpdir / "batch_2.log"
    with open(filepath_batch_2, "w") as file:
        autotvm.callback.log_to_file(file)(None, inputs_batch_2, results_batch_2)

    hist_best = ApplyHistoryBest([filepath_batch_1, filepath_batch_2])
    assert str(hist_best.query(target, tsk.workload)) == best

    hist_best = ApplyHistoryBest(zip([filepath_batch_1, filepath_batch_2]))
    assert str(hist_best.query(target, tsk.workload)) == best

    hist_best = ApplyHistoryBest(
        zip([zip(inputs_batch_1, results_batch_1), zip(inputs_batch_2, results_batch_2)])
    )
    assert str(hist_best.query(target, tsk.workload)) == best
    inp, res = hist_best.best_by_targetkey[("cpu", tsk.workload)]
    assert str(inp.config) == best and res.costs == (0.5,)


def test_encode_error_result():
    tsk, target = get_sample_task()
    inp = MeasureInput(target, tsk, tsk.config_space.get(0))
    res = MeasureResult((RuntimeError("device lost"),), MeasureErrorNo.RUNTIME_DEVICE, 0.1, time.time())
    _, res2 = autotvm.record.decode(encode(inp, res))
    assert res2.costs == (1e9,)  # as TVM writes an error result's costs
    assert res2.error_no == MeasureErrorNo.RUNTIME_DEVICE
    assert "device lost" in res2.error_msg


class _ErrorRunner(Runner):
    """A TVM-style runner: a failure carries the exception object in costs."""

    def __init__(self):
        super().__init__(1, 1)

    def run(self, measure_inputs, build_results):
        return [MeasureResult((RuntimeError("device error"),), MeasureErrorNo.RUNTIME_DEVICE, 0.1, time.time())
                if inp.config.index % 2 else MeasureResult((0.5 + inp.config.index,), 0, 0.1, time.time())
                for inp in measure_inputs]

    def get_build_kwargs(self):
        return {}


def test_tune_with_error_results_logs_them():
    task, _ = get_sample_task()
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=_ErrorRunner())
    buf = io.StringIO()
    tuner = autotvm.tuner.GridSearchTuner(task)
    tuner.tune(n_trial=4, measure_option=measure_option, callbacks=[autotvm.callback.log_to_file(buf)])
    buf.seek(0)
    records = list(autotvm.record.load_from_buffer(buf))
    assert [r.error_no for _, r in records] == [0, MeasureErrorNo.RUNTIME_DEVICE] * 2
    assert tuner.best_config.index == 0


# ---------------- test_autotvm_flop_calculator.py (TVM 0.12)

def test_move():
    """No float operation: TVM asks for cfg.add_flop"""
    N = 1024
    A = te.placeholder((N,))
    C = te.compute((N,), lambda i: A[i])
    s = te.create_schedule([C.op])
    try:
        compute_flop(s)
        assert False
    except RuntimeError:
        pass


@autotvm.template("testing/unit2_copy")
def copy_template(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i], name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    cfg.define_split("tile", s[B].op.axis[0], num_outputs=2)
    cfg["tile"].apply(s, B, s[B].op.axis[0])
    return s, [A, B]


def test_copy_template_still_tunes():
    task = autotvm.task.create("testing/unit2_copy", args=(64,), target="llvm")
    assert task.flop == 0
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=DummyRunner())
    tuner = autotvm.tuner.RandomTuner(task)
    tuner.tune(n_trial=3, measure_option=measure_option)
    assert tuner.best_config is not None


# ---------------- names TVM 0.12 exports

def test_tvm012_names():
    task, target = get_sample_task()
    assert autotvm.create is autotvm.task.create
    assert autotvm.record.AUTOTVM_LOG_VERSION
    assert autotvm.env.AutotvmGlobalScope.current is autotvm.GLOBAL_SCOPE
    from tensorlang.autotune.measure.measure import BuildResult, create_measure_batch
    assert BuildResult is autotvm.measure.BuildResult and callable(create_measure_batch)
    from tensorlang.autotune.task.space import Axis, SplitSpace, TransformSpace
    assert issubclass(SplitSpace, TransformSpace) and Axis(None, 1).index == 1


def test_monitor_and_metric():
    from tensorlang.autotune.tuner import metric
    task, _ = get_sample_task()
    monitor = autotvm.callback.Monitor()
    measure_option = autotvm.measure_option(builder=autotvm.LocalBuilder(), runner=_CostRunner())
    tuner = autotvm.tuner.GridSearchTuner(task)
    tuner.tune(n_trial=5, measure_option=measure_option, callbacks=[monitor])
    scores = monitor.trial_scores()
    assert len(scores) == 5 and len(monitor.trial_timestamps()) == 5
    np.testing.assert_allclose(scores[:3], [task.flop / (1 / (i + 1)) for i in range(3)])
    np.testing.assert_allclose(metric.max_curve(scores), np.maximum.accumulate(scores))
    np.testing.assert_allclose(metric.mean_curve([1, 3, 2]), [1, 2, 2])
    np.testing.assert_allclose(metric.recall_curve([0, 1, 2]), [0, 1 / 2, 2 / 3])
    np.testing.assert_allclose(metric.recall_curve([0, 5, 1], top=2), [0, 1 / 2, 1 / 2])
    np.testing.assert_allclose(metric.cover_curve([1, 0, 2]), [0, 2 / 3, 1])


def test_apply_fixed_config():
    task, target = get_sample_task()
    from tensorlang.testing.autotvm import matmul
    with autotvm.apply_fixed_config([task], "testing/matmul") as ctx:
        with target:
            s, args = matmul(128, 128, 128, "float32")
            cfg = autotvm.DispatchContext.current.query(target, task.workload)
    assert isinstance(cfg, autotvm.ConfigEntity)  # not a fallback
    assert cfg.index == 0 and cfg.cost == 1e-6 and ctx.workload is not None
    f = tvm.build(s, args, target="llvm")
    a = np.random.rand(128, 128).astype("float32")
    b = np.random.rand(128, 128).astype("float32")
    c = tvm.nd.array(np.zeros((128, 128), "float32"))
    f(tvm.nd.array(a), tvm.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4)
