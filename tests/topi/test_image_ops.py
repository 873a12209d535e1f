"""topi.image.crop_and_resize, affine_grid, grid_sample and dilation2d_nchw/nhwc, built with a plain schedule
and checked on fresh random data against the numpy references of topi.testing, which are in turn checked
against direct per-pixel loops written out below on tiny cases; bad arguments raise a tensorlang error that
names the operator and the argument."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tensorlang.topi.image import (
    affine_grid,
    crop_and_resize,
    dilation2d_nchw,
    dilation2d_nhwc,
    grid_sample,
    resize2d,
)
from tensorlang.topi.testing import affine_grid_python, crop_and_resize_python, grid_sample_python
from tests.topi.runner import rand, rng, run_plain


def _nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


# --- crop_and_resize --------------------------------------------------------------------------------------------

def _crop(img, boxes, idx, crop_size, layout="NCHW", **kw):
    D = te.placeholder(img.shape, str(img.dtype), name="data")
    B = te.placeholder(boxes.shape, str(boxes.dtype), name="boxes")
    I = te.placeholder(idx.shape, str(idx.dtype), name="box_indices")  # noqa: E741
    out = crop_and_resize(D, B, I, crop_size, layout, **kw)
    assert out.op.name == "crop_and_resize" and out.op.tag == "injective"
    return run_plain(out, [D, B, I], [img, boxes, idx])


def _crop_loop(img, boxes, idx, crop_size, method, extrapolation_value):
    """TensorFlow's crop_and_resize written out per output pixel (NCHW)."""
    h, w = img.shape[2:]
    ch, cw = crop_size
    out = np.empty((len(boxes), img.shape[1], ch, cw))
    for b, (y1, x1, y2, x2) in enumerate(boxes.astype(np.float64)):
        for y, x in itertools.product(range(ch), range(cw)):
            in_y = y1 * (h - 1) + y * (y2 - y1) * (h - 1) / (ch - 1) if ch > 1 else 0.5 * (y1 + y2) * (h - 1)
            in_x = x1 * (w - 1) + x * (x2 - x1) * (w - 1) / (cw - 1) if cw > 1 else 0.5 * (x1 + x2) * (w - 1)
            src = img[idx[b]].astype(np.float64)
            if not (0 <= in_y <= h - 1 and 0 <= in_x <= w - 1):
                out[b, :, y, x] = extrapolation_value
            elif method == "nearest_neighbor":
                out[b, :, y, x] = src[:, int(math.floor(in_y + 0.5)), int(math.floor(in_x + 0.5))]
            else:
                top, bottom = math.floor(in_y), math.ceil(in_y)
                left, right = math.floor(in_x), math.ceil(in_x)
                fy, fx = in_y - top, in_x - left
                upper = src[:, top, left] + (src[:, top, right] - src[:, top, left]) * fx
                lower = src[:, bottom, left] + (src[:, bottom, right] - src[:, bottom, left]) * fx
                out[b, :, y, x] = upper + (lower - upper) * fy
    return out


def _random_boxes(n):
    # partly outside the image, some flipped (y1 > y2 or x1 > x2)
    return rng.uniform(-0.4, 1.4, (n, 4)).astype("float32")


@pytest.mark.parametrize("method", ["bilinear", "nearest_neighbor"])
@pytest.mark.parametrize("crop_size", [(3, 4), (1, 1)])
def test_crop_and_resize_reference_matches_a_per_pixel_loop(method, crop_size):
    img = rand(2, 2, 5, 6)
    boxes, idx = _random_boxes(6), rng.integers(0, 2, 6)
    got = crop_and_resize_python(img, boxes, idx, crop_size, "NCHW", method, extrapolation_value=-2.0)
    np.testing.assert_allclose(got, _crop_loop(img, boxes, idx, crop_size, method, -2.0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("method", ["bilinear", "nearest_neighbor"])
@pytest.mark.parametrize("crop_size,extrapolation", [((4, 7), 0.0), ((1, 5), -1.5), ((6, 1), None)])
def test_crop_and_resize_matches_reference(layout, method, crop_size, extrapolation):
    img = rand(3, 2, 7, 9)
    img = img if layout == "NCHW" else _nhwc(img)
    boxes, idx = _random_boxes(5), rng.integers(0, 3, 5).astype("int32")
    got = _crop(img, boxes, idx, crop_size, layout, method=method, extrapolation_value=extrapolation)
    ref = crop_and_resize_python(img, boxes, idx, crop_size, layout, method, extrapolation_value=extrapolation or 0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_crop_and_resize_whole_image_box_is_an_align_corners_resize():
    # box (0, 0, 1, 1) puts the first and last samples exactly on the corner pixels: no edge row may be
    # extrapolated; a flipped box gives the flipped image, a box wholly outside only extrapolation_value
    img = rand(2, 3, 6, 5)
    boxes = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1.2, -0.5, 1.5, -0.1]], "float32")
    got = _crop(img, boxes, np.array([1, 0, 1], "int32"), (9, 4), extrapolation_value=7.0)
    X = te.placeholder(img.shape, name="X")
    resized = run_plain(resize2d(X, None, (9, 4), coordinate_transformation_mode="align_corners"), [X], [img])
    np.testing.assert_allclose(got[0], resized[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], resized[0][:, ::-1, ::-1], rtol=1e-5, atol=1e-5)
    assert (got[2] == 7.0).all()


