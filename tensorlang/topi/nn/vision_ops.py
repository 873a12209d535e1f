"""Vision operators of TVM's ``topi.nn``: FlowNet correlation (``correlation_nchw``), deformable
convolution (``deformable_conv2d_nchw``) and the sliding-window buffer ``fifo_buffer``."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, get_const_int, get_const_tuple, get_pad_tuple, pair
from .pad import pad


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ExprError(msg)


def _const_int(value: Any, what: str, arg: str) -> int:
    """``value`` as a Python int; an ExprError naming ``arg`` otherwise."""
    try:
        return get_const_int(value)
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a constant int, got {value!r}") from None


def _pads(what: str, padding: Any, window: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from ``padding`` (see get_pad_tuple); errors name ``what``."""
    try:
        pads = get_pad_tuple(padding, window)
    except ExprError as err:
        raise ExprError(f"{what}: {err}") from None
    _check(min(pads) >= 0, f"{what}: padding {padding!r} must not be negative")
    return pads


def _shape4(what: str, t: Tensor, layout: str) -> tuple[int, int, int, int]:
    shape = get_const_tuple(t.shape)
    _check(len(shape) == 4 and all(isinstance(d, int) for d in shape),
           f"{what}: {t.name} must be 4-D {layout} with constant dimensions, got shape {tuple(t.shape)}")
    return shape  # type: ignore[return-value]


