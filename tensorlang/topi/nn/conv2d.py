"""2-D convolutions in NCHW and NHWC layouts, and depthwise NCHW, with stride, padding and dilation."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from ..utils import get_const_int, get_const_tuple, get_pad_tuple, pair
from .pad import pad


def _out_size(size: int, k: int, dil: int, before: int, after: int, stride: int) -> int:
    return (size + before + after - ((k - 1) * dil + 1)) // stride + 1


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ExprError(msg)


def conv2d_nchw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (N, C, H, W), Filter (K, C, KH, KW) -> (N, K, OH, OW)."""
    out_dtype = out_dtype or str(Input.dtype)
    sh, sw = (get_const_int(v) for v in pair(stride, "conv2d stride"))
    dh, dw = (get_const_int(v) for v in pair(dilation, "conv2d dilation"))
    n, c, h, w = Input.shape
    k, fc, kh, kw = Filter.shape
    _check(get_const_int(fc) == get_const_int(c), f"conv2d_nchw: {Input.name} has {get_const_int(c)} channels but "
           f"{Filter.name} expects {get_const_int(fc)}")
    kh_, kw_ = get_const_int(kh), get_const_int(kw)
    pt, pl, pb, pr = get_pad_tuple(padding, ((kh_ - 1) * dh + 1, (kw_ - 1) * dw + 1))
    oh = _out_size(get_const_int(h), kh_, dh, pt, pb, sh)
    ow = _out_size(get_const_int(w), kw_, dw, pl, pr, sw)
    padded = pad(Input, [0, 0, pt, pl], [0, 0, pb, pr], name="pad_temp")
    rc = te.reduce_axis((0, c), name="rc")
    ry = te.reduce_axis((0, kh), name="ry")
    rx = te.reduce_axis((0, kw), name="rx")
    return te.compute(
        (n, k, oh, ow),
        lambda nn, ff, yy, xx: te.sum(
            padded[nn, rc, yy * sh + ry * dh, xx * sw + rx * dw].astype(out_dtype)
            * Filter[ff, rc, ry, rx].astype(out_dtype), axis=[rc, ry, rx]),
        name="compute", tag="conv2d_nchw")


def conv2d_nhwc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (N, H, W, C), Filter (KH, KW, C, K) -> (N, OH, OW, K)."""
    out_dtype = out_dtype or str(Input.dtype)
    sh, sw = (get_const_int(v) for v in pair(stride, "conv2d stride"))
    dh, dw = (get_const_int(v) for v in pair(dilation, "conv2d dilation"))
    n, h, w, c = Input.shape
    kh, kw, fc, k = Filter.shape
    _check(get_const_int(fc) == get_const_int(c), f"conv2d_nhwc: {Input.name} has {get_const_int(c)} channels but "
           f"{Filter.name} expects {get_const_int(fc)}")
    kh_, kw_ = get_const_int(kh), get_const_int(kw)
    pt, pl, pb, pr = get_pad_tuple(padding, ((kh_ - 1) * dh + 1, (kw_ - 1) * dw + 1))
    oh = _out_size(get_const_int(h), kh_, dh, pt, pb, sh)
    ow = _out_size(get_const_int(w), kw_, dw, pl, pr, sw)
    padded = pad(Input, [0, pt, pl, 0], [0, pb, pr, 0], name="PaddedInput")
    rc = te.reduce_axis((0, c), name="rc")
    ry = te.reduce_axis((0, kh), name="ry")
    rx = te.reduce_axis((0, kw), name="rx")
    return te.compute(
        (n, oh, ow, k),
        lambda nn, yy, xx, ff: te.sum(
            padded[nn, yy * sh + ry * dh, xx * sw + rx * dw, rc].astype(out_dtype)
            * Filter[ry, rx, rc, ff].astype(out_dtype), axis=[ry, rx, rc]),
        name="Conv2dOutput", tag="conv2d_nhwc")


def conv2d(input: Tensor, filter: Tensor, strides: Any, padding: Any, dilation: Any = 1,  # noqa: A002
           layout: str = "NCHW", out_dtype: str | None = None) -> Tensor:
    """conv2d in ``layout`` NCHW or NHWC."""
    if layout == "NCHW":
        return conv2d_nchw(input, filter, strides, padding, dilation, out_dtype)
    if layout == "NHWC":
        return conv2d_nhwc(input, filter, strides, padding, dilation, out_dtype)
    raise ExprError(f"conv2d: layout '{layout}' is not supported (NCHW, NHWC)")


def depthwise_conv2d_nchw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                          out_dtype: str | None = None) -> Tensor:
    """Input (N, C, H, W), Filter (C, M, KH, KW) -> (N, C*M, OH, OW): each channel with its own filters."""
    out_dtype = out_dtype or str(Input.dtype)
    sh, sw = (get_const_int(v) for v in pair(stride, "depthwise_conv2d stride"))
    dh, dw = (get_const_int(v) for v in pair(dilation, "depthwise_conv2d dilation"))
    n, c, h, w = get_const_tuple(Input.shape)
    fc, mult, kh, kw = get_const_tuple(Filter.shape)
    _check(fc == c, f"depthwise_conv2d_nchw: {Input.name} has {c} channels but {Filter.name} has {fc}")
    pt, pl, pb, pr = get_pad_tuple(padding, ((kh - 1) * dh + 1, (kw - 1) * dw + 1))
    oh = _out_size(h, kh, dh, pt, pb, sh)
    ow = _out_size(w, kw, dw, pl, pr, sw)
    padded = pad(Input, [0, 0, pt, pl], [0, 0, pb, pr], name="PaddedInput")
    di = te.reduce_axis((0, kh), name="di")
    dj = te.reduce_axis((0, kw), name="dj")
    return te.compute(
        (n, c * mult, oh, ow),
        lambda b, ch, i, j: te.sum(
            padded[b, ch // mult, i * sh + di * dh, j * sw + dj * dw].astype(out_dtype)
            * Filter[ch // mult, ch % mult, di, dj].astype(out_dtype), axis=[di, dj]),
        name="DepthwiseConv2d", tag="depthwise_conv2d_nchw")
