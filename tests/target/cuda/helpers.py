"""Shared helpers of the tests in this folder (split from test_cuda_codegen.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.target.cuda import nvrtc
from tensorlang.target.cuda.codegen import (
    MATH_FUNCTIONS,
    render_cuda,
    split_kernels,
)
from tensorlang.target.cuda.target import CUDATarget
from tensorlang.te import expr as E
from tensorlang.te.dtype import DType, as_dtype

TB, SERIAL, UNROLLED = S.ForKind.THREAD_BINDING, S.ForKind.SERIAL, S.ForKind.UNROLLED
F16, F32, F64 = as_dtype("float16"), as_dtype("float32"), as_dtype("float64")
I8, I32, BOOL = as_dtype("int8"), as_dtype("int32"), as_dtype("bool")
SM90 = CUDATarget.from_string("cuda -arch=sm_90")

needs_nvrtc = pytest.mark.skipif(not nvrtc.nvrtc_available(),
                                 reason="libnvrtc not found (pip install nvidia-cuda-nvrtc)")
rng = np.random.default_rng(0)


# --- building lowered IR by hand ------------------------------------------------------------------

def c32(v: int) -> E.IntImm:
    return E.IntImm("int32", v)


def buf(name: str, dtype: DType, *shape: E.PrimExpr | int) -> Buffer:
    return Buffer(name, dtype, [c32(d) if isinstance(d, int) else d for d in shape])


def bind(var: E.Var, extent: E.PrimExpr | int, tag: str, body: S.Stmt) -> S.For:
    return S.For(var, c32(0), c32(extent) if isinstance(extent, int) else extent, TB, body, tag)


def loop(var: E.Var, extent: int, body: S.Stmt, kind: S.ForKind = SERIAL) -> S.For:
    return S.For(var, c32(0), c32(extent), kind, body)


def ld(buf: Buffer, index: E.PrimExpr, predicate: E.PrimExpr | None = None) -> E.Load:
    return E.Load(buf.dtype, buf.data, index, predicate)


def st(buf: Buffer, value: E.PrimExpr, index: E.PrimExpr, predicate: E.PrimExpr | None = None) -> S.Store:
    return S.Store(buf.data, value, index, predicate)


def ramp(base: E.PrimExpr, lanes: int) -> E.Ramp:
    return E.Ramp(base, c32(1), lanes)


def barrier() -> S.Evaluate:
    return S.Evaluate(E.Call("int32", "tl.syncthreads", ()))


def elementwise(name: str, in_dtypes: list[DType], out_dtype: DType, make, block: int = 64) -> PrimFunc:
    """Out[i] = make(In0[i], ...) over n elements: blockIdx.x * block + threadIdx.x, tail-guarded."""
    n = E.Var("n", "int32")
    ins = [Buffer(f"In{k}", dt, [n]) for k, dt in enumerate(in_dtypes)]
    out = Buffer("Out", out_dtype, [n])
    bx, tx = E.Var("bx"), E.Var("tx")
    i = bx * block + tx
    body = S.IfThenElse(i < n, st(out, make(i, *(ld(b, i) for b in ins)), i))
    root = bind(bx, (n + (block - 1)) // block, "blockIdx.x", bind(tx, block, "threadIdx.x", body))
    return PrimFunc(name, [*ins, out, n], root)


def vadd() -> PrimFunc:
    return elementwise("vadd", [F32, F32], F32, lambda i, a, b: a + b)


def matmul(n: int = 64, tile: int = 16) -> PrimFunc:
    """C = A @ B (n x n, float32): 16x16 output tiles per block, 16x4 threads each computing 4
    adjacent outputs in a local float4 accumulator; A and B tiles are fetched cooperatively into
    shared memory with float4 loads, with barriers around the compute loop."""
    A, B, C = (buf(nm, F32, n, n) for nm in "ABC")
    by, bx, ty, tx, ko, ki = (E.Var(nm) for nm in ("by", "bx", "ty", "tx", "ko", "ki"))
    acc, As, Bs = E.Var("acc", "handle"), E.Var("As", "handle"), E.Var("Bs", "handle")
    lanes = 4
    tx_n = tile // lanes
    zero = E.Broadcast(E.FloatImm(F32, 0.0), lanes)

    def threads(body: S.Stmt) -> S.Stmt:
        return bind(ty, tile, "threadIdx.y", bind(tx, tx_n, "threadIdx.x", body))

    fetch = threads(S.SeqStmt([
        S.Store(As, E.Load(F32, A.data, ramp((by * tile + ty) * n + ko * tile + tx * lanes, lanes)),
                ramp(ty * tile + tx * lanes, lanes)),
        S.Store(Bs, E.Load(F32, B.data, ramp((ko * tile + ty) * n + bx * tile + tx * lanes, lanes)),
                ramp(ty * tile + tx * lanes, lanes)),
    ]))
    update = S.Store(acc, E.Load(F32, acc, ramp(c32(0), lanes))
                     + E.Broadcast(E.Load(F32, As, ty * tile + ki), lanes)
                     * E.Load(F32, Bs, ramp(ki * tile + tx * lanes, lanes)), ramp(c32(0), lanes))
    compute = threads(loop(ki, tile, update, UNROLLED))
    main = S.SeqStmt([
        threads(S.Store(acc, zero, ramp(c32(0), lanes))),
        loop(ko, n // tile, S.SeqStmt([fetch, barrier(), compute, barrier()])),
        threads(S.Store(C.data, E.Load(F32, acc, ramp(c32(0), lanes)),
                        ramp((by * tile + ty) * n + bx * tile + tx * lanes, lanes))),
    ])
    body = S.Allocate(acc, F32, c32(lanes), "local",
                      S.Allocate(As, F32, c32(tile * tile), "shared",
                                 S.Allocate(Bs, F32, c32(tile * tile), "shared", main)))
    root = bind(by, n // tile, "blockIdx.y", bind(bx, n // tile, "blockIdx.x", body))
    return PrimFunc("matmul", [A, B, C], root)


def two_kernels() -> PrimFunc:
    """T = A * 2 (kernel 0, 64 threads), Out = T + 1 (kernel 1, 128 threads); T is a device buffer."""
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n]), Buffer("Out", F32, [n])
    T = E.Var("T", "handle")
    b0, t0, b1, t1 = E.Var("b0"), E.Var("t0"), E.Var("b1"), E.Var("t1")
    i0, i1 = b0 * 64 + t0, b1 * 128 + t1
    k0 = bind(b0, (n + 63) // 64, "blockIdx.x", bind(t0, 64, "threadIdx.x", S.IfThenElse(
        i0 < n, S.Store(T, ld(A, i0) * E.FloatImm(F32, 2.0), i0))))
    k1 = bind(b1, (n + 127) // 128, "blockIdx.x", bind(t1, 128, "threadIdx.x", S.IfThenElse(
        i1 < n, st(Out, E.Load(F32, T, i1) + E.FloatImm(F32, 1.0), i1))))
    return PrimFunc("two", [A, Out, n], S.Allocate(T, F32, n, "global", S.SeqStmt([k0, k1])))


def half_kernel() -> PrimFunc:
    def make(i, a, b):
        y = a * b + E.FloatImm(F16, 1.5)
        return E.Call(F16, "exp", [E.Cast(F16, E.Cast(F32, y) * E.FloatImm(F32, 0.125))]) + E.Cast(F16, i)
    return elementwise("half_fn", [F16, F16], F16, make)


def int8_kernel() -> PrimFunc:
    """Wrapping int8 arithmetic and Python floor division/modulo of negative numbers."""
    def make(i, a, b):
        return (a * b + E.IntImm(I8, 100)) + E.FloorDiv(a, E.IntImm(I8, 3)) + E.FloorMod(b, E.IntImm(I8, 5))
    return elementwise("int8_fn", [I8, I8], I8, make)


def bool_kernel() -> PrimFunc:
    """Out[i] = A[i] > 0 (a bool buffer), Sel[i] = M[i] ? A[i] : -A[i] (reads a bool buffer)."""
    n = E.Var("n", "int32")
    A, M, Out, Sel = Buffer("A", F32, [n]), Buffer("M", BOOL, [n]), Buffer("Out", BOOL, [n]), Buffer("Sel", F32, [n])
    bx, tx = E.Var("bx"), E.Var("tx")
    i = bx * 32 + tx
    body = S.IfThenElse(i < n, S.SeqStmt([
        st(Out, ld(A, i) > E.FloatImm(F32, 0.0), i),
        st(Sel, E.Select(E.And(ld(M, i), E.Not(ld(Out, i))), ld(A, i), E.FloatImm(F32, 0.0) - ld(A, i)), i),
    ]))
    root = bind(bx, (n + 31) // 32, "blockIdx.x", bind(tx, 32, "threadIdx.x", body))
    return PrimFunc("bool_fn", [A, M, Out, Sel, n], root)


def f64_vector() -> PrimFunc:
    """Out[2i:2i+2] = A[2i:2i+2] * 2 + Broadcast(B[i]): double2 accesses."""
    m = 256
    A, B, Out = buf("A", F64, 2 * m), buf("B", F64, m), buf("Out", F64, 2 * m)
    bx, tx = E.Var("bx"), E.Var("tx")
    i = bx * 64 + tx
    value = ld(A, ramp(i * 2, 2)) * E.Broadcast(E.FloatImm(F64, 2.0), 2) + E.Broadcast(ld(B, i), 2)
    root = bind(bx, m // 64, "blockIdx.x", bind(tx, 64, "threadIdx.x", st(Out, value, ramp(i * 2, 2))))
    return PrimFunc("f64_vec", [A, B, Out], root)


def select_oob() -> PrimFunc:
    """Out[i] = (i >= 1 ? A[i-1] : 0) + (i < n-1 ? A[i+1] : 0): the unchosen loads are out of bounds."""
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n]), Buffer("Out", F32, [n])
    bx, tx = E.Var("bx"), E.Var("tx")
    i = bx * 64 + tx
    zero = E.FloatImm(F32, 0.0)
    value = E.Select(i >= c32(1), ld(A, i - 1), zero) + E.Select(i < n - 1, ld(A, i + 1), zero)
    root = bind(bx, (n + 63) // 64, "blockIdx.x", bind(tx, 64, "threadIdx.x",
                                                         S.IfThenElse(i < n, st(Out, value, i))))
    return PrimFunc("select_oob", [A, Out, n], root)


def intrinsic_args(name: str, a: Any, dt: DType) -> list[Any]:
    """The arguments the intrinsics kernel gives ``name`` for A[i] = ``a`` in (0.5, 1.5): every
    function defined there (asin of a / 2, acosh of a + 1), binary ones with 2 (copysign -2,
    ldexp the int 3)."""
    if name in ("pow", "atan2", "hypot", "nextafter"):
        return [a, E.FloatImm(dt, 2.0)]
    if name == "copysign":
        return [a, E.FloatImm(dt, -2.0)]
    if name == "ldexp":
        return [a, c32(3)]
    if name in ("asin", "acos", "atanh"):
        return [a * E.FloatImm(dt, 0.5)]
    if name == "acosh":
        return [a + E.FloatImm(dt, 1.0)]
    return [a]


def intrinsics(dt: DType) -> PrimFunc:
    """Out[i] = sum of every intrinsic of A[i] (A in (0.5, 1.5); ``intrinsic_args``)."""
    def make(i, a):
        total = None
        for name in sorted(MATH_FUNCTIONS):
            term = E.Call(dt, name, intrinsic_args(name, a, dt))
            total = term if total is None else total + term
        return total
    return elementwise(f"intrin_{dt}", [dt], dt, make)


def floordiv_kernel() -> PrimFunc:
    """int32: (A - 50) // 7 * 1000 + (A - 50) % 7 + i // 3 (negative dividends need tl_floordiv)."""
    def make(i, a):
        x = a - c32(50)
        return E.FloorDiv(x, c32(7)) * c32(1000) + E.FloorMod(x, c32(7)) + E.FloorDiv(i, c32(3))
    return elementwise("floordiv_fn", [I32], I32, make)


