"""Ops that map a tensor onto another shape or add a per-channel vector: bias_add, batch_flatten."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..transform import normalize_axis
from ..utils import check_tensors, get_const_tuple, prod, static_dim


def bias_add(data: Tensor, bias: Tensor, axis: int = 1) -> Tensor:
    """``data`` plus the 1-D ``bias`` along ``axis`` (the channel axis)."""
    check_tensors("bias_add", data=data, bias=bias)
    ax = normalize_axis(axis, len(data.shape), "bias_add")
    if len(bias.shape) != 1:
        raise ExprError(f"bias_add: bias {bias.name} must be 1-D, got {len(bias.shape)} dimension(s)")
    nb, nd = get_const_tuple([bias.shape[0], data.shape[ax]])
    if isinstance(nb, int) and isinstance(nd, int) and nb != nd:
        raise ExprError(f"bias_add: bias {bias.name} has {nb} elements but {data.name} has {nd} along axis {axis}")
    return te.compute(data.shape, lambda *i: data(*i) + bias(i[ax]), name="T_add", tag=tag.BROADCAST)


def batch_flatten(data: Tensor) -> Tensor:
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""
    check_tensors("batch_flatten", data=data)
    if len(data.shape) < 1:
        raise ExprError("batch_flatten: data must have a batch dimension")
    inner = list(data.shape[1:])
    if any(static_dim(d) == 0 for d in inner):  # no element to read: j // 0 must not be built
        return te.compute([data.shape[0], prod(inner)], lambda i, j: te.const(0, data.dtype), name="tensor",
                          tag=tag.INJECTIVE)

    def body(i: Any, j: Any) -> PrimExpr:
        idx = []
        for d in reversed(inner):
            idx.append(j % d)
            j = j // d
        return data(i, *reversed(idx))
    return te.compute([data.shape[0], prod(inner)], body, name="tensor", tag=tag.INJECTIVE)


flatten = batch_flatten
