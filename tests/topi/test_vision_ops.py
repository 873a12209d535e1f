"""topi.vision.roi_align_nchw/nhwc and roi_pool_nchw (also under topi.vision.rcnn), built with a plain
schedule and checked on fresh random data (rois partly outside the image, flipped, at the border) against the
numpy references of topi.testing, which are in turn checked against direct per-sample and per-pixel loops
written out below; bad arguments raise a tensorlang error that names the operator and the argument."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import BoundsError, DTypeError, ExprError
from tensorlang.topi.testing import roi_align_nchw_python, roi_align_nhwc_python, roi_pool_nchw_python
from tensorlang.topi.vision import roi_align_nchw, roi_align_nhwc, roi_pool_nchw
from tests.topi.runner import rand, rng, run_plain


def _rois(num, batch, lo, hi):
    """``num`` rois (batch_index, x1, y1, x2, y2) with corners uniform in [lo, hi): partly outside the
    image and about half of them flipped on each axis."""
    return np.concatenate([rng.integers(0, batch, (num, 1)), rng.uniform(lo, hi, (num, 4))], 1).astype("float32")


def _run(op, data, rois, *args, **kw):
    X = te.placeholder(data.shape, str(data.dtype), name="data")
    R = te.placeholder(rois.shape, str(rois.dtype), name="rois")
    out = op(X, R, *args, **kw)
    return out, run_plain(out, [X, R], [data, rois])


# --- roi_align --------------------------------------------------------------------------------------------------

def _roi_align_loop(data, rois, pooled, scale, sample_ratio, mode):
    """TVM's (Mask R-CNN's) ROI Align written out per sample point, in float64 (NCHW)."""
    _, c, h, w = data.shape
    ph, pw = pooled
    out = np.empty((len(rois), c, ph, pw))

    def pixel(img, y, x):
        if y < -1 or y > h or x < -1 or x > w:
            return np.zeros(c)
        y, x = min(max(y, 0.0), h - 1.0), min(max(x, 0.0), w - 1.0)
        total = np.zeros(c)
        for r, q in itertools.product((math.floor(y), math.floor(y) + 1), (math.floor(x), math.floor(x) + 1)):
            if r < h and q < w:
                total += (1 - abs(y - r)) * (1 - abs(x - q)) * img[:, r, q]
        return total

    for n, (b, x1, y1, x2, y2) in enumerate(rois.astype(np.float64)):
        x1, y1, x2, y2 = x1 * scale, y1 * scale, x2 * scale, y2 * scale
        bh, bw = max(y2 - y1, 1.0) / ph, max(x2 - x1, 1.0) / pw
        gh = sample_ratio if sample_ratio > 0 else math.ceil(bh)
        gw = sample_ratio if sample_ratio > 0 else math.ceil(bw)
        for i, j in itertools.product(range(ph), range(pw)):
            vals = [pixel(data[int(b)], y1 + i * bh + (iy + 0.5) * bh / gh, x1 + j * bw + (ix + 0.5) * bw / gw)
                    for iy in range(gh) for ix in range(gw)]
            out[n, :, i, j] = np.mean(vals, 0) if mode == "avg" else np.max(vals, 0)
    return out


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("sample_ratio", [-1, 2])
def test_roi_align_reference_matches_a_per_sample_loop(mode, sample_ratio):
    data = rand(2, 3, 7, 8)
    rois = _rois(8, 2, -3.0, 20.0)
    got = roi_align_nchw_python(data, rois, (2, 3), 0.5, sample_ratio, mode)
    np.testing.assert_allclose(got, _roi_align_loop(data, rois, (2, 3), 0.5, sample_ratio, mode), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("mode,sample_ratio,pooled_size,scale", [
    ("avg", -1, 3, 1.0),
    ("avg", 2, (2, 4), 0.5),
    (b"avg", 0, (3, 2), 0.25),
    (0, 1, 2, 1.0),
    ("max", -1, (2, 3), 0.5),
    (b"max", 3, 3, 1.0),
    (1, 2, (1, 1), 0.25),
])
def test_roi_align_nchw_matches_reference(mode, sample_ratio, pooled_size, scale):
    data = rand(2, 4, 9, 11)
    rois = _rois(9, 2, -4.0 / scale, 14.0 / scale)
    out, got = _run(roi_align_nchw, data, rois, pooled_size, scale, mode=mode, sample_ratio=sample_ratio)
    assert out.op.tag == "pool,roi_align_nchw"
    ref = roi_align_nchw_python(data, rois, pooled_size, scale, sample_ratio, mode)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode,sample_ratio", [("avg", -1), ("max", 2)])
def test_roi_align_nhwc_matches_reference(mode, sample_ratio):
    data = rand(2, 8, 10, 3)
    rois = _rois(6, 2, -2.0, 12.0)
    out, got = _run(roi_align_nhwc, data, rois, (3, 2), 1.0, mode=mode, sample_ratio=sample_ratio)
    assert out.op.tag == "pool,roi_align_nhwc" and got.shape == (6, 3, 2, 3)
    np.testing.assert_allclose(got, roi_align_nhwc_python(data, rois, (3, 2), 1.0, sample_ratio, mode), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(got, roi_align_nchw_python(data.transpose(0, 3, 1, 2), rois, (3, 2), 1.0, sample_ratio,
                                                          mode).transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)


def test_roi_align_of_a_plane_is_the_plane_at_the_mean_sample_point():
    # bilinear interpolation is exact on a plane a*y + b*x + d, so a bin's mean over samples inside the
    # image is the plane at the bin centre; a roi along the border (corners at 0 and H-1, W-1) and a roi
    # with 1-pixel bins
    h, w = 6, 8
    a, b, d = rng.uniform(-2, 2, 3)
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    data = (a * yy + b * xx + d)[None, None].astype("float32")
    rois = np.array([[0, 0, 0, w - 1, h - 1], [0, 2, 1, 6, 5]], "float32")
    _, got = _run(roi_align_nchw, data, rois, (2, 2), 1.0, mode="avg", sample_ratio=2)
    for n, (_, x1, y1, x2, y2) in enumerate(rois):
        for i, j in itertools.product(range(2), range(2)):
            cy, cx = y1 + (i + 0.5) * (y2 - y1) / 2, x1 + (j + 0.5) * (x2 - x1) / 2
            np.testing.assert_allclose(got[n, 0, i, j], a * cy + b * cx + d, rtol=1e-5, atol=1e-5)


# --- roi_pool ---------------------------------------------------------------------------------------------------

def _round_half_away(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def _roi_pool_loop(data, rois, pooled, scale):
    """Fast R-CNN's ROI pooling per pixel: every image pixel goes to each bin whose exact (rational) span
    [k h / PH, (k + 1) h / PH), widened to whole pixels, covers it; the bin's maximum, or 0 if it has none."""
    _, c, h, w = data.shape
    ph, pw = pooled
    out = np.zeros((len(rois), c, ph, pw), data.dtype)
    for n, roi in enumerate(rois):
        x1, y1, x2, y2 = (_round_half_away(float(v) * scale) for v in roi[1:])
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for i, j in itertools.product(range(ph), range(pw)):
            cells = [(r, q) for r in range(h) for q in range(w)
                     if math.floor(Fraction(i * rh, ph)) <= r - y1 < math.ceil(Fraction((i + 1) * rh, ph))
                     and math.floor(Fraction(j * rw, pw)) <= q - x1 < math.ceil(Fraction((j + 1) * rw, pw))]
            if cells:
                out[n, :, i, j] = np.max([data[int(roi[0]), :, r, q] for r, q in cells], 0)
    return out


