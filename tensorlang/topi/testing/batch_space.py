"""numpy references for space_to_batch_nd and batch_to_space_nd (blocks of the spatial dimensions moved
into and out of the batch) and for YOLO's reorg."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def space_to_batch_nd_python(data: np.ndarray, block_shape: Sequence[int], pad_before: Sequence[int],
                             pad_after: Sequence[int], pad_value: Any = 0) -> np.ndarray:
    """``data`` (batch, spatial..., rest...) padded on its M spatial dimensions, each then split into
    (d / block, block) with the block factors moved in front of the batch: (batch * prod(block_shape),
    padded_k / block_shape[k]..., rest...)."""
    m = len(block_shape)
    pads = [(0, 0)] + list(zip(pad_before, pad_after)) + [(0, 0)] * (data.ndim - 1 - m)
    padded = np.pad(data, pads, mode="constant", constant_values=pad_value)
    split = [padded.shape[0]]
    for k, b in enumerate(block_shape):
        split += [padded.shape[k + 1] // b, b]
    split += list(padded.shape[m + 1:])
    # (n, o_0, b_0, o_1, b_1, ..., rest) -> (b_0, b_1, ..., n, o_0, o_1, ..., rest)
    order = [2 + 2 * k for k in range(m)] + [0] + [1 + 2 * k for k in range(m)] + list(range(2 * m + 1, len(split)))
    out = padded.reshape(split).transpose(order)
    return out.reshape((-1,) + tuple(split[1 + 2 * k] for k in range(m)) + padded.shape[m + 1:])


def batch_to_space_nd_python(data: np.ndarray, block_shape: Sequence[int], crop_begin_list: Sequence[int],
                             crop_end_list: Sequence[int]) -> np.ndarray:
    """The inverse of space_to_batch_nd: the batch's leading block factors interleaved back into the M
    spatial dimensions, which are then cropped by ``crop_begin_list`` / ``crop_end_list``."""
    m = len(block_shape)
    n = data.shape[0] // int(np.prod(block_shape))
    blocked = data.reshape(tuple(block_shape) + (n,) + data.shape[1:])
    # (b_0, ..., b_{m-1}, n, d_0, ..., d_{m-1}, rest) -> (n, d_0, b_0, d_1, b_1, ..., rest)
    order = [m] + [x for k in range(m) for x in (m + 1 + k, k)] + list(range(2 * m + 1, blocked.ndim))
    spread = blocked.transpose(order).reshape(
        (n,) + tuple(data.shape[k + 1] * b for k, b in enumerate(block_shape)) + data.shape[m + 1:])
    crop = tuple(slice(b, spread.shape[k + 1] - e) for k, (b, e) in enumerate(zip(crop_begin_list, crop_end_list)))
    return spread[(slice(None),) + crop]


def reorg_python(a_np: np.ndarray, stride: int) -> np.ndarray:
    """YOLOv2's reorg of ``a_np`` (N, C, H, W) -> (N, C * stride^2, H / stride, W / stride), as Darknet
    writes it: the input, read as (N, C / stride^2, H * stride, W * stride), is gathered into the output's
    flat order, output channel k taking channel k % (C / stride^2) at offset k // (C / stride^2)."""
    n, c, h, w = a_np.shape
    oc = c // (stride * stride)
    src = a_np.reshape(n, oc, h * stride, w * stride)
    k, j, i = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    offset = k // oc
    gathered = src[:, k % oc, j * stride + offset // stride, i * stride + offset % stride]  # (n, c, h, w)
    return gathered.reshape(n, c * stride * stride, h // stride, w // stride)
