"""Binary ops with numpy broadcasting on tensors and scalars (tag ``broadcast``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import te
from ..errors import ExprError
from ..te.expr import IntImm, PrimExpr, convert
from ..te.tensor import Tensor
from . import tag
from .utils import get_const_tuple


def _same_dim(a: PrimExpr, b: PrimExpr) -> bool:
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return a.value == b.value
    return a is b or str(a) == str(b)


def broadcast_shape(shape_a: Sequence[PrimExpr], shape_b: Sequence[PrimExpr], what: str = "broadcast") -> tuple:
    """The numpy broadcast of two shapes; an error names the mismatching dimensions."""
    ndim = max(len(shape_a), len(shape_b))
    a = [convert(1)] * (ndim - len(shape_a)) + [convert(d) for d in shape_a]
    b = [convert(1)] * (ndim - len(shape_b)) + [convert(d) for d in shape_b]
    out = []
    for k, (da, db) in enumerate(zip(a, b)):
        if isinstance(da, IntImm) and da.value == 1:
            out.append(db)
        elif isinstance(db, IntImm) and db.value == 1 or _same_dim(da, db):
            out.append(da)
        else:
            raise ExprError(f"{what}: shapes {get_const_tuple(shape_a)} and {get_const_tuple(shape_b)} do not "
                            f"broadcast (dimension {k}: {da} vs {db})")
    return tuple(out)


def _reader(t: Tensor, out_ndim: int) -> Callable[..., PrimExpr]:
    """Index ``t`` with the output index: leading dimensions dropped, size-1 dimensions read at 0."""
    lead = out_ndim - len(t.shape)
    ones = [isinstance(d, IntImm) and d.value == 1 for d in t.shape]

    def read(*idx: Any) -> PrimExpr:
        own = idx[lead:]
        return t(*[0 if one else i for one, i in zip(ones, own)])
    return read


def broadcast_to(data: Tensor, shape: Sequence[Any]) -> Tensor:
    """``data`` broadcast to ``shape``."""
    out_shape = broadcast_shape(data.shape, shape, "broadcast_to")
    read = _reader(data, len(out_shape))
    return te.compute(out_shape, lambda *i: read(*i), name="T_broadcast_to", tag=tag.BROADCAST)


def _binary(fn: Callable[[PrimExpr, PrimExpr], PrimExpr], name: str) -> Callable[[Any, Any], Any]:
    def op(lhs: Any, rhs: Any) -> Any:
        if not isinstance(lhs, Tensor) and not isinstance(rhs, Tensor):
            return fn(convert(lhs), convert(rhs))
        if not isinstance(rhs, Tensor):
            return te.compute(lhs.shape, lambda *i: fn(lhs(*i), rhs), name=f"T_{name}", tag=tag.ELEMWISE)
        if not isinstance(lhs, Tensor):
            return te.compute(rhs.shape, lambda *i: fn(lhs, rhs(*i)), name=f"T_{name}", tag=tag.ELEMWISE)
        shape = broadcast_shape(lhs.shape, rhs.shape, name)
        ra, rb = _reader(lhs, len(shape)), _reader(rhs, len(shape))
        return te.compute(shape, lambda *i: fn(ra(*i), rb(*i)), name=f"T_{name}", tag=tag.BROADCAST)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} with numpy broadcasting (tensors or scalars)."
    return op


add = _binary(lambda a, b: a + b, "add")
subtract = _binary(lambda a, b: a - b, "subtract")
multiply = _binary(lambda a, b: a * b, "multiply")
divide = _binary(lambda a, b: a / b, "divide")
floor_divide = _binary(te.floordiv, "floor_divide")
floor_mod = _binary(te.floormod, "floor_mod")
mod = _binary(te.truncmod, "mod")
maximum = _binary(lambda a, b: te.max(a, b), "maximum")
minimum = _binary(lambda a, b: te.min(a, b), "minimum")
power = _binary(te.power, "power")
equal = _binary(lambda a, b: a == b, "equal")
not_equal = _binary(lambda a, b: a != b, "not_equal")
less = _binary(lambda a, b: a < b, "less")
less_equal = _binary(lambda a, b: a <= b, "less_equal")
greater = _binary(lambda a, b: a > b, "greater")
greater_equal = _binary(lambda a, b: a >= b, "greater_equal")
logical_and = _binary(lambda a, b: te.all(a, b), "logical_and")
logical_or = _binary(lambda a, b: te.any(a, b), "logical_or")


__all__ = ["add", "broadcast_to", "divide", "equal", "floor_divide", "floor_mod", "greater", "greater_equal", "less",
           "less_equal", "logical_and", "logical_or", "maximum", "minimum", "mod", "multiply", "not_equal", "power",
           "subtract"]
