"""Measurement: every way a candidate can fail becomes an error result and the batch goes on."""

from __future__ import annotations

import ctypes
import gc
import io
import os
import statistics
import time

import numpy as np
import pytest

from tensorlang import autotune, te
from tensorlang.autotune import callback, record
from tensorlang.autotune.measure import (
    ExecutorError,
    LocalBuilder,
    LocalRunner,
    MeasureErrorNo,
    MeasureInput,
    MeasureOptionError,
    create_measure_batch,
    measure_option,
    run_isolated,
)
from tensorlang.autotune.measure.local import compare

from . import templates

SYMBOLIC = "test/symbolic-shape"
SLOW_BUILD = "test/slow-build"


@autotune.template(SYMBOLIC)
def _symbolic(tag: str):
    """A template whose tensors have a symbolic size: it builds, but cannot be given test data."""
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    autotune.get_config().define_knob("unused", [0, 1])
    return te.create_schedule(B.op), [A, B]


@autotune.template(SLOW_BUILD)
def _slow_build(n: int):
    """A template that takes a minute to instantiate when its knob says so."""
    cfg = autotune.get_config()
    cfg.define_knob("sleep", [0, 60])
    if cfg["sleep"].val:
        time.sleep(cfg["sleep"].val)
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    return te.create_schedule(B.op), [A, B]


TEMPLATE_EXITS = "test/template-exits"


@autotune.template(TEMPLATE_EXITS)
def _template_exits(n: int):
    """A template whose own code ends the process, as its knob says."""
    cfg = autotune.get_config()
    cfg.define_knob("how", ["sys.exit", "os._exit", "segfault"])
    if not isinstance(cfg, autotune.space.ConfigSpace):
        if cfg["how"].val == "sys.exit":
            raise SystemExit(3)
        if cfg["how"].val == "os._exit":
            os._exit(4)
        ctypes.string_at(1)  # read address 1: SIGSEGV
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    return te.create_schedule(B.op), [A, B]


def test_a_template_that_ends_its_process_is_an_instantiation_error_not_a_compiler_crash():
    task = autotune.task.create(TEMPLATE_EXITS, (16,), "llvm")
    builder = LocalBuilder(timeout=10.0)
    results = builder.build(task, list(task.config_space))
    assert [r.error_no for r in results] == [MeasureErrorNo.INSTANTIATION_ERROR] * 3
    assert "sys.exit(3)" in results[0].error_msg
    assert "template crashed" in results[1].error_msg and "exit code 4" in results[1].error_msg
    assert "template crashed" in results[2].error_msg and "SIGSEGV" in results[2].error_msg
    assert os.listdir(builder.build_dir) == []  # no marker left behind


def _inputs(task, configs):
    return [MeasureInput(task.target, task, cfg) for cfg in configs]


@pytest.fixture(scope="module")
def faulty_batch():
    """Every mode of test/faulty measured in ONE batch with 3 s timeouts."""
    task = autotune.task.create(templates.FAULTY, (64,), "llvm")
    builder = LocalBuilder(timeout=3.0)
    option = measure_option(builder=builder, runner=LocalRunner(number=2, repeat=2, timeout=3.0))
    inputs = _inputs(task, list(task.config_space))
    start = time.perf_counter()
    results = create_measure_batch(task, option)(inputs)
    return task, builder, inputs, results, time.perf_counter() - start


def test_every_failure_mode_is_a_result(faulty_batch):
    task, _, inputs, results, wall = faulty_batch
    by_mode = {inp.config["mode"].val: res for inp, res in zip(inputs, results)}
    assert set(by_mode) == set(templates.FAULTY_MODES)
    expected = {"ok": MeasureErrorNo.NO_ERROR, "raise": MeasureErrorNo.INSTANTIATION_ERROR,
                "nocompile": MeasureErrorNo.COMPILE_HOST, "segfault": MeasureErrorNo.RUNTIME_DEVICE,
                "hang": MeasureErrorNo.RUN_TIMEOUT, "wrong": MeasureErrorNo.WRONG_ANSWER}
    assert {m: r.error_no for m, r in by_mode.items()} == expected
    ok = by_mode["ok"]
    assert len(ok.costs) == 2 and all(c > 0 for c in ok.costs) and ok.error_msg == ""
    assert "rejects this config" in by_mode["raise"].error_msg
    assert "threadIdx.x" in by_mode["nocompile"].error_msg
    assert "SIGSEGV" in by_mode["segfault"].error_msg or "SIGBUS" in by_mode["segfault"].error_msg
    assert "timeout" in by_mode["hang"].error_msg
    wrong = by_mode["wrong"].error_msg
    assert "output B" in wrong and "max abs error 1" in wrong
    # The hang costs one timeout; everything else is quick.
    assert wall < 15.0


