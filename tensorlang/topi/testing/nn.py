"""numpy references for dense, batch_matmul, softmax and pooling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dense(data: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """data @ weight.T (+ bias)."""
    out = data @ weight.T
    return out + bias if bias is not None else out


def batch_matmul(x: np.ndarray, y: np.ndarray, out_dtype: str | None = None, trans_x: bool = False,
                 trans_y: bool = True) -> np.ndarray:
    """Batched x @ y (y transposed by default, as topi.nn.batch_matmul)."""
    a = x.transpose(0, 2, 1) if trans_x else x
    b = y.transpose(0, 2, 1) if trans_y else y
    out = np.matmul(a, b)
    return out.astype(out_dtype) if out_dtype else out


def softmax_python(a_np: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable softmax along ``axis``."""
    e = np.exp(a_np - a_np.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_python(a_np: np.ndarray, axis: int = -1) -> np.ndarray:
    """Stable log-softmax along ``axis``."""
    shifted = a_np - a_np.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def pool2d_python(data: np.ndarray, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                  padding: Sequence[int], pool_type: str, ceil_mode: bool = False, layout: str = "NCHW",
                  count_include_pad: bool = True) -> np.ndarray:
    """Max or average pooling with padding (top, left, bottom, right), as topi.nn.pool2d."""
    ha, wa = layout.index("H"), layout.index("W")
    x = np.moveaxis(data, (ha, wa), (-2, -1)).astype(np.float64)
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = padding if len(padding) == 4 else (padding[0], padding[1], padding[0], padding[1])
    h, w = x.shape[-2:]
    if ceil_mode:
        pb, pr = pb + sh - 1, pr + sw - 1
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (w + pl + pr - (kw - 1) * dw - 1) // sw + 1
    fill = -np.inf if pool_type == "max" else 0.0
    pad_width = [(0, 0)] * (x.ndim - 2) + [(pt, pb), (pl, pr)]
    xp = np.pad(x, pad_width, constant_values=fill)
    mask = np.pad(np.ones((h, w)), [(pt, pb), (pl, pr)])
    out = np.empty(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            ys = slice(i * sh, i * sh + (kh - 1) * dh + 1, dh)
            xs = slice(j * sw, j * sw + (kw - 1) * dw + 1, dw)
            win = xp[..., ys, xs]
            if pool_type == "max":
                out[..., i, j] = win.max(axis=(-2, -1))
            else:
                n = kh * kw if count_include_pad else max(mask[ys, xs].sum(), 1)
                out[..., i, j] = win.sum(axis=(-2, -1)) / n
    return np.moveaxis(out, (-2, -1), (ha, wa)).astype(data.dtype)


def global_pool_python(data: np.ndarray, pool_type: str, layout: str = "NCHW") -> np.ndarray:
    """Max or average over each H x W plane, keeping them as size-1 dimensions."""
    axes = (layout.index("H"), layout.index("W"))
    fn = np.max if pool_type == "max" else np.mean
    return fn(data, axis=axes, keepdims=True).astype(data.dtype)
