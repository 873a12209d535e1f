"""Binary ops with numpy broadcasting on tensors and scalars (tag ``broadcast``), and the logical and
bitwise ops (``logical_not``, ``bitwise_not``: tag ``elemwise``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError
from ..te.broadcast import add, broadcast_binary, broadcast_reader, broadcast_shape, divide, multiply, subtract
from ..te.dtype import DType
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from . import tag


def broadcast_to(data: Tensor, shape: Sequence[Any]) -> Tensor:
    """``data`` broadcast to ``shape``."""
    out_shape = broadcast_shape(data.shape, shape, "broadcast_to")
    read = broadcast_reader(data, len(out_shape))
    return te.compute(out_shape, lambda *i: read(*i), name="T_broadcast_to", tag=tag.BROADCAST)


floor_divide = broadcast_binary(te.floordiv, "floor_divide")
floor_mod = broadcast_binary(te.floormod, "floor_mod")
mod = broadcast_binary(te.truncmod, "mod")
maximum = broadcast_binary(lambda a, b: te.max(a, b), "maximum")
minimum = broadcast_binary(lambda a, b: te.min(a, b), "minimum")
power = broadcast_binary(te.power, "power")
equal = broadcast_binary(lambda a, b: a == b, "equal")
not_equal = broadcast_binary(lambda a, b: a != b, "not_equal")
less = broadcast_binary(lambda a, b: a < b, "less")
less_equal = broadcast_binary(lambda a, b: a <= b, "less_equal")
greater = broadcast_binary(lambda a, b: a > b, "greater")
greater_equal = broadcast_binary(lambda a, b: a >= b, "greater_equal")
logical_and = broadcast_binary(lambda a, b: te.all(a, b), "logical_and")
logical_or = broadcast_binary(lambda a, b: te.any(a, b), "logical_or")

logical_xor = broadcast_binary(lambda a, b: te.all(a, b) != te.any(a, b), "logical_xor")


def logical_not(x: Tensor) -> Tensor:
    """True where ``x`` is zero (False, 0), as numpy.logical_not."""
    def body(*i: Any) -> PrimExpr:
        v = x(*i)
        return ~v if v.dtype.is_bool else v == te.const(0, v.dtype)
    return te.compute(x.shape, body, name="T_logical_not", tag=tag.ELEMWISE)


# The expression language has no bitwise operators: integers are taken apart into bits with
# floor division and modulo by powers of two (LLVM turns them into shifts and masks), and shift
# amounts into a product of powers of two.

def _int_operands(a: Any, b: Any, what: str) -> tuple[PrimExpr, PrimExpr]:
    """Both operands as expressions of one integer (or bool) dtype; Python ints take the other's."""
    def dtype_for(value: Any, other: Any) -> Any:
        if isinstance(value, PrimExpr):
            return value.dtype
        if isinstance(value, bool):
            return "bool" if not isinstance(other, PrimExpr) else other.dtype
        if not isinstance(value, int):
            raise DTypeError(f"{what}: needs integer or bool operands, got {value!r}")
        return "int32" if not isinstance(other, PrimExpr) or other.dtype.is_bool else other.dtype
    dta, dtb = dtype_for(a, b), dtype_for(b, a)
    a = a if isinstance(a, PrimExpr) else te.const(a, dta)
    b = b if isinstance(b, PrimExpr) else te.const(b, dtb)
    dt = te.promote(a.dtype, b.dtype, f" (in {what})")
    if dt.is_float:
        raise DTypeError(f"{what}: needs integer or bool operands, got {a.dtype} and {b.dtype}")
    return a.astype(dt), b.astype(dt)


def _bits(v: PrimExpr, dt: DType) -> list[tuple[PrimExpr, PrimExpr]]:
    """(bit k of ``v`` as 0 or 1, the bit's weight), lowest first; a signed top bit weighs -2**(n-1)."""
    out = []
    for k in range(dt.bits):
        if k == dt.bits - 1 and dt.is_signed:
            out.append(((v < te.const(0, dt)).astype(dt), te.min_value(dt)))
            continue
        weight = te.const(1 << k, dt)
        shifted = te.floordiv(v, weight) if k else v
        out.append((te.floormod(shifted, te.const(2, dt)), weight))
    return out


