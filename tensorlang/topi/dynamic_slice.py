"""``dynamic_strided_slice``: ``a[begin:end:strides]`` where begin, end and strides are 1-D tensors read when
the kernel runs (TVM's ``topi.dynamic_strided_slice``; ``topi.strided_slice`` given tensors comes here).
The sliced lengths are then unknown when the function is built, so, as in TVM, each sliced dimension of
the output is a fresh ``te.var`` bound from the output array the caller passes (or comes from
``output_shape``); a caller that passes a longer output than the slice reads past ``a``, which is a
``BoundsError`` when the compiled function runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from . import tag
from .utils import get_const_int, static_dim


def _entries(values: Any, what: str, arg: str) -> tuple[list[Any], bool]:
    """(one entry per sliced axis: a load from the tensor or a constant int, whether any is a load)."""
    if isinstance(values, Tensor):
        if len(values.shape) != 1 or static_dim(values.shape[0]) is None:
            raise ExprError(f"{what}: {arg} {values.name} must be a 1-D tensor of constant length, got shape "
                            f"{list(values.shape)}")
        if not values.dtype.is_int or values.dtype.is_bool:
            raise DTypeError(f"{what}: {arg} {values.name} must hold integers, got {values.dtype}")
        return [values[k].astype("int64") for k in range(static_dim(values.shape[0]))], True
    if not isinstance(values, (list, tuple)):
        raise ExprError(f"{what}: {arg} must be a 1-D tensor or a list of integers, got {values!r}")
    try:
        return [get_const_int(v) for v in values], False
    except ExprError:
        raise ExprError(f"{what}: {arg} must hold constant integers, got {values!r}") from None


def dynamic_strided_slice(a: Tensor, begin: Any, end: Any, strides: Any,
                          output_shape: Sequence[Any] | None = None) -> Tensor:
    """``a[begin[k]:end[k]:strides[k]]`` on the first len(begin) axes, the rest whole.  A negative begin
    counts from the end; begin is then clamped into the axis, as numpy's slicing.  The output's sliced
    dimensions are ``output_shape``'s, else fresh ``te.var`` s bound from the output array at run time,
    whose length must be that of the slice (numpy's ``len(range(begin, end, stride))``)."""
    what = "dynamic_strided_slice"
    if not isinstance(a, Tensor):
        raise ExprError(f"{what}: a must be a tensor, got {type(a).__name__}")
    ndim = len(a.shape)
    b, b_dyn = _entries(begin, what, "begin")
    e, e_dyn = _entries(end, what, "end")
    s, s_dyn = _entries(strides, what, "strides")
    count = len(b)
    if not count or len(e) != count or len(s) != count or count > ndim:
        raise ExprError(f"{what}: begin ({len(b)}), end ({len(e)}) and strides ({len(s)}) must have one entry "
                        f"per sliced axis, 1 to {ndim} for {a.name}")
    if any(isinstance(v, int) and v == 0 for v in s):
        raise ExprError(f"{what}: strides {strides!r} hold a 0")
    if output_shape is not None:
        if len(output_shape) != ndim:
            raise ExprError(f"{what}: output_shape {list(output_shape)} must have {ndim} dimensions")
        shape = list(output_shape)
    elif not (b_dyn or e_dyn or s_dyn):  # all constant: the lengths are known now
        shape = [len(range(*slice(b[k], e[k], s[k]).indices(static_dim(a.shape[k])))) for k in range(count)]
        shape += list(a.shape[count:])
    else:
        shape = [te.var(f"dim{k}") for k in range(count)] + list(a.shape[count:])

    def body(*i: Any) -> PrimExpr:
        idx = []
        for k in range(count):
            n = a.shape[k]
            first = b[k] if isinstance(b[k], PrimExpr) else te.const(b[k], "int64")
            first = te.if_then_else(first < 0, first + n, first)
            first = te.max(te.min(first, n - 1), 0)  # numpy clamps a begin past either end
            step = s[k] if isinstance(s[k], PrimExpr) else te.const(s[k], "int64")
            idx.append(i[k].astype("int64") * step + first)
        return a(*idx, *i[count:])
    return te.compute(shape, body, name="T_dynamic_strided_slice", tag=tag.INJECTIVE)


__all__ = ["dynamic_strided_slice"]
