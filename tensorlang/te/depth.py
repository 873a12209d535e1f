"""Deeply nested expressions: a bounded amount of extra recursion for the recursive passes, and
an ExprError naming the place instead of a bare RecursionError beyond it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from ..errors import ExprError

# Python 3.11 runs Python-to-Python calls without growing the C stack, so a few thousand frames
# are safe; each nesting level of an expression costs a pass about three frames.
_FRAMES = 12000


@contextlib.contextmanager
def deep_expressions(where: str) -> Iterator[None]:
    """Run a recursive pass over possibly deep expressions (``where`` names it in the error)."""
    before = sys.getrecursionlimit()
    if before < _FRAMES:
        sys.setrecursionlimit(_FRAMES)
    try:
        yield
    except RecursionError:
        raise ExprError(f"{where}: an expression is nested too deeply (thousands of chained operations); "
                        "reduce over a te.reduce_axis with te.sum instead of chaining '+', or split it into "
                        "several te.compute stages") from None
    finally:
        if before < _FRAMES:
            sys.setrecursionlimit(before)
