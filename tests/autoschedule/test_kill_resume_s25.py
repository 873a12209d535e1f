"""Found by a kill-and-resume campaign on the template-free auto-scheduler (session 25): the stop
signals were not held while a tuning process with other threads wrote its trials, a Ctrl-C while a
measured batch was being logged lost the whole batch, and a log measured on another CPU model was
applied without a word (the template path refuses it), and `tune --auto` run again on a log whose
trials of a computation all failed exited 0 with "0 failed" (only the first run named it)."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule
from tensorlang.autoschedule import prior
from tensorlang.autoschedule import task as task_mod
from tensorlang.autoschedule.files import tasks_from_module
from tensorlang.autoschedule.records import from_config, to_config
from tensorlang.autoschedule.search import SketchSearch
from tensorlang.autotune import record
from tensorlang.autotune.fingerprint import DeviceFingerprint, cpu_fingerprint
from tensorlang.autotune.measure import interrupted
from tensorlang.autotune.measure.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.cli import load_file, main
from tensorlang.errors import TensorLangError
from tests.autoschedule.workloads import matmul


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt (as in a user's script or the command line), and another
    thread runs, as xgboost's OpenMP pool does in a tuning process once a model was fitted."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        yield
    finally:
        stop.set()
        other.join()
        signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_inside_a_held_block_waits_for_it_while_other_threads_run(ctrl_c_raises) -> None:
    # The kernel hands a signal sent to the process to a thread that does not block it; Python
    # then ran the handler in the main thread, inside the block that was meant to hold it.
    steps = []
    with pytest.raises(KeyboardInterrupt), interrupted.stop_signals_held():
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, sent to the process
        for k in range(20):
            time.sleep(0.001)  # the block's work: the trials finished before the interrupt, written
            steps.append(k)
    assert len(steps) == 20  # then the interrupt arrived, once the block was done


def _task():
    return autoschedule.SearchTask(matmul, (16, 16, 16), "llvm", name="s25_mm")


def _configs(task, n):
    """``n`` distinct candidates of the task's first sketch (random decisions: no search needed)."""
    rng = random.Random(0)
    sketch = task.sketches[0]
    found = {}
    while len(found) < n:
        config = to_config(sketch, prior.random_decisions(task.slots(sketch), rng), task.flop)
        found[config.index] = config
    return list(found.values())


def _ok(cost, device=None):
    return MeasureResult(costs=(cost, cost * 1.01, cost * 0.99), error_no=MeasureErrorNo.NO_ERROR,
                         timestamp=time.time(), device=device)


def test_a_ctrl_c_while_a_measured_batch_is_logged_keeps_the_whole_batch(tmp_path, monkeypatch,
                                                                         ctrl_c_raises) -> None:
    task = _task()
    search = SketchSearch(task, seed=0)
    configs = _configs(task, 3)
    log = tmp_path / "mm.json"
    real_append = record._append_lines

    def append_with_ctrl_c(path, lines):
        os.kill(os.getpid(), signal.SIGINT)  # arrives while the batch is being written
        real_append(path, lines)
    monkeypatch.setattr(record, "_append_lines", append_with_ctrl_c)

    def measured(inputs):  # the batch measured: what the builder and runner gave back
        return [_ok(1e-4 * (k + 1)) for k in range(len(inputs))]
    with pytest.raises(KeyboardInterrupt):
        task_mod._measure(task, search, configs, str(log), measured)
    monkeypatch.setattr(record, "_append_lines", real_append)
    # Every trial of the batch is in the log (the interrupt came after), so the resumed run
    # measures none of them again.
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [d["config"]["index"] for d in lines] == [c.index for c in configs]


def _other_cpu() -> DeviceFingerprint:
    here = cpu_fingerprint()
    return DeviceFingerprint("cpu", here.name + "-elsewhere", here.arch + ("avx512f",), here.versions,
                             model="another CPU", host="elsewhere")


def _check(task, log, **kw) -> None:
    s, args = task.apply_best(str(log), **kw)
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a = rng.standard_normal((16, 16)).astype("float32")
    b = rng.standard_normal((16, 16)).astype("float32")
    c = tl.nd.array(np.zeros((16, 16), "float32"))
    f(tl.nd.array(a), tl.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4, atol=1e-4)


