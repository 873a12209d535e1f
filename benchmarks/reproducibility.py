"""Benchmark: how reproducible is the best that `tensorlang tune` declares?

    python benchmarks/reproducibility.py [--runs 10] [--trials 64] [--first-seed 0] [--confirm-top 3]
                                         [--rounds 3] [--size 1024] [--max-minutes 12]
    python benchmarks/reproducibility.py --configs 72,114,24 --rounds 8   # re-measure only

Runs ``tensorlang tune --target=llvm examples/matmul.py --trials T --seed S`` ``--runs`` times
with different seeds, each a fresh process writing its own log, exactly as a user would (the
leaders re-measured before the best is declared, ``--confirm-top``).  Each log gives two
answers, read with the ranking every log reader uses (``record.best_records``):

* **declared**: the best that ``apply_history_best`` applies (the confirmed one);
* **trials only**: the best the trials alone would name (what the run declared without
  confirmation: the trials are the same, confirmation happens after them).

Every config named is then re-measured in fresh processes pinned to all cores, interleaved
over ``--rounds`` rounds (``pinned_rows``), beside numpy; "best known" is the fastest of them.
A run counts for issue 13's goal when its config re-measures within 3% of the best known, and
for issue 9's when within 2%.  The machine's load and FMA peak are printed with the table.

Bounded time: a run starts only while the tunes so far, plus one more of their longest and the
re-measurement after them (estimated from the rows' count), fit in ``--max-minutes``; the table
then says how many of the ``--runs`` were done.  On 2 quiet Zen 5 cores a 64-trial tune takes
about 25-35 s with its confirmation, so 10 runs and the re-measurement take about 7-9 minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_REPO / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinned_rows import Row, child_main, child_requested, machine_load, measure_roofline_fresh, run_rows  # noqa: E402
from tuning_speed import make_row as numpy_row  # noqa: E402


def make_row(spec: dict, threads: int):
    """Child side: numpy (as tuning_speed.py times it), or the matmul template at config
    ``index``, checked against numpy."""
    if spec["impl"] == "numpy":
        return numpy_row(spec, threads)
    import matmul  # noqa: F401 - registers the template
    import numpy as np

    import tensorlang as tl
    from tensorlang import autotune

    n = spec["n"]
    task = autotune.task.create("matmul", (n, n, n, "float32"), "llvm")
    s, args = task.instantiate(task.config_space.get(spec["index"]))
    f = tl.build(s, args, target="llvm", name="matmul_tuned")
    f.set_num_threads(threads)
    a, b = (np.random.default_rng().random((n, n), dtype=np.float32) for _ in range(2))
    c = np.empty((n, n), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-3, atol=1e-2)
    return lambda: f(a, b, c)


def tune_once(seed: int, trials: int, confirm_top: int, log: Path, timeout: float) -> float:
    """Run the CLI as a user would; its wall seconds."""
    cmd = [sys.executable, "-m", "tensorlang.cli", "tune", "--target=llvm", str(_REPO / "examples" / "matmul.py"),
           "--trials", str(trials), "--seed", str(seed), "--log", str(log), "--confirm-top", str(confirm_top)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_REPO), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"seed {seed}: tensorlang tune failed (rc {proc.returncode}): {proc.stderr[-800:]}")
    return time.perf_counter() - t0


def answers(log: Path) -> dict[str, tuple]:
    """{'declared': ..., 'trials only': ...}: (config index, config text, GFLOPS, spread, how) each."""
    from tensorlang.autotune import record

    records = list(record.load_from_file(log))
    out = {}
    for name, recs in (("declared", records), ("trials only", [r for r in records if r[1].confirm is None])):
        (ranking,) = record.best_records(recs, lambda inp, res: inp.task.workload_key).values()
        inp, res = ranking.best
        flop = getattr(inp.config, "flop", 0.0)
        how = (f"confirmed {res.confirm.rank}/{res.confirm.of}, {len(res.costs)} rounds" if res.confirm is not None
               else "trial median")
        out[name] = (inp.config.index, str(inp.config), flop / ranking.cost / 1e9, record.spread(res), how)
    return out


_ROW_SECONDS = 2.5  # a re-measured row's fresh process (import, build, check, 5 repeats of 50 ms), quiet machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--confirm-top", type=int, default=3, help="passed to tensorlang tune (0: no confirmation)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds re-measuring the configs named")
    ap.add_argument("--size", type=int, default=1024, help="matmul size of examples/matmul.py's task (1024)")
    ap.add_argument("--keep", default=None, help="folder to keep the logs in (default: a temporary one)")
    ap.add_argument("--max-minutes", type=float, default=12.0,
                    help="start no tune that would end the whole benchmark past this (default: 12)")
    ap.add_argument("--configs", default=None, metavar="I,J,...",
                    help="tune nothing: re-measure these config indices over --rounds rounds and print each "
                         "round's GFLOPS (is a config fast in some processes only?)")
    args = ap.parse_args()
    if args.configs:
        return remeasure_only([int(i) for i in args.configs.split(",")], args.size, args.rounds)
    n = args.size
    cores = len(os.sched_getaffinity(0))
    print(f"before: {machine_load()}")
    roof = measure_roofline_fresh()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="tensorlang-repro-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs = []
    c0 = os.times()
    t0 = time.perf_counter()
    budget = 60 * args.max_minutes
    for k in range(args.runs):
        elapsed = time.perf_counter() - t0
        if runs:
            configs_so_far = len({a[0] for _, _, ans in runs for a in ans.values()})
            remeasure = (configs_so_far + 3) * args.rounds * _ROW_SECONDS
            if elapsed + max(w for _, w, _ in runs) + remeasure > budget:
                print(f"  stopping after {len(runs)} of {args.runs} runs: --max-minutes {args.max_minutes:g} "
                      f"({elapsed:.0f} s so far)", file=sys.stderr, flush=True)
                break
        seed = args.first_seed + k
        log = folder / f"matmul.seed{seed}.json"
        for stale in (log, Path(str(log) + ".confirmed")):
            if stale.exists():
                stale.unlink()
        wall = tune_once(seed, args.trials, args.confirm_top, log, timeout=max(60.0, budget - elapsed))
        runs.append((seed, wall, answers(log)))
        d = runs[-1][2]["declared"]
        print(f"  seed {seed}: {wall:.0f} s, declared {d[2]:.1f} GFLOPS ({d[4]}, spread {100 * d[3]:.1f}%) {d[1]}"
              f"  [{time.perf_counter() - t0:.0f} s elapsed]", file=sys.stderr, flush=True)
    tune_wall = time.perf_counter() - t0
    c1 = os.times()
    children_cpu = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)

    configs = sorted({a[0] for _, _, ans in runs for a in ans.values()})
    flop = 2.0 * n ** 3
    rows = [Row("numpy", cores, {"impl": "numpy", "n": n}, flop=flop)]
    rows += [Row(f"config {i}", cores, {"impl": "tuned", "n": n, "index": i}, flop=flop) for i in configs]
    results = run_rows(__file__, rows, rounds=args.rounds, repeats=5)
    gflops = {r.row.spec.get("index", "numpy"): (flop / r.seconds / 1e9 if not r.error else 0.0, r.spread, r.share)
              for r in results}
    best_known = max(v[0] for k, v in gflops.items() if k != "numpy")
    best_cfg = next(k for k, v in gflops.items() if k != "numpy" and v[0] == best_known)
    print(f"after:  {machine_load()}")
    print(f"roofline measured in this run: {roof.describe()}")
    done = len(runs)
    print(f"\n{done} runs (of --runs {args.runs}) of `tensorlang tune --target=llvm examples/matmul.py "
          f"--trials {args.trials} "
          f"--confirm-top {args.confirm_top} --seed S` (matmul {n}^3 float32, {cores} cores), {tune_wall:.0f} s "
          f"of wall time, their processes used {children_cpu:.0f} s of CPU ({children_cpu / tune_wall / cores:.0%} "
          f"of {cores} cores)")
    print(f"re-measured: each config named, fresh pinned process on {cores} cores, {args.rounds} interleaved rounds "
          f"of 5 repeats; numpy {gflops['numpy'][0]:.1f} GFLOPS (spread {100 * gflops['numpy'][1]:.1f}%, cores had "
          f"{100 * gflops['numpy'][2]:.0f}%)")
    print(f"best known: config {best_cfg}, {best_known:.1f} GFLOPS re-measured "
          f"({best_known / gflops['numpy'][0]:.2f}x numpy, {100 * best_known / roof.peak_gflops(cores):.1f}% of the "
          f"{cores}-core FMA peak)\n")
    head = f"{'seed':>4} {'wall s':>6} | {'declared':>8} {'GFLOPS':>7} {'spread':>6} {'re-meas':>7} {'% best':>6}"
    print(head + f" | {'trials only':>11} {'GFLOPS':>7} {'re-meas':>7} {'% best':>6}")
    counts = {"declared": [0, 0], "trials only": [0, 0]}
    for seed, wall, ans in runs:
        cells = []
        for name in ("declared", "trials only"):
            idx, _, claimed, spread, _ = ans[name]
            again = gflops[idx][0]
            share = again / best_known
            counts[name][0] += share >= 0.97
            counts[name][1] += share >= 0.98
            cells.append((idx, claimed, spread, again, share))
        (i1, g1, s1, r1, p1), (i2, g2, _, r2, p2) = cells
        print(f"{seed:>4} {wall:>6.0f} | {i1:>8} {g1:>7.1f} {100 * s1:>5.1f}% {r1:>7.1f} {100 * p1:>5.1f}%"
              f" | {i2:>11} {g2:>7.1f} {r2:>7.1f} {100 * p2:>5.1f}%")
    print()
    for name in ("declared", "trials only"):
        within3, within2 = counts[name]
        claimed = [ans[name][2] for _, _, ans in runs]
        agree = sum(abs(c - statistics.median(claimed)) <= 0.02 * statistics.median(claimed) for c in claimed)
        print(f"{name:>12}: {within3}/{done} runs within 3% of the best known (issue 13 goal: 9/10), "
              f"{within2}/{done} within 2% (issue 9 goal: 9/10); {len({ans[name][0] for _, _, ans in runs})} "
              f"distinct configs; claimed GFLOPS within 2% of their median in {agree}/{done} runs")
    spreads = sorted(v[1] for k, v in gflops.items() if k != "numpy")
    shares = sorted(v[2] for k, v in gflops.items() if k != "numpy")
    typical = statistics.median(spreads)
    if typical > 0.02:
        print(f"\nINCONCLUSIVE: the re-measured configs' own spread (median {100 * typical:.1f}% over rounds, "
              f"cores had a median {100 * statistics.median(shares):.0f}%) is wider than the 2-3% the goals ask; "
              "rerun on a quieter machine")
    print("\nconfigs re-measured:")
    for r in results[1:]:
        i = r.row.spec["index"]
        print(f"  {i:>8} {gflops[i][0]:7.1f} GFLOPS, spread {100 * gflops[i][1]:4.1f}%, cores had "
              f"{100 * gflops[i][2]:3.0f}%  {next(a[1] for _, _, ans in runs for a in ans.values() if a[0] == i)}"
              f"  rounds: {_round_gflops(r, flop)}")
    print(f"logs: {folder}")


def _round_gflops(result, flop: float) -> str:
    return " ".join(f"{flop / t / 1e9:.0f}" for t in result.medians)


def remeasure_only(indices: list[int], n: int, rounds: int) -> None:
    """``--configs``: each config (and numpy) in a fresh pinned process per round, interleaved;
    every round's GFLOPS, so a config fast in some processes only shows as such."""
    import matmul  # noqa: F401 - registers the template

    from tensorlang import autotune

    space = autotune.task.create("matmul", (n, n, n, "float32"), "llvm").config_space
    cores = len(os.sched_getaffinity(0))
    flop = 2.0 * n ** 3
    print(f"before: {machine_load()}")
    rows = [Row("numpy", cores, {"impl": "numpy", "n": n}, flop=flop)]
    rows += [Row(f"config {i}", cores, {"impl": "tuned", "n": n, "index": i}, flop=flop) for i in indices]
    t0 = time.perf_counter()
    results = run_rows(__file__, rows, rounds=rounds, repeats=5)
    print(f"after:  {machine_load()}")
    print(f"\nmatmul {n}^3 float32 on {cores} cores, each row a fresh pinned process per round, {rounds} interleaved "
          f"rounds of 5 repeats ({time.perf_counter() - t0:.0f} s); GFLOPS: median of rounds, then every round")
    for r in results:
        if r.error:
            print(f"  {r.row.name:>10}  failed: {r.error}")
            continue
        what = str(space.get(r.row.spec["index"])) if "index" in r.row.spec else ""
        print(f"  {r.row.name:>10} {flop / r.seconds / 1e9:7.1f}  spread {100 * r.spread:5.1f}%  cores had "
              f"{100 * r.share:3.0f}%  rounds: {_round_gflops(r, flop)}  {what}")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
