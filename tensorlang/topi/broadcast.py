"""Binary ops with numpy broadcasting on tensors and scalars (tag ``broadcast``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..te.broadcast import add, broadcast_binary, broadcast_reader, broadcast_shape, divide, multiply, subtract
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


__all__ = ["add", "broadcast_to", "divide", "equal", "floor_divide", "floor_mod", "greater", "greater_equal", "less",
           "less_equal", "logical_and", "logical_or", "maximum", "minimum", "mod", "multiply", "not_equal", "power",
           "subtract"]
