"""Transposed convolutions (deconvolutions) in NCW, NCHW (plain and grouped) and NCDHW: the input dilated by
the strides, padded by ``kernel - 1 - padding`` on each side (plus ``output_padding`` at the end), and
convolved with the filter turned by 180 degrees and its in/out channel axes swapped.  The filter is laid
out (C_in, C_out // groups, *kernel) as in TVM; the output has C_out channels and
``(n - 1) * stride - pad_before - pad_after + kernel + output_padding`` elements per spatial axis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from ..utils import get_const_int, get_pad_tuple, get_pad_tuple3d, out_dtype_of
from .conv1d import _pad_1d
from .pad import dilate, pad

_AXES = {1: "W", 2: "HW", 3: "DHW"}


def _per_axis(value: Any, n: int, what: str, arg: str) -> list[int]:
    """``n`` constant ints from one value (used on every spatial axis) or a sequence of ``n``."""
    vals = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(vals) != n:
        raise ExprError(f"{what}: {arg} {value!r} must be one value or {n}")
    try:
        return [get_const_int(v) for v in vals]
    except ExprError:
        raise ExprError(f"{what}: {arg} {value!r} must hold constant integers") from None


def _pads(padding: Any, ks: list[int], what: str) -> tuple[list[int], list[int]]:
    """(before, after) padding per spatial axis, read as TVM's get_pad_tuple1d / get_pad_tuple / get_pad_tuple3d."""
    if not isinstance(padding, (str, int, PrimExpr, list, tuple)):
        raise ExprError(f"{what}: padding {padding!r} is not an int, a sequence of ints, 'SAME' or 'VALID'")
    try:
        if len(ks) == 1:
            left, right = _pad_1d(padding, ks[0], what)
            return [left], [right]
        flat = get_pad_tuple(padding, ks) if len(ks) == 2 else get_pad_tuple3d(padding, ks)
    except ExprError as exc:
        msg = str(exc)
        raise ExprError(msg if msg.startswith(what) else f"{what}: {msg}") from None
    n = len(ks)
    return list(flat[:n]), list(flat[n:])


