"""Benchmark: how many measured trials each tuner needs to get within 95% of the best.

    python benchmarks/tuner_efficiency.py [--trials 64] [--seeds 3]

For the matmul 1024^3 template (examples/matmul.py) and the conv2d template
(examples/conv2d.py), each tuner (xgb, ga, random) runs with several seeds.  Every config
is measured for real, once: all runs of a task share a cache of measurements, so tuners are
compared on the same costs and only their search differs.  The table gives, per run, the
number of trials until the best-so-far reaches 95% of the best GFLOPS any run found.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import conv2d  # noqa: E402,F401 - registers the conv2d template
import matmul  # noqa: E402,F401 - registers the matmul template

from tensorlang import autotune  # noqa: E402
from tensorlang.autotune import tuner as tuners  # noqa: E402
from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner, create_measure_batch  # noqa: E402
from tensorlang.autotune.tuner import tuner as tuner_module  # noqa: E402

TASKS = {
    "matmul 1024^3": ("matmul", (1024, 1024, 1024, "float32")),
    "conv2d 1x64x56x56 k3": ("conv2d_nchw", (1, 64, 56, 56, 64, 3, 3, 1, "float32")),
}
TUNERS = {"xgb": tuners.XGBTuner, "ga": tuners.GATuner, "random": tuners.RandomTuner}


class SharedMeasurements:
    """Measure each config of a task once, for real; later requests reuse the result."""

    def __init__(self, task, option):
        self.real = create_measure_batch(task, option)
        self.cache: dict[int, object] = {}
        self.measured = 0

    def __call__(self, inputs):
        todo = [inp for inp in inputs if inp.config.index not in self.cache]
        if todo:
            for inp, res in zip(todo, self.real(todo)):
                self.cache[inp.config.index] = res
            self.measured += len(todo)
        return [self.cache[inp.config.index] for inp in inputs]


def trials_to(curve: list[float], goal: float) -> int | None:
    best = 0.0
    for n, g in enumerate(curve, 1):
        best = max(best, g)
        if best >= goal:
            return n
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    option = autotune.measure_option(builder=LocalBuilder(timeout=30), runner=LocalRunner(number=2, repeat=3))
    rows = []
    for label, (name, targs) in TASKS.items():
        task = autotune.task.create(name, targs, "llvm")
        shared = SharedMeasurements(task, option)
        tuner_module.create_measure_batch = lambda t, o, shared=shared: shared
        curves: dict[tuple[str, int], list[float]] = {}
        t0 = time.perf_counter()
        for tname, cls in TUNERS.items():
            for seed in range(args.seeds):
                curve: list[float] = []

                def record(tuner, inputs, results, curve=curve, task=task):
                    for res in results:
                        curve.append(task.flop / res.mean_cost / 1e9 if res.ok else 0.0)
                tuner = cls(task, seed=seed)
                tuner.tune(n_trial=args.trials, measure_option=option, callbacks=[record])
                curves[(tname, seed)] = curve
                print(f"  {label} {tname} seed {seed}: best {max(curve or [0]):.1f} GFLOPS", file=sys.stderr)
        best_any = max(max(c or [0.0]) for c in curves.values())
        for (tname, seed), curve in curves.items():
            rows.append((label, tname, seed, trials_to(curve, 0.95 * best_any), max(curve or [0.0]), best_any))
        print(f"  {label}: {shared.measured} distinct configs measured of {len(task.config_space)} "
              f"in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    print(f"\ntrials to reach 95% of the best GFLOPS any tuner found (budget {args.trials} trials a run)")
    print(f"{'task':24} {'tuner':7} {'seed':>4} {'trials':>7} {'best GFLOPS':>12} {'best any':>9}")
    for label, tname, seed, n, best, best_any in rows:
        shown = str(n) if n is not None else f">{args.trials}"
        print(f"{label:24} {tname:7} {seed:>4} {shown:>7} {best:>12.1f} {best_any:>9.1f}")
    print(f"\n{'task':24} {'tuner':7} {'median trials':>14}")
    for label in TASKS:
        med = {}
        for tname in TUNERS:
            ns = [n if n is not None else args.trials + 1 for lab, t, _, n, _, _ in rows if lab == label and t == tname]
            med[tname] = statistics.median(ns)
            print(f"{label:24} {tname:7} {med[tname]:>14.1f}")
        print(f"{label:24} xgb/random = {med['xgb'] / med['random']:.2f}")


if __name__ == "__main__":
    main()
