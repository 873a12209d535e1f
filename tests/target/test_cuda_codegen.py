"""The CUDA backend on hand-built lowered GPU IR: each test builds a PrimFunc in the lowered
contract (blockIdx/threadIdx loops, shared/local buffers, barriers, vectors), then checks the
CUDA C it renders, that NVRTC compiles it to a cubin and PTX for sm_90, the launch plan, and
the errors. Without a GPU, kernels also run on the CPU: the CUDA C is compiled with g++ against
a small stand-in for the CUDA runtime (one OS thread per GPU thread, std::barrier for
__syncthreads) and compared with numpy. Tests marked ``gpu`` run the real thing."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from tensorlang.errors import ArgumentError, BuildError, LaunchLimitError, TargetError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.target.cuda import nvrtc
from tensorlang.target.cuda.build import build_cuda
from tensorlang.target.cuda.codegen import (
    MATH_FUNCTIONS,
    float_literal,
    int_literal,
    render_cuda,
    split_kernels,
)
from tensorlang.target.cuda.device_limits import check_launch
from tensorlang.target.cuda.driver import CUDADevice
from tensorlang.target.cuda.runtime import CUDAModule, gpu_available, load_cuda_module
from tensorlang.target.cuda.target import CUDATarget
from tensorlang.target.timing import ProfileResult
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


def intrinsics(dt: DType) -> PrimFunc:
    """Out[i] = sum of every intrinsic of A[i] (A in (0.5, 1.5) so every one is defined)."""
    def make(i, a):
        total = None
        for name in sorted(MATH_FUNCTIONS):
            args = [a, E.FloatImm(dt, 2.0)] if name == "pow" else [a]
            term = E.Call(dt, name, args)
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
    "let": let_kernel,
    **{f"numeric_{dt}": (lambda dt=dt: numeric_kernel(dt))
       for dt in ("int8", "int32", "int64", "uint32", "float16", "float32", "float64")},
}


def source_of(key: str) -> str:
    return render_cuda(split_kernels(FUNCS[key]()))


# --- the rendered CUDA C -----------------------------------------------------------------------------

def test_vadd_source_and_plan():
    plan = split_kernels(vadd())
    (k,) = plan.kernels
    assert k.name == "vadd_kernel0"
    assert [p.name for p in k.params] == ["In0", "In1", "Out", "n"]
    assert [p.written for p in k.params] == [False, False, True, False]
    assert str(k.grid[0]) == "(n + 63) // 64" and k.block_dims() == (64, 1, 1)
    src = render_cuda(plan)
    assert ('extern "C" __global__ void __launch_bounds__(64) vadd_kernel0(const float* __restrict__ In0, '
            'const float* __restrict__ In1, float* __restrict__ Out, int n) {') in src
    assert "int bx = (int)blockIdx.x;" in src and "int tx = (int)threadIdx.x;" in src
    assert "if (((bx * 64) + tx) < n) {" in src  # the tail guard
    assert "tl_floordiv" not in src and "cuda_fp16" not in src  # helpers only when used


def test_matmul_source():
    plan = split_kernels(matmul())
    (k,) = plan.kernels
    assert k.block_dims() == (4, 16, 1) and [str(g) for g in k.grid] == ["4", "4", "1"]
    assert k.shared_bytes == 2 * 16 * 16 * 4
    src = render_cuda(plan)
    assert "__launch_bounds__(64)" in src
    assert "__shared__ __align__(16) float As[256];" in src and "__shared__ __align__(16) float Bs[256];" in src
    assert "__align__(16) float acc[4];" in src
    assert src.count("__syncthreads();") == 2
    assert "#pragma unroll" in src
    assert "*(const float4*)(A + " in src and "*(const float4*)(Bs + " in src  # global and shared float4 loads
    assert "*(float4*)(As + " in src and "*(float4*)(C + " in src  # float4 stores
    assert "*(float4*)(acc) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);" in src
    assert dict(k.vector_align) == {p.var: 16 for p in k.params if p.name in "ABC"}


def test_two_kernels_plan():
    plan = split_kernels(two_kernels())
    assert [k.name for k in plan.kernels] == ["two_kernel0", "two_kernel1"]
    (buf,) = plan.buffers
    assert buf.name == "T" and buf.dtype == F32 and str(buf.extent) == "n"
    k0, k1 = plan.kernels
    assert [p.name for p in k0.params] == ["A", "T", "n"] and [p.name for p in k1.params] == ["Out", "T", "n"]
    assert k0.block_dims() == (64, 1, 1) and k1.block_dims() == (128, 1, 1)
    src = render_cuda(plan)
    assert "void __launch_bounds__(64) two_kernel0(const float* __restrict__ A, float* __restrict__ T, int n)" in src
    assert "void __launch_bounds__(128) two_kernel1(float* __restrict__ Out, const float* __restrict__ T, int n)" in src


def test_launch_plan_of_two_kernels():
    m = build_cuda(two_kernels(), SM90)
    k0, k1 = m.plan.kernels
    assert k0.args == (("param", 0), ("buffer", 0), ("param", 2))
    assert k1.grid[0] == {"op": "floordiv", "args": [{"op": "add", "args": ["n", 127]}, 128]}
    assert m.plan.buffers[0].extent == "n" and m.plan.buffers[0].dtype == "float32"


def test_half_source():
    src = source_of("half")
    assert "#include <cuda_fp16.h>" in src and "half* __restrict__ Out" in src
    assert "tl_f2h(" in src and "tl_h2f(" in src and "expf(" in src
    assert "+ 1.5f" in src  # float16 constants are exact float32 constants


def test_int8_wraps_and_floors():
    src = source_of("int8")
    assert "signed char* __restrict__ Out" in src
    assert "((signed char)(" in src  # results wrapped back to 8 bits
    assert "tl_floordiv(" in src and "tl_floormod(" in src


def test_bool_memory_is_bytes():
    src = source_of("bool")
    assert "const unsigned char* __restrict__ M" in src and "unsigned char* __restrict__ Out" in src
    assert "(M[" in src and "] != 0)" in src


def test_f64_vector_uses_double2():
    src = source_of("f64_vector")
    assert "*(const double2*)(A + " in src and "*(double2*)(Out + " in src


def test_select_with_a_faulting_branch_branches():
    src = source_of("select_oob")
    assert re.search(r"float sel(_\d+)?;\n\s+if \(", src)  # a real branch, not a ternary
    assert "?" not in src.split("select_oob_kernel0")[1]


def test_select_without_loads_is_a_ternary():
    f = elementwise("tern", [F32], F32, lambda i, a: E.Select(i < c32(10), E.FloatImm(F32, 1.0), E.FloatImm(F32, 2.0)))
    src = render_cuda(split_kernels(f))
    assert "? 1.0f : 2.0f" in src and "sel" not in src


@pytest.mark.parametrize("dt", [F32, F64, F16])
def test_every_intrinsic_is_rendered(dt):
    src = render_cuda(split_kernels(intrinsics(dt)))
    for name, (f32, f64) in MATH_FUNCTIONS.items():
        assert f"{f64 if dt.bits == 64 else f32}(" in src, name
    assert ("rint(" if dt.bits == 64 else "rintf(") in src  # round: ties to even


def test_floordiv_only_where_needed():
    src = source_of("floordiv")
    assert "tl_floordiv(In0[" in src  # a possibly negative dividend
    assert "/ 3)" in src  # i // 3 with i >= 0 is plain division


def test_constants_are_exact():
    assert float_literal(float("nan"), F32) == "__int_as_float((int)0x7fc00000u)"
    assert float_literal(float("-inf"), F32) == "__int_as_float((int)0xff800000u)"
    assert float_literal(float("inf"), F64) == "__longlong_as_double((long long)0x7ff0000000000000ull)"
    assert float_literal(0.1, F32) == "0.1f" and float_literal(-0.0, F32) == "(-0.0f)"
    assert float_literal(0.1, F64) == "0.1" and float_literal(1e30, F32) == "1e+30f"
    assert float_literal(float("inf"), F16) == "tl_bits_half(0x7c00)"
    assert float_literal(0.1, F16) == "tl_f2h(0.099975586f)"
    assert int_literal(-2**31, I32) == "(-2147483647 - 1)" and int_literal(5, as_dtype("int64")) == "5LL"
    assert int_literal(7, as_dtype("uint32")) == "7u" and int_literal(-3, I8) == "((signed char)(-3))"


def test_guard_for_shorter_thread_loops():
    plan = split_kernels(guarded_threads())
    assert plan.kernels[0].block_dims() == (64, 1, 1)
    src = render_cuda(plan)
    assert "if (((int)threadIdx.x) < 32) {" in src
    assert "threadIdx.x) < 64" not in src  # the loop as long as the launch runs unguarded


def test_predicated_vector_goes_lane_by_lane():
    src = source_of("masked_vec")
    assert "float4" not in src and src.count("if (mask") == 4


def test_unaligned_vector_goes_lane_by_lane():
    plan = split_kernels(unaligned_vector())
    assert plan.kernels[0].vector_align == ()
    assert "float4" not in render_cuda(plan)


def test_lets_and_self_reading_vector_store():
    src = source_of("let")
    assert "const int base = tx * 8;" in src
    assert re.search(r"const float v\[4\] = \{", src)
    assert "const float t = " in src
    # A[base+1:base+5] = A[base+2:base+6] (unaligned, so lane by lane): every lane is loaded
    # before any is stored.
    body = src.split("let_fn_kernel0")[1]
    stores = [m.start() for m in re.finditer(r"\n\s+A\[", body)]
    loads = [m.start() for m in re.finditer(r"const float lane", body)]
    assert len(loads) == 4 and len(stores) == 4 and max(loads) < min(stores)


def test_names_are_made_valid_and_unique():
    n = E.Var("n", "int32")
    A = Buffer("A.in", F32, [n])
    Out = Buffer("min", F32, [n])
    v1, v2 = E.Var("i.inner"), E.Var("i.inner")
    body = S.SeqStmt([bind(v1, 32, "threadIdx.x", st(Out, ld(A, v1), v1)),
                      bind(v2, 32, "threadIdx.x", st(Out, ld(A, v2) + ld(Out, v2), v2))])
    src = render_cuda(split_kernels(PrimFunc("my-func", [A, Out, n], bind(E.Var("b"), 1, "blockIdx.x", body))))
    assert "my_func_kernel0(" in src and "A_in" in src and "min_1" in src
    assert "int i_inner = " in src and "int i_inner_1 = " in src


# --- the contract's errors --------------------------------------------------------------------------

def test_host_code_outside_a_kernel_is_refused():
    n = E.Var("n", "int32")
    A = Buffer("A", F32, [n])
    i = E.Var("i")
    f = PrimFunc("f", [A, n], S.SeqStmt([loop(i, 4, st(A, E.FloatImm(F32, 1.0), i)), no_op_kernel(A)]))
    with pytest.raises(BuildError, match="stage code outside any blockIdx/threadIdx loop: did you forget to bind"):
        split_kernels(f)


def no_op_kernel(A: Buffer) -> S.For:
    tx = E.Var("tx")
    return bind(tx, 1, "threadIdx.x", st(A, E.FloatImm(F32, 0.0), tx))


def test_evaluate_no_ops_are_allowed_at_the_top():
    A = buf("A", F32, 4)
    plan = split_kernels(PrimFunc("f", [A], S.SeqStmt([S.no_op(), no_op_kernel(A)])))
    assert len(plan.kernels) == 1


def test_block_extent_must_be_host_computable():
    A = buf("A", F32, 64)
    i, bx = E.Var("i"), E.Var("bx")
    kernel = bind(bx, i + 1, "blockIdx.x", st(A, E.FloatImm(F32, 0.0), bx))
    with pytest.raises(BuildError, match="depends on i"):
        split_kernels(PrimFunc("f", [A], S.SeqStmt([kernel])))


def test_unknown_thread_tag():
    A = buf("A", F32, 64)
    a, b = E.Var("a"), E.Var("b")
    with pytest.raises(BuildError, match="vthread"):
        split_kernels(PrimFunc("f", [A], bind(a, 2, "blockIdx.x", bind(b, 2, "vthread", st(A, E.FloatImm(F32, 0), b)))))


def test_nested_loops_on_one_tag_are_one_index():
    """A fetch attached inside the compute's thread loops binds threadIdx.x again, with a
    smaller extent: the same hardware index, guarded."""
    A = buf("A", F32, 64)
    a, b = E.Var("a"), E.Var("b")
    (k,) = split_kernels(PrimFunc("f", [A], bind(a, 64, "threadIdx.x", bind(b, 16, "threadIdx.x", st(
        A, E.Cast(F32, a * 100 + b), b))))).kernels
    assert k.block_dims() == (64, 1, 1)
    src = render_cuda(split_kernels(PrimFunc("f", [A], k.body)))
    assert "int a = (int)threadIdx.x;" in src and "if (((int)threadIdx.x) < 16) {" in src
    assert "int b = (int)threadIdx.x;" in src


def _barrier_kernel(wrap) -> PrimFunc:
    """A block of 64 threads writing shared memory, then ``wrap(tx, bx, barrier)`` around a barrier."""
    A = buf("A", F32, 64)
    bx, tx, t2 = E.Var("bx"), E.Var("tx"), E.Var("t2")
    sh = E.Var("sh", "handle")
    body = S.Allocate(sh, F32, c32(64), "shared", S.SeqStmt([
        bind(tx, 64, "threadIdx.x", S.SeqStmt([S.Store(sh, E.Cast(F32, tx), tx), wrap(tx, bx, barrier())])),
        bind(t2, 64, "threadIdx.x", st(A, E.Load(F32, sh, 63 - t2), t2)),
    ]))
    return PrimFunc("bar", [A], bind(bx, 4, "blockIdx.x", body))


def test_barriers_under_thread_dependent_control_flow_are_refused():
    with pytest.raises(BuildError, match=r"a barrier \(tl.syncthreads\) sits under the condition 'tx < 10'"):
        split_kernels(_barrier_kernel(lambda tx, bx, b: S.IfThenElse(tx < c32(10), b)))
    t3 = E.Var("t3")
    with pytest.raises(BuildError, match="sits under the guard threadIdx.x < '32'"):
        split_kernels(_barrier_kernel(lambda tx, bx, b: bind(t3, 32, "threadIdx.x", b)))
    # Uniform across the block: a blockIdx condition, or one every thread index satisfies.
    split_kernels(_barrier_kernel(lambda tx, bx, b: S.IfThenElse(bx < c32(3), b)))
    split_kernels(_barrier_kernel(lambda tx, bx, b: S.IfThenElse(tx < c32(64), b)))


def test_unknown_intrinsic_is_a_build_error():
    f = elementwise("bad", [F32], F32, lambda i, a: E.Call(F32, "no_such_fn", [a]))
    with pytest.raises(BuildError, match="unknown intrinsic 'no_such_fn'"):
        render_cuda(split_kernels(f))


# --- limits -------------------------------------------------------------------------------------------

def kernel_with(threads: tuple[int, int], shared_floats: int = 0):
    A = buf("A", F32, 4)
    tx, ty, bx = E.Var("tx"), E.Var("ty"), E.Var("bx")
    body: S.Stmt = bind(ty, threads[1], "threadIdx.y", bind(tx, threads[0], "threadIdx.x",
                                                           st(A, E.FloatImm(F32, 1.0), c32(0))))
    if shared_floats:
        body = S.Allocate(E.Var("sh", "handle"), F32, c32(shared_floats), "shared", body)
    return PrimFunc("big", [A], bind(bx, 1, "blockIdx.x", body))


def test_too_many_threads_are_rejected():
    (k,) = split_kernels(kernel_with((1024, 2))).kernels
    with pytest.raises(LaunchLimitError,
                       match="kernel big_kernel0 uses 2048 threads per block; the device allows 1024"):
        check_launch(k, SM90)
    check_launch(k, CUDATarget.from_string("cuda -arch=sm_90 -max_threads_per_block=2048"))


def test_too_much_shared_memory_is_rejected():
    (k,) = split_kernels(kernel_with((32, 1), shared_floats=16 * 1024)).kernels
    with pytest.raises(LaunchLimitError, match="uses 65536 bytes of shared memory per block; the device allows 49152"):
        check_launch(k, SM90)
    with pytest.raises(LaunchLimitError):  # build_cuda checks before compiling
        build_cuda(kernel_with((32, 1), shared_floats=16 * 1024), SM90)


def test_registers_and_axis_limits():
    (k,) = split_kernels(kernel_with((256, 1))).kernels
    check_launch(k, SM90, registers=255)  # 256 x 255 registers fit in 64K... just
    with pytest.raises(LaunchLimitError, match="registers per thread"):
        check_launch(k, CUDATarget.from_string("cuda -registers_per_block=32768"), registers=255)
    (k,) = split_kernels(kernel_with((1, 128))).kernels
    check_launch(k, SM90)
    A = buf("A", F32, 4)
    tz = E.Var("tz")
    (k,) = split_kernels(PrimFunc("z", [A], bind(tz, 128, "threadIdx.z", st(A, E.FloatImm(F32, 1), c32(0))))).kernels
    with pytest.raises(LaunchLimitError, match="binds 128 threads to threadIdx.z; the device allows 64"):
        check_launch(k, SM90)


def test_non_constant_thread_extent_is_rejected():
    n = E.Var("n", "int32")
    A = Buffer("A", F32, [n])
    tx = E.Var("tx")
    (k,) = split_kernels(PrimFunc("dyn", [A, n], bind(tx, n, "threadIdx.x", st(A, E.FloatImm(F32, 1), tx)))).kernels
    with pytest.raises(LaunchLimitError,
                       match="kernel dyn_kernel0: the extent 'n' bound to threadIdx.x is not a constant"):
        check_launch(k, SM90)


# --- the target ------------------------------------------------------------------------------------------

def test_target_parsing():
    t = CUDATarget.from_string("cuda -arch=sm_80 -max_threads_per_block=512 -max_shared_memory_per_block=65536 "
                               "-registers_per_block=32768 -emulate")
    assert (t.arch, t.max_threads_per_block, t.max_shared_memory_per_block, t.registers_per_block, t.emulate) == \
        ("sm_80", 512, 65536, 32768, True)
    assert t.compute_capability == (8, 0) and CUDATarget.from_string("cuda -arch=sm_120").compute_capability == (12, 0)
    assert CUDATarget.from_string(str(t)) == t
    d = CUDATarget.from_string("cuda")
    assert (d.max_threads_per_block, d.max_shared_memory_per_block, d.registers_per_block, d.emulate) == \
        (1024, 49152, 65536, False)
    if not gpu_available():
        assert d.arch == "sm_90"
    with pytest.raises(TargetError, match="unknown option '-foo=1'"):
        CUDATarget.from_string("cuda -foo=1")
    with pytest.raises(TargetError, match="-arch must name"):
        CUDATarget.from_string("cuda -arch=compute_90")
    with pytest.raises(TargetError, match="positive integer"):
        CUDATarget.from_string("cuda -max_threads_per_block=0")
    with pytest.raises(TargetError):
        CUDATarget.from_string("llvm")


# --- NVRTC -----------------------------------------------------------------------------------------------

@needs_nvrtc
@pytest.mark.parametrize("key", sorted(FUNCS))
def test_nvrtc_compiles_every_kernel(key):
    src = source_of(key)
    out = nvrtc.compile_cuda(src, "sm_90", key)
    assert out.cubin and out.cubin[:4] == b"\x7fELF"
    assert ".target sm_90" in out.ptx and out.ptx_version is not None
    for k in split_kernels(FUNCS[key]()).kernels:
        assert f".entry {k.name}(" in out.ptx
        assert out.resources[k.name].registers > 0


@needs_nvrtc
def test_half_compiles_without_cuda_fp16_header(monkeypatch):
    monkeypatch.setattr(nvrtc, "include_dirs", lambda: [])
    out = nvrtc.compile_cuda(source_of("half"), "sm_90", "half_standalone")
    assert out.cubin and "-I" not in " ".join(out.options)


@needs_nvrtc
def test_compile_cache_and_ptx_fallback_rules():
    src = source_of("vadd")
    a = nvrtc.compile_cuda(src, "sm_90", "vadd")
    assert nvrtc.compile_cuda(src, "sm_90", "vadd") is a
    assert nvrtc.max_ptx_version(12040) == (8, 4) and nvrtc.max_ptx_version(13000) == (9, 0)
    assert nvrtc.driver_accepts_ptx(a, 99000) and not nvrtc.driver_accepts_ptx(a, 12000)


@needs_nvrtc
def test_syntax_error_lists_the_offending_line():
    src = source_of("vadd").replace("Out[(bx * 64) + tx] = ", "Out[(bx * 64) + tx] = undefined_thing + ")
    bad_line = next(k + 1 for k, line in enumerate(src.splitlines()) if "undefined_thing" in line)
    with pytest.raises(BuildError) as info:
        nvrtc.compile_cuda(src, "sm_90", "broken")
    msg = str(info.value)
    assert "NVRTC failed to compile broken for sm_90" in msg
    assert 'identifier "undefined_thing" is undefined' in msg  # the log
    assert re.search(rf">\s*{bad_line} \|.*undefined_thing", msg)  # the line, numbered
    assert "-arch=sm_90" in msg and "compile_cuda(open(" in msg  # the repro
    repro = re.search(r"the source is in (\S+);", msg).group(1)
    with open(repro) as f:
        assert f.read() == src


@needs_nvrtc
def test_unsupported_arch_is_a_clear_error():
    with pytest.raises(BuildError, match="cannot compile for sm_35"):
        nvrtc.compile_cuda(source_of("vadd"), "sm_35", "old")


def test_missing_nvrtc_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(nvrtc, "_lib", None)
    monkeypatch.setitem(sys.modules, "cuda.bindings.nvrtc", None)  # as if cuda-python were not installed
    with pytest.raises(BuildError, match=r"pip install tensorlang\[cuda\]"):
        nvrtc.compile_cuda("int x;", "sm_90", "nolib_" + str(os.getpid()))


# --- the module without a GPU ----------------------------------------------------------------------------

@needs_nvrtc
def test_module_sources_and_argument_checks():
    m = build_cuda(vadd(), SM90)
    assert isinstance(m, CUDAModule) and m.kernel_names == ("vadd_kernel0",)
    assert "vadd_kernel0" in m.get_source("cuda") and ".entry vadd_kernel0" in m.get_source("ptx")
    assert m.get_source("tl").startswith("func vadd(")
    with pytest.raises(TargetError, match="unknown source format"):
        m.get_source("ll")
    a = np.zeros(8, np.float32)
    with pytest.raises(ArgumentError, match="expects 4 arguments"):
        m(a, a, 8)
    with pytest.raises(ArgumentError, match="expected float32, got float64"):
        m(a, a, np.zeros(8), 8)
    with pytest.raises(ArgumentError, match="overlap"):
        m(a, a, a, 8)


@needs_nvrtc
@pytest.mark.skipif(gpu_available(), reason="a GPU is present: the module runs")
def test_calling_without_a_gpu_is_a_clear_error():
    m = build_cuda(vadd(), SM90)
    a = np.zeros(8, np.float32)
    with pytest.raises(TargetError, match=r"no CUDA driver/GPU found; the target 'cuda -emulate'"):
        m(a, a.copy(), a.copy(), 8)
    with pytest.raises(TargetError, match="no CUDA driver/GPU found"):
        m.time_evaluator(number=2)(a, a.copy(), a.copy(), 8)


@needs_nvrtc
def test_export_and_load_round_trip(tmp_path):
    m = build_cuda(matmul(), SM90)
    path = tmp_path / "matmul.cuda.json"
    m.export_library(path)
    with open(path) as f:
        assert json.load(f)["format"] == "tensorlang-cuda-module"
    back = load_cuda_module(path)
    assert back.plan == m.plan and back.signature == m.signature
    assert back.compiled.cubin == m.compiled.cubin and back.get_source("cuda") == m.get_source("cuda")
    assert back.plan.align == ((0, 16), (1, 16), (2, 16))
    (tmp_path / "junk").write_text("{}")
    with pytest.raises(BuildError, match="not a tensorlang CUDA module"):
        load_cuda_module(tmp_path / "junk")


# --- running the CUDA C on the CPU (g++, one thread per GPU thread) ------------------------------------------

_HOST_PRELUDE = r"""
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>
struct tl_dim3 { unsigned x = 0, y = 0, z = 0; };
thread_local tl_dim3 threadIdx, blockIdx;
static std::barrier<>* tl_block_barrier;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __syncthreads() tl_block_barrier->arrive_and_wait()
static inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline double __longlong_as_double(long long x) { double d; std::memcpy(&d, &x, 8); return d; }
#define TL_VEC2(T, N) struct alignas(2 * sizeof(T)) N { T x, y; }; \
  static inline N make_##N(T x, T y) { return N{x, y}; }
