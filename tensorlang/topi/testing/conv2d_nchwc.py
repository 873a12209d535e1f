"""numpy references for the packed-layout operators: packing NCHW data, OIHW kernels and dense
weights into TVM's blocked layouts and back, and convolutions on packed arrays computed through the
plain NCHW references (so they check the packing as well as the arithmetic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .conv2d import conv2d_nchw_python


def pack_nchwc(a: np.ndarray, bn: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C/bn, H, W, bn), C-contiguous."""
    n, c, h, w = a.shape
    return np.ascontiguousarray(a.reshape(n, c // bn, bn, h, w).transpose(0, 1, 3, 4, 2))


def unpack_nchwc(a: np.ndarray) -> np.ndarray:
    """(N, C/x, H, W, x) -> (N, C, H, W)."""
    n, cc, h, w, bn = a.shape
    return np.ascontiguousarray(a.transpose(0, 1, 4, 2, 3).reshape(n, cc * bn, h, w))


def pack_kernel_oihwio(w: np.ndarray, ic_bn: int, oc_bn: int) -> np.ndarray:
    """OIHW (O, I, KH, KW) -> OIHW[ic_bn]i[oc_bn]o (O/oc_bn, I/ic_bn, KH, KW, ic_bn, oc_bn)."""
    o, i, kh, kw = w.shape
    return np.ascontiguousarray(w.reshape(o // oc_bn, oc_bn, i // ic_bn, ic_bn, kh, kw).transpose(0, 2, 4, 5, 3, 1))


def pack_kernel_oihwio_int8(w: np.ndarray, ic_bn: int, oc_bn: int, n_elems: int = 4) -> np.ndarray:
    """OIHW -> the kernel of conv2d_NCHWc_int8: (O/oc_bn, I/ic_bn, KH, KW, ic_bn/n_elems, oc_bn, n_elems)."""
    p = pack_kernel_oihwio(w, ic_bn, oc_bn)
    oc, ic, kh, kw = p.shape[:4]
    return np.ascontiguousarray(p.reshape(oc, ic, kh, kw, ic_bn // n_elems, n_elems, oc_bn)
                                .transpose(0, 1, 2, 3, 4, 6, 5))


def pack_dense_weight(w: np.ndarray, bn: int) -> np.ndarray:
    """A dense weight (N, K) -> dense_pack's (N/bn, K, bn)."""
    n, k = w.shape
    return np.ascontiguousarray(w.reshape(n // bn, bn, k).transpose(0, 2, 1))


def conv2d_NCHWc_python(a_packed: np.ndarray, w_packed: np.ndarray, stride: Any, padding: Any,  # noqa: N802
                        dilation: Any = 1) -> np.ndarray:
    """conv2d_NCHWc on numpy arrays: packed data and OIHW[x]i[y]o kernel -> NCHW[y]c output."""
    oc, ic, kh, kw, ic_bn, oc_bn = w_packed.shape
    w = w_packed.transpose(0, 5, 1, 4, 2, 3).reshape(oc * oc_bn, ic * ic_bn, kh, kw)
    return pack_nchwc(conv2d_nchw_python(unpack_nchwc(a_packed), w, stride, padding, dilation=dilation), oc_bn)


def depthwise_conv2d_NCHWc_python(a_packed: np.ndarray, w_packed: np.ndarray, stride: Any,  # noqa: N802
                                  padding: Any, dilation: Any = 1) -> np.ndarray:
    """depthwise_conv2d_NCHWc on numpy arrays: Filter (C/y, 1, KH, KW, 1, y) -> NCHW[y]c output."""
    oc, _, kh, kw, _, oc_bn = w_packed.shape
    w = w_packed.transpose(0, 5, 1, 4, 2, 3).reshape(oc * oc_bn, 1, kh, kw)
    a = unpack_nchwc(a_packed)
    out = conv2d_nchw_python(a, w, stride, padding, groups=a.shape[1], dilation=dilation)
    return pack_nchwc(out, oc_bn)


def depthwise_conv2d_python_nchwc(input_np: np.ndarray, filter_np: np.ndarray, stride: Any,
                                  padding: Any) -> np.ndarray:
    """TVM's name and argument order for ``depthwise_conv2d_NCHWc_python`` (a filter already dilated):
    NCHW[x]c input, (O/y, 1, KH, KW, 1, y) filter -> NCHW[y]c output."""
    return depthwise_conv2d_NCHWc_python(input_np, filter_np, stride, padding)
