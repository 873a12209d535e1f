"""Classes under TVM's names whose constructors take TVM's arguments and return the tensorlang
node that plays the part; ``isinstance`` against them asks about that node's class."""

from __future__ import annotations

from typing import Any


class AliasMeta(type):
    """Metaclass of such a class: its ``_target`` attribute is the tensorlang class it stands for."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls._target)  # type: ignore[attr-defined]

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls._target)  # type: ignore[attr-defined]


__all__ = ["AliasMeta"]
