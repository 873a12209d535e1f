"""How long a GPU candidate takes to build (instantiate + lower + CUDA C + NVRTC), per template.

    python benchmarks/cuda_build_time.py [--samples 24] [--seed 0]

Samples random valid configs of the matmul (4096^3) and conv2d (TVM's tune_conv2d_cuda
tutorial layer: 1x512x7x7, 512 filters 3x3, pad 1) CUDA templates and builds each for sm_90
in a fresh child (as the tuner's builder does), printing the median and max seconds, the
lowering/NVRTC split, and how many configs the device limits reject before lowering.  No GPU
needed.  The goal (issue 8): median under 1.5 s, none over 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import conv2d  # noqa: E402
import matmul  # noqa: E402,F401

from tensorlang import autotune  # noqa: E402
from tensorlang.autotune.measure.executor import run_isolated  # noqa: E402

TARGET = "cuda -arch=sm_90"


def _build(task, config):
    import tensorlang as tl
    from tensorlang.lowering import lower_schedule
    from tensorlang.target.cuda.build import build_cuda
    from tensorlang.target.cuda.target import CUDATarget
    t0 = time.perf_counter()
    try:
        sch, args = task.instantiate(config)
    except Exception as exc:  # noqa: BLE001 - a rejected config
        return ("rejected", str(exc)[:80], time.perf_counter() - t0, 0.0)
    func = lower_schedule(sch, args, name="candidate", target_kind="cuda")
    t2 = time.perf_counter()
    try:
        build_cuda(func, CUDATarget.from_string(TARGET))
    except tl.errors.LaunchLimitError as exc:
        return ("limit", str(exc)[:80], t2 - t0, time.perf_counter() - t2)
    return ("ok", "", t2 - t0, time.perf_counter() - t2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import numpy as np
    tasks = {"matmul 4096^3": autotune.task.create("matmul_cuda", (4096, 4096, 4096, "float32"), TARGET),
             "conv2d 1x512x7x7 3x3": conv2d.tasks(TARGET)[0].__class__(
                 "conv2d_nchw_cuda", (1, 512, 7, 7, 512, 3, 3, 1, "float32"), TARGET)}
    load = os.getloadavg()[0]
    print(f"{'template':22} {'built':>6} {'rejected':>9} {'median s':>9} {'max s':>7} {'lower med':>10} "
          f"{'nvrtc med':>10}   (sm_90, {args.samples} random configs each, load {load:.1f} on "
          f"{os.cpu_count()} CPUs)")
    for label, task in tasks.items():
        rng = np.random.default_rng(args.seed)
        jobs = []
        space = task.config_space
        while len(jobs) < args.samples:  # configs the template's constraints accept, as a tuner proposes
            cfg = space.get(int(rng.integers(len(space))))
            try:
                space.check(cfg)
            except Exception:  # noqa: BLE001 - a constraint rejects it
                continue
            jobs.append((task, cfg))
        outcomes = run_isolated(_build, jobs, n_parallel=1, timeout=120)
        totals, lowers, nvrtcs, rejected = [], [], [], 0
        why = []
        for o in outcomes:
            if not o.ok:
                totals.append(o.elapsed)
                continue
            kind, _, lower_s, nvrtc_s = o.value
            if kind != "ok":
                rejected += 1
                why.append(o.value[1])
                continue
            totals.append(lower_s + nvrtc_s)
            lowers.append(lower_s)
            nvrtcs.append(nvrtc_s)
        med = statistics.median(totals) if totals else float("nan")
        print(f"{label:22} {len(lowers):>6} {rejected:>9} {med:>9.2f} {max(totals, default=float('nan')):>7.2f} "
              f"{statistics.median(lowers) if lowers else float('nan'):>10.2f} "
              f"{statistics.median(nvrtcs) if nvrtcs else float('nan'):>10.2f}")
        for w in sorted(set(why))[:3]:
            print(f"    rejected: {w}")


if __name__ == "__main__":
    main()
