"""2-D convolutions in NCHW and NHWC layouts, grouped NCHW, and depthwise NCHW and NHWC, with stride,
padding and dilation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.dtype import as_dtype
from ...te.tensor import Tensor
from ..utils import check_tensors, get_const_int, get_const_tuple, get_pad_tuple, pair
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
        _check(min(self.sh, self.sw) >= 1, f"{what}: strides must be positive, got ({self.sh}, {self.sw})")
        _check(min(self.dh, self.dw) >= 1, f"{what}: dilation must be positive, got ({self.dh}, {self.dw})")
        _check(min(kh, kw) >= 1, f"{what}: the kernel must be at least 1 x 1, got {kh} x {kw}")
        self.pt, self.pl, self.pb, self.pr = get_pad_tuple(padding, ((kh - 1) * self.dh + 1, (kw - 1) * self.dw + 1))
        pads = (self.pt, self.pl, self.pb, self.pr)
        _check(all(isinstance(p, int) and p >= 0 for p in pads),
               f"{what}: padding must not be negative, got (top, left, bottom, right) = {pads}")
        self.oh = _out_size(get_const_int(h), kh, self.dh, self.pt, self.pb, self.sh)
        self.ow = _out_size(get_const_int(w), kw, self.dw, self.pl, self.pr, self.sw)
        for axis, size, k, d, before, after, out in (("height", h, kh, self.dh, self.pt, self.pb, self.oh),
                                                     ("width", w, kw, self.dw, self.pl, self.pr, self.ow)):
            _check(out >= 1, f"{what}: the {axis} {get_const_int(size)} padded by {before} + {after} is smaller "
                   f"than the kernel's {k} (dilated to {(k - 1) * d + 1}), so there is no output")


def _check_4d(what: str, Input: Any, Filter: Any, layout: str, kernel_layout: str) -> None:  # noqa: N803
    """Input and Filter must be 4-D tensors (in ``layout`` and ``kernel_layout``)."""
    check_tensors(what, Input=Input, Filter=Filter)
    for t, arg, lay in ((Input, "Input", layout), (Filter, "Filter", kernel_layout)):
        if len(t.shape) != 4:
            raise ExprError(f"{what}: {arg} {t.name} must be 4-D ({lay}), got shape {get_const_tuple(t.shape)}")


def _check_channels(what: str, data: Tensor, c: Any, kernel: Tensor, fc: Any) -> None:
    _check(get_const_int(fc) == get_const_int(c), f"{what}: {data.name} has {get_const_int(c)} channels but "
           f"{kernel.name} expects {get_const_int(fc)}")


def _direct(what: str, layout: str, kernel_layout: str, Input: Tensor, Filter: Tensor,  # noqa: N803
            stride: Any, padding: Any, dilation: Any, out_dtype: str | None,
            pad_name: str) -> tuple[list[Any], Callable[..., Any]]:
    """The output shape (in ``layout``: "NCHW", "NHWC") of a direct 2-D convolution with a filter in
    ``kernel_layout`` ("OIHW", "HWIO"), and its element at (batch, out channel, row, column).
    The reduction axes (rc, ry, rx) are in the filter's order, which is the order schedules see."""
    _check_4d(what, Input, Filter, layout, kernel_layout)
    out_dtype = out_dtype or str(Input.dtype)
    dim = dict(zip(layout, Input.shape))
    kdim = dict(zip(kernel_layout, Filter.shape))
    _check_channels(what, Input, dim["C"], Filter, kdim["I"])
    g = _Window(what, dim["H"], dim["W"], kdim["H"], kdim["W"], stride, padding, dilation)
    before, after = {"H": g.pt, "W": g.pl}, {"H": g.pb, "W": g.pr}
    padded = pad(Input, [before.get(d, 0) for d in layout], [after.get(d, 0) for d in layout], name=pad_name)
    rc = te.reduce_axis((0, dim["C"]), name="rc")
    ry = te.reduce_axis((0, kdim["H"]), name="ry")
    rx = te.reduce_axis((0, kdim["W"]), name="rx")
    reduce = {"I": rc, "H": ry, "W": rx}
    out_shape = {"N": dim["N"], "C": kdim["O"], "H": g.oh, "W": g.ow}

    def element(nn: Any, ff: Any, yy: Any, xx: Any) -> Any:
        at = {"N": nn, "C": rc, "H": yy * g.sh + ry * g.dh, "W": xx * g.sw + rx * g.dw}
        weight = {"O": ff, **reduce}
        return te.sum(padded[tuple(at[d] for d in layout)].astype(out_dtype)
                      * Filter[tuple(weight[d] for d in kernel_layout)].astype(out_dtype),
                      axis=[reduce[d] for d in kernel_layout if d != "O"])

    return [out_shape[d] for d in layout], element


