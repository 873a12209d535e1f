"""Activation functions: relu, leaky_relu, prelu (tag ``elemwise``)."""

from __future__ import annotations

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, get_const_tuple, scalar_const, static_dim


def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    check_tensors("relu", x=x)
    return te.compute(x.shape, lambda *i: te.max(x(*i), te.const(0, x.dtype)), name="T_relu", tag=tag.ELEMWISE)


def leaky_relu(x: Tensor, alpha: float) -> Tensor:
    """x where x > 0, else alpha * x."""
    if not isinstance(x, Tensor):
        raise ExprError(f"leaky_relu: x must be a tensor, got {type(x).__name__}")
    slope = scalar_const(alpha, x.dtype, "leaky_relu", "alpha")

    def body(*i):  # noqa: ANN202
        v = x(*i)
        return te.if_then_else(v > 0, v, v * slope)
    return te.compute(x.shape, body, name="T_leaky_relu", tag=tag.ELEMWISE)


def prelu(x: Tensor, slope: Tensor, axis: int = 1) -> Tensor:
    """x where x > 0, else slope[channel] * x (``axis``, negative from the end, is the channel axis)."""
    for arg, t in (("x", x), ("slope", slope)):
        if not isinstance(t, Tensor):
            raise ExprError(f"prelu: {arg} must be a tensor, got {type(t).__name__}")
    ndim = len(x.shape)
    if isinstance(axis, bool) or not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ExprError(f"prelu: axis {axis!r} is out of range for the {ndim} dimension(s) of {x.name}")
    axis = axis + ndim if axis < 0 else axis
    if len(slope.shape) != 1:
        raise ExprError(f"prelu: slope {slope.name} must be 1-D (one slope per channel), got shape "
                        f"{get_const_tuple(slope.shape)}")
    ns, nc = static_dim(slope.shape[0]), static_dim(x.shape[axis])
    if ns is not None and nc is not None and ns != nc:
        raise ExprError(f"prelu: slope {slope.name} has {ns} entries but {x.name} has {nc} channels along axis {axis}")

    def body(*i):  # noqa: ANN202
        v = x(*i)
        return te.if_then_else(v > 0, v, v * slope(i[axis]))
    return te.compute(x.shape, body, name="T_prelu", tag=tag.BROADCAST)