def _bitwise(combine: Any, on_bool: Any, name: str) -> Any:
    def fn(a: Any, b: Any) -> PrimExpr:
        x, y = _int_operands(a, b, name)
        if x.dtype.is_bool:
            return on_bool(x, y)
        total: Any = None
        for (xb, w), (yb, _) in zip(_bits(x, x.dtype), _bits(y, y.dtype)):
            term = combine(xb, yb) * w
            total = term if total is None else total + term
        return total
    return broadcast_binary(fn, name)


bitwise_and = _bitwise(lambda p, q: te.min(p, q), lambda p, q: te.all(p, q), "bitwise_and")
bitwise_or = _bitwise(lambda p, q: te.max(p, q), lambda p, q: te.any(p, q), "bitwise_or")
bitwise_xor = _bitwise(lambda p, q: p + q - te.min(p, q) * 2, lambda p, q: p != q, "bitwise_xor")


def bitwise_not(x: Tensor) -> Tensor:
    """``~x`` for integers (``-1 - x``; the largest value minus ``x`` when unsigned) and bools (``not x``)."""
    def body(*i: Any) -> PrimExpr:
        v = x(*i)
        if v.dtype.is_float:
            raise DTypeError(f"bitwise_not: needs an integer or bool tensor, got {v.dtype}")
        if v.dtype.is_bool:
            return ~v
        return te.const(-1, v.dtype) - v if v.dtype.is_signed else te.max_value(v.dtype) - v
    return te.compute(x.shape, body, name="T_bitwise_not", tag=tag.ELEMWISE)


def _power_of_two(shift: PrimExpr, dt: DType) -> PrimExpr:
    """2 ** (shift mod bits of ``dt``) in ``dt`` (the top bit wraps to the minimum of a signed type)."""
    out: Any = te.const(1, dt)
    for j in range((dt.bits - 1).bit_length()):
        bit = te.floormod(te.floordiv(shift, te.const(1 << j, dt)) if j else shift, te.const(2, dt))
        out = out * te.if_then_else(bit == te.const(1, dt), te.const(1 << (1 << j), dt), te.const(1, dt))
    return out


def _shift_operands(a: Any, b: Any, what: str) -> tuple[PrimExpr, PrimExpr, DType]:
    x, n = _int_operands(a, b, what)
    if x.dtype.is_bool:
        x, n = x.astype("int8"), n.astype("int8")
    return x, n, x.dtype


def _left_shift(a: Any, b: Any) -> PrimExpr:
    x, n, dt = _shift_operands(a, b, "left_shift")
    inside = te.all(n >= te.const(0, dt), n < te.const(dt.bits, dt)) if dt.is_signed else n < te.const(dt.bits, dt)
    return te.if_then_else(inside, x * _power_of_two(n, dt), te.const(0, dt))


def _right_shift(a: Any, b: Any) -> PrimExpr:
    x, n, dt = _shift_operands(a, b, "right_shift")
    if not dt.is_signed:
        return te.if_then_else(n < te.const(dt.bits, dt), te.floordiv(x, _power_of_two(n, dt)), te.const(0, dt))
    # a shift by bits - 1 or more (or a negative one) leaves only the sign: -1 or 0, as numpy
    inside = te.all(n >= te.const(0, dt), n < te.const(dt.bits - 1, dt))
    sign = te.if_then_else(x < te.const(0, dt), te.const(-1, dt), te.const(0, dt))
    return te.if_then_else(inside, te.floordiv(x, _power_of_two(n, dt)), sign)


left_shift = broadcast_binary(_left_shift, "left_shift")
right_shift = broadcast_binary(_right_shift, "right_shift")


__all__ = ["add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "broadcast_to", "divide", "equal",
           "floor_divide", "floor_mod", "greater", "greater_equal", "left_shift", "less", "less_equal", "logical_and",
           "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod", "multiply", "not_equal", "power",
           "right_shift", "subtract"]
