"""TVM's hybrid script (``te.hybrid.script``): a Python function over tensors, written with loops,
branches and stores, that becomes one stage of a computation.

    @te.hybrid.script
    def outer_product(a, b):
        c = output_tensor((a.shape[0], b.shape[0]), "float32")
        for i in range(a.shape[0]):
            for j in range(b.shape[0]):
                c[i, j] = a[i] * b[j]
        return c

Called with ``te`` tensors it returns the output tensor(s): the function's source is
translated (``parser.py``) into loop IR with ``ir_builder`` and wrapped in a ``te.extern``
stage (a ``te.HybridOp``, its outputs in the order the script returns them).  Called with numpy
arrays it runs as plain Python, with ``output_tensor`` and the loop helpers (``const_range``,
``parallel``, ``vectorize``, ``unroll``, ``bind``) defined as numpy and ``range`` equivalents
(``runtime.HYBRID_GLOBALS``), which is how TVM checks a script against its own results.  The
emulation's intrinsics (``popcount``, ``ceil_div``, ``inf``, ...) compute what the compiled ones
do, so the two runs agree.  TVM's ``te.hybrid.build`` (a schedule dumped back to script source,
a ``HybridModule``) is refused with an error that says so.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ExprError
from ..te.expr import FloatImm, IntImm
from .parser import build_extern, has_tensor
from .runtime import HYBRID_GLOBALS


def script(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a hybrid function: called on tensors it declares a stage; on arrays, it runs."""
    if not callable(fn):
        raise ExprError(f"hybrid.script decorates a function, got {fn!r}")

    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        if any(has_tensor(a) for a in args):   # a tensor, or a list of them (TVM's Array)
            return build_extern(fn, args)
        return _run_python(fn, args)
    wrapped.hybrid_function = fn  # type: ignore[attr-defined]
    return wrapped


def _as_python(value: Any) -> Any:
    """An argument for the emulation: tensorlang constants (``tvm.runtime.convert([1, 2])``
    holds IntImms) become Python numbers, inside lists too."""
    if isinstance(value, (IntImm, FloatImm)):
        return value.value
    if isinstance(value, list):
        return [_as_python(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_as_python(v) for v in value)
    return value


def _run_python(fn: Callable[..., Any], args: tuple) -> Any:
    """Run the script as Python on numpy arrays (TVM's hybrid emulation)."""
    # The keywords win over the module's names, as in TVM (and as the compiler reads them):
    # a module's ``from math import sqrt`` does not change what the script's sqrt computes.
    env = {**fn.__globals__, **HYBRID_GLOBALS}
    runnable = types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__, fn.__closure__)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        return runnable(*[_as_python(a) for a in args])   # inf and nan quietly, as compiled


_NO_DUMP = ("dumps a schedule back to hybrid script source (TVM's HybridModule); tensorlang does not "
            "support it: build the schedule with tvm.build and compare it with the script run on numpy arrays")


def build(sch: Any, inputs: Any, outputs: Any, name: str = "hybrid_func") -> Any:
    """TVM's ``te.hybrid.build``: refused with an error that says so."""
    raise ExprError(f"te.hybrid.build {_NO_DUMP}")


class HybridModule:
    """TVM's ``te.hybrid.HybridModule`` (what ``te.hybrid.build`` returns): refused with an error that says so."""

    def __init__(self, src: Any = None, name: Any = None):
        raise ExprError(f"te.hybrid.HybridModule holds what te.hybrid.build {_NO_DUMP}")


__all__ = ["script", "build", "HybridModule", "HYBRID_GLOBALS"]
