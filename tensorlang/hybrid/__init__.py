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
stage.  Called with numpy arrays it runs as plain Python, with ``output_tensor`` and the loop
helpers (``const_range``, ``parallel``, ``vectorize``, ``unroll``, ``bind``) defined as numpy
and ``range`` equivalents, which is how TVM checks a script against its own results.  The
emulation's intrinsics (``popcount``, ``ceil_div``, ``inf``, ...) compute what the compiled ones
do, so the two runs agree.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ExprError
from ..te.expr import FloatImm, IntImm
from .parser import build_extern, has_tensor, max_num_threads


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


def _loop(*args: Any) -> range:
    return range(*args)


def _popcount(x: Any) -> int:
    """Set bits of x in its own width, two's complement for negatives, as ``te.popcount``."""
    bits = np.asarray(x).dtype.itemsize * 8 if isinstance(x, np.generic) else 32
    return bin(int(x) & ((1 << bits) - 1)).count("1")


def _ceil_div(a: Any, b: Any) -> Any:
    """a / b rounded up, as ``te.ceildiv`` (exact for either sign)."""
    return -(-a // b)


def _extreme(dtype: Any, largest: bool) -> Any:
    """TVM hybrid's ``inf``/``ninf``: the largest / most negative finite value of ``dtype``."""
    dt = np.dtype(str(dtype))
    info = np.finfo(dt) if dt.kind == "f" else np.iinfo(dt)
    return dt.type(info.max if largest else info.min)


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


_PYTHON_HELPERS: dict[str, Any] = {
    "output_tensor": lambda shape, dtype="float32": np.zeros(tuple(shape), dtype=dtype),
    "allocate": lambda shape, dtype="float32", scope="global": np.zeros(tuple(shape), dtype=dtype),
    "const_range": _loop, "parallel": _loop, "vectorize": _loop, "unroll": _loop,
    "serial": _loop, "bind": lambda tag, n: range(n),
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)), "floor": math.floor, "ceil": math.ceil, "power": pow,
    "select": lambda c, a, b: a if c else b, "popcount": _popcount, "likely": lambda cond: cond,
    "ceil_div": _ceil_div, "max_num_threads": max_num_threads,
    "inf": lambda dtype: _extreme(dtype, True), "ninf": lambda dtype: _extreme(dtype, False),
    **{name: getattr(np, name) for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                                             "uint8", "uint16", "uint32", "uint64")},
}


def _run_python(fn: Callable[..., Any], args: tuple) -> Any:
    """Run the script as Python on numpy arrays (TVM's hybrid emulation)."""
    env = dict(fn.__globals__)
    for name, value in _PYTHON_HELPERS.items():
        env.setdefault(name, value)
    runnable = types.FunctionType(fn.__code__, env, fn.__name__, fn.__defaults__, fn.__closure__)
    return runnable(*[_as_python(a) for a in args])


__all__ = ["script"]
