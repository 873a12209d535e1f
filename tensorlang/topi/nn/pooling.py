"""Max and average pooling over windows (pool2d), over whole planes (global_pool) and over windows
that split the planes into a given output size (adaptive_pool)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from .. import tag
from ..utils import get_const_int, get_const_tuple
from .pad import pad


def _hw_axes(layout: str, what: str) -> tuple[int, int]:
    if "H" not in layout or "W" not in layout or len(layout) < 4:
        raise ExprError(f"{what}: layout '{layout}' has no H and W")
    return layout.index("H"), layout.index("W")


def pool2d(data: Tensor, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
           padding: Sequence[int], pool_type: str, ceil_mode: bool = False, layout: str = "NCHW",
           count_include_pad: bool = True) -> Tensor:
    """Max or average over (kh, kw) windows; ``padding`` is (top, left, bottom, right)."""
    if pool_type not in ("max", "avg"):
        raise ExprError(f"pool2d: pool_type '{pool_type}' is not 'max' or 'avg'")
    ha, wa = _hw_axes(layout, "pool2d")
    kh, kw = (int(v) for v in kernel)
    sh, sw = (int(v) for v in stride)
    dh, dw = (int(v) for v in dilation)
    if min(kh, kw, sh, sw, dh, dw) < 1:
        raise ExprError(f"pool2d: kernel {tuple(kernel)}, stride {tuple(stride)} and dilation {tuple(dilation)} "
                        "must be positive")
    if len(padding) == 2:
        padding = (padding[0], padding[1], padding[0], padding[1])
    pt, pl, pb, pr = (int(v) for v in padding)
    shape = get_const_tuple(data.shape)
    h, w = shape[ha], shape[wa]
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if ceil_mode:
        pb += sh - 1
        pr += sw - 1
    oh = (h - ekh + pt + pb) // sh + 1
    ow = (w - ekw + pl + pr) // sw + 1
    for what, size, ext, total in (("height", h, ekh, oh), ("width", w, ekw, ow)):
        if isinstance(total, int) and total < 1:
            raise ExprError(f"pool2d: the {what} {size} with its padding is smaller than the window ({ext} with "
                            f"dilation), so there is no output")
    before = [0] * len(shape)
    after = [0] * len(shape)
    before[ha], before[wa], after[ha], after[wa] = pt, pl, pb, pr
    pad_value = te.min_value(data.dtype) if pool_type == "max" else 0.0
    needs_pad = any(before) or any(after)
    padded = pad(data, before, after, pad_value=pad_value, name="pad_temp") if needs_pad else data
    out_shape = list(data.shape)
    out_shape[ha], out_shape[wa] = oh, ow
    ry = te.reduce_axis((0, kh), name="rv0")
    rx = te.reduce_axis((0, kw), name="rv1")

    def window(i: Sequence[Any]) -> list[Any]:
        idx = list(i)
        idx[ha] = i[ha] * sh + ry * dh
        idx[wa] = i[wa] * sw + rx * dw
        return idx

    if pool_type == "max":
        return te.compute(out_shape, lambda *i: te.max(padded(*window(i)), axis=[ry, rx]),
                          name="pool_max", tag="pool_max")
    total = te.compute(out_shape, lambda *i: te.sum(padded(*window(i)), axis=[ry, rx]), name="pool_sum")
    if count_include_pad:
        return te.compute(out_shape, lambda *i: total(*i) / te.const(kh * kw, data.dtype),
                          name="pool_avg", tag=tag.ELEMWISE + ",pool_avg")

    cy = te.reduce_axis((0, kh), name="rv2")
    cx = te.reduce_axis((0, kw), name="rv3")

    def inside(i: Sequence[Any]) -> Any:
        # window cells that fall inside the unpadded input
        y = i[ha] * sh + cy * dh - pt
        x = i[wa] * sw + cx * dw - pl
        return te.all(y >= 0, y < h, x >= 0, x < w).astype("int32")
    count = te.compute(out_shape, lambda *i: te.sum(inside(i), axis=[cy, cx]), name="pool_count")
    return te.compute(out_shape, lambda *i: total(*i) / te.max(count(*i), 1).astype(data.dtype), name="pool_avg",
                      tag=tag.ELEMWISE + ",pool_avg")


def global_pool(data: Tensor, pool_type: str, layout: str = "NCHW") -> Tensor:
    """Max or average over each whole H x W plane; H and W become 1."""
    if pool_type not in ("max", "avg"):
        raise ExprError(f"global_pool: pool_type '{pool_type}' is not 'max' or 'avg'")
    ha, wa = _hw_axes(layout, "global_pool")
    h, w = data.shape[ha], data.shape[wa]
    ry = te.reduce_axis((0, h), name="rv0")
    rx = te.reduce_axis((0, w), name="rv1")
    out_shape = list(data.shape)
    out_shape[ha] = out_shape[wa] = 1

    def src(i: Sequence[Any]) -> list[Any]:
        idx = list(i)
        idx[ha], idx[wa] = ry, rx
        return idx
    if pool_type == "max":
        return te.compute(out_shape, lambda *i: te.max(data(*src(i)), axis=[ry, rx]), name="adaptive_pool_max",
                          tag="adaptive_pool_max")
    total = te.compute(out_shape, lambda *i: te.sum(data(*src(i)), axis=[ry, rx]), name="adaptive_pool_sum",
                       tag="adaptive_pool_sum")
    size = get_const_int(h) * get_const_int(w)
    return te.compute(out_shape, lambda *i: total(*i) / te.const(size, data.dtype), name="adaptive_pool_avg",
                      tag=tag.ELEMWISE)


def adaptive_pool(data: Tensor, output_size: Any, pool_type: str, layout: str = "NCHW") -> Tensor:
    """Max or average over windows [floor(i * H / oh), ceil((i + 1) * H / oh)) giving ``output_size`` (oh, ow)."""
    what = "adaptive_pool"
    if pool_type not in ("max", "avg"):
        raise ExprError(f"{what}: pool_type '{pool_type}' is not 'max' or 'avg'")
    ha, wa = _hw_axes(layout, what)
    if len(data.shape) != len(layout):
        raise ExprError(f"{what}: layout '{layout}' has {len(layout)} axes but {data.name} has {len(data.shape)}")
    size = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size, output_size]
    if len(size) != 2:
        raise ExprError(f"{what}: output_size must be one or two sizes, got {output_size!r}")
    h, w = get_const_int(data.shape[ha]), get_const_int(data.shape[wa])
    oh, ow = (d if o is None else get_const_int(o) for o, d in zip(size, (h, w)))
    if oh < 1 or ow < 1:
        raise ExprError(f"{what}: output_size {output_size!r} must be positive")

    def bounds(n: int, o: int) -> tuple[Any, Any, int]:
        """start(i), extent(i) of window i, and the largest extent."""
        widest = max(((i + 1) * n + o - 1) // o - (i * n) // o for i in range(o))
        return (lambda i: (i * n) // o), (lambda i: ((i + 1) * n + o - 1) // o - (i * n) // o), widest

    start_h, extent_h, kh = bounds(h, oh)
    start_w, extent_w, kw = bounds(w, ow)
    ragged = kh * oh != h or kw * ow != w  # windows of different sizes: the short ones are masked
    ry = te.reduce_axis((0, kh), name="rv0")
    rx = te.reduce_axis((0, kw), name="rv1")
    out_shape = list(data.shape)
    out_shape[ha], out_shape[wa] = oh, ow

    def window(i: Sequence[Any]) -> tuple[Any, Any]:
        idx = list(i)
        idx[ha] = te.min(start_h(i[ha]) + ry, h - 1) if ragged else start_h(i[ha]) + ry
        idx[wa] = te.min(start_w(i[wa]) + rx, w - 1) if ragged else start_w(i[wa]) + rx
        inside = te.all(ry < extent_h(i[ha]), rx < extent_w(i[wa])) if ragged else None
        return data(*idx), inside

    def pooled(reducer: Any) -> Any:
        def body(*i: Any) -> Any:
            value, inside = window(i)
            return reducer(value, axis=[ry, rx], where=inside)
        return body

    if pool_type == "max":
        return te.compute(out_shape, pooled(te.max), name="adaptive_pool_max", tag="adaptive_pool_max")
    total = te.compute(out_shape, pooled(te.sum), name="adaptive_pool_sum", tag="adaptive_pool_sum")
    return te.compute(out_shape, lambda *i: total(*i) / (extent_h(i[ha]) * extent_w(i[wa])).astype(data.dtype),
                      name="adaptive_pool_avg", tag=tag.ELEMWISE)