def conv2d_nchw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (N, C, H, W), Filter (K, C, KH, KW) -> (N, K, OH, OW)."""
    shape, element = _direct("conv2d_nchw", "NCHW", "OIHW", Input, Filter, stride, padding, dilation, out_dtype,
                             pad_name="pad_temp")
    # The lambda's argument names name the output axes.
    return te.compute(shape, lambda nn, ff, yy, xx: element(nn, ff, yy, xx), name="compute", tag="conv2d_nchw")


def conv2d_nhwc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (N, H, W, C), Filter (KH, KW, C, K) -> (N, OH, OW, K)."""
    shape, element = _direct("conv2d_nhwc", "NHWC", "HWIO", Input, Filter, stride, padding, dilation, out_dtype,
                             pad_name="PaddedInput")
    return te.compute(shape, lambda nn, yy, xx, ff: element(nn, ff, yy, xx), name="Conv2dOutput", tag="conv2d_nhwc")


def conv2d_hwcn(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                out_dtype: str | None = None) -> Tensor:
    """Input (H, W, C, N), Filter (KH, KW, C, K) -> (OH, OW, K, N) (TVM's topi.nn.conv2d_hwcn)."""
    shape, element = _direct("conv2d_hwcn", "HWCN", "HWIO", Input, Filter, stride, padding, dilation, out_dtype,
                             pad_name="PaddedInput")
    return te.compute(shape, lambda yy, xx, ff, nn: element(nn, ff, yy, xx), name="Conv2dOutput", tag="conv2d_hwcn")


def conv2d_nchw_tunable(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                        out_dtype: str = "float32") -> Tensor:
    """``conv2d_nchw`` as the compute of a template (``topi.x86``, ``topi.cuda``): the declaration is
    the same for every config ``cfg``, which only the schedule reads; float32 output by default, as TVM's."""
    return conv2d_nchw(data, kernel, strides, padding, dilation, out_dtype)


# The filter layout each data layout takes (TVM's default when kernel_layout is "").
_KERNEL_LAYOUTS = {"NCHW": "OIHW", "NHWC": "HWIO"}


def conv2d(input: Tensor, filter: Tensor, strides: Any, padding: Any, dilation: Any = 1,  # noqa: A002
           data_layout: str = "NCHW", kernel_layout: str = "", out_dtype: str | None = None,
           layout: str | None = None) -> Tensor:
    """conv2d with TVM 0.12's signature: data in ``data_layout`` NCHW (filter OIHW) or NHWC
    (filter HWIO); ``kernel_layout`` "" means that default.  (``layout=`` is the older name of
    ``data_layout``.)"""
    data_layout = layout if layout is not None else data_layout
    if data_layout not in _KERNEL_LAYOUTS:
        raise ExprError(f"conv2d: data_layout '{data_layout}' is not supported (NCHW, NHWC)")
    want = _KERNEL_LAYOUTS[data_layout]
    if kernel_layout not in ("", want):
        raise ExprError(f"conv2d: kernel_layout '{kernel_layout}' with data_layout '{data_layout}' is not supported; "
                        f"give the filter in {want} (transpose it with topi.transpose)")
    if data_layout == "NCHW":
        return conv2d_nchw(input, filter, strides, padding, dilation, out_dtype)
    return conv2d_nhwc(input, filter, strides, padding, dilation, out_dtype)