def numeric_kernel(dtype: str) -> PrimFunc:
    """Every division flavour and min/max with non-constant divisors (te.numeric's semantics:
    zero divisors, INT_MIN / -1, numpy's float // and %, NaN-propagating min/max)."""
    dt = as_dtype(dtype)

    def make(i, a, b):
        out = E.Max(E.FloorDiv(a, b), E.FloorMod(a, b))
        if dt.is_int:
            out = E.Min(out, E.Div(a, b) + E.Mod(a, b))
        return out
    return elementwise(f"numeric_{dtype}", [dt, dt], dt, make)


def fmax_kernel(dtype: str) -> PrimFunc:
    """Out[i] = te.fmax(A, B) * 2 + te.fmin(A, B): the NaN-ignoring max/min (numpy.fmax/fmin)."""
    from tensorlang import te
    dt = as_dtype(dtype)
    return elementwise(f"fmax_{dtype}", [dt, dt], dt,
                       lambda i, a, b: te.fmax(a, b) * E.FloatImm(dt, 2.0) + te.fmin(a, b))


def constants_kernel() -> PrimFunc:
    """Out[i] = select on NaN/inf/-0.0 float constants, plus int32 min and int64 constants."""
    def make(i, a):
        inf, nan = E.FloatImm(F32, float("inf")), E.FloatImm(F32, float("nan"))
        big = E.Cast(F32, E.Cast("int64", c32(-2**31)) + E.IntImm("int64", 2**40)) * E.FloatImm(F32, 1e-12)
        return E.Select(a > E.FloatImm(F32, 0.0), E.Min(a, inf), E.Max(a, E.FloatImm(F32, -0.0))) \
            + E.Select(a != a, nan, E.FloatImm(F32, 0.1)) + big
    return elementwise("constants_fn", [F32], F32, make)


