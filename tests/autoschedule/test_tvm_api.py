"""TVM 0.12's auto_scheduler names, used as TVM code uses them (only the imports changed):
register_workload, SearchTask(func=, args=, target=), TuningOptions/RecordToFile, apply_best,
print_best, resuming with SketchPolicy/XGBModel/PreloadMeasuredStates, TaskScheduler.tune."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autoschedule as auto_scheduler
from tensorlang import te
from tensorlang.autotune import record


@auto_scheduler.register_workload
def tvmapi_matmul_add(N, L, M, dtype):
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    C = te.placeholder((N, M), name="C", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    matmul = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="matmul",
                        attrs={"layout_free_placeholders": [B]})
    out = te.compute((N, M), lambda i, j: matmul[i, j] + C[i, j], name="out")
    return [A, B, C, out]


@auto_scheduler.register_workload("tvmapi_row_scale")
def row_scale(N, M):
    A = te.placeholder((N, M), name="A")
    k = te.reduce_axis((0, M), name="k")
    R = te.compute((N,), lambda i: te.sum(A[i, k] * A[i, k], axis=k), name="R")
    out = te.compute((N, M), lambda i, j: A[i, j] / (R[i] + 1.0), name="out")
    return [A, out]


def _options(log, n, **kw):
    return auto_scheduler.TuningOptions(num_measure_trials=n, measure_callbacks=[auto_scheduler.RecordToFile(str(log))],
                                        verbose=0, runner=auto_scheduler.LocalRunner(number=1, repeat=2,
                                                                                     min_repeat_ms=1), **kw)


def _trials(log) -> list[dict]:
    return [json.loads(line) for line in open(log) if line.strip()]


def test_the_matmul_tutorial_flow(tmp_path):
    """tune_matmul_x86.py, smaller: tune, apply_best, build, check, time, print_best, resume."""
    log = tmp_path / "matmul.json"
    N = L = M = 64
    task = tvm.auto_scheduler.SearchTask(func=tvmapi_matmul_add, args=(N, L, M, "float32"),
                                         target=tvm.target.Target("llvm"))
    assert str(task.compute_dag).splitlines() == [
        "A = PLACEHOLDER [64, 64]", "B = PLACEHOLDER [64, 64]", "matmul(i, j) += A[i, k] * B[k, j]",
        "C = PLACEHOLDER [64, 64]", "out(i, j) = matmul[i, j] + C[i, j]"]
    assert task.compute_dag.flop_ct == 2 * 64 ** 3 + 64 * 64
    task.tune(tuning_options=_options(log, 6))   # TVM's keyword form
    assert len(_trials(log)) == 6
    assert len(list(auto_scheduler.load_records(str(log)))) == 6   # trials, not the re-measurements
    sch, args = task.apply_best(str(log))
    func = tvm.build(sch, args, "llvm")
    rng = np.random.default_rng()
    a, b, c = (rng.uniform(size=(64, 64)).astype(np.float32) for _ in range(3))
    dev = tvm.cpu()
    out = tvm.nd.empty((64, 64), device=dev)
    func(tvm.nd.array(a, device=dev), tvm.nd.array(b, device=dev), tvm.nd.array(c, device=dev), out)
    np.testing.assert_allclose(out.numpy(), a @ b + c, rtol=1e-4)
    assert func.time_evaluator(func.entry_name, dev, number=2)(
        tvm.nd.array(a), tvm.nd.array(b), tvm.nd.array(c), out).mean > 0
    text = task.print_best(str(log))
    assert "s = te.create_schedule([out.op])" in text and "sketch" in text.splitlines()[0]

    # "Using the record file": the best record's state, printed as Python and applied again
    inp, res = auto_scheduler.load_best_record(str(log), task.workload_key)
    assert task.compute_dag.print_python_code_from_state(inp.state) == text
    sch2, args2 = task.compute_dag.apply_steps_from_state(inp.state)
    assert str(tvm.lower(sch2, args2, simple_mode=True)) == str(tvm.lower(sch, args, simple_mode=True))
    func2 = tvm.build(sch2, args2, "llvm")
    out2 = tvm.nd.empty((64, 64), device=dev)
    func2(tvm.nd.array(a), tvm.nd.array(b), tvm.nd.array(c), out2)
    np.testing.assert_allclose(out2.numpy(), a @ b + c, rtol=1e-4)
    with pytest.raises(tvm.TVMError, match="auto-scheduler record's state"):
        task.compute_dag.apply_steps_from_state("not a state")

    # resume as the tutorial does: 3 more trials, none of them one measured before
    cost_model = auto_scheduler.XGBModel()
    cost_model.update_from_file(str(log))
    policy = auto_scheduler.SketchPolicy(task, cost_model,
                                         init_search_callbacks=[auto_scheduler.PreloadMeasuredStates(str(log))])
    task.tune(_options(log, 3), search_policy=policy)
    trials = _trials(log)
    assert len(trials) == 9
    configs = [json.dumps(t["config"]["knobs"], sort_keys=True) for t in trials]
    assert len(set(configs)) == 9


def test_print_best_is_python_that_replays_the_best_schedule(tmp_path):
    log = tmp_path / "rows.json"
    task = auto_scheduler.SearchTask(func="tvmapi_row_scale", args=(48, 40), target="llvm")
    assert task.name == "auto/tvmapi_row_scale"
    task.tune(_options(log, 5))
    code = task.print_best(str(log))
    assert "A, out = row_scale(48, 40)" in code
    ns: dict = {}
    exec(code, {"te": te, "row_scale": row_scale}, ns)   # noqa: S102 - the printed schedule itself
    best, args = task.apply_best(str(log))
    assert str(tvm.lower(ns["s"], [ns["A"], ns["out"]], simple_mode=True)) == \
        str(tvm.lower(best, args, simple_mode=True))
    f = tvm.build(ns["s"], [ns["A"], ns["out"]], "llvm")
    a = np.random.default_rng().standard_normal((48, 40)).astype(np.float32)
    out = np.empty_like(a)
    f(a, out)
    np.testing.assert_allclose(out, a / ((a * a).sum(1, keepdims=True) + 1), rtol=1e-5)
    with pytest.raises(tvm.TVMError, match="print_mode"):
        task.print_best(str(log), print_mode="c")
    with pytest.raises(tvm.TVMError, match="not cuda"):
        task.print_best(str(log), print_mode="cuda")


def test_workload_keys_and_registration():
    task = auto_scheduler.SearchTask(workload_key='["tvmapi_row_scale", 16, 8]', target="llvm")
    assert task.args == (16, 8) and task.func is row_scale
    # named as registered however the task is made, so both find the same trials in a log
    same = auto_scheduler.SearchTask(func=row_scale, args=(16, 8), target="llvm")
    assert same.name == task.name == "auto/tvmapi_row_scale" and same.workload_key == task.workload_key
    # a task's own key makes the same task again, as TVM's does
    again = auto_scheduler.SearchTask(workload_key=same.workload_key, target="llvm")
    assert again.func is row_scale and again.args == (16, 8) and again.workload_key == same.workload_key
    # the same function registered again (a module run twice) is fine; another one is not
    auto_scheduler.register_workload(tvmapi_matmul_add)
    with pytest.raises(auto_scheduler.WorkloadError, match="already registered"):
        auto_scheduler.register_workload("tvmapi_row_scale", lambda n, m: [])
    with pytest.raises(auto_scheduler.WorkloadError, match="no computation is registered as 'nope'"):
        auto_scheduler.SearchTask(func="nope", args=(1,))
    with pytest.raises(auto_scheduler.WorkloadError, match="not JSON"):
        auto_scheduler.SearchTask(workload_key="[tvmapi_row_scale")
    dag = auto_scheduler.ComputeDAG(row_scale(8, 8))
    from_dag = auto_scheduler.SearchTask(compute_dag=dag, workload_key='["tvmapi_row_scale", 8, 8]', target="llvm")
    assert from_dag.name == "auto/tvmapi_row_scale" and from_dag.dag.outputs[0].shape == dag.outputs[0].shape


def test_bad_options_are_named():
    task = tvm.auto_scheduler.SearchTask(func=tvmapi_matmul_add, args=(8, 8, 8, "float32"), target="llvm")
    with pytest.raises(tvm.TVMError, match="either n_trials or tuning_options"):
        task.tune(4, tuning_options=_options("x.json", 1))
    with pytest.raises(tvm.TVMError, match="tuning_options must be an auto_scheduler.TuningOptions"):
        task.tune(tuning_options=4)
    with pytest.raises(auto_scheduler.TuningOptionsError, match="num_measure_trials"):
        auto_scheduler.TuningOptions(num_measure_trials=-1)
    with pytest.raises(auto_scheduler.TuningOptionsError, match="measure_callbacks"):
        auto_scheduler.TuningOptions(num_measure_trials=1, measure_callbacks=["log.json"])
    with pytest.raises(auto_scheduler.TuningOptionsError, match="several RecordToFile"):
        auto_scheduler.TuningOptions(measure_callbacks=[auto_scheduler.RecordToFile("a"),
                                                        auto_scheduler.RecordToFile("b")])
    with pytest.raises(tvm.TVMError, match="HardwareParams num_cores"):
        auto_scheduler.HardwareParams(num_cores=0)
    task = auto_scheduler.SearchTask(func=row_scale, args=(8, 8), target="llvm",
                                     hardware_params=auto_scheduler.HardwareParams(num_cores=3, vector_unit_bytes=32))
    assert task.hardware.threads == 3 and task.hardware.vector_bits == 256


def test_best_record_and_task_scheduler(tmp_path):
    log = tmp_path / "two.json"
    tasks = [auto_scheduler.SearchTask(func=row_scale, args=(32, 24), target="llvm"),
             auto_scheduler.SearchTask(func=tvmapi_matmul_add, args=(32, 32, 32, "float32"), target="llvm")]
    tuner = auto_scheduler.TaskScheduler(tasks, task_weights=[1.0, 2.0], strategy="gradient")
    tuner.tune(_options(log, 6))
    trials = _trials(log)
    assert len(trials) == 6
    assert {t["task"]["name"] for t in trials} == {"auto/tvmapi_row_scale", "auto/tvmapi_matmul_add"}
    inp, res = auto_scheduler.load_best_record(str(log), '["tvmapi_matmul_add", 32, 32, 32, "float32"]')
    assert inp.task.workload_key == tasks[1].workload_key and res.error_no == 0
    ok = [r for i, r in auto_scheduler.load_records(str(log)) if i.task.workload_key == tasks[1].workload_key
          and r.error_no == 0 and not record.is_confirmation(r)]
    assert min(np.median(r.costs) for r in ok) > 0
    assert auto_scheduler.load_best_record(str(log), '["other", 1]') == (None, None)
    # 2 more, on top of the 6 the log holds
    auto_scheduler.TaskScheduler(tasks).tune(_options(log, 2))
    assert len(_trials(log)) == 8


def test_cuda_without_a_gpu_fails_before_measuring(tmp_path):
    from tensorlang.autotune.measure.gpu_worker import GPUUnavailableError, probe_gpu
    try:
        probe_gpu(0)
    except GPUUnavailableError:
        pass
    else:
        pytest.skip("a GPU is present")
    log = tmp_path / "cuda.json"
    task = auto_scheduler.SearchTask(func=row_scale, args=(32, 24), target="cuda")
    with pytest.raises(GPUUnavailableError, match="cuda -emulate"):
        task.tune(_options(log, 4))
    assert not log.exists() or not _trials(log)


def test_a_bad_or_busy_log_stops_the_run_before_measuring(tmp_path):
    task = auto_scheduler.SearchTask(func=row_scale, args=(8, 8), target="llvm")
    with pytest.raises(record.LogFileError, match="cannot open the tuning log"):
        task.tune(_options("/proc/no-such-dir/log.json", 2))
    log = tmp_path / "busy.json"
    with record.exclusive_writer(str(log)):     # another run is tuning into it
        with pytest.raises(record.LogFileError, match="being written by another tuning process"):
            task.tune(_options(log, 2))
        with pytest.raises(record.LogFileError, match="being written by another tuning process"):
            auto_scheduler.TaskScheduler([task]).tune(_options(log, 2))
    assert _trials(log) == []
    with pytest.raises(tvm.TVMError, match="args must be a tuple"):
        auto_scheduler.SearchTask(func=row_scale, args=8)


def test_custom_measure_callback_and_dag_of_a_schedule(tmp_path):
    """TVM's PythonBasedMeasureCallback subclasses see every measured batch; ComputeDAG takes a
    te schedule as well as tensors."""
    from tensorlang.auto_scheduler.measure import PythonBasedMeasureCallback

    class CountTrials(PythonBasedMeasureCallback):
        def __init__(self):
            self.inputs, self.costs = 0, []

        def callback(self, policy, inputs, results):
            self.inputs += len(inputs)
            self.costs += [min(r.costs) for r in results if r.costs]

    counter = CountTrials()
    log = tmp_path / "cb.json"
    task = tvm.auto_scheduler.SearchTask(func=tvmapi_matmul_add, args=(16, 16, 16, "float32"), target="llvm")
    opts = auto_scheduler.TuningOptions(num_measure_trials=3, verbose=0, runner=auto_scheduler.LocalRunner(
        number=1, repeat=1, min_repeat_ms=1), measure_callbacks=[counter, auto_scheduler.RecordToFile(str(log))])
    assert (task.target.kind.name, task.target.host, task.target) == ("llvm", None, "llvm")  # TVM's Target reads
    task.tune(tuning_options=opts)
    assert counter.inputs == len(_trials(log)) == 3 and len(counter.costs) == 3
    with pytest.raises(auto_scheduler.TuningOptionsError, match="PythonBasedMeasureCallback"):
        auto_scheduler.TuningOptions(measure_callbacks=[object()])
    A, B, C, out = (t for t in tvmapi_matmul_add(8, 8, 8, "float32"))
    dag = auto_scheduler.ComputeDAG(te.create_schedule(out.op))
    assert str(dag) == str(auto_scheduler.ComputeDAG([A, B, C, out]))
    assert dag.flop_ct == 2 * 8 ** 3 + 8 * 8
