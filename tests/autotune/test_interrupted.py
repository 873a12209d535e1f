"""An interrupt (Ctrl-C, SIGTERM) in the middle of a measured batch: the trials the batch
finished before it are in the log, for the template tuner and the auto-scheduler, so that a
resumed run does not measure them again."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule, autotune, te
from tensorlang.autotune import callback
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner
from tensorlang.autotune.tuner import GridSearchTuner, XGBTuner

from . import tiny_tasks  # noqa: F401 - registers tiny/matmul


class _InterruptedRunner(LocalRunner):
    """Measures ``finish`` candidates, then Ctrl-C arrives while the next one is timed."""

    def __init__(self, finish: int) -> None:
        super().__init__(number=1, repeat=1, timeout=20)
        self.finish = finish
        self.seen = 0

    def _result(self, outcome, b):
        if self.seen == self.finish:
            raise KeyboardInterrupt
        self.seen += 1
        return super()._result(outcome, b)


def _trials(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_template_tuner_logs_the_trials_a_batch_finished_before_an_interrupt(tmp_path):
    task = autotune.task.create("tiny/matmul", (32, 32, 32), "llvm")
    log = tmp_path / "log.json"
    option = autotune.measure_option(builder=LocalBuilder(timeout=20, n_parallel=4), runner=_InterruptedRunner(3))
    tuner = GridSearchTuner(task)
    with pytest.raises(KeyboardInterrupt):
        tuner.tune(n_trial=8, measure_option=option, callbacks=[callback.log_to_file(str(log))])
    trials = _trials(log)
    assert len(trials) == 3  # of the first batch of 4: the three measured before the interrupt
    assert [t["config"]["index"] for t in trials] == [0, 1, 2]  # grid order
    assert all(t["result"]["error_no"] == 0 and t["result"]["costs"] for t in trials)
    # a resumed run measures the rest and builds the best correctly
    tuner = GridSearchTuner(task)
    tuner.load_history(autotune.record.load_from_file(str(log)))
    a, b = (np.random.default_rng().standard_normal((32, 32)).astype("float32") for _ in range(2))
    with autotune.apply_history_best(str(log)), tl.target.Target("llvm"):
        s, args = tiny_tasks.tiny_matmul(32, 32, 32)
    c = np.zeros((32, 32), "float32")
    tl.build(s, args)(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


class _InterruptedFit(XGBTuner):
    """Ctrl-C arrives while the tuner refits its cost model on a measured batch."""

    def update(self, inputs, results):
        raise KeyboardInterrupt


def test_template_tuner_logs_a_batch_before_refitting_its_model(tmp_path):
    """A Ctrl-C during the cost-model fit (seconds with xgboost) loses no measured trial: the log
    callback has the batch before the fit starts."""
    task = autotune.task.create("tiny/matmul", (32, 32, 32), "llvm")
    log = tmp_path / "log.json"
    option = autotune.measure_option(builder=LocalBuilder(timeout=20, n_parallel=4),
                                     runner=LocalRunner(number=1, repeat=1, timeout=20))
    tuner = _InterruptedFit(task, plan_size=4, seed=0)
    with pytest.raises(KeyboardInterrupt):
        tuner.tune(n_trial=8, measure_option=option, callbacks=[callback.log_to_file(str(log))])
    trials = _trials(log)
    assert len(trials) == 4 and all(t["result"]["error_no"] == 0 for t in trials)


def _softmax(n, m):
    X = te.placeholder((n, m), name="X")
    k = te.reduce_axis((0, m), name="k")
    mx = te.compute((n,), lambda i: te.max(X[i, k], axis=k), name="mx")
    return [X, te.compute((n, m), lambda i, j: te.exp(X[i, j] - mx[i]), name="E")]


def test_auto_scheduler_logs_the_trials_a_batch_finished_before_an_interrupt(tmp_path):
    task = autoschedule.SearchTask(_softmax, (16, 64), "llvm")
    log = tmp_path / "auto.json"
    option = autotune.measure_option(builder=LocalBuilder(timeout=20), runner=_InterruptedRunner(5))
    with pytest.raises(KeyboardInterrupt):
        task.tune(8, log=str(log), measure_option=option, seed=0, verbose=False)
    trials = _trials(log)
    assert len(trials) == 5
    assert all(t["result"]["error_no"] == 0 and t["result"]["costs"] for t in trials)
    # resumed: 5 already logged count toward the 8, and the best replays to a correct kernel
    task.tune(8, log=str(log), measure_option=autotune.measure_option(
        builder=LocalBuilder(timeout=20), runner=LocalRunner(number=1, repeat=1)), seed=0, verbose=False,
        confirm_top=0)
    assert len(_trials(log)) == 8
    s, args = task.apply_best(str(log))
    x = np.random.default_rng().standard_normal((16, 64)).astype("float32")
    out = np.zeros_like(x)
    tl.build(s, args)(x, out)
    np.testing.assert_allclose(out, np.exp(x - x.max(axis=1, keepdims=True)), rtol=1e-5)
