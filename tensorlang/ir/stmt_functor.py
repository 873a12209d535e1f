"""TVM's ``tir.stmt_functor``: walk and rewrite statements and expressions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..te.expr import PrimExpr, Var, cast, convert
from ..te.functor import Mutator, post_order_visit
from ..te.functor import substitute as substitute_vars


def substitute(node: Any, vmap: dict[Var, Any]) -> Any:
    """``node`` with each variable of ``vmap`` replaced by its value; an integer value takes the
    variable's integer width (a loop variable may be int64 where TVM's is int32)."""
    values: dict[Var, PrimExpr] = {}
    for v, value in vmap.items():
        value = convert(value)
        if value.dtype != v.dtype and value.dtype.is_int and v.dtype.is_int:
            value = cast(value, v.dtype)
        values[v] = value
    return substitute_vars(node, values)


def ir_transform(stmt: Any, preorder: Callable[[Any], Any] | None, postorder: Callable[[Any], Any] | None,
                 only_enable: Sequence[str] | None = None) -> Any:
    """TVM's ``ir_transform``: rebuild ``stmt`` bottom-up; for each node of the enabled kinds
    (``"tir.For"``, ``"tir.Store"`` ...; every kind when None), ``preorder(node)`` may return a
    replacement (its children are then left as they are), else the children are transformed
    and ``postorder(node)`` may return a replacement; returning None keeps the node."""
    kinds = None if only_enable is None else {k.split(".")[-1] for k in only_enable}

    class _Transform(Mutator):
        def visit(self, node: Any, *extra: Any) -> Any:
            enabled = kinds is None or type(node).__name__ in kinds
            if enabled and preorder is not None:
                got = preorder(node)
                if got is not None:
                    return got
            out = self.generic_visit(node)
            if enabled and postorder is not None:
                got = postorder(out)
                if got is not None:
                    return got
            return out
    return _Transform().visit(stmt)


__all__ = ["ir_transform", "post_order_visit", "substitute"]
