"""Benchmark: the cost of launching a parallel loop, and small parallel kernels on 1 and 2 threads.

    python benchmarks/parallel_launch.py [--rounds 3]

Rows: a parallel loop of 2 (nearly empty) iterations, whose time is the launch overhead plus a
ctypes call (built with TENSORLANG_PARALLEL_MIN_WORK=0, so the pool really runs it on every
thread); the same kernel's serial build (the ctypes call alone); vector adds of 64K and 1M
floats split into parallel blocks, with the default work threshold (a loop too small to pay for
a second thread runs on the calling thread alone) and, on all cores, without it; numpy's add of
the same sizes; and the Python call of a 64-float add (3 arrays checked and passed: what a
tiny kernel costs from Python), static and symbolic shape, beside numpy's and beside the general
checks (``ArgBinder.bind``, what every call cost before the checks made per signature).  Each row in a fresh process
pinned to its cores, interleaved over rounds, medians of round medians; copy bandwidth from the
roofline measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinned_rows import Row, child_main, child_requested, measure, print_table  # noqa: E402


def make_row(spec: dict, threads: int):
    import numpy as np

    import tensorlang as tl
    from tensorlang import te

    n, impl = spec["n"], spec["impl"]
    rng = np.random.default_rng()
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c = np.empty_like(a)
    if impl == "numpy":
        return lambda: np.add(a, b, out=c)
    if impl.startswith("call"):  # the Python call path: a plain loop, checks of 3 arrays
        size = te.var("n") if impl == "call-symbolic" else n
        A = te.placeholder((size,), name="A")
        B = te.placeholder((size,), name="B")
        C = te.compute((size,), lambda i: A[i] + B[i], name="C")
        f = tl.build(te.create_schedule(C.op), [A, B, C], target="llvm")
        f(a, b, c)
        np.testing.assert_array_equal(c, a + b)
        if impl == "call-general":  # what every call cost before the per-signature checks: bind, then call
            fn, bind = f._function(), f._binder.bind
            return lambda module=f: fn(*bind((a, b, c)).values)  # the module keeps its code alive
        return lambda: f(a, b, c)
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    block = max(n // 2, 16) if impl == "tiny" else 4096
    xo, xi = s[C].split(C.op.axis[0], factor=block)
    if impl != "serial":
        s[C].parallel(xo)
    xio, xii = s[C].split(xi, factor=16)
    s[C].vectorize(xii)
    f = tl.build(s, [A, B, C], target="llvm")
    f.set_num_threads(threads)
    f(a, b, c)
    np.testing.assert_array_equal(c, a + b)
    return lambda: f(a, b, c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    every_thread = {"TENSORLANG_PARALLEL_MIN_WORK": "0"}
    rows = [Row("launch: 2-iteration parallel loop (32 floats)", t, {"n": 32, "impl": "tiny"}, bytes=3 * 32 * 4,
                env=every_thread) for t in sorted({1, cores})]
    rows.append(Row("launch: same loop built serial", 1, {"n": 32, "impl": "serial"}, bytes=3 * 32 * 4))
    rows += [Row("call of a 64-float add: numpy", 1, {"n": 64, "impl": "numpy"}, bytes=3 * 64 * 4),
             Row("call of a 64-float add: tensorlang", 1, {"n": 64, "impl": "call"}, bytes=3 * 64 * 4),
             Row("call of a 64-float add: tensorlang, shape (n,)", 1, {"n": 64, "impl": "call-symbolic"},
                 bytes=3 * 64 * 4),
             Row("call of a 64-float add: tensorlang, general checks", 1, {"n": 64, "impl": "call-general"},
                 bytes=3 * 64 * 4)]
    for n in (1 << 16, 1 << 20):
        rows.append(Row(f"vector add {n >> 10}K floats: numpy", 1, {"n": n, "impl": "numpy"}, bytes=3 * n * 4))
        for t in sorted({1, cores}):
            rows.append(Row(f"vector add {n >> 10}K floats: tensorlang parallel", t, {"n": n, "impl": "blocks"},
                            bytes=3 * n * 4))
        if cores > 1:
            rows.append(Row(f"vector add {n >> 10}K floats: tensorlang, min work 0", cores,
                            {"n": n, "impl": "blocks"}, bytes=3 * n * 4, env=every_thread))
    roof, results, wall = measure(__file__, rows, rounds=args.rounds, repeats=args.repeat, min_seconds=0.05)
    print(f"\nparallel launch; each row a fresh pinned process, {args.rounds} interleaved rounds ({wall:.0f} s); "
          "the ms column is per call (x 1000 = us)")

    def ref_of(res):
        name = res.row.name.split(":")[0]
        if name == "launch":
            return next((r for r in results if r.row.spec["impl"] == "serial"), None)
        return next((r for r in results if r.row.name.startswith(name) and r.row.spec["impl"] == "numpy"), None)
    print_table(results, roof, ref_of, ref_label="x ref", compute_bound=False)
    print("x ref: against the serial build for the launch rows, against numpy for the vector adds and calls")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
