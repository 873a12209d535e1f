"""numpy references for the image and vision ops: crop_and_resize, affine_grid, grid_sample, roi_align and
roi_pool (TVM's ``topi.testing`` names and signatures).  Each computes the data-dependent decisions (which
pixel, inside or outside) in the same precision and order as the operator, and the blends in float64."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _crop_source(start: np.ndarray, end: np.ndarray, size: int, crop: int) -> np.ndarray:
    """(boxes, crop) image coordinates of the crop positions between box edges ``start`` and ``end``."""
    start, end = start.astype(np.float64)[:, None], end.astype(np.float64)[:, None]
    if crop == 1:
        return (start + end) * (0.5 * (size - 1))
    n = float(crop - 1)
    p = np.arange(crop, dtype=np.float64)
    return ((n - p) * start + p * end) * float(size - 1) / n


def crop_and_resize_python(image: np.ndarray, boxes: np.ndarray, box_indices: np.ndarray, crop_size: Sequence[int],
                           layout: str, method: str = "bilinear", extrapolation_value: float = 0) -> np.ndarray:
    """TensorFlow's crop_and_resize: box b = normalized (y1, x1, y2, x2) of image ``box_indices[b]``,
    resized to ``crop_size`` by "bilinear" or "nearest_neighbor" (ties round up); samples outside the
    image are ``extrapolation_value``.  ``image`` and the result are NCHW or NHWC (``layout``)."""
    img = image if layout == "NCHW" else image.transpose(0, 3, 1, 2)
    height, width = img.shape[2:]
    crop_h, crop_w = crop_size
    ys = _crop_source(boxes[:, 0], boxes[:, 2], height, crop_h)
    xs = _crop_source(boxes[:, 1], boxes[:, 3], width, crop_w)
    out = np.empty((len(boxes), img.shape[1], crop_h, crop_w))
    for b, (y, x) in enumerate(zip(ys, xs)):
        src = img[box_indices[b]].astype(np.float64)
        cy, cx = np.clip(y, -1, height), np.clip(x, -1, width)

        def pick(rows: np.ndarray, cols: np.ndarray, src: np.ndarray = src) -> np.ndarray:
            return src[:, np.clip(rows, 0, height - 1)][:, :, np.clip(cols, 0, width - 1)]

        if method == "nearest_neighbor":
            val = pick(np.floor(cy + 0.5).astype(int), np.floor(cx + 0.5).astype(int))
        else:
            y0, x0 = np.floor(cy).astype(int), np.floor(cx).astype(int)
            wy, wx = (cy - y0)[:, None], cx - x0
            top = pick(y0, x0) * (1 - wx) + pick(y0, x0 + 1) * wx
            bottom = pick(y0 + 1, x0) * (1 - wx) + pick(y0 + 1, x0 + 1) * wx
            val = top * (1 - wy) + bottom * wy
        inside = ((y >= 0) & (y <= height - 1))[:, None] & ((x >= 0) & (x <= width - 1))
        out[b] = np.where(inside, val, extrapolation_value)
    if np.issubdtype(image.dtype, np.integer):
        out = np.round(out)
    out = out.astype(image.dtype)
    return out if layout == "NCHW" else out.transpose(0, 2, 3, 1)


def affine_grid_python(data: np.ndarray, target_shape: Sequence[int], align_corners: bool = True) -> np.ndarray:
    """The sampling grid (batch, 2, H, W) of affine matrices ``data`` (batch, 2, 3): (x, y, 1) of each
    target pixel, x and y evenly spaced over [-1, 1] (pixel centres, or with ``align_corners=False`` the
    outer edges), times each matrix."""
    h, w = target_shape

    def axis(n: int) -> np.ndarray:
        k = np.arange(n, dtype=np.float64)
        return (2 * k - (n - 1)) / (n - 1) if align_corners else (2 * k + 1 - n) / n

    y, x = np.meshgrid(axis(h), axis(w), indexing="ij")
    points = np.stack([x, y, np.ones_like(x)])  # (3, H, W)
    return np.einsum("nkj,jhw->nkhw", data.astype(np.float64), points).astype(data.dtype)


def _reflect(x: np.ndarray, size: int, align_corners: bool) -> np.ndarray:
    """``x`` folded into [0, size - 1] (``align_corners``) or [-0.5, size - 0.5] by mirroring at the ends."""
    lo, span = (0.0, float(size - 1)) if align_corners else (-0.5, float(size))
    if span == 0:
        return np.zeros_like(x)
    d = np.abs(x - lo)
    extra = np.fmod(d, span)
    flips = np.round((d - extra) / span)
    folded = np.where(np.fmod(flips, 2) == 0, lo + extra, lo + span - extra)
    return np.where((x >= lo) & (x <= lo + span), x, folded)


def _cubic(t: np.ndarray, a: float = -0.75) -> list[np.ndarray]:
    """Keys' cubic convolution weights of the neighbours at -1, 0, 1, 2 for fraction ``t``."""
    def near(s: np.ndarray) -> np.ndarray:  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s: np.ndarray) -> np.ndarray:  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample_python(data: np.ndarray, grid: np.ndarray, method: str = "bilinear", layout: str = "NCHW",
                       padding_mode: str = "zeros", align_corners: bool = True) -> np.ndarray:
    """``data`` (NCHW or NCDHW) sampled at the normalized points of ``grid`` ((batch, 2, OH, OW) = (x, y),
    or (batch, 3, OD, OH, OW) = (x, y, z)) by "nearest" (ties to even), "bilinear" or "bicubic" (2-D),
    with "zeros", "border" or "reflection" padding, as PyTorch's grid_sample."""
    ndim = data.ndim - 2
    sizes = data.shape[2:]
    # the operator's coordinate precision: float64 where it rounds to a pixel
    cdt = np.float64 if method == "nearest" or np.float64 in (data.dtype, grid.dtype) else np.float32
    data64 = data.astype(np.float64)
    batch = np.arange(data.shape[0]).reshape((-1,) + (1,) * ndim)

    def pad(v: np.ndarray, size: int) -> np.ndarray:
        if padding_mode == "reflection":
            v = _reflect(v, size, align_corners).astype(cdt)
        if padding_mode != "zeros":
            v = np.clip(v, 0, size - 1)
        return v

    taps = []  # per spatial axis (D, H, W order): [(float index, weight or None)]
    for d, size in enumerate(sizes):
        g = grid[:, ndim - 1 - d].astype(cdt)
        if align_corners:
            x = (g + cdt(1)) * cdt((size - 1) / 2)
        else:
            x = (g + cdt(1)) * cdt(size / 2) - cdt(0.5)
        if method == "bicubic":
            base = np.floor(x)
            ws = _cubic((x - base).astype(np.float64))
            taps.append([(pad(base + (k - 1), size), w) for k, w in enumerate(ws)])
            continue
        x = pad(x, size)
        if method == "nearest":
            taps.append([(np.rint(x), None)])
        else:
            base = np.floor(x)
            frac = (x - base).astype(np.float64)
            taps.append([(base, 1 - frac), (base + 1, frac)])

    out = np.zeros(data.shape[:2] + grid.shape[2:])
    for combo in itertools.product(*taps):
        inside = np.ones(grid.shape[:1] + grid.shape[2:], bool)
        idx = []
        for (i, _), size in zip(combo, sizes):
            inside &= (i >= 0) & (i <= size - 1)
            idx.append(np.clip(i, 0, size - 1).astype(int))
        val = np.moveaxis(data64[(batch, slice(None), *idx)], -1, 1)  # (N, C, *out)
        weight = np.ones(inside.shape)
        for _, w in combo:
            weight = weight if w is None else weight * w
        out += np.where(inside, weight, 0.0)[:, None] * val
    return out.astype(data.dtype)


