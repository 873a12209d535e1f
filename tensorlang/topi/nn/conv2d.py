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


class _Window:
    """Strides, dilations, padding and output size of a 2-D convolution window."""

    def __init__(self, what: str, h: Any, w: Any, kh: Any, kw: Any, stride: Any, padding: Any, dilation: Any):
        self.sh, self.sw = (get_const_int(v) for v in pair(stride, f"{what} stride"))
        self.dh, self.dw = (get_const_int(v) for v in pair(dilation, f"{what} dilation"))
        kh, kw = get_const_int(kh), get_const_int(kw)
        self.pt, self.pl, self.pb, self.pr = get_pad_tuple(padding, ((kh - 1) * self.dh + 1, (kw - 1) * self.dw + 1))
        self.oh = _out_size(get_const_int(h), kh, self.dh, self.pt, self.pb, self.sh)
        self.ow = _out_size(get_const_int(w), kw, self.dw, self.pl, self.pr, self.sw)


def _check_channels(what: str, data: Tensor, c: Any, kernel: Tensor, fc: Any) -> None:
    _check(get_const_int(fc) == get_const_int(c), f"{what}: {data.name} has {get_const_int(c)} channels but "
           f"{kernel.name} expects {get_const_int(fc)}")


def conv2d_nchw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (N, C, H, W), Filter (K, C, KH, KW) -> (N, K, OH, OW)."""
    out_dtype = out_dtype or str(Input.dtype)
    n, c, h, w = Input.shape
    k, fc, kh, kw = Filter.shape
    _check_channels("conv2d_nchw", Input, c, Filter, fc)
    g = _Window("conv2d", h, w, kh, kw, stride, padding, dilation)
    padded = pad(Input, [0, 0, g.pt, g.pl], [0, 0, g.pb, g.pr], name="pad_temp")
    rc = te.reduce_axis((0, c), name="rc")
    ry = te.reduce_axis((0, kh), name="ry")
    rx = te.reduce_axis((0, kw), name="rx")
    return te.compute(
        (n, k, g.oh, g.ow),
        lambda nn, ff, yy, xx: te.sum(
            padded[nn, rc, yy * g.sh + ry * g.dh, xx * g.sw + rx * g.dw].astype(out_dtype)
            * Filter[ff, rc, ry, rx].astype(out_dtype), axis=[rc, ry, rx]),
        name="compute", tag="conv2d_nchw")


def conv2d_nhwc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (N, H, W, C), Filter (KH, KW, C, K) -> (N, OH, OW, K)."""
    out_dtype = out_dtype or str(Input.dtype)
    n, h, w, c = Input.shape
    kh, kw, fc, k = Filter.shape
    _check_channels("conv2d_nhwc", Input, c, Filter, fc)
    g = _Window("conv2d", h, w, kh, kw, stride, padding, dilation)
    padded = pad(Input, [0, g.pt, g.pl, 0], [0, g.pb, g.pr, 0], name="PaddedInput")
    rc = te.reduce_axis((0, c), name="rc")
    ry = te.reduce_axis((0, kh), name="ry")
    rx = te.reduce_axis((0, kw), name="rx")
    return te.compute(
        (n, g.oh, g.ow, k),
        lambda nn, yy, xx, ff: te.sum(
            padded[nn, yy * g.sh + ry * g.dh, xx * g.sw + rx * g.dw, rc].astype(out_dtype)
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
    n, c, h, w = get_const_tuple(Input.shape)
    fc, mult, kh, kw = get_const_tuple(Filter.shape)
    _check_channels("depthwise_conv2d_nchw", Input, c, Filter, fc)
    g = _Window("depthwise_conv2d", h, w, kh, kw, stride, padding, dilation)
    padded = pad(Input, [0, 0, g.pt, g.pl], [0, 0, g.pb, g.pr], name="PaddedInput")
    di = te.reduce_axis((0, kh), name="di")
    dj = te.reduce_axis((0, kw), name="dj")
    return te.compute(
        (n, c * mult, g.oh, g.ow),
        lambda b, ch, i, j: te.sum(
            padded[b, ch // mult, i * g.sh + di * g.dh, j * g.sw + dj * g.dw].astype(out_dtype)
            * Filter[ch // mult, ch % mult, di, dj].astype(out_dtype), axis=[di, dj]),
        name="DepthwiseConv2d", tag="depthwise_conv2d_nchw")
