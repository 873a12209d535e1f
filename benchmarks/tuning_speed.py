"""Benchmark: tuning throughput and quality on the matmul 1024^3 template with XGBTuner, and
TVM MetaSchedule's trials per minute on the same matmul in the same run (where a Python with
apache-tvm is found: ``metaschedule_rows``, ``$TENSORLANG_TVM_PYTHON``).

    python benchmarks/tuning_speed.py [--trials 64] [--seed 0] [--ms-trials 64 | --no-ms] [--confirm 3]
                                      [--fixed-repeats] [--runner-ab 16]

Every trial is real (build in worker processes, verify against the reference, time).  Prints
trials per minute, the median trial time split into build and run, and the best GFLOPS after
16, 32 and 64 trials; at the end the ``--confirm`` fastest configs (up to 5 when the trials are
within 5% of each other) are re-measured interleaved (``Tuner.confirm_best``) and the confirmed best
is printed with its spread and the seconds the confirmation took.

``--runner-ab K`` also measures the same K built candidates with the runner as it was (a fresh
child per candidate, exactly --repeat repeats) and as `tensorlang tune` now runs it (one
long-lived child, repeats chosen by the candidate), and the two mixes between, interleaved over
3 rounds: median seconds of wall and of CPU (the measuring children's) per candidate.  On a
shared machine CPU seconds say more than wall seconds.  The runner
chooses each candidate's repeats as `tensorlang tune` does (``LocalRunner(adaptive_repeats=True)``)
unless ``--fixed-repeats``.  numpy's a @ b
(fresh pinned processes, 1 thread and all cores) and the FMA peak are measured in the same run.
MetaSchedule tunes the same matmul on all cores after tensorlang (one search of the largest
``--ms-trials`` count, seed ``--seed``); its trials per minute at each count and its best
kernel, timed by TVM in fresh pinned processes beside the numpy rows, are printed with the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import metaschedule_rows as msr  # noqa: E402
from pinned_rows import Row, child_main, child_requested, machine_load, measure_roofline_fresh, run_rows  # noqa: E402


def make_row(spec: dict, threads: int):
    import numpy as np
    n = spec["n"]
    rng = np.random.default_rng()
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    return lambda: np.matmul(a, b, out=c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--number", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--confirm", type=int, default=3, help="leaders re-measured before the best is declared")
    ap.add_argument("--fixed-repeats", action="store_true", help="every candidate exactly --repeat repeats")
    ap.add_argument("--runner-ab", type=int, default=0, metavar="K",
                    help="also compare the runner's settings on K candidates (see above)")
    msr.ms_args(ap, default_trials="64")
    args = ap.parse_args()
    n = args.size

    import matmul  # noqa: F401 - registers the template

    from tensorlang import autotune
    from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner
    from tensorlang.autotune.tuner import XGBTuner

    print(f"before: {machine_load()}")
    ms_counts = msr.trial_counts(args)
    ms_python, ms_note = msr.tvm_python(args)
    if ms_python and n != msr.WORKLOADS["matmul"][0]:
        ms_python, ms_note = None, f"MetaSchedule: skipped (its matmul is {msr.WORKLOADS['matmul']}, not --size {n})"
    roof = measure_roofline_fresh()
    task = autotune.task.create("matmul", (n, n, n, "float32"), "llvm")
    option = autotune.measure_option(builder=LocalBuilder(timeout=30),
                                     runner=LocalRunner(number=args.number, repeat=args.repeat,
                                                        adaptive_repeats=not args.fixed_repeats))
    best_at: dict[int, float] = {}
    trials: list[tuple[float, float, float]] = []
    best = 0.0
    last_trial = [0.0]  # when the last trial came back: confirming the leaders starts then

    def watch(tuner, inputs, results):
        nonlocal best
        for res in results:
            if res.confirm is not None:  # the leaders re-measured at the end: not trials
                continue
            last_trial[0] = time.perf_counter()
            trials.append((res.all_cost, res.build_time, res.run_time))
            if res.ok:
                best = max(best, task.flop / statistics.median(res.costs) / 1e9)
            best_at[len(trials)] = best

    tuner = XGBTuner(task, seed=args.seed)
    c0, t0 = time.process_time(), time.perf_counter()
    tuner.tune(n_trial=args.trials, measure_option=option, confirm_top=args.confirm,
               callbacks=[watch, autotune.callback.progress_bar(args.trials)])
    wall = time.perf_counter() - t0
    count = len(trials)

    cores = len(os.sched_getaffinity(0))
    ms_tuning = None
    if ms_python:
        work = tempfile.mkdtemp(prefix="ms-matmul-")  # kept: the rows below read its database
        print(f"MetaSchedule: tuning matmul {n}^3, {cores} thread(s), {max(ms_counts)} trials", file=sys.stderr)
        ms_tuning = msr.tune("matmul", cores, max(ms_counts), work, ms_python, seed=args.seed)
    rows = [Row("numpy", t, {"n": n}, flop=2.0 * n ** 3) for t in sorted({1, cores})]
    if ms_tuning is not None:
        rows += msr.ms_rows(ms_tuning, ms_counts, flop=2.0 * n ** 3)
    all_res = run_rows(__file__, rows, rounds=3, repeats=5, progress=False)
    numpy_res = [r for r in all_res if r.row.name == "numpy"]
    numpy_all = numpy_res[-1]
    numpy_gflops = 2.0 * n ** 3 / numpy_all.seconds / 1e9
    print(f"after:  {machine_load()}")
    print(f"roofline measured in this run: {roof.describe()}")
    print(f"\nXGBTuner on matmul {n}^3 float32, seed {args.seed}, {count} trials in {wall:.0f} s "
          f"(tuning process CPU {time.process_time() - c0:.0f} s; runner number={args.number} repeat={args.repeat}"
          f"{', fixed' if args.fixed_repeats else ', adaptive'})")
    print(f"  trials per minute:        {60 * count / wall:.1f}")
    print(f"  median trial (all_cost):  {statistics.median(t[0] for t in trials):.3f} s "
          f"(build {statistics.median(t[1] for t in trials):.3f} s in parallel workers, "
          f"run {statistics.median(t[2] for t in trials):.3f} s)")
    print(f"{'after trials':>14} {'best GFLOPS':>12} {'% FMA peak':>10} {'x numpy':>8}")
    for k in sorted({16, 32, 64, args.trials}):
        if k in best_at:
            print(f"{k:>14} {best_at[k]:>12.1f} {100 * best_at[k] / roof.peak_gflops(cores):>9.1f}% "
                  f"{best_at[k] / numpy_gflops:>8.2f}")
    if tuner.confirmed:
        rounds = "/".join(sorted({str(len(r)) for _, r in tuner.confirmed}))
        print(f"  confirmed best ({len(tuner.confirmed)} leaders re-measured, {rounds} interleaved rounds in fresh "
              f"processes, {t0 + wall - last_trial[0]:.1f} s): {tuner.best_flops / 1e9:.1f} GFLOPS (median of its "
              f"rounds), spread {100 * tuner.best_spread:.1f}%, {tuner.best_config}")
    for res in numpy_res:
        print(f"  numpy (fresh pinned processes, {res.row.threads} thread(s)): {2.0 * n ** 3 / res.seconds / 1e9:.1f}"
              f" GFLOPS, spread {100 * res.spread:.1f}%, cores had {100 * res.share:.0f}%")
    if ms_tuning is None:
        print(f"  {ms_note}")
    else:
        print(f"  {msr.describe(ms_tuning, ms_counts)}")
        mine = tuner.best_flops / 1e9 if tuner.confirmed else best
        for k in ms_counts:
            res = next(r for r in all_res if r.row.spec.get("first") == k)
            if res.error or ms_tuning.error:
                print(f"  MetaSchedule-{k}: row failed: {res.error or ms_tuning.error}")
                continue
            theirs = 2.0 * n ** 3 / res.seconds / 1e9
            print(f"  MetaSchedule-{k}: {ms_tuning.trials_per_minute(k):.1f} trials/min ({ms_tuning.wall_at(k):.0f} s "
                  f"for {k}); its best timed by TVM (fresh pinned processes, {cores} thread(s)): {theirs:.1f} GFLOPS, "
                  f"spread {100 * res.spread:.1f}%, cores had {100 * res.share:.0f}%")
            speed = 60 * count / wall / ms_tuning.trials_per_minute(k)
            which = "confirmed best" if tuner.confirmed else "best"
            print(f"    tensorlang / MetaSchedule-{k}: trials per minute {speed:.2f}x (goal >= 3x), "
                  f"best GFLOPS {mine / theirs:.2f}x (tensorlang's {which} {mine:.1f})")
    if args.runner_ab:
        runner_ab(task, args.runner_ab, args.number, args.repeat, args.seed)


def runner_ab(task, k: int, number: int, repeat: int, seed: int, rounds: int = 3) -> None:
    """The same ``k`` built candidates measured by each runner setting, interleaved over rounds."""
    import random

    from tensorlang.autotune.measure.local import LocalBuilder, LocalRunner

    rng = random.Random(seed)
    space = task.config_space
    valid = [i for i in rng.sample(range(len(space)), min(len(space), 50 * k)) if space.is_valid(i)]
    builder = LocalBuilder(timeout=30)  # its folder holds the libraries: keep it alive
    builds = [b for b in builder.build(task, [space.get(i) for i in valid[:k]]) if b.ok]
    variants = {"fresh child, fixed repeats (as before)": dict(persistent=False, adaptive_repeats=False),
                "long-lived child, fixed repeats": dict(persistent=True, adaptive_repeats=False),
                "fresh child, adaptive repeats": dict(persistent=False, adaptive_repeats=True),
                "long-lived child, adaptive repeats (now)": dict(persistent=True, adaptive_repeats=True)}
    walls: dict[str, list[float]] = {v: [] for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}
    repeats: dict[str, list[int]] = {v: [] for v in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runner = LocalRunner(number=number, repeat=repeat, **variants[name])
            runner.reference(task)  # made once per runner, not a candidate's cost
            c0 = os.times()
            t0 = time.perf_counter()
            results = runner.run(task, builds)
            wall = time.perf_counter() - t0
            runner.close()  # the long-lived child is reaped here: its CPU time counts from now
            c1 = os.times()
            cpu = (c1.children_user + c1.children_system + c1.user + c1.system
                   - c0.children_user - c0.children_system - c0.user - c0.system)
            walls[name].append(wall / len(builds))
            cpus[name].append(cpu / len(builds))
            repeats[name].extend(len(res.costs) for res in results if res.ok)
    print(f"\nrunner settings on the same {len(builds)} built candidates (number={number}, repeat={repeat}), "
          f"{rounds} interleaved rounds; per candidate, median over rounds:")
    print(f"{'runner':42} {'wall s':>7} {'CPU s':>7} {'repeats':>8}")
    for name in names:
        print(f"{name:42} {statistics.median(walls[name]):7.3f} {statistics.median(cpus[name]):7.3f} "
              f"{statistics.mean(repeats[name]):8.2f}")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
