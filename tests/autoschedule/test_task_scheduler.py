"""TVM 0.12's test_auto_scheduler_task_scheduler.py, ported (imports changed, matmuls a little
larger), and the TaskScheduler options it does not cover: callbacks, early stopping, per-task
early stopping, measure callbacks, search policies, bad arguments."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import auto_scheduler
from tensorlang.testing.auto_scheduler import matmul_auto_scheduler_test


def _runner():
    return auto_scheduler.LocalRunner(number=1, repeat=1, min_repeat_ms=1)


def _counts(log, tasks):
    counters = collections.Counter(inp.task.workload_key for inp, _ in auto_scheduler.load_records(log))
    return [counters[t.workload_key] for t in tasks]


class Recorder(auto_scheduler.task_scheduler.TaskSchedulerCallback):
    """Every hook call, with what the scheduler showed at that moment."""

    def __init__(self):
        self.calls = []

    def pre_tune(self, task_scheduler, task_id):
        self.calls.append(("pre", task_id, task_scheduler.ct))

    def post_tune(self, task_scheduler, task_id):
        self.calls.append(("post", task_id, task_scheduler.ct, float(task_scheduler.best_costs[task_id])))


class CountTrials(auto_scheduler.PythonBasedMeasureCallback):
    def __init__(self):
        self.n = 0

    def callback(self, policy, inputs, results):
        self.n += len(inputs)


def test_task_scheduler_round_robin(tmp_path, capsys):
    tasks = [auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(n, n, n), target="llvm")
             for n in [16, 24, 32]]
    log_file = str(tmp_path / "rr.json")
    num_trials_per_task = 2
    measure_ctx = auto_scheduler.LocalRPCMeasureContext()
    tune_option = auto_scheduler.TuningOptions(
        num_measure_trials=num_trials_per_task * len(tasks), runner=measure_ctx.runner, num_measures_per_round=1,
        measure_callbacks=[auto_scheduler.RecordToFile(log_file)], verbose=0)
    task_scheduler = auto_scheduler.TaskScheduler(tasks, strategy="round-robin", callbacks=[])
    task_scheduler.tune(tune_option, search_policy="sketch.random")
    assert _counts(log_file, tasks) == [num_trials_per_task] * 3
    assert task_scheduler.task_cts == [2, 2, 2] and task_scheduler.ct == 6
    assert task_scheduler.num_measures_per_round == 1
    assert all(0 < c < 1e9 for c in task_scheduler.best_costs)
    assert [len(h) for h in task_scheduler.task_costs_history] == [2, 2, 2]

    # continuous tuning: the state is restored from the log (no warm-up round), the rounds go on
    # in turn, TVM's callbacks print their table and write their latency file, and custom measure
    # callbacks see the trials
    recorder, counter = Recorder(), CountTrials()
    latency_file = tmp_path / "total_latency.tsv"
    latency_file.write_text("a previous run\n")
    task_scheduler = auto_scheduler.TaskScheduler(
        tasks, strategy="round-robin", load_log_file=log_file,
        callbacks=[recorder, auto_scheduler.task_scheduler.PrintTableInfo(),
                   auto_scheduler.task_scheduler.LogEstimatedLatency(str(latency_file))])
    tune_option = auto_scheduler.TuningOptions(num_measure_trials=len(tasks), num_measures_per_round=1,
                                               runner=measure_ctx.runner, measure_callbacks=[counter])
    task_scheduler.tune(tune_option, search_policy="sketch.random")
    assert task_scheduler.task_cts == [3, 3, 3] and task_scheduler.ct == 3 and counter.n == 3
    assert [c[:2] for c in recorder.calls] == [("pre", 0), ("post", 0), ("pre", 1), ("post", 1), ("pre", 2),
                                               ("post", 2)]
    assert [c[2] for c in recorder.calls if c[0] == "post"] == [1, 2, 3]
    assert all(c[3] == task_scheduler.best_costs[c[1]] < 1e9 for c in recorder.calls if c[0] == "post")
    out = capsys.readouterr().out
    assert out.count("Latency (ms)") == 3 and "Next ID: 2" in out
    lines = latency_file.read_text().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("ElapsedTime(s)\t") and lines[-1].endswith("Trials\t3")
    total = float(lines[-1].split("\t")[3])
    assert total == pytest.approx(sum(task_scheduler.best_costs) * 1e3, abs=1e-3)
    del measure_ctx


def test_task_scheduler_gradient(tmp_path):
    tasks = [auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(n, n, n), target="llvm")
             for n in [16, 32]]

    def objective_func(costs):
        return 1e5 * costs[0]

    log_file = str(tmp_path / "g.json")
    n_trials = 5
    measure_ctx = auto_scheduler.LocalRPCMeasureContext()
    tune_option = auto_scheduler.TuningOptions(num_measure_trials=n_trials, runner=measure_ctx.runner,
                                               num_measures_per_round=1, verbose=0,
                                               measure_callbacks=[auto_scheduler.RecordToFile(log_file)])
    task_scheduler = auto_scheduler.TaskScheduler(tasks, objective_func=objective_func, callbacks=[])
    # Forcibly rewrite the initial values, as TVM's test does
    task_scheduler.best_costs = np.array([1e2, 1e-8])
    task_scheduler.tune(tune_option, search_policy="sketch.random")
    # the objective ignores task 1: after its warm-up round every round goes to task 0
    assert _counts(log_file, tasks) == [n_trials - 1, 1]
    assert task_scheduler.task_cts == [4, 1]
    assert task_scheduler.best_costs[1] == 1e-8 and task_scheduler.best_costs[0] < 1e2
    assert task_scheduler.cur_score == pytest.approx(1e5 * task_scheduler.best_costs[0])
    del measure_ctx


def test_early_stopping_and_per_task_early_stopping(tmp_path):
    tasks = [auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(n, n, n), target="llvm")
             for n in [16, 32]]
    budget = 24
    # a task dies once a round brings no better candidate; the run ends when both are dead
    options = auto_scheduler.TuningOptions(num_measure_trials=budget, num_measures_per_round=1, runner=_runner(),
                                           verbose=0)
    policies = [auto_scheduler.EmptyPolicy(t) for t in tasks]
    sched = auto_scheduler.TaskScheduler(tasks, strategy="round-robin", callbacks=[])
    sched.tune(options, search_policy=policies, per_task_early_stopping=0)
    assert sched.dead_tasks == {0, 1} and sched.ct < budget
    assert all(sched.task_cts[i] > sched.task_best_cts[i] for i in range(2))
    assert sched.searches == [p.search for p in policies]

    # the run stops when the objective has not improved for early_stopping trials
    options = auto_scheduler.TuningOptions(num_measure_trials=budget, num_measures_per_round=1, runner=_runner(),
                                           verbose=0, early_stopping=1)
    sched = auto_scheduler.TaskScheduler(tasks, strategy="round-robin", callbacks=[])
    sched.tune(options, search_policy="sketch.random")
    assert sched.ct < budget and sched.ct - sched.best_ct >= 1 and not sched.dead_tasks
    assert sched.cur_score >= sched.best_score


def test_bad_arguments_are_named():
    tasks = [auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(8, 8, 8), target="llvm")] * 2
    with pytest.raises(tvm.TVMError, match="strategy must be one of round-robin, gradient, got 'greedy'"):
        auto_scheduler.TaskScheduler(tasks, strategy="greedy")
    with pytest.raises(tvm.TVMError, match="objective_func must be callable"):
        auto_scheduler.TaskScheduler(tasks, objective_func=3)
    with pytest.raises(tvm.TVMError, match="pre_tune"):
        auto_scheduler.TaskScheduler(tasks, callbacks=[object()])
    with pytest.raises(tvm.TVMError, match="2 tasks"):
        auto_scheduler.TaskScheduler(tasks, task_weights=[1.0])
    sched = auto_scheduler.TaskScheduler(tasks, callbacks=[])
    with pytest.raises(auto_scheduler.TuningOptionsError, match="num_measure_trials must be at least 2"):
        sched.tune(auto_scheduler.TuningOptions(num_measure_trials=1))
    with pytest.raises(tvm.TVMError, match="unknown search_policy 'sketch.greedy'"):
        sched.tune(auto_scheduler.TuningOptions(num_measure_trials=2), search_policy="sketch.greedy")
    with pytest.raises(tvm.TVMError, match="search_policy_params must be a dict"):
        sched.tune(auto_scheduler.TuningOptions(num_measure_trials=2), search_policy_params=[1])
    # the default objective is the weighted sum of the best costs
    weighted = auto_scheduler.TaskScheduler(tasks, task_weights=[2.0, 3.0], callbacks=[])
    assert weighted.objective_func([1.0, 10.0]) == 32.0
    assert weighted.cur_score == pytest.approx(5e10)


def _failing_matmul(n, l, m):
    """A matmul whose epilogue calls a function no process provides: no candidate can run."""
    A = tvm.te.placeholder((n, l), name="A")
    B = tvm.te.placeholder((l, m), name="B")
    k = tvm.te.reduce_axis((0, l), name="k")
    C = tvm.te.compute((n, m), lambda i, j: tvm.te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return [A, B, tvm.te.compute((n, m), lambda i, j: tvm.tir.call_pure_extern("float32", "no_such_fn", C[i, j]),
                                 name="D")]


def test_a_task_that_can_never_run_stops_getting_rounds(tmp_path, capsys):
    # Its latency stays unknown (1e10), so the gradient kept handing it every round: 16 of 24
    # trials went to a computation whose reference itself fails to build.  With 9 trials (rounds
    # of 4): both warm-up rounds, then the last round goes to the good task, not the dead one.
    from tensorlang import autoschedule
    bad = autoschedule.SearchTask(_failing_matmul, args=(32, 32, 32), target="llvm")
    good = autoschedule.SearchTask(matmul_auto_scheduler_test, args=(32, 32, 32), target="llvm")
    log = str(tmp_path / "two.json")
    sched = autoschedule.tune_tasks([bad, good], n_trials=9, log=log, seed=0, confirm_top=1)
    assert _counts(log, [bad, good]) == [4, 5]
    assert sched.task_cts == [1, 2]
    assert 0 in sched.dead_tasks and sched.task_errors[0] == {"runtime": 4}
    assert sched.first_error[0].startswith("the reference of")
    err = capsys.readouterr().err
    assert "no more rounds: all 4 trial(s) failed (the reference of" in err


class _SameCost(tvm.autotvm.measure.Runner):
    """Every candidate takes 1 ms: after the first round no round brings a better one."""

    def __init__(self):
        super().__init__(1, 1)

    def run(self, measure_inputs, build_results):
        return [tvm.autotvm.MeasureResult((1e-3,), 0, 0.1, 0.0) for _ in measure_inputs]

    def get_build_kwargs(self):
        return {}


def test_tune_tasks_early_stopping_stops_a_task_without_progress(tmp_path):
    # (Measured with a runner of constant cost: real timings of a small matmul keep improving by
    # noise for rounds on end, so "stops early" would be a matter of luck.)
    from tensorlang import autoschedule
    task = autoschedule.SearchTask(matmul_auto_scheduler_test, args=(32, 32, 32), target="llvm")
    option = tvm.autotvm.measure_option(builder=tvm.autotvm.LocalBuilder(), runner=_SameCost())
    sched = autoschedule.tune_tasks([task], n_trials=40, log=str(tmp_path / "es.json"), seed=0, confirm_top=1,
                                    early_stopping=1, verbose=False, measure_option=option)
    assert 0 in sched.dead_tasks and sched.task_trials[0] == 16  # the warm-up round, one more, no progress
    with pytest.raises(tvm.errors.TensorLangError, match="early_stopping must be a positive int"):
        autoschedule.tune_tasks([task], n_trials=4, early_stopping=0)
