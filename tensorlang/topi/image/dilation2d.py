"""``dilation2d_nchw`` / ``dilation2d_nhwc``: grey-scale morphological dilation (TVM's
``topi.image.dilation2d_*``), each channel's own structuring element added to the window and the
maximum taken:

    out[n, c, y, x] = max over (i, j) of  padded[n, c, y * sh + i * dh, x * sw + j * dw] + filter[c, i, j]

As in TVM, the padding is filled with 0 (not -inf), so a padded position takes part in the maximum.
"""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from ..nn.pad import pad
from ..utils import get_const_int, get_pad_tuple, out_dtype_of, pair


def _dilation2d(what: str, layout: str, data: Tensor, kernel: Tensor, stride: Any, padding: Any, dilations: Any,
                out_dtype: str | None, pad_name: str) -> Tensor:
    """The dilation of ``data`` in ``layout`` ("NCHW", "NHWC") by ``kernel`` (CHW or HWC)."""
    klayout = "CHW" if layout == "NCHW" else "HWC"
    for t, arg, ndim, lay in ((data, "input", 4, layout), (kernel, "filter", 3, klayout)):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
        if len(t.shape) != ndim:
            raise ExprError(f"{what}: {arg} must be {ndim}-D ({lay}), got shape {list(t.shape)}")
    try:
        dim = {a: get_const_int(d) for a, d in zip(layout, data.shape) if a != "N"}
        kdim = {a: get_const_int(d) for a, d in zip(klayout, kernel.shape)}
    except ExprError:
        raise ExprError(f"{what}: the shapes of input {list(data.shape)} and filter {list(kernel.shape)} "
                        "must be constant but for the batch") from None
    if dim["C"] != kdim["C"]:
        raise ExprError(f"{what}: input has {dim['C']} channels but filter has {kdim['C']}")
    try:
        sh, sw = (get_const_int(v) for v in pair(stride, f"{what} stride"))
        dh, dw = (get_const_int(v) for v in pair(dilations, f"{what} dilations"))
    except (TypeError, ExprError):
        raise ExprError(f"{what}: stride and dilations must be an int or two, got {stride!r} and "
                        f"{dilations!r}") from None
    if min(sh, sw, dh, dw) < 1:
        raise ExprError(f"{what}: stride {stride!r} and dilations {dilations!r} must be positive")
    kh, kw = (kdim["H"] - 1) * dh + 1, (kdim["W"] - 1) * dw + 1
    try:
        top, left, bottom, right = get_pad_tuple(padding, (kh, kw))
    except (TypeError, ExprError):
        raise ExprError(f"{what}: padding must be an int, two or four ints, 'SAME' or 'VALID', "
                        f"got {padding!r}") from None
    if min(top, left, bottom, right) < 0:
        raise ExprError(f"{what}: padding {padding!r} must not be negative")
    oh = (dim["H"] + top + bottom - kh) // sh + 1
    ow = (dim["W"] + left + right - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise ExprError(f"{what}: the dilated window ({kh} x {kw}) is larger than the padded input "
                        f"({dim['H'] + top + bottom} x {dim['W'] + left + right})")
    dt = out_dtype_of(out_dtype, data, what)
    before, after = {"H": top, "W": left}, {"H": bottom, "W": right}
    padded = pad(data, [before.get(a, 0) for a in layout], [after.get(a, 0) for a in layout], name=pad_name)
    ry = te.reduce_axis((0, kdim["H"]), name="ry")
    rx = te.reduce_axis((0, kdim["W"]), name="rx")

    def body(*i: Any) -> PrimExpr:
        at = dict(zip(layout, i))
        src = {"N": at["N"], "C": at["C"], "H": at["H"] * sh + ry * dh, "W": at["W"] * sw + rx * dw}
        kat = {"C": at["C"], "H": ry, "W": rx}
        return te.max(padded[tuple(src[a] for a in layout)].astype(dt)
                      + kernel[tuple(kat[a] for a in klayout)].astype(dt), axis=[ry, rx])

    size = {"N": data.shape[0], "C": dim["C"], "H": oh, "W": ow}
    return te.compute([size[a] for a in layout], body, name="dilation2d", tag=f"dilation2d_{layout.lower()}")


def dilation2d_nchw(input: Tensor, filter: Tensor, stride: Any, padding: Any, dilations: Any,  # noqa: A002
                    out_dtype: str | None = None) -> Tensor:
    """Morphological dilation of ``input`` (N, C, H, W) by ``filter`` (C, KH, KW) -> (N, C, OH, OW);
    ``stride`` and ``dilations``: an int or (h, w); ``padding``: an int, 2 or 4 ints, "SAME" or "VALID"."""
    return _dilation2d("dilation2d_nchw", "NCHW", input, filter, stride, padding, dilations, out_dtype, "pad_temp")


def dilation2d_nhwc(input: Tensor, filter: Tensor, stride: Any, padding: Any, dilations: Any,  # noqa: A002
                    out_dtype: str | None = None) -> Tensor:
    """Morphological dilation of ``input`` (N, H, W, C) by ``filter`` (KH, KW, C) -> (N, OH, OW, C); the
    arguments as ``dilation2d_nchw``."""
    return _dilation2d("dilation2d_nhwc", "NHWC", input, filter, stride, padding, dilations, out_dtype,
                       "padded_input")


__all__ = ["dilation2d_nchw", "dilation2d_nhwc"]