def test_crop_and_resize_integer_data_and_out_dtype():
    while True:  # exact blends clear of a .5 tie, which the kernel's float32 blend may round either way
        img = rng.integers(0, 255, (2, 6, 7, 3)).astype("uint8")
        boxes, idx = _random_boxes(4), rng.integers(0, 2, 4).astype("int64")
        ref = crop_and_resize_python(img.astype("float64"), boxes, idx, (5, 3), "NHWC", extrapolation_value=9)
        if np.abs(ref - np.floor(ref) - 0.5).min() > 1e-3:
            break
    got = _crop(img, boxes, idx, (5, 3), "NHWC", extrapolation_value=9)
    assert got.dtype == np.uint8
    assert np.abs(got - ref).max() <= 0.5 + 1e-6  # rounded to the nearest integer
    got = _crop(img, boxes, idx, (5, 3), "NHWC", method="nearest_neighbor", out_dtype="float32")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, crop_and_resize_python(img, boxes, idx, (5, 3), "NHWC", "nearest_neighbor"))


def test_crop_and_resize_bad_arguments():
    D = te.placeholder((1, 3, 8, 8), name="data")
    B = te.placeholder((2, 4), name="boxes")
    I = te.placeholder((2,), "int32", name="box_indices")  # noqa: E741
    with pytest.raises(ExprError, match="crop_and_resize: method 'bicubic'"):
        crop_and_resize(D, B, I, (2, 2), method="bicubic")
    with pytest.raises(ExprError, match="crop_and_resize: layout 'NCHW4c'"):
        crop_and_resize(D, B, I, (2, 2), layout="NCHW4c")
    with pytest.raises(ExprError, match=r"crop_and_resize: boxes must be \(num_boxes, 4\)"):
        crop_and_resize(D, te.placeholder((2, 5), name="b5"), I, (2, 2))
    with pytest.raises(ExprError, match="crop_and_resize: boxes has 2 boxes but box_indices has 3"):
        crop_and_resize(D, B, te.placeholder((3,), "int32"), (2, 2))
    with pytest.raises(DTypeError, match="crop_and_resize: box_indices must be an integer tensor, got float32"):
        crop_and_resize(D, B, te.placeholder((2,), "float32"), (2, 2))
    with pytest.raises(ExprError, match="crop_and_resize: crop_size must be two positive integers"):
        crop_and_resize(D, B, I, (0, 2))


# --- affine_grid ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_affine_grid_matches_reference(align_corners, dtype):
    theta = rand(3, 2, 3, dtype=dtype)
    A = te.placeholder(theta.shape, dtype, name="theta")
    out = affine_grid(A, (5, 7), align_corners=align_corners)
    assert out.op.tag == "affine_grid"
    got = run_plain(out, [A], [theta])
    np.testing.assert_allclose(got, affine_grid_python(theta, (5, 7), align_corners), rtol=1e-5, atol=1e-5)


def test_affine_grid_reference_of_the_identity_is_evenly_spaced():
    ident = np.array([[[1, 0, 0], [0, 1, 0]]], "float64")
    grid = affine_grid_python(ident, (3, 5))
    np.testing.assert_allclose(grid[0, 0], np.tile(np.linspace(-1, 1, 5), (3, 1)))  # x along the width
    np.testing.assert_allclose(grid[0, 1], np.tile(np.linspace(-1, 1, 3)[:, None], (1, 5)))
    grid = affine_grid_python(ident, (2, 4), align_corners=False)  # pixel centres of [-1, 1] cut in 4
    np.testing.assert_allclose(grid[0, 0, 0], [-0.75, -0.25, 0.25, 0.75])


