"""Upsampling of the H and W planes of a 4-D tensor by nearest neighbour, bilinear or bicubic interpolation
(``upsampling``; the last two a resize2d to the scaled size), and of the D, H and W volumes of a 5-D tensor
by nearest neighbour or trilinear interpolation (``upsampling3d``, a resize3d to the scaled size)."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..image import resize2d, resize3d
from ..utils import get_const_float, get_const_int, nchw_pack_layout, nchw_xc_layout


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
    """``data`` (NCHW, NHWC, or TVM's packed NCHW[x]c and NCHW[x]n[y]c) resized to round(H * scale_h) x
    round(W * scale_w) (or to the H, W of
    ``output_shape``) by "nearest_neighbor", "bilinear" or "bicubic" interpolation, with TVM's coordinate
    mapping: "align_corners" when ``align_corners`` is set, else "asymmetric" (out[y] reads in[y / scale])."""
    what = "upsampling"
    if not isinstance(method, str) or not isinstance(layout, str):
        raise ExprError(f"{what}: method and layout must be strings, got {method!r} and {layout!r}")
    # As TVM: a "bi" prefix is dropped and the rest names resize2d's method (bilinear -> linear).
    base = method[2:] if method.startswith("bi") else method
    if base not in ("nearest_neighbor", "linear", "cubic"):
        raise ExprError(f"{what}: unknown method '{method}' (TVM's are nearest_neighbor, bilinear, bicubic)")
    # TVM's packed layouts NCHW[x]c (5-D) and NCHW[x]n[y]c (6-D) keep H and W at axes 2 and 3
    rank = 4 if layout in ("NCHW", "NHWC") else 5 if nchw_xc_layout(layout) else 6 if nchw_pack_layout(layout) \
        else None
    if rank is None:
        raise ExprError(f"{what}: layout '{layout}' is not supported (NCHW, NHWC, NCHW[x]c, NCHW[x]n[y]c)")
    if not isinstance(data, Tensor) or len(data.shape) != rank:
        raise ExprError(f"{what}: data must be {rank}-D ({layout}), got {len(getattr(data, 'shape', ()))}-D")
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
    if base != "nearest_neighbor":
        mode = "align_corners" if align_corners else "asymmetric"
        return resize2d(data, [0.0] * 4, (oh, ow), layout=layout, method=base, coordinate_transformation_mode=mode)
    shape = list(data.shape)
    shape[ha], shape[wa] = oh, ow

    def body(*i: Any) -> PrimExpr:
        idx = list(i)
        idx[ha] = _nearest(i[ha], h, oh, align_corners)
        idx[wa] = _nearest(i[wa], w, ow, align_corners)
        return data(*idx)
    return te.compute(shape, body, name="resize", tag=tag.INJECTIVE)


def upsampling3d(data: Tensor, scale_d: float, scale_h: float, scale_w: float, layout: str = "NCDHW",
                 method: str = "nearest_neighbor", coordinate_transformation_mode: str = "half_pixel",
                 output_shape: Any = None) -> Tensor:
    """``data`` (NCDHW or NDHWC) resized by ``topi.image.resize3d`` to round(D * scale_d) x round(H * scale_h) x
    round(W * scale_w), or to the D, H, W of ``output_shape`` when given; ``method`` is "nearest_neighbor" or
    "trilinear" ("tricubic" also passes through, as in TVM).  TVM's tests pair nearest neighbour with the
    "asymmetric" mode: out[z] = in[floor(z * D / OD)]."""
    what = "upsampling3d"
    if not isinstance(method, str) or not isinstance(layout, str):
        raise ExprError(f"{what}: method and layout must be strings, got {method!r} and {layout!r}")
    # TVM drops a "tri" prefix and hands the rest to resize3d: trilinear -> linear, tricubic -> cubic.
    base = method[3:] if method.startswith("tri") else method
    if base not in ("nearest_neighbor", "linear", "cubic"):
        raise ExprError(f"{what}: unknown method '{method}' (nearest_neighbor, trilinear)")
    if layout not in ("NCDHW", "NDHWC"):
        raise ExprError(f"{what}: layout '{layout}' is not supported (NCDHW, NDHWC)")
    if not isinstance(data, Tensor) or len(data.shape) != 5:
        raise ExprError(f"{what}: data must be a 5-D tensor ({layout})")
    axes = [layout.index(a) for a in "DHW"]
    if output_shape is not None:
        if not isinstance(output_shape, (list, tuple)) or len(output_shape) != 5:
            raise ExprError(f"{what}: output_shape must have 5 dimensions ({layout}), got {output_shape!r}")
        try:
            size = [get_const_int(output_shape[a]) for a in axes]
        except ExprError:
            raise ExprError(f"{what}: output_shape {output_shape!r} must hold constant integers") from None
    else:
        try:
            scales = [get_const_float(s) for s in (scale_d, scale_h, scale_w)]
            ins = [get_const_int(data.shape[a]) for a in axes]
        except ExprError:
            raise ExprError(f"{what}: the scales ({scale_d!r}, {scale_h!r}, {scale_w!r}) and the depth, height "
                            f"and width of data must be constant") from None
        if min(scales) <= 0:
            raise ExprError(f"{what}: scale_d, scale_h and scale_w must be positive, got {scale_d}, {scale_h} and "
                            f"{scale_w}")
        # Python's round is half to even, as TVM's constant folding of te.round (std::nearbyint).
        size = [round(n * s) for n, s in zip(ins, scales)]
    if min(size) < 1:
        raise ExprError(f"{what}: the output would be empty ({'x'.join(map(str, size))})")
    try:
        return resize3d(data, [0.0] * 6, size, layout=layout, method=base,
                        coordinate_transformation_mode=coordinate_transformation_mode)
    except ExprError as exc:  # e.g. an unknown coordinate_transformation_mode: name the operator called
        raise ExprError(str(exc).replace("resize3d:", f"{what}:", 1)) from None
