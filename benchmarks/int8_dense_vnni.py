"""Benchmark: uint8 x int8 -> int32 dense on the CPU with AVX-512 VNNI (``vpdpbusd`` through a
tensorized intrinsic), against numpy measured in the same run.

    python benchmarks/int8_dense_vnni.py [--size 1024] [--rounds 3] [--threads 1,2] [--int32]

Rows: numpy float32 matmul (OpenBLAS; numpy has no fast int8 product, so this is what a numpy
user gets for the same shape), numpy int32 matmul of the widened int8 data (numpy's exact
int8 product, slow: only with ``--int32``), tensorlang's int8 dense with the same loop nest
vectorized by LLVM (no tensorize), and the same nest with its 16x4 inner tile tensorized to
one ``vpdpbusd``.  The weight is packed (N/16, K/4, 16, 4) outside the timed region, as TVM's
int8 dense schedules do.  Each row runs in a fresh pinned process (benchmarks/pinned_rows.py);
ops count 2*M*N*K.  The float32 FMA peak measured in the same run is printed for scale: one
512-bit ``vpdpbusd`` does 64 multiply-adds where one ``vfmadd`` does 16.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pinned_rows import Row, child_main, child_requested, measure, print_table  # noqa: E402


def _vnni_intrin():
    import tensorlang as tl
    from tensorlang import te

    data = te.placeholder((4,), dtype="uint8", name="data")
    kernel = te.placeholder((16, 4), dtype="int8", name="kernel")
    k = te.reduce_axis((0, 4), name="k")
    out = te.compute((16,), lambda i: te.sum(data[k].astype("int32") * kernel[i, k].astype("int32"), axis=k),
                     name="out")
    a_buf = tl.tir.decl_buffer(data.shape, "uint8", name="a", offset_factor=1, strides=[1])
    b_buf = tl.tir.decl_buffer(kernel.shape, "int8", name="b", offset_factor=1, strides=[te.var("ldw"), 1])

    def fcompute(ins, outs):
        def part(kind):
            ib = tl.tir.ir_builder.create()
            if kind == "reset":
                ib.emit(outs[0].vstore(0, tl.tir.const(0, "int32x16")))
                return ib.get()
            a4 = tl.tir.call_intrin("int32", "tir.reinterpret", ins[0].vload([0], "uint8x4")).astype("int32x16")
            b64 = tl.tir.call_intrin("int32x16", "tir.reinterpret", ins[1].vload([0, 0], "int8x64"))
            acc = outs[0].vload([0], "int32x16") if kind == "update" else tl.tir.const(0, "int32x16")
            ib.emit(outs[0].vstore(0, tl.tir.call_llvm_pure_intrin(
                "int32x16", "llvm.x86.avx512.vpdpbusd.512", tl.tir.const(0, "uint32"), acc, a4, b64)))
            return ib.get()

        return part("body"), part("reset"), part("update")

    return te.decl_tensor_intrin(out.op, fcompute, binds={data: a_buf, kernel: b_buf},
                                 default_buffer_params={"offset_factor": 1})


def int8_dense(n: int, vnni: bool, rows: int = 8):
    """The schedule and arguments of C = data x weight^T (uint8 x int8 -> int32), weight packed."""
    import tensorlang as tl  # noqa: F401 - the package, for te
    from tensorlang import te

    data = te.placeholder((n, n), "uint8", name="data")
    packed = te.placeholder((n // 16, n // 4, 16, 4), "int8", name="packed_weight")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(
        data[i, k].astype("int32") * packed[j // 16, k // 4, j % 16, k % 4].astype("int32"), axis=k), name="C")
    s = te.create_schedule(C.op)
    i, j = C.op.axis
    io, ii = s[C].split(i, rows)
    jo, ji = s[C].split(j, 16)
    ko, ki = s[C].split(C.op.reduce_axis[0], 4)
    s[C].parallel(io)
    if vnni:
        s[C].reorder(io, jo, ko, ii, ji, ki)
        s[C].unroll(ii)
        s[C].tensorize(ji, _vnni_intrin())
    else:
        s[C].reorder(io, jo, ko, ii, ki, ji)
        s[C].unroll(ii)
        s[C].unroll(ki)
        s[C].vectorize(ji)
    return s, [data, packed, C]


def make_row(spec: dict, threads: int):
    """Child side: the row's callable, its result checked against numpy first."""
    import numpy as np

    n = spec["n"]
    rng = np.random.default_rng()
    a = rng.integers(0, 256, (n, n), dtype=np.uint8)
    w = rng.integers(-128, 128, (n, n), dtype=np.int8)
    if spec["impl"] == "numpy_f32":
        af, wf = a.astype(np.float32), w.astype(np.float32).T.copy()
        cf = np.empty((n, n), np.float32)
        return lambda: np.matmul(af, wf, out=cf)
    a32, w32 = a.astype(np.int32), w.astype(np.int32).T.copy()
    if spec["impl"] == "numpy_i32":
        c32 = np.empty((n, n), np.int32)
        return lambda: np.matmul(a32, w32, out=c32)
    import tensorlang as tl

    packed = np.ascontiguousarray(w.reshape(n // 16, 16, n // 4, 4).transpose(0, 2, 1, 3))
    s, args = int8_dense(n, spec["impl"] == "vnni")
    f = tl.build(s, args, target="llvm", name=f"int8_dense_{spec['impl']}")
    f.set_num_threads(threads)
    c = np.zeros((n, n), np.int32)
    f(a, packed, c)
    np.testing.assert_array_equal(c, a32 @ w32, err_msg=spec["impl"])
    return lambda: f(a, packed, c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5, help="timed repeats inside each row's process")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts")
    ap.add_argument("--int32", action="store_true", help="add numpy's exact int32 product (slow: no BLAS)")
    args = ap.parse_args()
    from tensorlang.target.llvm.host import host_cpu_features

    if "+avx512vnni" not in host_cpu_features():
        sys.exit("this CPU has no AVX-512 VNNI (avx512vnni): nothing to measure")
    n = args.size
    if n % 16:
        sys.exit("--size must be a multiple of 16")
    impls = [("numpy float32 matmul", {"impl": "numpy_f32"}),
             ("tensorlang int8, LLVM-vectorized", {"impl": "plain"}),
             ("tensorlang int8, vpdpbusd tensorized", {"impl": "vnni"})]
    if args.int32:
        impls.insert(1, ("numpy int32 matmul (exact int8)", {"impl": "numpy_i32"}))
    rows = [Row(name, int(t), {**spec, "n": n}, flop=2.0 * n ** 3) for t in args.threads.split(",")
            for name, spec in impls]
    roof, results, wall = measure(__file__, rows, rounds=args.rounds, repeats=args.repeat)
    print(f"\nuint8 x int8 -> int32 dense {n}x{n}x{n} (figures in Gop/s, 2*M*N*K ops); each row a fresh pinned "
          f"process, {args.rounds} interleaved rounds of {args.repeat} repeats, median of round medians ({wall:.0f} s)")

    def reference(res):
        return next((r for r in results if r.row.name == "numpy float32 matmul" and r.row.threads == res.row.threads),
                    None)
    print_table(results, roof, reference)
    print("(% FMA peak is of the float32 FMA peak: a vpdpbusd does 4x the multiply-adds of an FMA, so int8 can pass "
          "100%)")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
