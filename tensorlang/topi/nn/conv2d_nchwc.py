"""2-D convolutions on channel-blocked ("packed") data, as TVM's x86 operators declare them:
data NCHW[x]c (the channels split into chunks of x, the block innermost so one vector holds it),
kernels OIHW[x]i[y]o, and the unpacking of a packed result back to NCHW.

``layout`` and ``out_layout`` only describe the tensors (TVM keeps them for the workload); they
are checked against the shapes, so a layout that says NCHW8c for data blocked by 4 is an error."""

from __future__ import annotations

import re
from typing import Any

from ... import te
from ...errors import DTypeError
from ...te.expr import IntImm
from ...te.tensor import Tensor
from ..math import cast
from ..transform import layout_transform
from ..utils import check_tensors, get_const_int, get_const_tuple, out_dtype_of
from .conv2d import _check, _Window
from .pad import pad

_BLOCKED = re.compile(r"NCHW([1-9][0-9]*)c")


def _ndim(t: Tensor, n: int, what: str, arg: str, form: str) -> None:
    _check(len(t.shape) == n, f"{what}: {arg} {t.name} must be {n}-D ({form}), got shape {tuple(t.shape)}")


def _const_shape(t: Tensor, what: str, arg: str) -> tuple[int, ...]:
    shape = get_const_tuple(t.shape)
    _check(all(isinstance(d, int) for d in shape), f"{what}: {arg} {t.name} must have a constant shape, got {shape}")
    return shape


def _check_layout(layout: Any, block: int, what: str, arg: str, optional: bool = False) -> None:
    """``layout`` must be "NCHW<block>c" ("" too when ``optional``: TVM's unset out_layout)."""
    if optional and layout == "":
        return
    m = _BLOCKED.fullmatch(layout) if isinstance(layout, str) else None
    _check(m is not None, f"{what}: {arg} {layout!r} is not a packed layout NCHW<x>c (e.g. 'NCHW{block}c')")
    _check(int(m.group(1)) == block, f"{what}: {arg} '{layout}' blocks the channels by {m.group(1)} but the "
           f"tensor's channel block is {block} (expected 'NCHW{block}c')")


def _window(what: str, ih: int, iw: int, kh: int, kw: int, stride: Any, padding: Any, dilation: Any) -> _Window:
    for arg, value in (("stride", stride), ("dilation", dilation)):
        values = value if isinstance(value, (list, tuple)) else [value]
        _check(len(values) in (1, 2) and all(isinstance(v, (int, IntImm)) and not isinstance(v, bool)
                                             and get_const_int(v) > 0 for v in values),
               f"{what}: {arg} {value!r} must be a positive int or a pair of them")
    return _Window(what, ih, iw, kh, kw, stride, padding, dilation)


def _padded(data: Tensor, g: _Window, name: str) -> Tensor:
    """``data`` (N, C, H, W, c) padded in H and W; no stage when there is no padding (as in TVM)."""
    if not any((g.pt, g.pl, g.pb, g.pr)):
        return data
    return pad(data, [0, 0, g.pt, g.pl, 0], [0, 0, g.pb, g.pr, 0], name=name)


