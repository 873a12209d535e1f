"""Fixed-point multiplication of int32 tensors by Q31 multipliers (TVM's ``fixed_point_multiply`` and
``fixed_point_multiply_per_axis``), the integer requantization step of quantized networks.

Both follow TVM's lowering of ``q_multiply_shift``: in int64, shift x left, multiply by the
multiplier, add the rounding nudge ``1 << (total_right_shift - 1)`` (halves round toward +inf),
shift right arithmetically by ``total_right_shift`` = 31 + right shift, and keep the low 32 bits.
That is round(x * multiplier * 2**(left - right - 31)), wrapped into int32 when it does not fit;
where TVM's int64 product overflows (undefined there), the int64 arithmetic here wraps, which for
a right shift of 0 still yields the exact result's low 32 bits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from . import tag
from .utils import get_const_int, get_const_tuple

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _int(value: Any, what: str, arg: str) -> int:
    try:
        return get_const_int(value)
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a constant int, got {value!r}") from None


def _int32_tensor(t: Any, what: str, arg: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise ExprError(f"{what}: {arg} must be a tensor, got {t!r}")
    if str(t.dtype) != "int32":
        raise DTypeError(f"{what}: {arg} {t.name} must be int32, got {t.dtype}")
    return t


def _q_multiply_shift(x: PrimExpr, multiplier: PrimExpr, left: PrimExpr | None, right: PrimExpr | int) -> PrimExpr:
    """round(x * multiplier * 2**(left - right - 31)) as int32, computed as TVM lowers q_multiply_shift."""
    v = x.astype("int64")
    if left is not None:
        v = v << left
    v = v * multiplier.astype("int64")
    total = right + 31
    one = te.const(1, "int64")
    return ((v + (one << (total - 1))) >> total).astype("int32")


def fixed_point_multiply(x: Tensor, multiplier: int, shift: int) -> Tensor:
    """x (int32) times the fixed-point number ``multiplier * 2**(shift - 31)``: ``multiplier`` is an int32 Q31
    value and ``shift`` in [-31, 31] (positive shifts left before the multiplication, negative ones add to
    the final right shift).  Rounds to nearest, halves toward +inf; the result is int32."""
    what = "fixed_point_multiply"
    _int32_tensor(x, what, "x")
    m, s = _int(multiplier, what, "multiplier"), _int(shift, what, "shift")
    if not _INT32_MIN <= m <= _INT32_MAX:
        raise ExprError(f"{what}: multiplier {m} does not fit in int32")
    # Beyond 31 either shift would leave int64's range (x << shift, or the nudge for 31 - shift bits).
    if not -31 <= s <= 31:
        raise ExprError(f"{what}: shift {s} is outside [-31, 31]")
    mult = te.const(m, "int32")
    left = te.const(s, "int64") if s > 0 else None
    right = te.const(max(-s, 0), "int64")
    return te.compute(x.shape, lambda *i: _q_multiply_shift(x(*i), mult, left, right),
                      name="T_fixed_point_multiply", tag=tag.ELEMWISE)


def fixed_point_multiply_per_axis(x: Tensor, y: Tensor, lshift: Tensor, rshift: Tensor, is_lshift_required: int,
                                  is_rshift_required: int, axes: Sequence[int]) -> Tensor:
    """x (int32) times a fixed-point number per position along ``axes``: ``y`` (Q31 multipliers), ``lshift``
    and ``rshift`` are int32 tensors of the shape of x's ``axes`` dimensions, and element x[i] uses entry
    (i[a] for a in axes) of each: round(x * y * 2**(lshift - rshift - 31)).  The left shift applies only when
    ``is_lshift_required``; the right shift always applies (``is_rshift_required`` is a hint, as in TVM's
    lowering).  Shifts must lie in [0, 31] at run time."""
    what = "fixed_point_multiply_per_axis"
    _int32_tensor(x, what, "x")
    ndim = len(x.shape)
    axis_list = [_int(a, what, "axes") for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    if any(not -ndim <= a < ndim for a in axis_list):
        raise ExprError(f"{what}: axes {axis_list} are out of range for the {ndim}-D {x.name}")
    axis_list = [a % ndim for a in axis_list]
    if len(set(axis_list)) != len(axis_list):
        raise ExprError(f"{what}: axes {axis_list} repeat an axis")
    want = get_const_tuple([x.shape[a] for a in axis_list])
    for arg, t in (("y", y), ("lshift", lshift), ("rshift", rshift)):
        _int32_tensor(t, what, arg)
        if get_const_tuple(t.shape) != want:
            raise ExprError(f"{what}: {arg} {t.name} must have the shape {want} of {x.name}'s axes {axis_list}, "
                            f"got {get_const_tuple(t.shape)}")
    use_left = bool(_int(is_lshift_required, what, "is_lshift_required"))
    _int(is_rshift_required, what, "is_rshift_required")  # validated only: the right shift always applies

    def element(*i: Any) -> PrimExpr:
        p = [i[a] for a in axis_list]
        left = lshift(*p).astype("int64") if use_left else None
        return _q_multiply_shift(x(*i), y(*p), left, rshift(*p).astype("int64"))

    return te.compute(x.shape, element, name="T_fixed_point_multiply_per_axis", tag=tag.BROADCAST)


__all__ = ["fixed_point_multiply", "fixed_point_multiply_per_axis"]
