"""Binary ops with numpy broadcasting on tensors and scalars (tag ``broadcast``), and the logical and
bitwise ops (``logical_not``, ``bitwise_not``: tag ``elemwise``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te import expr as E
from ..te.broadcast import add, broadcast_binary, broadcast_reader, broadcast_shape, divide, multiply, subtract
from ..te.expr import PrimExpr, convert
from ..te.tensor import Tensor
from . import tag
from .utils import check_tensors, get_const_tuple


def broadcast_to(data: Tensor, shape: Sequence[Any]) -> Tensor:
    """``data`` broadcast to ``shape``, as numpy.broadcast_to: the result has exactly ``shape``, so
    ``data`` may not have more dimensions, and each of its dimensions must be 1 or the target's (a
    target dimension of 1 does not stretch to ``data``'s, which the symmetric broadcast would allow)."""
    what = "broadcast_to"
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    if isinstance(shape, (int, PrimExpr)) and not isinstance(shape, bool):
        shape = [shape]
    if isinstance(shape, (str, bytes, Tensor)) or not hasattr(shape, "__iter__"):
        raise ExprError(f"{what}: shape must be a sequence of integers, got {shape!r}")
    shape = list(shape)
    for k, d in enumerate(shape):
        if isinstance(d, bool) or not isinstance(d, (int, PrimExpr)) or \
                (isinstance(d, PrimExpr) and (not d.dtype.is_int or d.dtype.is_bool)):
            raise ExprError(f"{what}: shape[{k}] must be an integer, got {d!r}")
        if isinstance(d, int) and d < 0:
            raise ExprError(f"{what}: shape[{k}] is negative ({d})")
    have = get_const_tuple(data.shape)
    if len(have) > len(shape):
        raise ExprError(f"{what}: cannot broadcast {data.name} of shape {have} to {get_const_tuple(shape)}: "
                        f"it has more dimensions than the target")
    out_shape = broadcast_shape(data.shape, shape, what)
    lead = len(shape) - len(have)
    for k, (d, o) in enumerate(zip(have, get_const_tuple(shape)[lead:])):
        if isinstance(d, int) and isinstance(o, int) and d != 1 and d != o:
            raise ExprError(f"{what}: cannot broadcast {data.name} of shape {have} to {get_const_tuple(shape)}: "
                            f"its dimension {k} is {d}, the target's {lead + k} is {o}")
    out_shape = tuple(convert(d) for d in shape)
    read = broadcast_reader(data, len(out_shape))
    return te.compute(out_shape, lambda *i: read(*i), name="T_broadcast_to", tag=tag.BROADCAST)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, PrimExpr) and v.dtype.is_bool)


def _bools_as_int8(fn: Any) -> Any:
    """``fn`` with two bool operands read as int8, so the result is int8 as numpy's (bool // bool,
    bool % bool are int8 there; a bool dtype would give True / False for the quotient)."""
    def wrapped(a: Any, b: Any) -> Any:
        if _is_bool(a) and _is_bool(b):
            a, b = (te.const(int(v), "int8") if isinstance(v, bool) else v.astype("int8") for v in (a, b))
        return fn(a, b)
    return wrapped


def _no_bool_subtract(a: Any, b: Any) -> Any:
    if _is_bool(a) and _is_bool(b):
        raise DTypeError("subtract: numpy does not subtract booleans (bool - bool); use logical_xor, or "
                         "cast to an integer type first")
    return a - b


subtract = broadcast_binary(_no_bool_subtract, "subtract")  # noqa: F811 - te's, with numpy's bool rule
floor_divide = broadcast_binary(_bools_as_int8(te.floordiv), "floor_divide")
floor_mod = broadcast_binary(_bools_as_int8(te.floormod), "floor_mod")
mod = broadcast_binary(_bools_as_int8(te.truncmod), "mod")


def _trunc_div(a: Any, b: Any) -> PrimExpr:
    """Division rounding toward zero: C's ``/`` for integers, ``trunc(a / b)`` for floats (TVM's topi)."""
    q = te.div(a, b)
    return te.trunc(q) if q.dtype.is_float else q


