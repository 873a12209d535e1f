"""numpy references for ``topi.image.resize1d/2d/3d`` (TVM's ``resize*_python``): the output size is
round(size * scale) per axis, and each axis is resampled on its own by a (out, in) weight matrix, which
is exact for nearest neighbour, linear and cubic interpolation because all three are separable."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..utils import nchw_pack_layout, nchw_xc_layout


def _source(out_size: int, in_size: int, mode: str) -> np.ndarray:
    """The source coordinate of each output position along one axis."""
    x = np.arange(out_size, dtype="float64")
    if mode == "half_pixel":
        return (x + 0.5) * (in_size / out_size) - 0.5
    if mode == "align_corners":
        return x * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    if mode == "asymmetric":
        return x * (in_size / out_size)
    raise ValueError(f"resize_python: unsupported coordinate_transformation_mode '{mode}' "
                     f"(half_pixel, align_corners, asymmetric)")


def _nearest(out_size: int, in_size: int, mode: str) -> np.ndarray:
    """The source index of each output position for nearest neighbour, in exact integer arithmetic (a float
    coordinate can land a hair off an integer or a half): floor for "asymmetric" and "half_pixel", round
    half to even for "align_corners", as TVM's compiled resize (``te.round`` is nearbyint) does."""
    x = np.arange(out_size)
    if mode == "asymmetric":
        idx = x * in_size // out_size
    elif mode == "half_pixel":  # floor((x + 0.5) * in / out - 0.5)
        idx = ((2 * x + 1) * in_size - out_size) // (2 * out_size)
    elif mode == "align_corners":
        if out_size == 1:
            return np.zeros(1, int)
        q, r = np.divmod(x * (in_size - 1), out_size - 1)
        idx = q + ((2 * r > out_size - 1) | ((2 * r == out_size - 1) & (q % 2 == 1)))
    else:
        _source(out_size, in_size, mode)  # raises, naming the mode
    return np.clip(idx, 0, in_size - 1)


def _cubic(t: np.ndarray, alpha: float = -0.5) -> list[np.ndarray]:
    """Keys' cubic convolution weights of the four taps at offsets -1, 0, 1, 2 for fraction ``t``."""
    t2, t3 = t * t, t * t * t
    return [alpha * (t3 - 2 * t2 + t), (alpha + 2) * t3 - (alpha + 3) * t2 + 1,
            -(alpha + 2) * t3 + (2 * alpha + 3) * t2 - alpha * t, -alpha * t3 + alpha * t2]


def _weights(in_size: int, out_size: int, method: str, mode: str) -> np.ndarray:
    """The (out_size, in_size) matrix that resamples one axis; taps past an edge clamp to it."""
    src = _source(out_size, in_size, mode)
    m = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    if method == "nearest_neighbor":
        m[rows, _nearest(out_size, in_size, mode)] = 1.0
        return m
    base = np.floor(src)
    frac = src - base
    if method == "linear":
        taps = [(0, 1 - frac), (1, frac)]
    elif method == "cubic":
        taps = list(zip((-1, 0, 1, 2), _cubic(frac)))
    else:
        raise ValueError(f"resize_python: unknown method '{method}' (nearest_neighbor, linear, cubic)")
    for off, w in taps:
        np.add.at(m, (rows, np.clip(base.astype(int) + off, 0, in_size - 1)), w)
    return m


def _resize(data: np.ndarray, scale: Sequence[float], axes: Sequence[int], method: str, mode: str) -> np.ndarray:
    out = data.astype("float64")
    for axis, s in zip(axes, scale):
        n = data.shape[axis]
        m = _weights(n, int(round(n * s)), method, mode)
        out = np.moveaxis(np.tensordot(m, np.moveaxis(out, axis, 0), axes=1), 0, axis)
    return out.astype(data.dtype)


def _spatial(layout: str, names: str, what: str) -> list[int]:
    # TVM's packed NCHW[x]c and NCHW[x]n[y]c layouts keep H and W at axes 2 and 3
    if names == "HW" and (nchw_xc_layout(layout) or nchw_pack_layout(layout)):
        return [2, 3]
    if layout not in (f"NC{names}", f"N{names}C"):
        raise ValueError(f"{what}: layout '{layout}' is not NC{names} or N{names}C")
    return [layout.index(a) for a in names]


def resize1d_python(data: np.ndarray, scale: Sequence[float], layout: str = "NCW", method: str = "nearest_neighbor",
                    coordinate_transformation_mode: str = "align_corners") -> np.ndarray:
    """``data`` (NCW or NWC) resized to round(W * scale[0])."""
    axes = _spatial(layout, "W", "resize1d_python")
    return _resize(data, tuple(scale), axes, method, coordinate_transformation_mode)


def resize2d_python(data: np.ndarray, scale: Sequence[float], layout: str = "NCHW", method: str = "nearest_neighbor",
                    coordinate_transformation_mode: str = "align_corners") -> np.ndarray:
    """``data`` (NCHW, NHWC, or packed NCHW[x]c / NCHW[x]n[y]c) resized to round(H * scale[0]) x
    round(W * scale[1])."""
    axes = _spatial(layout, "HW", "resize2d_python")
    return _resize(data, tuple(scale), axes, method, coordinate_transformation_mode)


def resize3d_python(data: np.ndarray, scale: Sequence[float], layout: str = "NCDHW",
                    method: str = "nearest_neighbor",
                    coordinate_transformation_mode: str = "align_corners") -> np.ndarray:
    """``data`` (NCDHW or NDHWC) resized to round(D * scale[0]) x round(H * scale[1]) x round(W * scale[2])."""
    axes = _spatial(layout, "DHW", "resize3d_python")
    return _resize(data, tuple(scale), axes, method, coordinate_transformation_mode)
