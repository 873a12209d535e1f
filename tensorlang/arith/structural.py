"""Structural keys: two expressions have equal keys exactly when they are the same tree
(variables, tensors and buffers compared by identity).  Float constants are compared by their
bits, not by ``==``: ``-0.0`` and ``0.0`` are different trees (``select(c, 0.0, -0.0)`` is not
``0.0``, and numpy's ``minimum(-0.0, 0.0)`` is ``0.0``), and a NaN constant equals itself."""

from __future__ import annotations

import struct
from typing import Any

from ..te.expr import FloatImm, IntImm, Node, Var


def structural_key(e: Any) -> Any:
    """A hashable key that identifies the expression tree ``e`` up to identity of its leaves."""
    t = type(e)
    if t is Var:
        return ("v", id(e))
    if t is IntImm:
        return ("i", e.dtype, e.value)
    if t is FloatImm:
        return ("f", e.dtype, _float_bits(e.value))
    if isinstance(e, Node):
        return (t.__name__,) + tuple(_param_key(getattr(e, p)) for p in e._params)
    return _param_key(e)


def _param_key(v: Any) -> Any:
    if isinstance(v, Node):
        return structural_key(v)
    if isinstance(v, tuple):
        return tuple(_param_key(x) for x in v)
    if isinstance(v, float):
        return ("float", _float_bits(v))
    if v is None or isinstance(v, (int, str)):
        return v
    if hasattr(v, "op") and hasattr(v, "value_index"):  # a Tensor
        return ("t", id(v.op), v.value_index)
    return ("o", id(v))


def _float_bits(v: float) -> bytes:
    """The float's bit pattern: distinguishes -0.0 from 0.0 and lets a NaN equal itself."""
    return struct.pack("<d", v)


def structural_equal(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` are the same expression tree."""
    return a is b or structural_key(a) == structural_key(b)
