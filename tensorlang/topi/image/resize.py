"""``resize1d`` / ``resize2d`` / ``resize3d``: a tensor (NCW/NWC, NCHW/NHWC, NCDHW/NDHWC) resampled to a new
width, height and width, or depth, height and width by nearest neighbour, linear or cubic interpolation.
Each output element maps back to a source coordinate by a coordinate transformation mode, per axis, with
``scale = in_size / out_size``:

    half_pixel            (x + 0.5) * scale - 0.5
    pytorch_half_pixel    as half_pixel, but 0 when out_size is 1
    align_corners         x * (in_size - 1) / (out_size - 1)   (0 when out_size is 1)
    asymmetric            x * scale
    tf_half_pixel_for_nn  (x + 0.5) * scale
    tf_crop_and_resize    start * (in_size - 1) + x * (end - start) * (in_size - 1) / (out_size - 1), with
                          start/end from ``roi``; a source outside the image gives ``extrapolation_value``

"nearest_neighbor" rounds that coordinate by ``rounding_method``; "linear" blends the two neighbours on each
axis by the coordinate's fraction, a neighbour past the edge clamped to it; "cubic" blends four neighbours
on each axis with Keys' cubic convolution weights (``bicubic_alpha``, -0.5 by default, -0.75 as
PyTorch), neighbours past the edge clamped to it or, with ``bicubic_exclude``, left out and the remaining
weights rescaled to sum to 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import get_const_float, get_const_int, nchw_pack_layout, nchw_xc_layout, out_dtype_of

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


def _cubic_weights(t: PrimExpr, alpha: float, dt: str) -> list[PrimExpr]:
    """Keys' cubic convolution weights of the neighbours at -1, 0, 1, 2 for a fraction ``t``."""
    a = te.const(alpha, dt)
    t2, t3 = t * t, t * t * t
    return [a * (t3 - 2 * t2 + t),
            (a + 2) * t3 - (a + 3) * t2 + 1,
            -(a + 2) * t3 + (2 * a + 3) * t2 - a * t,
            -a * t3 + a * t2]


_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
_NAMES = {"D": "depth", "H": "height", "W": "width"}


def _rank(ndim: int, layout: str) -> int | None:
    """The rank of data in ``layout``, None when resize does not take it: besides the plain layouts,
    2-D resize takes TVM's packed NCHW layouts, NCHW[x]c (N, C, H, W, c) and NCHW[x]n[y]c
    (N, C, H, W, n, c), whose block axes pass through as the batch and channel axes do."""
    if layout in _LAYOUTS[ndim]:
        return ndim + 2
    if ndim == 2 and nchw_xc_layout(layout):
        return 5
    if ndim == 2 and nchw_pack_layout(layout):
        return 6
    return None


