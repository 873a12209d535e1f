"""Benchmark: float32 matmul on the CPU, tensorlang against numpy measured in the same run.

    python benchmarks/matmul_cpu.py [--size 1024] [--repeat 5]

Rows: numpy as installed (OpenBLAS picks its kernels for this CPU), numpy with
OPENBLAS_CORETYPE=SkylakeX (AVX-512 kernels; set before numpy loads, so in a subprocess),
a naive tensorlang matmul, the register-blocked hand schedule of examples/matmul.py, and
the tuned template from a tuning log (``tensorlang tune --target=llvm examples/matmul.py``
writes tuning_logs/matmul.llvm.json); each on one thread and on all cores.  Medians of
``repeat`` timed runs on fresh random data; every tensorlang result is checked against numpy
before it is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

_NUMPY_SNIPPET = """
import json, sys, time
import numpy as np
n, repeat = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng()
a = rng.random((n, n), dtype=np.float32); b = rng.random((n, n), dtype=np.float32)
a @ b
times = []
for _ in range(repeat):
    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)
print(json.dumps(sorted(times)[len(times) // 2]))
"""


def numpy_seconds(n: int, repeat: int, threads: int, coretype: str | None) -> float:
    """Median seconds of numpy's a @ b in a fresh process with the given OpenBLAS settings."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, "-c", _NUMPY_SNIPPET, str(n), str(repeat)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def tensorlang_seconds(f, a, b, c, repeat: int, threads: int) -> float:
    f.set_num_threads(threads)
    number = 1
    return f.time_evaluator(number=number, repeat=repeat)(a, b, c).median


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-naive", action="store_true", help="leave out the (slow) naive schedule")
    ap.add_argument("--log", default="tuning_logs/matmul.llvm.json", help="tuning log for the tuned row")
    args = ap.parse_args()
    n, rep = args.size, args.repeat
    cores = len(os.sched_getaffinity(0))
    flops = 2.0 * n ** 3

    from matmul import blocked, matmul_template, naive

    import tensorlang as tl
    from tensorlang import autotune

    rng = np.random.default_rng()
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    ref = a @ b

    t0 = time.perf_counter()
    s, targs = blocked(n, n, n)
    lowered = tl.lower(s, targs, name="matmul_blocked")
    t1 = time.perf_counter()
    f_blocked = tl.build(lowered, target="llvm", name="matmul_blocked")
    t2 = time.perf_counter()
    kernels = [("tensorlang blocked", f_blocked)]
    if not args.skip_naive:
        s, targs = naive(n, n, n)
        kernels.insert(0, ("tensorlang naive", tl.build(s, targs, target="llvm", name="matmul_naive")))
    if Path(args.log).exists():
        with autotune.apply_history_best(args.log), tl.target.Target("llvm"):
            s, targs = matmul_template(n, n, n, "float32")
            kernels.append((f"tensorlang tuned ({Path(args.log).name})", tl.build(s, targs, name="matmul_tuned")))
    else:
        print(f"no tuning log at {args.log}: run `tensorlang tune --target=llvm examples/matmul.py` "
              "for the tuned row", file=sys.stderr)
    for name, f in kernels:
        c = np.zeros((n, n), dtype=np.float32)
        f(a, b, c)
        np.testing.assert_allclose(c, ref, rtol=1e-3, atol=1e-2, err_msg=name)

    rows = []
    for threads in sorted({1, cores}):
        base = numpy_seconds(n, rep, threads, None)
        avx512 = numpy_seconds(n, rep, threads, "SkylakeX")
        rows.append(("numpy (as installed)", threads, base, base, avx512))
        rows.append(("numpy (OPENBLAS_CORETYPE=SkylakeX)", threads, avx512, base, avx512))
        for name, f in kernels:
            c = np.empty((n, n), dtype=np.float32)
            t = tensorlang_seconds(f, a, b, c, 1 if "naive" in name else rep, threads)
            rows.append((name, threads, t, base, avx512))

    print(f"float32 matmul {n}x{n}x{n}; medians of {rep} runs; {cores} core(s) available")
    print(f"{'implementation':38} {'threads':>7} {'ms':>9} {'GFLOPS':>8} {'x numpy':>8} {'x numpy-avx512':>15}")
    for name, threads, t, base, avx in rows:
        print(f"{name:38} {threads:>7} {t * 1e3:>9.2f} {flops / t / 1e9:>8.1f} {base / t:>8.2f} {avx / t:>15.2f}")
    print(f"\nblocked schedule: lowering {1e3 * (t1 - t0):.0f} ms + LLVM compile {1e3 * (t2 - t1):.0f} ms "
          f"= {t2 - t0:.3f} s")


if __name__ == "__main__":
    main()
