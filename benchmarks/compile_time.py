"""Benchmark: how long ``tl.lower`` and ``tl.build`` take for the hand-scheduled matmul, for this
checkout and (optionally) other checkouts measured in the same run.

    python benchmarks/compile_time.py [--size 1024] [--repeat 7] [--against /path/to/other/checkout ...]

Each checkout runs in its own processes (its package first on sys.path), alternating, so load
on the machine hits all of them alike. A process builds once to warm up (LLVM initialization,
imports), then times ``repeat`` rounds of lower, and of build from the lowered function (code
generation, LLVM O3, MCJIT). Rows: medians of the process's CPU time in milliseconds over all
rounds (CPU time, not wall time: on a shared machine waiting for a core is not compile work),
and the ratio to the first checkout. The built function is checked against numpy before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_WORKER = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1] + "/examples")
import tensorlang as tl
import matmul as ex
n, repeat = int(sys.argv[2]), int(sys.argv[3])
s, args = ex.blocked(n, n, n)
f = tl.build(s, args, target="llvm", name="mm")
rng = np.random.default_rng()
a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)
c = np.empty((n, n), np.float32)
f(a, b, c)
np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-3)
lower, build = [], []
for _ in range(repeat):
    s, args = ex.blocked(n, n, n)
    t0 = time.process_time(); func = tl.lower(s, args, name="mm"); t1 = time.process_time()
    tl.build(func, target="llvm"); t2 = time.process_time()
    lower.append(t1 - t0); build.append(t2 - t1)
print(json.dumps({"lower": lower, "build": build, "file": tl.__file__}))
"""


def run_worker(checkout: Path, size: int, repeat: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    out = subprocess.run([sys.executable, "-c", _WORKER, str(checkout), str(size), str(repeat)], env=env,
                         capture_output=True, text=True, check=True, cwd=checkout)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["file"].startswith(str(checkout)):
        raise RuntimeError(f"{checkout}: imported tensorlang from {result['file']}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=7, help="timed rounds per process")
    ap.add_argument("--processes", type=int, default=3, help="processes per checkout (alternating)")
    ap.add_argument("--against", nargs="*", default=[], help="other checkouts to measure in the same run")
    opts = ap.parse_args()
    checkouts = [Path(__file__).resolve().parent.parent] + [Path(p).resolve() for p in opts.against]
    times: dict[Path, dict[str, list[float]]] = {c: {"lower": [], "build": []} for c in checkouts}
    cpu0 = os.times()
    wall0 = time.perf_counter()
    for _ in range(opts.processes):
        for c in checkouts:
            r = run_worker(c, opts.size, opts.repeat)
            times[c]["lower"] += r["lower"]
            times[c]["build"] += r["build"]
    cpu1 = os.times()
    wall = time.perf_counter() - wall0
    busy = (cpu1.children_user + cpu1.children_system - cpu0.children_user - cpu0.children_system) / wall
    print(f"blocked matmul {opts.size}^3 (examples/matmul.py), {opts.processes} processes x {opts.repeat} rounds "
          f"per checkout; load average {os.getloadavg()[0]:.2f}, our CPU time / wall time {busy:.2f}")
    print(f"{'checkout':<40} {'lower ms':>10} {'build ms':>10} {'total ms':>10} {'vs first':>9}")
    first = None
    for c in checkouts:
        lo, bu = statistics.median(times[c]["lower"]) * 1e3, statistics.median(times[c]["build"]) * 1e3
        first = first or lo + bu
        print(f"{str(c):<40} {lo:>10.1f} {bu:>10.1f} {lo + bu:>10.1f} {(lo + bu) / first:>9.2f}")


if __name__ == "__main__":
    main()
