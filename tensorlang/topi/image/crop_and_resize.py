"""``crop_and_resize``: boxes cut from a batch of images, each resized to one crop size (TensorFlow's
``tf.image.crop_and_resize``, as TVM's ``topi.image.crop_and_resize``).

Box ``b`` = (y1, x1, y2, x2) in fractions of the image (y2 < y1 flips the crop) is taken from image
``box_indices[b]``; crop row ``y`` of ``crop_h`` samples the image at

    in_y = y1 * (H - 1) + y * (y2 - y1) * (H - 1) / (crop_h - 1)      (0.5 * (y1 + y2) * (H - 1) for crop_h = 1)

and likewise for columns.  A sample outside [0, H - 1] x [0, W - 1] gives ``extrapolation_value``; inside,
"bilinear" blends the four neighbours and "nearest_neighbor" takes the nearest one (a tie rounds up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import get_const_float, get_const_int, out_dtype_of, static_dim

_WHAT = "crop_and_resize"


def _source(pos: PrimExpr, start: PrimExpr, end: PrimExpr, size: int, crop: int) -> PrimExpr:
    """The image coordinate (float64) of crop position ``pos`` between box edges ``start`` and ``end``.
    Written as a blend of the edges, so the first and last samples land exactly on them (y1 * (H - 1) +
    (crop - 1) * ((y2 - y1) * (H - 1) / (crop - 1)) can overshoot H - 1 by an ulp, which would extrapolate)."""
    if crop == 1:
        return (start + end) * te.const(0.5 * (size - 1), "float64")
    n = te.const(float(crop - 1), "float64")
    p = pos.astype("float64")
    return ((n - p) * start + p * end) * te.const(float(size - 1), "float64") / n


def crop_and_resize(data: Tensor, boxes: Tensor, box_indices: Tensor, crop_size: Sequence[Any],
                    layout: str = "NCHW", method: str = "bilinear", extrapolation_value: float | None = None,
                    out_dtype: str | None = None) -> Tensor:
    """Crops of ``data`` (NCHW or NHWC) at ``boxes`` (num_boxes, 4) = normalized (y1, x1, y2, x2), each
    from image ``box_indices[b]`` (num_boxes,), resized to ``crop_size = (crop_h, crop_w)`` by "bilinear"
    or "nearest_neighbor"; samples outside the image are ``extrapolation_value`` (None: 0).  The result is
    (num_boxes, C, crop_h, crop_w) or (num_boxes, crop_h, crop_w, C); integer outputs of "bilinear" are
    rounded."""
    method = method.lower() if isinstance(method, str) else method
    if method == "linear":
        method = "bilinear"
    if method not in ("bilinear", "nearest_neighbor"):
        raise ExprError(f"{_WHAT}: method {method!r} is not 'bilinear' or 'nearest_neighbor'")
    if layout not in ("NCHW", "NHWC"):
        raise ExprError(f"{_WHAT}: layout {layout!r} is not supported ('NCHW', 'NHWC')")
    for t, arg, ndim in ((data, "data", 4), (boxes, "boxes", 2), (box_indices, "box_indices", 1)):
        if not isinstance(t, Tensor):
            raise ExprError(f"{_WHAT}: {arg} must be a tensor, got {type(t).__name__}")
        if len(t.shape) != ndim:
            raise ExprError(f"{_WHAT}: {arg} must be {ndim}-D, got shape {list(t.shape)}")
    if not boxes.dtype.is_float:
        raise DTypeError(f"{_WHAT}: boxes must be float (normalized coordinates), got {boxes.dtype}")
    if not box_indices.dtype.is_int:
        raise DTypeError(f"{_WHAT}: box_indices must be an integer tensor, got {box_indices.dtype}")
    try:
        height, width = (get_const_int(data.shape[layout.index(a)]) for a in "HW")
    except ExprError:
        raise ExprError(f"{_WHAT}: data's height and width must be constant, got shape {list(data.shape)}") from None
    if static_dim(boxes.shape[1]) != 4:
        raise ExprError(f"{_WHAT}: boxes must be (num_boxes, 4) = (y1, x1, y2, x2), got shape {list(boxes.shape)}")
    nb, ni = static_dim(boxes.shape[0]), static_dim(box_indices.shape[0])
    if nb is not None and ni is not None and nb != ni:
        raise ExprError(f"{_WHAT}: boxes has {nb} boxes but box_indices has {ni} entries")
    try:
        crop = [get_const_int(v) for v in crop_size]
    except (TypeError, ExprError):
        raise ExprError(f"{_WHAT}: crop_size must be two positive integers (crop_h, crop_w), "
                        f"got {crop_size!r}") from None
    if len(crop) != 2 or min(crop) < 1:
        raise ExprError(f"{_WHAT}: crop_size must be two positive integers (crop_h, crop_w), got {crop_size!r}")
    dt = out_dtype_of(out_dtype, data, _WHAT)
    try:
        outside = te.const(get_const_float(0.0 if extrapolation_value is None else extrapolation_value), dt)
    except (TypeError, ExprError):
        raise ExprError(f"{_WHAT}: extrapolation_value must be a constant number, "
                        f"got {extrapolation_value!r}") from None
    # Coordinates in float64: they decide which pixel is nearest and whether a sample is outside the
    # image, both discontinuous in them.  Blends are continuous, so float32 data blends in float32.
    bdt = "float64" if str(data.dtype) == "float64" or dt == "float64" else "float32"
    to_int = te.as_dtype(dt).is_int
    crop_h, crop_w = crop
    num = box_indices.shape[0]
    shape = [num, data.shape[1], crop_h, crop_w] if layout == "NCHW" else [num, crop_h, crop_w, data.shape[3]]

    def body(b: Any, i1: Any, i2: Any, i3: Any) -> PrimExpr:
        c, y, x = (i1, i2, i3) if layout == "NCHW" else (i3, i1, i2)
        img = box_indices[b]
        edge = [boxes[b, k].astype("float64") for k in range(4)]
        in_y = _source(y, edge[0], edge[2], height, crop_h)
        in_x = _source(x, edge[1], edge[3], width, crop_w)

        def at(yy: PrimExpr, xx: PrimExpr) -> PrimExpr:
            # clamped: a sample outside the image still computes (and discards) its neighbours
            yy = te.max(te.min(yy, height - 1), 0)
            xx = te.max(te.min(xx, width - 1), 0)
            return data[img, c, yy, xx] if layout == "NCHW" else data[img, yy, xx, c]

        # Indices come from the coordinates held to [-1, H] x [-1, W], which changes no sample inside
        # the image and keeps a far-off box from overflowing int32.
        cy = te.max(te.min(in_y, te.const(float(height), "float64")), te.const(-1.0, "float64"))
        cx = te.max(te.min(in_x, te.const(float(width), "float64")), te.const(-1.0, "float64"))
        if method == "nearest_neighbor":
            # TensorFlow's roundf: a tie rounds away from zero, up for the (non-negative) inside coordinates
            value = at(te.floor(cy + 0.5).astype("int32"), te.floor(cx + 0.5).astype("int32")).astype(dt)
        else:
            fy, fx = te.floor(cy), te.floor(cx)
            wy, wx = (cy - fy).astype(bdt), (cx - fx).astype(bdt)
            y0, x0 = fy.astype("int32"), fx.astype("int32")
            top = at(y0, x0).astype(bdt) * (1 - wx) + at(y0, x0 + 1).astype(bdt) * wx
            bottom = at(y0 + 1, x0).astype(bdt) * (1 - wx) + at(y0 + 1, x0 + 1).astype(bdt) * wx
            blend = top * (1 - wy) + bottom * wy
            value = te.round(blend).astype(dt) if to_int else blend.astype(dt)
        inside = te.all(in_y >= 0, in_y <= height - 1, in_x >= 0, in_x <= width - 1)
        return te.if_then_else(inside, value, outside)

    return te.compute(shape, body, name="crop_and_resize", tag=tag.INJECTIVE)


__all__ = ["crop_and_resize"]
