"""Elementwise math ops on tensors: each returns a new tensor of the same shape (tag ``elemwise``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import te
from ..errors import DTypeError, ExprError
from ..te.expr import PrimExpr, convert
from ..te.tensor import Tensor
from . import tag
from .common_dtype import common_dtype
from .utils import check_tensors, get_const_tuple, scalar_const


def _unary(fn: Callable[[PrimExpr], PrimExpr], name: str) -> Callable[[Tensor], Tensor]:
    def op(x: Tensor) -> Tensor:
        check_tensors(name, x=x)
        return te.compute(x.shape, lambda *i: fn(x(*i)), name=f"T_{name}", tag=tag.ELEMWISE)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} of a tensor."
    return op


def _int_unchanged(fn: Callable[[PrimExpr], PrimExpr]) -> Callable[[PrimExpr], PrimExpr]:
    """A rounding function that passes integers through unchanged, as TVM's topi does: an integer is
    already whole, so the values equal numpy's and the dtype stays integer (numpy would give float
    for some of them)."""
    def rounded(v: PrimExpr) -> PrimExpr:
        return v if v.dtype.is_int and not v.dtype.is_bool else fn(v)
    return rounded


exp = _unary(te.exp, "exp")
log = _unary(te.log, "log")
log2 = _unary(te.log2, "log2")
log10 = _unary(te.log10, "log10")
sqrt = _unary(te.sqrt, "sqrt")
rsqrt = _unary(te.rsqrt, "rsqrt")
tanh = _unary(te.tanh, "tanh")
sigmoid = _unary(te.sigmoid, "sigmoid")
erf = _unary(te.erf, "erf")
sin = _unary(te.sin, "sin")
cos = _unary(te.cos, "cos")
tan = _unary(te.tan, "tan")
abs = _unary(te.abs, "abs")  # noqa: A001 - TVM's name
floor = _unary(_int_unchanged(te.floor), "floor")
ceil = _unary(_int_unchanged(te.ceil), "ceil")
round = _unary(_int_unchanged(te.round), "round")  # noqa: A001 - TVM's name
trunc = _unary(_int_unchanged(te.trunc), "trunc")
isnan = _unary(te.isnan, "isnan")
isinf = _unary(te.isinf, "isinf")
isfinite = _unary(te.isfinite, "isfinite")
sinh = _unary(te.sinh, "sinh")
cosh = _unary(te.cosh, "cosh")
asin = _unary(te.asin, "asin")
acos = _unary(te.acos, "acos")
atan = _unary(te.atan, "atan")
asinh = _unary(te.asinh, "asinh")
acosh = _unary(te.acosh, "acosh")
atanh = _unary(te.atanh, "atanh")


def _negate(v: PrimExpr) -> PrimExpr:
    if v.dtype.is_bool:
        raise DTypeError("negative: numpy does not negate booleans; use logical_not (or bitwise_not)")
    return -v


negative = _unary(_negate, "negative")
identity = _unary(lambda v: v, "identity")


def cast(x: Any, dtype: str) -> Any:
    """``x`` converted to ``dtype`` (a tensor, or a scalar expression)."""
    if isinstance(x, Tensor):
        return x.astype(dtype)  # te.Tensor.astype: the elementwise T_cast stage
    return te.cast(convert(x), dtype)


def _float_bound(value: Any, dtype: Any) -> Any:
    """A real bound of a float clip as numpy rounds it into ``dtype``: one past the dtype's range is
    ±inf (clip(float16, -1e6, 1e6) changes nothing in numpy), not a refused constant."""
    if dtype.is_float and isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, (bool, np.bool_)):
        with np.errstate(over="ignore"):
            return float(np.array(float(value)).astype(str(dtype)))
    return value


def clip(x: Tensor, a_min: Any, a_max: Any) -> Tensor:
    """Each element limited to [a_min, a_max], as numpy.clip: ``minimum(maximum(x, a_min), a_max)``,
    so a_min > a_max gives a_max everywhere (TVM gives a_min there) and NaN stays NaN."""
    check_tensors("clip", x=x)
    lo, hi = (scalar_const(_float_bound(v, x.dtype), x.dtype, "clip", arg)
              for v, arg in ((a_min, "a_min"), (a_max, "a_max")))

    def body(*i: Any) -> PrimExpr:
        v = x(*i)
        # the upper bound applied last, as numpy orders them, decides the crossed-bounds case
        return te.min(te.max(v, lo), hi)
    return te.compute(x.shape, body, name="T_clip", tag=tag.ELEMWISE)


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (NaN stays NaN and -0.0 gives 0.0, as numpy.sign)."""
    check_tensors("sign", x=x)

    def body(*i: Any) -> PrimExpr:
        v = x(*i)
        if v.dtype.is_bool or (v.dtype.is_int and not v.dtype.is_signed):
            return (v != te.const(0, v.dtype)).astype(v.dtype)
        one, zero = te.const(1, v.dtype), te.const(0, v.dtype)
        # NaN gives itself; zeros of either sign give 0.0 (numpy.sign(-0.0) is 0.0)
        rest = te.if_then_else(v == zero, zero, v) if v.dtype.is_float else zero
        return te.if_then_else(v > zero, one, te.if_then_else(v < zero, -one, rest))
    return te.compute(x.shape, body, name="T_sign", tag=tag.ELEMWISE)