def test_apply_best_does_not_apply_a_log_measured_on_another_cpu_silently(tmp_path) -> None:
    task = _task()
    mine, theirs = _configs(task, 2)
    log = tmp_path / "other_cpu.json"
    record.append(str(log), [(MeasureInput(task.target, task, theirs), _ok(1e-6, _other_cpu()))])
    with pytest.raises(TensorLangError, match="measured on cpu .*-elsewhere.*allow_other_device"):
        task.apply_best(str(log))
    _check(task, log, allow_other_device=True)  # asked for: applied
    # TVM's dispatch context follows the same rule, and says why it has nothing for the task
    with autoschedule.ApplyHistoryBest(str(log)):
        with pytest.warns(UserWarning, match="measured on cpu .*-elsewhere.*allow_other_device=True"):
            with pytest.raises(TensorLangError, match="no auto_scheduler dispatch context"):
                task.apply_best()
    with autoschedule.ApplyHistoryBest(str(log), allow_other_device=True):
        assert task.apply_best() is not None
    # This machine's record is used, however much faster the other CPU's was.
    record.append(str(log), [(MeasureInput(task.target, task, mine), _ok(1e-3))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert task_mod.best_config(task, str(log)).index == mine.index
        assert task_mod.best_config(task, str(log), allow_other_device=True).index == theirs.index
    _check(task, log)
    with autoschedule.ApplyHistoryBest(str(log)) as ctx:
        assert ctx.best(task.target, task.workload_key)[0].config.index == mine.index


def test_a_torn_last_line_is_skipped_with_one_warning_and_the_resume_counts_the_rest(tmp_path) -> None:
    task = _task()
    configs = _configs(task, 3)
    log = tmp_path / "torn.json"
    record.append(str(log), [(MeasureInput(task.target, task, c), _ok(1e-4 * (k + 1)))
                             for k, c in enumerate(configs)])
    text = log.read_text()
    log.write_text(text[:len(text) - len(text.splitlines()[-1]) // 2 - 1])  # killed mid-line
    search = SketchSearch(task, seed=0)
    with pytest.warns(UserWarning, match=r"skipped 1 invalid line .*line 3"):
        assert task_mod.resume(search, str(log)) == 2
    # The resumed search never proposes what the log holds; the torn trial it measures again.
    assert [search.is_new(*from_config(c)) for c in configs] == [False, False, True]
    # The next trial starts on a line of its own; the torn one stays skipped.
    record.append(str(log), [(MeasureInput(task.target, task, configs[2]), _ok(5e-5))])
    with pytest.warns(UserWarning, match="skipped 1 invalid line"):
        got = [inp.config.index for inp, _ in record.load_from_file(str(log))]
    assert got == [c.index for c in configs]
    with pytest.warns(UserWarning, match="skipped 1 invalid line"):
        assert task_mod.best_config(task, str(log)).index == configs[2].index


SEGFAULTS = """
from tensorlang import te

def segv(n):
    A = te.placeholder((n,), name="A")
    sig = te.call_extern("int32", "raise", te.const(11, "int32"))  # every kernel, the reference's too
    return [A, te.compute((n,), lambda i: te.if_then_else(A[i] < 1e30, sig.astype("float32"), A[i]), name="B")]

def computations():
    return {"s25_segv": (segv, (64,))}
"""


def test_tune_auto_run_again_names_a_computation_whose_logged_trials_all_failed(tmp_path, capsys) -> None:
    src = tmp_path / "segv.py"
    src.write_text(SEGFAULTS)
    log = tmp_path / "segv.json"
    task = tasks_from_module(load_file(str(src)), str(src), "llvm")[0]
    crashed = MeasureResult(costs=(record.ERROR_COST,), error_no=MeasureErrorNo.RUNTIME_DEVICE,
                            error_msg="the candidate crashed: SIGSEGV", timestamp=time.time())
    # What `tune --auto --trials 2` logged before it was killed (its summary said "no working
    # candidate" and it exits 1 when it gets there): the same command again has nothing to measure.
    record.append(str(log), [(MeasureInput(task.target, task, c), crashed) for c in _configs(task, 2)])
    assert main(["tune", "--auto", "--trials", "2", "--log", str(log), str(src)]) == 1
    out, err = capsys.readouterr()
    assert "auto/s25_segv(64,): no working candidate (runtime 2); the first error: the candidate crashed: SIGSEGV" \
        in err, err
    row = next(line for line in out.splitlines() if line.startswith("auto/s25_segv"))
    assert row.split()[1:4] == ["2", "2", "-"], row  # trials, failed, best
