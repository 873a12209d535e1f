"""TVM 0.12's tests/python/unittest/test_auto_scheduler_search_task.py, as a TVM user's code
reads after ``from tensorlang import auto_scheduler`` (imports changed only; test names kept)."""

import tempfile  # noqa: F401 - TVM's imports

import numpy as np  # noqa: F401
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import auto_scheduler
from tensorlang.testing.auto_scheduler import (  # noqa: F401
    matmul_auto_scheduler_test,
    zero_rank_compute_auto_scheduler_test,
    zero_rank_reduce_auto_scheduler_test,
)

try:  # TVM's: from tvm.auto_scheduler.utils import get_const_tuple
    from tensorlang.autoschedule.utils import get_const_tuple  # noqa: F401
except ImportError:  # a gap of tensorlang's (test_tvm012_auto_scheduler_search_policy.py)
    pass

NO_BUFFER_TABLE = pytest.mark.xfail(
    strict=True, reason="tensorlang's auto_scheduler.search_task has no TASK_INPUT_BUFFER_TABLE; SearchTask refuses "
    "task_inputs that name no placeholder of the computation (TVM keeps them); MeasureInput refuses "
    "task.compute_dag.init_state")


@NO_BUFFER_TABLE
def test_search_task_add_task_input():
    auto_scheduler.search_task.TASK_INPUT_BUFFER_TABLE.clear()
    N = 64
    target = "llvm"
    test_input_0 = tvm.runtime.ndarray.empty((64, 64))
    test_input_1 = tvm.runtime.ndarray.empty((10, 20))
    test_input_2 = tvm.runtime.ndarray.empty((30, 40, 50))
    task = auto_scheduler.SearchTask(
        func="matmul_auto_scheduler_test",
        args=(N, N, N),
        target=target,
        task_inputs={
            "test_input_0": test_input_0,
            "test_input_1": test_input_1,
            "test_input_2": test_input_2,
        },
        task_inputs_overwrite=True,
    )

    assert len(task.task_input_names) == 3
    assert task.task_input_names[0] == "test_input_0"
    assert task.task_input_names[1] == "test_input_1"
    assert task.task_input_names[2] == "test_input_2"


@NO_BUFFER_TABLE
def test_search_task_record():
    auto_scheduler.search_task.TASK_INPUT_BUFFER_TABLE.clear()
    N = 64
    target = "llvm"

    # Log with no task input
    task = auto_scheduler.SearchTask(
        func="matmul_auto_scheduler_test", args=(N, N, N), target=target
    )
    task_record = auto_scheduler._ffi_api.SerializeSearchTask(task)
    new_task = auto_scheduler._ffi_api.DeserializeSearchTask(task_record)
    # TODO(jcf94): Check the compute dag & hardware parameter
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option

    # Log with 1 task input
    test_input_0 = tvm.runtime.ndarray.empty((64, 64))
    task = auto_scheduler.SearchTask(
        func="matmul_auto_scheduler_test",
        args=(N, N, N),
        target=target,
        task_inputs={"test_input_0": test_input_0},
        task_inputs_overwrite=True,
    )
    task_record = auto_scheduler._ffi_api.SerializeSearchTask(task)
    new_task = auto_scheduler._ffi_api.DeserializeSearchTask(task_record)
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert len(new_task.task_input_names) == 1
    assert new_task.task_input_names[0] == "test_input_0"

    # Log with multiple task inputs
    test_input_1 = tvm.runtime.ndarray.empty((64, 64))
    task = auto_scheduler.SearchTask(
        func="matmul_auto_scheduler_test",
        args=(N, N, N),
        target=target,
        task_inputs={
            "test_input_0": test_input_0,
            "test_input_1": test_input_1,
        },
        task_inputs_overwrite=True,
    )
    task_record = auto_scheduler._ffi_api.SerializeSearchTask(task)
    new_task = auto_scheduler._ffi_api.DeserializeSearchTask(task_record)
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert len(new_task.task_input_names) == 2
    assert new_task.task_input_names[0] == "test_input_0"
    assert new_task.task_input_names[1] == "test_input_1"

    # Log with version 0.5
    v5_log = """["[\\\"matmul_auto_scheduler_test\\\", 64, 64, 64]", "llvm -keys=cpu", [6, 64, 64, 0, 0, 0, 0, 0], "", 1]"""  # noqa: E501 - TVM's
    new_task = auto_scheduler._ffi_api.DeserializeSearchTask(v5_log)
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert len(new_task.task_input_names) == 0


