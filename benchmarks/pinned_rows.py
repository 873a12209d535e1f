"""Benchmark rows measured honestly on a shared machine: each row in a fresh process, pinned to
its cores, rows interleaved over several rounds, medians and spread, and the machine's roofline
(FMA peak, copy bandwidth) measured in the same run so every figure is also a fraction of it.

A benchmark script describes its rows (a name, a thread count and a JSON spec) and a child
function that turns a spec into a checked, ready-to-time callable; ``main`` does the rest:

    rows = [Row("numpy", 1, {"impl": "numpy"}, flop=2 * n**3), ...]
    if child_requested():                       # this process is one row
        child_main(make_callable)
    else:
        results = run_rows(__file__, rows, rounds=3)
        print_table(results, ...)

Inside a row, ``time_repeats`` takes each repeat's process CPU time beside its wall time: a
repeat whose cores were lent to another process (CPU time below 85% of wall x threads) is
measured again (up to 3 times), and the share of the cores the row really had is reported.

A memory-bound row can ask for its copy bandwidth measured beside it (``Row.copy_beside``):
after each repeat the child copies 64 MiB on the row's threads (memcpy and tensorlang's streaming
copy kernel, the better of the two), and the table gives the row's GB/s as a fraction of that
copy, the median of its repeats' fractions.
On this 2-vCPU machine the 2-core copy bandwidth itself moves between about 42 and 73 GB/s from
one minute to the next, so a 2-thread memory-bound row's GB/s moves with it from round to
round; the fraction of the copy timed in the same process, a few milliseconds away, does not
depend on which of those states the round met.  Nothing is dropped: the GB/s column is still
the plain median of round medians.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parent.parent
_CHILD_FLAG = "--pinned-row"
LENT_AWAY = 0.85  # a repeat that got less of its cores than this is measured again


@dataclass(frozen=True)
class Row:
    """One benchmark row: ``spec`` goes to the child; ``flop``/``bytes`` per call turn a time
    into GFLOPS and GB/s; ``env`` is set in the child before anything is imported; ``python``
    and ``script`` run the child with another interpreter or script (e.g. one with TVM)."""

    name: str
    threads: int
    spec: dict[str, Any]
    flop: float = 0.0
    bytes: float = 0.0
    env: dict[str, str] = field(default_factory=dict)
    python: str = ""
    script: str = ""
    copy_beside: bool = False  # time a 64 MiB copy on the row's threads after each repeat


@dataclass
class RowResult:
    row: Row
    medians: list[float] = field(default_factory=list)  # one per round: median seconds per call
    shares: list[float] = field(default_factory=list)  # CPU time / (wall x threads), per round
    retried: int = 0
    error: str = ""
    fractions: list[float] = field(default_factory=list)  # per round: median of GB/s / copy GB/s beside
    copies: list[float] = field(default_factory=list)  # per round: median copy GB/s measured beside

    @property
    def copy_fraction(self) -> float:
        """The row's GB/s over the copy bandwidth timed beside it: the median over rounds."""
        return statistics.median(self.fractions) if self.fractions else float("nan")

    @property
    def fraction_spread(self) -> float:
        """(highest - lowest round fraction) / their median."""
        return range_over_median(self.fractions)

    @property
    def seconds(self) -> float:
        return statistics.median(self.medians) if self.medians else float("nan")

    @property
    def spread(self) -> float:
        """(slowest - fastest round) / median, as a fraction."""
        return range_over_median(self.medians)

    @property
    def share(self) -> float:
        return statistics.median(self.shares) if self.shares else float("nan")


