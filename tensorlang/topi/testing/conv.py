"""numpy references for conv1d (NCW, grouped) and conv2d_transpose (NCHW)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils import get_pad_tuple, pair


def _one(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def _pad_1d(padding: Any, kernel: int) -> tuple[int, int]:
    """(left, right) from an int, one or two ints, "SAME" or "VALID" (TVM's get_pad_tuple1d)."""
    if isinstance(padding, str):
        if padding == "VALID":
            return 0, 0
        if padding == "SAME":
            return kernel // 2, (kernel - 1) // 2
        raise ValueError(f"padding '{padding}' is not 'SAME', 'VALID' or numbers")
    pads = list(padding) if isinstance(padding, (list, tuple)) else [padding]
    return int(pads[0]), int(pads[-1])


def conv1d_ncw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any, dilation: Any) -> np.ndarray:
    """NCW input, (F, C, K) kernel -> (N, F, OW)."""
    stride, dilation = _one(stride), _one(dilation)
    _, _, width = a_np.shape
    _, _, k = w_np.shape
    left, right = _pad_1d(padding, (k - 1) * dilation + 1)
    padded = np.pad(a_np.astype("float64"), ((0, 0), (0, 0), (left, right)))
    out_w = (width + left + right - (k - 1) * dilation - 1) // stride + 1
    out = np.zeros((a_np.shape[0], w_np.shape[0], out_w))
    for r in range(k):
        taps = padded[:, :, r * dilation: r * dilation + (out_w - 1) * stride + 1: stride]
        out += np.einsum("ncw,fc->nfw", taps, w_np[:, :, r])
    return out


def group_conv1d_ncw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any, dilation: Any,
                            groups: int) -> np.ndarray:
    """conv1d_ncw_python with the channels (and filters) split into ``groups`` independent groups."""
    parts = zip(np.array_split(a_np, groups, axis=1), np.array_split(w_np, groups, axis=0))
    return np.concatenate([conv1d_ncw_python(a, w, stride, padding, dilation) for a, w in parts], axis=1)


def conv2d_transpose_nchw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any,
                                 output_padding: Any) -> np.ndarray:
    """NCHW input, (C, K, KH, KW) filter -> (N, K, OH, OW): every input pixel scatters the filter, scaled,
    into the output at stride spacing; the result is cropped by ``padding`` (extended by ``output_padding``)."""
    sh, sw = (int(v) for v in pair(stride, "stride"))
    oph, opw = (int(v) for v in pair(output_padding, "output_padding"))
    n, _, h, w = a_np.shape
    _, k, kh, kw = w_np.shape
    top, left, bottom, right = get_pad_tuple(padding, (kh, kw))
    full = np.zeros((n, k, (h - 1) * sh + kh + oph, (w - 1) * sw + kw + opw))
    for y in range(kh):
        for x in range(kw):
            contrib = np.einsum("nchw,ck->nkhw", a_np.astype("float64"), w_np[:, :, y, x])
            full[:, :, y: y + (h - 1) * sh + 1: sh, x: x + (w - 1) * sw + 1: sw] += contrib
    out_h = (h - 1) * sh - top - bottom + kh + oph
    out_w = (w - 1) * sw - left - right + kw + opw
    return full[:, :, top: top + out_h, left: left + out_w]
