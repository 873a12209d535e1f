"""TVM's ``IRModule`` for ported code: a lowered tensorlang module is one ``PrimFunc`` (reachable
as ``mod["main"]``), so ``IRModule({"main": f})`` is ``f`` and ``isinstance(mod, IRModule)``
holds for what ``tvm.lower`` returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ArgumentError
from .alias import AliasMeta
from .function import PrimFunc


class IRModule(metaclass=AliasMeta):
    """``IRModule(functions)``: a mapping of one name (str or global var) to a PrimFunc."""

    _target = PrimFunc

    def __new__(cls, functions: Mapping[Any, Any] | None = None, *args: Any, **kwargs: Any) -> PrimFunc:  # type: ignore[misc]
        items = list((functions or {}).items())
        if len(items) != 1:
            raise ArgumentError("IRModule: a tensorlang module holds exactly one PrimFunc (what tvm.lower returns); "
                                f"got {len(items)} function(s)")
        if not isinstance(items[0][1], PrimFunc):
            raise ArgumentError("IRModule: a tensorlang module holds exactly one PrimFunc (what tvm.lower returns); "
                                f"got {type(items[0][1]).__name__} {items[0][1]!r:.80} for '{items[0][0]}'")
        name, func = items[0]
        name = getattr(name, "name_hint", name)
        return func if name in ("main", func.name) else func.with_name(str(name))

    @staticmethod
    def from_expr(func: Any) -> PrimFunc:
        """The module of one PrimFunc: the function itself."""
        return IRModule({"main": func})


__all__ = ["IRModule"]