# --- grid_sample ------------------------------------------------------------------------------------------------

def _fold(v, lo, hi):
    """``v`` mirrored at lo and hi until it lies in [lo, hi]."""
    if hi == lo:
        return lo
    while v < lo or v > hi:
        v = 2 * lo - v if v < lo else 2 * hi - v
    return v


def _keys(s, a=-0.75):
    s = abs(s)
    if s <= 1:
        return (a + 2) * s ** 3 - (a + 3) * s ** 2 + 1
    return a * s ** 3 - 5 * a * s ** 2 + 8 * a * s - 4 * a if s < 2 else 0.0


def _grid_sample_loop(data, grid, method, padding_mode, align_corners):
    """PyTorch's grid_sample written out per output pixel, each axis on its own (2-D or 3-D)."""
    ndim = data.ndim - 2
    sizes = data.shape[2:]
    out = np.zeros(data.shape[:2] + grid.shape[2:])

    def pad(v, n):
        if padding_mode == "reflection":
            v = _fold(v, 0, n - 1) if align_corners else _fold(v, -0.5, n - 0.5)
        return min(max(v, 0), n - 1) if padding_mode != "zeros" else v

    for b in range(data.shape[0]):
        for pos in np.ndindex(*grid.shape[2:]):
            g = [float(grid[(b, ndim - 1 - d, *pos)]) for d in range(ndim)]  # d: D, H, W
            coord = [(gv + 1) / 2 * (n - 1) if align_corners else ((gv + 1) * n - 1) / 2 for gv, n in zip(g, sizes)]
            if method == "bicubic":
                taps = [[(pad(math.floor(c) + k, n), _keys(c - math.floor(c) - k)) for k in (-1, 0, 1, 2)]
                        for c, n in zip(coord, sizes)]
            else:
                coord = [pad(c, n) for c, n in zip(coord, sizes)]
                if method == "nearest":
                    taps = [[(round(c), 1.0)] for c in coord]  # Python rounds ties to even
                else:
                    taps = [[(math.floor(c), 1 - (c - math.floor(c))), (math.floor(c) + 1, c - math.floor(c))]
                            for c in coord]
            for combo in itertools.product(*taps):
                idx = [int(i) for i, _ in combo]
                if all(0 <= i < n for i, n in zip(idx, sizes)):
                    out[(b, slice(None), *pos)] += np.prod([w for _, w in combo]) * data[(b, slice(None), *idx)]
    return out


_GRID_CASES = [(m, p, a) for m in ("nearest", "bilinear", "bicubic") for p in ("zeros", "border", "reflection")
               for a in (True, False)]


@pytest.mark.parametrize("method,padding_mode,align_corners", _GRID_CASES)
def test_grid_sample_reference_matches_a_per_pixel_loop(method, padding_mode, align_corners):
    for shape in ((1, 2, 4, 5), (1, 1, 1, 3)):  # a single-row image too
        data = rand(*shape).astype("float64")
        grid = rng.uniform(-2.7, 2.7, (1, 2, 3, 4)).astype("float32")  # up to two reflections out
        got = grid_sample_python(data, grid, method, "NCHW", padding_mode, align_corners)
        np.testing.assert_allclose(got, _grid_sample_loop(data, grid, method, padding_mode, align_corners),
                                   rtol=1e-5, atol=1e-5)
    if method != "bicubic":
        data = rand(1, 2, 3, 2, 4).astype("float64")
        grid = rng.uniform(-2.7, 2.7, (1, 3, 2, 2, 3)).astype("float32")
        got = grid_sample_python(data, grid, method, "NCDHW", padding_mode, align_corners)
        np.testing.assert_allclose(got, _grid_sample_loop(data, grid, method, padding_mode, align_corners),
                                   rtol=1e-5, atol=1e-5)


def _grid_sample(data, grid, **kw):
    X = te.placeholder(data.shape, str(data.dtype), name="data")
    G = te.placeholder(grid.shape, str(grid.dtype), name="grid")
    out = grid_sample(X, G, **kw)
    assert out.op.tag == "grid_sample" and out.shape[2:] == G.shape[2:]
    return run_plain(out, [X, G], [data, grid])


