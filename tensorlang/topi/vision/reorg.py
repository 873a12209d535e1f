"""``reorg``: YOLOv2's passthrough layer (TVM's ``topi.vision.reorg``), which trades spatial resolution
for channels as Darknet's ``reorg_cpu`` does (not the same element order as space_to_depth)."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..transform import reshape
from ..utils import get_const_tuple


def reorg(data: Tensor, stride: int) -> Tensor:
    """``data`` (N, C, H, W) -> (N, C * stride^2, H / stride, W / stride).  Element (b, k, j, i) of an
    input-shaped intermediate reads ``data``, viewed as (N, C / stride^2, H * stride, W * stride), at
    (b, k % c2, j * stride + o // stride, i * stride + o % stride) with c2 = C / stride^2 and
    o = k // c2; the intermediate is then reshaped to the output shape."""
    what = "reorg"
    if not isinstance(stride, int) or stride < 1:
        raise ExprError(f"{what}: stride must be a positive integer, got {stride!r}")
    if len(data.shape) != 4:
        raise ExprError(f"{what}: data must be 4-D (NCHW), got {len(data.shape)}-D")
    n, c, h, w = get_const_tuple(data.shape)
    if c % (stride * stride) or h % stride or w % stride:
        raise ExprError(f"{what}: channels {c} must divide by stride^2 and height {h}, width {w} by stride "
                        f"{stride}")
    c2 = c // (stride * stride)

    def body(b: Any, k: Any, j: Any, i: Any) -> PrimExpr:
        o = k // c2
        # flat position in the (N, c2, H * stride, W * stride) view, unravelled into data's own shape
        flat = ((b * c2 + k % c2) * h * stride + j * stride + o // stride) * w * stride + i * stride + o % stride
        return data(flat // (c * h * w), flat // (h * w) % c, flat // w % h, flat % w)
    gathered = te.compute((n, c, h, w), body, name="tensor", tag=tag.INJECTIVE)
    return reshape(gathered, (n, c * stride * stride, h // stride, w // stride))


__all__ = ["reorg"]
