"""TVM's ``tvm.driver.build_module``: ``schedule_to_module`` and ``lower``/``build``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..build_module import build, lower


def schedule_to_module(sch: Any, args: Sequence[Any] | None = None, name: str = "main", binds: Any = None) -> Any:
    """The lowered function of ``sch`` (``mod["main"]`` works on it)."""
    return lower(sch, args, name=name, binds=binds)


__all__ = ["build", "lower", "schedule_to_module"]
