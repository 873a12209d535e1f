"""numpy references for ``topi.nn.pool_grad``, ``topi.sparse_reshape``, ``topi.sparse_fill_empty_rows``,
``topi.vision.get_valid_counts`` and ``topi.vision.non_max_suppression``: plain loops, one element or
box at a time, written from the operators' documented rules (TensorFlow's for the sparse ones, TVM's
for the rest) rather than from their code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def pool_grad_nchw(a_np: np.ndarray, out_grad_np: np.ndarray, pool_size: Sequence[int], strides: Sequence[int],
                   padding: Sequence[int], pool_type: str, ceil_mode: bool,
                   count_include_pad: bool = True) -> np.ndarray:
    """The gradient of NCHW max or average pooling (``padding`` top, left, bottom, right) with respect
    to its input ``a_np``, given the gradient ``out_grad_np`` of its output: each window sends its
    gradient to its first maximum in row-major order (max), or spreads it over its cells inside the
    input and its padding (ceil_mode's extra cells are not padding), or over its cells inside the
    input when not ``count_include_pad`` (avg)."""
    n, c, height, width = a_np.shape
    kh, kw = pool_size
    sh, sw = strides
    pt, pl = padding[0], padding[1]
    _, _, out_h, out_w = out_grad_np.shape
    grad = np.zeros(a_np.shape, np.float64)
    for b in range(n):
        for ch in range(c):
            for i in range(out_h):
                for j in range(out_w):
                    g = float(out_grad_np[b, ch, i, j])
                    # the window's cells that are input elements, in row-major order
                    cells = [(y, x) for y in range(i * sh - pt, i * sh - pt + kh)
                             for x in range(j * sw - pl, j * sw - pl + kw) if 0 <= y < height and 0 <= x < width]
                    if pool_type == "max":
                        if cells:
                            best = cells[0]
                            for y, x in cells[1:]:
                                if a_np[b, ch, y, x] > a_np[b, ch, best[0], best[1]]:
                                    best = (y, x)
                            grad[b, ch, best[0], best[1]] += g
                    else:
                        if count_include_pad:  # cells inside the input and its padding, not ceil_mode's
                            count = (min(kh, height + pt + padding[2] - i * sh)
                                     * min(kw, width + pl + padding[3] - j * sw))
                        else:
                            count = len(cells)
                        count = max(count, 1)
                        for y, x in cells:
                            grad[b, ch, y, x] += g / count
    return grad.astype(a_np.dtype)


def sparse_reshape_python(sparse_indices: np.ndarray, prev_shape: Sequence[int],
                          new_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``tf.sparse.reshape``: the nonzeros' coordinates in the reshaped dense tensor, and the new
    shape with its -1 filled in."""
    shape = [int(s) for s in new_shape]
    total = int(np.prod([int(s) for s in prev_shape]))
    if -1 in shape:
        k = shape.index(-1)
        shape[k] = total // int(np.prod([s for s in shape if s != -1]))
    coords = []
    for row in sparse_indices:
        flat = int(np.ravel_multi_index(tuple(int(v) for v in row), tuple(int(s) for s in prev_shape)))
        coords.append(np.unravel_index(flat, tuple(shape)))
    return (np.array(coords, sparse_indices.dtype).reshape(len(coords), len(shape)),
            np.array(shape, np.asarray(prev_shape).dtype))


def sparse_fill_empty_rows_python(sparse_indices: np.ndarray, sparse_values: np.ndarray, dense_shape: Sequence[int],
                                  default_value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``tf.sparse.fill_empty_rows``: the entries row by row (each row's in input order), an entry
    ``default_value`` at [r, 0, ...] for each empty row r, and whether each row was empty (0 or 1)."""
    rows = int(dense_shape[0])
    ndim = sparse_indices.shape[1]
    indices, values, empty = [], [], []
    for r in range(rows):
        mine = [k for k in range(len(sparse_indices)) if sparse_indices[k, 0] == r]
        empty.append(0 if mine else 1)
        if not mine:
            indices.append([r] + [0] * (ndim - 1))
            values.append(np.asarray(default_value).reshape(-1)[0])
        for k in mine:
            indices.append(list(sparse_indices[k]))
            values.append(sparse_values[k])
    return (np.array(indices, np.int64).reshape(-1, ndim), np.array(values, sparse_values.dtype),
            np.array(empty, np.int64))


def get_valid_counts_python(data: np.ndarray, score_threshold: float = 0, id_index: int = 0,
                            score_index: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(valid_count, out_tensor, out_indices)`` of ``topi.vision.get_valid_counts``."""
    batch, anchors, _ = data.shape
    threshold = data.dtype.type(score_threshold)
    count = np.zeros(batch, np.int32)
    out = np.full(data.shape, -1, data.dtype)
    where = np.full((batch, anchors), -1, np.int32)
    for b in range(batch):
        for j in range(anchors):
            if data[b, j, score_index] > threshold and (id_index < 0 or data[b, j, id_index] >= 0):
                out[b, count[b]] = data[b, j]
                where[b, count[b]] = j
                count[b] += 1
    return count, out, where


def _box_iou(a: np.ndarray, b: np.ndarray, start: int) -> Any:
    def corners(box: np.ndarray) -> tuple[Any, Any, Any, Any]:
        x1, y1, x2, y2 = box[start:start + 4]
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
    al, at, ar, ab = corners(a)
    bl, bt, br, bb = corners(b)
    zero = a.dtype.type(0)
    w = max(zero, min(ar, br) - max(al, bl))
    h = max(zero, min(ab, bb) - max(at, bt))
    inter = h * w
    union = (ar - al) * (ab - at) + (br - bl) * (bb - bt) - inter
    return zero if union <= zero else inter / union


def non_max_suppression_python(data: np.ndarray, valid_count: np.ndarray, indices: np.ndarray,
                               max_output_size: int = -1, iou_threshold: float = 0.5, force_suppress: bool = False,
                               top_k: int = -1, coord_start: int = 2, score_index: int = 1, id_index: int = 0,
                               return_indices: bool = True, invalid_to_bottom: bool = False) -> Any:
    """``topi.vision.non_max_suppression``: the boxes, or ``[box_indices, valid_box_count]`` with
    ``return_indices`` (see its module docstring for the rules)."""
    batch, anchors, _ = data.shape
    threshold = data.dtype.type(iou_threshold)
    out = np.full(data.shape, -1, data.dtype)
    pos = np.full((batch, anchors), -1, np.int64)
    for b in range(batch):
        count = int(valid_count[b])
        if threshold > 0:
            ranked = sorted(range(count), key=lambda j: -float(data[b, j, score_index]))  # sorted() is stable
            if top_k > 0:
                ranked = ranked[:top_k]
            for j, src in enumerate(ranked):
                out[b, j], pos[b, j] = data[b, src], src
            survivors = 0
            for j in range(count):
                if survivors == max_output_size:
                    out[b, j], pos[b, j] = -1, -1
                elif out[b, j, score_index] > 0:
                    suppressed = False
                    for k in range(j):
                        if not (out[b, k, score_index] > 0 and (id_index < 0 or out[b, k, id_index] >= 0)):
                            continue
                        if force_suppress or id_index < 0 or out[b, j, id_index] == out[b, k, id_index]:
                            if _box_iou(out[b, j], out[b, k], coord_start) >= threshold:
                                suppressed = True
                                break
                    if suppressed:
                        out[b, j], pos[b, j] = -1, -1
                    else:
                        survivors += 1
        else:
            for j in range(count):
                out[b, j], pos[b, j] = data[b, j], j
    if return_indices:
        box_indices = np.full((batch, anchors), -1, np.int32)
        counts = np.zeros((batch, 1), np.int32)
        for b in range(batch):
            for j in range(anchors):
                if pos[b, j] >= 0 and indices[b, pos[b, j]] >= 0:
                    box_indices[b, counts[b, 0]] = indices[b, pos[b, j]]
                    counts[b, 0] += 1
        return [box_indices, counts]
    if invalid_to_bottom:
        moved = np.full(data.shape, -1, data.dtype)
        for b in range(batch):
            rows = [out[b, j] for j in range(anchors) if out[b, j, 0] >= 0]
            for j, row in enumerate(rows):
                moved[b, j] = row
        out = moved
    return out