@pytest.mark.parametrize("method,padding_mode,align_corners", _GRID_CASES)
def test_grid_sample_2d_matches_reference(method, padding_mode, align_corners):
    data = rand(2, 3, 6, 7)
    grid = rng.uniform(-1.8, 1.8, (2, 2, 5, 4)).astype("float32")
    got = _grid_sample(data, grid, method=method, padding_mode=padding_mode, align_corners=align_corners)
    ref = grid_sample_python(data, grid, method, "NCHW", padding_mode, align_corners)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("method,padding_mode,align_corners", [(m, p, a) for m, p, a in _GRID_CASES
                                                               if m != "bicubic" and a == (p != "border")])
def test_grid_sample_3d_matches_reference(method, padding_mode, align_corners):
    data = rand(2, 2, 4, 5, 3)
    grid = rng.uniform(-1.8, 1.8, (2, 3, 3, 2, 4)).astype("float32")
    got = _grid_sample(data, grid, method=method, layout="NCDHW", padding_mode=padding_mode,
                       align_corners=align_corners)
    ref = grid_sample_python(data, grid, method, "NCDHW", padding_mode, align_corners)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=2e-5)


def test_grid_sample_float64_and_far_off_points():
    # points far outside the image read zeros (or the border) without overflowing an index
    data = rand(1, 2, 5, 4, dtype="float64")
    grid = rng.uniform(-1.2, 1.2, (1, 2, 3, 3))
    grid[0, 0, 0] = [1e12, -1e12, 3e9]
    for method, padding_mode in (("bilinear", "zeros"), ("bicubic", "border"), ("nearest", "zeros")):
        got = _grid_sample(data, grid, method=method, padding_mode=padding_mode)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, grid_sample_python(data, grid, method, "NCHW", padding_mode), rtol=1e-10,
                                   atol=1e-10)


def test_affine_grid_identity_then_grid_sample_gives_the_image_back():
    img = rand(2, 3, 5, 6)
    theta = np.tile(np.array([[1, 0, 0], [0, 1, 0]], "float32"), (2, 1, 1))
    A = te.placeholder(theta.shape, name="theta")
    X = te.placeholder(img.shape, name="data")
    for align_corners in (True, False):
        out = grid_sample(X, affine_grid(A, (5, 6), align_corners), align_corners=align_corners)
        np.testing.assert_allclose(run_plain(out, [X, A], [img, theta]), img, rtol=1e-5, atol=1e-5)


def test_grid_sample_and_affine_grid_bad_arguments():
    X = te.placeholder((1, 3, 8, 8), name="data")
    G = te.placeholder((1, 2, 4, 4), name="grid")
    with pytest.raises(ExprError, match="grid_sample: method 'bicubic' is not one of 'nearest', 'bilinear' for NCDHW"):
        grid_sample(te.placeholder((1, 3, 4, 8, 8)), te.placeholder((1, 3, 2, 4, 4)), "bicubic", "NCDHW")
    with pytest.raises(ExprError, match="grid_sample: padding_mode 'wrap'"):
        grid_sample(X, G, padding_mode="wrap")
    with pytest.raises(ExprError, match="grid_sample: layout 'NHWC'"):
        grid_sample(X, G, layout="NHWC")
    with pytest.raises(ExprError, match=r"grid_sample: grid must hold 2 coordinates per point"):
        grid_sample(X, te.placeholder((1, 3, 4, 4)))
    with pytest.raises(ExprError, match="grid_sample: data has batch 1 but grid has batch 2"):
        grid_sample(X, te.placeholder((2, 2, 4, 4)))
    with pytest.raises(DTypeError, match="grid_sample: data must be float, got int32"):
        grid_sample(te.placeholder((1, 3, 8, 8), "int32"), G)
    A = te.placeholder((2, 2, 3), name="theta")
    with pytest.raises(ExprError, match="affine_grid: target_shape must be two integers"):
        affine_grid(A, (1, 5))
    with pytest.raises(ExprError, match=r"affine_grid: data must be the affine matrices \(batch, 2, 3\)"):
        affine_grid(te.placeholder((2, 3, 3)), (4, 5))


# --- dilation2d -------------------------------------------------------------------------------------------------

