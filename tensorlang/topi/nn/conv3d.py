"""3-D convolutions in NCDHW (filter OIDHW) and NDHWC (filter DHWIO) layouts, with stride, padding,
dilation and groups."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from ..utils import check_tensors, const_ints, get_const_tuple, get_pad_tuple3d
from .pad import pad

_AXES = "DHW"


def _triple(value: Any, what: str, arg: str) -> list[int]:
    """Three positive ints (depth, height, width) from one value or three."""
    out = const_ints(value, 3, what, arg)
    if min(out) < 1:
        raise ExprError(f"{what}: {arg} {tuple(out)} must be positive")
    return out


def _conv3d(what: str, layout: str, kernel_layout: str, Input: Tensor, Filter: Tensor,  # noqa: N803
            stride: Any, padding: Any, dilation: Any, groups: Any, out_dtype: str | None) -> Tensor:
    """The direct convolution: output channel f of group f // (O / groups) reads that group's
    input channels; the reduction axes (rc, rz, ry, rx) are in the filter's order."""
    check_tensors(what, Input=Input, Filter=Filter)
    out_dtype = out_dtype or str(Input.dtype)
    if len(Input.shape) != 5 or len(Filter.shape) != 5:
        raise ExprError(f"{what}: {Input.name} and {Filter.name} must be 5-D ({layout}, {kernel_layout}), got "
                        f"{len(Input.shape)}-D and {len(Filter.shape)}-D")
    dim = dict(zip(layout, get_const_tuple(Input.shape)))
    kdim = dict(zip(kernel_layout, get_const_tuple(Filter.shape)))
    c, o = dim["C"], kdim["O"]
    if not (isinstance(groups, int) and groups >= 1 and c % groups == 0 and o % groups == 0):
        raise ExprError(f"{what}: groups={groups!r} must divide the {c} input and the {o} output channels")
    cg = c // groups
    if kdim["I"] != cg:
        raise ExprError(f"{what}: {Input.name} has {c} channels, so {Filter.name} needs {cg} input channels "
                        f"a group ({groups} group(s)), but it has {kdim['I']}")
    st = _triple(stride, what, "stride")
    dil = _triple(dilation, what, "dilation")
    ext = [(kdim[a] - 1) * d + 1 for a, d in zip(_AXES, dil)]
    pads = get_pad_tuple3d(padding, ext)
    if any(not isinstance(p, int) or p < 0 for p in pads):
        raise ExprError(f"{what}: padding must not be negative, got (front, top, left, back, bottom, right) = "
                        f"{tuple(pads)}")
    before, after = dict(zip(_AXES, pads[:3])), dict(zip(_AXES, pads[3:]))
    outs = {}
    for a, e, s in zip(_AXES, ext, st):
        outs[a] = (dim[a] + before[a] + after[a] - e) // s + 1
        if outs[a] < 1:
            raise ExprError(f"{what}: the {a} axis of {Input.name} ({dim[a]}, padded {before[a]}+{after[a]}) is "
                            f"smaller than the dilated window ({e}), so there is no output")
    padded = pad(Input, [before.get(a, 0) for a in layout], [after.get(a, 0) for a in layout], name="pad_temp")
    rc = te.reduce_axis((0, cg), name="rc")
    red = {"I": rc, **{a: te.reduce_axis((0, kdim[a]), name=f"r{a.lower()}") for a in _AXES}}
    per = o // groups
    out_shape = {"N": dim["N"], "C": o, **outs}

    def element(nn: Any, ff: Any, zz: Any, yy: Any, xx: Any) -> Any:
        # One group: the channel is the reduction axis itself (no index arithmetic for schedules to see).
        chan = rc if groups == 1 else ff // per * cg + rc
        at = {"N": nn, "C": chan}
        for a, v, s, d in zip(_AXES, (zz, yy, xx), st, dil):
            at[a] = v * s + red[a] * d
        weight = {"O": ff, **red}
        return te.sum(padded[tuple(at[a] for a in layout)].astype(out_dtype)
                      * Filter[tuple(weight[a] for a in kernel_layout)].astype(out_dtype),
                      axis=[red[a] for a in kernel_layout if a != "O"])

    shape = [out_shape[a] for a in layout]
    if layout == "NCDHW":
        return te.compute(shape, lambda n, f, z, y, x: element(n, f, z, y, x), name="Conv3dOutput", tag=what)
    return te.compute(shape, lambda n, z, y, x, f: element(n, f, z, y, x), name="Conv3dOutput", tag=what)


def conv3d_ncdhw(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                 groups: int = 1, out_dtype: str | None = None) -> Tensor:
    """Input (N, C, D, H, W), Filter (K, C // groups, KD, KH, KW) -> (N, K, OD, OH, OW)."""
    return _conv3d("conv3d_ncdhw", "NCDHW", "OIDHW", Input, Filter, stride, padding, dilation, groups, out_dtype)


def conv3d_ndhwc(Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any = 1,  # noqa: N803
                 groups: int = 1, out_dtype: str | None = "float32") -> Tensor:
    """Input (N, D, H, W, C), Filter (KD, KH, KW, C // groups, K) -> (N, OD, OH, OW, K)."""
    return _conv3d("conv3d_ndhwc", "NDHWC", "DHWIO", Input, Filter, stride, padding, dilation, groups, out_dtype)