def _resize(what: str, ndim: int, data: Tensor, roi: Sequence[Any] | None, size: Sequence[Any], layout: str,
            method: str, mode: str, rounding_method: str, bicubic_alpha: float, bicubic_exclude: int,
            extrapolation_value: float, out_dtype: str | None, output_shape: Sequence[Any] | None) -> Tensor:
    """The resize of the ``ndim`` spatial axes (the last of D, H, W) of ``data`` in ``layout``."""
    method = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(method, method)
    if method not in ("nearest_neighbor", "linear", "cubic"):
        raise ExprError(f"{what}: method '{method}' is not one of 'nearest_neighbor', 'linear', 'cubic'")
    if mode not in _MODES:
        raise ExprError(f"{what}: coordinate_transformation_mode '{mode}' is not one of {', '.join(_MODES)}")
    if rounding_method not in _ROUNDING:
        raise ExprError(f"{what}: rounding_method '{rounding_method}' is not one of "
                        f"{', '.join(repr(r) for r in _ROUNDING)}")
    rank = _rank(ndim, layout)
    if rank is None:
        raise ExprError(f"{what}: layout '{layout}' is not supported ({', '.join(_LAYOUTS[ndim])}"
                        f"{', NCHW[x]c, NCHW[x]n[y]c' if ndim == 2 else ''})")
    if not isinstance(data, Tensor) or len(data.shape) != rank:
        raise ExprError(f"{what}: data must be a {rank}-D tensor ({layout})")
    letters = "DHW"[3 - ndim:]
    axes = [layout.index(a) for a in letters]
    try:
        ins = [get_const_int(data.shape[a]) for a in axes]
    except ExprError:
        raise ExprError(f"{what}: data's {' and '.join(_NAMES[a] for a in letters)} must be constant, got "
                        f"{' x '.join(str(data.shape[a]) for a in axes)}") from None
    if min(ins) < 1:
        raise ExprError(f"{what}: data's {' x '.join(_NAMES[a] for a in letters)} is {' x '.join(map(str, ins))}: "
                        f"an empty image has no pixel to resize from")
    outs = _pair(size, what, "size", get_const_int)
    if len(outs) != ndim or min(outs) < 1:
        count = {1: "one positive integer", 2: "two positive integers", 3: "three positive integers"}[ndim]
        raise ExprError(f"{what}: size must be {count} ({', '.join('out_' + a.lower() for a in letters)}), "
                        f"got {size!r}")
    rois = [(0.0, 1.0)] * ndim
    if mode == "tf_crop_and_resize":
        box = _pair(roi if roi is not None else (), what, "roi", get_const_float)
        if len(box) != 2 * ndim:
            raise ExprError(f"{what}: roi must be ({', '.join('start_' + a.lower() for a in letters)}, "
                            f"{', '.join('end_' + a.lower() for a in letters)}) for tf_crop_and_resize, got {roi!r}")
        rois = list(zip(box[:ndim], box[ndim:]))
    dt = out_dtype_of(out_dtype, data, what)
    shape: list[Any] = list(data.shape)
    for a, o in zip(axes, outs):
        shape[a] = o
    if output_shape is not None:
        if len(output_shape) != rank:
            raise ExprError(f"{what}: output_shape must have {rank} dimensions, got {list(output_shape)}")
        shape = list(output_shape)
    rounding = rounding_method or ("round" if mode == "align_corners" else "floor")
    # Coordinates are computed in float64 where an index is rounded from them (in float32, "asymmetric"
    # row 265 of 318 from 342 lands at 284.99997, not 285, and floors to the wrong row) and in float32 where
    # they only weigh a blend, which is continuous in them.
    cdt = "float64" if method == "nearest_neighbor" or str(data.dtype) == "float64" else "float32"
    outside = te.const(extrapolation_value, dt)

    def clamp(v: PrimExpr, n: int) -> PrimExpr:
        return te.max(te.min(v, n - 1), 0)

    def body(*i: Any) -> PrimExpr:
        coords = [_source(i[a], n, o, mode, r, cdt) for a, n, o, r in zip(axes, ins, outs, rois)]

        def at(idx: Sequence[PrimExpr]) -> PrimExpr:
            where = dict(zip(axes, idx))
            return data(*[where.get(k, v) for k, v in enumerate(i)]).astype(cdt)

        if method == "nearest_neighbor":
            value = at([_nearest(c, rounding, n) for c, n in zip(coords, ins)]).astype(dt)
        else:
            # Per axis: the neighbours (clamped indices) and their weights; the value is the
            # tensor product of the axes' blends.
            taps = []
            for c, n in zip(coords, ins):
                base = te.floor(c)
                frac = c - base
                b = base.astype("int32")
                if method == "linear":
                    taps.append([(clamp(b, n), 1 - frac), (clamp(b + 1, n), frac)])
                    continue
                ws = _cubic_weights(frac, bicubic_alpha, cdt)
                js = [b + d for d in (-1, 0, 1, 2)]
                if bicubic_exclude:
                    ws = [te.if_then_else(te.all(j >= 0, j < n), w, te.const(0.0, cdt)) for j, w in zip(js, ws)]
                    total = ws[0] + ws[1] + ws[2] + ws[3]
                    ws = [w / total for w in ws]
                taps.append([(clamp(j, n), w) for j, w in zip(js, ws)])

            def blend(k: int, idx: list[PrimExpr]) -> PrimExpr:
                if k == ndim:
                    return at(idx)
                terms = [blend(k + 1, idx + [j]) * w for j, w in taps[k]]
                out = terms[0]
                for t in terms[1:]:
                    out = out + t
                return out
            value = blend(0, [])
            value = te.round(value).astype(dt) if te.as_dtype(dt).is_int else value.astype(dt)
        if mode != "tf_crop_and_resize":
            return value
        inside = te.all(*[te.all(c >= 0, c <= n - 1) for c, n in zip(coords, ins)])
        return te.if_then_else(inside, value, outside)
    return te.compute(shape, body, name="resize", tag=tag.INJECTIVE)


