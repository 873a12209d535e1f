"""An operation's ``attrs`` values as TVM code reads them: TVM stores ``attrs={"n": 1, "xs": [10, 12]}``
as IntImm/FloatImm/Array objects, so ported code writes ``op.attrs["n"].value``.  Numbers here
become ints and floats that also answer ``.value`` (and ``.dtype``); lists and tuples become
lists of those; everything else is kept as given."""

from __future__ import annotations

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


def tvm_attrs(attrs: dict | None) -> dict:
    """A copy of ``attrs`` with each value as ``attr_value`` makes it."""
    return {k: attr_value(v) for k, v in (attrs or {}).items()}


__all__ = ["AttrFloat", "AttrInt", "attr_value", "tvm_attrs"]
