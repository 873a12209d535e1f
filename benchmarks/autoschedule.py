"""Benchmark: template-free auto-scheduling against numpy and the template tuner, in the same run.

    python benchmarks/autoschedule.py [--workloads matmul,conv2d,softmax] [--threads 1,2]
                                      [--seeds 0,1,2] [--trials 64] [--rounds 3] [--out DIR]
                                      [--ms-trials 64,256 | --no-ms] [--ms-from DIR]

Workloads: float32 matmul 1024^3, conv2d NCHW 1x64x56x56 with 64 3x3 filters and padding 1,
row softmax 4096x4096.  For each thread count (default: 1 and all cores) and seed, the
auto-scheduler tunes with ``--trials`` trials in a fresh process (``TENSORLANG_NUM_THREADS``
set, so the hardware model and the measurements see that many threads) and its tuning wall
time is recorded; the template tuner (XGBTuner, same trial count and measurement settings)
tunes the matmul and conv2d templates of ``examples/`` the same way.  Then every result runs
as a row of ``pinned_rows``: a fresh pinned process per row, rounds interleaved, median of
round medians, next to numpy (``a @ b``; im2col + matmul for conv2d; the textbook softmax)
and to the machine's roofline measured in the same run.  The summary gives each auto result
as a ratio to numpy and to the template's best, the spread of the auto figure over seeds and
the tuning wall time, against the issue's goals.

Where a Python with apache-tvm is found (``metaschedule_rows``: ``$TENSORLANG_TVM_PYTHON``),
TVM's MetaSchedule tunes the same workloads on the same thread counts (one search of the
largest ``--ms-trials`` count, seed ``--seeds``' first; its result at each count is the best of
its first N trials), its bests are timed as rows beside the others, and a last table gives its
tuning time, trials per minute and the ratio auto / MetaSchedule.  Otherwise the run says why.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "examples"))
sys.path.insert(0, str(_HERE))

import metaschedule_rows as msr  # noqa: E402
from pinned_rows import (  # noqa: E402
    Row,
    child_main,
    child_requested,
    machine_load,
    measure_roofline_fresh,
    print_table,
    range_over_median,
    run_rows,
)

_TUNE_FLAG = "--tune-one"
WORKLOADS = {
    # name: (flop per call, bytes per call (for bandwidth-bound rows), template name or "")
    "matmul": (2.0 * 1024 ** 3, 0.0, "matmul"),
    "conv2d": (2.0 * 64 * 64 * 56 * 56 * 9, 0.0, "conv2d_nchwc"),  # the template tasks() tunes
    "softmax": (0.0, 2.0 * 4096 * 4096 * 4, ""),
}


def computation(name: str):
    """(function, args) of a workload for the auto-scheduler."""
    if name == "matmul":
        import matmul
        return (lambda n, l, m: list(matmul.matmul(n, l, m))), (1024, 1024, 1024)
    if name == "conv2d":
        import conv2d
        return conv2d.conv2d_args, (1, 64, 56, 56, 64, 3, 3, 1)
    import softmax
    return softmax.softmax, (4096, 4096)


def template_task(name: str):
    from tensorlang import autotune
    if name == "matmul":
        import matmul  # noqa: F401 - registers the template
        return autotune.task.create("matmul", (1024, 1024, 1024, "float32"), "llvm")
    import conv2d  # noqa: F401
    return autotune.task.create("conv2d_nchwc", (1, 64, 56, 56, 64, 3, 3, 1, 1, "float32"), "llvm")


# --- tuning, each in a fresh process ----------------------------------------------------------------

def tune_one(spec: dict) -> dict:
    """Child: tune one (workload, kind, seed) into ``spec["log"]``; wall time and best figure back."""
    from tensorlang.autoschedule import SearchTask
    from tensorlang.autoschedule.task import default_measure_option
    t0 = time.perf_counter()
    if spec["kind"] == "auto":
        func, args = computation(spec["workload"])
        task = SearchTask(func, args, "llvm", name=spec["workload"])
        search = task.tune(spec["trials"], log=spec["log"], seed=spec["seed"], verbose=False)
        best = search.best_cost
    else:
        from tensorlang.autotune import callback
        from tensorlang.autotune.tuner import XGBTuner
        task = template_task(spec["workload"])
        tuner = XGBTuner(task, seed=spec["seed"])
        tuner.tune(spec["trials"], default_measure_option(), callbacks=[callback.log_to_file(spec["log"])])
        best = tuner.best_cost
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time(), "best_ms": best * 1e3}


def run_tuning(spec: dict, threads: int) -> dict:
    env = dict(os.environ, TENSORLANG_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join([str(_HERE.parent), os.environ.get("PYTHONPATH", "")]))
    load0 = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, _TUNE_FLAG, json.dumps(spec)], env=env, capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"
        return {"error": tail}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = (load0 + os.getloadavg()[0]) / 2
    return out


# --- rows: the child side ---------------------------------------------------------------------------

def make_row(spec: dict, threads: int):
    """Child: a checked callable for one row."""
    import numpy as np

    import tensorlang as tl
    name = spec["workload"]
    rng = np.random.default_rng()
    if name == "matmul":
        ins = [rng.random((1024, 1024), dtype=np.float32) for _ in range(2)]
        out = np.empty((1024, 1024), np.float32)
        expected = ins[0] @ ins[1]
    elif name == "conv2d":
        ins = [rng.standard_normal((1, 64, 56, 56)).astype(np.float32),
               rng.standard_normal((64, 64, 3, 3)).astype(np.float32)]
        out = np.empty((1, 64, 56, 56), np.float32)
        expected = _im2col_conv(*ins)
    else:
        ins = [rng.standard_normal((4096, 4096)).astype(np.float32)]
        out = np.empty((4096, 4096), np.float32)
        expected = _softmax(ins[0])
    if spec["impl"] == "numpy":
        fn = {"matmul": lambda: np.matmul(ins[0], ins[1], out=out), "conv2d": lambda: _im2col_conv(*ins),
              "softmax": lambda: _softmax(ins[0])}[name]
        return fn
    if spec["impl"] == "auto":
        from tensorlang.autoschedule import SearchTask
        func, args = computation(name)
        s, targs = SearchTask(func, args, "llvm", name=name).apply_best(spec["log"])
    else:
        from tensorlang import autotune
        task = template_task(name)
        template = _template_function(name)
        with autotune.apply_history_best(spec["log"]), tl.target.Target("llvm"):
            s, targs = template(*task.args)
    f = tl.build(s, targs, target="llvm")
    f.set_num_threads(threads)
    f(*ins, out)
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3, err_msg=spec["impl"])
    return lambda: f(*ins, out)


def _template_function(name: str):
    """The registered template (the decorated function, which reads the dispatch context)."""
    if name == "matmul":
        import matmul
        return matmul.matmul_template
    import conv2d
    return conv2d.conv2d_nchwc_template


def _trial_agreement(logs: list[str]) -> str:
    """Candidates (same decisions) that more than one of ``logs`` measured: how many, and how
    many of them read over 1.5x apart (on 2 threads, a reading at the one-thread figure)."""
    readings: dict[str, list[float]] = {}
    for path in logs:
        mine: dict[str, float] = {}
        for line in Path(path).read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec["result"]["error_no"] == 0 and rec["result"]["costs"]:
                key = json.dumps(rec["config"]["knobs"], sort_keys=True)
                mine[key] = statistics.median(rec["result"]["costs"])
        for key, cost in mine.items():
            readings.setdefault(key, []).append(cost)
    shared = [v for v in readings.values() if len(v) > 1]
    apart = [v for v in shared if max(v) > 1.5 * min(v)]
    worst = max((max(v) / min(v) for v in shared), default=float("nan"))
    return (f"{len(shared)} candidates measured by more than one seed; {len(apart)} of them read over 1.5x apart "
            f"(largest ratio {worst:.2f})")


def _paired_seed_spread(autos: list) -> float:
    """(max - min) / median of the seeds' figures within each round, the median over rounds: the
    seeds compared at the same time, so that a change of the machine's state between rounds
    (its 2-core copy bandwidth moves between about 42 and 73 GB/s) is not read as a difference
    between the schedules the seeds found."""
    rounds = min((len(r.medians) for r in autos), default=0)
    per_round = []
    for k in range(rounds):
        per_round.append(range_over_median([r.medians[k] for r in autos]))
    return statistics.median(per_round) if per_round else float("nan")


def _im2col_conv(x, w):
    import numpy as np
    xp = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))   # C, 56, 56, 3, 3
    cols = cols.transpose(0, 3, 4, 1, 2).reshape(64 * 9, 56 * 56)
    return (w.reshape(64, 64 * 9) @ cols).reshape(1, 64, 56, 56)


def _softmax(x):
    import numpy as np
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- the parent -------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="matmul,conv2d,softmax")
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per row and round (default: 5)")
    ap.add_argument("--min-seconds", type=float, default=0.1,
                    help="a timed repeat lasts at least this long (default: 0.1)")
    ap.add_argument("--no-template", action="store_true", help="skip the template tuner rows")
    ap.add_argument("--out", default="", help="folder for the tuning logs (default: a temporary one)")
    ap.add_argument("--rows-only", action="store_true",
                    help="no tuning: measure the rows of the logs a previous run left in --out")
    ap.add_argument("--ms-from", default="",
                    help="reuse the MetaSchedule searches a previous run left in this folder (its tunings.json) "
                         "instead of searching again; their bests are timed as rows of this run")
    msr.ms_args(ap)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    threads = sorted({int(t) for t in args.threads.split(",") if t} or {1, cores})
    seeds = [int(s) for s in args.seeds.split(",") if s]
    names = [w for w in args.workloads.split(",") if w]
    out = Path(args.out or tempfile.mkdtemp(prefix="autoschedule-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"before: {machine_load()}")
    ms_counts = msr.trial_counts(args)
    ms_python, ms_note = msr.tvm_python(args)
    print(ms_note if ms_python is None else f"MetaSchedule: trials {ms_counts}, {ms_python} ({ms_note})")
    ms_tunings: dict[tuple, msr.Tuning] = {}
    roof = measure_roofline_fresh()
    tunings: dict[tuple, dict] = {}
    saved = json.loads((out / "tunings.json").read_text()) if (out / "tunings.json").exists() else {}
    # MetaSchedule searches take minutes each; a run may time the bests of an earlier run's searches.
    ms_saved = json.loads((Path(args.ms_from) / "tunings.json").read_text()) if args.ms_from else {}
    rows: list[Row] = []
    for name in names:
        flop, nbytes, template = WORKLOADS[name]
        for t in threads:
            rows.append(Row(f"{name} numpy", t, {"workload": name, "impl": "numpy"}, flop=flop, bytes=nbytes,
                            copy_beside=nbytes > 0))
            kinds = [("auto", s) for s in seeds]
            if template and not args.no_template:
                kinds.append(("template", seeds[0]))
            for kind, seed in kinds:
                log = str(out / f"{name}.{kind}.t{t}.s{seed}.json")
                if args.rows_only:
                    res = saved.get(f"{name}.{kind}.t{t}.s{seed}", {"error": "not tuned"})
                else:
                    if os.path.exists(log):
                        os.unlink(log)
                    spec = {"workload": name, "kind": kind, "seed": seed, "trials": args.trials, "log": log}
                    print(f"  tuning {name} ({kind}, seed {seed}, {t} thread(s), {args.trials} trials)",
                          file=sys.stderr, flush=True)
                    res = run_tuning(spec, t)
                    saved[f"{name}.{kind}.t{t}.s{seed}"] = res
                    (out / "tunings.json").write_text(json.dumps(saved))
                tunings[(name, t, kind, seed)] = res
                if "error" in res:
                    print(f"    failed: {res['error']}", file=sys.stderr)
                    continue
                print(f"    {res['wall']:.0f} s wall, tuner process CPU {res['cpu']:.0f} s, load {res['load']:.1f}",
                      file=sys.stderr)
                rows.append(Row(f"{name} {kind} (seed {seed})", t, {"workload": name, "impl": kind, "log": log},
                                flop=flop, bytes=nbytes, copy_beside=nbytes > 0))
            if ms_python:
                key = f"{name}.metaschedule.t{t}"
                if args.ms_from:
                    tun = msr.Tuning(**ms_saved[key]) if key in ms_saved else None
                    if tun is None:
                        print(f"    no MetaSchedule search for {key} in {args.ms_from}", file=sys.stderr)
                elif args.rows_only:
                    tun = msr.Tuning(**saved[key]) if key in saved else None
                else:
                    print(f"  tuning {name} (MetaSchedule, seed {seeds[0]}, {t} thread(s), {max(ms_counts)} trials)",
                          file=sys.stderr, flush=True)
                    tun = msr.tune(name, t, max(ms_counts), str(out / key), ms_python, seed=seeds[0])
                    saved[key] = dataclasses.asdict(tun)
                    (out / "tunings.json").write_text(json.dumps(saved))
                if tun is not None:
                    ms_tunings[(name, t)] = tun
                    print(f"    {msr.describe(tun, ms_counts)}", file=sys.stderr)
                    rows += msr.ms_rows(tun, ms_counts, flop=flop, nbytes=nbytes, label=name)
    t0 = time.perf_counter()
    results = run_rows(__file__, rows, rounds=args.rounds, repeats=args.repeats, min_seconds=args.min_seconds)
    wall = time.perf_counter() - t0
    print(f"after:  {machine_load()}")
    print(f"roofline measured in this run: {roof.describe()}")
    print(f"\n{args.trials} trials per tuning run; rows: fresh pinned processes, {args.rounds} interleaved rounds "
          f"of {args.repeats} repeats of at least {args.min_seconds:g} s, median of round medians ({wall:.0f} s); "
          "memory-bound rows also as a fraction of a 64 MiB copy timed after each repeat in the same process")
    for name in names:
        flop = WORKLOADS[name][0]
        mine = [r for r in results if r.row.spec["workload"] == name]

        def numpy_of(res, mine=mine):
            return next((r for r in mine if r.row.spec["impl"] == "numpy" and r.row.threads == res.row.threads), None)
        print()
        print_table(mine, roof, numpy_of, compute_bound=flop > 0)
    print("\nsummary (auto: median over seeds; spread = (max - min) / median over seeds)")
    print(f"{'workload':9} {'thr':>3} {'auto':>10} {'x numpy':>8} {'x template':>10} {'seed spread':>11} "
          f"{'tune s (auto)':>13} {'tune s (template)':>17} {'% roof':>7}")
    auto_rates: dict[tuple, float] = {}
    paired: dict[tuple, float] = {}
    for name in names:
        flop, nbytes, _ = WORKLOADS[name]
        for t in threads:
            def rate(res, flop=flop, nbytes=nbytes):
                return (flop or nbytes) / res.seconds / 1e9
            autos = [r for r in results if r.row.spec["workload"] == name and r.row.threads == t
                     and r.row.spec["impl"] == "auto" and not r.error]
            npy = next((r for r in results if r.row.spec["workload"] == name and r.row.threads == t
                        and r.row.spec["impl"] == "numpy" and not r.error), None)
            tmpl = next((r for r in results if r.row.spec["workload"] == name and r.row.threads == t
                         and r.row.spec["impl"] == "template" and not r.error), None)
            if not autos:
                print(f"{name:9} {t:>3} auto failed")
                continue
            rates = [rate(r) for r in autos]
            med = statistics.median(rates)
            auto_rates[(name, t)] = med
            spread = (max(rates) - min(rates)) / med if len(rates) > 1 else 0.0
            paired[(name, t)] = _paired_seed_spread(autos)
            walls = [tunings[(name, t, "auto", s)].get("wall", float("nan")) for s in seeds
                     if "wall" in tunings.get((name, t, "auto", s), {})]
            twall = tunings.get((name, t, "template", seeds[0]), {}).get("wall")
            roof_rate = roof.peak_gflops(t) if flop else roof.bandwidth_gbs(t)
            unit = "GFLOPS" if flop else "GB/s"
            print(f"{name:9} {t:>3} {med:>6.1f} {unit:<3} "
                  f"{(med / rate(npy)) if npy else float('nan'):>8.2f} "
                  f"{(med / rate(tmpl)) if tmpl else float('nan'):>10.2f} {100 * spread:>10.1f}% "
                  f"{statistics.median(walls) if walls else float('nan'):>13.0f} "
                  f"{twall if twall is not None else float('nan'):>17.0f} {100 * med / roof_rate:>6.1f}%")
    if len(seeds) > 1:
        print("\nseed spread within a round (the seeds' rows of one round run one after another, seconds apart; "
              "median over rounds): " + ", ".join(f"{n} {t} thr {100 * v:.1f}%" for (n, t), v in paired.items()))
    if len(seeds) > 1:
        print("\nthe same candidate measured by several seeds' searches (trials, not rows: the first batch is "
              "the same for every seed): how often their readings disagree")
        for name in names:
            for t in threads:
                logs = [str(out / f"{name}.auto.t{t}.s{s}.json") for s in seeds]
                print(f"{name:9} {t:>3} {_trial_agreement([p for p in logs if os.path.exists(p)])}")
    beside = [(name, t) for name in names if WORKLOADS[name][1] for t in threads]
    if beside:
        print("\nmemory-bound rows against the copy timed beside them (same process, after each repeat): "
              "median over seeds, and the seed spread of that fraction")
        for name, t in beside:
            fr = [r.copy_fraction for r in results if r.row.spec["workload"] == name and r.row.threads == t
                  and r.row.spec["impl"] == "auto" and r.fractions]
            copies = [c for r in results if r.row.spec["workload"] == name and r.row.threads == t for c in r.copies]
            if not fr:
                continue
            med = statistics.median(fr)
            print(f"{name:9} {t:>3} {100 * med:>6.1f}% of copy beside, seed spread "
                  f"{100 * (max(fr) - min(fr)) / med:.1f}%; that copy measured {min(copies):.1f}-{max(copies):.1f} "
                  f"GB/s over the run")
    print("\ngoals (issue 11): matmul >= 0.95x template in < 60 s of tuning; conv2d >= 1.5x numpy im2col+matmul; "
          "softmax >= 80% of copy bandwidth; seed spread < 10%")
    if ms_python is None:
        print(f"\n{ms_note}")
        return
    print(f"\nMetaSchedule in the same run ({ms_note}); auto = the median over seeds above, at {args.trials} trials")
    msr.print_comparison(results, ms_tunings, ms_counts, auto_rates, f"auto-{args.trials}")
    print(f"goal (issue 11): auto with {args.trials} trials beats MetaSchedule with {max(ms_counts)} "
          f"(auto / MS-{max(ms_counts)} > 1)")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    elif _TUNE_FLAG in sys.argv:
        print(json.dumps(tune_one(json.loads(sys.argv[sys.argv.index(_TUNE_FLAG) + 1]))))
    else:
        main()
