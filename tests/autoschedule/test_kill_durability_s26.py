"""Found by a kill-and-resume campaign (session 26): a tuning process SIGKILLed in the middle of a
measured batch lost every trial that batch had already finished, because the batch was appended
to the log only once all of it was measured.  A resumed run then measured those configs again.
Each trial is now appended (one line, fsynced) as soon as it is measured, by the auto-scheduler
(``SearchTask.tune``, ``tune_tasks``, ``tensorlang tune --auto``) and, through ``log_to_file``,
by the template tuners.

The runs are killed at a deterministic point: a forked child counts the candidates its runner
finishes (``LocalRunner._result``, called once per measured candidate) and SIGKILLs itself when
the next one is done, before anything could log it.  A search resumed from a log that holds part
of its first batch (what such a kill now leaves) used to drop the rest of that batch."""

from __future__ import annotations

import json
import os
import signal
import traceback

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule, autotvm, te
from tensorlang.autoschedule import task as task_mod
from tensorlang.autoschedule.cost_model import XGBRankModel
from tensorlang.autoschedule.records import from_config
from tensorlang.autoschedule.search import SketchSearch
from tensorlang.autotune import record
from tensorlang.autotune.measure import local
from tensorlang.autotune.measure.measure import MeasureErrorNo, MeasureInput, MeasureResult


def _scale_add(n):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    return [A, B, te.compute((n, n), lambda i, j: A[i, j] * 3.0 - B[j, i], name="C")]


def _option(n_parallel: int):
    return autotvm.measure_option(builder=autotvm.LocalBuilder(n_parallel=n_parallel),
                                  runner=autotvm.LocalRunner(number=1, repeat=1))