def _roi_align(a_np: np.ndarray, rois_np: np.ndarray, pooled_size: Any, spatial_scale: float, sample_ratio: int,
               mode: Any, layout: str) -> np.ndarray:
    avg = mode in ("avg", b"avg", 0)
    if not avg and mode not in ("max", b"max", 1):
        raise ValueError(f"roi_align: mode {mode!r} is not avg or max")
    data = a_np if layout == "NCHW" else a_np.transpose(0, 3, 1, 2)
    _, channel, height, width = data.shape
    ph, pw = (pooled_size, pooled_size) if isinstance(pooled_size, int) else pooled_size
    dt = rois_np.dtype.type  # the operator's coordinate precision
    out = np.zeros((len(rois_np), channel, ph, pw))

    def bilinear(img: np.ndarray, y: Any, x: Any) -> np.ndarray:
        if y < -1 or x < -1 or y > height or x > width:
            return np.zeros(channel)
        y, x = min(max(y, dt(0)), dt(height - 1)), min(max(x, dt(0)), dt(width - 1))
        y0, x0 = int(math.floor(y)), int(math.floor(x))
        y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
        ly, lx = float(y - dt(y0)), float(x - dt(x0))
        return ((1 - ly) * ((1 - lx) * img[:, y0, x0] + lx * img[:, y0, x1])
                + ly * ((1 - lx) * img[:, y1, x0] + lx * img[:, y1, x1]))

    for n, roi in enumerate(rois_np):
        img = data[int(roi[0])].astype(np.float64)
        x1, y1, x2, y2 = (dt(v) * dt(spatial_scale) for v in roi[1:])
        roi_h, roi_w = max(y2 - y1, dt(1)), max(x2 - x1, dt(1))
        bin_h, bin_w = roi_h / dt(ph), roi_w / dt(pw)
        gh = sample_ratio if sample_ratio > 0 else int(math.ceil(bin_h))
        gw = sample_ratio if sample_ratio > 0 else int(math.ceil(bin_w))
        for i, j in np.ndindex(ph, pw):
            samples = [bilinear(img, y1 + dt(i) * bin_h + (dt(iy) + dt(0.5)) * bin_h / dt(gh),
                                x1 + dt(j) * bin_w + (dt(ix) + dt(0.5)) * bin_w / dt(gw))
                       for iy in range(gh) for ix in range(gw)]
            out[n, :, i, j] = np.mean(samples, axis=0) if avg else np.max(samples, axis=0)
    out = out.astype(a_np.dtype)
    return out if layout == "NCHW" else out.transpose(0, 2, 3, 1)


