"""What every operator computes, defined once: numpy's semantics on fixed-width numbers.

Constant folding in ``te``, the simplifier, the reference interpreter (tests/ir/interp.py) and
both code generators follow these rules; a result that differs from numpy's is a bug.

Integers (signed and unsigned, every width):

* ``+ - *`` wrap around (two's complement), as numpy arrays do; nothing assumes "no overflow"
  except index arithmetic that is proven to stay in range.
* ``//`` and ``%`` (FloorDiv, FloorMod) are numpy's ``floor_divide`` and ``remainder``: the
  quotient rounds toward minus infinity, the remainder takes the divisor's sign,
  ``x // 0 == 0``, ``x % 0 == 0``, ``INT_MIN // -1 == INT_MIN`` (wraps) and ``INT_MIN % -1 == 0``.
* ``te.truncdiv``/``te.truncmod`` (Div, Mod on integers) round toward zero (C), with the same
  conventions for a zero divisor and ``INT_MIN / -1``.
* Constants must fit their dtype: ``te.const(300, "int8")`` is a DTypeError, not 44.

Floats:

* ``//`` and ``%`` are numpy's ``floor_divide`` and ``remainder``: computed from ``fmod`` so that
  ``1.0 // 0.1 == 9`` and ``1.0 % 0.1 == 0.0999...``; float16 is computed in float32 and
  rounded once (numpy does the same).
* ``te.max``/``te.min`` (elementwise) propagate NaN from either side, like ``numpy.maximum``;
  the reductions ``te.max``/``te.min`` start from ``-inf``/``+inf`` and also propagate NaN.
* ``te.fmax``/``te.fmin`` ignore NaN, like ``numpy.fmax``/``numpy.fmin``: the result is NaN only
  where both operands are; as reductions they are ``numpy.fmax.reduce`` (``numpy.nanmax``):
  NaN only when every value is NaN. On integers they are ``te.max``/``te.min``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError
from .dtype import DType


def int_range(dt: DType) -> tuple[int, int]:
    """The smallest and largest value of an integer (or bool) dtype."""
    if dt.is_bool:
        return 0, 1
    if dt.is_signed:
        return -(1 << (dt.bits - 1)), (1 << (dt.bits - 1)) - 1
    return 0, (1 << dt.bits) - 1


def fits(value: int, dt: DType) -> bool:
    """Whether the integer ``value`` is representable in ``dt``."""
    lo, hi = int_range(dt)
    return lo <= value <= hi


def check_fits(value: int, dt: DType, what: str = "constant") -> int:
    """``value`` itself, or a DTypeError naming it when ``dt`` cannot hold it."""
    if dt.is_int and not fits(value, dt):
        lo, hi = int_range(dt)
        raise DTypeError(f"{what} {value} does not fit {dt.element_of()} (range {lo} to {hi})")
    return value


def check_float_fits(value: float, dt: DType, what: str = "constant") -> float:
    """``value`` itself, or a DTypeError when it is finite but beyond the largest finite value
    of the float dtype ``dt`` (as TVM refuses such a literal; a computed overflow is inf)."""
    if dt.bits < 64 and np.isfinite(value):
        with np.errstate(over="ignore"):
            rounded = np.array(value, dt.numpy())
        if np.isinf(rounded):
            raise DTypeError(f"{what} {value!r} does not fit {dt.element_of()} "
                             f"(largest finite value {float(np.finfo(dt.numpy()).max)!r})")
    return value


def wrap(value: int, dt: DType) -> int:
    """``value`` reduced modulo 2**bits into ``dt``'s range (two's complement wrap-around)."""
    if dt.is_bool:
        return 1 if value else 0
    if dt.is_handle:
        return value
    value &= (1 << dt.bits) - 1
    if dt.is_signed and value >= 1 << (dt.bits - 1):
        value -= 1 << dt.bits
    return value


def floordiv(x: int, y: int) -> int:
    """Exact floor division of Python ints, 0 for a zero divisor (wrap the result afterwards)."""
    return 0 if y == 0 else x // y


def floormod(x: int, y: int) -> int:
    return 0 if y == 0 else x % y


def truncdiv(x: int, y: int) -> int:
    if y == 0:
        return 0
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def truncmod(x: int, y: int) -> int:
    return 0 if y == 0 else x - y * truncdiv(x, y)


_INT_OPS = {
    "Add": lambda x, y: x + y, "Sub": lambda x, y: x - y, "Mul": lambda x, y: x * y,
    "FloorDiv": floordiv, "FloorMod": floormod, "Div": truncdiv, "Mod": truncmod,
    "Min": min, "Max": max,
    "EQ": lambda x, y: x == y, "NE": lambda x, y: x != y, "LT": lambda x, y: x < y,
    "LE": lambda x, y: x <= y, "GT": lambda x, y: x > y, "GE": lambda x, y: x >= y,
    "And": lambda x, y: bool(x and y), "Or": lambda x, y: bool(x or y),
    "BitwiseAnd": lambda x, y: x & y, "BitwiseOr": lambda x, y: x | y, "BitwiseXor": lambda x, y: x ^ y,
}


def fold_int(op: str, x: int, y: int, dt: DType) -> int | None:
    """The value of ``x op y`` for operands of integer dtype ``dt`` (op is the node's class
    name, e.g. "FloorDiv"); comparisons give 0/1; None for an unknown op."""
    if op in ("ShiftLeft", "ShiftRight"):
        return shift(op == "ShiftLeft", x, y, dt)
    fn = _INT_OPS.get(op)
    if fn is None:
        return None
    out = fn(x, y)
    if isinstance(out, bool):
        return int(out)
    return wrap(out, dt)


def shift(left: bool, x: int, y: int, dt: DType) -> int:
    """numpy's left_shift / right_shift: a count outside [0, bits) shifts everything out (0
    to the left; the sign, -1 or 0, to the right), it is never undefined."""
    if 0 <= y < dt.bits:
        return wrap(x << y, dt) if left else x >> y
    return 0 if left or x >= 0 else -1


def float_floordiv(a: np.ndarray | np.generic, b: np.ndarray | np.generic) -> np.ndarray:
    """numpy's float floor division (the reference the code generators reproduce)."""
    return np.floor_divide(a, b)


