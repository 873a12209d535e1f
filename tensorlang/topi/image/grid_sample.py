"""``affine_grid`` and ``grid_sample`` (TVM's ``topi.image``, PyTorch's ``F.affine_grid`` /
``F.grid_sample``): a sampling grid from affine matrices, and an image sampled at a grid's points.

A grid holds, per output pixel, normalized source coordinates in [-1, 1] in the order (x, y) for 2-D
data (x, y, z for 3-D): channel 0 is the width coordinate.  ``grid_sample`` maps a coordinate g to a pixel
coordinate by ``align_corners``:

    True    (g + 1) * (size - 1) / 2       (-1 and 1 are the centres of the corner pixels)
    False   (g + 1) * size / 2 - 0.5       (-1 and 1 are the outer edges of the corner pixels)

then, by ``padding_mode``, keeps it ("zeros": pixels outside the image read as 0), clamps it into
[0, size - 1] ("border"), or folds it back into the image like a mirror ("reflection", about the corner
centres or the outer edges as ``align_corners`` says) before clamping.  "nearest" rounds it (ties to even),
"bilinear" blends the 2 (2-D: 4, 3-D: 8) neighbours, and "bicubic" (2-D only) blends 4 x 4 neighbours with
Keys' cubic weights (alpha = -0.75, as PyTorch); for "bicubic" the padding mode applies to each neighbour's
index, not to the coordinate, again as PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from ..utils import get_const_int, static_dim
from .resize import _cubic_weights

_PADDING = ("zeros", "border", "reflection")
_METHODS = {2: ("nearest", "bilinear", "bicubic"), 3: ("nearest", "bilinear")}
_LAYOUTS = {4: "NCHW", 5: "NCDHW"}


def affine_grid(data: Tensor, target_shape: Sequence[Any], align_corners: bool = True) -> Tensor:
    """The 2-D sampling grid (batch, 2, H, W) of ``data``'s affine matrices (batch, 2, 3) over
    ``target_shape = (H, W)``: ``grid[n, :, i, j] = data[n] @ (x_j, y_i, 1)`` with x, y evenly spaced
    over [-1, 1] (the corner pixels' centres; with ``align_corners=False``, a PyTorch option TVM 0.12
    lacks, their outer edges).  Channel 0 is x (width), channel 1 is y."""
    what = "affine_grid"
    if not isinstance(data, Tensor) or len(data.shape) != 3 or [static_dim(d) for d in data.shape[1:]] != [2, 3]:
        shape = list(data.shape) if isinstance(data, Tensor) else type(data).__name__
        raise ExprError(f"{what}: data must be the affine matrices (batch, 2, 3), got {shape}")
    if not data.dtype.is_float:
        raise DTypeError(f"{what}: data must be float, got {data.dtype}")
    try:
        size = [get_const_int(v) for v in target_shape]
    except (TypeError, ExprError):
        size = []
    least = 2 if align_corners else 1
    if len(size) != 2 or min(size) < least:
        raise ExprError(f"{what}: target_shape must be two integers (H, W) of at least {least}, "
                        f"got {target_shape!r}")
    dt = str(data.dtype)

    def coord(i: PrimExpr, n: int) -> PrimExpr:
        # the even spacing as one division of an exact integer, so both ends come out exactly -1 and 1
        if align_corners:
            return (i * 2 - (n - 1)).astype(dt) / te.const(float(n - 1), dt)
        return (i * 2 + 1 - n).astype(dt) / te.const(float(n), dt)

    def body(n: Any, k: Any, i: Any, j: Any) -> PrimExpr:
        return data[n, k, 0] * coord(j, size[1]) + data[n, k, 1] * coord(i, size[0]) + data[n, k, 2]

    return te.compute((data.shape[0], 2, size[0], size[1]), body, name="affine_grid", tag="affine_grid")


def _reflect(x: PrimExpr, size: int, align_corners: bool, dt: str) -> PrimExpr:
    """``x`` folded back into [lo, lo + span] (the corner centres [0, size - 1], or the outer edges
    [-0.5, size - 0.5]) by reflecting it at the ends as often as it takes."""
    lo, span = (0.0, float(size - 1)) if align_corners else (-0.5, float(size))
    if span == 0:
        return te.const(0.0, dt)
    lo_, span_ = te.const(lo, dt), te.const(span, dt)
    d = te.abs(x - lo_)
    extra = te.fmod(d, span_)
    # The reflection count from the multiple of span that fmod took away, so the two always agree
    # (floor(d / span) can round up to the next count where fmod still gives nearly span).
    flips = te.round((d - extra) / span_)
    folded = te.if_then_else(te.fmod(flips, te.const(2.0, dt)) == 0, lo_ + extra, lo_ + span_ - extra)
    return te.if_then_else(te.all(x >= lo_, x <= lo_ + span_), x, folded)


def grid_sample(data: Tensor, grid: Tensor, method: str = "bilinear", layout: str = "NCHW",
                padding_mode: str = "zeros", align_corners: bool = True) -> Tensor:
    """``data`` (NCHW, or NCDHW with ``layout="NCDHW"``) sampled at ``grid`` (batch, 2, OH, OW) =
    normalized (x, y), or (batch, 3, OD, OH, OW) = (x, y, z), giving (batch, C, OH, OW) or (batch, C, OD,
    OH, OW).  ``method``: "nearest", "bilinear", "bicubic" (2-D only); ``padding_mode``: "zeros",
    "border", "reflection"; see the module docstring."""
    what = "grid_sample"
    if layout not in _LAYOUTS.values():
        raise ExprError(f"{what}: layout {layout!r} is not supported ('NCHW', 'NCDHW')")
    ndim = len(layout) - 2
    if method not in _METHODS[ndim]:
        raise ExprError(f"{what}: method {method!r} is not one of {', '.join(map(repr, _METHODS[ndim]))} "
                        f"for {layout}")
    if padding_mode not in _PADDING:
        raise ExprError(f"{what}: padding_mode {padding_mode!r} is not one of {', '.join(map(repr, _PADDING))}")
    for t, arg in ((data, "data"), (grid, "grid")):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
        if len(t.shape) != ndim + 2:
            raise ExprError(f"{what}: {arg} must be {ndim + 2}-D for layout {layout}, got shape {list(t.shape)}")
        if not t.dtype.is_float:
            raise DTypeError(f"{what}: {arg} must be float, got {t.dtype}")
    if static_dim(grid.shape[1]) != ndim:
        raise ExprError(f"{what}: grid must hold {ndim} coordinates per point (batch, {ndim}, ...), "
                        f"got shape {list(grid.shape)}")
    nd, ng = static_dim(data.shape[0]), static_dim(grid.shape[0])
    if nd is not None and ng is not None and nd != ng:
        raise ExprError(f"{what}: data has batch {nd} but grid has batch {ng}")
    try:
        sizes = [get_const_int(d) for d in data.shape[2:]]
    except ExprError:
        raise ExprError(f"{what}: data's spatial dimensions must be constant, got shape {list(data.shape)}") from None
    out_dt = str(data.dtype)
    # Coordinates in float64 where they are rounded to a pixel (nearest), which is discontinuous in
    # them; blends are continuous in them, so float32 does there.
    wide = method == "nearest" or "float64" in (out_dt, str(grid.dtype))
    cdt = "float64" if wide else "float32"
    zero = te.const(0.0, cdt)

    def clip(v: PrimExpr, size: int) -> PrimExpr:
        return te.max(te.min(v, te.const(float(size - 1), cdt)), zero)

    def pad(v: PrimExpr, size: int) -> PrimExpr:
        if padding_mode == "border":
            return clip(v, size)
        if padding_mode == "reflection":
            return clip(_reflect(v, size, align_corners, cdt), size)
        return v

    def body(n: Any, c: Any, *o: Any) -> PrimExpr:
        # taps[d]: the (float index, weight) pairs of spatial axis d (D, H, W order)
        taps: list[list[tuple[PrimExpr, PrimExpr | None]]] = []
        for d, size in enumerate(sizes):
            g = grid[(n, ndim - 1 - d, *o)].astype(cdt)  # grid channel 0 is x, the last axis
            if align_corners:
                x = (g + 1) * te.const((size - 1) / 2, cdt)
            else:
                x = (g + 1) * te.const(size / 2, cdt) - te.const(0.5, cdt)
            if method == "bicubic":
                base = te.floor(x)
                ws = _cubic_weights(x - base, -0.75, cdt)
                taps.append([(pad(base + (k - 1), size), w) for k, w in enumerate(ws)])
                continue
            x = pad(x, size)
            if method == "nearest":
                taps.append([(te.nearbyint(x), None)])
            else:
                base = te.floor(x)
                frac = x - base
                taps.append([(base, 1 - frac), (base + 1, frac)])

        def read(idx: list[PrimExpr]) -> PrimExpr:
            # Outside the image reads 0; the index is clamped in float before the cast, so it stays in
            # the image and a far-off coordinate cannot overflow int32.
            inside = te.all(*[te.all(i >= 0, i <= size - 1) for i, size in zip(idx, sizes)])
            at = [clip(i, size).astype("int32") for i, size in zip(idx, sizes)]
            return te.if_then_else(inside, data[(n, c, *at)].astype(cdt), zero)

        def blend(k: int, idx: list[PrimExpr]) -> PrimExpr:
            if k == ndim:
                return read(idx)
            terms = [blend(k + 1, idx + [i]) if w is None else blend(k + 1, idx + [i]) * w for i, w in taps[k]]
            out = terms[0]
            for t in terms[1:]:
                out = out + t
            return out

        return blend(0, []).astype(out_dt)

    out_shape = (data.shape[0], data.shape[1], *grid.shape[2:])
    return te.compute(out_shape, body, name="grid_sample", tag="grid_sample")


__all__ = ["affine_grid", "grid_sample"]
