"""The LLVM CPU backend on hand-built loop IR: each test builds a PrimFunc from IR nodes,
compiles it, runs it on fresh random data and compares with numpy."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from tensorlang.errors import ArgumentError, BuildError, TargetError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.runtime import load_module
from tensorlang.target.llvm.build import build_llvm
from tensorlang.target.llvm.codegen import codegen_llvm
from tensorlang.target.llvm.target import LLVMTarget
from tensorlang.target.timing import ProfileResult
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = LLVMTarget.from_string("llvm")
SERIAL, PARALLEL = S.ForKind.SERIAL, S.ForKind.PARALLEL
F32 = as_dtype("float32")
I64 = as_dtype("int64")

rng = np.random.default_rng()


# --- helpers ------------------------------------------------------------------------------

def c32(v: int) -> E.IntImm:
    return E.IntImm("int32", v)


def loop(var: E.Var, extent: E.PrimExpr | int, body: S.Stmt, kind: S.ForKind = SERIAL) -> S.For:
    ext = c32(extent) if isinstance(extent, int) else extent
    return S.For(var, c32(0), ext, kind, body)


def ld(buf: Buffer, index: E.PrimExpr, predicate: E.PrimExpr | None = None) -> E.Load:
    return E.Load(buf.dtype, buf.data, index, predicate)


def build(func: PrimFunc, target: LLVMTarget = HOST):
    return build_llvm(func, target)


def elementwise(name: str, in_dtypes: list[str], out_dtype: str, make, kind: S.ForKind = SERIAL) -> PrimFunc:
    """Out[i] = make(A[i], B[i], ...) over a symbolic length n."""
    n = E.Var("n", "int32")
    ins = [Buffer("AB"[k], as_dtype(dt), [n]) for k, dt in enumerate(in_dtypes)]
    out = Buffer("Out", as_dtype(out_dtype), [n])
    i = E.Var("i", "int32")
    body = loop(i, n, S.Store(out.data, make(*(ld(b, i) for b in ins)), i), kind)
    return PrimFunc(name, [*ins, out, n], body, user_arity=len(ins) + 1)


def rand(dtype: str, shape, low: float = -10, high: float = 10) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dt.kind in "iu":
        return rng.integers(max(low, np.iinfo(dt).min), min(high, np.iinfo(dt).max), size=shape,
                            endpoint=True).astype(dt)
    return rng.uniform(low, high, size=shape).astype(dt)


def nonzero(dtype: str, shape, low: int, high: int) -> np.ndarray:
    b = rand(dtype, shape, low, high)
    b[b == 0] = 1
    return b


def vec_loop(name: str, n: int, lanes: int, make, out_dtype: str = "float32", in_dtypes=("float32",)):
    """Out[16i:16i+16] = make(i, A, B, ...) with one vector statement per iteration."""
    ins = [Buffer("AB"[k], as_dtype(dt), [c32(n)]) for k, dt in enumerate(in_dtypes)]
    out = Buffer("Out", as_dtype(out_dtype), [c32(n)])
    i = E.Var("i", "int32")
    idx = E.Ramp(E.Mul(i, c32(lanes)), c32(1), lanes)
    body = loop(i, n // lanes, S.Store(out.data, make(idx, *ins), idx))
    return PrimFunc(name, [*ins, out], body)


# --- arithmetic by dtype ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8", "uint8", "float16", "int64"])
@pytest.mark.parametrize("op, ref", [(E.Add, np.add), (E.Sub, np.subtract), (E.Mul, np.multiply),
                                     (E.Min, np.minimum), (E.Max, np.maximum)])
def test_binary_arithmetic(dtype, op, ref):
    f = build(elementwise(f"{op.__name__}_{dtype}", [dtype, dtype], dtype, op))
    # Small magnitudes keep signed results in range: the IR promises no signed overflow (nsw).
    low = 0 if dtype.startswith("u") else -10
    a, b = rand(dtype, 1000, low, 10), rand(dtype, 1000, low, 10)
    if dtype == "uint8" and op is E.Sub:
        a, b = np.maximum(a, b), np.minimum(a, b)
    out = np.zeros(1000, dtype)
    f(a, b, out)
    np.testing.assert_array_equal(out, ref(a, b))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_float_division_and_fmod(dtype):
    a, b = rand(dtype, 777), nonzero(dtype, 777, -10, 10)
    out = np.zeros(777, dtype)
    build(elementwise("fdiv", [dtype, dtype], dtype, E.Div))(a, b, out)
    np.testing.assert_array_equal(out, a / b)
    # Named like the libm function LLVM calls for frem: it must not end up calling itself.
    f = build(elementwise("fmod", [dtype, dtype], dtype, E.Mod))
    assert "@__tl_fmod" in f.get_source("ll")
    f(a, b, out)
    np.testing.assert_array_equal(out, np.fmod(a, b))


@pytest.mark.parametrize("dtype", ["int32", "int8", "int64"])
def test_floordiv_floormod_follow_python_on_negatives(dtype):
    a, b = rand(dtype, 1000, -100, 100), nonzero(dtype, 1000, -9, 9)
    assert (a < 0).any() and (b < 0).any()
    out = np.zeros(1000, dtype)
    build(elementwise("fdiv", [dtype, dtype], dtype, E.FloorDiv))(a, b, out)
    np.testing.assert_array_equal(out, a // b)
    build(elementwise("fmod", [dtype, dtype], dtype, E.FloorMod))(a, b, out)
    np.testing.assert_array_equal(out, a % b)


@pytest.mark.parametrize("dtype", ["int32", "int16"])
def test_div_mod_truncate_like_c(dtype):
    a, b = rand(dtype, 1000, -100, 100), nonzero(dtype, 1000, -9, 9)
    out = np.zeros(1000, dtype)
    build(elementwise("tdiv", [dtype, dtype], dtype, E.Div))(a, b, out)
    np.testing.assert_array_equal(out, (np.trunc(a / b)).astype(dtype))
    build(elementwise("tmod", [dtype, dtype], dtype, E.Mod))(a, b, out)
    np.testing.assert_array_equal(out, np.fmod(a, b))


@pytest.mark.parametrize("dtype", ["uint8", "uint32"])
def test_unsigned_division(dtype):
    a, b = rand(dtype, 1000, 0, 250), nonzero(dtype, 1000, 0, 17)
    out = np.zeros(1000, dtype)
    for op, ref in ((E.FloorDiv, np.floor_divide), (E.FloorMod, np.mod), (E.Div, np.floor_divide),
                    (E.Mod, np.mod)):
        build(elementwise("udiv", [dtype, dtype], dtype, op))(a, b, out)
        np.testing.assert_array_equal(out, ref(a, b))


@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8", "float64"])
@pytest.mark.parametrize("op, ref", [(E.EQ, np.equal), (E.NE, np.not_equal), (E.LT, np.less),
                                     (E.LE, np.less_equal), (E.GT, np.greater), (E.GE, np.greater_equal)])
def test_comparisons(dtype, op, ref):
    # Few distinct values, so equality happens often.
    a, b = rand(dtype, 500, 0, 4), rand(dtype, 500, 0, 4)
    if dtype.startswith("float"):
        a = np.round(a)
        b = np.round(b)
        a[::7] = np.nan  # ordered compares are False on NaN, != is True
    out = np.zeros(500, bool)
    build(elementwise("cmp", [dtype, dtype], "bool", op))(a, b, out)
    np.testing.assert_array_equal(out, ref(a, b))


def test_bool_logic_in_memory():
    def make(a, b):
        return E.Or(E.And(a, b), E.Not(a))
    a, b = rand("bool", 300), rand("bool", 300)
    out = np.zeros(300, bool)
    build(elementwise("logic", ["bool", "bool"], "bool", make))(a, b, out)
    np.testing.assert_array_equal(out, (a & b) | ~a)


# --- casts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("src, dst, low, high", [
    ("float32", "int32", -1000, 1000), ("int32", "float32", -1000, 1000), ("int8", "int32", -128, 127),
    ("uint8", "int32", 0, 255), ("int32", "int8", -1000, 1000), ("int32", "uint16", -70000, 70000),
    ("float64", "float32", -1e5, 1e5), ("float32", "float16", -100, 100), ("float16", "float64", -100, 100),
    ("bool", "int32", 0, 1), ("bool", "float32", 0, 1), ("int32", "bool", -2, 2), ("float32", "bool", -1, 1),
    ("uint32", "float64", 0, 2**32 - 1), ("float32", "uint8", 0, 255), ("int64", "int32", -2**40, 2**40),
    ("uint16", "uint64", 0, 65535), ("int16", "uint32", -30000, 30000),
])
def test_casts(src, dst, low, high):
    a = rand(src, 1000, low, high)
    if src == "float32" and dst == "bool":
        a[::5] = 0.0
    out = np.zeros(1000, dst)
    build(elementwise("cast", [src], dst, lambda x: E.Cast(as_dtype(dst), x)))(a, out)
    expected = a.astype(dst) if not (src.startswith("float") and dst.startswith("int")) else np.trunc(a).astype(dst)
    np.testing.assert_array_equal(out, expected)


# --- intrinsics ----------------------------------------------------------------------------

def _erf(x):
    return np.vectorize(math.erf)(x.astype(np.float64))


UNARY = {
    "exp": (np.exp, -5, 5), "exp2": (np.exp2, -5, 5), "exp10": (lambda x: np.power(10.0, x), -3, 3),
    "log": (np.log, 0.1, 10), "log2": (np.log2, 0.1, 10), "log10": (np.log10, 0.1, 10),
    "sqrt": (np.sqrt, 0, 10), "tanh": (np.tanh, -3, 3), "erf": (_erf, -3, 3), "floor": (np.floor, -10, 10),
    "ceil": (np.ceil, -10, 10), "round": (np.round, -10, 10), "trunc": (np.trunc, -10, 10),
    "sin": (np.sin, -3, 3), "cos": (np.cos, -3, 3), "tan": (np.tan, -1.2, 1.2), "fabs": (np.abs, -5, 5),
}


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-13), ("float16", 2e-3)])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_intrinsics(name, dtype, rtol):
    ref, low, high = UNARY[name]
    a = rand(dtype, 1000, low, high)
    if name == "round":
        a[:100] = rng.integers(-10, 10, 100) + 0.5  # ties go to even, as numpy
    if name == "exp10" and dtype == "float32":
        rtol = 1e-5  # exp(x * ln10) rounds x * ln10 first
    out = np.zeros(1000, dtype)
    f = build(elementwise(name, [dtype], dtype, lambda x: E.Call(as_dtype(dtype), name, (x,))))
    f(a, out)
    expected = ref(a.astype(np.float64) if dtype != "float64" else a).astype(dtype)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", ["exp", "tanh", "erf", "sqrt", "round"])
def test_vector_intrinsics(name):
    ref = UNARY[name][0]
    f = build(vec_loop(f"v{name}", 256, 16, lambda idx, A: E.Call(as_dtype("float32x16"), name, (ld(A, idx),))))
    a, out = rand("float32", 256, 0.1, 3), np.zeros(256, "float32")
    f(a, out)
    np.testing.assert_allclose(out, ref(a.astype(np.float64)).astype("float32"), rtol=2e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pow(dtype):
    a, b = rand(dtype, 500, 0.1, 4), rand(dtype, 500, -2, 2)
    out = np.zeros(500, dtype)
    build(elementwise("pow", [dtype, dtype], dtype, lambda x, y: E.Call(as_dtype(dtype), "pow", (x, y))))(a, b, out)
    np.testing.assert_allclose(out, np.power(a, b), rtol=2e-6)


def test_likely_and_if_then_else():
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n]), Buffer("Out", F32, [n])
    i = E.Var("i", "int32")
    cond = E.Call(as_dtype("bool"), "likely", (E.GT(ld(A, i), E.FloatImm(F32, 0.0)),))
    body = loop(i, n, S.IfThenElse(cond, S.Store(Out.data, ld(A, i), i),
                                   S.Store(Out.data, E.Sub(E.FloatImm(F32, 0.0), ld(A, i)), i)))
    a, out = rand("float32", 400), np.zeros(400, "float32")
    build(PrimFunc("absif", [A, Out, n], body, user_arity=2))(a, out)
    np.testing.assert_array_equal(out, np.abs(a))


def test_unknown_intrinsic_is_a_build_error():
    with pytest.raises(BuildError, match="unknown intrinsic 'frobnicate'"):
        build(elementwise("bad", ["float32"], "float32", lambda x: E.Call(F32, "frobnicate", (x,))))


# --- Select evaluates only the chosen side -------------------------------------------------------

def test_select_does_not_evaluate_out_of_bounds_load():
    n = E.Var("n", "int32")
    A, B, Out = Buffer("A", F32, [n]), Buffer("B", F32, [n]), Buffer("Out", F32, [n])
    i = E.Var("i", "int32")
    far = E.Add(E.Cast(I64, i), E.IntImm("int64", 1 << 40))  # 4 TiB past A: unmapped
    value = E.Select(E.GT(ld(B, i), E.FloatImm(F32, 0.0)), ld(A, i), ld(A, far))
    # The far side is never chosen, so B > 0 everywhere.
    a, b = rand("float32", 300), rand("float32", 300, 0.5, 2)
    out = np.zeros(300, "float32")
    f = build(PrimFunc("guard", [A, B, Out, n], loop(i, n, S.Store(Out.data, value, i)), user_arity=3))
    f(a, b, out)
    np.testing.assert_array_equal(out, a)


def test_select_guards_integer_division_by_zero():
    def make(a, b):
        return E.Select(E.NE(b, c32(0)), E.FloorDiv(a, b), c32(-1))
    a, b = rand("int32", 500, -50, 50), rand("int32", 500, -3, 3)
    assert (b == 0).any()
    out = np.zeros(500, "int32")
    build(elementwise("safediv", ["int32", "int32"], "int32", make))(a, b, out)
    np.testing.assert_array_equal(out, np.where(b != 0, a // np.where(b == 0, 1, b), -1))


def test_vector_select_masks_gather_and_division():
    n, lanes = 256, 16
    A = Buffer("A", F32, [c32(n)])
    IDX = Buffer("IDX", I64, [c32(n)])
    D = Buffer("D", as_dtype("int32"), [c32(n)])
    Out, Q = Buffer("Out", F32, [c32(n)]), Buffer("Q", as_dtype("int32"), [c32(n)])
    i = E.Var("i", "int32")
    idx = E.Ramp(E.Mul(i, c32(lanes)), c32(1), lanes)
    take = E.GE(ld(IDX, idx), E.Broadcast(E.IntImm("int64", 0), lanes))
    # Lanes with a negative index would gather 4 TiB away: they must stay masked off.
    far = E.Add(ld(IDX, idx), E.Broadcast(E.IntImm("int64", 1 << 40), lanes))
    value = E.Select(take, E.Load(F32, A.data, ld(IDX, idx)), E.Load(F32, A.data, far))
    value = E.Select(take, value, E.Broadcast(E.FloatImm(F32, -1.0), lanes))
    d = ld(D, idx)
    quot = E.Select(E.NE(d, E.Broadcast(c32(0), lanes)), E.Div(E.Ramp(c32(100), c32(1), lanes), d),
                    E.Broadcast(c32(7), lanes))
    body = loop(i, n // lanes, S.seq(S.Store(Out.data, value, idx), S.Store(Q.data, quot, idx)))
    f = build(PrimFunc("vsel", [A, IDX, D, Out, Q], body))
    a = rand("float32", n)
    ix = rng.integers(0, n, n)
    ix[rng.random(n) < 0.4] = -1
    dd = rand("int32", n, -2, 2)
    out, q = np.zeros(n, "float32"), np.zeros(n, "int32")
    f(a, ix, dd, out, q)
    np.testing.assert_array_equal(out, np.where(ix >= 0, a[np.maximum(ix, 0)], -1.0))
    num = 100 + np.arange(n) % lanes
    np.testing.assert_array_equal(q, np.where(dd != 0, np.trunc(num / np.where(dd == 0, 1, dd)), 7))


def test_safe_select_is_a_select_instruction():
    f = build(elementwise("relu", ["float32"], "float32",
                          lambda x: E.Select(E.GT(x, E.FloatImm(F32, 0.0)), x, E.FloatImm(F32, 0.0))))
    assert "select" in f.get_source("ll-unopt")
    a, out = rand("float32", 100), np.zeros(100, "float32")
    f(a, out)
    np.testing.assert_array_equal(out, np.maximum(a, 0))


# --- vectors and memory ----------------------------------------------------------------------

def test_contiguous_vector_load_store_emit_wide_vectors():
    f = build(vec_loop("vfma", 1024, 16, lambda idx, A, B: E.Add(E.Mul(ld(A, idx), ld(B, idx)), ld(A, idx)),
                       in_dtypes=("float32", "float32")))
    a, b, out = rand("float32", 1024), rand("float32", 1024), np.zeros(1024, "float32")
    f(a, b, out)
    np.testing.assert_allclose(out, a * b + a, rtol=1e-6, atol=1e-6)  # FMA-contracted
    assert "<16 x float>" in f.get_source("ll")
    asm = f.get_source("asm")
    assert ("zmm" in asm) if HOST.vector_bits >= 512 else ("ymm" in asm or "xmm" in asm)
    assert f.get_source("s") == asm


def test_target_features_steer_vector_width():
    no512 = LLVMTarget.from_string("llvm -mattr=-avx512f")
    assert no512.vector_bits <= 256
    f = build(vec_loop("v256", 256, 16, lambda idx, A: E.Add(ld(A, idx), ld(A, idx))), no512)
    assert "zmm" not in f.get_source("asm")
    a, out = rand("float32", 256), np.zeros(256, "float32")
    f(a, out)
    np.testing.assert_array_equal(out, a + a)


def test_strided_gather_and_scatter():
    n, lanes = 512, 16
    A, Out = Buffer("A", F32, [c32(n)]), Buffer("Out", F32, [c32(n)])
    i = E.Var("i", "int32")
    src = E.Ramp(E.Mul(i, c32(2 * lanes)), c32(2), lanes)
    dst = E.Ramp(E.Add(E.Mul(i, c32(2 * lanes)), c32(1)), c32(2), lanes)
    three = E.Broadcast(E.FloatImm(F32, 3.0), lanes)
    body = loop(i, n // (2 * lanes), S.Store(Out.data, E.Mul(ld(A, src), three), dst))
    f = build(PrimFunc("gs", [A, Out], body))
    a, out = rand("float32", n), rand("float32", n)
    expected = out.copy()
    expected[1::2] = a[0::2] * 3
    f(a, out)
    np.testing.assert_array_equal(out, expected)
    assert "gather" in f.get_source("ll-unopt") and "scatter" in f.get_source("ll-unopt")


def test_broadcast_of_scalar_param():
    n, lanes = 256, 16
    A, Out = Buffer("A", F32, [c32(n)]), Buffer("Out", F32, [c32(n)])
    alpha = E.Var("alpha", F32)
    i = E.Var("i", "int32")
    idx = E.Ramp(E.Mul(i, c32(lanes)), c32(1), lanes)
    body = loop(i, n // lanes, S.Store(Out.data, E.Mul(ld(A, idx), E.Broadcast(alpha, lanes)), idx))
    f = build(PrimFunc("scale", [A, alpha, Out], body))
    a, out, s = rand("float32", n), np.zeros(n, "float32"), float(rng.uniform(-3, 3))
    f(a, s, out)
    np.testing.assert_allclose(out, a * np.float32(s), rtol=1e-7)


def test_predicated_tail_touches_nothing_past_the_end():
    lanes = 16
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n]), Buffer("Out", F32, [n])
    i = E.Var("i", "int32")
    idx = E.Ramp(E.Mul(i, c32(lanes)), c32(1), lanes)
    pred = E.LT(idx, E.Broadcast(n, lanes))
    store = S.Store(Out.data, E.Add(ld(A, idx, pred), E.Broadcast(E.FloatImm(F32, 1.0), lanes)), idx, pred)
    body = loop(i, E.FloorDiv(E.Add(n, c32(lanes - 1)), c32(lanes)), store)
    f = build(PrimFunc("tail", [A, Out, n], body, user_arity=2))
    assert "masked.load" in f.get_source("ll") and "masked.store" in f.get_source("ll")
    for size in (1, 15, 16, 37):
        a = rand("float32", size)
        backing = np.full(size + lanes, 12345.0, "float32")
        f(a, backing[:size])
        np.testing.assert_array_equal(backing[:size], a + 1)
        assert (backing[size:] == 12345.0).all()


def test_predicated_gather():
    lanes, n = 8, 37
    A, Out = Buffer("A", F32, [c32(2 * n)]), Buffer("Out", F32, [c32(n)])
    i = E.Var("i", "int32")
    idx = E.Ramp(E.Mul(i, c32(lanes)), c32(1), lanes)
    pred = E.LT(idx, E.Broadcast(c32(n), lanes))
    src = E.Ramp(E.Mul(i, c32(2 * lanes)), c32(2), lanes)
    body = loop(i, (n + lanes - 1) // lanes, S.Store(Out.data, ld(A, src, pred), idx, pred))
    f = build(PrimFunc("pgather", [A, Out], body))
    a, out = rand("float32", 2 * n), np.zeros(n, "float32")
    f(a, out)
    np.testing.assert_array_equal(out, a[0::2])


def test_bool_vectors_round_trip_memory():
    f = build(vec_loop("vnot", 64, 16, lambda idx, A: E.Not(ld(A, idx)), out_dtype="bool", in_dtypes=("bool",)))
    a, out = rand("bool", 64), np.zeros(64, bool)
    f(a, out)
    np.testing.assert_array_equal(out, ~a)


@pytest.mark.parametrize("size, on_heap", [(1000, False), (4 * 1024 * 1024, True)])
def test_allocate_stack_or_heap(size, on_heap):
    A, Out = Buffer("A", F32, [c32(size)]), Buffer("Out", F32, [c32(size)])
    T = E.Var("T", "handle")
    i, j = E.Var("i", "int32"), E.Var("j", "int32")
    fill = loop(i, size, S.Store(T, E.Mul(ld(A, i), E.FloatImm(F32, 2.0)), i))
    use = loop(j, size, S.Store(Out.data, E.Add(E.Load(F32, T, E.Sub(c32(size - 1), j)), E.FloatImm(F32, 1.0)), j))
    f = build(PrimFunc("tmp", [A, Out], S.Allocate(T, F32, c32(size), "global", S.seq(fill, use))))
    a, out = rand("float32", size), np.zeros(size, "float32")
    f(a, out)
    np.testing.assert_array_equal(out, a[::-1] * 2 + 1)
    assert ("posix_memalign" in f.get_source("ll-unopt")) == on_heap


def test_dynamic_allocate_failure_raises_memory_error():
    A = Buffer("A", F32, [c32(4)])
    size = E.Var("size", I64)
    T = E.Var("T", "handle")
    i = E.Var("i", "int32")
    body = S.Allocate(T, F32, size, "global", loop(i, 4, S.Store(T, ld(A, i), i)))
    f = build(PrimFunc("huge", [A, size], body))
    f(rand("float32", 4), 16)
    with pytest.raises(MemoryError):
        f(rand("float32", 4), 1 << 60)


def test_let_and_letstmt():
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n]), Buffer("Out", F32, [n])
    i, x, y = E.Var("i", "int32"), E.Var("x", F32), E.Var("y", F32)
    value = E.Let(y, E.Mul(x, x), E.Add(y, x))
    body = loop(i, n, S.LetStmt(x, ld(A, i), S.seq(S.Evaluate(c32(0)), S.Store(Out.data, value, i))))
    a, out = rand("float32", 99), np.zeros(99, "float32")
    build(PrimFunc("let", [A, Out, n], body, user_arity=2))(a, out)
    np.testing.assert_allclose(out, a * a + a, rtol=1e-6, atol=1e-6)  # FMA-contracted


# --- parallel loops --------------------------------------------------------------------------

def test_parallel_for_result_and_outlining():
    f = build(elementwise("padd", ["float32", "float32"], "float32", E.Add, kind=PARALLEL))
    ll = f.get_source("ll")
    assert "__tl_pool_launch" in ll and "padd.parallel0" in ll
    for threads in (1, 2, 3, 0):
        f.set_num_threads(threads)
        for size in (0, 1, 2, 1001):
            a, b, out = rand("float32", size), rand("float32", size), np.zeros(size, "float32")
            f(a, b, out)
            np.testing.assert_array_equal(out, a + b)


def test_parallel_loop_really_runs_on_several_threads():
    K, R = 4096, 8192  # about 40 ms of serial float adds per chunk
    A, Out = Buffer("A", F32, [c32(K)]), Buffer("Out", F32, [c32(2)])
    p, r, k = E.Var("p", "int32"), E.Var("r", "int32"), E.Var("k", "int32")
    acc = S.Store(Out.data, E.Add(ld(Out, p), ld(A, k)), p)
    body = loop(p, 2, loop(r, R, loop(k, K, acc)), PARALLEL)
    f = build(PrimFunc("spin", [A, Out], body))
    f.set_num_threads(2)
    # About 0.4 * K ones: every partial sum stays an integer below 2**24, so float32 is exact.
    a, out = (rng.random(K) < 0.4).astype("float32"), np.zeros(2, "float32")
    f(a, out)
    np.testing.assert_array_equal(out, np.full(2, a.sum() * R, "float32"))
    # The persistent pool: native threads beside Python's, and no new thread for later calls.
    native = len(os.listdir("/proc/self/task"))
    assert native >= threading.active_count() + 1
    for _ in range(5):
        out[:] = 0
        f(a, out)
        np.testing.assert_array_equal(out, np.full(2, a.sum() * R, "float32"))
    assert len(os.listdir("/proc/self/task")) == native


def test_parallel_kernels_from_several_python_threads_and_a_fork():
    """Launches from several threads at once are serialized correctly; a forked child (no pool
    threads of its parent) gets a fresh pool."""
    f = build(elementwise("padd2", ["float32", "float32"], "float32", E.Add, kind=PARALLEL))
    f.set_num_threads(2)
    data = [(rand("float32", 5000), rand("float32", 5000)) for _ in range(4)]
    outs = [np.zeros(5000, "float32") for _ in data]

    def run(k):
        for _ in range(50):
            f(*data[k], outs[k])
    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (a, b), out in zip(data, outs):
        np.testing.assert_array_equal(out, a + b)
    pid = os.fork()
    if pid == 0:
        (a, b), out = data[0], np.zeros(5000, "float32")
        f(a, b, out)
        os._exit(0 if np.array_equal(out, a + b) else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_parallel_captures_lets_params_and_private_allocations():
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n, c32(8)]), Buffer("Out", F32, [n, c32(8)])
    alpha = E.Var("alpha", F32)
    i, j, j2 = E.Var("i", "int32"), E.Var("j", "int32"), E.Var("j2", "int32")
    base = E.Var("base", "int32")
    T = E.Var("T", "handle")
    inner = S.Allocate(T, F32, c32(8), "local", S.seq(
        loop(j, 8, S.Store(T, E.Mul(ld(A, E.Add(base, j)), alpha), j)),
        loop(j2, 8, S.Store(Out.data, E.Load(F32, T, E.Sub(c32(7), j2)), E.Add(base, j2)))))
    body = loop(i, n, S.LetStmt(base, E.Mul(i, c32(8)), inner), PARALLEL)
    f = build(PrimFunc("rev", [A, alpha, Out, n], body, user_arity=3))
    f.set_num_threads(2)
    a, out, s = rand("float32", (53, 8)), np.zeros((53, 8), "float32"), float(rng.uniform(1, 2))
    f(a, s, out)
    np.testing.assert_array_equal(out, (a * np.float32(s))[:, ::-1])


def test_nested_parallel_runs_inner_loop_serially():
    n = E.Var("n", "int32")
    A, Out = Buffer("A", F32, [n, c32(16)]), Buffer("Out", F32, [n, c32(16)])
    i, j = E.Var("i", "int32"), E.Var("j", "int32")
    flat = E.Add(E.Mul(i, c32(16)), j)
    body = loop(i, n, loop(j, 16, S.Store(Out.data, E.Sub(ld(A, flat), E.FloatImm(F32, 1.0)), flat), PARALLEL),
                PARALLEL)
    f = build(PrimFunc("nest", [A, Out, n], body, user_arity=2))
    unopt = f.get_source("ll-unopt")
    assert "nest.parallel0" in unopt and "nest.parallel1" not in unopt
    a, out = rand("float32", (33, 16)), np.zeros((33, 16), "float32")
    f(a, out)
    np.testing.assert_array_equal(out, a - 1)


def test_thread_binding_needs_gpu_target():
    A = Buffer("A", F32, [c32(4)])
    t = E.Var("tx", "int32")
    body = S.For(t, c32(0), c32(4), S.ForKind.THREAD_BINDING, S.Store(A.data, E.FloatImm(F32, 0.0), t), "threadIdx.x")
    with pytest.raises(BuildError, match="cuda"):
        build(PrimFunc("gpu", [A], body))


def test_unlowered_nodes_are_build_errors():
    class FakeTensor:
        name, dtype = "X", F32

    A = Buffer("A", F32, [c32(4)])
    i = E.Var("i", "int32")
    with pytest.raises(BuildError, match="TensorRead"):
        build(PrimFunc("tr", [A], loop(i, 4, S.Store(A.data, E.TensorRead(FakeTensor(), [i]), i))))
    with pytest.raises(BuildError, match="Provide"):
        build(PrimFunc("pv", [A], S.Provide(FakeTensor(), E.FloatImm(F32, 0.0), [c32(0)])))


# --- parameters, shapes and argument checking -----------------------------------------------------

def _matrix_func() -> PrimFunc:
    """Out[i, j] = A[i, j] * k + B[i + 1, j] with A: (n, m), B: (n + 1, m), Out: (n, m)."""
    n, m = E.Var("n", "int32"), E.Var("m", "int32")
    A = Buffer("A", F32, [n, m])
    B = Buffer("B", F32, [E.Add(n, c32(1)), m])
    Out = Buffer("Out", F32, [n, m])
    k = E.Var("k", "int32")
    i, j = E.Var("i", "int32"), E.Var("j", "int32")
    at = E.Add(E.Mul(i, m), j)
    below = E.Add(E.Mul(E.Add(i, c32(1)), m), j)
    value = E.Add(E.Mul(ld(A, at), E.Cast(F32, k)), ld(B, below))
    body = loop(i, n, loop(j, m, S.Store(Out.data, value, at)))
    return PrimFunc("mat", [A, B, k, Out, n, m], body, user_arity=4)


def test_symbolic_shapes_bind_from_arrays():
    f = build(_matrix_func())
    for n, m in ((3, 5), (17, 1), (8, 64)):
        a, b, out = rand("float32", (n, m)), rand("float32", (n + 1, m)), np.zeros((n, m), "float32")
        k = int(rng.integers(-5, 5))
        f(a, b, k, out)
        np.testing.assert_allclose(out, a * np.float32(k) + b[1:], rtol=1e-6, atol=1e-6)


def test_argument_errors_name_the_argument():
    f = build(_matrix_func())
    a, b, out = rand("float32", (4, 6)), rand("float32", (5, 6)), np.zeros((4, 6), "float32")
    with pytest.raises(ArgumentError, match=r"mat expects 4 arguments \(A, B, k, Out\), got 3"):
        f(a, b, 2)
    with pytest.raises(ArgumentError, match="argument B: expected float32, got float64"):
        f(a, b.astype("float64"), 2, out)
    with pytest.raises(ArgumentError, match="argument A: expected a numpy array"):
        f(a.tolist(), b, 2, out)
    with pytest.raises(ArgumentError, match="argument Out: expected 2 dimensions"):
        f(a, b, 2, out.ravel())
    with pytest.raises(ArgumentError, match=r"argument Out: dimension 1 is 7, but m = 6 from argument A"):
        f(a, b, 2, np.zeros((4, 7), "float32"))
    with pytest.raises(ArgumentError, match=r"argument B: dimension 0 must be \(n \+ 1\) = 5, got 4"):
        f(a, b[:4], 2, out)
    with pytest.raises(ArgumentError, match=r"argument A is not C-contiguous; pass np.ascontiguousarray\(A\)"):
        f(np.asfortranarray(a), b, 2, out)
    with pytest.raises(ArgumentError, match="argument k: expected a int32 scalar"):
        f(a, b, 2.5, out)
    with pytest.raises(ArgumentError, match="does not fit in int32"):
        f(a, b, 2**40, out)
    readonly = out.copy()
    readonly.flags.writeable = False
    with pytest.raises(ArgumentError, match="argument Out is read-only"):
        f(a, b, 2, readonly)
    with pytest.raises(ArgumentError, match="arguments A and Out overlap in memory"):
        f(a, b, 2, a)
    assert (out == 0).all()  # nothing ran


def test_constant_dims_and_array_hook():
    f = build(vec_loop("fixed", 64, 16, lambda idx, A: ld(A, idx)))

    class Wrapped:
        def __init__(self, arr):
            self.arr = arr

        def __tensorlang_array__(self):
            return self.arr

    a, out = rand("float32", 64), np.zeros(64, "float32")
    f(Wrapped(a), Wrapped(out))
    np.testing.assert_array_equal(out, a)
    with pytest.raises(ArgumentError, match="argument A: dimension 0 must be 64, got 63"):
        f(a[:63], out)


def test_read_only_inputs_may_alias():
    f = build(elementwise("sq", ["float32", "float32"], "float32", E.Mul))
    a, out = rand("float32", 50), np.zeros(50, "float32")
    a.flags.writeable = False
    f(a, a, out)
    np.testing.assert_array_equal(out, a * a)


@pytest.mark.parametrize("dtype, value", [("float16", 1.5), ("float64", -2.25), ("int8", -7), ("uint64", 2**63 + 5),
                                          ("bool", True)])
def test_scalar_params_of_every_kind(dtype, value):
    n = E.Var("n", "int32")
    Out = Buffer("Out", as_dtype(dtype), [n])
    s = E.Var("s", dtype)
    i = E.Var("i", "int32")
    f = build(PrimFunc("fill", [s, Out, n], loop(i, n, S.Store(Out.data, s, i)), user_arity=2))
    out = np.zeros(7, dtype)
    f(value, out)
    np.testing.assert_array_equal(out, np.full(7, value, dtype))


# --- module services ----------------------------------------------------------------------------

def test_sources_names_and_indexing():
    f = build(elementwise("vadd", ["float32", "float32"], "float32", E.Add))
    assert f.entry_name == f.name == "vadd"
    assert f["vadd"] is f and f[f.entry_name] is f
    with pytest.raises(KeyError):
        f["other"]
    assert "i32 @vadd(" in f.get_source("ll") and 'define i32 @"vadd"(' in f.get_source("ll-unopt")
    assert f.get_source("tl").startswith("func vadd(") and f.get_source("loopir") == f.get_source("tl")
    with pytest.raises(TargetError, match="unknown source format 'ptx'"):
        f.get_source("ptx")


def test_time_evaluator_returns_per_repeat_seconds():
    f = build(elementwise("vadd", ["float32", "float32"], "float32", E.Add))
    a, b, out = rand("float32", 4096), rand("float32", 4096), np.zeros(4096, "float32")
    res = f.time_evaluator(f.entry_name, None, number=5, repeat=3)(a, b, out)
    assert isinstance(res, ProfileResult) and len(res.results) == 3
    assert all(t > 0 for t in res.results) and res.min <= res.median <= res.max and res.std >= 0
    assert res.min <= res.mean <= res.max
    np.testing.assert_array_equal(out, a + b)
    res = f.time_evaluator(2, 2, 5)(a, b, out)  # number, repeat, min_repeat_ms
    assert len(res.results) == 2
    with pytest.raises(ArgumentError):
        f.time_evaluator(number=3)(a, b)


def test_export_library_and_load_module_round_trip(tmp_path):
    f = build(elementwise("pmul", ["float32", "float32"], "float32", E.Mul, kind=PARALLEL))
    path = tmp_path / "pmul.so"
    f.export_library(str(path))
    g = load_module(path)
    assert g.name == "pmul" and g["pmul"] is g
    a, b, out = rand("float32", 333), rand("float32", 333), np.zeros(333, "float32")
    g.set_num_threads(2)
    g(a, b, out)
    np.testing.assert_array_equal(out, a * b)
    assert g.get_source("tl") == f.get_source("tl")
    with pytest.raises(TargetError, match="only 'tl'"):
        g.get_source("ll")
    with pytest.raises(ArgumentError, match="argument B: expected float32, got int32"):
        g(a, b.astype("int32"), out)
    assert g.time_evaluator(number=2, repeat=2)(a, b, out).results
    g.export_library(tmp_path / "copy.so")
    assert load_module(tmp_path / "copy.so").name == "pmul"


def test_loaded_module_runs_without_llvmlite(tmp_path):
    f = build(elementwise("vsub", ["float64", "float64"], "float64", E.Sub, kind=PARALLEL))
    path = tmp_path / "vsub.so"
    f.export_library(path)
    script = (
        "import sys, numpy as np\n"
        "from tensorlang.runtime import load_module\n"
        f"m = load_module({str(path)!r})\n"
        "a = np.random.default_rng().random(100); b = np.random.default_rng().random(100)\n"
        "c = np.zeros(100)\n"
        "m(a, b, c)\n"
        "assert np.array_equal(c, a - b)\n"
        "assert m.num_threads == 3, m.num_threads\n"
        "assert 'llvmlite' not in sys.modules, 'load_module imported llvmlite'\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO, TENSORLANG_NUM_THREADS="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr


def test_load_module_refuses_foreign_libraries(tmp_path):
    src = tmp_path / "x.c"
    src.write_text("int x(void) { return 1; }\n")
    lib = tmp_path / "x.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    with pytest.raises(BuildError, match="not written by tensorlang"):
        load_module(lib)


def test_export_without_compiler_names_cc(tmp_path, monkeypatch):
    f = build(elementwise("v", ["float32"], "float32", lambda x: x))
    monkeypatch.setenv("CC", "no-such-cc-compiler")
    with pytest.raises(BuildError, match="no-such-cc-compiler"):
        f.export_library(tmp_path / "v.so")


# --- targets ---------------------------------------------------------------------------------

def test_target_strings():
    assert HOST.cpu and HOST.triple and HOST.opt_level == 3 and not HOST.fast_math
    t = LLVMTarget.from_string("llvm -mcpu=skylake-avx512 -mattr=+avx2,-avx512f -fast-math -opt-level=2")
    assert t.cpu == "skylake-avx512" and t.features == "+avx2,-avx512f" and t.fast_math and t.opt_level == 2
    assert LLVMTarget.from_string(str(t)) == t
    with pytest.raises(TargetError, match="-mfoo=bar"):
        LLVMTarget.from_string("llvm -mfoo=bar")
    with pytest.raises(TargetError, match="not an LLVM target"):
        LLVMTarget.from_string("cuda")
    with pytest.raises(TargetError, match="avx2"):
        LLVMTarget.from_string("llvm -mattr=avx2")
    with pytest.raises(TargetError, match="nonsense-cpu-os"):
        LLVMTarget.from_string("llvm -mtriple=nonsense-cpu-os")


def test_fast_math_target_compiles_and_flags_ops():
    fast = LLVMTarget.from_string("llvm -fast-math")
    func = elementwise("fm", ["float32", "float32"], "float32", lambda x, y: E.Add(E.Mul(x, y), x))
    assert "fadd fast" in codegen_llvm(func, fast) and "fast" not in codegen_llvm(func, HOST)
    # Positive inputs: no cancellation, so contraction into FMA changes only the last bit.
    a, b, out = rand("float32", 100, 0.5, 2), rand("float32", 100, 0.5, 2), np.zeros(100, "float32")
    build(func, fast)(a, b, out)
    np.testing.assert_allclose(out, a * b + a, rtol=1e-5)


def test_cross_target_gives_assembly_but_does_not_run():
    try:
        t = LLVMTarget.from_string("llvm -mtriple=aarch64-linux-gnu")
        f = build(elementwise("xadd", ["float32", "float32"], "float32", E.Add), t)
    except TargetError as exc:
        pytest.skip(f"this LLVM has no AArch64 backend: {exc}")
    assert "fadd" in f.get_source("asm") or "ld1" in f.get_source("asm")
    a = rand("float32", 4)
    with pytest.raises(BuildError, match="cannot run"):
        f(a, a, np.zeros(4, "float32"))


def test_concurrent_builds_are_safe():
    from concurrent.futures import ThreadPoolExecutor

    ops = [E.Add, E.Sub, E.Mul, E.Max] * 2
    with ThreadPoolExecutor(4) as pool:
        mods = list(pool.map(lambda op: build(elementwise(f"c{op.__name__}", ["float32"] * 2, "float32", op)), ops))
    a, b = rand("float32", 64), rand("float32", 64)
    for op, f in zip(ops, mods):
        out = np.zeros(64, "float32")
        f(a, b, out)
        np.testing.assert_array_equal(out, {E.Add: a + b, E.Sub: a - b, E.Mul: a * b, E.Max: np.maximum(a, b)}[op])

