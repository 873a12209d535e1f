"""Math intrinsics and integer division helpers of the expression language."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError
from .dtype import BOOL, DType, as_dtype
from .expr import (
    NE,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    Call,
    Div,
    FloorDiv,
    FloorMod,
    IntImm,
    Let,
    Max,
    Min,
    Mod,
    PrimExpr,
    Select,
    ShiftLeft,
    ShiftRight,
    Var,
    _operand_pair,
    binary,
    bitwise,
    bitwise_not,  # re-exported: te.bitwise_not, tir.bitwise_not
    cast,
    const,
    convert,
)

# Names the code generators implement (tests/te/test_intrin_math.py checks both); each takes and
# returns one float dtype.
FLOAT_UNARY = ("exp", "exp2", "exp10", "log", "log2", "log10", "sqrt", "tanh", "erf", "floor",
               "ceil", "round", "trunc", "sin", "cos", "tan", "fabs", "sinh", "cosh", "asin", "acos", "atan",
               "asinh", "acosh", "atanh", "log1p", "expm1")
# Two-argument float functions (both arguments and the result of one float dtype), besides pow.
FLOAT_BINARY = ("atan2", "hypot", "copysign", "nextafter")


def _float_arg(x: Any, fname: str, promote: bool = False) -> PrimExpr:
    """``x`` as a float expression.  With ``promote``, a bool or integer one is converted as numpy's
    ufuncs convert it (np.exp of int8 or bool is float16, of int16 float32, of int32 float64):
    TVM code declares ``topi.exp`` of a bool tensor it never uses, and numpy is the reference."""
    e = convert(x)
    if promote and (e.dtype.is_bool or e.dtype.is_int):
        wide = np.promote_types(np.dtype(str(e.dtype.element_of())), np.float16)
        return cast(e, as_dtype(str(wide)).with_lanes(e.dtype.lanes))
    if not e.dtype.is_float:
        raise DTypeError(f"te.{fname} expects a float expression, got {e.dtype} '{e}' "
                         "(convert it with .astype('float32'))")
    return e


def _unary(fname: str):
    def fn(x: Any) -> PrimExpr:
        e = _float_arg(x, fname, promote=True)
        return Call(e.dtype, fname, (e,))
    return _named(fn, fname, f"Elementwise {fname} of a float expression.")


def _binary_call(fname: str):
    def fn(x: Any, y: Any) -> PrimExpr:
        a, b = _operand_pair(x, y, f" (in te.{fname})")
        if not a.dtype.is_float:
            raise DTypeError(f"te.{fname} expects float expressions, got {a.dtype} '{a}' "
                             "(convert it with .astype('float32'))")
        return Call(a.dtype, fname, (a, b))
    return _named(fn, fname, f"Elementwise {fname}(x, y) of float expressions (the C library's).")


def _named(fn: Any, fname: str, doc: str) -> Any:
    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = doc
    return fn


exp = _unary("exp")
exp2 = _unary("exp2")
exp10 = _unary("exp10")
log = _unary("log")
log2 = _unary("log2")
log10 = _unary("log10")
sqrt = _unary("sqrt")
tanh = _unary("tanh")
erf = _unary("erf")
_floor = _unary("floor")
_ceil = _unary("ceil")
_trunc = _unary("trunc")
sin = _unary("sin")
cos = _unary("cos")
tan = _unary("tan")
sinh = _unary("sinh")
cosh = _unary("cosh")
asin = _unary("asin")
acos = _unary("acos")
atan = _unary("atan")
asinh = _unary("asinh")
acosh = _unary("acosh")
atanh = _unary("atanh")
log1p = _unary("log1p")
expm1 = _unary("expm1")
_round = _unary("round")


def _integral(x: Any, fn: Any, keep_bool: bool) -> PrimExpr:
    """``fn(x)``, except that an integer (or, with ``keep_bool``, a bool) ``x`` is already integral
    and is returned unchanged, in its own dtype: numpy's floor/ceil/trunc/round keep an integer
    array's dtype (TVM 0.12 returns the integer too), and a float64 detour would lose the low
    bits of int64 values beyond 2**53."""
    e = convert(x)
    if e.dtype.is_int or (keep_bool and e.dtype.is_bool):
        return e
    return fn(e)


def floor(x: Any) -> PrimExpr:
    """Largest integer not above x; an integer or bool x is returned as is (as numpy.floor)."""
    return _integral(x, _floor, True)


def ceil(x: Any) -> PrimExpr:
    """Smallest integer not below x; an integer or bool x is returned as is (as numpy.ceil)."""
    return _integral(x, _ceil, True)


def trunc(x: Any) -> PrimExpr:
    """x rounded toward zero; an integer or bool x is returned as is (as numpy.trunc)."""
    return _integral(x, _trunc, True)


def round(x: Any) -> PrimExpr:  # noqa: A001
    """Round to the nearest integer, ties to even (as numpy.round); an integer x is returned as
    is (numpy.round of a bool is float16, and so is this)."""
    return _integral(x, _round, False)


def nearbyint(x: Any) -> PrimExpr:
    """Round to the nearest integer in the default rounding mode (ties to even), as ``round``."""
    return _round(x)


atan2 = _binary_call("atan2")
hypot = _binary_call("hypot")
copysign = _binary_call("copysign")
nextafter = _binary_call("nextafter")


def _through_float32(e: PrimExpr, fn: Any) -> PrimExpr | None:
    """``fn`` of a float16 ``e`` computed in float32 and rounded to half once (as the math calls
    are), not rounded after each of its steps; None for other dtypes."""
    if e.dtype.bits != 16:
        return None
    return cast(fn(cast(e, as_dtype("float32").with_lanes(e.dtype.lanes))), e.dtype)


def rsqrt(x: Any) -> PrimExpr:
    """1 / sqrt(x)."""
    e = _float_arg(x, "rsqrt", promote=True)
    half = _through_float32(e, rsqrt)
    if half is not None:
        return half
    return binary(Div, const(1.0, e.dtype), sqrt(e))


def sigmoid(x: Any) -> PrimExpr:
    """1 / (1 + exp(-x)), computed from t = exp(-|x|) as 1 / (1 + t) or t / (1 + t) so that it
    neither overflows nor loses the tiny results for large negative x."""
    e = _float_arg(x, "sigmoid", promote=True)
    half = _through_float32(e, sigmoid)
    if half is not None:
        return half
    one = const(1.0, e.dtype)
    t = exp(-abs(e))
    s = binary(Div, one, one + t)
    return Select(e >= const(0.0, e.dtype), s, t * s)


def abs(x: Any) -> PrimExpr:  # noqa: A001
    """Absolute value of an int or float expression."""
    e = convert(x)
    if e.dtype.is_float:
        return Call(e.dtype, "fabs", (e,))
    if e.dtype.is_int and e.dtype.is_signed:
        return Select(e < 0, -e, e)
    return e


# ``tl.opaque(x)``: x, as a value code generators must not fold (an identity the optimizer
# cannot see through); integer powers with constant exponents from this one on use it.
OPAQUE = "tl.opaque"
OPAQUE_POWER_EXPONENT = 1 << 16


def power(x: Any, y: Any) -> PrimExpr:
    """x ** y: the C library's pow for floats; for integers numpy's integer power, exact with
    wrap-around (a negative exponent, which numpy refuses, gives the quotient truncated toward
    zero: 1 / x ** -y, so 0 unless |x| is 1; 0 ** negative is 0)."""
    a, b = _operand_pair(x, y, " (in te.power)")
    if a.dtype.is_float:
        return Call(a.dtype, "pow", (a, b))
    if a.dtype.is_bool:
        a, b = cast(a, "int8"), cast(b, "int8")  # numpy raises the bools as int8
    return _int_power(a, b)


def _int_power(a: PrimExpr, b: PrimExpr) -> PrimExpr:
    """a ** b by squaring, over every bit of b, with each square and partial product bound once
    (a chain of Lets) so the expression grows linearly in the bit count."""
    dt = a.dtype
    one, zero = const(1, dt), const(0, dt)
    steps: list[tuple[Var, PrimExpr]] = []
    bits = dt.bits - 1 if dt.is_signed else dt.bits
    base = Var("pow.base0", dt)
    steps.append((base, a))
    if isinstance(b, IntImm) and b.value >= OPAQUE_POWER_EXPONENT:
        # LLVM's optimizer takes time linear in a constant exponent's value (2**31: minutes) once
        # the bit tests fold: such an exponent reaches it as a value it cannot see into.
        b = Call(dt, OPAQUE, (b,))
    if not isinstance(b, (IntImm, Var)):
        # b is read once per bit: bind it (a constant stays one, so its bit tests fold)
        exponent = Var("pow.exp", dt)
        steps.append((exponent, b))
        b = exponent
    result: PrimExpr = one
    for k in range(bits):
        if k:
            nxt = Var(f"pow.base{k}", dt)
            steps.append((nxt, base * base))
            base = nxt
        bit = bitwise(BitwiseAnd, bitwise(ShiftRight, b, const(k, dt)), one) != zero
        r = Var(f"pow.r{k}", dt)
        steps.append((r, Select(bit, result * base, result)))
        result = r
    if dt.is_signed:
        odd = bitwise(BitwiseAnd, b, one) != zero
        negative = Select(a == one, one, Select(a == -one, Select(odd, -one, one), zero))
        result = Select(b < zero, negative, result)
    for var, value in reversed(steps):
        result = Let(var, value, result)
    return result


def _int_arg(x: Any, fname: str) -> PrimExpr:
    e = convert(x)
    if not e.dtype.is_int:
        raise DTypeError(f"te.{fname} expects an integer expression, got {e.dtype} '{e}'")
    return e


def _bind(name: str, value: PrimExpr, body) -> PrimExpr:
    """``body(v)`` with ``v`` bound once to ``value`` (a Let), so a value used several times is
    computed once and the expression does not grow with each use."""
    var = Var(name, value.dtype)
    return Let(var, value, body(var))


def _popcount_unsigned(u: PrimExpr) -> PrimExpr:
    """The set bits of unsigned ``u``, summed in place (pairs, nibbles, bytes; LLVM turns this
    pattern into one popcnt where the target has it)."""
    dt, bits = u.dtype, u.dtype.bits

    def mask(byte: int) -> PrimExpr:
        return const(int.from_bytes(bytes([byte]) * (bits // 8), "little"), dt)

    def shr(v: PrimExpr, k: int) -> PrimExpr:
        return bitwise(ShiftRight, v, const(k, dt))

    def step3(v: PrimExpr) -> PrimExpr:
        nibbles = bitwise(BitwiseAnd, v + shr(v, 4), mask(0x0F))
        if bits == 8:
            return nibbles
        return _bind("popcount.n", nibbles, lambda n: shr(n * mask(0x01), bits - 8))

    def step2(v: PrimExpr) -> PrimExpr:
        pairs = bitwise(BitwiseAnd, v, mask(0x33)) + bitwise(BitwiseAnd, shr(v, 2), mask(0x33))
        return _bind("popcount.q", pairs, step3)

    return _bind("popcount.p", u - bitwise(BitwiseAnd, shr(u, 1), mask(0x55)), step2)


def popcount(x: Any) -> PrimExpr:
    """The number of set bits of an integer (of its two's complement bits when negative), in
    x's dtype, as TVM's ``tir.popcount`` (numpy's ``bitwise_count`` counts |x| instead)."""
    e = _int_arg(x, "popcount")
    unsigned = DType("uint", e.dtype.bits, e.dtype.lanes)
    return cast(_popcount_unsigned(cast(e, unsigned)), e.dtype)


def clz(x: Any) -> PrimExpr:
    """The number of leading zero bits of an integer (its width for 0, 0 when negative), as int32
    like TVM's ``tir.clz``."""
    e = _int_arg(x, "clz")
    unsigned = DType("uint", e.dtype.bits, e.dtype.lanes)
    bits = e.dtype.bits

    def smear(v: PrimExpr, k: int) -> PrimExpr:
        # Copy the highest set bit into every lower bit: then the zeros above it are the count.
        if k >= bits:
            return cast(const(bits, unsigned) - _popcount_unsigned(v), "int32")
        return _bind("clz.v", bitwise(BitwiseOr, v, bitwise(ShiftRight, v, const(k, unsigned))),
                     lambda w: smear(w, 2 * k))

    return _bind("clz.u", cast(e, unsigned), lambda u: smear(u, 1))


def ldexp(x: Any, n: Any) -> PrimExpr:
    """x * 2**n rounded once, for float x and integer n (numpy's ldexp; the C library's)."""
    e = _float_arg(x, "ldexp")
    k = convert(n)
    if not k.dtype.is_int:
        raise DTypeError(f"te.ldexp expects an integer exponent, got {k.dtype} '{k}'")
    # Any |n| past 2**16 already gives 0 or inf (or x for 0, inf, NaN), so the exponent is clamped
    # into int32, which both code generators' ldexp take.
    limit = 1 << 16
    if k.dtype.bits > 16:
        k = binary(Min, k, const(limit, k.dtype))
        if k.dtype.is_signed:
            k = binary(Max, k, const(-limit, k.dtype))
    return Call(e.dtype, "ldexp", (e, cast(k, "int32")))


def ceildiv(a: Any, b: Any) -> PrimExpr:
    """a / b rounded up: ``a // b``, plus 1 where the division leaves a remainder, for integers
    (no overflow, as ``(a + b - 1) // b`` has); ``ceil(a / b)`` for floats."""
    x, y = _operand_pair(a, b, " (in te.ceildiv)")
    if x.dtype.is_float:
        return ceil(binary(Div, x, y))
    return binary(FloorDiv, x, y) + cast(binary(FloorMod, x, y) != const(0, x.dtype), x.dtype)


def infinity(dtype: str | DType) -> PrimExpr:
    """+inf of a float dtype."""
    dt = as_dtype(dtype)
    if not dt.is_float:
        raise DTypeError(f"infinity of {dt}: only float dtypes have one")
    return const(float("inf"), dt)


pow = power  # noqa: A001 - TVM's tir.pow


def fmod(x: Any, y: Any) -> PrimExpr:
    """C fmod: the remainder with the sign of x."""
    a, b = _operand_pair(x, y, " (in te.fmod)")
    return binary(Mod, a, b)


def isnan(x: Any) -> PrimExpr:
    """True where x is NaN (always False for integers)."""
    e = convert(x)
    if not e.dtype.is_float:
        return const(False, BOOL)
    return binary(NE, e, e)


def isinf(x: Any) -> PrimExpr:
    """True where x is +inf or -inf (always False for integers)."""
    e = convert(x)
    if not e.dtype.is_float:
        return const(False, BOOL)
    return abs(e) == const(float("inf"), e.dtype)


def isfinite(x: Any) -> PrimExpr:
    """True where x is neither infinite nor NaN (always True for integers)."""
    e = convert(x)
    if not e.dtype.is_float:
        return const(True, BOOL)
    return abs(e) < const(float("inf"), e.dtype)  # False for NaN: unordered


def likely(cond: Any) -> PrimExpr:
    """``cond``, marked as usually true (a branch-prediction hint to the code generator)."""
    e = convert(cond)
    return Call(e.dtype, "likely", (e,))


def add(a: Any, b: Any) -> PrimExpr:
    """``a + b`` (TVM's functional spelling)."""
    return convert(a) + b


def subtract(a: Any, b: Any) -> PrimExpr:
    """``a - b`` (TVM's functional spelling)."""
    return convert(a) - b


def multiply(a: Any, b: Any) -> PrimExpr:
    """``a * b`` (TVM's functional spelling)."""
    return convert(a) * b


def div(a: Any, b: Any) -> PrimExpr:
    """``a / b`` with C's semantics: truncating for integers, true division for floats."""
    return binary(Div, a, b)


def floordiv(a: Any, b: Any) -> PrimExpr:
    """Division rounding toward minus infinity."""
    return binary(FloorDiv, a, b)


def floormod(a: Any, b: Any) -> PrimExpr:
    """Remainder with the sign of the divisor."""
    return binary(FloorMod, a, b)


def truncdiv(a: Any, b: Any) -> PrimExpr:
    """Integer division rounding toward zero.  Floats are refused, as TVM refuses them: Div of
    floats is the true quotient, not one rounded toward zero."""
    x, y = _operand_pair(a, b, " (in te.truncdiv)")
    if x.dtype.is_float:
        raise DTypeError(f"te.truncdiv expects integer operands, got {x.dtype} '{x}' and '{y}' "
                         "(for floats write te.trunc(a / b), or a / b for the true quotient)")
    return binary(Div, x, y)


def truncmod(a: Any, b: Any) -> PrimExpr:
    """Remainder with the sign of the dividend."""
    return binary(Mod, a, b)


indexdiv = floordiv
indexmod = floormod


def bitwise_and(x: Any, y: Any) -> PrimExpr:
    """``x & y`` of integers (logical and of conditions)."""
    return bitwise(BitwiseAnd, x, y)


def bitwise_or(x: Any, y: Any) -> PrimExpr:
    """``x | y`` of integers (logical or of conditions)."""
    return bitwise(BitwiseOr, x, y)


def bitwise_xor(x: Any, y: Any) -> PrimExpr:
    """``x ^ y`` of integers (inequality of conditions)."""
    return bitwise(BitwiseXor, x, y)


def shift_left(x: Any, y: Any) -> PrimExpr:
    """``x << y``: 0 when ``y`` is outside [0, bits), as numpy's left_shift."""
    return bitwise(ShiftLeft, x, y)


def shift_right(x: Any, y: Any) -> PrimExpr:
    """``x >> y`` (arithmetic when signed): the sign when ``y`` is outside [0, bits), as numpy's."""
    return bitwise(ShiftRight, x, y)


def _extreme(dtype: str | DType, largest: bool) -> PrimExpr:
    dt = as_dtype(dtype)
    if dt.is_bool:
        return const(largest, dt)
    info = np.finfo(dt.numpy()) if dt.is_float else np.iinfo(dt.numpy())
    value = info.max if largest else info.min
    return const(float(value) if dt.is_float else int(value), dt)


def max_value(dtype: str | DType) -> PrimExpr:
    """The largest finite value of ``dtype``."""
    return _extreme(dtype, largest=True)


def min_value(dtype: str | DType) -> PrimExpr:
    """The smallest finite value of ``dtype`` (most negative)."""
    return _extreme(dtype, largest=False)


# The names the te and tir facades re-export.
__all__ = ["ceildiv", "clz", "infinity", "ldexp", "popcount", "pow",
           "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "copysign", "cosh", "div", "expm1",
           "hypot", "isfinite", "isinf", "likely", "log1p", "multiply", "nearbyint", "nextafter", "sinh", "subtract",
           "abs", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "shift_left", "shift_right",
           "ceil", "cos", "erf", "exp", "exp2", "exp10", "floor", "floordiv", "floormod", "fmod", "indexdiv",
           "indexmod", "isnan", "log", "log2", "log10", "max_value", "min_value", "power", "round", "rsqrt", "sigmoid",
           "sin", "sqrt", "tan", "tanh", "trunc", "truncdiv", "truncmod"]