def test_roi_pool_reference_matches_a_per_pixel_loop():
    data = rand(2, 2, 6, 7)
    rois = _rois(8, 2, -4.0, 18.0)
    for pooled, scale in (((2, 3), 0.5), ((3, 3), 1.0)):
        got = roi_pool_nchw_python(data, rois, pooled, scale)
        np.testing.assert_array_equal(got, _roi_pool_loop(data, rois, pooled, scale))


@pytest.mark.parametrize("pooled_size,scale", [(3, 1.0), ((2, 4), 0.5), ((4, 3), 0.25)])
def test_roi_pool_nchw_matches_reference(pooled_size, scale):
    data = rand(2, 3, 9, 10)
    rois = _rois(10, 2, -3.0 / scale, 13.0 / scale)
    out, got = _run(roi_pool_nchw, data, rois, pooled_size, scale)
    assert out.op.tag == "pool,roi_pool"
    np.testing.assert_array_equal(got, roi_pool_nchw_python(data, rois, pooled_size, scale))


def test_roi_pool_rounds_ties_away_from_zero_and_empty_bins_are_zero():
    # corners at half pixels after scaling (5 * 0.5 = 2.5 -> 3, -3 * 0.5 = -1.5 -> -2); the last roi lies
    # wholly right of the image, so every bin is empty
    data = rng.integers(1, 100, (1, 2, 6, 8)).astype("int32")
    rois = np.array([[0, 5, 1, 11, 9], [0, -3, -3, 3, 7], [0, 20, 0, 30, 6]], "float32")
    _, got = _run(roi_pool_nchw, data, rois, (2, 2), 0.5)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, _roi_pool_loop(data, rois, (2, 2), 0.5))
    # roi 0 spans columns 3..6 (from 2.5 -> 3 and 5.5 -> 6) and rows 1..5 (0.5 -> 1, 4.5 -> 5)
    np.testing.assert_array_equal(got[0, :, 0, 0], data[0, :, 1:4, 3:5].max(axis=(1, 2)))
    assert (got[2] == 0).all()