def _conv_transpose(what: str, names: tuple[str, str], data: Tensor, kernel: Tensor, strides: Any, padding: Any,
                    out_dtype: str | None, output_padding: Any, groups: Any, ndim: int) -> Tensor:
    """The ``ndim``-D transposed convolution of ``data`` (N, C_in, *spatial) by ``kernel`` (C_in, C_out // groups,
    *kernel); ``names`` are the user-facing names of the two arguments, for messages."""
    arg_d, arg_k = names
    if not isinstance(data, Tensor) or not isinstance(kernel, Tensor):
        raise ExprError(f"{what}: {arg_d} and {arg_k} must be tensors")
    if len(data.shape) != ndim + 2 or len(kernel.shape) != ndim + 2:
        raise ExprError(f"{what}: {arg_d} and {arg_k} must be {ndim + 2}-D, got {len(data.shape)}-D and "
                        f"{len(kernel.shape)}-D")
    out_dtype = out_dtype_of(out_dtype, data, what)
    try:
        channels, *sizes = (get_const_int(d) for d in data.shape[1:])
    except ExprError:
        raise ExprError(f"{what}: {arg_d} {data.name} needs constant channels and spatial sizes, got "
                        f"{list(data.shape)}") from None
    try:
        kc, per, *ks = (get_const_int(d) for d in kernel.shape)
    except ExprError:
        raise ExprError(f"{what}: {arg_k} {kernel.name} needs a constant shape, got {list(kernel.shape)}") from None
    if kc != channels:
        raise ExprError(f"{what}: {data.name} has {channels} channels but {kernel.name} expects {kc}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or channels % groups:
        raise ExprError(f"{what}: groups={groups!r} must be a positive integer dividing the {channels} input "
                        f"channels of {data.name}")
    st = _per_axis(strides, ndim, what, "strides")
    if min(st) < 1:
        raise ExprError(f"{what}: strides must be positive, got {strides!r}")
    opad = _per_axis(output_padding, ndim, what, "output_padding")
    if not all(0 <= o < s for o, s in zip(opad, st)):
        raise ExprError(f"{what}: output_padding {output_padding!r} must be non-negative and less than the "
                        f"strides {strides!r}")
    before, after = _pads(padding, ks, what)
    if min(before + after) < 0:
        raise ExprError(f"{what}: padding {padding!r} must be non-negative")
    # A pad beyond kernel - 1 would crop the dilated input (a negative pad of it), which pad() cannot express.
    if any(max(b, a) > k - 1 for b, a, k in zip(before, after, ks)):
        raise ExprError(f"{what}: padding {padding!r} is larger than the kernel ({'x'.join(map(str, ks))}) less one")
    outs = [(n - 1) * s - b - a + k + o for n, s, b, a, k, o in zip(sizes, st, before, after, ks, opad)]
    if min(outs) < 1:
        raise ExprError(f"{what}: padding {padding!r} leaves an empty output ({'x'.join(map(str, outs))})")

    dilated = dilate(data, [1, 1, *st], name="data_dilate")
    padded = pad(dilated, [0, 0, *(k - 1 - b for k, b in zip(ks, before))],
                 [0, 0, *(k - 1 - a + o for k, a, o in zip(ks, after, opad))], name="data_pad")

    def turn(o: Any, i: Any, *sp: Any) -> PrimExpr:
        # flipped[o, i, ...] = kernel[i, o, k - 1 - ...]: the gradient of a convolution is a convolution
        # with the rotated filter, its channel axes swapped.
        return kernel(i, o, *(k - 1 - v for k, v in zip(ks, sp)))

    flipped = te.compute((per, channels, *ks), _named(turn, "kernel", ndim), name="kernel_transform")
    dc = te.reduce_axis((0, channels // groups), name="dc")
    red = [te.reduce_axis((0, k), name=f"d{a.lower()}") for a, k in zip(_AXES[ndim], ks)]
    cg = channels // groups

    def element(b: Any, c: Any, *sp: Any) -> PrimExpr:
        taps = [v + r for v, r in zip(sp, red)]
        if groups == 1:  # the channel is the reduction axis itself: no index arithmetic for schedules to see
            x, w = padded(b, dc, *taps), flipped(c, dc, *red)
        else:
            chan = c // per * cg + dc
            x, w = padded(b, chan, *taps), flipped(c % per, chan, *red)
        return te.sum(x.astype(out_dtype) * w.astype(out_dtype), axis=[dc, *red])

    return te.compute((data.shape[0], per * groups, *outs), _named(element, "output", ndim), tag=what)


def _named(fn: Callable[..., PrimExpr], kind: str, ndim: int) -> Callable[..., PrimExpr]:
    """``fn`` behind a lambda of 2 + ``ndim`` arguments whose names te.compute gives the op's axes, as TVM's
    hand-written lambdas do: (o, i, ...) for the turned filter, (b, c, ...) for the output, then [d,] [h,] w."""
    table: dict[tuple[str, int], Callable[..., PrimExpr]] = {
        ("kernel", 1): lambda o, i, w: fn(o, i, w),
        ("kernel", 2): lambda o, i, h, w: fn(o, i, h, w),
        ("kernel", 3): lambda o, i, d, h, w: fn(o, i, d, h, w),
        ("output", 1): lambda b, c, w: fn(b, c, w),
        ("output", 2): lambda b, c, h, w: fn(b, c, h, w),
        ("output", 3): lambda b, c, d, h, w: fn(b, c, d, h, w),
    }
    return table[kind, ndim]


def conv1d_transpose_ncw(data: Tensor, kernel: Tensor, stride: Any, padding: Any, out_dtype: str | None,
                         output_padding: Any) -> Tensor:
    """data (N, C_in, W), kernel (C_in, C_out, KW) -> (N, C_out, (W - 1) * stride - pads + KW + output_padding).
    ``stride`` and ``output_padding`` are an int or a one-element sequence; ``padding`` an int, one or two
    ints (left, right), "SAME" or "VALID"."""
    return _conv_transpose("conv1d_transpose_ncw", ("data", "kernel"), data, kernel, stride, padding, out_dtype,
                           output_padding, 1, 1)


def conv2d_transpose_nchw(Input: Tensor, Filter: Tensor, strides: Any, padding: Any,  # noqa: N803
                          out_dtype: str | None, output_padding: Any) -> Tensor:
    """Input (N, C, H, W), Filter (C, K, KH, KW) -> (N, K, (H-1)*sh - pads + KH + oph, ...)."""
    return _conv_transpose("conv2d_transpose_nchw", ("Input", "Filter"), Input, Filter, strides, padding, out_dtype,
                           output_padding, 1, 2)


def group_conv2d_transpose_nchw(data: Tensor, kernel: Tensor, stride: Any, padding: Any, out_dtype: str | None,
                                output_padding: Any, groups: int) -> Tensor:
    """data (N, C_in, H, W), kernel (C_in, C_out // groups, KH, KW) -> (N, C_out, OH, OW): each of the
    ``groups`` slices of C_in / groups input channels makes its own C_out / groups output channels.
    One group is conv2d_transpose_nchw (its tag too, as in TVM)."""
    if groups == 1 and not isinstance(groups, bool):
        return conv2d_transpose_nchw(data, kernel, stride, padding, out_dtype, output_padding)
    return _conv_transpose("group_conv2d_transpose_nchw", ("data", "kernel"), data, kernel, stride, padding,
                           out_dtype, output_padding, groups, 2)


def conv3d_transpose_ncdhw(Input: Tensor, Filter: Tensor, strides: Any, padding: Any,  # noqa: N803
                           out_dtype: str | None, output_padding: Any) -> Tensor:
    """Input (N, C_in, D, H, W), Filter (C_in, C_out, KD, KH, KW) -> (N, C_out, OD, OH, OW); ``strides`` and
    ``output_padding`` are one int or three, ``padding`` as conv3d's (an int, three, six, "SAME", "VALID")."""
    return _conv_transpose("conv3d_transpose_ncdhw", ("Input", "Filter"), Input, Filter, strides, padding, out_dtype,
                           output_padding, 1, 3)