def resize1d(data: Tensor, roi: Sequence[Any] | None, size: Sequence[Any], layout: str = "NCW",
             method: str = "linear", coordinate_transformation_mode: str = "half_pixel", rounding_method: str = "",
             bicubic_alpha: float = -0.5, bicubic_exclude: int = 0, extrapolation_value: float = 0.0,
             out_dtype: str | None = None, output_shape: Sequence[Any] | None = None) -> Tensor:
    """``data`` (NCW or NWC) resized to ``size = (out_w,)``; ``roi = (start_w, end_w)``."""
    return _resize("resize1d", 1, data, roi, size, layout, method, coordinate_transformation_mode, rounding_method,
                   bicubic_alpha, bicubic_exclude, extrapolation_value, out_dtype, output_shape)


def resize2d(data: Tensor, roi: Sequence[Any] | None, size: Sequence[Any], layout: str = "NCHW",
             method: str = "linear", coordinate_transformation_mode: str = "half_pixel", rounding_method: str = "",
             bicubic_alpha: float = -0.5, bicubic_exclude: int = 0, extrapolation_value: float = 0.0,
             out_dtype: str | None = None, output_shape: Sequence[Any] | None = None) -> Tensor:
    """``data`` (NCHW, NHWC, or TVM's packed NCHW[x]c and NCHW[x]n[y]c) resized to ``size = (out_h, out_w)``
    by "nearest_neighbor", "linear"
    (bilinear) or "cubic" (bicubic); see the module docstring for the coordinate modes.
    ``roi = (start_h, start_w, end_h, end_w)`` (fractions of the image) is read only by
    "tf_crop_and_resize".  Integer outputs of "linear" and "cubic" are rounded."""
    return _resize("resize2d", 2, data, roi, size, layout, method, coordinate_transformation_mode, rounding_method,
                   bicubic_alpha, bicubic_exclude, extrapolation_value, out_dtype, output_shape)


def resize3d(data: Tensor, roi: Sequence[Any] | None, size: Sequence[Any], layout: str = "NCDHW",
             method: str = "nearest_neighbor", coordinate_transformation_mode: str = "align_corners",
             rounding_method: str = "", bicubic_alpha: float = -0.5, bicubic_exclude: int = 0,
             extrapolation_value: float = 0.0, out_dtype: str | None = None,
             output_shape: Sequence[Any] | None = None) -> Tensor:
    """``data`` (NCDHW or NDHWC) resized to ``size = (out_d, out_h, out_w)``; ``roi`` = (start_d, start_h,
    start_w, end_d, end_h, end_w).  TVM's defaults: nearest neighbour, align_corners."""
    return _resize("resize3d", 3, data, roi, size, layout, method, coordinate_transformation_mode, rounding_method,
                   bicubic_alpha, bicubic_exclude, extrapolation_value, out_dtype, output_shape)


__all__ = ["resize1d", "resize2d", "resize3d"]