def float_floormod(a: np.ndarray | np.generic, b: np.ndarray | np.generic) -> np.ndarray:
    return np.remainder(a, b)


def apply(op: str, a: np.ndarray | np.generic, b: np.ndarray | np.generic) -> np.ndarray:
    """Evaluate ``a op b`` on numpy values of one dtype with the rules above (the reference
    interpreter's arithmetic).  Integer overflow wraps and zero divisors give 0 silently."""
    with np.errstate(all="ignore"):
        if op in _NUMPY_OPS:
            return _NUMPY_OPS[op](a, b)
        is_float = np.asarray(a).dtype.kind == "f"
        if is_float:
            return {"Div": np.divide, "Mod": np.fmod, "FloorDiv": float_floordiv,
                    "FloorMod": float_floormod}[op](a, b)
        return _int_division(op, np.asarray(a), np.asarray(b))


_NUMPY_OPS = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Min": np.minimum, "Max": np.maximum,
    "EQ": np.equal, "NE": np.not_equal, "LT": np.less, "LE": np.less_equal, "GT": np.greater,
    "GE": np.greater_equal, "And": np.logical_and, "Or": np.logical_or,
    "BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or, "BitwiseXor": np.bitwise_xor,
    "ShiftLeft": np.left_shift, "ShiftRight": np.right_shift,
}


def _int_division(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    zero = b == 0
    safe = np.where(zero, np.ones_like(b), b)
    if op == "FloorDiv":
        out = np.floor_divide(a, safe)
    elif op == "FloorMod":
        out = np.remainder(a, safe)
    elif op == "Mod":
        out = np.fmod(a, safe)
    else:  # truncating division: exact because a - fmod(a, b) is a multiple of b
        out = np.floor_divide(a - np.fmod(a, safe), safe)
    return np.where(zero, np.zeros_like(out), out).astype(a.dtype)

