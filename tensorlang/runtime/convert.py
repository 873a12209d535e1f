"""``tvm.runtime.convert``: Python values as IR values (numbers as constants, containers item
by item, dict values converted and keys kept)."""

from __future__ import annotations

from typing import Any

from ..te.expr import PrimExpr
from ..te.expr import convert as convert_expr


def convert(value: Any) -> Any:
    """``value`` with its numbers made IR constants (TVM's ``runtime.convert``)."""
    if isinstance(value, dict):
        return {k: convert(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [convert(v) for v in value]
    if isinstance(value, (PrimExpr, str)) or not isinstance(value, (int, float, bool)):
        return value
    return convert_expr(value)