def range_over_median(values: Sequence[float]) -> float:
    """(max - min) / median; 0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    return (max(values) - min(values)) / statistics.median(values)


# --- the child side --------------------------------------------------------------------------

def child_requested() -> bool:
    return _CHILD_FLAG in sys.argv


def time_repeats(fn: Callable[[], Any], threads: int, repeats: int = 5, min_seconds: float = 0.05,
                 max_retries: int = 3, beside: Callable[[], float] | None = None) -> dict[str, Any]:
    """Time ``fn``: calls per repeat sized so a repeat lasts ``min_seconds``; each repeat
    re-measured (up to ``max_retries`` times) when its CPU time shows the cores were lent away.
    ``beside()``, when given, runs after each repeat (followed by one untimed call) and its
    figures come back as ``beside``."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_seconds / one))
    times, shares, retried, besides = [], [], 0, []
    for _ in range(repeats):
        for attempt in range(max_retries + 1):
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(number):
                fn()
            wall = time.perf_counter() - w0
            share = (time.process_time() - c0) / (wall * threads)
            if share >= LENT_AWAY or attempt == max_retries:
                break
            retried += 1
        times.append(wall / number)
        shares.append(share)
        if beside is not None:
            besides.append(beside())
            fn()  # untimed: the kernel's pool threads, asleep after the copy, are awake again
    out = {"times": times, "shares": shares, "retried": retried, "number": number}
    if beside is not None:
        out["beside"] = besides
    return out


def copy_beside(threads: int) -> Callable[[], float]:
    """A 64 MiB copy on ``threads`` threads (twice the L3 of this machine's both arrays together),
    returning its GB/s (read + write bytes): the better of memcpy and tensorlang's streaming copy
    kernel (``roofline.stream_copier``), so a kernel that streams its stores is not compared with
    a memcpy that does not.  Buffers touched once before."""
    import numpy as np

    from tensorlang.autotune.roofline import copy_gbs, stream_copier
    src = np.ones(16 << 20, dtype=np.float32)
    dst = np.zeros_like(src)
    np.copyto(dst, src)
    stream = stream_copier(src.size)
    copy_gbs(dst, src, threads)
    stream(dst, src, threads)
    return lambda: max(copy_gbs(dst, src, threads), stream(dst, src, threads))


def child_main(make: Callable[[dict[str, Any], int], Callable[[], Any]]) -> None:
    """Run one row: ``make(spec, threads)`` returns a callable already checked against numpy."""
    spec = json.loads(sys.argv[sys.argv.index(_CHILD_FLAG) + 1])
    threads = int(spec.pop("__threads"))
    repeats = int(spec.pop("__repeats", 5))
    min_seconds = float(spec.pop("__min_seconds", 0.05))
    beside = copy_beside(threads) if spec.pop("__copy_beside", False) else None
    fn = make(spec, threads)
    print(json.dumps(time_repeats(fn, threads, repeats, min_seconds, beside=beside)))


# --- the parent side -------------------------------------------------------------------------

def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _pinned_cpus(threads: int, round_no: int) -> list[int]:
    """One-thread rows rotate over the CPUs from round to round; wider rows take the first ``threads``."""
    cpus = _cpus()
    if threads >= len(cpus):
        return cpus
    start = round_no % len(cpus)
    return [cpus[(start + k) % len(cpus)] for k in range(threads)]


