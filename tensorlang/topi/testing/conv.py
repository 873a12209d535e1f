"""numpy references for conv1d (NCW, grouped) and the transposed convolutions conv1d_transpose (NCW),
conv2d_transpose (NCHW, grouped) and conv3d_transpose (NCDHW)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..utils import get_pad_tuple, get_pad_tuple3d


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


def _per_axis(value: Any, n: int, arg: str) -> list[int]:
    vals = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(vals) != n:
        raise ValueError(f"{arg} {value!r} must be one value or {n}")
    return [int(v) for v in vals]


def _conv_transpose(a_np: np.ndarray, w_np: np.ndarray, strides: list[int], before: list[int], after: list[int],
                    output_padding: list[int]) -> np.ndarray:
    """(N, C, *spatial) input, (C, K, *kernel) filter: every input element scatters the filter, scaled, into
    the output at stride spacing; the result is cropped by the padding (extended by ``output_padding``)."""
    if not all(0 <= o < s for o, s in zip(output_padding, strides)):
        raise ValueError(f"output_padding {output_padding} must be non-negative and less than the strides {strides}")
    n, _, *sizes = a_np.shape
    _, k, *ks = w_np.shape
    full = np.zeros((n, k, *((m - 1) * s + kk + o for m, s, kk, o in zip(sizes, strides, ks, output_padding))))
    a64 = a_np.astype("float64")
    for tap in itertools.product(*(range(kk) for kk in ks)):
        where = tuple(slice(t, t + (m - 1) * s + 1, s) for t, m, s in zip(tap, sizes, strides))
        weights = w_np[(slice(None), slice(None), *tap)]
        full[(slice(None), slice(None), *where)] += np.einsum("nc...,ck->nk...", a64, weights)
    return full[(slice(None), slice(None), *(slice(b, m - a) for b, a, m in zip(before, after, full.shape[2:])))]


def conv1d_transpose_ncw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any,
                                output_padding: Any) -> np.ndarray:
    """NCW input, (C, K, KW) filter -> (N, K, (W - 1) * stride - pads + KW + output_padding); ``padding`` as
    TVM's get_pad_tuple1d (an int, one or two ints, "SAME", "VALID")."""
    left, right = _pad_1d(padding, w_np.shape[2])
    return _conv_transpose(a_np, w_np, _per_axis(stride, 1, "stride"), [left], [right],
                           _per_axis(output_padding, 1, "output_padding"))


def conv2d_transpose_nchw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any,
                                 output_padding: Any, groups: int = 1) -> np.ndarray:
    """NCHW input, (C, K // groups, KH, KW) filter -> (N, K, OH, OW): every input pixel scatters the filter,
    scaled, into the output at stride spacing; the result is cropped by ``padding`` (extended by
    ``output_padding``).  With ``groups``, each slice of C / groups channels makes its own K / groups outputs."""
    top, left, bottom, right = get_pad_tuple(padding, w_np.shape[2:])
    st, opad = _per_axis(stride, 2, "stride"), _per_axis(output_padding, 2, "output_padding")
    parts = zip(np.array_split(a_np, groups, axis=1), np.array_split(w_np, groups, axis=0))
    return np.concatenate([_conv_transpose(a, w, st, [top, left], [bottom, right], opad) for a, w in parts], axis=1)


def conv3d_transpose_ncdhw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any,
                                  output_padding: Any) -> np.ndarray:
    """NCDHW input, (C, K, KD, KH, KW) filter -> (N, K, OD, OH, OW); ``padding`` as conv3d's (an int, three,
    six, "SAME", "VALID")."""
    pads = get_pad_tuple3d(padding, w_np.shape[2:])
    return _conv_transpose(a_np, w_np, _per_axis(stride, 3, "stride"), list(pads[:3]), list(pads[3:]),
                           _per_axis(output_padding, 3, "output_padding"))