def correlation_nchw(data1: Tensor, data2: Tensor, kernel_size: int, max_displacement: int, stride1: int,
                     stride2: int, padding: Any, is_multiply: bool) -> Tensor:
    """FlowNet's correlation of two (N, C, H, W) float feature maps, both zero-padded by ``padding`` (an
    int, (pad_h, pad_w) or (top, left, bottom, right)).  Output channel q = dy * D + dx (D = 2 *
    (max_displacement // stride2) + 1) at (i, j) compares the kernel_size x kernel_size patch of data1 at
    (i * stride1 + max_displacement, j * stride1 + max_displacement) with the patch of data2 displaced by
    ((dy - D // 2) * stride2, (dx - D // 2) * stride2): the sum over channels and patch of a * b
    (``is_multiply``) or |a - b|, divided by kernel_size**2 * C.  OH = ceil((H_padded - 2 * border) /
    stride1) with border = max_displacement + (kernel_size - 1) // 2, and OW alike."""
    what = "correlation_nchw"
    check_tensors(what, data1=data1, data2=data2)
    shape = _shape4(what, data1, "(N, C, H, W)")
    _check(get_const_tuple(data2.shape) == shape,
           f"{what}: {data1.name} and {data2.name} must have the same shape, got {shape} and {tuple(data2.shape)}")
    if data1.dtype != data2.dtype or not data1.dtype.is_float:
        raise DTypeError(f"{what}: {data1.name} and {data2.name} must be floats of one dtype, got {data1.dtype} "
                         f"and {data2.dtype}")
    k = _const_int(kernel_size, what, "kernel_size")
    max_d = _const_int(max_displacement, what, "max_displacement")
    s1, s2 = _const_int(stride1, what, "stride1"), _const_int(stride2, what, "stride2")
    # An even kernel has no centre: its patches would read one row and column past the padded data.
    _check(k > 0 and k % 2 == 1, f"{what}: kernel_size must be a positive odd int, got {k}")
    _check(max_d >= 0, f"{what}: max_displacement must not be negative, got {max_d}")
    _check(s1 > 0 and s2 > 0, f"{what}: stride1 and stride2 must be positive, got {s1} and {s2}")
    _check(not isinstance(padding, str), f"{what}: padding must be an int, 2 or 4 ints, got {padding!r}")
    top, left, bottom, right = _pads(what, padding, (1, 1))
    batch, channel, height, width = shape
    border = max_d + (k - 1) // 2
    radius = max_d // s2
    grid = 2 * radius + 1
    # Ceil, as TVM's relay type relation, topi and Caffe's FlowNet layer (TVM's numpy reference floors).
    out_h = (height + top + bottom - 2 * border + s1 - 1) // s1
    out_w = (width + left + right - 2 * border + s1 - 1) // s1
    _check(out_h > 0 and out_w > 0, f"{what}: the padded {height + top + bottom}x{width + left + right} input "
           f"of {data1.name} is smaller than the 2 * {border} border of max_displacement and kernel_size")
    padded1 = pad(data1, [0, 0, top, left], [0, 0, bottom, right], name="padded_data1")
    padded2 = pad(data2, [0, 0, top, left], [0, 0, bottom, right], name="padded_data2")
    rc = te.reduce_axis((0, channel), name="rc")
    ry = te.reduce_axis((0, k), name="ry")
    rx = te.reduce_axis((0, k), name="rx")

    def compare(a: PrimExpr, b: PrimExpr) -> PrimExpr:
        return a * b if is_multiply else te.abs(a - b)

    def element(n: Any, q: Any, i: Any, j: Any) -> PrimExpr:
        y1, x1 = i * s1 + max_d, j * s1 + max_d
        y2 = y1 + (q // grid - radius) * s2
        x2 = x1 + (q % grid - radius) * s2
        return te.sum(compare(padded1[n, rc, y1 + ry, x1 + rx], padded2[n, rc, y2 + ry, x2 + rx]),
                      axis=[rc, ry, rx])

    corr = te.compute((batch, grid * grid, out_h, out_w), element, name="correlation", tag="correlation_nchw")
    scale = te.const(k * k * channel, data1.dtype)
    return te.compute(corr.shape, lambda *i: corr(*i) / scale, name="T_divide", tag=tag.ELEMWISE)


def deformable_conv2d_nchw(data: Tensor, offset: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                           deformable_groups: int, groups: int, out_dtype: str | None = None) -> Tensor:
    """Deformable convolution (arXiv:1703.06211): data (N, C, H, W), offset (N, deformable_groups * KH *
    KW * 2, OH, OW), kernel (K, C // groups, KH, KW) -> (N, K, OH, OW).  Tap (kh, kw) of output (y, x)
    samples input channel c at (y * stride_h - pad_top + kh * dilation_h + dy, x * stride_w - pad_left +
    kw * dilation_w + dx), where (dy, dx) = offset[n, 2 * (g * KH * KW + kh * KW + kw) + (0, 1), y, x] and g =
    c // (C // deformable_groups).  Sampling is bilinear; a point outside [0, H) x [0, W) reads 0, and so
    does each of its four neighbours that lies outside the input.  ``groups`` > 1 (which TVM's topi
    rejects) splits the channels as in ``group_conv2d_nchw``."""
    what = "deformable_conv2d_nchw"
    check_tensors(what, data=data, offset=offset, kernel=kernel)
    batch, channel, height, width = _shape4(what, data, "(N, C, H, W)")
    num_filter, group_channel, kh_size, kw_size = _shape4(what, kernel, "(K, C // groups, KH, KW)")
    off_shape = _shape4(what, offset, "(N, deformable_groups * KH * KW * 2, OH, OW)")
    if not data.dtype.is_float or offset.dtype != data.dtype:
        raise DTypeError(f"{what}: {data.name} and {offset.name} must be floats of one dtype, got {data.dtype} and "
                         f"{offset.dtype}")
    out_dtype = out_dtype or str(data.dtype)
    dg = _const_int(deformable_groups, what, "deformable_groups")
    grp = _const_int(groups, what, "groups")
    _check(dg >= 1 and channel % dg == 0,
           f"{what}: deformable_groups={dg} must divide the {channel} channels of {data.name}")
    _check(grp >= 1 and channel % grp == 0 and num_filter % grp == 0,
           f"{what}: groups={grp} must divide the {channel} input and the {num_filter} output channels")
    _check(group_channel == channel // grp, f"{what}: {kernel.name} has {group_channel} input channels a group, "
           f"expected {channel} / {grp}")
    sh, sw = (_const_int(v, what, "strides") for v in pair(strides, f"{what} strides"))
    dh, dw = (_const_int(v, what, "dilation") for v in pair(dilation, f"{what} dilation"))
    _check(min(sh, sw, dh, dw) > 0, f"{what}: strides {strides!r} and dilation {dilation!r} must be positive")
    # The dilated window sizes "SAME" (TVM's numpy reference uses the undilated one).
    pt, pl, pb, pr = _pads(what, padding, ((kh_size - 1) * dh + 1, (kw_size - 1) * dw + 1))
    out_h = (height + pt + pb - (kh_size - 1) * dh - 1) // sh + 1
    out_w = (width + pl + pr - (kw_size - 1) * dw - 1) // sw + 1
    expected = (batch, dg * kh_size * kw_size * 2, out_h, out_w)
    _check(tuple(off_shape) == expected, f"{what}: {offset.name} must have shape {expected} (N, deformable_groups "
           f"* KH * KW * 2, OH, OW), got {tuple(off_shape)}")
    per_dgroup = channel // dg
    zero = te.const(0.0, data.dtype)

    def sample(n: Any, c: Any, y: PrimExpr, x: PrimExpr) -> PrimExpr:
        # NaN offsets fail every comparison, so they count as outside too.
        inside = te.all(y >= 0, y < height, x >= 0, x < width)
        # Outside points sample (0, 0) and are dropped: floor and the int cast never see NaN or huge values.
        y, x = te.if_then_else(inside, y, zero), te.if_then_else(inside, x, zero)
        y0, x0 = te.floor(y).astype("int32"), te.floor(x).astype("int32")
        wy, wx = y - y0.astype(data.dtype), x - x0.astype(data.dtype)
        value: PrimExpr = zero
        for yy, fy in ((y0, 1 - wy), (y0 + 1, wy)):
            for xx, fx in ((x0, 1 - wx), (x0 + 1, wx)):
                # Only the upper neighbours can fall outside; the clamp keeps even a skipped read in bounds.
                read = data[n, c, te.min(yy, height - 1), te.min(xx, width - 1)]
                value = value + te.if_then_else(te.all(yy < height, xx < width), fy * fx * read, zero)
        return te.if_then_else(inside, value, zero)

    def deform(n: Any, c: Any, kh: Any, kw: Any, y: Any, x: Any) -> PrimExpr:
        base = (c // per_dgroup * (kh_size * kw_size) + kh * kw_size + kw) * 2
        return sample(n, c, y * sh - pt + kh * dh + offset[n, base, y, x],
                      x * sw - pl + kw * dw + offset[n, base + 1, y, x])

    data_deform = te.compute((batch, channel, kh_size, kw_size, out_h, out_w), deform, name="data_deform",
                             tag="data_deform")
    rc = te.reduce_axis((0, group_channel), name="rc")
    ry = te.reduce_axis((0, kh_size), name="ry")
    rx = te.reduce_axis((0, kw_size), name="rx")
    per_group = num_filter // grp
    return te.compute(
        (batch, num_filter, out_h, out_w),
        lambda n, f, y, x: te.sum(
            data_deform[n, f // per_group * group_channel + rc, ry, rx, y, x].astype(out_dtype)
            * kernel[f, rc, ry, rx].astype(out_dtype), axis=[rc, ry, rx]),
        name="deformable_conv2d", tag="deformable_conv2d_nchw")


def deformable_conv2d_nhwc(data: Tensor, offset: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                           deformable_groups: int, groups: int, out_dtype: str | None = None) -> Tensor:
    """``deformable_conv2d_nchw`` in NHWC (TVM's topi.nn.deformable_conv2d_nhwc): data (N, H, W, C), offset
    (N, OH, OW, deformable_groups * KH * KW * 2), kernel HWIO (KH, KW, C // groups, K) -> (N, OH, OW, K);
    the offsets' last axis is ordered as the NCHW offsets' channel axis."""
    what = "deformable_conv2d_nhwc"
    check_tensors(what, data=data, offset=offset, kernel=kernel)
    n, h, w, c = _shape4(what, data, "(N, H, W, C)")
    on, oh, ow, oc = _shape4(what, offset, "(N, OH, OW, deformable_groups * KH * KW * 2)")
    kh, kw, kc, kf = _shape4(what, kernel, "(KH, KW, C // groups, K)")
    data_nchw = te.compute((n, c, h, w), lambda b, ch, y, x: data[b, y, x, ch], name=f"{data.name}_nchw",
                           tag=tag.INJECTIVE)
    offset_nchw = te.compute((on, oc, oh, ow), lambda b, ch, y, x: offset[b, y, x, ch], name=f"{offset.name}_nchw",
                             tag=tag.INJECTIVE)
    kernel_oihw = te.compute((kf, kc, kh, kw), lambda f, ch, y, x: kernel[y, x, ch, f], name=f"{kernel.name}_oihw",
                             tag=tag.INJECTIVE)
    out = deformable_conv2d_nchw(data_nchw, offset_nchw, kernel_oihw, strides, padding, dilation, deformable_groups,
                                 groups, out_dtype)
    b_, f_, y_, x_ = get_const_tuple(out.shape)
    return te.compute((b_, y_, x_, f_), lambda b, y, x, f: out[b, f, y, x], name="deformable_conv2d_nhwc",
                      tag="deformable_conv2d_nhwc")


def fifo_buffer(data: Tensor, buffer: Tensor, axis: int) -> Tensor:
    """The FIFO ``buffer`` after pushing ``data`` along ``axis``: ``concatenate((buffer, data), axis)`` without
    its first ``data.shape[axis]`` entries along ``axis`` (the buffer's shape).  ``data`` matches the buffer
    in every other dimension and is at most as long along ``axis``."""
    what = "fifo_buffer"
    check_tensors(what, data=data, buffer=buffer)
    shape, dshape = get_const_tuple(buffer.shape), get_const_tuple(data.shape)
    ndim = len(shape)
    _check(ndim >= 1 and len(dshape) == ndim, f"{what}: {data.name} {dshape} and {buffer.name} {shape} must have "
           f"the same number (at least 1) of dimensions")
    ax = _const_int(axis, what, "axis")
    _check(-ndim <= ax < ndim, f"{what}: axis {ax} is out of range for the {ndim}-D {buffer.name}")
    ax %= ndim
    for k in range(ndim):
        _check(isinstance(dshape[k], int) and isinstance(shape[k], int),
               f"{what}: {data.name} and {buffer.name} must have constant shapes")
        ok = dshape[k] <= shape[k] if k == ax else dshape[k] == shape[k]
        _check(ok, f"{what}: {data.name} {dshape} does not fit {buffer.name} {shape} along axis {ax}: it must match "
               f"every other dimension and be at most as long along the axis")
    if data.dtype != buffer.dtype:
        raise DTypeError(f"{what}: {data.name} is {data.dtype} but {buffer.name} is {buffer.dtype}")
    keep = shape[ax] - dshape[ax]  # entries of the old buffer that stay, shifted to the front

    def element(*i: Any) -> PrimExpr:
        old = [*i[:ax], i[ax] + dshape[ax], *i[ax + 1:]]
        new = [*i[:ax], i[ax] - keep, *i[ax + 1:]]
        return te.if_then_else(i[ax] < keep, buffer(*old), data(*new))

    return te.compute(buffer.shape, element, name="new_buffer", tag=tag.INJECTIVE + ",fifo_buffer")
