"""The hybrid script's builtins when it runs as Python on numpy arrays (TVM's
``te.hybrid.runtime``): ``HYBRID_GLOBALS`` maps each keyword (``output_tensor``, ``const_range``,
``popcount``, ``float32`` ...) to what it computes.  A script runs with them in a copy of its
globals, so the module that defines it never sees them.  Each computes what the compiled
intrinsic does, so the emulation and the built stage agree."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .parser import max_num_threads


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


def _rsqrt(x: Any) -> Any:
    """1 / sqrt(x), as ``te.rsqrt``."""
    return np.ones_like(x) / np.sqrt(x)


def _sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)) from t = exp(-|x|), as ``te.sigmoid``: no overflow for large |x|."""
    t = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + t), t / (1 + t))[()]


def _floats(args: tuple) -> bool:
    return len(args) == 2 and all(isinstance(v, (float, np.floating)) for v in args)


def _max(*args: Any, **kwargs: Any) -> Any:
    """``max`` as ``te.max`` on two floats: numpy's maximum (a NaN operand gives NaN whatever its
    place, and of two equal values, e.g. -0.0 and 0.0, the second), where Python's ``max(1.0, nan)``
    is 1.0 and ``max(-0.0, 0.0)`` is -0.0.  Other uses (integers, an iterable, ``key=``) are Python's."""
    return np.maximum(*args) if _floats(args) and not kwargs else builtins.max(*args, **kwargs)


def _min(*args: Any, **kwargs: Any) -> Any:
    """``min`` as ``te.min``: numpy's minimum on two floats, as ``_max``."""
    return np.minimum(*args) if _floats(args) and not kwargs else builtins.min(*args, **kwargs)


def _round(x: Any, *ndigits: Any) -> Any:
    """``round`` as ``te.round``: a numpy float rounds half to even in its own dtype, NaN and inf
    stay (numpy 2's ``round(np.float32(nan))`` converts to a Python int and raises)."""
    if not ndigits and isinstance(x, np.floating):
        return np.rint(x)
    return builtins.round(x, *ndigits)


def _power(a: Any, b: Any) -> Any:
    """a ** b, as ``te.power``: integers raised to a negative power give the quotient 1 / a ** -b
    truncated toward zero (0 unless |a| is 1, and 0 for 0), where numpy refuses."""
    ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (a, b))
    if ints and b < 0:
        kind = type(a) if isinstance(a, np.integer) else int
        if a == 1:
            return kind(1)
        if a == -1:
            return kind(1 if b % 2 == 0 else -1)
        return kind(0)
    return np.power(a, b)


HYBRID_GLOBALS: dict[str, Any] = {
    "output_tensor": lambda shape, dtype="float32": np.zeros(tuple(shape), dtype=dtype),
    "allocate": lambda shape, dtype="float32", scope="global": np.zeros(tuple(shape), dtype=dtype),
    "const_range": _loop, "parallel": _loop, "vectorize": _loop, "unroll": _loop,
    "serial": _loop, "bind": lambda tag, n: range(n),
    # numpy's functions, as TVM's emulation: inf and nan where the compiled code gives them
    # (math.exp(1000.0) and math.log(0.0) raise), in the argument's precision (float32 stays float32).
    "sqrt": np.sqrt, "rsqrt": _rsqrt, "exp": np.exp, "log": np.log, "tanh": np.tanh, "sin": np.sin,
    "cos": np.cos, "sigmoid": _sigmoid, "floor": np.floor, "ceil": np.ceil, "power": _power,
    "select": lambda c, a, b: a if c else b, "popcount": _popcount, "likely": lambda cond: cond,
    "max": _max, "min": _min, "round": _round,
    "ceil_div": _ceil_div, "max_num_threads": max_num_threads,
    "inf": lambda dtype: _extreme(dtype, True), "ninf": lambda dtype: _extreme(dtype, False),
    **{name: getattr(np, name) for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                                             "uint8", "uint16", "uint32", "uint64")},
}


__all__ = ["HYBRID_GLOBALS"]