def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _dilation_loop(x, f, stride, padding, dilation):
    """NCHW x (N, C, H, W), f (C, KH, KW); padding (top, left, bottom, right) filled with 0."""
    n, c, h, w = x.shape
    _, kh, kw = f.shape
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = stride, dilation, padding
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (w + pl + pr - (kw - 1) * dw - 1) // sw + 1
    out = np.empty((n, c, oh, ow), np.result_type(x, f))
    for b, ch, y, xx in np.ndindex(n, c, oh, ow):
        best = -np.inf
        for i, j in np.ndindex(kh, kw):
            r, q = y * sh + i * dh - pt, xx * sw + j * dw - pl
            v = x[b, ch, r, q] if 0 <= r < h and 0 <= q < w else 0
            best = max(best, v + f[ch, i, j])
        out[b, ch, y, xx] = best
    return out


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("stride,padding,dilation,pads", [
    (1, 0, 1, (0, 0, 0, 0)),
    ((2, 1), "SAME", (1, 2), (1, 2, 1, 2)),  # dilated window 3 x 5
    (2, (1, 2), 2, (1, 2, 1, 2)),
    (1, (0, 1, 2, 1), 1, (0, 1, 2, 1)),
    ((1, 3), "VALID", (2, 1), (0, 0, 0, 0)),
])
def test_dilation2d_matches_a_per_pixel_loop(layout, stride, padding, dilation, pads):
    x, f = rand(2, 3, 8, 9), rand(3, 3, 3)
    X = te.placeholder(x.shape if layout == "NCHW" else (2, 8, 9, 3), name="input")
    F = te.placeholder(f.shape if layout == "NCHW" else (3, 3, 3), name="filter")
    if layout == "NCHW":
        out = dilation2d_nchw(X, F, stride, padding, dilation)
        got = run_plain(out, [X, F], [x, f])
    else:
        out = dilation2d_nhwc(X, F, stride, padding, dilation)
        got = run_plain(out, [X, F], [_nhwc(x), np.ascontiguousarray(f.transpose(1, 2, 0))]).transpose(0, 3, 1, 2)
    assert out.op.tag == f"dilation2d_{layout.lower()}"
    np.testing.assert_allclose(got, _dilation_loop(x, f, _pair(stride), pads, _pair(dilation)), rtol=1e-6, atol=1e-6)


def test_dilation2d_padding_is_zero_and_integer_data():
    # as TVM: a padded position counts as 0, so an all-negative image dilated with padding has border
    # outputs of at least 0 + filter; integer data stays exact
    x = -rng.integers(5, 50, (1, 2, 5, 5)).astype("int32")
    f = rng.integers(-3, 3, (2, 3, 3)).astype("int32")
    X, F = te.placeholder(x.shape, "int32", name="input"), te.placeholder(f.shape, "int32", name="filter")
    got = run_plain(dilation2d_nchw(X, F, 1, 1, 1), [X, F], [x, f])
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, _dilation_loop(x, f, (1, 1), (1, 1, 1, 1), (1, 1)))
    assert (got[:, :, 0, 0] >= f[:, 0, 0]).all()
    got = run_plain(dilation2d_nchw(X, F, 1, 0, 1, out_dtype="float32"), [X, F], [x, f])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, _dilation_loop(x, f, (1, 1), (0, 0, 0, 0), (1, 1)))


def test_dilation2d_bad_arguments():
    X = te.placeholder((1, 3, 8, 8), name="input")
    with pytest.raises(ExprError, match="dilation2d_nchw: input has 3 channels but filter has 4"):
        dilation2d_nchw(X, te.placeholder((4, 3, 3)), 1, 0, 1)
    with pytest.raises(ExprError, match=r"dilation2d_nhwc: the dilated window \(9 x 3\) is larger"):
        dilation2d_nhwc(te.placeholder((1, 8, 8, 3)), te.placeholder((3, 3, 3)), 1, 0, (4, 1))
    with pytest.raises(ExprError, match=r"dilation2d_nchw: filter must be 3-D \(CHW\)"):
        dilation2d_nchw(X, te.placeholder((3, 3, 3, 1)), 1, 0, 1)
    with pytest.raises(ExprError, match="dilation2d_nchw: stride 0 and dilations 1 must be positive"):
        dilation2d_nchw(X, te.placeholder((3, 2, 2)), 0, 0, 1)


def test_image_ops_are_exported_under_topi_image():
    for name in ("crop_and_resize", "affine_grid", "grid_sample", "dilation2d_nchw", "dilation2d_nhwc"):
        assert name in topi.image.__all__ and callable(getattr(topi.image, name))