def guarded_threads() -> PrimFunc:
    """One block: a threadIdx.x loop of 64 writes Out, a second one of 32 (guarded) adds to it."""
    Out, A = buf("Out", F32, 64), buf("A", F32, 64)
    tx0, tx1 = E.Var("tx0"), E.Var("tx1")
    bx = E.Var("bx")
    body = S.SeqStmt([
        bind(tx0, 64, "threadIdx.x", st(Out, ld(A, tx0) * E.FloatImm(F32, 3.0), tx0)),
        bind(tx1, 32, "threadIdx.x", st(Out, ld(Out, tx1) + E.FloatImm(F32, 1.0), tx1)),
    ])
    return PrimFunc("guarded", [A, Out], bind(bx, 1, "blockIdx.x", body))


def predicated_vector() -> PrimFunc:
    """Out[4i:4i+4] = A[4i:4i+4] + 1 where 4i+k < n: masked lanes, one by one."""
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n]), Buffer("Out", F32, [n])
    bx, tx = E.Var("bx"), E.Var("tx")
    base = (bx * 32 + tx) * 4
    mask = ramp(base, 4) < E.Broadcast(n, 4)
    value = ld(A, ramp(base, 4), mask) + E.Broadcast(E.FloatImm(F32, 1.0), 4)
    root = bind(bx, (n + 127) // 128, "blockIdx.x", bind(tx, 32, "threadIdx.x", st(Out, value, ramp(base, 4), mask)))
    return PrimFunc("masked_vec", [A, Out, n], root)


def unaligned_vector() -> PrimFunc:
    """Out[4i+1:4i+5] = A[4i+1:4i+5] * 2: contiguous but not 16-byte aligned, so lane by lane."""
    A, Out = buf("A", F32, 132), buf("Out", F32, 132)
    tx = E.Var("tx")
    base = tx * 4 + 1
    root = bind(tx, 32, "threadIdx.x", st(Out, ld(A, ramp(base, 4)) * E.Broadcast(E.FloatImm(F32, 2.0), 4),
                                          ramp(base, 4)))
    return PrimFunc("unaligned_vec", [A, Out], root)


def let_kernel() -> PrimFunc:
    """A vector LetStmt, a scalar LetStmt used in an aligned base, and a Let expression; the
    vector store reads the buffer it writes (shifted), so lanes must be read before written."""
    A, Out = buf("A", F32, 260), buf("Out", F32, 260)
    tx, base, v, t = E.Var("tx"), E.Var("base"), E.Var("v", "float32x4"), E.Var("t", "float32")
    body = S.LetStmt(base, tx * 8, S.SeqStmt([
        S.LetStmt(v, ld(A, ramp(base, 4)), st(Out, v + E.Broadcast(
            E.Let(t, ld(A, base + 4), t * t), 4), ramp(base, 4))),
        st(A, ld(A, ramp(base + 2, 4)), ramp(base + 1, 4)),
    ]))
    return PrimFunc("let_fn", [A, Out], bind(tx, 32, "threadIdx.x", body))


FUNCS = {
    "vadd": vadd, "matmul": matmul, "two_kernels": two_kernels, "half": half_kernel, "int8": int8_kernel,
    "bool": bool_kernel, "f64_vector": f64_vector, "select_oob": select_oob,
    "intrin_f32": lambda: intrinsics(F32), "intrin_f64": lambda: intrinsics(F64),
    "intrin_f16": lambda: intrinsics(F16), "floordiv": floordiv_kernel, "constants": constants_kernel,
    "guarded": guarded_threads, "masked_vec": predicated_vector, "unaligned_vec": unaligned_vector,
    "let": let_kernel, "fmax_f32": lambda: fmax_kernel("float32"), "fmax_f64": lambda: fmax_kernel("float64"),
    **{f"numeric_{dt}": (lambda dt=dt: numeric_kernel(dt))
       for dt in ("int8", "int32", "int64", "uint32", "float16", "float32", "float64")},
}


def source_of(key: str) -> str:
    return render_cuda(split_kernels(FUNCS[key]()))


def run_under_sanitizer(runner: str) -> None:
    """Run ``runner`` (Python source calling a sanitizer-instrumented library) in a child process
    and fail on any sanitizer report; skip where the sanitizer runtime cannot load into Python.
    A separate process, because the sanitizer reports on its stderr and is better kept out of
    the test process."""
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=0")
    proc = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0 and "undefined symbol: __ubsan" in proc.stderr:
        pytest.skip("the sanitizer runtime cannot be loaded into python here")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "runtime error" not in proc.stderr, proc.stderr[-3000:]
