"""numpy references for dense, batch_matmul, softmax, pooling and 3-D upsampling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dense(data: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, use_bias: bool | None = None,
          use_relu: bool = False, out_dtype: str | None = None) -> np.ndarray:
    """data @ weight.T (+ bias) (then relu), computed in ``out_dtype`` (default: data's): TVM's
    signature; ``use_bias`` defaults to whether a bias is given."""
    dtype = out_dtype or data.dtype
    out = np.dot(data.astype(dtype), weight.T.astype(dtype))
    if bias is not None and (use_bias is None or use_bias):
        out = out + bias.astype(dtype)
    return np.maximum(out, 0) if use_relu else out


def batch_matmul(x: np.ndarray, y: np.ndarray, out_dtype: str | None = None, trans_x: bool = False,
                 trans_y: bool = True) -> np.ndarray:
    """Batched x @ y (y transposed by default, as topi.nn.batch_matmul), the operands converted to
    ``out_dtype`` first (int8 inputs summed in int32 do not wrap in int8); a batch of 1 broadcasts."""
    dtype = out_dtype or x.dtype
    a = (x.transpose(0, 2, 1) if trans_x else x).astype(dtype)
    b = (y.transpose(0, 2, 1) if trans_y else y).astype(dtype)
    return np.matmul(a, b)


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
    pt, pl, pb, pr = padding if len(padding) == 4 else (padding[0], padding[1], padding[0], padding[1])
    return poolnd_python(data, kernel, stride, dilation, (pt, pl), (pb, pr), pool_type, count_include_pad,
                         ceil_mode, str(data.dtype), layout)


def poolnd_python(np_data: np.ndarray, kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int],
                  padding_before: Sequence[int], padding_after: Sequence[int], pool_type: str,
                  count_include_pad: bool = True, ceil_mode: bool = False, dtype: str = "float32",
                  layout: str | None = None) -> np.ndarray:
    """Max or average pooling over the last 1, 2 or 3 of D, H, W in ``layout`` (NCW, NCHW, NCDHW
    by default), as topi.nn.pool1d/pool2d/pool3d.  A max-pool window holding data gives the max of
    that data, as the kernel does; one wholly in padding gives 0 under ``count_include_pad`` (what
    TVM's reference gives there, which its tests compare with the kernel after a relu), else the
    dtype's lowest finite value (the kernel's own figure)."""
    n = len(kernel)
    layout = layout or "NC" + "DHW"[3 - n:]
    axes = [layout.index(d) for d in "DHW"[3 - n:]]
    x = np.moveaxis(np_data, axes, range(-n, 0)).astype(np.float64)
    before, after = list(padding_before), list(padding_after)
    sizes = x.shape[-n:]
    # cells of the input and the user's padding: an average under count_include_pad counts these,
    # not the cells ceil_mode adds past them (TVM's reference slices them off)
    inside_pad = np.ones([size + b + a for size, b, a in zip(sizes, before, after)])
    if ceil_mode:
        after = [a + s - 1 for a, s in zip(after, strides)]
        inside_pad = np.pad(inside_pad, [(0, s - 1) for s in strides])
    outs = [(size + b + a - (k - 1) * d - 1) // s + 1
            for size, b, a, k, d, s in zip(sizes, before, after, kernel, dilation, strides)]
    widths = list(zip(before, after))
    xp = np.pad(x, [(0, 0)] * (x.ndim - n) + widths, constant_values=-np.inf if pool_type == "max" else 0.0)
    lowest = np.finfo(dtype).min if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min
    empty = 0.0 if count_include_pad else lowest  # a max-pool window with no data
    mask = np.pad(np.ones(sizes), widths)
    out = np.empty(x.shape[:-n] + tuple(outs))
    for pos in np.ndindex(*outs):
        win = tuple(slice(i * s, i * s + (k - 1) * d + 1, d) for i, s, k, d in zip(pos, strides, kernel, dilation))
        vals = xp[(Ellipsis, *win)]
        if pool_type == "max":
            out[(Ellipsis, *pos)] = vals.max(axis=tuple(range(-n, 0))) if mask[win].any() else empty
        else:
            count = max((inside_pad if count_include_pad else mask)[win].sum(), 1)
            out[(Ellipsis, *pos)] = vals.sum(axis=tuple(range(-n, 0))) / count
    return np.moveaxis(out, range(-n, 0), axes).astype(dtype)


def global_pool_python(data: np.ndarray, pool_type: str, layout: str = "NCHW") -> np.ndarray:
    """Max or average over each H x W plane, keeping them as size-1 dimensions."""
    axes = (layout.index("H"), layout.index("W"))
    fn = np.max if pool_type == "max" else np.mean
    return fn(data, axis=axes, keepdims=True).astype(data.dtype)


def upsampling3d_python(data: np.ndarray, scale: Sequence[float], layout: str = "NCDHW") -> np.ndarray:
    """Nearest-neighbour upsampling of the D, H, W axes (NCDHW or NDHWC) to round(size * scale): output
    element z reads input element floor(z / scale) on each axis."""
    if layout not in ("NCDHW", "NDHWC"):
        raise ValueError(f"upsampling3d_python: layout '{layout}' is not NCDHW or NDHWC")
    out = data
    for axis, s in zip((layout.index(a) for a in "DHW"), scale):
        size = int(round(data.shape[axis] * s))
        out = out.take(np.floor(np.arange(size) / s).astype(int), axis=axis)
    return out.astype(data.dtype)
