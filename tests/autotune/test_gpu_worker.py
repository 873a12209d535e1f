"""The GPU measurement process model, proven with a fake driver that fails as the real one does:
CUDA initialized once per worker (one context for many trials), workers started with spawn,
a fresh worker after a sticky error, and the parent never touching the driver."""

import ctypes
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tensorlang import autotune, te
from tensorlang.autotune import MeasureErrorNo, MeasureInput
from tensorlang.autotune.measure.gpu_worker import GPUPool, GPUUnavailableError, GPUWorker, probe_gpu
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner, create_measure_batch

ROOT = Path(__file__).resolve().parents[2]
FAKE = "tests.fake_cuda_driver"


def fake_kernels(name, grid, block, args, memory):
    """``scale2`` and the tuned candidates of ``test_gpu/scale``: out[i] = 2 * in[i] for the
    grid's threads; a block of 64 threads reads out of bounds."""
    if name.startswith("candidate"):  # a tuned candidate: (A, B) of 4096 floats
        args = [*args, (None, 4096)]
    (_, src), (_, dst), (_, n) = args
    if block[0] == 64:
        return 700  # CUDA_ERROR_ILLEGAL_ADDRESS
    count = min(n, grid[0] * block[0])
    memory.view(dst, np.float32, count)[:] = 2 * memory.view(src, np.float32, count)
    return 0


