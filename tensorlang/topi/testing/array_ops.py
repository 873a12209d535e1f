"""numpy references for sequence_mask, matrix_set_diag and searchsorted (TVM's ``sequence_mask``,
``matrix_set_diag`` and ``searchsorted_ref``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def sequence_mask(data: np.ndarray, valid_length: np.ndarray, mask_value: Any, axis: int) -> np.ndarray:
    """``data`` with every step ``t >= valid_length[b]`` along ``axis`` (0: (MAX_LEN, batch, ...), 1:
    (batch, MAX_LEN, ...)) set to ``mask_value``."""
    steps = [1] * data.ndim
    steps[axis] = data.shape[axis]
    lengths = [1] * data.ndim
    lengths[1 - axis] = data.shape[1 - axis]
    masked = np.arange(data.shape[axis]).reshape(steps) >= np.asarray(valid_length).reshape(lengths)
    return np.where(masked, np.asarray(mask_value, dtype=data.dtype), data)


def matrix_set_diag(input_np: np.ndarray, diagonal: np.ndarray, k: int | Sequence[int] = 0,
                    align: str = "RIGHT_LEFT") -> np.ndarray:
    """A copy of ``input_np`` with diagonal ``k`` (col - row), or the band ``k = (k_lo, k_hi)``, replaced
    by ``diagonal``.  In a band, row ``k_hi - d`` of ``diagonal`` holds diagonal d, padded to the band's
    longest; ``align`` says which end a short one keeps ("RIGHT_LEFT": superdiagonals right-aligned,
    subdiagonals left-aligned, as TensorFlow's MatrixSetDiagV3)."""
    out = np.array(input_np, copy=True)
    rows, cols = input_np.shape[-2:]
    if isinstance(k, (list, tuple)):
        lo, hi = (k[0], k[1]) if len(k) > 1 else (k[0], k[0])
    else:
        lo = hi = k
    band = lo != hi
    for d in range(lo, hi + 1):
        length = min(cols - max(d, 0), rows + min(d, 0))
        values = diagonal[..., hi - d, :] if band else diagonal
        right = align.split("_")[0 if d >= 0 else 1] == "RIGHT"
        start = values.shape[-1] - length if band and right else 0
        t = np.arange(length)
        out[..., t + max(-d, 0), t + max(d, 0)] = values[..., start:start + length]
    return out


def searchsorted_ref(sorted_sequence: np.ndarray, values: np.ndarray, right: bool, out_dtype: str) -> np.ndarray:
    """np.searchsorted of ``values`` in ``sorted_sequence``: a 1-D sequence serves every value; an N-D one
    pairs each row with the row of ``values`` of the same leading index."""
    side = "right" if right else "left"
    if sorted_sequence.ndim == 1:
        return np.searchsorted(sorted_sequence, values, side=side).astype(out_dtype)
    seqs = sorted_sequence.reshape(-1, sorted_sequence.shape[-1])
    vals = values.reshape(-1, values.shape[-1])
    out = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(seqs, vals)])
    return out.reshape(values.shape).astype(out_dtype)
