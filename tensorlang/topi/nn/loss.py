"""The negative log-likelihood loss (``nll_loss``), as PyTorch and TVM define it."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.tensor import Tensor
from ..reduction import sum as _sum


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
    if not targets.dtype.is_int:
        raise DTypeError(f"nll_loss: targets {targets.name} must be integers, got {targets.dtype}")
    p_shape, t_shape = list(predictions.shape), list(targets.shape)
    if len(p_shape) < 2 or len(t_shape) != len(p_shape) - 1 or len(weights.shape) != 1:
        raise ExprError(f"nll_loss: expected predictions (N, C, d...), targets (N, d...) and weights (C,), got "
                        f"{predictions.name}{tuple(p_shape)}, {targets.name}{tuple(t_shape)}, "
                        f"{weights.name}{tuple(weights.shape)}")
    index = "int64" if targets.dtype.bits == 64 else "int32"

    def counted(i: tuple[Any, ...]) -> Any:
        return targets(*i) != ignore_index

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
    w = te.compute(t_shape, lambda *i: te.if_then_else(counted(i), weights(target(i)), te.const(0, weights.dtype)),
                   name="nll_loss_weights")
    wsum = _sum(w)
    return te.compute((), lambda: total() / wsum(), name="nll_loss_mean", tag="nll_loss")