def scale_job(data, block):
    """Runs in the worker: copy in, launch, copy out, time with events; (result, seconds, pid)."""
    from tensorlang.target.cuda.driver import cuda_device
    dev = cuda_device(0)
    n = data.size
    src, dst = dev.alloc(data.nbytes), dev.alloc(data.nbytes)
    dev.htod(src, data, data.nbytes)
    fn = dev.function(dev.load(b"fake cubin"), "scale2")
    start, end = dev.event(), dev.event()
    dev.record(start)
    dev.launch(fn, ((n + block - 1) // block, 1, 1), (block, 1, 1),
               [(ctypes.c_void_p, src), (ctypes.c_void_p, dst), (ctypes.c_int32, n)])
    dev.record(end)
    out = np.empty_like(data)
    dev.dtoh(out, dst, out.nbytes)
    dev.free(src)
    dev.free(dst)
    return out, dev.elapsed(start, end), os.getpid()


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    log = tmp_path / "driver.log"
    monkeypatch.setenv("TENSORLANG_CUDA_DRIVER", FAKE)
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_KERNELS", f"{__name__}:fake_kernels")
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return log


def _events(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    return [(int(pid), what) for pid, what in (line.split(" ", 1) for line in log.read_text().splitlines())]


def test_one_context_for_many_trials_and_a_fresh_worker_after_a_sticky_error(fake_env):
    rng = np.random.default_rng()
    worker = GPUWorker(0)
    try:
        info = worker.start()
        assert info.name == "Fake H200" and info.arch == "sm_90" and info.runtime == "cuda-python"
        pids = set()
        for block in (128, 256, 32):
            data = rng.standard_normal(1000).astype(np.float32)
            outcome = worker.call(scale_job, (data, block), timeout=30)
            assert outcome.ok, outcome.message
            out, seconds, pid = outcome.value
            np.testing.assert_array_equal(out, 2 * data)
            assert seconds > 0
            pids.add(pid)
        assert len(pids) == 1 and os.getpid() not in pids
        contexts = [pid for pid, what in _events(fake_env) if what == "context"]
        assert contexts == [next(iter(pids))]  # three trials, one context

        bad = worker.call(scale_job, (np.ones(100, np.float32), 64), timeout=30)
        assert bad.status == "error" and "CUDA_ERROR_ILLEGAL_ADDRESS" in bad.message
        assert "restarted" in bad.message
        data = rng.standard_normal(300).astype(np.float32)
        again = worker.call(scale_job, (data, 128), timeout=30)
        assert again.ok, again.message
        np.testing.assert_array_equal(again.value[0], 2 * data)
        assert again.value[2] not in pids and worker.restarts == 1
        events = _events(fake_env)
        assert len([e for e in events if e[1] == "context"]) == 2
        assert all(pid != os.getpid() for pid, _ in events)  # the parent never touched the driver
    finally:
        worker.close()


def test_no_device_is_one_clear_error(fake_env, monkeypatch):
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_DEVICES", "0")
    with pytest.raises(GPUUnavailableError) as err:
        probe_gpu(0, timeout=60)
    text = str(err.value)
    assert "\n" not in text and "no device" in text and "cuda -emulate" in text


def test_fake_driver_refuses_a_forked_child_as_the_real_one_does(fake_env):
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests import fake_cuda_driver as drv
        from tensorlang.target.cuda.driver import cuda_device
        from tensorlang.errors import TargetError
        dev = cuda_device(0)  # the parent initializes CUDA
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            raw = drv.cuInit(0)[0].name
            try:
                cuda_device(0).alloc(16)
                ours = "allowed"
            except TargetError as exc:
                ours = "refused" if "spawn" in str(exc) else str(exc)
            os.write(w, f"{{raw}} {{ours}}".encode())
            os._exit(0)
        os.waitpid(pid, 0)
        print(os.read(r, 200).decode())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["CUDA_ERROR_NOT_INITIALIZED", "refused"]


@autotune.template("test_gpu/scale")
def scale_template(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotune.get_config()
    cfg.define_knob("threads", [256, 128, 64])
    bx, tx = s[B].split(B.op.axis[0], factor=cfg["threads"].val)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B]


def test_tuning_measures_every_candidate_in_one_spawned_worker(fake_env, tmp_path, monkeypatch):
    """The whole path: NVRTC builds in forked children, a CUDA reference from the CPU, and the
    candidates loaded, checked and timed by the GPU worker; the one that faults is a runtime
    error and the worker after it is a new one."""
    monkeypatch.setenv("TENSORLANG_CACHE_DIR", str(tmp_path))
    task = autotune.task.create("test_gpu/scale", (4096,), "cuda -arch=sm_90")
    option = autotune.measure_option(builder=LocalBuilder(timeout=60, n_parallel=2),
                                     runner=LocalRunner(number=2, repeat=2, timeout=60))
    measure = create_measure_batch(task, option)
    try:
        results = measure([MeasureInput(task.target, task, task.config_space.get(i)) for i in (0, 1, 0, 2, 1)])
    finally:
        option.runner.gpu_pool().close()
    kinds = [r.error_no for r in results]
    ok = MeasureErrorNo.NO_ERROR
    assert kinds == [ok, ok, ok, MeasureErrorNo.RUNTIME_DEVICE, ok], [r.error_msg for r in results]
    assert "CUDA_ERROR_ILLEGAL_ADDRESS" in results[3].error_msg
    assert all(len(r.costs) == 2 and min(r.costs) > 0 for r in results if r.ok)
    assert all(r.device.kind == "gpu" and r.device.name == "Fake H200" and r.device.arch == ("sm_90",)
               for r in results)  # the device the worker measured on, for the log
    events = _events(fake_env)
    inits = [pid for pid, what in events if what == "init"]
    contexts = [pid for pid, what in events if what == "context"]
    assert len(contexts) == 2 and contexts == inits  # five trials, two workers, one context each
    assert os.getpid() not in inits  # neither the tuning parent nor a forked builder touched the driver
    launches = [pid for pid, what in events if what.startswith("launch candidate")]
    assert set(launches) == set(contexts)


def test_each_record_names_the_gpu_that_measured_it(fake_env, tmp_path, monkeypatch):
    """Two different GPUs: every log line carries the fingerprint (name, compute capability) of
    the device whose worker ran that trial, faulting trials included, as the Ray path does."""
    from tensorlang.autotune import record
    monkeypatch.setenv("TENSORLANG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_DEVICES", "2")
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_MODELS", "Fake H200:9.0,Fake A100:8.0")
    task = autotune.task.create("test_gpu/scale", (4096,), "cuda -arch=sm_90")
    option = autotune.measure_option(builder=LocalBuilder(timeout=60, n_parallel=2),
                                     runner=LocalRunner(number=1, repeat=1, timeout=60))
    option.runner.gpu_devices = (1, 0)
    measure = create_measure_batch(task, option)
    inputs = [MeasureInput(task.target, task, task.config_space.get(i)) for i in (0, 2, 1)]
    try:
        results = measure(inputs)
        devices = {w.ordinal: w.info for w in option.runner.gpu_pool().workers if w.info is not None}
    finally:
        option.runner.gpu_pool().close()
    log = tmp_path / "gpu.json"
    autotune.callback.log_to_file(str(log))(None, inputs, results)
    recs = list(record.load_from_file(str(log)))
    assert [r.error_no for _, r in recs] == [MeasureErrorNo.NO_ERROR, MeasureErrorNo.RUNTIME_DEVICE,
                                             MeasureErrorNo.NO_ERROR]
    models = {("Fake H200", ("sm_90",)), ("Fake A100", ("sm_80",))}
    seen = {(r.device.name, r.device.arch) for _, r in recs}
    assert all(r.device is not None and r.device.kind == "gpu" for _, r in recs)
    assert seen <= models and seen == {(i.name, (i.arch,)) for i in devices.values()}


def test_pool_spreads_jobs_over_devices_and_reports_the_device_that_ran_each(fake_env, monkeypatch):
    """One pool of two workers (each started with spawn) for both: ``run`` spreads the jobs over
    the devices, in order; ``run_on_devices`` names the device whose worker ran each job."""
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_DEVICES", "2")
    monkeypatch.setenv("TENSORLANG_FAKE_CUDA_MODELS", "Fake H200:9.0,Fake A100:8.0")
    pool = GPUPool([0, 1])
    try:
        assert [i.ordinal for i in pool.start()] == [0, 1]
        jobs = [(np.full(64, i, np.float32), 32) for i in range(4)]
        outcomes = pool.run(scale_job, jobs, timeout=30)
        assert all(o.ok for o in outcomes)
        for (data, _), o in zip(jobs, outcomes):
            np.testing.assert_array_equal(o.value[0], 2 * data)
        by_pid = {w.pid: w.info for w in pool.workers}
        jobs = [(np.full(64, i, np.float32), 32) for i in range(6)]
        for (data, _), (outcome, info) in zip(jobs, pool.run_on_devices(scale_job, jobs, timeout=30)):
            assert outcome.ok and info == by_pid[outcome.value[2]]
            np.testing.assert_array_equal(outcome.value[0], 2 * data)
        assert {(i.name, i.arch) for i in by_pid.values()} == {("Fake H200", "sm_90"), ("Fake A100", "sm_80")}
    finally:
        pool.close()
