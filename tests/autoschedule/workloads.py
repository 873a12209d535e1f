"""Small computations the auto-scheduler tests use, each with a numpy reference."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tensorlang import te

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from softmax import softmax  # noqa: E402 - the example's declaration, not a copy


def matmul(n, l, m):
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    k = te.reduce_axis((0, l), name="k")
    return [A, B, te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")]


def matmul_ref(a, b):
    return a @ b


def batch_matmul(b, n, l, m):
    A = te.placeholder((b, n, l), name="A")
    B = te.placeholder((b, l, m), name="B")
    k = te.reduce_axis((0, l), name="k")
    return [A, B, te.compute((b, n, m), lambda z, i, j: te.sum(A[z, i, k] * B[z, k, j], axis=k), name="C")]


def batch_matmul_ref(a, b):
    return a @ b


def conv2d(n, c, h, w, f, r, pad, stride=1):
    X = te.placeholder((n, c, h, w), name="X")
    W = te.placeholder((f, c, r, r), name="W")
    Xp = te.compute((n, c, h + 2 * pad, w + 2 * pad), lambda a, b, y, x: te.if_then_else(
        te.all(y >= pad, y < h + pad, x >= pad, x < w + pad), X[a, b, y - pad, x - pad], 0.0), name="Xpad")
    rc = te.reduce_axis((0, c), name="rc")
    ry = te.reduce_axis((0, r), name="ry")
    rx = te.reduce_axis((0, r), name="rx")
    oh, ow = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - r) // stride + 1
    Y = te.compute((n, f, oh, ow), lambda a, k, y, x: te.sum(
        Xp[a, rc, y * stride + ry, x * stride + rx] * W[k, rc, ry, rx], axis=[rc, ry, rx]), name="Y")
    return [X, W, Y]


def conv2d_ref(x, w):
    r = w.shape[2]
    pad = (r - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = xp.shape[2] - r + 1, xp.shape[3] - r + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype=np.float64)
    for dy in range(r):
        for dx in range(r):
            out += np.einsum("nchw,kc->nkhw", xp[:, :, dy:dy + oh, dx:dx + ow], w[:, :, dy, dx])
    return out


def depthwise(n, c, h, w, r, pad):
    X = te.placeholder((n, c, h, w), name="X")
    W = te.placeholder((c, r, r), name="W")
    Xp = te.compute((n, c, h + 2 * pad, w + 2 * pad), lambda a, b, y, x: te.if_then_else(
        te.all(y >= pad, y < h + pad, x >= pad, x < w + pad), X[a, b, y - pad, x - pad], 0.0), name="Xpad")
    ry = te.reduce_axis((0, r), name="ry")
    rx = te.reduce_axis((0, r), name="rx")
    oh, ow = h + 2 * pad - r + 1, w + 2 * pad - r + 1
    Y = te.compute((n, c, oh, ow), lambda a, b, y, x: te.sum(Xp[a, b, y + ry, x + rx] * W[b, ry, rx],
                                                             axis=[ry, rx]), name="Y")
    return [X, W, Y]


def depthwise_ref(x, w):
    r = w.shape[1]
    pad = (r - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = xp.shape[2] - r + 1, xp.shape[3] - r + 1
    out = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=np.float64)
    for dy in range(r):
        for dx in range(r):
            out += xp[:, :, dy:dy + oh, dx:dx + ow] * w[None, :, dy, dx, None, None]
    return out


def softmax_ref(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def layer_norm(n, m):
    X = te.placeholder((n, m), name="X")
    G = te.placeholder((m,), name="gamma")
    Bt = te.placeholder((m,), name="beta")
    k1 = te.reduce_axis((0, m), name="k1")
    mean = te.compute((n,), lambda i: te.sum(X[i, k1] / m, axis=k1), name="mean")
    k2 = te.reduce_axis((0, m), name="k2")
    var = te.compute((n,), lambda i: te.sum((X[i, k2] - mean[i]) * (X[i, k2] - mean[i]) / m, axis=k2), name="var")
    out = te.compute((n, m), lambda i, j: (X[i, j] - mean[i]) * te.rsqrt(var[i] + 1e-5) * G[j] + Bt[j], name="out")
    return [X, G, Bt, out]


def layer_norm_ref(x, g, b):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * g + b


def row_sum(n, m):
    X = te.placeholder((n, m), name="X")
    k = te.reduce_axis((0, m), name="k")
    return [X, te.compute((n,), lambda i: te.sum(X[i, k], axis=k), name="S")]


def row_sum_ref(x):
    return x.sum(axis=1)


def elementwise_chain(n, m):
    A = te.placeholder((n, m), name="A")
    B = te.placeholder((n, m), name="B")
    t1 = te.compute((n, m), lambda i, j: A[i, j] * 2.0 + B[i, j], name="t1")
    t2 = te.compute((n, m), lambda i, j: te.max(t1[i, j], 0.0), name="t2")
    return [A, B, te.compute((n, m), lambda i, j: t2[i, j] * B[i, j] - 1.0, name="t3")]


def elementwise_chain_ref(a, b):
    return np.maximum(a * 2 + b, 0) * b - 1


def triangular(n):
    """A lower-triangular matrix times a vector: the reduction's length depends on the row."""
    A = te.placeholder((n, n), name="A")
    x = te.placeholder((n,), name="x")

    def row(i):
        k = te.reduce_axis((0, i + 1), name="k")
        return te.sum(A[i, k] * x[k], axis=k)
    return [A, x, te.compute((n,), row, name="y")]


def triangular_ref(a, x):
    return np.tril(a) @ x


def prefix_sum(n, m):
    """Running sums down the columns: a row-dependent reduction with the columns free for lanes."""
    A = te.placeholder((n, m), name="A")

    def element(i, j):
        k = te.reduce_axis((0, i + 1), name="k")
        return te.sum(A[k, j], axis=k)
    return [A, te.compute((n, m), element, name="P")]


def prefix_sum_ref(a):
    return np.cumsum(a, axis=0)


# name -> (function, args, reference)
WORKLOADS = {
    "matmul": (matmul, (64, 48, 80), matmul_ref),
    "batch_matmul": (batch_matmul, (3, 32, 24, 40), batch_matmul_ref),
    "conv2d": (conv2d, (1, 8, 12, 12, 16, 3, 1), conv2d_ref),
    "depthwise": (depthwise, (1, 16, 14, 14, 3, 1), depthwise_ref),
    "softmax": (softmax, (32, 96), softmax_ref),
    "layer_norm": (layer_norm, (24, 64), layer_norm_ref),
    "row_sum": (row_sum, (6, 512), row_sum_ref),
    "elementwise": (elementwise_chain, (40, 72), elementwise_chain_ref),
    "triangular": (triangular, (48,), triangular_ref),
    "prefix_sum": (prefix_sum, (24, 32), prefix_sum_ref),
}
