"""Elementwise binary operations of tensors with numpy broadcasting, and ``Tensor``'s arithmetic
operators built on them (``conv + bias``, ``2 * A``), as TVM binds them once topi is imported.

A tensor and a scalar give an elementwise stage (tag ``elemwise``); two tensors give a stage
of their broadcast shape (tag ``broadcast``), reading size-1 dimensions at 0.  ``topi``'s
broadcast operators are these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ExprError
from .expr import IntImm, PrimExpr, convert
from .operation import compute
from .tensor import Tensor

ELEMWISE = "elemwise"
BROADCAST = "broadcast"


def _dims(shape: Sequence[Any]) -> tuple:
    return tuple(d.value if isinstance(d, IntImm) else d for d in shape)


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
            raise ExprError(f"{what}: shapes {_dims(shape_a)} and {_dims(shape_b)} do not "
                            f"broadcast (dimension {k}: {da} vs {db})")
    return tuple(out)


def broadcast_reader(t: Tensor, out_ndim: int) -> Callable[..., PrimExpr]:
    """Index ``t`` with the output index: leading dimensions dropped, size-1 dimensions read at 0."""
    lead = out_ndim - len(t.shape)
    ones = [isinstance(d, IntImm) and d.value == 1 for d in t.shape]

    def read(*idx: Any) -> PrimExpr:
        own = idx[lead:]
        return t(*[0 if one else i for one, i in zip(ones, own)])
    return read


def broadcast_binary(fn: Callable[[PrimExpr, PrimExpr], PrimExpr], name: str) -> Callable[[Any, Any], Any]:
    """``op(lhs, rhs)``: ``fn`` elementwise over tensors (broadcast) and scalars, in a stage
    named ``T_<name>``; two scalars give the expression."""
    def op(lhs: Any, rhs: Any) -> Any:
        if not isinstance(lhs, Tensor) and not isinstance(rhs, Tensor):
            return fn(convert(lhs), convert(rhs))
        if not isinstance(rhs, Tensor):
            return compute(lhs.shape, lambda *i: fn(lhs(*i), rhs), name=f"T_{name}", tag=ELEMWISE)
        if not isinstance(lhs, Tensor):
            return compute(rhs.shape, lambda *i: fn(lhs, rhs(*i)), name=f"T_{name}", tag=ELEMWISE)
        shape = broadcast_shape(lhs.shape, rhs.shape, name)
        ra, rb = broadcast_reader(lhs, len(shape)), broadcast_reader(rhs, len(shape))
        return compute(shape, lambda *i: fn(ra(*i), rb(*i)), name=f"T_{name}", tag=BROADCAST)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} with numpy broadcasting (tensors or scalars)."
    return op


add = broadcast_binary(lambda a, b: a + b, "add")
subtract = broadcast_binary(lambda a, b: a - b, "subtract")
multiply = broadcast_binary(lambda a, b: a * b, "multiply")
divide = broadcast_binary(lambda a, b: a / b, "divide")


def _operator(fn: Callable[[Any, Any], Any], reflected: bool) -> Callable[[Tensor, Any], Any]:
    def method(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Tensor, PrimExpr, int, float)) or isinstance(other, bool):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)
    return method


# TVM binds exactly these four operators (and their reflections) to te.Tensor.
for _name, _fn in (("add", add), ("sub", subtract), ("mul", multiply), ("truediv", divide)):
    setattr(Tensor, f"__{_name}__", _operator(_fn, False))
    setattr(Tensor, f"__r{_name}__", _operator(_fn, True))


def _astype(self: Tensor, dtype: Any) -> Tensor:
    """TVM's ``tensor.astype(dtype)`` (its topi.cast): an elementwise cast stage of the tensor."""
    return compute(self.shape, lambda *i: self(*i).astype(dtype), name="T_cast", tag="elemwise")


Tensor.astype = _astype  # type: ignore[attr-defined]
