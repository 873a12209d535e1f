"""The negative log-likelihood loss (``nll_loss``), as PyTorch and TVM define it."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import te
from ...errors import DTypeError, ExprError
from ...te.tensor import Tensor
from ..reduction import sum as _sum
from ..utils import get_const_tuple


def nll_loss(predictions: Tensor, targets: Tensor, weights: Tensor, reduction: str = "mean",
             ignore_index: int = -100) -> Tensor:
    """``-predictions[n, targets[n, ...], ...] * weights[targets[n, ...]]`` for every target that
    is not ``ignore_index`` (0 for those), with predictions (N, C, d1, ...) of log-probabilities,
    integer targets (N, d1, ...) and class weights (C,).  ``reduction`` "none" keeps the targets'
    shape; "sum" adds the losses up; "mean" divides that sum by the weights of the counted targets
    (NaN when every target is ignored, as in PyTorch).  A target outside [0, C) that is not
    ``ignore_index`` is a ``BoundsError`` when the compiled function runs."""
    if reduction not in ("mean", "sum", "none"):
        raise ExprError(f"nll_loss: reduction '{reduction}' is not 'mean', 'sum' or 'none'")
    for arg, t in (("predictions", predictions), ("targets", targets), ("weights", weights)):
        if not isinstance(t, Tensor):
            raise ExprError(f"nll_loss: {arg} must be a tensor, got {type(t).__name__}")
    if not targets.dtype.is_int or targets.dtype.is_bool:
        raise DTypeError(f"nll_loss: targets {targets.name} must be integers, got {targets.dtype}")
    if not predictions.dtype.is_float:
        raise DTypeError(f"nll_loss: predictions {predictions.name} must be floats (log-probabilities), got "
                         f"{predictions.dtype}")
    if weights.dtype != predictions.dtype:
        raise DTypeError(f"nll_loss: weights {weights.name} is {weights.dtype} but predictions "
                         f"{predictions.name} is {predictions.dtype}; they must match")
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        raise ExprError(f"nll_loss: ignore_index must be an integer, got {ignore_index!r}")
    ignore_index = int(ignore_index)
    p_shape, t_shape = list(predictions.shape), list(targets.shape)
    if len(p_shape) < 2 or len(t_shape) != len(p_shape) - 1 or len(weights.shape) != 1:
        raise ExprError(f"nll_loss: expected predictions (N, C, d...), targets (N, d...) and weights (C,), got "
                        f"{predictions.name}{tuple(p_shape)}, {targets.name}{tuple(t_shape)}, "
                        f"{weights.name}{tuple(weights.shape)}")
    ps, ts, ws = (get_const_tuple(t.shape) for t in (predictions, targets, weights))
    want_t = (ps[0], *ps[2:])
    if any(isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(ts, want_t)):
        raise ExprError(f"nll_loss: targets {targets.name} has shape {ts} but predictions {predictions.name} "
                        f"{ps} needs {want_t} (N, d...)")
    if isinstance(ws[0], int) and isinstance(ps[1], int) and ws[0] != ps[1]:
        raise ExprError(f"nll_loss: weights {weights.name} has {ws[0]} entries but predictions "
                        f"{predictions.name} has {ps[1]} classes")
    index = "int64" if targets.dtype.bits == 64 else "int32"
    tinfo = np.iinfo(str(targets.dtype))
    # an ignore_index no target can equal (-100 with uint8 targets) ignores nothing
    ignorable = tinfo.min <= ignore_index <= tinfo.max

    def counted(i: tuple[Any, ...]) -> Any:
        if not ignorable:
            return te.const(True, "bool")
        return targets(*i) != te.const(ignore_index, str(targets.dtype))

    def target(i: tuple[Any, ...]) -> Any:
        # Ignored targets read class 0 (and the result is discarded); others are bounds-checked.
        return te.if_then_else(counted(i), targets(*i), 0).astype(index)

    def loss(*i: Any) -> Any:
        value = -predictions(i[0], target(i), *i[1:]) * weights(target(i))
        return te.if_then_else(counted(i), value, te.const(0, predictions.dtype))

    out = te.compute(t_shape, loss, name="nll_loss", tag="nll_loss")
    if reduction == "none":
        return out
    total = _sum(out)
    if reduction == "sum":
        return total
    # float16 losses and weights add up in float32 (as topi.sum does) and divide there, rounded once
    acc = "float32" if str(predictions.dtype) == "float16" else str(predictions.dtype)
    w = te.compute(t_shape, lambda *i: te.if_then_else(counted(i), weights(target(i)), te.const(0, weights.dtype))
                   .astype(acc), name="nll_loss_weights")
    wsum = _sum(w)
    if acc != str(predictions.dtype):
        out32 = te.compute(t_shape, lambda *i: out(*i).astype(acc), name="nll_loss_acc")
        total = _sum(out32)
    return te.compute((), lambda: (total() / wsum()).astype(str(predictions.dtype)), name="nll_loss_mean",
                      tag="nll_loss")
