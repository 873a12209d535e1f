"""Binary ops with numpy broadcasting on tensors and scalars (tag ``broadcast``), and the logical and
bitwise ops (``logical_not``, ``bitwise_not``: tag ``elemwise``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError
from ..te import expr as E
from ..te.broadcast import add, broadcast_binary, broadcast_reader, broadcast_shape, divide, multiply, subtract
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
    if x.dtype.is_float:
        raise DTypeError(f"bitwise_not: needs an integer or bool tensor, got {x.dtype}")
    return te.compute(x.shape, lambda *i: te.bitwise_not(x(*i)), name="T_bitwise_not", tag=tag.ELEMWISE)


__all__ = ["add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "broadcast_to", "divide", "equal",
           "floor_divide", "floor_mod", "greater", "greater_equal", "left_shift", "less", "less_equal", "logical_and",
           "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod", "multiply", "not_equal", "power",
           "right_shift", "subtract"]
