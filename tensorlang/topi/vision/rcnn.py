"""Region-of-interest pooling (TVM's ``topi.vision.rcnn``): each roi (batch_index, x1, y1, x2, y2), in input
pixels times ``spatial_scale``, is split into ``pooled_size`` bins, each pooled to one value per channel.

``roi_align_*`` (Mask R-CNN): a roi narrower than 1 pixel is widened to 1; a bin is sampled on a regular
grid of ``sample_ratio`` x ``sample_ratio`` points (``sample_ratio <= 0``: ceil(roi_size / pooled_size) per
axis, so it depends on the roi), each point bilinearly interpolated (0 when more than a pixel outside the
image, clamped onto the image otherwise), and the bin is their mean ("avg") or maximum ("max").

``roi_pool_nchw`` (Fast R-CNN): the roi corners are rounded to pixels (ties away from zero) and the roi is
at least 1 x 1 pixels; bin (i, j) of a roi of h x w pixels spans rows [floor(i * h / ph), ceil((i + 1) * h /
ph)) (likewise columns) offset to the roi, clipped to the image, and takes the maximum, or 0 when empty.

A roi's batch index is truncated to an integer; one outside the batch is a BoundsError when the function runs.
"""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from ..utils import get_const_float, get_const_int, pair, static_dim

_AVG = ("avg", b"avg", 0)
_MAX = ("max", b"max", 1)


def _check(what: str, layout: str, data: Tensor, rois: Tensor, pooled_size: Any,
           spatial_scale: Any) -> tuple[dict[str, int], int, int, float]:
    """The constant dimensions of ``data`` (C, H, W), the pooled size and the scale, checked."""
    for t, arg, ndim, shape in ((data, "data", 4, layout), (rois, "rois", 2, "num_roi, 5")):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
        if len(t.shape) != ndim:
            raise ExprError(f"{what}: {arg} must be {ndim}-D ({shape}), got shape {list(t.shape)}")
    if static_dim(rois.shape[1]) != 5:
        raise ExprError(f"{what}: rois must be (num_roi, 5) = (batch_index, x1, y1, x2, y2), "
                        f"got shape {list(rois.shape)}")
    if not rois.dtype.is_float:
        raise DTypeError(f"{what}: rois must be float, got {rois.dtype}")
    try:
        dim = {a: get_const_int(d) for a, d in zip(layout, data.shape) if a != "N"}
    except ExprError:
        raise ExprError(f"{what}: data's channels, height and width must be constant, "
                        f"got shape {list(data.shape)}") from None
    try:
        ph, pw = (get_const_int(v) for v in pair(pooled_size, f"{what} pooled_size"))
    except (TypeError, ExprError):
        ph = pw = 0
    if min(ph, pw) < 1:
        raise ExprError(f"{what}: pooled_size must be a positive int or two, got {pooled_size!r}")
    try:
        scale = get_const_float(spatial_scale)
    except (TypeError, ExprError):
        raise ExprError(f"{what}: spatial_scale must be a constant number, got {spatial_scale!r}") from None
    return dim, ph, pw, scale


def _roi_align(what: str, layout: str, data: Tensor, rois: Tensor, pooled_size: Any, spatial_scale: Any,
               mode: Any, sample_ratio: int) -> Tensor:
    if mode in _AVG:
        avg = True
    elif mode in _MAX:
        avg = False
    else:
        raise ExprError(f"{what}: mode {mode!r} is not 'avg' (or b'avg', 0) or 'max' (or b'max', 1)")
    dim, ph, pw, scale = _check(what, layout, data, rois, pooled_size, spatial_scale)
    if not data.dtype.is_float:
        raise DTypeError(f"{what}: data must be float, got {data.dtype}")
    try:
        ratio = get_const_int(sample_ratio)
    except (TypeError, ExprError):
        raise ExprError(f"{what}: sample_ratio must be an int, got {sample_ratio!r}") from None
    height, width = dim["H"], dim["W"]
    dt = str(rois.dtype)
    out_dt = str(data.dtype)

    def const(v: float) -> PrimExpr:
        return te.const(v, dt)

    def sample(b: PrimExpr, c: PrimExpr, y: PrimExpr, x: PrimExpr) -> PrimExpr:
        """The bilinear interpolation of channel ``c`` of image ``b`` at (y, x)."""
        outside = te.any(y < -1.0, x < -1.0, y > float(height), x > float(width))
        y = te.max(te.min(y, const(height - 1)), const(0))
        x = te.max(te.min(x, const(width - 1)), const(0))
        y0, x0 = te.floor(y).astype("int32"), te.floor(x).astype("int32")
        y1, x1 = te.min(y0 + 1, height - 1), te.min(x0 + 1, width - 1)
        ly, lx = y - y0.astype(dt), x - x0.astype(dt)

        def at(yy: PrimExpr, xx: PrimExpr) -> PrimExpr:
            where = {"N": b, "C": c, "H": yy, "W": xx}
            return data[tuple(where[a] for a in layout)].astype(dt)

        val = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1))
        return te.if_then_else(outside, const(0), val)

    def body(*i: Any) -> PrimExpr:
        at = dict(zip(layout, i))
        n = at["N"]
        b = rois[n, 0].astype("int32")
        x1, y1, x2, y2 = (rois[n, k] * const(scale) for k in range(1, 5))
        roi_h = te.max(y2 - y1, const(1))
        roi_w = te.max(x2 - x1, const(1))
        bin_h, bin_w = roi_h / const(ph), roi_w / const(pw)
        if ratio > 0:
            grid_h: Any = ratio
            grid_w: Any = ratio
        else:
            # as many samples per bin as it is pixels high (wide), rounded up: depends on the roi
            grid_h = te.ceil(bin_h).astype("int32")
            grid_w = te.ceil(bin_w).astype("int32")
        ry = te.reduce_axis((0, grid_h), name="ry")
        rx = te.reduce_axis((0, grid_w), name="rx")
        gh = const(grid_h) if ratio > 0 else grid_h.astype(dt)
        gw = const(grid_w) if ratio > 0 else grid_w.astype(dt)
        y = y1 + at["H"].astype(dt) * bin_h + (ry.var.astype(dt) + 0.5) * bin_h / gh
        x = x1 + at["W"].astype(dt) * bin_w + (rx.var.astype(dt) + 0.5) * bin_w / gw
        val = sample(b, at["C"], y, x)
        if avg:
            return te.sum((val / (gh * gw)).astype(out_dt), axis=[ry, rx])
        return te.max(val.astype(out_dt), axis=[ry, rx])

    size = {"N": rois.shape[0], "C": dim["C"], "H": ph, "W": pw}
    return te.compute([size[a] for a in layout], body, name="roi_align", tag=f"pool,roi_align_{layout.lower()}")