trunc_divide = broadcast_binary(_bools_as_int8(_trunc_div), "trunc_divide")
trunc_mod = broadcast_binary(_bools_as_int8(te.truncmod), "trunc_mod")
maximum = broadcast_binary(lambda a, b: te.max(a, b), "maximum")
minimum = broadcast_binary(lambda a, b: te.min(a, b), "minimum")
power = broadcast_binary(te.power, "power")
equal = broadcast_binary(lambda a, b: a == b, "equal")
not_equal = broadcast_binary(lambda a, b: a != b, "not_equal")
less = broadcast_binary(lambda a, b: a < b, "less")
less_equal = broadcast_binary(lambda a, b: a <= b, "less_equal")
greater = broadcast_binary(lambda a, b: a > b, "greater")
greater_equal = broadcast_binary(lambda a, b: a >= b, "greater_equal")


def _truth(v: Any) -> Any:
    """``v`` as a condition, numpy's way: a float is true when nonzero (NaN included)."""
    if isinstance(v, PrimExpr) and v.dtype.is_float:
        return v != te.const(0, v.dtype)
    return bool(v) if isinstance(v, float) else v


logical_and = broadcast_binary(lambda a, b: te.all(_truth(a), _truth(b)), "logical_and")
logical_or = broadcast_binary(lambda a, b: te.any(_truth(a), _truth(b)), "logical_or")
logical_xor = broadcast_binary(lambda a, b: te.all(_truth(a), _truth(b)) != te.any(_truth(a), _truth(b)),
                               "logical_xor")

def logical_not(x: Tensor) -> Tensor:
    """True where ``x`` is zero (False, 0), as numpy.logical_not."""
    check_tensors("logical_not", x=x)
    def body(*i: Any) -> PrimExpr:
        v = x(*i)
        return ~v if v.dtype.is_bool else v == te.const(0, v.dtype)
    return te.compute(x.shape, body, name="T_logical_not", tag=tag.ELEMWISE)


def _refuse_floats(a: Any, b: Any, what: str) -> None:
    """Refuse float operands with the operator's name (te's own error would name only '&')."""
    for v in (a, b):
        if (isinstance(v, PrimExpr) and v.dtype.is_float) or isinstance(v, float):
            raise DTypeError(f"{what}: needs integer or bool operands, got {getattr(v, 'dtype', type(v).__name__)}")


def _bitwise(cls: type, name: str) -> Any:
    def fn(a: Any, b: Any) -> PrimExpr:
        _refuse_floats(a, b, name)
        return te.expr.bitwise(cls, a, b)
    return broadcast_binary(fn, name)


def _shift(cls: type, name: str) -> Any:
    def fn(a: Any, b: Any) -> PrimExpr:
        _refuse_floats(a, b, name)
        x, n = (v.astype("int8") if isinstance(v, PrimExpr) and v.dtype.is_bool else v for v in (a, b))
        return te.expr.bitwise(cls, x, n)   # numpy shifts bools as int8
    return broadcast_binary(fn, name)


bitwise_and = _bitwise(E.BitwiseAnd, "bitwise_and")
bitwise_or = _bitwise(E.BitwiseOr, "bitwise_or")
bitwise_xor = _bitwise(E.BitwiseXor, "bitwise_xor")
left_shift = _shift(E.ShiftLeft, "left_shift")
right_shift = _shift(E.ShiftRight, "right_shift")


def bitwise_not(x: Tensor) -> Tensor:
    """``~x`` for integers and bools (``not x``)."""
    check_tensors("bitwise_not", x=x)
    if x.dtype.is_float:
        raise DTypeError(f"bitwise_not: needs an integer or bool tensor, got {x.dtype}")
    return te.compute(x.shape, lambda *i: te.bitwise_not(x(*i)), name="T_bitwise_not", tag=tag.ELEMWISE)


__all__ = ["add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "broadcast_to", "divide", "equal",
           "floor_divide", "floor_mod", "greater", "greater_equal", "left_shift", "less", "less_equal", "logical_and",
           "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod", "multiply", "not_equal", "power",
           "right_shift", "subtract", "trunc_divide", "trunc_mod"]