def test_batch_fills_times_and_removes_libraries(faulty_batch):
    _, builder, inputs, results, _ = faulty_batch
    before = time.time()
    for inp, res in zip(inputs, results):
        assert res.timestamp <= before and res.timestamp > before - 60
        assert res.all_cost == pytest.approx(res.build_time + res.run_time)
        assert res.build_time > 0
        if res.error_no in (MeasureErrorNo.INSTANTIATION_ERROR, MeasureErrorNo.COMPILE_HOST):
            assert res.run_time == 0
        else:
            assert res.run_time > 0
    hang = next(r for i, r in zip(inputs, results) if i.config["mode"].val == "hang")
    assert 3.0 <= hang.run_time < 5.0
    assert os.listdir(builder.build_dir) == []


def test_log_and_progress_callbacks(faulty_batch, tmp_path):
    task, _, inputs, results, _ = faulty_batch

    class Tuner:  # what the callbacks read from a tuner
        def __init__(self):
            self.task, self.best_flops, self.best_config = task, 0.0, None

    log = tmp_path / "logs" / "faulty.json"
    out = io.StringIO()
    log_cb, bar = callback.log_to_file(log), callback.progress_bar(len(inputs), prefix="faulty ", file=out)
    for cb in (log_cb, bar):
        cb(Tuner(), inputs, results)
    loaded = list(record.load_from_file(log))
    assert [r.error_no for _, r in loaded] == [r.error_no for r in results]
    assert [i.config.index for i, _ in loaded] == [i.config.index for i in inputs]
    text = out.getvalue()
    assert text.count("\n") == 1 and text.startswith("faulty [6/6]") and "errors 5" in text


def test_progress_bar_lines_and_tty():
    class FakeTuner:
        task = type("T", (), {"flop": 2e9})()
        best_flops, best_config = 0.0, None

    ok = autotune.MeasureResult((0.5, 0.5), MeasureErrorNo.NO_ERROR)
    bad = autotune.MeasureResult((), MeasureErrorNo.WRONG_ANSWER, error_msg="x")
    out = io.StringIO()
    bar = callback.progress_bar(100, file=out)
    for _ in range(50):
        bar(FakeTuner(), [None, None], [ok, bad])
    lines = out.getvalue().splitlines()
    assert len(lines) == 10  # one every 10 trials of 100, the last at the end
    assert "[100/100]" in lines[-1] and "best      4.00 GFLOPS" in lines[-1] and "errors 50" in lines[-1]

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = callback.progress_bar(4, file=tty)
    bar(FakeTuner(), [None, None], [ok, ok])
    bar(FakeTuner(), [None, None], [ok, bad])
    assert tty.getvalue().count("\r") == 2 and tty.getvalue().endswith("s\n")


