"""Row-major flat positions: ``ravel`` a multi-index over a shape, ``unravel`` it back.

The operators that reshape (``topi.reshape``) build their reads with these; the gradient
(``autodiff.solve``) recognizes such a read by building the same ``%`` and ``//`` chain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .expr import PrimExpr, convert


def ravel(idx: Sequence[Any], shape: Sequence[Any]) -> PrimExpr:
    """The row-major position of ``idx`` in ``shape``."""
    flat: Any = 0
    for i, d in zip(idx, shape):
        flat = flat * d + i
    return convert(flat)


def unravel(flat: Any, shape: Sequence[Any]) -> list[PrimExpr]:
    """The multi-index of row-major position ``flat`` in ``shape`` (each index ``% dim``)."""
    out = []
    for d in reversed(list(shape)):
        out.append(flat % d)
        flat = flat // d
    return out[::-1]
