"""TVM 0.12 auto_scheduler names beyond tuning, used as TVM code uses them (imports changed):
ApplyHistoryBest / ApplyHistoryBestOrSample / DispatchContext, RecordReader, MeasureInput /
MeasureResult, measure_record's string forms, the eagerly imported submodules, make_workload_key,
SerializeSearchTask, the deprecated create_task / auto_schedule, and load_best_record against
load_records."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import auto_scheduler
from tensorlang.autotune import record
from tensorlang.testing.auto_scheduler import matmul_auto_scheduler_test

N = 32


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """A log with a few trials of a 32^3 matmul, confirmations of its leaders beside it."""
    log = str(tmp_path_factory.mktemp("dispatch") / "mm.json")
    task = auto_scheduler.SearchTask(func=matmul_auto_scheduler_test, args=(N, N, N), target="llvm")
    task.tune(auto_scheduler.TuningOptions(num_measure_trials=5, verbose=0, measure_callbacks=[
        auto_scheduler.RecordToFile(log)], runner=auto_scheduler.LocalRunner(number=1, repeat=3, min_repeat_ms=1)))
    return task, log


def _same(a, b) -> bool:
    """Whether two states are the same candidate (configs compare by their JSON)."""
    return a is not None and b is not None and a.to_json() == b.to_json()


def _check_matmul(sch, args):
    func = tvm.build(sch, args, "llvm")
    rng = np.random.default_rng()
    a = rng.uniform(size=(N, N)).astype("float32")
    b = rng.uniform(size=(N, N)).astype("float32")
    c = tvm.nd.empty((N, N))
    func(tvm.nd.array(a), tvm.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4)


def test_apply_history_best_answers_queries_as_apply_best_does(tuned):
    task, log = tuned
    best_inp, best_res = auto_scheduler.load_best_record(log, task.workload_key)
    tvm_key = auto_scheduler.make_workload_key(matmul_auto_scheduler_test, (N, N, N))
    assert tvm_key == '["matmul_auto_scheduler_test", 32, 32, 32]'
    assert auto_scheduler.DispatchContext.current.query("llvm", task.workload_key) is None  # the fallback
    with auto_scheduler.ApplyHistoryBest(log) as ctx:
        assert auto_scheduler.DispatchContext.current is ctx
        # TVM's query signature; both workload key forms name the task
        state = ctx.query(tvm.target.Target("llvm"), tvm_key, True, task.compute_dag, "default")
        assert _same(state, best_inp.state)
        assert _same(state, auto_scheduler.DispatchContext.current.query("llvm", task.workload_key))
        with tvm.target.Target("llvm"):
            assert _same(ctx.query(None, tvm_key), state)
        assert ctx.query("cuda", tvm_key) is None and ctx.query("llvm", '["other", 1]') is None
        sch, args = task.apply_best()          # no log: the context's best
        _check_matmul(sch, args)
        assert str(tvm.lower(sch, args, simple_mode=True)) == \
            str(tvm.lower(*task.apply_best(log_file=log), simple_mode=True))
        # a nested context answers first, and asks the outer one for what it does not know
        with auto_scheduler.ApplyHistoryBest([]) as inner:
            assert _same(inner.query("llvm", tvm_key), state)
            other = next(inp.state for inp, _ in auto_scheduler.load_records(log) if not _same(inp.state, state))
            inner.update("llvm", tvm_key, other)
            assert inner.query("llvm", task.workload_key) is other
            _check_matmul(*task.apply_best())
        assert _same(ctx.query("llvm", tvm_key), state)
    assert auto_scheduler.DispatchContext.current.query("llvm", tvm_key) is None
    with pytest.raises(tvm.TVMError, match="no auto_scheduler dispatch context"):
        task.apply_best()
    with pytest.raises(tvm.TVMError, match="fallback outside every dispatch context"):
        auto_scheduler.DispatchContext.current.update("llvm", tvm_key, state)
    # n_lines: only the first record
    first_inp, _ = next(iter(auto_scheduler.load_records(log)))
    assert _same(auto_scheduler.ApplyHistoryBest(log, n_lines=1).query("llvm", tvm_key), first_inp.state)


def test_apply_history_best_or_sample_samples_a_missing_workload(tuned):
    task, log = tuned
    with auto_scheduler.ApplyHistoryBestOrSample(log) as ctx:
        assert _same(ctx.query("llvm", task.workload_key),
                     auto_scheduler.load_best_record(log, task.workload_key)[0].state)
        key = auto_scheduler.make_workload_key("matmul_auto_scheduler_test", (16, 16, 16))
        state = ctx.query("llvm", key)
        assert state is not None and ctx.query("llvm", key) is state   # sampled once, then pinned
        small = auto_scheduler.SearchTask(workload_key=key, target="llvm")
        sch, args = small.compute_dag.apply_steps_from_state(state)
        f = tvm.build(sch, args, "llvm")
        a, b = (np.random.default_rng().uniform(size=(16, 16)).astype("float32") for _ in range(2))
        c = np.empty((16, 16), "float32")
        f(a, b, c)
        np.testing.assert_allclose(c, a @ b, rtol=1e-4)
        assert ctx.query("llvm", '["not_registered", 1]') is None


def test_load_best_record_is_the_confirmed_best_of_the_trials(tuned):
    """load_best_record follows the one ranking rule, so it may return a confirmation line, which
    load_records (trials only) leaves out; its state is always one of the trials'."""
    task, log = tuned
    inp, res = auto_scheduler.load_best_record(log, task.workload_key)
    trials = list(auto_scheduler.load_records(log))
    assert len(trials) == 5 and not any(record.is_confirmation(r) for _, r in trials)
    assert any(_same(inp.config, i.config) for i, _ in trials)
    confirmations = [r for _, r in record.load_with_confirmations(log) if record.is_confirmation(r)]
    assert confirmations, "the leaders are re-measured after tuning"
    assert record.is_confirmation(res) and res.confirm.rank == 1
    assert res in confirmations and res not in [r for _, r in trials]
    assert str(tvm.lower(*task.apply_best(log), simple_mode=True)) == \
        str(tvm.lower(*task.compute_dag.apply_steps_from_state(inp.state), simple_mode=True))


