"""How long a candidate of the CUDA templates takes under ``cuda -emulate`` (build: lower, CUDA C,
NVRTC when installed, the emulated kernel through LLVM; then one run), checked against numpy.

    python benchmarks/cuda_emulate_time.py [--samples 24] [--seed 0] [--size 512]

Samples random valid configs of the matmul template (size^3) and of the tutorial conv2d layer
(1x512x7x7, 512 filters 3x3) and prints per template the median and max seconds (wall, and the
process CPU time beside it: the machine is shared), numpy's time for the same operator in the
same run and the ratio of the emulated run to it.  Goal (issue 8): every config emulates in a
few seconds, so tuning on ``cuda -emulate`` is practical.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import conv2d  # noqa: E402
import matmul  # noqa: E402,F401

import tensorlang as tl  # noqa: E402
from tensorlang import autotune  # noqa: E402
from tensorlang.autotune.space import InstantiationError  # noqa: E402
from tensorlang.errors import BuildError, LoweringError, ScheduleError  # noqa: E402

TARGET = "cuda -emulate -arch=sm_90"


def _configs(task: autotune.task.Task, count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    space = task.config_space
    out = []
    while len(out) < count:  # configs the template's constraints accept, as a tuner proposes
        cfg = space.get(int(rng.integers(len(space))))
        try:
            space.check(cfg)
        except InstantiationError:
            continue
        out.append(cfg)
    return out


def _numpy_seconds(fn, *args) -> float:
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=512, help="matmul size (default 512: size^3)")
    args = ap.parse_args()
    n = args.size
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (n, n)).astype("float32") for _ in range(2))
    x = rng.uniform(-1, 1, (1, 512, 7, 7)).astype("float32")
    w = rng.uniform(-1, 1, (512, 512, 3, 3)).astype("float32")
    cases = {
        f"matmul {n}^3": (autotune.task.create("matmul_cuda", (n, n, n, "float32"), TARGET), (a, b),
                          lambda: a.astype("float64") @ b.astype("float64"), lambda: a @ b),
        "conv2d 1x512x7x7 3x3": (autotune.task.create("conv2d_nchw_cuda", (1, 512, 7, 7, 512, 3, 3, 1, "float32"),
                                                      TARGET), (x, w),
                                 lambda: conv2d.numpy_conv2d(x, w, 1), lambda: conv2d.numpy_conv2d(x, w, 1)),
    }
    load = os.getloadavg()[0]
    print(f"{'template':22} {'ran':>4} {'rej':>4} {'build med':>10} {'build max':>10} {'cpu med':>8} "
          f"{'cpu max':>8} {'run med':>8} {'numpy':>8} {'run/numpy':>10}   ({args.samples} random configs each, "
          f"{TARGET}, load {load:.1f} on {os.cpu_count()} CPUs; seconds)")
    for label, (task, inputs, reference, timed_numpy) in cases.items():
        want = reference()
        builds, cpus, runs, rejected, worst = [], [], [], 0, ""
        for cfg in _configs(task, args.samples, args.seed):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                s, targs = task.instantiate(cfg)
                f = tl.build(s, targs, target=TARGET)
            except (InstantiationError, BuildError, LoweringError, ScheduleError):
                rejected += 1
                continue
            build, cpu = time.perf_counter() - t0, time.process_time() - c0
            out = np.empty(want.shape, "float32")
            t0 = time.perf_counter()
            f(*inputs, out)
            runs.append(time.perf_counter() - t0)
            np.testing.assert_allclose(out, want, rtol=1e-3, atol=1e-2, err_msg=str(cfg))
            if not builds or build > max(builds):
                worst = str(cfg)
            builds.append(build)
            cpus.append(cpu)
        ref = _numpy_seconds(timed_numpy)
        if not builds:
            print(f"{label:22} {0:>4} {rejected:>4}   (every sampled config was rejected)")
            continue
        run = statistics.median(runs)
        print(f"{label:22} {len(builds):>4} {rejected:>4} {statistics.median(builds):>10.2f} {max(builds):>10.2f} "
              f"{statistics.median(cpus):>8.2f} {max(cpus):>8.2f} {run:>8.3f} {ref:>8.4f} {run / ref:>10.1f}")
        print(f"    slowest build: {worst}")


if __name__ == "__main__":
    main()
