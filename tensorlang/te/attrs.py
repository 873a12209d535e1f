"""An operation's ``attrs`` values as TVM code reads them: TVM stores ``attrs={"n": 1, "xs": [10, 12]}``
as IntImm/FloatImm/Array objects, so ported code writes ``op.attrs["n"].value``.  Numbers here
become ints and floats that also answer ``.value`` (and ``.dtype``); lists and tuples become
lists of those; everything else is kept as given.  The dict prints as TVM's Map does, which
happens to be JSON (ported code runs ``json.loads(str(op.attrs))``)."""

from __future__ import annotations

import json
from typing import Any


class AttrInt(int):
    """An int attribute that also reads as TVM's IntImm (``.value``, ``.dtype``)."""

    @property
    def value(self) -> int:
        return int(self)

    @property
    def dtype(self) -> str:
        return "int32" if -2**31 <= self < 2**31 else "int64"


class AttrFloat(float):
    """A float attribute that also reads as TVM's FloatImm (``.value``, ``.dtype``)."""

    @property
    def value(self) -> float:
        return float(self)

    @property
    def dtype(self) -> str:
        return "float32"


def attr_value(value: Any) -> Any:
    """``value`` as TVM's attrs hold it (see the module docstring)."""
    if isinstance(value, bool):
        return value  # bool cannot be subclassed; TVM code compares it as a truth value
    if isinstance(value, int):
        return AttrInt(value)
    if isinstance(value, float):
        return AttrFloat(value)
    if isinstance(value, (list, tuple)):
        return [attr_value(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_text(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return json.dumps(value)
    return json.dumps(str(value))  # an expression or object prints as a quoted string


class AttrMap(dict):
    """An operation's attrs: a dict that prints as TVM's Map (JSON: double-quoted keys)."""

    def __str__(self) -> str:
        return _text(self)

    __repr__ = __str__


def tvm_attrs(attrs: dict | None) -> AttrMap:
    """A copy of ``attrs`` with each value as ``attr_value`` makes it."""
    return AttrMap({k: attr_value(v) for k, v in (attrs or {}).items()})


__all__ = ["AttrFloat", "AttrInt", "AttrMap", "attr_value", "tvm_attrs"]