#define TL_VEC4(T, N) struct alignas(4 * sizeof(T)) N { T x, y, z, w; }; \
  static inline N make_##N(T x, T y, T z, T w) { return N{x, y, z, w}; }
TL_VEC2(float, float2) TL_VEC4(float, float4) TL_VEC2(int, int2) TL_VEC4(int, int4)
TL_VEC2(unsigned, uint2) TL_VEC4(unsigned, uint4) TL_VEC2(double, double2)
TL_VEC2(long long, longlong2) TL_VEC2(unsigned long long, ulonglong2)
"""
_CTYPES = {"bool": ctypes.c_bool, "signed char": ctypes.c_int8, "unsigned char": ctypes.c_uint8,
           "short": ctypes.c_int16, "unsigned short": ctypes.c_uint16, "int": ctypes.c_int32,
           "unsigned int": ctypes.c_uint32, "long long": ctypes.c_int64, "unsigned long long": ctypes.c_uint64,
           "float": ctypes.c_float, "double": ctypes.c_double}
_HOST_KEYS = ["vadd", "matmul", "two_kernels", "int8", "bool", "f64_vector", "select_oob", "intrin_f32",
              "intrin_f64", "floordiv", "constants", "guarded", "masked_vec", "unaligned_vec", "let"]


def _launcher(name: str, params: str) -> str:
    """tl_launch_<name>(grid, block, params...): every block in turn, one OS thread per GPU thread."""
    names = ", ".join(p.split()[-1] for p in params.split(", "))
    return f"""
