"""numpy references for FlowNet correlation (``correlation_nchw_python``) and deformable convolution
(``deformable_conv2d_nchw_python``, ``deformable_conv2d_nhwc_python``), with TVM's names and signatures;
float64 results."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils import get_pad_tuple


def _two(value: Any) -> tuple[int, int]:
    vals = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(vals) != 2:
        raise ValueError(f"expected one value or two, got {value!r}")
    return int(vals[0]), int(vals[1])


def correlation_nchw_python(data1: np.ndarray, data2: np.ndarray, kernel_size: int, max_displacement: int,
                            stride1: int, stride2: int, padding: Any, is_multiply: bool) -> np.ndarray:
    """FlowNet correlation of two (N, C, H, W) arrays, as ``topi.nn.correlation_nchw`` (``padding``: an int,
    (pad_h, pad_w) or (top, left, bottom, right)); the output size rounds up, as TVM's operator does."""
    top, left, bottom, right = get_pad_tuple(padding, (1, 1))
    pad = ((0, 0), (0, 0), (top, bottom), (left, right))
    a = np.pad(data1.astype("float64"), pad)
    b = np.pad(data2.astype("float64"), pad)
    n, c, hp, wp = a.shape
    k = kernel_size
    border = max_displacement + (k - 1) // 2
    radius = max_displacement // stride2
    grid = 2 * radius + 1
    out_h = -(-(hp - 2 * border) // stride1)
    out_w = -(-(wp - 2 * border) // stride1)
    if min(out_h, out_w) <= 0:
        raise ValueError(f"the padded {hp}x{wp} input is smaller than the 2 * {border} border")
    out = np.zeros((n, grid * grid, out_h, out_w))
    # Every output position at once for each displacement and tap: strided views of the padded arrays.
    rows = slice(None, (out_h - 1) * stride1 + 1, stride1)
    cols = slice(None, (out_w - 1) * stride1 + 1, stride1)
    for q in range(grid * grid):
        dy, dx = (q // grid - radius) * stride2, (q % grid - radius) * stride2
        for ry in range(k):
            for rx in range(k):
                y1, x1 = max_displacement + ry, max_displacement + rx
                p1 = a[:, :, y1:, x1:][:, :, rows, cols]
                p2 = b[:, :, y1 + dy:, x1 + dx:][:, :, rows, cols]
                out[:, q] += (p1 * p2 if is_multiply else np.abs(p1 - p2)).sum(axis=1)
    return out / (k * k * c)


def _bilinear_taps(image: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``image`` (C, H, W) sampled at the points (y, x) (equal shapes S) -> (C, *S): bilinear, 0 for a
    point outside [0, H) x [0, W) and for each of its neighbours outside the image."""
    _, h, w = image.shape
    inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    y, x = np.where(inside, y, 0.0), np.where(inside, x, 0.0)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    wy, wx = y - y0, x - x0
    out = np.zeros((image.shape[0], *y.shape))
    for yy, fy in ((y0, 1 - wy), (y0 + 1, wy)):
        for xx, fx in ((x0, 1 - wx), (x0 + 1, wx)):
            ok = inside & (yy < h) & (xx < w)
            out += np.where(ok, fy * fx, 0.0) * image[:, np.minimum(yy, h - 1), np.minimum(xx, w - 1)]
    return out


def deformable_conv2d_nchw_python(a_np: np.ndarray, offset_np: np.ndarray, w_np: np.ndarray, stride: Any,
                                  padding: Any, dilation: Any, deformable_groups: int, groups: int) -> np.ndarray:
    """Deformable convolution of ``a_np`` (N, C, H, W) with offsets (N, deformable_groups * KH * KW * 2, OH,
    OW) and kernel ``w_np`` (K, C // groups, KH, KW), as ``topi.nn.deformable_conv2d_nchw``."""
    n_batch, channel, _, _ = a_np.shape
    num_filter, group_channel, kh, kw = w_np.shape
    out_h, out_w = offset_np.shape[2:]
    sh, sw = _two(stride)
    dh, dw = _two(dilation)
    top, left, _, _ = get_pad_tuple(padding, ((kh - 1) * dh + 1, (kw - 1) * dw + 1))
    per_dgroup = channel // deformable_groups
    # Undeformed tap positions (KH, KW, OH, OW), to which the offsets are added.
    base_y = (np.arange(kh) * dh)[:, None, None, None] + (np.arange(out_h) * sh - top)[None, None, :, None]
    base_x = (np.arange(kw) * dw)[None, :, None, None] + (np.arange(out_w) * sw - left)[None, None, None, :]
    out = np.zeros((n_batch, num_filter, out_h, out_w))
    per_group = num_filter // groups
    for n in range(n_batch):
        offsets = offset_np[n].astype("float64").reshape(deformable_groups, kh, kw, 2, out_h, out_w)
        # cols[c, kh, kw, oh, ow]: the sampled input behind every tap of every output position.
        cols = np.concatenate([
            _bilinear_taps(a_np[n, g * per_dgroup:(g + 1) * per_dgroup].astype("float64"),
                           base_y + offsets[g, :, :, 0], base_x + offsets[g, :, :, 1])
            for g in range(deformable_groups)])
        for g in range(groups):
            group_cols = cols[g * group_channel:(g + 1) * group_channel]
            group_w = w_np[g * per_group:(g + 1) * per_group].astype("float64")
            out[n, g * per_group:(g + 1) * per_group] = np.einsum("ckluv,fckl->fuv", group_cols, group_w)
    return out


def deformable_conv2d_nhwc_python(a_np: np.ndarray, offset_np: np.ndarray, w_np: np.ndarray, stride: Any,
                                  padding: Any, dilation: Any, deformable_groups: int, groups: int) -> np.ndarray:
    """deformable_conv2d_nchw_python in NHWC: ``a_np`` (N, H, W, C), offsets (N, OH, OW, deformable_groups *
    KH * KW * 2), kernel HWIO (KH, KW, C // groups, K) -> (N, OH, OW, K)."""
    out = deformable_conv2d_nchw_python(a_np.transpose(0, 3, 1, 2), offset_np.transpose(0, 3, 1, 2),
                                        w_np.transpose(3, 2, 0, 1), stride, padding, dilation, deformable_groups,
                                        groups)
    return out.transpose(0, 2, 3, 1)
