"""TVM 0.12's tests/python/unittest/test_autotvm_measure.py, as a TVM user's code reads after
``from tensorlang import autotvm`` (imports changed only; test names kept).  Its
test_task_tuner_without_measurement is test_autotvm_unit.py's; the ``_spawn`` variant (the same
in a spawned process, whose failure TVM's test would not even see) is left out for time.  Then
tensorlang's own checks that ``ref_input`` and a runner's ``executor`` really measure."""

import concurrent  # TVM's: concurrent.futures comes with autotvm.measure
import logging  # noqa: F401 - TVM's imports
import multiprocessing  # noqa: F401
from inspect import Signature

import numpy as np
from tensorlang.autotvm import measure
from tensorlang.autotvm.measure import executor  # noqa: F401
from tensorlang.autotvm.measure.measure import MeasureErrorNo, MeasureResult  # noqa: F401

import tensorlang as tvm
from tensorlang import autotvm, te  # noqa: F401
from tensorlang.testing.autotvm import DummyRunner, bad_matmul, get_sample_task  # noqa: F401


def test_task_runner_with_ref_input():
    """test runner ref_input without measurement"""
    refinp = [np.random.rand(128, 128) for i in range(3)]
    runner = measure.LocalRunner()
    runner.ref_input = refinp

    class DummyExecutor(measure.executor.Executor):
        def __init__(self):
            self.ran_dummy_executor = False

        def submit(self, func, *args, **kwargs):
            self.ran_dummy_executor = True
            sig = Signature.from_callable(func)
            assert sig.bind(*args, **kwargs).arguments["ref_input"] == refinp
            dummy_future = concurrent.futures.Future()
            dummy_future.set_result(None)
            return dummy_future

    runner.executor = DummyExecutor()
    runner.run([None], [None])
    assert runner.executor.ran_dummy_executor


# --- tensorlang's own -----------------------------------------------------------------------------

_BUILDER = autotvm.LocalBuilder(n_parallel=1)  # kept: its libraries go with it


def _built(task, target, indices):
    inputs = [measure.MeasureInput(target, task, task.config_space.get(i)) for i in indices]
    return inputs, _BUILDER.build(inputs)


def test_ref_input_is_the_test_data_and_a_wrong_one_is_reported():
    rng = np.random.default_rng()
    task, target = get_sample_task(16)
    refinp = [rng.standard_normal((16, 16)) for _ in range(3)]
    runner = measure.LocalRunner(number=1, repeat=1)
    runner.ref_input = refinp
    ref = runner.reference(task)
    with np.load(ref.npz) as data:  # float64 arrays, converted to the arguments' float32
        np.testing.assert_array_equal(data["in1"], refinp[1].astype("float32"))
        expected = refinp[0].astype("float32") @ refinp[1].astype("float32")
        np.testing.assert_allclose(data["out2"], expected, rtol=1e-5, atol=1e-5)
    inputs, builds = _built(task, target, [3])
    assert [r.error_no for r in runner.run(inputs, builds)] == [MeasureErrorNo.NO_ERROR]
    # New arrays: new test data, under a new name (the measuring child keeps the last file it read).
    runner.ref_input = [rng.standard_normal((16, 16)).astype("float32") for _ in range(2)]
    again = runner.reference(task)
    assert again.npz != ref.npz
    with np.load(again.npz) as data:
        np.testing.assert_array_equal(data["in0"], runner.ref_input[0])
    assert [r.error_no for r in runner.run(inputs, builds)] == [MeasureErrorNo.NO_ERROR]
    runner.ref_input = [rng.standard_normal((3, 3))]
    (res,) = runner.run(inputs, builds)
    assert res.error_no == MeasureErrorNo.RUNTIME_DEVICE and "ref_input has 1 arrays" in res.error_msg


class _CountingPool(concurrent.futures.ThreadPoolExecutor):
    submitted = 0

    def submit(self, fn, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_executor_runs_each_candidate_and_checks_it():
    with _CountingPool(1) as pool:
        task, target = get_sample_task(16)
        runner = measure.LocalRunner(number=1, repeat=1)
        runner.executor = pool
        (res,) = runner.run(*_built(task, target, [5]))
        assert res.error_no == MeasureErrorNo.NO_ERROR and res.costs
        bad_target = tvm.target.Target("llvm -device=bad_device")
        bad = autotvm.task.create(bad_matmul, args=(16, 16, 16, "float32"), target=bad_target)
        runner = measure.LocalRunner(number=1, repeat=1)
        runner.executor = pool
        (res,) = runner.run(*_built(bad, bad_target, [2]))
        assert res.error_no == MeasureErrorNo.WRONG_ANSWER
        assert pool.submitted == 2
