"""Benchmark: tuning throughput and quality on the matmul 1024^3 template with XGBTuner.

    python benchmarks/tuning_speed.py [--trials 64] [--seed 0]

Every trial is real (build in worker processes, verify against the reference, time).
Prints trials per minute, the median trial time, and the best GFLOPS after 16, 32 and 64
trials, beside numpy's a @ b measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import matmul  # noqa: E402,F401 - registers the template

from tensorlang import autotune  # noqa: E402
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner  # noqa: E402
from tensorlang.autotune.tuner import XGBTuner  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    n = args.size
    task = autotune.task.create("matmul", (n, n, n, "float32"), "llvm")
    option = autotune.measure_option(builder=LocalBuilder(timeout=30), runner=LocalRunner(number=3, repeat=3))
    best_at: dict[int, float] = {}
    trial_times: list[float] = []
    best = 0.0
    count = 0

    def watch(tuner, inputs, results):
        nonlocal best, count
        for res in results:
            count += 1
            trial_times.append(res.all_cost)
            if res.ok:
                best = max(best, task.flop / res.mean_cost / 1e9)
            best_at[count] = best

    t0 = time.perf_counter()
    XGBTuner(task, seed=args.seed).tune(n_trial=args.trials, measure_option=option,
                                        callbacks=[watch, autotune.callback.progress_bar(args.trials)])
    wall = time.perf_counter() - t0

    rng = np.random.default_rng()
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    numpy_gflops = 2 * n ** 3 / statistics.median(times) / 1e9

    print(f"\nXGBTuner on matmul {n}^3 float32, seed {args.seed}, {count} trials in {wall:.0f} s")
    print(f"  trials per minute:      {60 * count / wall:.1f}")
    print(f"  median trial (all_cost): {statistics.median(trial_times):.3f} s")
    print(f"{'after trials':>14} {'best GFLOPS':>12} {'x numpy':>8}")
    for k in sorted({16, 32, 64, args.trials}):
        if k in best_at:
            print(f"{k:>14} {best_at[k]:>12.1f} {best_at[k] / numpy_gflops:>8.2f}")
    print(f"  numpy (as installed, all cores) in the same run: {numpy_gflops:.1f} GFLOPS")


if __name__ == "__main__":
    main()
