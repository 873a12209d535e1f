"""Benchmark: float32 matmul on the CPU, tensorlang against numpy measured in the same run.

    python benchmarks/matmul_cpu.py [--size 1024] [--rounds 3] [--naive] [--log tuning_logs/matmul.llvm.json]

Rows: numpy as installed (OpenBLAS picks its kernels for this CPU), numpy with
OPENBLAS_CORETYPE=SkylakeX (AVX-512 kernels), a naive tensorlang matmul (``--naive``), the
register-blocked hand schedule of examples/matmul.py, and the tuned template from a tuning log
when one exists; each on one thread and on all cores.  Each row runs in a fresh process pinned
to its cores (one-thread rows rotate over the CPUs), rows interleaved over ``rounds`` rounds;
a row's figure is the median of its round medians, ``spread`` the range of the round medians.
The FMA peak is measured in the same run, and every figure is also a fraction of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinned_rows import Row, child_main, child_requested, measure, print_table  # noqa: E402

from tensorlang.topi.x86.utils import target_has_avx512  # noqa: E402


def make_row(spec: dict, threads: int):
    """Child side: the row's callable, its result checked against numpy first."""
    import numpy as np

    n = spec["n"]
    rng = np.random.default_rng()
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    if spec["impl"] == "numpy":
        return lambda: np.matmul(a, b, out=c)
    import matmul

    import tensorlang as tl
    from tensorlang import autotune

    if spec["impl"] == "naive":
        s, args = matmul.naive(n, n, n)
        f = tl.build(s, args, target="llvm", name="matmul_naive")
    elif spec["impl"] == "blocked":
        s, args = matmul.blocked(n, n, n)
        f = tl.build(s, args, target="llvm", name="matmul_blocked")
    else:
        with autotune.apply_history_best(spec["log"]), tl.target.Target("llvm"):
            s, args = matmul.matmul_template(n, n, n, "float32")
            f = tl.build(s, args, name="matmul_tuned")
    f.set_num_threads(threads)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-3, atol=1e-2, err_msg=spec["impl"])
    return lambda: f(a, b, c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5, help="timed repeats inside each row's process")
    ap.add_argument("--naive", action="store_true", help="add the (slow) naive schedule")
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    ap.add_argument("--log", default="tuning_logs/matmul.llvm.json", help="tuning log for the tuned row")
    args = ap.parse_args()
    import os

    n = args.size
    cores = len(os.sched_getaffinity(0))
    thread_counts = sorted({int(t) for t in args.threads.split(",") if t} or {1, cores})
    flop = 2.0 * n ** 3
    impls = [("numpy (as installed)", {"impl": "numpy"}, {})]
    if target_has_avx512():  # elsewhere OpenBLAS's AVX-512 kernels die of SIGILL
        impls.append(("numpy (OPENBLAS_CORETYPE=SkylakeX)", {"impl": "numpy"}, {"OPENBLAS_CORETYPE": "SkylakeX"}))
    else:
        print("no AVX-512 on this CPU: no OPENBLAS_CORETYPE=SkylakeX row", file=sys.stderr)
    if args.naive:
        impls.append(("tensorlang naive", {"impl": "naive"}, {}))
    impls.append(("tensorlang blocked (hand schedule)", {"impl": "blocked"}, {}))
    if Path(args.log).exists():
        log = str(Path(args.log).resolve())
        impls.append((f"tensorlang tuned ({Path(args.log).name})", {"impl": "tuned", "log": log}, {}))
    else:
        print(f"no tuning log at {args.log}: run `tensorlang tune --target=llvm examples/matmul.py` "
              "for the tuned row", file=sys.stderr)
    rows = [Row(name, t, {**spec, "n": n}, flop=flop, env=env) for t in thread_counts for name, spec, env in impls]

    roof, results, wall = measure(__file__, rows, rounds=args.rounds, repeats=args.repeat)
    print(f"\nfloat32 matmul {n}x{n}x{n}; each row a fresh pinned process, {args.rounds} interleaved rounds "
          f"of {args.repeat} repeats, median of round medians ({wall:.0f} s)")

    def numpy_of(res):
        return next((r for r in results if r.row.name == "numpy (as installed)" and r.row.threads == res.row.threads),
                    None)
    print_table(results, roof, numpy_of)


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