def roi_align_nchw_python(a_np: np.ndarray, rois_np: np.ndarray, pooled_size: Any, spatial_scale: float,
                          sample_ratio: int, mode: Any = b"avg") -> np.ndarray:
    """ROI Align of ``a_np`` (N, C, H, W) over ``rois_np`` (num_roi, 5) = (batch_index, x1, y1, x2, y2) ->
    (num_roi, C, PH, PW): each bin the mean ("avg"/b"avg"/0) or maximum ("max"/b"max"/1) of its
    ``sample_ratio``^2 (<= 0: ceil(bin size) per axis) bilinear samples."""
    return _roi_align(a_np, rois_np, pooled_size, spatial_scale, sample_ratio, mode, "NCHW")


def roi_align_nhwc_python(a_np: np.ndarray, rois_np: np.ndarray, pooled_size: Any, spatial_scale: float,
                          sample_ratio: int, mode: Any = b"avg") -> np.ndarray:
    """``roi_align_nchw_python`` for ``a_np`` (N, H, W, C) -> (num_roi, PH, PW, C)."""
    return _roi_align(a_np, rois_np, pooled_size, spatial_scale, sample_ratio, mode, "NHWC")


def roi_pool_nchw_python(a_np: np.ndarray, rois_np: np.ndarray, pooled_size: Any, spatial_scale: float) -> np.ndarray:
    """ROI max pooling of ``a_np`` (N, C, H, W) over ``rois_np`` (num_roi, 5) = (batch_index, x1, y1, x2, y2)
    -> (num_roi, C, PH, PW): corners rounded to pixels (ties away from zero), bin k of h pixels spanning
    [floor(k h / PH), ceil((k + 1) h / PH)) from the roi's corner, clipped to the image; empty bins are 0."""
    _, channel, height, width = a_np.shape
    ph, pw = (pooled_size, pooled_size) if isinstance(pooled_size, int) else pooled_size
    dt = rois_np.dtype.type
    out = np.zeros((len(rois_np), channel, ph, pw), a_np.dtype)

    def pixel(v: Any) -> int:
        v = dt(v) * dt(spatial_scale)
        return int(np.floor(v + dt(0.5))) if v >= 0 else -int(np.floor(-v + dt(0.5)))

    for n, roi in enumerate(rois_np):
        x1, y1, x2, y2 = (pixel(v) for v in roi[1:])
        h, w = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for i, j in np.ndindex(ph, pw):
            r0, r1 = (min(max(v + y1, 0), height) for v in (i * h // ph, -(-(i + 1) * h // ph)))
            c0, c1 = (min(max(v + x1, 0), width) for v in (j * w // pw, -(-(j + 1) * w // pw)))
            if r0 < r1 and c0 < c1:
                out[n, :, i, j] = a_np[int(roi[0]), :, r0:r1, c0:c1].max(axis=(1, 2))
    return out


__all__ = ["crop_and_resize_python", "affine_grid_python", "grid_sample_python", "roi_align_nchw_python",
           "roi_align_nhwc_python", "roi_pool_nchw_python"]