def roi_align_nchw(data: Tensor, rois: Tensor, pooled_size: Any, spatial_scale: float, mode: Any = "avg",
                   sample_ratio: int = -1) -> Tensor:
    """ROI Align of ``data`` (N, C, H, W) over ``rois`` (num_roi, 5) = (batch_index, x1, y1, x2, y2) ->
    (num_roi, C, PH, PW), ``pooled_size = PH`` or (PH, PW); ``mode``: "avg" (b"avg", 0) or "max"
    (b"max", 1); ``sample_ratio``: samples per bin and axis (<= 0: adaptive).  See the module docstring."""
    return _roi_align("roi_align_nchw", "NCHW", data, rois, pooled_size, spatial_scale, mode, sample_ratio)


def roi_align_nhwc(data: Tensor, rois: Tensor, pooled_size: Any, spatial_scale: float, mode: Any = "avg",
                   sample_ratio: int = -1) -> Tensor:
    """ROI Align of ``data`` (N, H, W, C) -> (num_roi, PH, PW, C); the rest as ``roi_align_nchw``."""
    return _roi_align("roi_align_nhwc", "NHWC", data, rois, pooled_size, spatial_scale, mode, sample_ratio)


def roi_pool_nchw(data: Tensor, rois: Tensor, pooled_size: Any, spatial_scale: float) -> Tensor:
    """ROI max pooling of ``data`` (N, C, H, W) over ``rois`` (num_roi, 5) = (batch_index, x1, y1, x2, y2)
    -> (num_roi, C, PH, PW), ``pooled_size = PH`` or (PH, PW).  See the module docstring."""
    what = "roi_pool_nchw"
    dim, ph, pw, scale = _check(what, "NCHW", data, rois, pooled_size, spatial_scale)
    height, width = dim["H"], dim["W"]
    dt = str(rois.dtype)
    out_dt = str(data.dtype)

    def pixel(v: PrimExpr) -> PrimExpr:
        # rounded half away from zero (C's round, as Fast R-CNN and TVM's LLVM lowering of round): the
        # cast to int truncates toward zero
        v = v * te.const(scale, dt)
        return (v + te.copysign(te.const(0.5, dt), v)).astype("int32")

    def span(k: Any, size: PrimExpr, bins: int, start: PrimExpr, limit: int) -> tuple[PrimExpr, PrimExpr]:
        """[begin, end) of bin ``k`` of ``bins`` over ``size`` pixels from ``start``, clipped to [0, limit];
        floor and ceil of k * size / bins in exact integer arithmetic."""
        begin = te.truncdiv(k * size, bins) + start
        end = te.truncdiv((k + 1) * size + (bins - 1), bins) + start
        return te.max(te.min(begin, limit), 0), te.max(te.min(end, limit), 0)

    def body(n: Any, c: Any, i: Any, j: Any) -> PrimExpr:
        b = rois[n, 0].astype("int32")
        x1, y1, x2, y2 = (pixel(rois[n, k]) for k in range(1, 5))
        roi_h = te.max(y2 - y1 + 1, 1)
        roi_w = te.max(x2 - x1 + 1, 1)
        h0, h1 = span(i, roi_h, ph, y1, height)
        w0, w1 = span(j, roi_w, pw, x1, width)
        # An empty bin (wholly outside the image) still reduces over one element, which reads as 0.
        ry = te.reduce_axis((0, te.max(h1 - h0, 1)), name="ry")
        rx = te.reduce_axis((0, te.max(w1 - w0, 1)), name="rx")
        row = te.min(h0 + ry.var, height - 1)
        col = te.min(w0 + rx.var, width - 1)
        empty = te.any(h1 <= h0, w1 <= w0)
        return te.max(te.if_then_else(empty, te.const(0, out_dt), data[b, c, row, col]), axis=[ry, rx])

    return te.compute((rois.shape[0], dim["C"], ph, pw), body, name="roi_pool", tag="pool,roi_pool")


__all__ = ["roi_align_nchw", "roi_align_nhwc", "roi_pool_nchw"]