def fast_exp(x: Tensor) -> Tensor:
    """exp (tensorlang's exp is already vectorised; kept for TVM's name)."""
    return exp(x)


def fast_tanh(x: Tensor) -> Tensor:
    """tanh (kept for TVM's name)."""
    return tanh(x)


def fast_erf(x: Tensor) -> Tensor:
    """erf (tensorlang's erf is already a vector polynomial; kept for TVM's name)."""
    return erf(x)


def elemwise_sum(xs: Sequence[Tensor]) -> Tensor:
    """The elementwise sum of tensors of one shape, in their common promoted dtype."""
    xs = [xs] if isinstance(xs, (Tensor, str)) or not hasattr(xs, "__iter__") else list(xs)
    check_tensors("elemwise_sum", **{f"xs[{i}]": x for i, x in enumerate(xs)})
    if not xs:
        raise ExprError("topi.elemwise_sum: needs at least one tensor")
    for n, x in enumerate(xs[1:], 1):
        if len(x.shape) != len(xs[0].shape) or any(
                isinstance(a, int) and isinstance(b, int) and a != b
                for a, b in zip(get_const_tuple(x.shape), get_const_tuple(xs[0].shape))):
            raise ExprError(f"topi.elemwise_sum: tensor {n} '{x.op.name}' has shape {get_const_tuple(x.shape)}, "
                            f"tensor 0 '{xs[0].op.name}' {get_const_tuple(xs[0].shape)}")

    dtype = common_dtype(xs, "elemwise_sum")

    def fcompute(*i: PrimExpr) -> PrimExpr:
        # every term converted once up front: pairwise promotion would add an int32 to a float32
        # in float32 even when a float64 term comes later
        out = xs[0](*i).astype(dtype)
        for x in xs[1:]:
            out = out + x(*i).astype(dtype)
        return out
    return te.compute(xs[0].shape, fcompute, name="T_elemwise_sum", tag=tag.ELEMWISE)


def ceil_log2(x: Any) -> PrimExpr:
    """``ceil(log2(x))`` of a scalar expression, in ``x``'s dtype (TVM's topi.math.ceil_log2, which its
    sort and scan kernels use for the number of merge passes)."""
    e = convert(x)
    if e.dtype.is_float:
        return te.ceil(te.log2(e))
    return te.ceil(te.log2(e.astype("float64"))).astype(e.dtype)


__all__ = ["acos", "acosh", "asin", "asinh", "atan", "atanh", "cosh", "isfinite", "isinf", "sinh",
           "abs", "cast", "ceil", "ceil_log2", "clip", "cos", "elemwise_sum", "erf", "exp", "fast_erf", "fast_exp",
           "fast_tanh",
           "floor", "identity", "isnan", "log", "log2", "log10", "negative", "round", "rsqrt", "sigmoid", "sign", "sin",
           "sqrt", "tan", "tanh", "trunc"]
