"""Benchmark: tuning on Ray with 1, 2 and 4 local measuring workers, next to the local runner.

    python benchmarks/distributed.py [--trials 32] [--size 128] [--workers 1,2,4] [--kills 3]

Every trial is real (build, check against the reference, time).  Each Ray row starts its own
local cluster (``local:N``; the start-up and a warm-up batch are not counted in the rate) and tunes
the ``matmul`` example template with RandomTuner, so every row measures the same kind of
candidates.  Then, on a 2-worker cluster: measuring workers are SIGKILLed mid-batch and the
records that reached the log are counted (goal: every proposed trial has a record); the driver
process itself is SIGKILLed mid-run and resumed from its log; and two device classes are
simulated with labelled slots, each candidate measured on both, the best of each class shown
beside numpy's a @ b measured in the same run.  On a machine with fewer cores than workers the
workers share cores: the scaling column then says how much of N x the 1-worker rate is left.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import matmul  # noqa: E402,F401 - registers the template

from tensorlang import autotune  # noqa: E402
from tensorlang.autotune import callback, record  # noqa: E402
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner  # noqa: E402
from tensorlang.autotune.measure.ray import MEASURE_RESOURCE, RayBuilder, RayCluster, RayRunner  # noqa: E402
from tensorlang.autotune.tuner import RandomTuner  # noqa: E402

RUNNER = {"number": 2, "repeat": 3, "timeout": 10.0}


def _tune(task, option, trials: int, log: Path, seed: int, killer=None) -> tuple[float, int]:
    """(wall seconds, trials proposed) of one tuning run appending to ``log``."""
    tuner = RandomTuner(task, seed=seed)
    t0 = time.perf_counter()
    tuner.tune(trials, option, callbacks=[callback.log_to_file(log)])
    return time.perf_counter() - t0, len(tuner.visited)


def _load(log: Path) -> list:
    return list(record.load_from_file(log)) if log.exists() else []


def _killer(runner: RayRunner, every: float, count: int, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL a busy measuring worker every ``every`` seconds, ``count`` times."""
    while not stop.is_set() and len(killed) < count:
        time.sleep(every)
        busy = [w for w in list(runner.workers) if w.busy and w.pid and w.pid not in killed]
        if busy:
            killed.append(busy[0].pid)
            os.kill(busy[0].pid, signal.SIGKILL)


