"""Benchmark: memory-bound float32 kernels (vector add, a fused elementwise chain, exp, row
softmax) against numpy and the machine's copy bandwidth, measured in the same run.  The exp row
is the ceiling of a softmax: one pass that reads, exponentiates and writes each element once.

    python benchmarks/membound_cpu.py [--n 67108864] [--rows 4096 --cols 4096] [--rounds 3]

GB/s counts bytes the STREAM way (each array read or written once); large written-once outputs
use streaming stores (tensorlang.ir.passes.streaming_stores), as numpy's copy (memcpy) does; the copy bandwidth
(numpy copy of 256 MiB, see tensorlang.autotune.roofline) is measured in this run, and a
``numpy copy`` row of the same size is timed beside the kernels.  Each row runs in a fresh
process pinned to its cores, rows interleaved over rounds; medians of round medians.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinned_rows import Row, child_main, child_requested, measure, print_table  # noqa: E402


def make_row(spec: dict, threads: int):
    import numpy as np

    rng = np.random.default_rng()
    kind, impl = spec["kind"], spec["impl"]
    if kind == "softmax":
        shape = (spec["rows"], spec["cols"])
        a = (rng.standard_normal(shape) * 4).astype(np.float32)
        out = np.empty_like(a)
        import membound
        if impl == "numpy":
            return lambda: membound.numpy_softmax(a, out)
        import tensorlang as tl
        s, args = membound.softmax(*shape)
        f = tl.build(s, args, target="llvm", name="softmax")
        f.set_num_threads(threads)
        f(a, out)
        np.testing.assert_allclose(out, membound.numpy_softmax(a), rtol=1e-5, atol=1e-8)
        return lambda: f(a, out)
    n = spec["n"]
    ins = [rng.random(n, dtype=np.float32) for _ in range({"copy": 1, "vadd": 2, "chain": 3, "exp": 1}[kind])]
    out = np.empty(n, dtype=np.float32)
    if impl == "numpy":
        if kind == "copy":
            return lambda: np.copyto(out, ins[0])
        if kind == "vadd":
            return lambda: np.add(ins[0], ins[1], out=out)
        if kind == "exp":
            return lambda: np.exp(ins[0], out=out)
        a, b, c = ins

        def numpy_chain():  # in place into out: the fewest passes numpy can do
            np.multiply(a, b, out=out)
            out.__iadd__(c)
            np.maximum(out, 0, out=out)
            out.__imul__(0.5)
            out.__isub__(c)
        return numpy_chain
    import membound

    import tensorlang as tl
    s, args = getattr(membound, "exp_map" if kind == "exp" else kind)(n)
    f = tl.build(s, args, target="llvm", name=kind)
    f.set_num_threads(threads)
    f(*ins, out)
    if kind == "vadd":
        expected = ins[0] + ins[1]
    elif kind == "exp":
        expected = np.exp(ins[0])
    else:
        expected = np.maximum(ins[0] * ins[1] + ins[2], 0) * 0.5 - ins[2]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    return lambda: f(*ins, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=64 << 20, help="elements of the 1-D kernels")
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    thread_counts = sorted({int(t) for t in args.threads.split(",") if t} or {1, cores})
    n, f4 = args.n, 4
    kernels = [("copy", {"n": n}, 2 * n * f4, ["numpy"]),
               ("vadd", {"n": n}, 3 * n * f4, ["numpy", "tensorlang"]),
               ("chain", {"n": n}, 4 * n * f4, ["numpy", "tensorlang"]),
               ("exp", {"n": n}, 2 * n * f4, ["numpy", "tensorlang"]),
               ("softmax", {"rows": args.rows, "cols": args.cols}, 2 * args.rows * args.cols * f4,
                ["numpy", "tensorlang"])]
    rows = []
    for t in thread_counts:
        for kind, size, nbytes, impls in kernels:
            for impl in impls:
                label = {"copy": f"copy {n >> 20}M floats", "vadd": f"vector add {n >> 20}M floats",
                         "chain": f"chain max(a*b+c,0)*.5-c {n >> 20}M", "exp": f"exp {n >> 20}M floats",
                         "softmax": f"softmax {args.rows}x{args.cols}"}[kind]
                if impl == "numpy" and t > 1:
                    continue  # numpy's copies and ufuncs use one thread whatever the setting
                rows.append(Row(f"{label}: {impl}", t, {"kind": kind, "impl": impl, **size}, bytes=nbytes))
                if impl == "tensorlang" and kind in ("vadd", "chain") and t == 1:  # the same, without streaming
                    rows.append(Row(f"{label}: tensorlang, ordinary stores", t, {"kind": kind, "impl": impl, **size},
                                    bytes=nbytes, env={"TENSORLANG_STREAMING_MIN_BYTES": str(1 << 62)}))

    roof, results, wall = measure(__file__, rows, rounds=args.rounds, repeats=args.repeat, min_seconds=0.1)
    print(f"\nmemory-bound float32 kernels; each row a fresh pinned process, {args.rounds} interleaved rounds "
          f"of {args.repeat} repeats ({wall:.0f} s); GB/s counts each array once")

    def numpy_of(res):
        kind = res.row.spec["kind"]
        cands = [r for r in results if r.row.spec["kind"] == kind and r.row.spec["impl"] == "numpy"]
        same = [r for r in cands if r.row.threads == res.row.threads]
        return (same or cands or [None])[0]
    print_table(results, roof, numpy_of, compute_bound=False)
    copy = next((r for r in results if r.row.spec["kind"] == "copy" and not r.error), None)
    if copy is not None:  # the same-size numpy copy row of this run: the ceiling a written-once output sees
        copy_rate = copy.row.bytes / copy.seconds
        print(f"\nagainst the numpy copy row of this run ({copy_rate / 1e9:.1f} GB/s, 1 thread):")
        for res in results:
            if res.error or res.row.spec["kind"] == "copy" or res.row.spec["kind"] == "softmax":
                continue
            print(f"  {res.row.name:54} {res.row.threads} thr  {res.row.bytes / res.seconds / copy_rate:5.2f} of copy")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
