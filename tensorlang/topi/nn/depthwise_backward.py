"""Gradients of the NHWC depthwise convolution (TVM's ``topi.nn.depthwise_conv2d_backward_input_nhwc``
and ``depthwise_conv2d_backward_weight_nhwc``).  The forward convolution they invert is
``Out[b, y, x, c * M + m] = sum_ij In_padded[b, y * sh + i, x * sw + j, c] * Filter[i, j, c, m]``
with ``M`` the channel multiplier and the padding of ``get_pad_tuple(padding, (KH, KW))``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from ..utils import check_tensors, get_const_int, get_const_tuple, get_pad_tuple
from .pad import pad


def _ints(values: Sequence[Any], n: int, what: str, arg: str) -> list[int]:
    try:
        out = [get_const_int(v) for v in values]
    except (ExprError, TypeError):
        out = []
    if len(out) != n:
        raise ExprError(f"{what}: {arg} must be {n} constant ints, got {values!r}")
    return out


def _stride(stride: Any, what: str) -> tuple[int, int]:
    sh, sw = _ints(stride if isinstance(stride, (list, tuple)) else (stride, stride), 2, what, "stride")
    if sh < 1 or sw < 1:
        raise ExprError(f"{what}: stride must be positive, got {stride!r}")
    return sh, sw


def depthwise_conv2d_backward_input_nhwc(Filter: Tensor, Out_grad: Tensor, oshape: Sequence[Any],  # noqa: N803
                                         ishape: Sequence[Any], stride: Any, padding: Any) -> Tensor:
    """Filter (KH, KW, C, M), Out_grad ``oshape`` (N, OH, OW, C * M) -> the input's gradient ``ishape``
    (N, H, W, C): each input element sums the output gradients of the windows it fed, weighted by the
    filter taps it met."""
    what = "depthwise_conv2d_backward_input_nhwc"
    check_tensors(what, Filter=Filter, Out_grad=Out_grad)
    batch, in_h, in_w, in_c = _ints(ishape, 4, what, "ishape")
    _, out_h, out_w, out_c = _ints(oshape, 4, what, "oshape")
    if len(Filter.shape) != 4:
        raise ExprError(f"{what}: Filter must be 4-D (KH, KW, C, M), got shape {get_const_tuple(Filter.shape)}")
    kh, kw, fc, mult = get_const_tuple(Filter.shape)
    if fc != in_c or out_c != in_c * mult or tuple(get_const_tuple(Out_grad.shape)) != (batch, out_h, out_w, out_c):
        raise ExprError(f"{what}: shapes do not agree: Filter {get_const_tuple(Filter.shape)}, Out_grad "
                        f"{get_const_tuple(Out_grad.shape)}, oshape {tuple(oshape)}, ishape {tuple(ishape)}")
    sh, sw = _stride(stride, what)
    pt, pl, _, _ = get_pad_tuple(padding, (kh, kw))
    i = te.reduce_axis((0, kh), name="dh")
    j = te.reduce_axis((0, kw), name="dw")
    m = te.reduce_axis((0, mult), name="dc")

    def element(b: Any, h: Any, w: Any, c: Any) -> Any:
        hy, wx = h + pt - i, w + pl - j  # the output row and column (times the stride) this tap came from
        y, x = te.indexdiv(hy, sh), te.indexdiv(wx, sw)
        ok = te.all(hy >= 0, wx >= 0, te.indexmod(hy, sh) == 0, te.indexmod(wx, sw) == 0, y < out_h, x < out_w)
        yc = te.max(te.min(y, out_h - 1), 0)
        xc = te.max(te.min(x, out_w - 1), 0)
        term = Out_grad[b, yc, xc, c * mult + m] * Filter[i, j, c, m]
        return te.sum(te.if_then_else(ok, term, te.const(0, term.dtype)), axis=[i, j, m])

    return te.compute((batch, in_h, in_w, in_c), element, name="In_grad",
                      tag="depthwise_conv2d_backward_input_nhwc")


def depthwise_conv2d_backward_weight_nhwc(Input: Tensor, Out_grad: Tensor, oshape: Sequence[Any],  # noqa: N803
                                          fshape: Sequence[Any], stride: Any, padding: Any) -> Tensor:
    """Input (N, H, W, C), Out_grad ``oshape`` (N, OH, OW, C * M) -> the filter's gradient ``fshape``
    (KH, KW, C, M): each tap sums, over the batch and the output positions, the output gradient times
    the (zero-padded) input element the tap read."""
    what = "depthwise_conv2d_backward_weight_nhwc"
    check_tensors(what, Input=Input, Out_grad=Out_grad)
    batch, out_h, out_w, out_c = _ints(oshape, 4, what, "oshape")
    kh, kw, fc, mult = _ints(fshape, 4, what, "fshape")
    if len(Input.shape) != 4:
        raise ExprError(f"{what}: Input must be 4-D (N, H, W, C), got shape {get_const_tuple(Input.shape)}")
    ib, _, _, in_c = get_const_tuple(Input.shape)
    if ib != batch or fc != in_c or out_c != in_c * mult or \
            tuple(get_const_tuple(Out_grad.shape)) != (batch, out_h, out_w, out_c):
        raise ExprError(f"{what}: shapes do not agree: Input {get_const_tuple(Input.shape)}, Out_grad "
                        f"{get_const_tuple(Out_grad.shape)}, oshape {tuple(oshape)}, fshape {tuple(fshape)}")
    sh, sw = _stride(stride, what)
    pt, pl, pb, pr = get_pad_tuple(padding, (kh, kw))
    padded = pad(Input, [0, pt, pl, 0], [0, pb, pr, 0], name="padded_in")
    db = te.reduce_axis((0, batch), name="db")
    dy = te.reduce_axis((0, out_h), name="dh")
    dx = te.reduce_axis((0, out_w), name="dw")
    return te.compute(
        (kh, kw, in_c, mult),
        lambda fh, fw, c, m: te.sum(Out_grad[db, dy, dx, c * mult + m] * padded[db, fh + dy * sh, fw + dx * sw, c],
                                    axis=[db, dy, dx]),
        name="Weight_grad", tag="depthwise_conv2d_backward_weight_nhwc")


__all__ = ["depthwise_conv2d_backward_input_nhwc", "depthwise_conv2d_backward_weight_nhwc"]
