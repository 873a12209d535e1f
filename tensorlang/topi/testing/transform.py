"""numpy references for layout and indexing ops: depth_to_space, space_to_depth, gather, gather_nd,
one_hot, strided_slice and dilate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def depth_to_space_python(data: np.ndarray, block_size: int, mode: str = "DCR") -> np.ndarray:
    """NCHW (N, C, H, W) -> (N, C / bs**2, H * bs, W * bs); channel blocks become pixel blocks."""
    n, c, h, w = data.shape
    bs = block_size
    out_c = c // (bs * bs)
    if mode == "DCR":  # channel = (row in block, column in block, output channel)
        blocks = data.reshape(n, bs, bs, out_c, h, w).transpose(0, 3, 4, 1, 5, 2)
    else:  # CDR: channel = (output channel, row in block, column in block)
        blocks = data.reshape(n, out_c, bs, bs, h, w).transpose(0, 1, 4, 2, 5, 3)
    return blocks.reshape(n, out_c, h * bs, w * bs)


def space_to_depth_python(data: np.ndarray, block_size: int) -> np.ndarray:
    """NCHW (N, C, H, W) -> (N, C * bs**2, H / bs, W / bs); pixel blocks become channel blocks."""
    n, c, h, w = data.shape
    bs = block_size
    blocks = data.reshape(n, c, h // bs, bs, w // bs, bs).transpose(0, 3, 5, 1, 2, 4)
    return blocks.reshape(n, c * bs * bs, h // bs, w // bs)


def gather_python(data: np.ndarray, axis: int, indices: np.ndarray) -> np.ndarray:
    """``out[..., i, ...] = data[..., indices[..., i, ...], ...]`` along ``axis``."""
    where = list(np.indices(indices.shape, sparse=True))
    where[axis] = indices
    return data[tuple(where)]


def gather_nd_python(a_np: np.ndarray, indices_np: np.ndarray) -> np.ndarray:
    """``out[y..., r...] = a[indices[0, y...], ..., indices[M-1, y...], r...]``."""
    return a_np[tuple(indices_np.astype("int64"))]


def one_hot(indices: np.ndarray, on_value: Any, off_value: Any, depth: int, axis: int, dtype: str) -> np.ndarray:
    """``on_value`` where the new ``axis`` (of size ``depth``) equals the index, ``off_value`` elsewhere."""
    ax = indices.ndim if axis == -1 else axis % (indices.ndim + 1)
    positions = np.arange(depth).reshape([depth] + [1] * (indices.ndim - ax))
    hit = np.expand_dims(indices, ax) == positions
    return np.where(hit, on_value, off_value).astype(dtype)


def strided_slice_python(data: np.ndarray, begin: Sequence[int], end: Sequence[int],
                         strides: Sequence[int] | None, slice_mode: str = "end",
                         axes: Sequence[int] | None = None) -> np.ndarray:
    """``data[begin:end:strides]`` per axis (numpy's rules); ``slice_mode="size"``: ``end`` holds
    sizes (-1: to the end) and strides are ignored; ``axes``: the axes begin/end/strides refer to."""
    strides = list(strides or [])
    axes = list(axes) if axes is not None else list(range(max(len(begin), len(end), len(strides))))
    slices = [slice(None)] * data.ndim
    for pos, ax in enumerate(axes):
        b = begin[pos] if pos < len(begin) else None
        e = end[pos] if pos < len(end) else None
        step = strides[pos] if pos < len(strides) and slice_mode == "end" else None
        if slice_mode == "size" and e is not None:
            e = None if e < 0 else (b or 0) + e
        slices[ax] = slice(b, e, step)
    return data[tuple(slices)]


def strided_set_python(data: np.ndarray, v: np.ndarray, begin: Sequence[int], end: Sequence[int],
                       strides: Sequence[int] | None = None) -> np.ndarray:
    """A copy of ``data`` with ``data[begin:end:strides] = v`` (numpy's slicing rules, ``v``
    broadcast to the slice)."""
    strides = list(strides or [])
    slices = [slice(begin[k] if k < len(begin) else None, end[k] if k < len(end) else None,
                    strides[k] if k < len(strides) else None) for k in range(data.ndim)]
    res = data.copy()
    res[tuple(slices)] = v
    return res


def dilate_python(input_np: np.ndarray, strides: Sequence[int], dilation_value: float = 0.0,
                  out_dtype: str | None = None) -> np.ndarray:
    """``input_np`` with ``strides[k] - 1`` elements of ``dilation_value`` between neighbours along axis k."""
    shape = [(d - 1) * s + 1 for d, s in zip(input_np.shape, strides)]
    out = np.full(shape, dilation_value, dtype=out_dtype or input_np.dtype)
    out[tuple(slice(None, None, s) for s in strides)] = input_np
    return out
