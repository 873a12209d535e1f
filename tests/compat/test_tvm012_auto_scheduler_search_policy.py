"""TVM 0.12's tests/python/unittest/test_auto_scheduler_search_policy.py, as a TVM user's code
reads after ``from tensorlang import auto_scheduler`` (imports changed only; test names kept).
For CI time the matmul is 16 rather than 64, a search measures 1 trial rather than up to 100
(TVM's early_stopping=1 ends it sooner anyway), CUDA runs on ``cuda -emulate`` (CUDA kernels run on
the CPU; there is no GPU here) instead of behind ``requires_cuda``, and only test_sketch_search_policy_basic
and _zero_rank are kept: test_workload_registry_empty_policy, _xgbmodel, _cuda_rpc_runner,
_cuda_xgbmodel_rpc_runner and _custom_sketch (about 25 s more; custom sketch rules are covered by
test_auto_scheduler_tutorials.py's test_cpu_custom_sketch) and the ``_spawn`` variant are left out."""

import multiprocessing  # noqa: F401 - TVM's imports
import random  # noqa: F401
import tempfile

import numpy as np

import tensorlang as tvm
import tensorlang.testing
from tensorlang import auto_scheduler
from tensorlang.testing.auto_scheduler import (
    matmul_auto_scheduler_test,
    zero_rank_compute_auto_scheduler_test,
    zero_rank_reduce_auto_scheduler_test,
)

try:  # TVM's: from tvm.auto_scheduler.utils import get_const_tuple
    from tensorlang.autoschedule.utils import get_const_tuple
except ImportError:  # a gap of tensorlang's, test_auto_scheduler_utils_get_const_tuple below
    from tensorlang.topi.utils import get_const_tuple

N = 16  # TVM's 64
TRIALS = 1  # TVM's 100, with early_stopping=1
CUDA = "cuda -emulate"  # TVM's "cuda"


class CustomMeasureCallback(auto_scheduler.measure.PythonBasedMeasureCallback):
    """A simple Python-based callback for testing."""

    def __init__(self):
        self.seen = 0

    def callback(self, policy, inputs, results):
        assert isinstance(policy, auto_scheduler.search_policy.SearchPolicy)
        for inp, res in zip(inputs, results):
            assert isinstance(inp, auto_scheduler.MeasureInput)
            assert isinstance(res, auto_scheduler.MeasureResult)
            self.seen += 1


def search_common(
    task=None,
    target="llvm",
    search_policy="sketch",
    runner="local",
    num_measure_trials=TRIALS,
    cost_model=auto_scheduler.RandomModel(),  # noqa: B008 - TVM's signature
    init_search_callbacks=None,
):
    if task is None:
        task = auto_scheduler.SearchTask(
            func=matmul_auto_scheduler_test, args=(N, N, N), target=target
        )
    target = task.target

    print("Test search policy '%s' for '%s'" % (search_policy, target))  # noqa: UP031 - TVM's

    with tempfile.NamedTemporaryFile() as fp:
        log_file = fp.name

        init_search_callbacks = init_search_callbacks or []
        init_search_callbacks.append(auto_scheduler.PreloadMeasuredStates(log_file))

        if search_policy == "empty":
            search_policy = auto_scheduler.EmptyPolicy(task)
        elif search_policy == "sketch":
            search_policy = auto_scheduler.SketchPolicy(
                task, program_cost_model=cost_model, init_search_callbacks=init_search_callbacks
            )
        else:
            raise ValueError("Invalid policy: " + search_policy)

        # Tune
        callback = CustomMeasureCallback()
        tuning_options = auto_scheduler.TuningOptions(
            num_measure_trials=num_measure_trials,
            num_measures_per_round=2,
            early_stopping=1,
            runner=runner,
            measure_callbacks=[auto_scheduler.RecordToFile(log_file), callback],
        )
        task.tune(tuning_options=tuning_options, search_policy=search_policy)
        assert callback.seen >= 1  # tensorlang's check: the callback saw the trials

        # Compile with the best schedule
        sch, args = task.apply_best(log_file)
        mod = tvm.build(sch, args, target)

        # Compile with naive schedule for correctness check
        sch, args = task.compute_dag.apply_steps_from_state(task.compute_dag.init_state)
        mod_ref = tvm.build(sch, args, "llvm")

        ctx = tvm.device(str(target), 0)
        np_arrays = [np.random.uniform(size=get_const_tuple(x.shape)).astype(x.dtype) for x in args]

        tvm_arrays = [tvm.nd.array(x, ctx) for x in np_arrays]
        mod(*tvm_arrays)
        actual = [x.numpy() for x in tvm_arrays]

        tvm_arrays = [tvm.nd.array(x) for x in np_arrays]
        mod_ref(*tvm_arrays)
        expected = [x.numpy() for x in tvm_arrays]

        for x, y in zip(actual, expected):
            tvm.testing.assert_allclose(x, y, rtol=1e-5)


@tvm.testing.requires_llvm
def test_sketch_search_policy_basic():
    search_common()


@tvm.testing.requires_llvm
def test_sketch_search_policy_zero_rank():
    measure_ctx = auto_scheduler.LocalRPCMeasureContext()
    for target in ["llvm", CUDA]:
        task = auto_scheduler.SearchTask(
            func=zero_rank_compute_auto_scheduler_test, args=(10,), target=target
        )
        search_common(task, runner=measure_ctx.runner)

        task = auto_scheduler.SearchTask(
            func=zero_rank_reduce_auto_scheduler_test, args=(10,), target=target
        )
        search_common(task, runner=measure_ctx.runner)


def test_auto_scheduler_utils_get_const_tuple():
    """tensorlang's: the import this file's TVM original makes at its top."""
    from tensorlang.autoschedule.utils import get_const_tuple as tvm_get_const_tuple

    assert tvm_get_const_tuple(auto_scheduler.SearchTask(
        func=matmul_auto_scheduler_test, args=(N, N, N), target="llvm").compute_dag.tensors[0].shape) == (N, N)
