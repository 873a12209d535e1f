"""numpy references for lrn, l2_normalize, batch_norm, layer_norm, instance_norm and group_norm."""

from __future__ import annotations

from typing import Any

import numpy as np


def lrn_python(a_np: np.ndarray, size: int, axis: int, bias: float, alpha: float, beta: float) -> np.ndarray:
    """a / (bias + alpha * (sum of squares over the ``size`` channels centred on each) / size) ** beta."""
    radius = size // 2
    sq = np.moveaxis(a_np.astype("float64") ** 2, axis, 0)
    window = np.zeros_like(sq)
    for c in range(sq.shape[0]):
        window[c] = sq[max(c - radius, 0): c + radius + 1].sum(axis=0)
    scale = (bias + alpha * np.moveaxis(window, 0, axis) / size) ** beta
    return (a_np / scale).astype(a_np.dtype)


def l2_normalize_python(a_np: np.ndarray, eps: float, axis: Any = None) -> np.ndarray:
    """a / sqrt(max(sum of squares over ``axis``, eps)) (all axes when None)."""
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    sqr_sum = np.sum(a_np.astype("float64") ** 2, axis=axes, keepdims=True)
    return (a_np / np.sqrt(np.maximum(sqr_sum, eps))).astype(a_np.dtype)


def batch_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, moving_mean: np.ndarray,
               moving_var: np.ndarray, axis: int, epsilon: float, center: bool, scale: bool, training: bool,
               momentum: float) -> list[np.ndarray]:
    """[out, moving_mean, moving_var]: normalised by the moving statistics, or in ``training`` by the
    batch's (the moving ones then updated by ``momentum``); scaled by gamma and shifted by beta."""
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if training:
        others = tuple(k for k in range(x.ndim) if k != axis % x.ndim)
        mean, var = x.mean(axis=others), x.var(axis=others)
    else:
        mean, var = moving_mean, moving_var
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    if scale:
        out = out * gamma.reshape(shape)
    if center:
        out = out + beta.reshape(shape)
    if training:
        return [out, (1 - momentum) * moving_mean + momentum * mean, (1 - momentum) * moving_var + momentum * var]
    return [out, moving_mean, moving_var]


def layer_norm_python(data: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, axis: Any,
                      epsilon: float = 1e-5) -> np.ndarray:
    """(data - mean) / sqrt(var + epsilon) * gamma (+ beta), mean and variance over ``axis``."""
    axes = tuple(a % data.ndim for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    x = data.astype("float64")
    normed = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + epsilon)
    shape = [data.shape[k] if k in axes else 1 for k in range(data.ndim)]
    out = normed * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out.astype(data.dtype)


def instance_norm_python(data: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, axis: Any,
                         epsilon: float = 1e-5) -> np.ndarray:
    """(data - mean) / sqrt(var + epsilon) * gamma (+ beta), mean and variance over ``axis`` (the spatial
    axes of each instance and channel); gamma and beta are shaped like those axes."""
    return layer_norm_python(data, gamma, beta, axis, epsilon)


def group_norm_python(data: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, num_groups: int,
                      channel_axis: int, axes: Any, epsilon: float = 1e-5) -> np.ndarray:
    """Normalised over each group of ``channels / num_groups`` consecutive channels together with ``axes``,
    then scaled by ``gamma[c]`` and shifted by ``beta[c]`` per channel."""
    c_ax = channel_axis % data.ndim
    x = data.astype("float64")
    # split the channel axis into (group, channel within group); the reduced axes shift past it
    grouped = x.reshape(data.shape[:c_ax] + (num_groups, data.shape[c_ax] // num_groups) + data.shape[c_ax + 1:])
    spatial = [a % data.ndim for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    red = tuple([c_ax + 1] + [a + 1 if a > c_ax else a for a in spatial])
    mean, var = grouped.mean(axis=red, keepdims=True), grouped.var(axis=red, keepdims=True)
    normed = ((grouped - mean) / np.sqrt(var + epsilon)).reshape(data.shape)
    shape = [1] * data.ndim
    shape[c_ax] = data.shape[c_ax]
    out = normed * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out.astype(data.dtype)