def conv(inp: Tensor, filt: Tensor, stride: Any, padding: Any, dilation: Any, groups: int,
         data_layout: str, kernel_layout: str = "", out_dtype: str | None = None,
         auto_scheduler_rewritten_layout: str = "", meta_schedule_original_shape: Any = None) -> Tensor:
    """TVM 0.12's generic ``topi.nn.conv`` for 2-D data: conv2d, or a grouped convolution when
    ``groups`` > 1, in NCHW (filter OIHW) or NHWC (filter HWIO).  Other ranks are refused."""
    check_tensors("conv", inp=inp, filt=filt)
    if len(inp.shape) != 4:
        raise ExprError(f"conv: {len(inp.shape)}-D data is not supported here; use conv1d/conv3d_ncdhw "
                        "(this conv takes 4-D NCHW or NHWC data)")
    if auto_scheduler_rewritten_layout or meta_schedule_original_shape:
        raise ExprError("conv: layout rewriting (auto_scheduler_rewritten_layout / meta_schedule_original_shape) "
                        "is not supported")
    if groups == 1:
        return conv2d(inp, filt, stride, padding, dilation, data_layout, kernel_layout, out_dtype)
    if data_layout not in _KERNEL_LAYOUTS or kernel_layout not in ("", _KERNEL_LAYOUTS[data_layout]):
        raise ExprError(f"conv: data_layout '{data_layout}' with kernel_layout '{kernel_layout}' is not supported "
                        "(NCHW with OIHW, NHWC with HWIO)")
    grouped = group_conv2d_nchw if data_layout == "NCHW" else group_conv2d_nhwc
    return grouped(inp, filt, stride, padding, dilation, groups, out_dtype)


