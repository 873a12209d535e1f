"""Benchmark: how far a 4096x4096 row softmax can go on this CPU: tensorlang's softmax beside a
hand-written vectorized C softmax (benchmarks/softmax_floor.c: AVX-512, or AVX2 with FMA) and
beside that C softmax's arithmetic alone, run on rows that stay in the caches: the least time any schedule of the
softmax's arithmetic takes, memory aside.  numpy and the copy bandwidth are measured in the
same run.

    python benchmarks/softmax_floor.py [--log tuning_logs/softmax.auto.json] [--threads 1,2]

Without ``--log`` the tensorlang row is the hand schedule of examples/membound.py; with one it
is the auto-scheduler's best from that log (``tensorlang tune --auto --target=llvm
examples/softmax.py``).  The C file is compiled with ``cc -O3 -march=native -fopenmp``; without
a C compiler (or OpenMP) its rows say so and the rest still runs.

The question it answers (issue 11 asks for 80% of copy bandwidth): is the softmax bound by
memory or by its arithmetic here?  The "C, arithmetic alone" row does the same work per element
as the C softmax (max pass, exp and sum pass, exact division) over a block of 8 rows that stays
in L2, repeated until it has covered as many elements as the 4096x4096 softmax; its GB/s counts
the bytes the full softmax would move.  A softmax cannot beat it, so when it is below 80% of the
copy bandwidth, 80% is out of reach on this machine with an exact exp and division.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "examples"))
sys.path.insert(0, str(_HERE))

from pinned_rows import Row, child_main, child_requested, measure, print_table  # noqa: E402

ROWS, COLS = 4096, 4096
BYTES = 2.0 * ROWS * COLS * 4  # read once, written once (STREAM counting)
CACHE_ROWS = 8  # the arithmetic-alone block: 8 rows in and out, 256 KiB, in any L2 of 512 KiB or more


def _softmax(x):
    import numpy as np
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _c_library() -> ctypes.CDLL:
    """The C softmax, compiled for this CPU into a temporary folder (RuntimeError if it cannot be)."""
    out = Path(tempfile.mkdtemp(prefix="softmax_floor_")) / "softmax_floor.so"
    cmd = [os.environ.get("CC", "cc"), "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC",
           str(_HERE / "softmax_floor.c"), "-o", str(out), "-lm"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except OSError as exc:
        raise RuntimeError(f"no C compiler: {exc}") from None
    if proc.returncode != 0:
        raise RuntimeError("cc failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1])
    lib = ctypes.CDLL(str(out))
    f32p = ctypes.POINTER(ctypes.c_float)
    lib.softmax_rows.argtypes = [f32p, f32p, ctypes.c_long, ctypes.c_long, ctypes.c_int]
    lib.softmax_in_cache.argtypes = [f32p, f32p, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_int]
    return lib


def _aligned(shape, rng):
    """Standard-normal float32 of ``shape`` whose data starts on a 64-byte boundary (the C
    kernel uses aligned vector loads)."""
    import numpy as np
    n = int(np.prod(shape))
    raw = np.empty(n + 16, np.float32)
    skip = (-raw.ctypes.data % 64) // 4
    a = raw[skip:skip + n].reshape(shape)
    a[...] = rng.standard_normal(shape).astype(np.float32)
    return a


def make_row(spec: dict, threads: int):
    """Child: a checked callable for one row."""
    import numpy as np
    rng = np.random.default_rng()
    x = _aligned((ROWS, COLS), rng)
    out = _aligned((ROWS, COLS), rng)
    impl = spec["impl"]
    if impl == "numpy":
        return lambda: _softmax(x)
    if impl in ("c", "c_cache"):
        lib = _c_library()
        ptr = ctypes.POINTER(ctypes.c_float)
        if impl == "c":
            def run_c():
                lib.softmax_rows(x.ctypes.data_as(ptr), out.ctypes.data_as(ptr), ROWS, COLS, threads)
            run_c()
            np.testing.assert_allclose(out, _softmax(x), rtol=1e-5, atol=1e-8, err_msg="C softmax")
            return run_c
        xs, ys = x[:CACHE_ROWS], out[:CACHE_ROWS]
        reps = ROWS // CACHE_ROWS

        def run_cache():
            lib.softmax_in_cache(xs.ctypes.data_as(ptr), ys.ctypes.data_as(ptr), CACHE_ROWS, COLS, reps, threads)
        run_cache()
        np.testing.assert_allclose(ys, _softmax(xs), rtol=1e-5, atol=1e-8, err_msg="C softmax in cache")
        return run_cache
    import tensorlang as tl
    if spec.get("log"):
        import softmax

        from tensorlang.autoschedule import SearchTask
        s, args = SearchTask(softmax.softmax, (ROWS, COLS), "llvm", name="softmax").apply_best(spec["log"])
    else:
        import membound
        s, args = membound.softmax(ROWS, COLS)
    f = tl.build(s, args, target="llvm")
    f.set_num_threads(threads)
    f(x, out)
    np.testing.assert_allclose(out, _softmax(x), rtol=1e-5, atol=1e-8, err_msg="tensorlang softmax")
    return lambda: f(x, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", default="", help="an auto-scheduler log of examples/softmax.py at 4096x4096")
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cores})
    label = "tensorlang, auto-scheduled" if args.log else "tensorlang, hand schedule"
    rows = []
    for t in threads:
        rows += [Row("numpy (textbook softmax)", t, {"impl": "numpy"}, bytes=BYTES, copy_beside=True),
                 Row(label, t, {"impl": "tensorlang", "log": os.path.abspath(args.log) if args.log else ""},
                     bytes=BYTES, copy_beside=True),
                 Row("C, vectorized by hand", t, {"impl": "c"}, bytes=BYTES, copy_beside=True),
                 Row(f"C, arithmetic alone ({CACHE_ROWS} rows in cache)", t, {"impl": "c_cache"}, bytes=BYTES,
                     copy_beside=True)]
    roof, results, _ = measure(__file__, rows, rounds=args.rounds, min_seconds=0.1)
    print()
    by_key = {(r.row.name, r.row.threads): r for r in results}
    print_table(results, roof, lambda r: by_key.get(("numpy (textbook softmax)", r.row.threads)),
                compute_bound=False)
    print("\nagainst issue 11's goal (80% of the copy bandwidth timed beside each row):")
    for t in threads:
        got = {r.row.spec["impl"]: r for r in results if r.row.threads == t and not r.error}
        copies = [c for r in got.values() for c in r.copies]
        if not copies:
            continue
        copy = statistics.median(copies)
        goal_ms = BYTES / (0.8 * copy * 1e9) * 1e3
        line = f"  {t} thread(s): copy {copy:.1f} GB/s, so 80% is {goal_ms:.2f} ms a call"
        for impl, name in (("tensorlang", "tensorlang"), ("c", "C"), ("c_cache", "arithmetic alone")):
            if impl in got:
                line += f"; {name} {got[impl].seconds * 1e3:.2f} ms ({100 * got[impl].copy_fraction:.1f}%)"
        print(line)


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