def _killed_after(measured: int, run) -> int:
    """Run ``run()`` in a forked child that SIGKILLs itself once its runner has measured
    ``measured + 1`` candidates (the last of them unlogged: nothing could write it); the child's
    wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            real = local.LocalRunner._result
            count = [0]

            def counting(self, outcome, b):
                count[0] += 1
                if count[0] > measured:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(self, outcome, b)
            local.LocalRunner._result = counting
            run()
        except BaseException:  # noqa: BLE001 - shown, and the child still never returns into pytest
            traceback.print_exc()
        finally:
            os._exit(3)  # not killed: the run ended first
    _, status = os.waitpid(pid, 0)
    return status


def _lines(log) -> list[dict]:
    text = log.read_text() if log.exists() else ""
    assert not text or text.endswith("\n"), "the log ends mid-line"
    return [json.loads(line) for line in text.splitlines()]  # every line whole


def test_a_sigkill_mid_batch_keeps_the_trials_the_batch_finished_and_the_rerun_measures_the_rest(
        tmp_path, monkeypatch) -> None:
    task = autoschedule.SearchTask(_scale_add, (16,), "llvm", name="s26_kill_mid_batch")
    log = tmp_path / "add.json"

    option = _option(2)
    option.runner.reference(task)  # the test data, made once: the killed child and the rerun share it

    def tune():
        return task.tune(n_trials=2, log=str(log), measure_option=option, verbose=False, confirm_top=0,
                         search=SketchSearch(task, seed=0, cost_model=XGBRankModel(pretrained=None)))  # no XGBoost
    # One batch of two candidates; killed when the second one's result comes back.
    status = _killed_after(1, tune)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    first = _lines(log)
    assert len(first) == 1, f"{len(first)} trial(s) in the log; the killed batch had measured 1"
    # The same run again: it counts the logged trial and measures only the missing one.
    measured = []
    real = local.LocalRunner._result
    monkeypatch.setattr(local.LocalRunner, "_result",
                        lambda self, outcome, b: measured.append(1) or real(self, outcome, b))
    search = tune()
    assert len(measured) == 1 and search.trials_done == 2
    lines = _lines(log)
    assert len(lines) == 2 and lines[0] == first[0]
    assert lines[1]["config"]["index"] != first[0]["config"]["index"]  # no config measured twice
    s, args = task.apply_best(str(log))
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a, b = (rng.standard_normal((16, 16)).astype("float32") for _ in range(2))
    c = tl.nd.array(np.zeros((16, 16), "float32"))
    f(tl.nd.array(a), tl.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a * 3.0 - b.T, rtol=1e-5, atol=1e-5)


@autotvm.template("s26_kill_scale")
def _scale_template(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    cfg.define_split("tile", B.op.axis[0], num_outputs=2)
    cfg["tile"].apply(s, B, B.op.axis[0])
    return s, [A, B]


def test_a_template_tuner_logging_to_file_keeps_the_trials_of_a_killed_batch(tmp_path) -> None:
    task = autotvm.task.create("s26_kill_scale", (64,), "llvm")
    log = tmp_path / "scale.json"

    def tune():
        tuner = autotvm.tuner.GridSearchTuner(task)
        tuner.tune(n_trial=2, measure_option=_option(2), callbacks=[autotvm.callback.log_to_file(str(log))])
    # A batch of two (the builder's n_parallel), killed when the second result comes back.
    status = _killed_after(1, tune)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    lines = _lines(log)
    assert [d["config"]["index"] for d in lines] == [0], "the trial measured before the kill is not in the log"


def _ok(cost):
    return MeasureResult(costs=(cost,), error_no=MeasureErrorNo.NO_ERROR)


def test_a_ctrl_c_while_a_streamed_trial_is_logged_keeps_it_once_in_the_log_and_for_the_callbacks(
        tmp_path, monkeypatch) -> None:
    task = autoschedule.SearchTask(_scale_add, (16,), "llvm", name="s26_ctrl_c_stream")
    search = SketchSearch(task, seed=0, cost_model=XGBRankModel(pretrained=None))
    configs = search.next_batch(3)
    log = tmp_path / "stream.json"

    def measure_batch(inputs):
        raise AssertionError("a streaming measurement is taken one trial at a time")

    def stream(inputs):  # three results, one at a time
        for k, cost in enumerate((2e-6, 1e-6, 3e-6)):
            yield k, _ok(cost), True
    measure_batch.stream = stream
    real_append = record._append_lines
    appended = []

    def append_with_ctrl_c(path, lines):
        appended.append(path)
        if len(appended) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the second trial is written
        real_append(path, lines)
    monkeypatch.setattr(record, "_append_lines", append_with_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    seen = []
    try:
        with pytest.raises(KeyboardInterrupt):
            task_mod._measure(task, search, configs, str(log), measure_batch,
                              [lambda s, inputs, results: seen.extend(inp.config.index for inp in inputs)])
    finally:
        signal.signal(signal.SIGINT, previous)
    logged = [d["config"]["index"] for d in _lines(log)]
    # The interrupted trial is whole in the log, once, and the callbacks know it; the third never ran.
    assert logged == [c.index for c in configs[:2]] == seen
    resumed = SketchSearch(task, seed=0, cost_model=XGBRankModel(pretrained=None))
    assert task_mod.resume(resumed, str(log)) == 2
    assert [resumed.is_new(*from_config(c)) for c in configs] == [False, False, True]


def _mm(n):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    return [A, B, te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")]


def test_a_search_resumed_from_part_of_its_first_batch_proposes_the_rest_of_that_batch() -> None:
    # A run killed during its first batch now leaves the trials it finished in the log; the
    # resumed search used to go on as if the first batch were done and dropped the rest of it
    # (the register-tile seeds the prior likes best, which a search never stopped measures).
    task = autoschedule.SearchTask(_mm, (32,), "llvm", name="s26_first_batch")
    first = SketchSearch(task, seed=0, cost_model=XGBRankModel(pretrained=None)).next_batch(4)
    resumed = SketchSearch(task, seed=1, cost_model=XGBRankModel(pretrained=None))
    inputs = [MeasureInput(task.target, task, c) for c in first[:2]]
    resumed.update(inputs, [_ok(1e-5), _ok(2e-5)])  # what `resume` feeds it from the log
    again = {c.index for c in resumed.next_batch(4)}
    assert {c.index for c in first[2:]} <= again
    assert not again & {c.index for c in first[:2]}  # nothing measured is proposed again
