"""The LLVM backend's arithmetic on hand-built loop IR: operators by dtype, casts, intrinsics,
and Select evaluating only the chosen side; each compared with numpy on fresh random data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tensorlang.errors import BuildError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype

from .helpers import F32, I64, build, c32, elementwise, ld, loop, nonzero, rand, rng, vec_loop

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
    "sinh": (np.sinh, -5, 5), "cosh": (np.cosh, -5, 5), "asin": (np.arcsin, -0.99, 0.99),
    "acos": (np.arccos, -0.99, 0.99), "atan": (np.arctan, -20, 20), "asinh": (np.arcsinh, -20, 20),
    "acosh": (np.arccosh, 1.01, 20), "atanh": (np.arctanh, -0.99, 0.99), "log1p": (np.log1p, -0.9, 10),
    "expm1": (np.expm1, -5, 5),
}
BINARY = {"pow": np.power, "atan2": np.arctan2, "hypot": np.hypot, "copysign": np.copysign}


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


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("name", sorted(BINARY) + ["nextafter"])
def test_binary_intrinsics(name, dtype):
    a = rand(dtype, 500, 0.1, 4) if name == "pow" else rand(dtype, 500, -4, 4)
    b = rand(dtype, 500, -2, 2)
    b[:20] = a[:20]  # nextafter(x, x) = x; atan2 and hypot of equal arguments
    out = np.zeros(500, dtype)
    build(elementwise(name, [dtype, dtype], dtype, lambda x, y: E.Call(as_dtype(dtype), name, (x, y))))(a, b, out)
    if name == "nextafter":  # one representable step towards b, in the arguments' own type
        np.testing.assert_array_equal(out, np.nextafter(a, b))
        return
    want = BINARY[name](a.astype(np.float64), b.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(out, want, rtol={"float16": 2e-3, "float32": 2e-6, "float64": 1e-13}[dtype])


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


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_unknown_intrinsic_is_a_build_error(dtype):
    # With an int type it used to say "expects float arguments", as though the name were known.
    dt = as_dtype(dtype)
    with pytest.raises(BuildError, match="unknown intrinsic 'frobnicate'"):
        build(elementwise("bad", [dtype], dtype, lambda x: E.Call(dt, "frobnicate", (x,))))


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