def _numpy_gflops(n: int) -> float:
    rng = np.random.default_rng()
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(20):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def _driver_kill(trials: int, size: int, tmp: Path) -> tuple[int, int, int, int]:
    """SIGKILL a `tensorlang tune --cluster local:2` driver mid-run, then rerun it: (records
    before the kill, invalid lines, records after the resume, distinct trials after)."""
    log = tmp / "driver.json"
    tasks_file = tmp / "bench_tasks.py"
    tasks_file.write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'examples')!r})\nimport matmul\n"
                          "from tensorlang import autotune\n\ndef tasks(target):\n"
                          f"    return [autotune.task.create('matmul', ({size}, {size}, {size}), target)]\n")
    ray_tmp = tempfile.mkdtemp(prefix="tlb", dir="/tmp")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TENSORLANG_RAY_TMPDIR": ray_tmp}
    cmd = [sys.executable, "-m", "tensorlang.cli", "tune", str(tasks_file), "--cluster", "local:2", "--tuner",
           "random", "--trials", str(trials), "--number", "2", "--log", str(log)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= trials // 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # Ray's helpers of that cluster outlive a killed driver
    except ProcessLookupError:
        pass
    lines = log.read_text().splitlines()
    bad = 0
    for line in lines:
        try:
            record.decode(line)
        except record.RecordError:
            bad += 1
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=True)
    after = log.read_text().splitlines()
    indices = {json.loads(line)["config"]["index"] for line in after}
    shutil.rmtree(ray_tmp, ignore_errors=True)
    return len(lines), bad, len(after), len(indices)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--kills", type=int, default=3, help="measuring workers SIGKILLed in the kill row")
    ap.add_argument("--no-driver-kill", action="store_true", help="skip the driver-kill row (two more clusters)")
    args = ap.parse_args()
    n = args.size
    task = autotune.task.create("matmul", (n, n, n, "float32"), "llvm")
    tmp = Path(tempfile.mkdtemp(prefix="tl-dist-bench-"))
    load0 = os.getloadavg()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    rows = []

    option = autotune.measure_option(builder=LocalBuilder(timeout=30), runner=LocalRunner(**RUNNER))
    _tune(task, option, 4, tmp / "warm-local.json", seed=9)  # warm up, as each Ray row does
    wall, proposed = _tune(task, option, args.trials, tmp / "local.json", seed=1)
    local_rate = 60 * proposed / wall
    rows.append(("local runner (LocalBuilder x2)", "-", "-", proposed, len(_load(tmp / "local.json")), wall))

    rate_1 = None
    kill_row = None
    for n_workers in [int(x) for x in args.workers.split(",")]:
        t0 = time.perf_counter()
        cluster = RayCluster(f"local:{n_workers}")
        runner = RayRunner(cluster, **RUNNER)
        builder = RayBuilder(cluster, timeout=30)
        runner.start()
        start = time.perf_counter() - t0
        try:
            # Warm up: every build worker and actor imports tensorlang and LLVM, and computes the
            # task's reference, once; the rows compare steady rates.
            _tune(task, autotune.measure_option(builder=builder, runner=runner), 2 * runner.n_parallel,
                  tmp / f"warm{n_workers}.json", seed=9)
            log = tmp / f"ray{n_workers}.json"
            wall, proposed = _tune(task, autotune.measure_option(builder=builder, runner=runner),
                                   args.trials, log, seed=1)
            rows.append((f"Ray, {n_workers} measuring worker(s)", n_workers, f"{start:.1f}", proposed,
                         len(_load(log)), wall))
            if n_workers == 1:
                rate_1 = 60 * proposed / wall
            if n_workers == 2:
                killed: list[int] = []
                stop = threading.Event()
                thread = threading.Thread(target=_killer, args=(runner, 0.5, args.kills, killed, stop), daemon=True)
                kill_log = tmp / "kill.json"
                thread.start()
                try:
                    wall_k, proposed_k = _tune(task, autotune.measure_option(builder=builder, runner=runner),
                                               args.trials, kill_log, seed=2)
                finally:
                    stop.set()
                    thread.join()
                recs = _load(kill_log)
                lost_twice = sum(1 for _, r in recs if "lost 2 times" in r.error_msg)
                kill_row = (len(killed), proposed_k, len(recs), proposed_k - len(recs), lost_twice, wall_k)
        finally:
            runner.close()
            cluster.close()

    # Two device classes on one machine: slots of the host CPU and slots labelled "b".
    cluster = RayCluster("local:1", resources={f"{MEASURE_RESOURCE}:b": 1})
    runner = RayRunner(cluster, device_class="all", **RUNNER)
    try:
        log = tmp / "classes.json"
        _tune(task, autotune.measure_option(builder=RayBuilder(cluster, timeout=30), runner=runner),
              max(8, args.trials // 2), log, seed=3)
        per_class = {k: len(ws) for k, ws in runner.classes().items()}
    finally:
        runner.close()
        cluster.close()
    records = _load(log)
    best = record.best_by_device(records)

    driver = None if args.no_driver_kill else _driver_kill(args.trials, n, tmp)
    np_gflops = _numpy_gflops(n)
    load1 = os.getloadavg()
    wall_all = time.perf_counter() - wall0

    print(f"\nRandomTuner on the matmul example {n}^3 float32, {args.trials} trials a row, "
          f"runner number={RUNNER['number']} repeat={RUNNER['repeat']}; {os.cpu_count()} CPUs")
    print(f"{'measurement':34} {'workers':>7} {'start s':>8} {'trials':>6} {'records':>7} {'wall s':>7} "
          f"{'trials/min':>10} {'x local':>8} {'x N*1-worker':>12}")
    for name, workers, start, proposed, recs, wall in rows:
        rate = 60 * proposed / wall
        scale = f"{rate / (workers * rate_1):12.2f}" if isinstance(workers, int) and rate_1 else f"{'-':>12}"
        print(f"{name:34} {workers!s:>7} {start:>8} {proposed:>6} {recs:>7} {wall:>7.1f} {rate:>10.1f} "
              f"{rate / local_rate:>8.2f} {scale}")
    builds = [r.build_time for _, r in _load(tmp / "local.json") if r.build_time > 0]
    if builds:
        cpus = len(os.sched_getaffinity(0))
        print(f"ceiling of this machine: {cpus} cores / {statistics.median(builds):.3f} s median build = "
              f"{60 * cpus / statistics.median(builds):.0f} builds/min, whatever the number of measuring workers")
    if kill_row is not None:
        k, proposed, recs, lost, twice, wall = kill_row
        print(f"\nkills, 2 workers: {k} measuring workers SIGKILLed mid-batch: {proposed} trials proposed, "
              f"{recs} records, {lost} lost (goal 0); {twice} recorded as errors after a second loss; "
              f"{60 * proposed / wall:.1f} trials/min")
    if driver is not None:
        before, bad, after, distinct = driver
        print(f"driver SIGKILLed mid-run (tensorlang tune --cluster local:2): {before} records on disk, {bad} "
              f"torn lines; after the resume {after} records, {distinct} distinct trials of {args.trials} "
              f"({args.trials - distinct} lost, goal 0)")
    print(f"\ntwo simulated device classes, every candidate measured on both ({len(records)} records):")
    print(f"{'device class':48} {'workers':>7} {'best ms':>9} {'GFLOPS':>8} {'x numpy':>8}  config")
    for (_, _, device), (inp, res) in sorted(best.items()):
        gf = task.flop / res.mean_cost / 1e9
        print(f"{res.device.describe()[:48]:48} {per_class.get(device, 0):>7} {res.mean_cost * 1e3:9.4f} "
              f"{gf:8.1f} {gf / np_gflops:8.2f}  {inp.config}")
    print(f"numpy a @ b {n}^3 in the same run: {np_gflops:.1f} GFLOPS")
    print(f"\nload average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end; this process used "
          f"{time.process_time() - cpu0:.0f} CPU s in {wall_all:.0f} s of wall time")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