def test_matmul_candidates_are_correct_and_timed():
    task = autotune.task.create(templates.MATMUL, (32, 48, 64), "llvm")
    configs = [task.config_space.get(i) for i in range(0, len(task.config_space), len(task.config_space) // 5)]
    runner = LocalRunner(number=2, repeat=3, timeout=5.0)
    results = create_measure_batch(task, measure_option(LocalBuilder(n_parallel=2), runner))(_inputs(task, configs))
    assert all(r.ok for r in results), [r.error_msg for r in results]
    assert all(len(r.costs) == 3 and min(r.costs) > 0 for r in results)
    # The reference was made once and is reused by the next batch.
    assert len(runner._refs) == 1


def test_built_libraries_outlive_an_unnamed_builder_and_a_logged_input_is_refused_by_name(tmp_path):
    """As in TVM, ``LocalBuilder().build(inputs)`` with no name kept for the builder still gives
    libraries a runner can run (checked against the reference); an input read back from a log
    holds only a reference to its task, and building it says so instead of failing in a child."""
    task = autotune.task.create(templates.MATMUL, (16, 16, 16), "llvm")
    inputs = _inputs(task, [task.config_space.get(i) for i in (0, len(task.config_space) - 1)])
    builds = LocalBuilder(n_parallel=2).build(inputs)
    gc.collect()
    assert all(os.path.exists(b.filename) for b in builds)
    results = LocalRunner(number=1, repeat=2, timeout=5.0).run(inputs, builds)
    assert all(r.ok and min(r.costs) > 0 for r in results), [r.error_msg for r in results]
    log = tmp_path / "log.json"
    record.append(log, zip(inputs, results))
    logged = [inp for inp, _ in record.load_from_file(log)]
    with pytest.raises(MeasureOptionError, match=r"test/matmul\(16, 16, 16\).*from a tuning log"):
        LocalBuilder().build(logged)


def test_cache_flush_and_unchecked_runs():
    task = autotune.task.create(templates.FAULTY, (64,), "llvm")
    ok, wrong = task.config_space.get(0), task.config_space.get(5)
    assert wrong["mode"].val == "wrong"
    flush = LocalRunner(number=1, repeat=2, enable_cpu_cache_flush=True, check_correctness=False)
    results = create_measure_batch(task, measure_option(LocalBuilder(), flush))(_inputs(task, [ok, wrong]))
    # Unchecked, the wrong candidate is only timed.
    assert [r.error_no for r in results] == [MeasureErrorNo.NO_ERROR] * 2
    assert all(len(r.costs) == 2 for r in results)


def test_reference_failure_is_an_error_result_for_every_candidate():
    task = autotune.task.create(SYMBOLIC, ("x",), "llvm")
    results = create_measure_batch(task, measure_option(LocalBuilder(), LocalRunner()))(
        _inputs(task, list(task.config_space)))
    assert [r.error_no for r in results] == [MeasureErrorNo.RUNTIME_DEVICE] * 2
    assert all("symbolic shape" in r.error_msg for r in results)


def test_build_timeout():
    task = autotune.task.create(SLOW_BUILD, (8,), "llvm")
    # 3 s: the quick candidate must build within it on a loaded machine (it missed 0.5 s under load 9)
    builder = LocalBuilder(timeout=3.0)
    start = time.perf_counter()
    results = create_measure_batch(task, measure_option(builder, LocalRunner()))(
        _inputs(task, list(task.config_space)))
    assert time.perf_counter() - start < 20.0  # not the 60 s the slow candidate sleeps
    assert [r.error_no for r in results] == [MeasureErrorNo.NO_ERROR, MeasureErrorNo.BUILD_TIMEOUT]
    assert "3 s" in results[1].error_msg
    assert os.listdir(builder.build_dir) == []


def test_memory_limit():
    task = autotune.task.create(templates.MATMUL, (64, 64, 64), "llvm")
    option = measure_option(LocalBuilder(), LocalRunner(number=1, repeat=1, memory_limit_mb=256,
                                                        enable_cpu_cache_flush=True))
    (res,) = create_measure_batch(task, option)(_inputs(task, [task.config_space.get(0)]))
    assert res.ok, res.error_msg
    outcome = run_isolated(_job, [("memory",)], memory_limit_mb=64)[0]
    assert outcome.error_type == "MemoryError"


def _job(kind: str):
    if kind == "ok":
        return {"pid": os.getpid()}
    if kind == "raise":
        raise ValueError("bad value")
    if kind == "segv":
        ctypes.string_at(1)  # read address 1
    if kind == "hang":
        time.sleep(60)
    if kind == "memory":
        return int(np.ones(2**30, dtype=np.uint8).sum())  # 1 GiB
    if kind == "exit":
        os._exit(3)
    if kind == "unpicklable":
        return lambda: None
    raise AssertionError(kind)


def test_executor_outcomes_in_order():
    kinds = ["ok", "raise", "segv", "hang", "memory", "exit", "unpicklable", "ok"]
    start = time.perf_counter()
    outcomes = run_isolated(_job, [(k,) for k in kinds], n_parallel=2, timeout=1.0, memory_limit_mb=256)
    assert time.perf_counter() - start < 8.0  # the hang costs one 1 s timeout
    got = [(o.status, o.error_type) for o in outcomes]
    assert got[:6] + got[7:] == [("ok", ""), ("error", "ValueError"), ("crash", "SIGSEGV"), ("timeout", ""),
                                 ("error", "MemoryError"), ("crash", "exit code 3"), ("ok", "")]
    assert outcomes[6].status == "error" and "cannot send the result back" in outcomes[6].message
    assert outcomes[0].value["pid"] != os.getpid()
    assert "bad value" in outcomes[1].message and "_job" in outcomes[1].message  # traceback tail


def test_persistent_worker_survives_nothing_a_job_does_and_is_replaced():
    """One long-lived child answers job after job; a job that raises, crashes, hangs or exits
    ends that child only (its outcome says how), and the next job gets a fresh one."""
    from tensorlang.autotune.measure.executor import Worker

    worker = Worker(max_jobs=3)
    first = worker.call(_job, ("ok",), timeout=5.0)
    again = worker.call(_job, ("ok",), timeout=5.0)
    assert first.ok and again.ok and first.value["pid"] == again.value["pid"] != os.getpid()
    assert worker.started == 1
    start = time.perf_counter()
    got = [worker.call(_job, (k,), timeout=1.0) for k in ("raise", "segv", "hang", "exit", "unpicklable")]
    assert time.perf_counter() - start < 8.0  # the hang costs one 1 s timeout
    assert [(o.status, o.error_type) for o in got[:4]] == [("error", "ValueError"), ("crash", "SIGSEGV"),
                                                          ("timeout", ""), ("crash", "exit code 3")]
    assert got[4].status == "error" and "cannot send the result back" in got[4].message
    assert "bad value" in got[0].message and "_job" in got[0].message
    after = [worker.call(_job, ("ok",), timeout=5.0) for _ in range(4)]
    assert all(o.ok for o in after)
    pids = [o.value["pid"] for o in after]
    assert pids[0] == pids[1] == pids[2] != first.value["pid"] and pids[3] != pids[2]  # max_jobs=3
    assert worker.started == 7  # 1 (ok, ok, raise), segv, hang, exit, unpicklable, 3 oks, 1 ok
    pid = worker.pid
    worker.retire()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_persistent_worker_leaves_when_its_parent_is_killed(tmp_path):
    """A tuning process killed with SIGKILL cannot stop its long-lived child: the child sees its
    pipe close and leaves by itself (no orphan left measuring or waiting forever)."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text("import os, sys, time\n"
                      "from tensorlang.autotune.measure.executor import Worker\n"
                      "w = Worker()\n"
                      "print(w.call(os.getpid, (), timeout=30.0).value, flush=True)\n"
                      "time.sleep(60)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=root))
    child = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the long-lived child outlived its killed parent")


def test_runner_replaces_its_worker_after_failed_candidates(faulty_batch):
    task, _, inputs, results, _ = faulty_batch
    # The first child runs ok and dies with segfault; the second runs ok and wrong (which retires
    # it: a wrong candidate may have written anywhere); the third runs the last two.
    runner = LocalRunner(number=1, repeat=2, timeout=3.0)
    option = measure_option(LocalBuilder(timeout=3.0), runner)
    by_mode = {inp.config["mode"].val: inp for inp in inputs}
    batch = [by_mode[m] for m in ("ok", "segfault", "ok", "wrong", "ok", "ok")]
    got = create_measure_batch(task, option)(batch)
    assert [r.error_no for r in got] == [MeasureErrorNo.NO_ERROR, MeasureErrorNo.RUNTIME_DEVICE,
                                         MeasureErrorNo.NO_ERROR, MeasureErrorNo.WRONG_ANSWER,
                                         MeasureErrorNo.NO_ERROR, MeasureErrorNo.NO_ERROR]
    assert runner._worker.started == 3
    # The run's close ends the last child.
    pid = runner._worker.pid
    runner.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_bad_options_are_user_errors():
    with pytest.raises(ExecutorError):
        run_isolated(_job, [("ok",)], n_parallel=0)
    with pytest.raises(MeasureOptionError):
        LocalRunner(number=0)
    with pytest.raises(MeasureOptionError):
        LocalRunner(timeout=-1)
    with pytest.raises(MeasureOptionError):
        LocalBuilder(n_parallel=0)
    with pytest.raises(MeasureOptionError):
        measure_option(builder=object())


@pytest.mark.parametrize("timeout", [float("inf"), 1e300, float("nan")])
def test_timeouts_must_be_finite(timeout):
    """inf or 1e300 seconds would overflow the wait for a child (OverflowError mid-run)."""
    from tensorlang.autotune.measure.executor import Worker
    for make in (LocalBuilder, LocalRunner):
        with pytest.raises(MeasureOptionError, match=f"{make.__name__} timeout must be a"):
            make(timeout=timeout)
    with pytest.raises(ExecutorError, match="timeout must be a finite number of seconds"):
        run_isolated(_job, [("ok",)], timeout=timeout)
    with pytest.raises(ExecutorError, match="timeout must be a finite number of seconds"):
        Worker().call(_job, ("ok",), timeout=timeout)
    assert LocalRunner(timeout=86400).timeout == 86400.0  # a day is allowed


@pytest.mark.parametrize("dtype,delta,ok", [
    ("float32", 5e-4, True), ("float32", 5e-2, False), ("float16", 5e-3, True), ("float16", 5e-2, False),
    ("float64", 1e-10, True), ("float64", 1e-6, False), ("int32", 0, True), ("int32", 1, False),
])
def test_compare_is_dtype_aware(dtype, delta, ok):
    expected = np.linspace(-1, 1, 12).astype(dtype) if "float" in dtype else np.arange(12, dtype=dtype)
    got = expected.copy()
    got[7] = got[7] + np.asarray(delta).astype(dtype)
    msg = compare("C", got, expected)
    assert (msg == "") == ok
    if not ok:
        assert "output C" in msg and "index (7,)" in msg


def test_compare_scales_atol_and_flags_unwritten():
    expected = np.array([1000.0, 0.0], dtype="float32")
    assert compare("C", expected + np.float32(0.5), expected) == ""  # atol = 1e-3 * 1000
    unwritten = expected.copy()
    unwritten[1] = np.nan
    assert "max abs error inf at index (1,)" in compare("C", unwritten, expected)


# --- how many repeats, and which binaries are checked ------------------------------------------------

def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_adaptive_repeats_cut_losers_and_extend_noisy_candidates():
    from tensorlang.autotune.measure.timing import AdaptiveRepeats, time_repeats

    # Exactly `repeat` without a policy (TVM's contract).
    assert len(time_repeats(lambda: _busy(0.002), 1, 3, warm_up=False).costs) == 3
    # A first repeat past the cutoff: that one repeat, no more (the candidate cannot lead).
    cut = time_repeats(lambda: _busy(0.002), 1, 3, warm_up=False, adaptive=AdaptiveRepeats(cutoff=0.001))
    assert len(cut.costs) == 1 and cut.costs[0] >= 0.002
    # Repeats that disagree (1 ms, 4 ms, 1 ms, ...): more, up to max_repeat.
    duration = [0.001]

    def by_repeat(r: int) -> None:  # a retried repeat keeps its duration
        duration[0] = 0.004 if r % 2 else 0.001

    noisy = time_repeats(lambda: _busy(duration[0]), 1, 3, warm_up=False, before_repeat=by_repeat,
                         adaptive=AdaptiveRepeats(noisy=0.05, max_repeat=6))
    assert len(noisy.costs) == 6
    # Steady ones under the cutoff: `repeat` (a tolerance wide enough for a loaded machine).
    steady = time_repeats(lambda: _busy(0.002), 1, 3, warm_up=False,
                          adaptive=AdaptiveRepeats(cutoff=1.0, noisy=10.0, max_repeat=6))
    assert len(steady.costs) == 3


def test_a_long_enough_first_call_replaces_the_calibrating_repeat():
    """The check's call tells how long a call takes: when ``number`` such calls outlast
    ``min_repeat_ms`` no calibrating repeat runs (2 calls fewer a candidate); a short first
    call still calibrates, so every repeat lasts ``min_repeat_ms``."""
    from tensorlang.autotune.measure.timing import time_repeats

    calls = [0]

    def call() -> None:
        calls[0] += 1
        _busy(0.004)

    # 2 calls of 4 ms outlast 1.5 x 5 ms: the 3 repeats alone (no retries: the machine may be busy).
    timings = time_repeats(call, 2, 3, min_repeat_ms=5.0, warm_up=False, first_call=0.004, max_retries=0)
    assert calls[0] == 6 and len(timings.costs) == 3
    # Without the hint (or with too short a first call) a calibrating repeat comes first, and
    # it grows number until a repeat lasts 20 ms (how many calls that takes depends on the load).
    for hint in (None, 0.004):
        calls[0] = 0
        starts: list[tuple[int, int, float]] = []  # (repeat, calls so far, when) before each repeat
        timings = time_repeats(call, 2, 3, min_repeat_ms=20.0, warm_up=False, first_call=hint, max_retries=0,
                               before_repeat=lambda r: starts.append((r, calls[0], time.perf_counter())))
        starts.append((3, calls[0], time.perf_counter()))
        assert starts[0][0] == -1 and [r for r, _, _ in starts[-4:]] == [0, 1, 2, 3]
        assert len(timings.costs) == 3
        for (_, n0, t0), (_, n1, t1) in zip(starts[-4:], starts[-3:]):
            assert n1 - n0 >= 2 and t1 - t0 >= 0.020


def test_runner_checks_each_binary_once_and_cuts_slow_candidates(monkeypatch):
    """A library already checked against the reference (same bytes) is only timed when it is
    measured again; with adaptive_repeats a candidate far slower than the runner's fastest gets
    one repeat, and correct results either way."""
    from tensorlang.autotune.measure import local

    seen = []
    real = local.Worker.call

    def spy(self, fn, args, timeout):
        if fn is local._run_one:
            seen.append(args[2])
        return real(self, fn, args, timeout)

    monkeypatch.setattr(local.Worker, "call", spy)
    task = autotune.task.create(templates.MATMUL, (32, 48, 64), "llvm")
    configs = [task.config_space.get(i) for i in (0, 7)]
    builder = LocalBuilder(n_parallel=2)
    runner = LocalRunner(number=1, repeat=3, adaptive_repeats=True)
    builds = builder.build(task, configs)
    first = runner.run(task, builds)
    again = runner.run(task, builds)
    assert all(r.ok for r in first + again), [r.error_msg for r in first + again]
    assert [s.check for s in seen] == [True, True, False, False]
    assert 3 <= len(first[0].costs) <= 6  # the first candidate had no one to lose to
    assert all(1 <= len(r.costs) <= 6 for r in first + again)
    # Against a (pretend) far faster best, every candidate stops after one repeat.
    runner._fastest[(task.workload_key, task.target)] = 1e-9
    cut = runner.run(task, builds)
    assert all(r.ok and len(r.costs) == 1 for r in cut)
    assert all(s.adaptive.cutoff == pytest.approx(1.5e-9) for s in seen[-2:])
    # A wrong binary is never marked checked: it fails every time.
    faulty = autotune.task.create(templates.FAULTY, (64,), "llvm")
    wrong = faulty.config_space.get(5)
    assert wrong["mode"].val == "wrong"
    wrong_build = builder.build(faulty, [wrong])
    assert [r.error_no for r in runner.run(faulty, wrong_build * 2)] == [MeasureErrorNo.WRONG_ANSWER] * 2


def test_a_candidate_short_of_threads_is_measured_again_in_a_fresh_child(monkeypatch):
    """When a CPU candidate ran on well under the threads the task's candidates have run on (its
    child's CPU time / wall time), it is measured once more in a fresh child and the measurement
    that had more threads counts; a candidate that had its threads is measured once."""
    from dataclasses import replace as dc_replace

    from tensorlang.autotune.measure import local

    again = []
    real = local.run_isolated
    boost = {"parallelism": None}

    def spy(fn, jobs, **kw):
        outs = real(fn, jobs, **kw)
        if fn is local._run_one:
            again.append(jobs[0][2].check)
            if boost["parallelism"] is not None:  # pretend the fresh child had more threads
                err, t = outs[0].value
                # a tenth of the time: which reading counted shows even on a machine loaded enough
                # to move a kernel's time by 2x between runs
                outs[0] = dc_replace(outs[0], value=(err, local._CpuTimings(tuple(c / 10 for c in t.costs),
                                                                            boost["parallelism"])))
        return outs

    monkeypatch.setattr(local, "run_isolated", spy)
    # Serial candidates (the template's outer loop is parallel: one thread, or a loaded machine
    # decides how many threads they get), in repeats of several calls: CPU time / wall time is only
    # read from repeats of 1 ms or more, and one call of the faster config sits near that line.
    monkeypatch.setenv("TENSORLANG_NUM_THREADS", "1")
    task = autotune.task.create(templates.MATMUL, (256, 256, 256), "llvm")
    key = (task.workload_key, task.target)
    builder = LocalBuilder(n_parallel=2)  # its folder holds the libraries while it lives
    builds = builder.build(task, [task.config_space.get(i) for i in (0, 7)])
    runner = LocalRunner(number=4, repeat=3)
    first = runner.run(task, builds)  # about one thread each, nothing to compare with
    assert all(r.ok for r in first) and again == []
    assert 0.5 < runner._parallelism[key] < 1.5
    # As if earlier candidates of the task had run on two threads: these two are short of threads.
    runner._parallelism[key] = 2.0
    kept = runner.run(task, builds)
    assert again == [False, False]  # re-measured, unchecked (the binaries passed the check already)
    assert all(r.ok and len(r.costs) == 3 for r in kept)
    boost["parallelism"] = 1.9
    better = runner.run(task, builds)
    assert len(again) == 4 and all(r.ok for r in better)
    # The fresh children's figures (cut by the pretend) were taken: they had the threads.
    assert all(max(b.costs) < min(k.costs) for b, k in zip(better, kept)) or \
        all(statistics.median(b.costs) < statistics.median(k.costs) for b, k in zip(better, kept))


@autotune.template("test/packed_by_knob")
def _packed_by_knob(M, N, K):
    """A dense whose pre-packed weight's shape follows the knob bn (TVM users pack offline)."""
    cfg = autotune.get_config()
    cfg.define_knob("bn", [4, 8, 16])
    bn = cfg["bn"].val
    A = te.placeholder((M, K), name="A")
    Bp = te.placeholder((N // bn, K, bn), name="B_packed")
    k = te.reduce_axis((0, K), name="k")
    C = te.compute((M, N), lambda i, j: te.sum(A[i, k] * Bp[j // bn, k, j % bn], axis=k), name="C")
    return te.create_schedule(C.op), [A, Bp, C]


def test_configs_whose_arguments_follow_a_knob_are_measured_on_their_own_shapes():
    """Each candidate runs on random data of its own argument shapes (unchecked: the reference
    has the fallback's shapes), as TVM measures them; the best then computes the product."""
    import tensorlang as tl
    task = autotune.task.create("test/packed_by_knob", args=(8, 64, 32), target="llvm")
    seen = []
    option = autotune.measure_option("local", autotune.LocalRunner(number=1, repeat=1))
    tuner = autotune.tuner.GridSearchTuner(task)
    tuner.tune(3, option, callbacks=[lambda t, i, ress: seen.extend(r.error_no for r in ress)])
    assert seen == [MeasureErrorNo.NO_ERROR] * 3
    rng = np.random.default_rng()
    a, b = rng.standard_normal((8, 32)).astype("float32"), rng.standard_normal((32, 64)).astype("float32")
    for bn in (4, 16):
        with autotune.ApplyConfig(task.config_space.get([4, 8, 16].index(bn))):
            s, args = _packed_by_knob(8, 64, 32)
        packed = np.ascontiguousarray(b.reshape(32, 64 // bn, bn).transpose(1, 0, 2))
        c = np.empty((8, 64), "float32")
        tl.build(s, args)(a, packed, c)
        np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