@NO_BUFFER_TABLE
def test_recover_measure_input_with_task_input():
    auto_scheduler.search_task.TASK_INPUT_BUFFER_TABLE.clear()

    # Since this file is tests for search_task, we only check the search_task here

    # Log with no task input
    task = auto_scheduler.SearchTask(
        func=matmul_auto_scheduler_test, args=(512, 512, 512), target="llvm"
    )
    inp = auto_scheduler.measure.MeasureInput(task, task.compute_dag.init_state)
    res = auto_scheduler.measure.MeasureResult([0.1], 0, "", 0.2, 1)
    measure_record = auto_scheduler.measure_record.dump_record_to_string(inp, res)
    measure_log = auto_scheduler.measure_record.load_record_from_string(measure_record)
    new_task = measure_log[0].task
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option

    # Log with 1 task input
    test_input_0 = tvm.runtime.ndarray.empty((64, 64))
    task = auto_scheduler.SearchTask(
        func=matmul_auto_scheduler_test,
        args=(512, 512, 512),
        target="llvm",
        task_inputs={
            "test_input_0": test_input_0,
        },
        task_inputs_overwrite=True,
    )
    inp = auto_scheduler.measure.MeasureInput(task, task.compute_dag.init_state)
    res = auto_scheduler.measure.MeasureResult([0.1], 0, "", 0.2, 1)
    measure_record = auto_scheduler.measure_record.dump_record_to_string(inp, res)
    measure_log = auto_scheduler.measure_record.load_record_from_string(measure_record)
    new_task = measure_log[0].task
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert len(new_task.task_input_names) == 1
    assert new_task.task_input_names[0] == "test_input_0"

    # Log with multiple task inputs
    test_input_1 = tvm.runtime.ndarray.empty((64, 64))
    task = auto_scheduler.SearchTask(
        func=matmul_auto_scheduler_test,
        args=(512, 512, 512),
        target="llvm",
        task_inputs={
            "test_input_0": test_input_0,
            "test_input_1": test_input_1,
        },
        task_inputs_overwrite=True,
    )
    inp = auto_scheduler.measure.MeasureInput(task, task.compute_dag.init_state)
    res = auto_scheduler.measure.MeasureResult([0.1], 0, "", 0.2, 1)
    measure_record = auto_scheduler.measure_record.dump_record_to_string(inp, res)
    measure_log = auto_scheduler.measure_record.load_record_from_string(measure_record)
    new_task = measure_log[0].task
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert len(new_task.task_input_names) == 2
    assert new_task.task_input_names[0] == "test_input_0"
    assert new_task.task_input_names[1] == "test_input_1"

    # Log with version 0.5
    v5_log = """{"i": [["[\\\"matmul_auto_scheduler_test\\\", 512, 512, 512]", "llvm -keys=cpu", [6, 64, 64, 0, 0, 0, 0, 0], "", 1], [[], []]], "r": [[0.1], 0, 0.2, 1], "v": "v0.6"}"""  # noqa: E501 - TVM's record line
    measure_log = auto_scheduler.measure_record.load_record_from_string(v5_log)
    new_task = measure_log[0].task
    assert task.workload_key == new_task.workload_key
    assert str(task.target) == str(new_task.target)
    assert str(task.target.host) == str(new_task.target.host)
    assert task.layout_rewrite_option == new_task.layout_rewrite_option
    assert len(new_task.task_input_names) == 0