# --- errors -----------------------------------------------------------------------------------------------------

def test_roi_ops_bad_arguments():
    X = te.placeholder((1, 3, 8, 8), name="data")
    R = te.placeholder((4, 5), name="rois")
    with pytest.raises(ExprError, match="roi_align_nchw: mode 'sum' is not 'avg'"):
        roi_align_nchw(X, R, 2, 1.0, mode="sum")
    with pytest.raises(ExprError, match=r"roi_align_nchw: rois must be \(num_roi, 5\)"):
        roi_align_nchw(X, te.placeholder((4, 4)), 2, 1.0)
    with pytest.raises(DTypeError, match="roi_align_nchw: data must be float, got int8"):
        roi_align_nchw(te.placeholder((1, 3, 8, 8), "int8"), R, 2, 1.0)
    with pytest.raises(ExprError, match="roi_align_nhwc: pooled_size must be a positive int or two, got"):
        roi_align_nhwc(te.placeholder((1, 8, 8, 3)), R, (2, 0), 1.0)
    with pytest.raises(DTypeError, match="roi_pool_nchw: rois must be float, got int32"):
        roi_pool_nchw(X, te.placeholder((4, 5), "int32"), 2, 1.0)
    with pytest.raises(ExprError, match=r"roi_pool_nchw: data must be 4-D \(NCHW\)"):
        roi_pool_nchw(te.placeholder((3, 8, 8)), R, 2, 1.0)


@pytest.mark.parametrize("op", [roi_align_nchw, roi_pool_nchw])
def test_roi_batch_index_outside_the_batch_is_a_bounds_error(op):
    data = rand(2, 1, 5, 5)
    rois = np.array([[0, 1, 1, 3, 3], [2, 1, 1, 3, 3]], "float32")
    with pytest.raises(BoundsError, match="out-of-bounds read of data"):
        _run(op, data, rois, 2, 1.0)


def test_vision_is_a_topi_package_like_tvms():
    assert "vision" in topi.__all__
    assert topi.vision.rcnn.roi_align_nchw is roi_align_nchw and topi.vision.roi_pool_nchw is roi_pool_nchw
