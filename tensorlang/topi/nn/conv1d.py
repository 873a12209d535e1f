"""1-D convolutions in NCW and NWC layouts, with stride, padding and dilation."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from ..utils import check_tensors, get_const_int
from .pad import pad


def _single(value: Any, what: str, arg: str) -> int:
    """One positive int from an int or a one-element sequence."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ExprError(f"{what}: {arg} must be one value, got {value!r}")
        value = value[0]
    try:
        v = get_const_int(value)
    except ExprError:
        v = 0
    if v < 1:
        raise ExprError(f"{what}: {arg} must be a positive integer, got {value!r}")
    return v


def _pad_1d(padding: Any, kernel: int, what: str) -> tuple[int, int]:
    """(left, right) padding from an int, one or two ints, "SAME" or "VALID"."""
    if isinstance(padding, str):
        if padding == "VALID":
            return 0, 0
        if padding == "SAME":
            total = kernel - 1
            return (total + 1) // 2, total // 2
        raise ExprError(f"{what}: padding '{padding}' is not 'SAME', 'VALID' or numbers")
    pads = [get_const_int(p) for p in (padding if isinstance(padding, (list, tuple)) else [padding])]
    if len(pads) not in (1, 2) or any(p < 0 for p in pads):
        raise ExprError(f"{what}: padding {padding!r}: expected one or two non-negative ints")
    return pads[0], pads[-1]


def _conv1d(what: str, layout: str, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
            out_dtype: str | None, groups: Any = 1) -> Tensor:
    check_tensors(what, data=data, kernel=kernel)
    if len(data.shape) != 3 or len(kernel.shape) != 3:
        raise ExprError(f"{what}: data and kernel must be 3-D, got {len(data.shape)}-D and {len(kernel.shape)}-D")
    out_dtype = out_dtype or str(data.dtype)
    stride, dil = _single(strides, what, "strides"), _single(dilation, what, "dilation")
    if layout == "NCW":
        batch, channels, width = data.shape
        filters, kc, ksize = kernel.shape
    else:
        batch, width, channels = data.shape
        ksize, kc, filters = kernel.shape
    g = groups if isinstance(groups, int) and not isinstance(groups, bool) else 0
    if g < 1 or get_const_int(channels) % g or get_const_int(filters) % g:
        raise ExprError(f"{what}: groups must be a positive int dividing the {get_const_int(channels)} channels and "
                        f"the {get_const_int(filters)} filters, got {groups!r}")
    if get_const_int(kc) * g != get_const_int(channels):
        raise ExprError(f"{what}: {data.name} has {get_const_int(channels)} channels but {kernel.name} expects "
                        f"{get_const_int(kc)}" + (f" per group ({g} groups)" if g > 1 else ""))
    k = get_const_int(ksize)
    left, right = _pad_1d(padding, (k - 1) * dil + 1, what)
    out_w = (get_const_int(width) + left + right - (k - 1) * dil - 1) // stride + 1
    if out_w < 1:
        raise ExprError(f"{what}: the dilated kernel ({(k - 1) * dil + 1}) is wider than the padded input "
                        f"({get_const_int(width) + left + right})")
    w_axis = layout.index("W")
    before, after = [0, 0, 0], [0, 0, 0]
    before[w_axis], after[w_axis] = left, right
    padded = pad(data, before, after, name="pad_temp")
    rc = te.reduce_axis((0, kc), name="rc")
    rw = te.reduce_axis((0, ksize), name="rw")
    per_group = get_const_int(filters) // g  # filters of one group; channel of filter c: its group's + rc

    def chan(c: Any) -> Any:
        return rc if g == 1 else (c // per_group) * kc + rc

    tag = ("group_" if g > 1 else "") + ("conv1d_ncw" if layout == "NCW" else "conv1d_nwc")
    if layout == "NCW":
        return te.compute((batch, filters, out_w), lambda b, c, w: te.sum(
            padded[b, chan(c), w * stride + rw * dil].astype(out_dtype) * kernel[c, rc, rw].astype(out_dtype),
            axis=[rc, rw]), tag=tag)
    return te.compute((batch, out_w, filters), lambda b, w, c: te.sum(
        padded[b, w * stride + rw * dil, chan(c)].astype(out_dtype) * kernel[rw, rc, c].astype(out_dtype),
        axis=[rw, rc]), tag=tag)


def conv1d_ncw(data: Tensor, kernel: Tensor, strides: Any = 1, padding: Any = "VALID", dilation: Any = 1,
               out_dtype: str | None = None) -> Tensor:
    """data (N, C, W), kernel (F, C, K) -> (N, F, OW)."""
    return _conv1d("conv1d_ncw", "NCW", data, kernel, strides, padding, dilation, out_dtype)


def conv1d_nwc(data: Tensor, kernel: Tensor, strides: Any = 1, padding: Any = "VALID", dilation: Any = 1,
               out_dtype: str | None = None) -> Tensor:
    """data (N, W, C), kernel (K, C, F) -> (N, OW, F)."""
    return _conv1d("conv1d_nwc", "NWC", data, kernel, strides, padding, dilation, out_dtype)


def group_conv1d_ncw(data: Tensor, kernel: Tensor, strides: Any = 1, padding: Any = "VALID", dilation: Any = 1,
                     groups: int = 1, out_dtype: str | None = None) -> Tensor:
    """data (N, C, W), kernel (F, C // groups, K) -> (N, F, OW): filter f sees only the channels of its
    group, f // (F // groups) (TVM's topi.nn.group_conv1d_ncw)."""
    return _conv1d("group_conv1d_ncw", "NCW", data, kernel, strides, padding, dilation, out_dtype, groups)


def group_conv1d_nwc(data: Tensor, kernel: Tensor, strides: Any = 1, padding: Any = "VALID", dilation: Any = 1,
                     groups: int = 1, out_dtype: str | None = None) -> Tensor:
    """data (N, W, C), kernel (K, C // groups, F) -> (N, OW, F), grouped as group_conv1d_ncw."""
    return _conv1d("group_conv1d_nwc", "NWC", data, kernel, strides, padding, dilation, out_dtype, groups)


def conv1d(data: Tensor, kernel: Tensor, strides: Any = 1, padding: Any = "VALID", dilation: Any = 1,
           layout: str = "NCW", out_dtype: str | None = None) -> Tensor:
    """conv1d in ``layout`` NCW (kernel FCK) or NWC (kernel KCF)."""
    if layout == "NCW":
        return conv1d_ncw(data, kernel, strides, padding, dilation, out_dtype)
    if layout == "NWC":
        return conv1d_nwc(data, kernel, strides, padding, dilation, out_dtype)
    raise ExprError(f"conv1d: layout '{layout}' is not supported (NCW, NWC)")
