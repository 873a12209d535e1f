"""softmax and log_softmax along one axis, in stable form (the maximum subtracted first)."""

from __future__ import annotations

from typing import Any

from ... import te
from ...te.tensor import Tensor
from ..transform import normalize_axis
from ..utils import check_tensors


def _reduce_over(x: Tensor, ax: int, reducer: Any, value: Any, name: str) -> Tensor:
    shape = [d for k, d in enumerate(x.shape) if k != ax]
    r = te.reduce_axis((0, x.shape[ax]), name="k")

    def body(*i: Any) -> Any:
        idx = list(i)
        idx.insert(ax, r)
        return reducer(value(*idx), axis=r)
    return te.compute(shape, body, name=name)


def _drop(idx: tuple, ax: int) -> list:
    return [v for k, v in enumerate(idx) if k != ax]


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along ``axis``."""
    check_tensors("softmax", x=x)
    ax = normalize_axis(axis, len(x.shape), "softmax")
    maxelem = _reduce_over(x, ax, te.max, x, "T_softmax_maxelem")
    expo = te.compute(x.shape, lambda *i: te.exp(x(*i) - maxelem(*_drop(i, ax))), name="T_softmax_exp")
    expsum = _reduce_over(x, ax, te.sum, expo, "T_softmax_expsum")
    return te.compute(x.shape, lambda *i: expo(*i) / expsum(*_drop(i, ax)), name="T_softmax_norm",
                      tag="softmax_output", attrs={"axis": ax})


def fast_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """softmax (TVM's variant with a faster exp; tensorlang's exp is the fast one already)."""
    check_tensors("fast_softmax", x=x)
    return softmax(x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - max - log(sum(exp(x - max))) along ``axis``."""
    check_tensors("log_softmax", x=x)
    ax = normalize_axis(axis, len(x.shape), "log_softmax")
    maxelem = _reduce_over(x, ax, te.max, x, "T_softmax_maxelem")
    expsum = _reduce_over(x, ax, te.sum, lambda *i: te.exp(x(*i) - maxelem(*_drop(i, ax))), "T_softmax_expsum")
    return te.compute(x.shape, lambda *i: x(*i) - maxelem(*_drop(i, ax)) - te.log(expsum(*_drop(i, ax))),
                      name="T_log_softmax", tag="log_softmax_output", attrs={"axis": ax})
