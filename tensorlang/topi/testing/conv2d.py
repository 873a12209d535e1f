"""numpy references for convolutions (slow, obvious loops over the kernel window)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils import get_pad_tuple, pair


def _conv_nchw(a: np.ndarray, w: np.ndarray, stride: Any, padding: Any, dilation: Any = 1) -> np.ndarray:
    sh, sw = (int(v) for v in pair(stride, "stride"))
    dh, dw = (int(v) for v in pair(dilation, "dilation"))
    n, c, h, wd = a.shape
    k, fc, kh, kw = w.shape
    pt, pl, pb, pr = get_pad_tuple(padding, ((kh - 1) * dh + 1, (kw - 1) * dw + 1))
    ap = np.pad(a, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + pl + pr - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, k, oh, ow), dtype=np.result_type(a.dtype, w.dtype))
    for y in range(kh):
        for x in range(kw):
            patch = ap[:, :, y * dh: y * dh + (oh - 1) * sh + 1: sh, x * dw: x * dw + (ow - 1) * sw + 1: sw]
            out += np.einsum("nchw,kc->nkhw", patch, w[:, :, y, x])
    return out


def conv2d_nchw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any, groups: int = 1,
                       dilation: Any = 1) -> np.ndarray:
    """NCHW input, KCRS filter -> NKPQ output (``groups`` splits the channels)."""
    if groups == 1:
        return _conv_nchw(a_np, w_np, stride, padding, dilation)
    cg = a_np.shape[1] // groups
    kg = w_np.shape[0] // groups
    parts = [_conv_nchw(a_np[:, g * cg:(g + 1) * cg], w_np[g * kg:(g + 1) * kg], stride, padding, dilation)
             for g in range(groups)]
    return np.concatenate(parts, axis=1)


def conv2d_nhwc_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any, groups: int = 1) -> np.ndarray:
    """NHWC input, HWIO filter -> NHWC output."""
    a = a_np.transpose(0, 3, 1, 2)
    w = w_np.transpose(3, 2, 0, 1)
    return conv2d_nchw_python(a, w, stride, padding, groups).transpose(0, 2, 3, 1)


def conv2d_hwcn_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any) -> np.ndarray:
    """HWCN input (H, W, C, N), HWIO filter (KH, KW, C, K) -> HWCN output (OH, OW, K, N)."""
    out = conv2d_nchw_python(a_np.transpose(3, 2, 0, 1), w_np.transpose(3, 2, 0, 1), stride, padding)
    return out.transpose(2, 3, 1, 0)


def depthwise_conv2d_python_nchw(input_np: np.ndarray, filter_np: np.ndarray, stride: Any, padding: Any) -> np.ndarray:
    """NCHW input, (C, multiplier, KH, KW) filter -> (N, C*multiplier, OH, OW)."""
    c, mult, kh, kw = filter_np.shape
    w = filter_np.reshape(c * mult, 1, kh, kw)
    a = np.repeat(input_np, mult, axis=1)
    return conv2d_nchw_python(a, w, stride, padding, groups=c * mult)


def depthwise_conv2d_python_nhwc(input_np: np.ndarray, filter_np: np.ndarray, stride: Any, padding: Any) -> np.ndarray:
    """NHWC input, (KH, KW, C, multiplier) filter -> (N, OH, OW, C*multiplier), output channel
    ``c * multiplier + m``, as TVM's reference."""
    out = depthwise_conv2d_python_nchw(input_np.transpose(0, 3, 1, 2), filter_np.transpose(2, 3, 0, 1), stride,
                                       padding)
    return out.transpose(0, 2, 3, 1)
