"""Upsampling of the H and W planes of a 4-D tensor by nearest neighbour."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import get_const_int


def _nearest(out: Any, n: int, o: int, align_corners: bool) -> PrimExpr:
    """The input row that output row ``out`` (of ``o``) reads from ``n`` rows, in exact integer arithmetic:
    floor(out * n / o) (TVM's "asymmetric"), or out * (n - 1) / (o - 1) rounded half to even
    ("align_corners")."""
    if not align_corners:
        return out * n // o
    if o == 1:
        return te.const(0, out.dtype)
    q, r = out * (n - 1) // (o - 1), out * (n - 1) % (o - 1)
    up = te.any(r * 2 > o - 1, te.all(r * 2 == o - 1, q % 2 == 1))
    return te.min(te.if_then_else(up, q + 1, q), n - 1)


def upsampling(data: Tensor, scale_h: float, scale_w: float, layout: str = "NCHW",
               method: str = "nearest_neighbor", align_corners: bool = False, output_shape: Any = None) -> Tensor:
    """``data`` (NCHW or NHWC) resized to round(H * scale_h) x round(W * scale_w) by nearest neighbour."""
    what = "upsampling"
    if method in ("bilinear", "bicubic", "linear", "cubic"):
        raise ExprError(f"{what}: method '{method}' is not supported yet (only 'nearest_neighbor')")
    if method != "nearest_neighbor":
        raise ExprError(f"{what}: unknown method '{method}' (TVM's are nearest_neighbor, bilinear, bicubic)")
    if layout not in ("NCHW", "NHWC"):
        raise ExprError(f"{what}: layout '{layout}' is not supported (NCHW, NHWC)")
    if len(data.shape) != 4:
        raise ExprError(f"{what}: data must be 4-D ({layout}), got {len(data.shape)}-D")
    ha, wa = layout.index("H"), layout.index("W")
    h, w = get_const_int(data.shape[ha]), get_const_int(data.shape[wa])
    if output_shape is not None:
        oh, ow = get_const_int(output_shape[ha]), get_const_int(output_shape[wa])
    else:
        if not (scale_h > 0 and scale_w > 0):
            raise ExprError(f"{what}: scale_h and scale_w must be positive, got {scale_h} and {scale_w}")
        oh, ow = round(h * scale_h), round(w * scale_w)
    if oh < 1 or ow < 1:
        raise ExprError(f"{what}: the output would be empty ({oh}x{ow})")
    shape = list(data.shape)
    shape[ha], shape[wa] = oh, ow

    def body(*i: Any) -> PrimExpr:
        idx = list(i)
        idx[ha] = _nearest(i[ha], h, oh, align_corners)
        idx[wa] = _nearest(i[wa], w, ow, align_corners)
        return data(*idx)
    return te.compute(shape, body, name="resize", tag=tag.INJECTIVE)
