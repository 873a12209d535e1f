"""Benchmark (needs an NVIDIA GPU, cuda-python and cupy): tuned float32 matmul against cuBLAS, a
vector add against the device's copy bandwidth, and a float16 dense on tensor cores against
cuBLAS's float16 matmul, measured in the same run (tensorlang's
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
    ap.add_argument("--no-tensor-cores", dest="tensor_cores", action="store_false",
                    help="skip the float16 dense on tensor cores (topi.cuda.dense_tensorcore, a fixed config)")
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
    if args.tensor_cores:
        try:
            tensor_core_rows(n, rng)
        except Exception as e:  # noqa: BLE001 - the table above stands; say what failed
            print(f"\nfloat16 dense on tensor cores: failed: {type(e).__name__}: {e}")


# A fixed config of topi.cuda.dense_tensorcore (untuned): 2x2 warps a block, 4x2 16x16 fragments a warp,
# within the 48 KiB of static shared memory a block has.
TENSOR_CORE_CONFIG = {"block_row_warps": 2, "block_col_warps": 2, "warp_row_tiles": 4, "warp_col_tiles": 2,
                      "chunk": 2, "offset": 8, "offsetCS": 0, "vec": 8, "wmma_m": 16}


def tensor_core_rows(n: int, rng: np.random.Generator) -> None:
    """float16 dense (float32 sums) on tensor cores, a fixed config of topi.cuda.dense_tensorcore,
    next to cuBLAS's float16 matmul (cupy), in the same run."""
    import cupy as cp

    import tensorlang as tl
    from tensorlang import autotune, te
    from tensorlang.topi.cuda import dense_tensorcore  # noqa: F401 - registers the template

    A = te.placeholder((n, n), name="A", dtype="float16")
    W = te.placeholder((n, n), name="W", dtype="float16")
    task = autotune.task.create("dense_tensorcore.cuda", args=(A, W, None, "float32"), target="cuda")
    cfg = task.config_space.get(task.config_space.index_of(TENSOR_CORE_CONFIG))
    with tl.target.Target("cuda"):
        s, targs = task.instantiate(cfg)
    f = tl.build(s, targs, target="cuda", name="dense_tc")
    a = cp.asarray(rng.uniform(-1, 1, (n, n)).astype(np.float16))
    w = cp.asarray(rng.uniform(-1, 1, (n, n)).astype(np.float16))
    out = cp.empty((n, n), np.float32)
    f(a, w, out)
    want = a.astype(cp.float32) @ w.astype(cp.float32).T
    np.testing.assert_allclose(cp.asnumpy(out), cp.asnumpy(want), rtol=1e-2, atol=1e-1)
    t_tl = f.time_evaluator(number=10, repeat=5)(a, w, out).median
    wt = cp.ascontiguousarray(w.T)
    t_hgemm = cupy_seconds(lambda: a @ wt)
    print(f"\nfloat16 dense {n}^3 on tensor cores (float32 sums; cuBLAS returns float16)")
    print(f"{'implementation':32} {'ms':>9} {'TFLOPS':>8} {'x cuBLAS':>9}")
    for name, t in (("cuBLAS HGEMM (cupy)", t_hgemm), ("tensorlang dense_tensorcore", t_tl)):
        print(f"{name:32} {t * 1e3:>9.3f} {2.0 * n ** 3 / t / 1e12:>8.2f} {t_hgemm / t:>9.2f}")


if __name__ == "__main__":
    main()