def _depthwise(what: str, layout: str, kernel_layout: str, Input: Tensor, Filter: Tensor,  # noqa: N803
               stride: Any, padding: Any, dilation: Any, out_dtype: str | None) -> tuple[list[Any], Callable[..., Any]]:
    """The output shape (in ``layout``) of a depthwise convolution whose filter is in
    ``kernel_layout`` (C: input channel, M: multiplier), and its element at (batch, channel, row,
    column): output channel ch reads input channel ch // M with filter ch % M."""
    _check_4d(what, Input, Filter, layout, kernel_layout)
    out_dtype = out_dtype or str(Input.dtype)
    dim = dict(zip(layout, get_const_tuple(Input.shape)))
    kdim = dict(zip(kernel_layout, get_const_tuple(Filter.shape)))
    _check_channels(what, Input, dim["C"], Filter, kdim["C"])
    g = _Window(what, dim["H"], dim["W"], kdim["H"], kdim["W"], stride, padding, dilation)
    before, after = {"H": g.pt, "W": g.pl}, {"H": g.pb, "W": g.pr}
    padded = pad(Input, [before.get(d, 0) for d in layout], [after.get(d, 0) for d in layout], name="PaddedInput")
    di = te.reduce_axis((0, kdim["H"]), name="di")
    dj = te.reduce_axis((0, kdim["W"]), name="dj")
    mult = kdim["M"]
    out_shape = {"N": dim["N"], "C": dim["C"] * mult, "H": g.oh, "W": g.ow}

    def element(b: Any, ch: Any, i: Any, j: Any) -> Any:
        at = {"N": b, "C": ch // mult, "H": i * g.sh + di * g.dh, "W": j * g.sw + dj * g.dw}
        weight = {"C": ch // mult, "M": ch % mult, "H": di, "W": dj}
        return te.sum(padded[tuple(at[d] for d in layout)].astype(out_dtype)
                      * Filter[tuple(weight[d] for d in kernel_layout)].astype(out_dtype), axis=[di, dj])

    return [out_shape[d] for d in layout], element


def depthwise_conv2d_nchw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                          out_dtype: str | None = None) -> Tensor:
    """Input (N, C, H, W), Filter (C, M, KH, KW) -> (N, C*M, OH, OW): each channel with its own filters."""
    shape, element = _depthwise("depthwise_conv2d_nchw", "NCHW", "CMHW", Input, Filter, stride, padding, dilation,
                                out_dtype)
    return te.compute(shape, lambda b, ch, i, j: element(b, ch, i, j), name="DepthwiseConv2d",
                      tag="depthwise_conv2d_nchw")


def group_conv2d_nchw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any,  # noqa: N803
                      groups: int, out_dtype: str | None = None) -> Tensor:
    """Input (N, C, H, W), Filter (K, C // groups, KH, KW) -> (N, K, OH, OW): output channel k sees
    only the input channels of its group, k // (K // groups)."""
    what = "group_conv2d_nchw"
    _check_4d(what, Input, Filter, "NCHW", "OIHW")
    out_dtype = out_dtype or str(Input.dtype)
    n, c, h, w = get_const_tuple(Input.shape)
    k, cg, kh, kw = get_const_tuple(Filter.shape)
    _check(isinstance(groups, int) and groups >= 1 and c % groups == 0 and k % groups == 0,
           f"{what}: groups={groups!r} must divide the {c} input and the {k} output channels")
    _check(cg == c // groups, f"{what}: {Filter.name} has {cg} input channels a group, expected {c} / {groups}")
    g = _Window(what, h, w, kh, kw, stride, padding, dilation)
    padded = pad(Input, [0, 0, g.pt, g.pl], [0, 0, g.pb, g.pr], name="pad_temp")
    rc = te.reduce_axis((0, cg), name="rc")
    ry = te.reduce_axis((0, kh), name="ry")
    rx = te.reduce_axis((0, kw), name="rx")
    per = k // groups
    return te.compute(
        (n, k, g.oh, g.ow),
        lambda nn, ff, yy, xx: te.sum(
            padded[nn, ff // per * cg + rc, yy * g.sh + ry * g.dh, xx * g.sw + rx * g.dw].astype(out_dtype)
            * Filter[ff, rc, ry, rx].astype(out_dtype), axis=[rc, ry, rx]),
        name="compute", tag="group_conv2d_nchw")


def _is_dtype(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    try:
        as_dtype(name)
    except DTypeError:
        return False
    return True


def depthwise_conv2d_nhwc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                          kernel_layout: str = "HWOI", out_dtype: str | None = None) -> Tensor:
    """Input (N, H, W, C), Filter (KH, KW, C, M) for kernel_layout "HWOI" or (KH, KW, M, C) for
    "HWIO" -> (N, OH, OW, C*M): each channel with its own filters."""
    what = "depthwise_conv2d_nhwc"
    if out_dtype is None and _is_dtype(kernel_layout):
        # TVM <= 0.11 had out_dtype in this place, and 0.12's own tests still pass it there (0.12
        # then reads the filter as HWOI and ignores the dtype); the dtype is meant, so honor it.
        kernel_layout, out_dtype = "HWOI", kernel_layout
    filter_layout = {"HWOI": "HWCM", "HWIO": "HWMC"}.get(kernel_layout)
    _check(filter_layout is not None, f"{what}: kernel_layout '{kernel_layout}' is not supported (HWOI, HWIO)")
    shape, element = _depthwise(what, "NHWC", filter_layout, Input, Filter, stride, padding, dilation, out_dtype)
    return te.compute(shape, lambda b, i, j, ch: element(b, ch, i, j), name="DepthwiseConv2d",
                      tag="depthwise_conv2d_nhwc")


def group_conv2d_nhwc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any,  # noqa: N803
                      groups: int, out_dtype: str | None = None) -> Tensor:
    """Input (N, H, W, C), Filter (KH, KW, C // groups, K) HWIO -> (N, OH, OW, K): output channel k
    sees only the input channels of its group, k // (K // groups)."""
    what = "group_conv2d_nhwc"
    _check_4d(what, Input, Filter, "NHWC", "HWIO")
    out_dtype = out_dtype or str(Input.dtype)
    n, h, w, c = get_const_tuple(Input.shape)
    kh, kw, cg, k = get_const_tuple(Filter.shape)
    _check(isinstance(groups, int) and not isinstance(groups, bool) and groups >= 1 and c % groups == 0
           and k % groups == 0, f"{what}: groups={groups!r} must divide the {c} input and the {k} output channels")
    _check(cg == c // groups, f"{what}: {Filter.name} has {cg} input channels a group, expected {c} / {groups}")
    g = _Window(what, h, w, kh, kw, stride, padding, dilation)
    padded = pad(Input, [0, g.pt, g.pl, 0], [0, g.pb, g.pr, 0], name="pad_temp")
    ry = te.reduce_axis((0, kh), name="ry")
    rx = te.reduce_axis((0, kw), name="rx")
    rc = te.reduce_axis((0, cg), name="rc")
    per = k // groups
    # The reduction axes in the filter's order (ry, rx, rc), as TVM orders them for NHWC.
    return te.compute(
        (n, g.oh, g.ow, k),
        lambda nn, yy, xx, ff: te.sum(
            padded[nn, yy * g.sh + ry * g.dh, xx * g.sw + rx * g.dw, ff // per * cg + rc].astype(out_dtype)
            * Filter[ry, rx, rc, ff].astype(out_dtype), axis=[ry, rx, rc]),
        name="group_conv2d_nhwc", tag="group_conv2d_nhwc")