def _run_child(script: str, row: Row, round_no: int, repeats: int, min_seconds: float,
               timeout: float) -> dict[str, Any]:
    spec = {**row.spec, "__threads": row.threads, "__repeats": repeats, "__min_seconds": min_seconds,
            "__copy_beside": row.copy_beside}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_REPO), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS=str(row.threads), OMP_NUM_THREADS=str(row.threads),
               MKL_NUM_THREADS=str(row.threads), TENSORLANG_NUM_THREADS=str(row.threads))
    env.pop("OPENBLAS_CORETYPE", None)
    env.update(row.env)
    cpus = _pinned_cpus(row.threads, round_no)
    argv = [row.python or sys.executable, row.script or script, _CHILD_FLAG, json.dumps(spec)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_rows(script: str, rows: Sequence[Row], rounds: int = 3, repeats: int = 5, min_seconds: float = 0.05,
             timeout: float = 300.0, progress: bool = True) -> list[RowResult]:
    """Every row once per round, in a fresh pinned process, the row order rotated each round."""
    results = [RowResult(r) for r in rows]
    for rnd in range(rounds):
        order = list(range(len(rows)))
        order = order[rnd % len(order):] + order[:rnd % len(order)]
        for k in order:
            res = results[k]
            if res.error:
                continue
            if progress:
                print(f"  round {rnd + 1}/{rounds}: {res.row.name} ({res.row.threads} thread(s))",
                      file=sys.stderr, flush=True)
            try:
                out = _run_child(script, res.row, rnd, repeats, min_seconds, timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                res.error = str(exc)[:200]
                continue
            res.medians.append(statistics.median(out["times"]))
            res.shares.append(statistics.median(out["shares"]))
            res.retried += out["retried"]
            if out.get("beside") and res.row.bytes:
                res.copies.append(statistics.median(out["beside"]))
                res.fractions.append(statistics.median(res.row.bytes / t / 1e9 / c
                                                       for t, c in zip(out["times"], out["beside"])))
    return results


def measure_roofline_fresh() -> Any:
    """The roofline measured now, in a fresh process (and written to the cache for others)."""
    code = ("import json; from tensorlang.autotune.roofline import machine_roofline; "
            "print(json.dumps(machine_roofline(force=True).to_json()))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_REPO), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    sys.path.insert(0, str(_REPO))
    from tensorlang.autotune.roofline import Roofline
    return Roofline.from_json(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(script: str, rows: Sequence[Row], rounds: int = 3, repeats: int = 5,
            min_seconds: float = 0.05) -> tuple[Any, list[RowResult], float]:
    """The whole run: the machine's load before and after, the roofline measured now, and the
    rows (``run_rows``); returns (roofline, results, seconds the rows took)."""
    print(f"before: {machine_load()}")
    roof = measure_roofline_fresh()
    t0 = time.perf_counter()
    results = run_rows(script, rows, rounds=rounds, repeats=repeats, min_seconds=min_seconds)
    wall = time.perf_counter() - t0
    print(f"after:  {machine_load()}")
    print(f"roofline measured in this run: {roof.describe()}")
    return roof, results, wall


def machine_load() -> str:
    """Load averages and the busiest other processes, for the report."""
    one, five, _ = os.getloadavg()
    try:
        ps = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], capture_output=True,
                            text=True, timeout=5).stdout.split("\n")[:4]
        busy = ", ".join(" ".join(line.split()) for line in ps if line.strip())
    except (OSError, subprocess.SubprocessError):
        busy = "?"
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min); busiest: {busy}"


def _milliseconds(seconds: float) -> str:
    """Milliseconds with three decimals, or four significant digits below 1 ms (a call of a
    few microseconds would otherwise print as 0.001)."""
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms >= 1 else f"{ms:.4g}"


def print_table(results: Sequence[RowResult], roof: Any, reference: Callable[[RowResult], RowResult | None],
                ref_label: str = "x numpy", compute_bound: bool = True) -> None:
    """Median ms, spread, GFLOPS or GB/s, the fraction of the roofline, the ratio to the
    reference row (``reference(result)``), and the share of its cores the row had."""
    rate_head = "GFLOPS" if compute_bound else "GB/s"
    frac_head = "% FMA peak" if compute_bound else "% copy BW"
    beside = any(res.fractions for res in results)
    beside_head = f" {'% copy beside':>13} {'spread':>7}" if beside else ""
    print(f"{'implementation':56} {'thr':>3} {'ms':>9} {'spread':>7} {rate_head:>8} {frac_head:>10}{beside_head} "
          f"{ref_label:>8} {'cores had':>9}")
    for res in results:
        r = res.row
        if res.error:
            print(f"{r.name:56} {r.threads:>3}  failed: {res.error}")
            continue
        t = res.seconds
        if compute_bound:
            rate = r.flop / t / 1e9
            frac = rate / roof.peak_gflops(r.threads)
        else:
            rate = r.bytes / t / 1e9
            frac = rate / roof.bandwidth_gbs(r.threads)
        ref = reference(res)
        ratio = f"{ref.seconds / t:8.2f}" if ref is not None and not ref.error else f"{'-':>8}"
        retry = f" ({res.retried} repeats re-measured)" if res.retried else ""
        side = ""
        if beside:
            side = (f" {100 * res.copy_fraction:>12.1f}% {100 * res.fraction_spread:>6.1f}%" if res.fractions
                    else f" {'-':>13} {'-':>7}")
        print(f"{r.name:56} {r.threads:>3} {_milliseconds(t):>9} {100 * res.spread:>6.1f}% {rate:>8.1f} "
              f"{100 * frac:>9.1f}%{side} {ratio} {100 * res.share:>8.0f}%{retry}")
