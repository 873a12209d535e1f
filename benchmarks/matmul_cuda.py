"""Benchmark (needs an NVIDIA GPU, cuda-python and cupy): tuned float32 matmul against cuBLAS, and
a vector add against the device's copy bandwidth, measured in the same run (tensorlang's
kernels take the cupy arrays in place, through __cuda_array_interface__).

    tensorlang tune --target=cuda examples/matmul.py     # writes tuning_logs/matmul.cuda.json
    python benchmarks/matmul_cuda.py [--size 4096] [--log tuning_logs/matmul.cuda.json]

cuBLAS SGEMM runs through cupy with TF32 off (CUPY_TF32=0), so both sides do full float32
math.  Times are medians of CUDA-event timings; every tensorlang result is checked against
cupy before it is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

os.environ["CUPY_TF32"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))


def cupy_seconds(fn, repeat: int = 20) -> float:
    import cupy as cp
    fn()
    times = []
    for _ in range(repeat):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--log", default="tuning_logs/matmul.cuda.json")
    ap.add_argument("--vadd-mib", type=int, default=256, help="size of each vector-add operand")
    args = ap.parse_args()
    import cupy as cp
    from matmul import matmul_cuda_template

    import tensorlang as tl
    from tensorlang import autotune, te

    n = args.size
    rng = np.random.default_rng()
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    ca, cb = cp.asarray(a), cp.asarray(b)
    t_cublas = cupy_seconds(lambda: ca @ cb)
    rows = [("cuBLAS SGEMM (cupy, TF32 off)", t_cublas, 2.0 * n ** 3)]

    if not Path(args.log).exists():
        sys.exit(f"no tuning log at {args.log}: run `tensorlang tune --target=cuda examples/matmul.py` first")
    with autotune.apply_history_best(args.log), tl.target.Target("cuda"):
        s, targs = matmul_cuda_template(n, n, n, "float32")
        f = tl.build(s, targs, name="matmul")
    gc = cp.empty((n, n), np.float32)
    f(ca, cb, gc)
    np.testing.assert_allclose(cp.asnumpy(gc), cp.asnumpy(ca @ cb), rtol=1e-3, atol=1e-2)
    t_tl = f.time_evaluator(number=10, repeat=5)(ca, cb, gc).median
    rows.append(("tensorlang tuned matmul", t_tl, 2.0 * n ** 3))

    m = args.vadd_mib * 2 ** 20 // 4
    A = te.placeholder((m,), name="A")
    B = te.placeholder((m,), name="B")
    C = te.compute((m,), lambda i: A[i] + B[i], name="C")
    sv = te.create_schedule(C.op)
    xo, vi = sv[C].split(C.op.axis[0], factor=4)  # float4 loads and stores
    bx, tx = sv[C].split(xo, factor=256)
    sv[C].bind(bx, te.thread_axis("blockIdx.x"))
    sv[C].bind(tx, te.thread_axis("threadIdx.x"))
    sv[C].vectorize(vi)
    fv = tl.build(sv, [A, B, C], target="cuda", name="vadd")
    va, vb = cp.asarray(rng.random(m, dtype=np.float32)), cp.asarray(rng.random(m, dtype=np.float32))
    vc = cp.empty(m, np.float32)
    fv(va, vb, vc)
    np.testing.assert_allclose(cp.asnumpy(vc), cp.asnumpy(va + vb))
    t_vadd = fv.time_evaluator(number=20, repeat=5)(va, vb, vc).median
    src = cp.asarray(rng.random(m, dtype=np.float32))
    dst = cp.empty_like(src)
    t_copy = cupy_seconds(lambda: cp.copyto(dst, src))
    copy_bw = 2 * m * 4 / t_copy
    vadd_bw = 3 * m * 4 / t_vadd

    print(f"float32 matmul {n}^3 on {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(f"{'implementation':32} {'ms':>9} {'TFLOPS':>8} {'x cuBLAS':>9}")
    for name, t, flop in rows:
        print(f"{name:32} {t * 1e3:>9.3f} {flop / t / 1e12:>8.2f} {t_cublas / t:>9.2f}")
    print(f"\nvector add {args.vadd_mib} MiB x3: {vadd_bw / 1e9:.0f} GB/s; device copy {copy_bw / 1e9:.0f} GB/s; "
          f"ratio {vadd_bw / copy_bw:.2f}")


if __name__ == "__main__":
    main()
