"""``resize2d``: an image tensor (NCHW or NHWC) resampled to a new height and width by nearest neighbour or
bilinear interpolation.  Each output pixel maps back to a source coordinate by a coordinate transformation
mode, per axis, with ``scale = in_size / out_size``:

    half_pixel            (x + 0.5) * scale - 0.5
    pytorch_half_pixel    as half_pixel, but 0 when out_size is 1
    align_corners         x * (in_size - 1) / (out_size - 1)   (0 when out_size is 1)
    asymmetric            x * scale
    tf_half_pixel_for_nn  (x + 0.5) * scale
    tf_crop_and_resize    start * (in_size - 1) + x * (end - start) * (in_size - 1) / (out_size - 1), with
                          start/end from ``roi``; a source outside the image gives ``extrapolation_value``

"nearest_neighbor" rounds that coordinate by ``rounding_method``; "linear" blends the two neighbours on each
axis by the coordinate's fraction, a neighbour past the edge clamped to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import get_const_float, get_const_int

_MODES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
          "tf_crop_and_resize")
_ROUNDING = ("", "round", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
# floor/ceil of a coordinate that should be an integer but came out a hair below (or above) it
_EPSILON = 1e-5


def _source(x: PrimExpr, in_size: int, out_size: int, mode: str, roi: tuple[float, float], dt: str) -> PrimExpr:
    """The source coordinate (in ``dt``) of output position ``x`` along one axis."""
    xf = x.astype(dt)
    scale = in_size / out_size
    if mode == "half_pixel" or (mode == "pytorch_half_pixel" and out_size > 1):
        return (xf + 0.5) * te.const(scale, dt) - 0.5
    if mode == "tf_half_pixel_for_nn":
        return (xf + 0.5) * te.const(scale, dt)
    if mode == "asymmetric":
        return xf * te.const(scale, dt)
    if mode == "align_corners":
        return xf * te.const((in_size - 1) / (out_size - 1), dt) if out_size > 1 else te.const(0.0, dt)
    if mode == "tf_crop_and_resize":
        start, end = roi
        if out_size == 1:
            return te.const(0.5 * (start + end) * (in_size - 1), dt)
        return te.const(start * (in_size - 1), dt) + xf * te.const((end - start) * (in_size - 1) / (out_size - 1), dt)
    return te.const(0.0, dt)  # pytorch_half_pixel onto a single pixel


def _nearest(coord: PrimExpr, rounding: str, in_size: int) -> PrimExpr:
    """The source index nearest ``coord`` by ``rounding``, clamped into the image."""
    if rounding == "round":
        idx = te.round(coord)
    elif rounding == "round_prefer_floor":
        idx = te.ceil(coord - 0.5)
    elif rounding == "round_prefer_ceil":
        idx = te.floor(coord + 0.5)
    elif rounding == "floor":
        idx = te.floor(coord + _EPSILON)
    else:
        idx = te.ceil(coord - _EPSILON)
    return te.max(te.min(idx.astype("int32"), in_size - 1), 0)


def _pair(values: Any, what: str, arg: str, conv: Any) -> list[Any]:
    try:
        seq = list(values)
    except TypeError:
        raise ExprError(f"{what}: {arg} must be a sequence, got {values!r}") from None
    try:
        return [conv(v) for v in seq]
    except ExprError:
        raise ExprError(f"{what}: {arg} must hold constants, got {values!r}") from None


def resize2d(data: Tensor, roi: Sequence[Any] | None, size: Sequence[Any], layout: str = "NCHW",
             method: str = "linear", coordinate_transformation_mode: str = "half_pixel", rounding_method: str = "",
             bicubic_alpha: float = -0.5, bicubic_exclude: int = 0, extrapolation_value: float = 0.0,
             out_dtype: str | None = None, output_shape: Sequence[Any] | None = None) -> Tensor:
    """``data`` (NCHW or NHWC) resized to ``size = (out_h, out_w)`` by "nearest_neighbor" or "linear"
    (bilinear); see the module docstring for the coordinate modes.  ``roi = (start_h, start_w, end_h, end_w)``
    (fractions of the image) is read only by "tf_crop_and_resize".  Integer outputs of "linear" are rounded."""
    what = "resize2d"
    mode = coordinate_transformation_mode
    if method in ("cubic", "bicubic"):
        raise ExprError(f"{what}: method '{method}' is not supported yet (use 'nearest_neighbor' or 'linear')")
    if method not in ("nearest_neighbor", "linear", "bilinear"):
        raise ExprError(f"{what}: method '{method}' is not one of 'nearest_neighbor', 'linear'")
    if mode not in _MODES:
        raise ExprError(f"{what}: coordinate_transformation_mode '{mode}' is not one of {', '.join(_MODES)}")
    if rounding_method not in _ROUNDING:
        raise ExprError(f"{what}: rounding_method '{rounding_method}' is not one of "
                        f"{', '.join(repr(r) for r in _ROUNDING)}")
    if layout not in ("NCHW", "NHWC"):
        raise ExprError(f"{what}: layout '{layout}' is not supported (NCHW, NHWC)")
    if not isinstance(data, Tensor) or len(data.shape) != 4:
        raise ExprError(f"{what}: data must be a 4-D tensor ({layout})")
    ha, wa = layout.index("H"), layout.index("W")
    try:
        in_h, in_w = get_const_int(data.shape[ha]), get_const_int(data.shape[wa])
    except ExprError:
        raise ExprError(f"{what}: data's height and width must be constant, got {data.shape[ha]} x "
                        f"{data.shape[wa]}") from None
    sizes = _pair(size, what, "size", get_const_int)
    if len(sizes) != 2 or min(sizes) < 1:
        raise ExprError(f"{what}: size must be two positive integers (out_h, out_w), got {size!r}")
    out_h, out_w = sizes
    roi_hw = ((0.0, 1.0), (0.0, 1.0))
    if mode == "tf_crop_and_resize":
        box = _pair(roi if roi is not None else (), what, "roi", get_const_float)
        if len(box) != 4:
            raise ExprError(f"{what}: roi must be (start_h, start_w, end_h, end_w) for tf_crop_and_resize, "
                            f"got {roi!r}")
        roi_hw = ((box[0], box[2]), (box[1], box[3]))
    try:
        dt = str(te.as_dtype(out_dtype)) if out_dtype is not None else str(data.dtype)
    except DTypeError:
        raise DTypeError(f"{what}: out_dtype {out_dtype!r} is not a dtype") from None
    shape: list[Any] = list(data.shape)
    shape[ha], shape[wa] = out_h, out_w
    if output_shape is not None:
        if len(output_shape) != 4:
            raise ExprError(f"{what}: output_shape must have 4 dimensions, got {list(output_shape)}")
        shape = list(output_shape)
    linear = method != "nearest_neighbor"
    rounding = rounding_method or ("round" if mode == "align_corners" else "floor")
    # Coordinates are computed in float64 where an index is rounded from them (in float32, "asymmetric"
    # row 265 of 318 from 342 lands at 284.99997, not 285, and floors to the wrong row) and in float32 where
    # they only weigh a blend, which is continuous in them.
    cdt = "float64" if not linear or str(data.dtype) == "float64" else "float32"
    outside = te.const(extrapolation_value, dt)

    def body(*i: Any) -> PrimExpr:
        y = _source(i[ha], in_h, out_h, mode, roi_hw[0], cdt)
        x = _source(i[wa], in_w, out_w, mode, roi_hw[1], cdt)

        def at(yy: PrimExpr, xx: PrimExpr) -> PrimExpr:
            return data(*[yy if k == ha else xx if k == wa else v for k, v in enumerate(i)])
        if not linear:
            value = at(_nearest(y, rounding, in_h), _nearest(x, rounding, in_w)).astype(dt)
        else:
            y0f, x0f = te.floor(y), te.floor(x)
            wy, wx = y - y0f, x - x0f
            y0, x0 = y0f.astype("int32"), x0f.astype("int32")

            def clamp(v: PrimExpr, n: int) -> PrimExpr:
                return te.max(te.min(v, n - 1), 0)
            ya, yb, xa, xb = clamp(y0, in_h), clamp(y0 + 1, in_h), clamp(x0, in_w), clamp(x0 + 1, in_w)

            def lerp(a: PrimExpr, b: PrimExpr, t: PrimExpr) -> PrimExpr:
                return a * (1 - t) + b * t
            top = lerp(at(ya, xa).astype(cdt), at(ya, xb).astype(cdt), wx)
            bottom = lerp(at(yb, xa).astype(cdt), at(yb, xb).astype(cdt), wx)
            value = lerp(top, bottom, wy)
            value = te.round(value).astype(dt) if te.as_dtype(dt).is_int else value.astype(dt)
        if mode != "tf_crop_and_resize":
            return value
        inside = te.all(y >= 0, y <= in_h - 1, x >= 0, x <= in_w - 1)
        return te.if_then_else(inside, value, outside)
    return te.compute(shape, body, name="resize", tag=tag.INJECTIVE)


__all__ = ["resize2d"]