extern "C" void tl_launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned tx, unsigned ty, unsigned tz,
                                 {params}) {{
  for (unsigned bz = 0; bz < gz; ++bz) for (unsigned by = 0; by < gy; ++by) for (unsigned bx = 0; bx < gx; ++bx) {{
    std::barrier<> bar(tx * ty * tz);
    tl_block_barrier = &bar;
    std::vector<std::thread> threads;
    for (unsigned z = 0; z < tz; ++z) for (unsigned y = 0; y < ty; ++y) for (unsigned x = 0; x < tx; ++x)
      threads.emplace_back([=] {{ blockIdx = {{bx, by, bz}}; threadIdx = {{x, y, z}}; {name}({names}); }});
    for (auto& t : threads) t.join();
  }}
}}"""


@pytest.fixture(scope="module")
def host_lib():
    """Every host-runnable test function's CUDA C, each in its own namespace, in one library."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to run the CUDA C on the CPU")
    parts, signatures = [_HOST_PRELUDE], {}
    for key in _HOST_KEYS:
        src = source_of(key)
        assert "cuda_fp16" not in src
        launchers = []
        for m in re.finditer(r'extern "C" __global__ void __launch_bounds__\(\d+\) (\w+)\((.*?)\) \{', src):
            signatures[m.group(1)] = m.group(2).split(", ")
            launchers.append(_launcher(m.group(1), m.group(2)))
        parts.append(f"namespace host_{key} {{\n{src}\n{''.join(launchers)}\n}}")
    code = "\n".join(parts)
    out_dir = os.path.join(tempfile.gettempdir(), "tensorlang_cuda_host")
    os.makedirs(out_dir, exist_ok=True)
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    lib_path = os.path.join(out_dir, f"host_{digest}.so")
    if not os.path.exists(lib_path):
        cpp = os.path.join(out_dir, f"host_{digest}.cpp")
        with open(cpp, "w") as f:
            f.write(code)
        tmp = f"{lib_path}.{os.getpid()}.tmp"
        proc = subprocess.run([cxx, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-o", tmp, cpp],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{cxx} failed on {cpp}:\n{proc.stderr[-4000:]}"
        os.replace(tmp, lib_path)
    return ctypes.CDLL(lib_path), signatures


def run_on_host(host_lib, func: PrimFunc, *args):
    """Call ``func`` like a CUDAModule does (argument checks, device buffers, launches in plan
    order), with each kernel run by the host library; numpy outputs are written in place."""
    lib, signatures = host_lib
    m = build_cuda(func, SM90)
    bound = m._binder.bind(args)
    from tensorlang.target.cuda.runtime import _evaluate
    buffers = [np.zeros(_evaluate(b.extent, bound.env, b.name), b.dtype) for b in m.plan.buffers]
    for k in m.plan.kernels:
        grid = [_evaluate(d, bound.env, "grid") for d in k.grid]
        if min(grid) <= 0:
            continue
        cargs = []
        for (kind, i), decl in zip(k.args, signatures[k.name]):
            if kind == "buffer":
                cargs.append(ctypes.c_void_p(buffers[i].ctypes.data))
            elif i in bound.host:
                cargs.append(ctypes.c_void_p(bound.host[i].ctypes.data))
            else:
                ctype = _CTYPES[decl.rsplit(" ", 1)[0]]
                cargs.append(ctype(bound.values[i]))
        fn = getattr(lib, f"tl_launch_{k.name}")
        fn(*(ctypes.c_uint(v) for v in (*grid, *k.block)), *cargs)


def test_host_vadd_with_tail(host_lib):
    n = 1000
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    out = np.full(n + 24, 7.0, np.float32)
    run_on_host(host_lib, vadd(), a, b, out[:n], n)
    np.testing.assert_array_equal(out[:n], a + b)


def test_host_matmul_shared_tiles_and_barriers(host_lib):
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    run_on_host(host_lib, matmul(), a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_host_two_kernels_through_a_device_buffer(host_lib):
    a = rng.standard_normal(300).astype(np.float32)
    out = np.zeros(300, np.float32)
    run_on_host(host_lib, two_kernels(), a, out, 300)
    np.testing.assert_array_equal(out, a * 2 + 1)


def test_host_int8_wraps_and_floors(host_lib):
    n = 256
    a = rng.integers(-128, 128, n).astype(np.int8)
    b = rng.integers(-128, 128, n).astype(np.int8)
    out = np.zeros(n, np.int8)
    run_on_host(host_lib, int8_kernel(), a, b, out, n)
    with np.errstate(over="ignore"):
        want = (a * b + np.int8(100)) + a // np.int8(3) + b % np.int8(5)
    np.testing.assert_array_equal(out, want)


def test_host_bool_buffers(host_lib):
    n = 100
    a = rng.standard_normal(n).astype(np.float32)
    m = rng.random(n) < 0.5
    out, sel = np.zeros(n, bool), np.zeros(n, np.float32)
    run_on_host(host_lib, bool_kernel(), a, m, out, sel, n)
    np.testing.assert_array_equal(out, a > 0)
    np.testing.assert_array_equal(sel, np.where(m & ~(a > 0), a, -a))


def test_host_double2(host_lib):
    a, b = rng.standard_normal(512), rng.standard_normal(256)
    out = np.zeros(512)
    run_on_host(host_lib, f64_vector(), a, b, out)
    np.testing.assert_array_equal(out, a * 2 + np.repeat(b, 2))


def test_host_select_skips_out_of_bounds_loads(host_lib):
    n = 200
    a = rng.standard_normal(n).astype(np.float32)
    out = np.zeros(n, np.float32)
    run_on_host(host_lib, select_oob(), a, out, n)
    want = np.zeros(n, np.float32)
    want[1:] += a[:-1]
    want[:-1] += a[1:]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_host_intrinsics(host_lib, dt):
    n = 128
    a = rng.uniform(0.5, 1.5, n).astype(dt)
    out = np.zeros(n, dt)
    run_on_host(host_lib, intrinsics(as_dtype(dt)), a, out, n)
    import math
    fns = {"exp": np.exp, "exp2": np.exp2, "exp10": lambda x: 10.0 ** x, "log": np.log, "log2": np.log2,
           "log10": np.log10, "sqrt": np.sqrt, "tanh": np.tanh, "erf": np.vectorize(math.erf), "floor": np.floor,
           "ceil": np.ceil, "round": np.rint, "trunc": np.trunc, "sin": np.sin, "cos": np.cos, "tan": np.tan,
           "fabs": np.abs, "pow": lambda x: x ** 2}
    want = sum(fns[name](a.astype(np.float64)) for name in sorted(MATH_FUNCTIONS))
    np.testing.assert_allclose(out, want, rtol=1e-5 if dt == "float32" else 1e-12)


def test_host_floordiv(host_lib):
    n = 300
    a = rng.integers(-1000, 1000, n).astype(np.int32)
    out = np.zeros(n, np.int32)
    run_on_host(host_lib, floordiv_kernel(), a, out, n)
    x = a - 50
    np.testing.assert_array_equal(out, x // 7 * 1000 + x % 7 + np.arange(n) // 3)


def test_host_constants(host_lib):
    a = np.array([1.5, -2.0, np.nan, np.inf, -0.0, 0.0], np.float32)
    out = np.zeros(6, np.float32)
    run_on_host(host_lib, constants_kernel(), a, out, 6)
    big = np.float32((-2**31 + 2**40) * 1e-12)
    with np.errstate(invalid="ignore"):
        first = np.where(a > 0, np.where(a < np.inf, a, np.inf), np.where(a > -0.0, a, np.float32(-0.0)))
    want = first + np.where(np.isnan(a), np.nan, np.float32(0.1)) + big
    np.testing.assert_allclose(out, want.astype(np.float32), rtol=1e-6)


def test_host_guarded_thread_loop(host_lib):
    a = rng.standard_normal(64).astype(np.float32)
    out = np.zeros(64, np.float32)
    run_on_host(host_lib, guarded_threads(), a, out)
    want = a * 3
    want[:32] += 1
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_host_masked_and_unaligned_vectors(host_lib):
    n = 301
    a = rng.standard_normal(n).astype(np.float32)
    out = np.full(n, 5.0, np.float32)
    run_on_host(host_lib, predicated_vector(), a, out, n)
    np.testing.assert_array_equal(out, a + 1)
    a = rng.standard_normal(132).astype(np.float32)
    out = np.zeros(132, np.float32)
    run_on_host(host_lib, unaligned_vector(), a, out)
    np.testing.assert_array_equal(out[1:129], a[1:129] * 2)


def test_host_lets_and_vector_read_before_write(host_lib):
    a = rng.standard_normal(260).astype(np.float32)
    out = np.zeros(260, np.float32)
    orig = a.copy()
    run_on_host(host_lib, let_kernel(), a, out)
    for t in range(32):
        b = 8 * t
        np.testing.assert_allclose(out[b:b + 4], orig[b:b + 4] + orig[b + 4] ** 2, rtol=1e-6)
        np.testing.assert_array_equal(a[b + 1:b + 5], orig[b + 2:b + 6])


# --- on a real GPU ---------------------------------------------------------------------------------------

gpu = pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and pycuda")


@pytest.mark.gpu
@gpu
def test_gpu_vadd_against_numpy():
    m = build_cuda(vadd(), CUDATarget.from_string("cuda"))
    for n in (1, 1000, 65536 + 3):
        a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
        out = np.zeros(n, np.float32)
        m(a, b, out, n)
        np.testing.assert_array_equal(out, a + b)


@pytest.mark.gpu
@gpu
def test_gpu_matmul_and_two_kernels_against_numpy():
    m = build_cuda(matmul(), CUDATarget.from_string("cuda"))
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    m(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    two = build_cuda(two_kernels(), CUDATarget.from_string("cuda"))
    x, y = rng.standard_normal(1000).astype(np.float32), np.zeros(1000, np.float32)
    two(x, y, 1000)
    np.testing.assert_array_equal(y, x * 2 + 1)


@pytest.mark.gpu
@gpu
def test_gpu_half_int8_bool_intrinsics():
    t = CUDATarget.from_string("cuda")
    n = 500
    a, b = rng.standard_normal(n).astype(np.float16), rng.standard_normal(n).astype(np.float16)
    out = np.zeros(n, np.float16)
    build_cuda(half_kernel(), t)(a, b, out, n)
    y = (a * b + np.float16(1.5)).astype(np.float32) * np.float32(0.125)
    want = np.exp(y.astype(np.float16).astype(np.float32)).astype(np.float16) + np.arange(n).astype(np.float16)
    np.testing.assert_allclose(out.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=1e-2)
    i8 = rng.integers(-128, 128, (2, n)).astype(np.int8)
    o8 = np.zeros(n, np.int8)
    build_cuda(int8_kernel(), t)(i8[0], i8[1], o8, n)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(o8, (i8[0] * i8[1] + np.int8(100)) + i8[0] // np.int8(3) + i8[1] % np.int8(5))
    x = rng.uniform(0.5, 1.5, n).astype(np.float32)
    o = np.zeros(n, np.float32)
    build_cuda(intrinsics(F32), t)(x, o, n)
    assert np.all(np.isfinite(o))


@pytest.mark.gpu
@gpu
def test_gpu_arrays_are_used_without_copies():
    cp = pytest.importorskip("cupy")
    m = build_cuda(vadd(), CUDATarget.from_string("cuda"))
    n = 4096
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    ga, gb, gout = cp.asarray(a), cp.asarray(b), cp.zeros(n, np.float32)
    m(ga, gb, gout, n)
    np.testing.assert_array_equal(cp.asnumpy(gout), a + b)
    mm = build_cuda(matmul(), CUDATarget.from_string("cuda"))
    big = cp.zeros(64 * 64 + 1, np.float32)
    with pytest.raises(ArgumentError, match="16-byte aligned"):
        mm(big[1:].reshape(64, 64), cp.zeros((64, 64), np.float32), cp.zeros((64, 64), np.float32))


@pytest.mark.gpu
@gpu
def test_gpu_time_evaluator():
    m = build_cuda(matmul(), CUDATarget.from_string("cuda"))
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    res = m.time_evaluator(number=5, repeat=3)(a, b, c)
    assert isinstance(res, ProfileResult) and len(res.results) == 3 and 0 < res.mean < 1.0
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)  # results still come back
    res = m.time_evaluator(2, 1, 5)(a, b, c)
    assert res.results[0] > 0


# --- the runtime on a stand-in driver (host memory, kernels run by the host library) -------------------

class _HostDevice(CUDADevice):
    """A CUDADevice whose memory is host memory and whose launches run the host library."""

    runtime = "host"
    name = "host stand-in"
    compute_capability = (9, 0)
    driver_version = 13000

    def __init__(self, lib):
        self.lib = lib
        self.copies: list[tuple[str, int]] = []
        self.launches: list[tuple[str, tuple, tuple]] = []
        self.memory: dict[int, np.ndarray] = {}

    @property
    def live(self) -> int:
        return len(self.memory)

    def alloc(self, nbytes):
        buf = np.zeros(max(nbytes, 1), np.uint8)
        self.memory[buf.ctypes.data] = buf
        return buf.ctypes.data

    def free(self, ptr):
        del self.memory[ptr]

    def htod(self, ptr, host, nbytes):
        self.copies.append(("htod", nbytes))
        ctypes.memmove(ptr, host.ctypes.data, nbytes)

    def dtoh(self, host, ptr, nbytes):
        self.copies.append(("dtoh", nbytes))
        ctypes.memmove(host.ctypes.data, ptr, nbytes)

    def load(self, image):
        assert image[:4] == b"\x7fELF"  # the cubin, not the PTX
        return "module"

    def function(self, module, name):
        return name

    def launch(self, fn, grid, block, args):
        self.launches.append((fn, tuple(grid), tuple(block)))
        getattr(self.lib, f"tl_launch_{fn}")(*(ctypes.c_uint(v) for v in (*grid, *block)),
                                             *(t(v) for t, v in args))

    def event(self):
        return [0]

    def record(self, event):
        event[0] = len(self.launches)

    def elapsed(self, start, end):
        return 5e-4 * (end[0] - start[0])


class _FakeGPUArray:
    """A pycuda-GPUArray-like view of host memory."""

    def __init__(self, arr: np.ndarray, offset_bytes: int = 0):
        self.arr, self.shape, self.dtype, self.nbytes = arr, arr.shape, arr.dtype, arr.nbytes
        self.gpudata = arr.ctypes.data + offset_bytes
        self.flags = arr.flags


class _FakeCupyArray:
    """A cupy-like array: only ``__cuda_array_interface__``."""

    def __init__(self, arr: np.ndarray):
        self.arr = arr
        self.__cuda_array_interface__ = {"shape": arr.shape, "typestr": arr.dtype.str, "strides": None,
                                         "data": (arr.ctypes.data, False), "version": 3}


@pytest.fixture
def fake_driver(host_lib, monkeypatch):
    from tensorlang.target.cuda import driver
    dev = _HostDevice(host_lib[0])
    monkeypatch.setattr(driver, "_devices", {0: dev})
    monkeypatch.setattr(driver, "_init_pid", os.getpid())
    return dev


def test_runtime_copies_in_launches_and_copies_back_outputs(fake_driver):
    m = build_cuda(vadd(), SM90)
    n = 1000
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    a.flags.writeable = False  # inputs may be read-only: they are never copied back
    out = np.zeros(n, np.float32)
    m(a, b, out, n)
    np.testing.assert_array_equal(out, a + b)
    assert fake_driver.copies == [("htod", 4 * n)] * 3 + [("dtoh", 4 * n)]
    assert fake_driver.launches == [("vadd_kernel0", (16, 1, 1), (64, 1, 1))]
    assert fake_driver.live == 0  # every device allocation freed
    m(np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32), 0)
    assert len(fake_driver.launches) == 1  # an empty grid launches nothing


def test_runtime_two_kernels_and_device_buffer(fake_driver):
    m = build_cuda(two_kernels(), SM90)
    a, out = rng.standard_normal(300).astype(np.float32), np.zeros(300, np.float32)
    m(a, out, 300)
    np.testing.assert_array_equal(out, a * 2 + 1)
    assert [x[0] for x in fake_driver.launches] == ["two_kernel0", "two_kernel1"]
    assert [x[1] for x in fake_driver.launches] == [(5, 1, 1), (3, 1, 1)]


def test_runtime_gpu_arrays_are_not_copied(fake_driver):
    m = build_cuda(matmul(), SM90)
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    m(_FakeGPUArray(a), _FakeGPUArray(b), _FakeGPUArray(c))
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    assert fake_driver.copies == []
    raw = np.zeros(64 * 64 + 4, np.float32)
    shifted = _FakeGPUArray(raw[:4096].reshape(64, 64), offset_bytes=4)
    with pytest.raises(ArgumentError, match="argument A: the device pointer is not 16-byte aligned"):
        m(shifted, _FakeGPUArray(b), _FakeGPUArray(c))
    with pytest.raises(ArgumentError, match="expected float32, got float64"):
        m(_FakeGPUArray(a.astype(np.float64)), _FakeGPUArray(b), _FakeGPUArray(c))
    c2 = np.zeros((64, 64), np.float32)  # __cuda_array_interface__ (cupy, torch): no copies either
    m(_FakeCupyArray(a), _FakeCupyArray(b), _FakeCupyArray(c2))
    np.testing.assert_allclose(c2, a @ b, rtol=1e-4, atol=1e-4)
    assert fake_driver.copies == []


def test_runtime_time_evaluator(fake_driver):
    m = build_cuda(vadd(), SM90)
    a, b, out = (np.ones(256, np.float32) for _ in range(3))
    res = m.time_evaluator(number=3, repeat=2)(a, b, out, 256)
    assert isinstance(res, ProfileResult) and len(res.results) == 2 and res.mean > 0
    assert len(fake_driver.launches) == 1 + 3 + 3  # warm-up, then number runs per repeat
    np.testing.assert_array_equal(out, 2.0)
    with pytest.raises(KeyError):
        m.time_evaluator("other")
