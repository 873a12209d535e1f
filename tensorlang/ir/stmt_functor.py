"""TVM's ``tir.stmt_functor``: walk and rewrite statements and expressions."""

from __future__ import annotations

from typing import Any

from ..te.expr import PrimExpr, Var, cast, convert
from ..te.functor import post_order_visit
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


__all__ = ["post_order_visit", "substitute"]