def conv2d_NCHWc(data: Tensor, kernel: Tensor, stride: Any, padding: Any, dilation: Any,  # noqa: N802
                 layout: str, out_layout: str, out_dtype: str = "float32") -> Tensor:
    """data (N, IC/ic_bn, H, W, ic_bn) ``layout`` NCHW[ic_bn]c, kernel (OC/oc_bn, IC/ic_bn, KH, KW, ic_bn,
    oc_bn) -> (N, OC/oc_bn, OH, OW, oc_bn) in ``out_layout`` NCHW[oc_bn]c ("" accepted).  The
    reduction axes are (ic, kh, kw), ic over all IC input channels, as in TVM.  Grouped kernels are
    not supported."""
    check_tensors("conv2d_NCHWc", data=data, kernel=kernel)
    what = "conv2d_NCHWc"
    _ndim(data, 5, what, "data", "N, C/x, H, W, x")
    _ndim(kernel, 6, what, "kernel", "O/y, I/x, KH, KW, x, y")
    out_dtype = out_dtype_of(out_dtype, data, what)
    n, ic_chunk, ih, iw, ic_bn = _const_shape(data, what, "data")
    oc_chunk, k_ic_chunk, kh, kw, k_ic_bn, oc_bn = _const_shape(kernel, what, "kernel")
    _check_layout(layout, ic_bn, what, "layout")
    _check_layout(out_layout, oc_bn, what, "out_layout", optional=True)
    _check(k_ic_bn == ic_bn, f"{what}: kernel {kernel.name} blocks the input channels by {k_ic_bn} but data "
           f"{data.name} by {ic_bn} (kernel shape {(oc_chunk, k_ic_chunk, kh, kw, k_ic_bn, oc_bn)})")
    _check(k_ic_chunk == ic_chunk, f"{what}: kernel {kernel.name} has {k_ic_chunk * k_ic_bn} input channels but "
           f"data {data.name} has {ic_chunk * ic_bn}" + (" (grouped conv2d_NCHWc is not supported)"
                                                         if ic_chunk % max(k_ic_chunk, 1) == 0 else ""))
    g = _window(what, ih, iw, kh, kw, stride, padding, dilation)
    data_pad = _padded(data, g, "data_pad")
    ic = te.reduce_axis((0, ic_chunk * ic_bn), name="ic")
    ry = te.reduce_axis((0, kh), name="kh")
    rx = te.reduce_axis((0, kw), name="kw")
    return te.compute(
        (n, oc_chunk, g.oh, g.ow, oc_bn),
        lambda b, occ, oh, ow, ocb: te.sum(
            data_pad[b, ic // ic_bn, oh * g.sh + ry * g.dh, ow * g.sw + rx * g.dw, ic % ic_bn].astype(out_dtype)
            * kernel[occ, ic // ic_bn, ry, rx, ic % ic_bn, ocb].astype(out_dtype), axis=[ic, ry, rx]),
        name="conv2d_NCHWc", tag="conv2d_NCHWc")


_INT8 = ("int8", "uint8")


def conv2d_NCHWc_int8(data: Tensor, kernel: Tensor, stride: Any, padding: Any, dilation: Any,  # noqa: N802
                      layout: str, out_layout: str, out_dtype: str = "int32", n_elems: int = 4) -> Tensor:
    """8-bit conv2d_NCHWc accumulating in ``out_dtype``: data (N, IC/ic_bn, H, W, ic_bn) uint8 or int8,
    kernel (OC/oc_bn, IC/ic_bn, KH, KW, ic_bn/n_elems, oc_bn, n_elems) int8 or uint8 (the layout of
    TVM's int8 kernels: ``n_elems`` consecutive input channels innermost, for dot-product
    instructions) -> (N, OC/oc_bn, OH, OW, oc_bn).  Reduction axes (kh, kw, ic_outer, ic_f_inner,
    ic_s_inner), as in TVM.  Grouped kernels are not supported."""
    check_tensors("conv2d_NCHWc_int8", data=data, kernel=kernel)
    what = "conv2d_NCHWc_int8"
    _ndim(data, 5, what, "data", "N, C/x, H, W, x")
    _ndim(kernel, 7, what, "kernel", "O/y, I/x, KH, KW, x/n_elems, y, n_elems")
    for arg, t in (("data", data), ("kernel", kernel)):
        if str(t.dtype) not in _INT8:
            raise DTypeError(f"{what}: {arg} {t.name} must be int8 or uint8, got {t.dtype}")
    out_dtype = out_dtype_of(out_dtype, data, what)
    n, ic_chunk, ih, iw, ic_bn = _const_shape(data, what, "data")
    oc_chunk, k_ic_chunk, kh, kw, k_f, oc_bn, k_s = _const_shape(kernel, what, "kernel")
    _check_layout(layout, ic_bn, what, "layout")
    _check_layout(out_layout, oc_bn, what, "out_layout", optional=True)
    _check(isinstance(n_elems, int) and not isinstance(n_elems, bool) and n_elems > 0 and ic_bn % n_elems == 0,
           f"{what}: n_elems={n_elems!r} must be a positive int dividing the channel block {ic_bn}")
    _check((k_f, k_s) == (ic_bn // n_elems, n_elems), f"{what}: kernel {kernel.name} splits its input block as "
           f"({k_f}, {k_s}) but data {data.name} blocked by {ic_bn} with n_elems={n_elems} needs "
           f"({ic_bn // n_elems}, {n_elems})")
    _check(k_ic_chunk == ic_chunk, f"{what}: kernel {kernel.name} has {k_ic_chunk} input channel chunks but data "
           f"{data.name} has {ic_chunk} (grouped convolution is not supported)")
    g = _window(what, ih, iw, kh, kw, stride, padding, dilation)
    data_pad = _padded(data, g, "data_pad")
    ry = te.reduce_axis((0, kh), name="kh")
    rx = te.reduce_axis((0, kw), name="kw")
    ico = te.reduce_axis((0, ic_chunk), name="ic_outer")
    icf = te.reduce_axis((0, ic_bn // n_elems), name="ic_f_inner")
    ics = te.reduce_axis((0, n_elems), name="ic_s_inner")
    return te.compute(
        (n, oc_chunk, g.oh, g.ow, oc_bn),
        lambda b, occ, oh, ow, ocb: te.sum(
            data_pad[b, ico, oh * g.sh + ry * g.dh, ow * g.sw + rx * g.dw, icf * n_elems + ics].astype(out_dtype)
            * kernel[occ, ico, ry, rx, icf, ocb, ics].astype(out_dtype), axis=[ry, rx, ico, icf, ics]),
        name="conv2d_NCHWc_int8", tag="conv2d_NCHWc_int8", attrs={"schedule_rule": "conv2d_NCHWc_int8"})


def depthwise_conv2d_NCHWc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any,  # noqa: N802,N803
                           layout: str, out_layout: str, out_dtype: str | None = None) -> Tensor:
    """Depthwise convolution on packed data: Input (N, C/ic_bn, H, W, ic_bn) in ``layout``
    NCHW[ic_bn]c, Filter (C/oc_bn, 1, KH, KW, 1, oc_bn) -> (N, C/oc_bn, OH, OW, oc_bn) in
    ``out_layout`` NCHW[oc_bn]c: output channel c convolves input channel c with its own filter.
    The input and output blocks may differ; a channel multiplier above 1 is not supported (nor is
    it in TVM, whose generic version of this operator only raises)."""
    check_tensors("depthwise_conv2d_NCHWc", Input=Input, Filter=Filter)
    what = "depthwise_conv2d_NCHWc"
    _ndim(Input, 5, what, "Input", "N, C/x, H, W, x")
    _ndim(Filter, 6, what, "Filter", "C/y, 1, KH, KW, 1, y")
    out_dtype = out_dtype_of(out_dtype, Input, what)
    n, ic_chunk, ih, iw, ic_bn = _const_shape(Input, what, "Input")
    oc_chunk, cm_chunk, kh, kw, cm_bn, oc_bn = _const_shape(Filter, what, "Filter")
    _check_layout(layout, ic_bn, what, "layout")
    _check_layout(out_layout, oc_bn, what, "out_layout", optional=True)
    _check(cm_chunk * cm_bn == 1, f"{what}: Filter {Filter.name} has a channel multiplier of {cm_chunk * cm_bn} "
           "(dimensions 1 and 4); only 1 is supported")
    _check(oc_chunk * oc_bn == ic_chunk * ic_bn, f"{what}: Filter {Filter.name} has {oc_chunk * oc_bn} channels "
           f"but Input {Input.name} has {ic_chunk * ic_bn}")
    g = _window(what, ih, iw, kh, kw, stride, padding, dilation)
    data_pad = _padded(Input, g, "PaddedInput")
    ry = te.reduce_axis((0, kh), name="kh")
    rx = te.reduce_axis((0, kw), name="kw")

    def element(b: Any, occ: Any, oh: Any, ow: Any, ocb: Any) -> Any:
        c = occ * oc_bn + ocb  # the channel, read from the input's own blocking
        src = (b, occ, oh * g.sh + ry * g.dh, ow * g.sw + rx * g.dw, ocb) if ic_bn == oc_bn else \
            (b, c // ic_bn, oh * g.sh + ry * g.dh, ow * g.sw + rx * g.dw, c % ic_bn)
        return te.sum(data_pad[src].astype(out_dtype) * Filter[occ, 0, ry, rx, 0, ocb].astype(out_dtype),
                      axis=[ry, rx])

    return te.compute((n, oc_chunk, g.oh, g.ow, oc_bn), element, name="DepthwiseConv2d",
                      tag="depthwise_conv2d_NCHWc")


def unpack_NCHWc_to_nchw(packed_out: Tensor, out_dtype: str) -> Tensor:  # noqa: N802
    """A packed (N, C/x, H, W, x) result as (N, C, H, W) of ``out_dtype`` (a cast only when it differs)."""
    check_tensors("unpack_NCHWc_to_nchw", packed_out=packed_out)
    what = "unpack_NCHWc_to_nchw"
    _ndim(packed_out, 5, what, "packed_out", "N, C/x, H, W, x")
    block = get_const_tuple(packed_out.shape)[4]
    _check(isinstance(block, int), f"{what}: the channel block of packed_out {packed_out.name} must be constant")
    out_dtype = out_dtype_of(out_dtype, packed_out, what)
    unpacked = layout_transform(packed_out, f"NCHW{block}c", "NCHW")
    return unpacked if str(unpacked.dtype) == out_dtype else cast(unpacked, out_dtype)

