"""Activation functions: relu, leaky_relu, prelu (tag ``elemwise``)."""

from __future__ import annotations

from ... import te
from ...te.tensor import Tensor
from .. import tag


def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return te.compute(x.shape, lambda *i: te.max(x(*i), te.const(0, x.dtype)), name="T_relu", tag=tag.ELEMWISE)


def leaky_relu(x: Tensor, alpha: float) -> Tensor:
    """x where x > 0, else alpha * x."""
    def body(*i):  # noqa: ANN202
        v = x(*i)
        return te.if_then_else(v > 0, v, v * te.const(alpha, v.dtype))
    return te.compute(x.shape, body, name="T_leaky_relu", tag=tag.ELEMWISE)


def prelu(x: Tensor, slope: Tensor, axis: int = 1) -> Tensor:
    """x where x > 0, else slope[channel] * x."""
    def body(*i):  # noqa: ANN202
        v = x(*i)
        return te.if_then_else(v > 0, v, v * slope(i[axis]))
    return te.compute(x.shape, body, name="T_prelu", tag=tag.BROADCAST)