def test_record_reader_and_string_forms(tuned, tmp_path):
    task, log = tuned
    reader = auto_scheduler.RecordReader(log)
    pairs = list(reader)
    loaded = list(auto_scheduler.load_records(log))
    assert len(pairs) == 5 and [r for _, r in pairs] == [r for _, r in loaded]
    assert all(_same(a.config, b.config) for (a, _), (b, _) in zip(pairs, loaded))
    inputs, results = reader.read_lines()
    assert all(_same(i.config, p[0].config) for i, p in zip(inputs, pairs)) and results == [p[1] for p in pairs]
    inputs, results = reader.read_lines(max_lines=2, skip_lines=1)
    assert len(inputs) == len(results) == 2
    assert all(_same(i.config, p[0].config) for i, p in zip(inputs, pairs[1:3]))
    with pytest.raises(tvm.TVMError, match="max_lines"):
        reader.read_lines(max_lines=-1)

    # TVM's test_recover_measure_input_with_task_input, with a state of this task
    inp = auto_scheduler.measure.MeasureInput(task, pairs[0][0].state)
    res = auto_scheduler.measure.MeasureResult([0.1], 0, "", 0.2, 1)
    text = auto_scheduler.measure_record.dump_record_to_string(inp, res)
    new_inp, new_res = auto_scheduler.measure_record.load_record_from_string(text)
    assert new_inp.task.workload_key == task.workload_key and str(new_inp.task.target) == str(task.target)
    assert _same(new_inp.state, inp.state) and new_res.costs == (0.1,) and new_res.all_cost == 0.2
    assert new_res.timestamp == 1 and new_res.error_no == 0
    # saved and read back, it replays to the same schedule
    copy = str(tmp_path / "copy.json")
    auto_scheduler.save_records(copy, [inp], [res])
    (back_inp, _), = auto_scheduler.load_records(copy)
    _check_matmul(*task.compute_dag.apply_steps_from_state(back_inp.state))
    with pytest.raises(tvm.TVMError, match="auto-scheduler state"):
        auto_scheduler.MeasureInput(task, "not a state")
    with pytest.raises(tvm.TVMError, match="unknown error_no 99"):
        auto_scheduler.MeasureResult([0.1], 99)


def test_tvm_submodules_are_attributes_and_name_the_package():
    names = {"measure": "MeasureInput", "measure_record": "RecordReader", "search_task": "SearchTask",
             "task_scheduler": "PrintTableInfo", "workload_registry": "register_workload",
             "compute_dag": "ComputeDAG", "search_policy": "EmptyPolicy", "cost_model": "XGBModel",
             "dispatcher": "ApplyHistoryBest"}
    for module, name in names.items():
        assert getattr(getattr(auto_scheduler, module), name) is getattr(auto_scheduler, name), module
    assert tvm.auto_scheduler.task_scheduler.LogEstimatedLatency is auto_scheduler.LogEstimatedLatency
    from tensorlang.auto_scheduler.cost_model import RandomModel
    assert RandomModel is auto_scheduler.RandomModel


def test_deprecated_and_serialized_tasks():
    with pytest.raises(ValueError, match="create_task is deprecated"):
        auto_scheduler.create_task(matmul_auto_scheduler_test, (8, 8, 8), "llvm")
    task = auto_scheduler.SearchTask(func="matmul_auto_scheduler_test", args=(8, 8, 8), target="llvm")
    with pytest.raises(tvm.TVMError, match="auto_schedule is deprecated"):
        auto_scheduler.auto_schedule(task)
    # TVM's test_search_task_record
    new_task = auto_scheduler._ffi_api.DeserializeSearchTask(auto_scheduler._ffi_api.SerializeSearchTask(task))
    assert task.workload_key == new_task.workload_key and str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert new_task.func is matmul_auto_scheduler_test and new_task.args == (8, 8, 8)
    unregistered = auto_scheduler.SearchTask(func=lambda: matmul_auto_scheduler_test(8, 8, 8), target="llvm")
    with pytest.raises(auto_scheduler.WorkloadError, match="not a registered workload"):
        auto_scheduler._ffi_api.SerializeSearchTask(unregistered)
    with pytest.raises(auto_scheduler.WorkloadError, match="not a registered workload"):
        auto_scheduler.make_workload_key(lambda n: [], (1,))
