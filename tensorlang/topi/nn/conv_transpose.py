"""Transposed 2-D convolution (deconvolution) in NCHW: the input dilated by the strides, padded, and
convolved with the filter turned by 180 degrees."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from ..utils import get_const_int, get_const_tuple, get_pad_tuple, pair
from .pad import dilate, pad


def conv2d_transpose_nchw(Input: Tensor, Filter: Tensor, strides: Any, padding: Any,  # noqa: N803
                          out_dtype: str | None, output_padding: Any) -> Tensor:
    """Input (N, C, H, W), Filter (C, K, KH, KW) -> (N, K, (H-1)*sh - pads + KH + oph, ...)."""
    what = "conv2d_transpose_nchw"
    if len(Input.shape) != 4 or len(Filter.shape) != 4:
        raise ExprError(f"{what}: Input and Filter must be 4-D, got {len(Input.shape)}-D and {len(Filter.shape)}-D")
    out_dtype = out_dtype or str(Input.dtype)
    batch, channels, h, w = Input.shape
    fc, filters, kh, kw = get_const_tuple(Filter.shape)
    if get_const_int(channels) != fc:
        raise ExprError(f"{what}: {Input.name} has {get_const_int(channels)} channels but {Filter.name} expects {fc}")
    sh, sw = (get_const_int(v) for v in pair(strides, f"{what} strides"))
    oph, opw = (get_const_int(v) for v in pair(output_padding, f"{what} output_padding"))
    if sh < 1 or sw < 1:
        raise ExprError(f"{what}: strides must be positive, got {strides!r}")
    if not (0 <= oph < sh and 0 <= opw < sw):
        raise ExprError(f"{what}: output_padding {output_padding!r} must be non-negative and less than the "
                        f"strides {strides!r}")
    top, left, bottom, right = get_pad_tuple(padding, (kh, kw))
    if max(top, bottom) > kh - 1 or max(left, right) > kw - 1:
        raise ExprError(f"{what}: padding {padding!r} is larger than the kernel ({kh}x{kw}) less one")
    dilated = dilate(Input, [1, 1, sh, sw], name="data_dilate")
    padded = pad(dilated, [0, 0, kh - 1 - top, kw - 1 - left], [0, 0, kh - 1 - bottom + oph, kw - 1 - right + opw],
                 name="data_pad")
    flipped = te.compute((filters, fc, kh, kw), lambda o, i, y, x: Filter[i, o, kh - 1 - y, kw - 1 - x],
                         name="kernel_transform")
    out_h = (get_const_int(h) - 1) * sh - top - bottom + kh + oph
    out_w = (get_const_int(w) - 1) * sw - left - right + kw + opw
    if out_h < 1 or out_w < 1:
        raise ExprError(f"{what}: padding {padding!r} leaves an empty output ({out_h}x{out_w})")
    dc = te.reduce_axis((0, fc), name="dc")
    dh = te.reduce_axis((0, kh), name="dh")
    dw = te.reduce_axis((0, kw), name="dw")
    return te.compute(
        (batch, filters, out_h, out_w),
        lambda b, c, y, x: te.sum(padded[b, dc, y + dh, x + dw].astype(out_dtype)
                                  * flipped[c, dc, dh, dw].astype(out_dtype), axis=[dc, dh, dw]),
        tag="conv2d_transpose_nchw")
