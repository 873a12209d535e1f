"""topi.image.resize1d/2d/3d (tensorlang.topi.image) by nearest neighbour, (bi/tri)linear and cubic
interpolation, channels first and last, built with a plain schedule and checked on fresh random data:
nearest neighbour against exact integer index math, linear and cubic against numpy references written out
below; bad arguments raise a tensorlang error that names the operator and the argument."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te
from tensorlang.errors import DTypeError, ExprError
from tensorlang.topi.image import resize1d, resize2d, resize3d
from tests.topi.runner import run_plain

rng = np.random.default_rng()


def _resize(a, layout, out_hw, **kw):
    """resize2d of the NCHW array ``a`` in ``layout``, the result returned as NCHW."""
    x = a if layout == "NCHW" else np.ascontiguousarray(a.transpose(0, 2, 3, 1))
    X = te.placeholder(x.shape, str(x.dtype), name="X")
    out = resize2d(X, kw.pop("roi", None), out_hw, layout=layout, **kw)
    assert out.op.name == "resize" and out.op.tag == "injective"
    res = run_plain(out, [X], [x])
    return res if layout == "NCHW" else res.transpose(0, 3, 1, 2)


def _pick(a, rows, cols):
    return a[:, :, rows][:, :, :, cols]


# --- nearest neighbour: exact integer index math --------------------------------------------------------------
#   asymmetric:                   src = floor(o * in / out)
#   half_pixel (floor):           src = floor((o + 0.5) * in / out - 0.5) = floor(((2o + 1) * in - out) / (2 out)),
#                                 clamped at 0
#   align_corners (round, ties to even): src = round(o * (in - 1) / (out - 1))   (0 when out is 1)

def _asymmetric(n_in, n_out):
    return np.arange(n_out) * n_in // n_out


def _half_pixel_floor(n_in, n_out):
    o = np.arange(n_out)
    return np.clip(((2 * o + 1) * n_in - n_out) // (2 * n_out), 0, n_in - 1)


def _align_corners_round(n_in, n_out):
    if n_out == 1:
        return np.zeros(1, int)
    o = np.arange(n_out)
    q, r = np.divmod(o * (n_in - 1), n_out - 1)
    up = (2 * r > n_out - 1) | ((2 * r == n_out - 1) & (q % 2 == 1))
    return q + up


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("in_hw,out_hw", [((5, 7), (11, 3)), ((8, 8), (4, 16)), ((6, 4), (6, 4)), ((3, 5), (1, 1))])
@pytest.mark.parametrize("mode,ref", [("asymmetric", _asymmetric), ("half_pixel", _half_pixel_floor),
                                      ("align_corners", _align_corners_round)])
def test_nearest_neighbor_matches_exact_index_math(layout, in_hw, out_hw, mode, ref):
    a = rng.standard_normal((2, 3) + in_hw).astype("float32")
    got = _resize(a, layout, out_hw, method="nearest_neighbor", coordinate_transformation_mode=mode)
    np.testing.assert_array_equal(got, _pick(a, ref(in_hw[0], out_hw[0]), ref(in_hw[1], out_hw[1])))


def test_nearest_neighbor_asymmetric_stays_exact_where_float32_coordinates_slip():
    # row 265 of 318 from 342 rows: 265 * 342 / 318 = 285 exactly, which float32 computes as 284.99997
    a = rng.standard_normal((1, 1, 342, 2)).astype("float32")
    got = _resize(a, "NCHW", (318, 2), method="nearest_neighbor", coordinate_transformation_mode="asymmetric")
    np.testing.assert_array_equal(got, _pick(a, _asymmetric(342, 318), np.arange(2)))


def test_nearest_neighbor_integer_data_and_rounding_methods():
    a = rng.integers(0, 255, (1, 2, 5, 6)).astype("uint8")
    o = np.arange(9)
    got = _resize(a, "NCHW", (9, 9), method="nearest_neighbor", coordinate_transformation_mode="asymmetric",
                  rounding_method="round_prefer_ceil")
    # floor(o * in / out + 1/2) = floor((2 o in + out) / (2 out))
    np.testing.assert_array_equal(got, _pick(a, np.minimum((2 * o * 5 + 9) // 18, 4),
                                             np.minimum((2 * o * 6 + 9) // 18, 5)))
    got = _resize(a, "NHWC", (9, 9), method="nearest_neighbor", coordinate_transformation_mode="asymmetric",
                  rounding_method="ceil")
    np.testing.assert_array_equal(got, _pick(a, np.minimum(-(-o * 5 // 9), 4), np.minimum(-(-o * 6 // 9), 5)))


# --- bilinear: a numpy reference --------------------------------------------------------------------------------
# For each axis, output position o maps to a source coordinate x:
#   half_pixel:         x = (o + 0.5) * in / out - 0.5
#   align_corners:      x = o * (in - 1) / (out - 1)        (0 when out is 1)
#   asymmetric:         x = o * in / out
#   pytorch_half_pixel: as half_pixel, but 0 when out is 1
# with x0 = floor(x), w = x - x0, and the neighbours x0 and x0 + 1 clamped into [0, in - 1]; then
#   out = (1 - wy) * ((1 - wx) * a[y0, x0] + wx * a[y0, x1]) + wy * ((1 - wx) * a[y1, x0] + wx * a[y1, x1]).

def _source(n_in, n_out, mode):
    o = np.arange(n_out, dtype=np.float64)
    if mode == "align_corners":
        return o * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(1)
    if mode == "asymmetric":
        return o * n_in / n_out
    if mode == "pytorch_half_pixel" and n_out == 1:
        return np.zeros(1)
    return (o + 0.5) * n_in / n_out - 0.5


def _bilinear_ref(a, out_hw, mode):
    h, w = a.shape[2:]
    y, x = _source(h, out_hw[0], mode), _source(w, out_hw[1], mode)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    wy, wx = (y - y0)[:, None], x - x0
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    y0, x0 = np.clip(y0, 0, h - 1), np.clip(x0, 0, w - 1)
    a = a.astype(np.float64)
    top = (1 - wx) * _pick(a, y0, x0) + wx * _pick(a, y0, x1)
    bottom = (1 - wx) * _pick(a, y1, x0) + wx * _pick(a, y1, x1)
    return (1 - wy) * top + wy * bottom


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("in_hw,out_hw", [((4, 5), (9, 7)), ((9, 6), (4, 3)), ((5, 5), (5, 12)), ((3, 4), (1, 1))])
@pytest.mark.parametrize("mode", ["align_corners", "half_pixel", "asymmetric", "pytorch_half_pixel"])
def test_bilinear_matches_numpy_reference(layout, in_hw, out_hw, mode):
    a = rng.standard_normal((2, 3) + in_hw).astype("float32")
    got = _resize(a, layout, out_hw, method="linear", coordinate_transformation_mode=mode)
    np.testing.assert_allclose(got, _bilinear_ref(a, out_hw, mode), rtol=1e-5, atol=1e-5)


def test_bilinear_float64_integer_data_and_out_dtype():
    a = rng.standard_normal((1, 2, 6, 5))
    got = _resize(a, "NHWC", (13, 4), coordinate_transformation_mode="half_pixel")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _bilinear_ref(a, (13, 4), "half_pixel"), rtol=1e-12, atol=1e-12)
    b = rng.integers(0, 255, (1, 2, 6, 5)).astype("uint8")
    got = _resize(b, "NCHW", (7, 9), coordinate_transformation_mode="align_corners")
    assert got.dtype == np.uint8  # rounded to the nearest integer (a tie may go either way)
    assert np.abs(got.astype(float) - _bilinear_ref(b, (7, 9), "align_corners")).max() <= 0.5 + 1e-4
    got = _resize(b, "NCHW", (7, 9), coordinate_transformation_mode="align_corners", out_dtype="float32")
    np.testing.assert_allclose(got, _bilinear_ref(b, (7, 9), "align_corners"), rtol=1e-5, atol=1e-4)


def test_tf_crop_and_resize_extrapolates_outside_the_roi():
    # x = start * (in - 1) + o * (end - start) * (in - 1) / (out - 1); outside [0, in - 1]: extrapolation_value
    a = rng.standard_normal((1, 2, 6, 7)).astype("float32")
    roi = (-0.2, 0.1, 1.3, 0.8)  # (start_h, start_w, end_h, end_w)
    out_hw = (8, 5)
    got = _resize(a, "NCHW", out_hw, roi=roi, coordinate_transformation_mode="tf_crop_and_resize",
                  extrapolation_value=-7.0)
    h, w = 6, 7
    y = roi[0] * (h - 1) + np.arange(8) * (roi[2] - roi[0]) * (h - 1) / 7
    x = roi[1] * (w - 1) + np.arange(5) * (roi[3] - roi[1]) * (w - 1) / 4
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    wy, wx = (y - y0)[:, None], x - x0
    c = lambda v, n: np.clip(v, 0, n - 1)  # noqa: E731
    top = (1 - wx) * _pick(a, c(y0, h), c(x0, w)) + wx * _pick(a, c(y0, h), c(x0 + 1, w))
    bottom = (1 - wx) * _pick(a, c(y0 + 1, h), c(x0, w)) + wx * _pick(a, c(y0 + 1, h), c(x0 + 1, w))
    ref = (1 - wy) * top + wy * bottom
    inside = ((y >= 0) & (y <= h - 1))[:, None] & ((x >= 0) & (x <= w - 1))
    np.testing.assert_allclose(got, np.where(inside, ref, -7.0), rtol=1e-5, atol=1e-5)
    assert not inside.all() and inside.any()


def test_resize2d_rejects_bad_arguments():
    X = te.placeholder((1, 3, 4, 4), name="X")
    with pytest.raises(ExprError, match="resize2d: method 'area' is not one of"):
        resize2d(X, None, (8, 8), method="area")
    with pytest.raises(ExprError, match="resize2d: coordinate_transformation_mode 'centre' is not one of"):
        resize2d(X, None, (8, 8), coordinate_transformation_mode="centre")
    with pytest.raises(ExprError, match="resize2d: rounding_method 'up' is not one of"):
        resize2d(X, None, (8, 8), method="nearest_neighbor", rounding_method="up")
    with pytest.raises(ExprError, match="resize2d: layout 'CNHW' is not supported"):
        resize2d(X, None, (8, 8), layout="CNHW")
    with pytest.raises(ExprError, match=r"resize2d: data must be a 5-D tensor \(NCHW4c\)"):
        resize2d(X, None, (8, 8), layout="NCHW4c")  # TVM's packed layout, on 4-D data
    with pytest.raises(ExprError, match="resize2d: size must be two positive integers"):
        resize2d(X, None, (8, 0))
    with pytest.raises(ExprError, match="resize2d: size must be two positive integers"):
        resize2d(X, None, (8,))
    with pytest.raises(ExprError, match="resize2d: size must hold constants"):
        resize2d(X, None, (8, te.var("w")))
    with pytest.raises(ExprError, match="resize2d: roi must be .* for tf_crop_and_resize"):
        resize2d(X, None, (8, 8), coordinate_transformation_mode="tf_crop_and_resize")
    with pytest.raises(ExprError, match="resize2d: data must be a 4-D tensor"):
        resize2d(te.placeholder((3, 4, 4), name="Y"), None, (8, 8))
    with pytest.raises(DTypeError, match="resize2d: out_dtype 'float13' is not a dtype"):
        resize2d(X, None, (8, 8), out_dtype="float13")


# --- n-dimensional linear and cubic: a separable numpy reference ------------------------------------------------

def _source_np(n_in, n_out, mode):
    o = np.arange(n_out, dtype=np.float64)
    if mode == "half_pixel":
        return (o + 0.5) * n_in / n_out - 0.5
    if mode == "align_corners":
        return o * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(1)
    return o * n_in / n_out  # asymmetric


def _weights_np(n_in, n_out, mode, method, alpha=-0.5, exclude=False):
    """The (n_out, n_in) matrix that resamples one axis: rows of clamped-neighbour weights."""
    c = _source_np(n_in, n_out, mode)
    base = np.floor(c)
    t = c - base
    m = np.zeros((n_out, n_in))
    if method == "linear":
        taps = [(base, 1 - t), (base + 1, t)]
    else:
        t2, t3 = t * t, t ** 3
        ws = [alpha * (t3 - 2 * t2 + t), (alpha + 2) * t3 - (alpha + 3) * t2 + 1,
              -(alpha + 2) * t3 + (2 * alpha + 3) * t2 - alpha * t, -alpha * t3 + alpha * t2]
        taps = list(zip([base - 1, base, base + 1, base + 2], ws))
        if exclude:
            kept = [np.where((j >= 0) & (j < n_in), w, 0.0) for j, w in taps]
            total = sum(kept)
            taps = [(j, w / total) for (j, _), w in zip(taps, kept)]
    for j, w in taps:
        np.add.at(m, (np.arange(n_out), np.clip(j, 0, n_in - 1).astype(int)), w)
    return m


def _resize_np(a, axes, outs, mode, method, **kw):
    out = a.astype(np.float64)
    for ax, n_out in zip(axes, outs):
        w = _weights_np(out.shape[ax], n_out, mode, method, **kw)
        out = np.moveaxis(np.tensordot(w, np.moveaxis(out, ax, 0), axes=1), 0, ax)
    return out


@pytest.mark.parametrize("method", ["linear", "cubic"])
@pytest.mark.parametrize("mode", ["half_pixel", "align_corners", "asymmetric"])
def test_linear_and_cubic_in_one_two_and_three_dimensions_match_numpy(method, mode):
    cases = [(resize1d, "NCW", (2, 3, 9), (13,)), (resize1d, "NWC", (2, 7, 3), (4,)),
             (resize2d, "NCHW", (1, 2, 6, 5), (9, 3)), (resize2d, "NHWC", (1, 7, 4, 2), (5, 8)),
             (resize3d, "NCDHW", (1, 2, 4, 5, 3), (6, 3, 5)), (resize3d, "NDHWC", (1, 3, 4, 5, 2), (2, 7, 4))]
    for fn, layout, shape, size in cases:
        a = rng.standard_normal(shape).astype("float32")
        axes = [layout.index(d) for d in "DHW" if d in layout]
        X = te.placeholder(shape, "float32", name="X")
        got = run_plain(fn(X, None, size, layout=layout, method=method, coordinate_transformation_mode=mode), [X], [a])
        np.testing.assert_allclose(got, _resize_np(a, axes, size, mode, method), rtol=1e-5, atol=1e-5,
                                   err_msg=f"{fn.__name__} {layout}")


@pytest.mark.parametrize("alpha,exclude", [(-0.5, 0), (-0.75, 0), (-0.75, 1), (-0.5, 1)])
def test_bicubic_alpha_and_exclude(alpha, exclude):
    a = rng.standard_normal((2, 3, 7, 6)).astype("float32")
    X = te.placeholder(a.shape, "float32", name="X")
    out = resize2d(X, None, (11, 4), method="cubic", bicubic_alpha=alpha, bicubic_exclude=exclude)
    want = _resize_np(a, [2, 3], (11, 4), "half_pixel", "cubic", alpha=alpha, exclude=bool(exclude))
    np.testing.assert_allclose(run_plain(out, [X], [a]), want, rtol=1e-5, atol=1e-5)
    # Keys' kernel with alpha = -0.5 reproduces a linear ramp exactly away from the edges.
    if alpha == -0.5 and not exclude:
        ramp = np.broadcast_to(np.arange(16, dtype="float32") * 0.5 - 3, (1, 1, 16, 16)).copy()
        R = te.placeholder(ramp.shape, "float32", name="R")
        got = run_plain(resize2d(R, None, (24, 24), method="cubic", coordinate_transformation_mode="align_corners"),
                        [R], [ramp])
        src = np.arange(24) * 15 / 23
        np.testing.assert_allclose(got[0, 0, :, 4:20], np.broadcast_to(src[4:20] * 0.5 - 3, (24, 16)), atol=1e-5)


def test_resize1d_and_3d_nearest_and_integer_data():
    a = rng.integers(-100, 100, (1, 2, 5, 6, 7)).astype("int32")
    X = te.placeholder(a.shape, "int32", name="X")
    got = run_plain(resize3d(X, None, (9, 3, 7)), [X], [a])  # TVM's defaults: nearest, align_corners
    idx = [_align_corners_round(n, o) for n, o in zip((5, 6, 7), (9, 3, 7))]
    np.testing.assert_array_equal(got, a[:, :, idx[0]][:, :, :, idx[1]][:, :, :, :, idx[2]])
    while True:  # exact results clear of a .5 tie, which the kernel's float32 blend may round either way
        b = rng.integers(50, 150, (2, 3, 10)).astype("uint8")  # cubic overshoot stays inside uint8
        exact = _resize_np(b, [2], (7,), "half_pixel", "cubic")
        if np.abs(exact - np.floor(exact) - 0.5).min() > 1e-3:
            break
    Y = te.placeholder(b.shape, "uint8", name="Y")
    got = run_plain(resize1d(Y, None, (7,), method="cubic"), [Y], [b])  # integer outputs are rounded
    want = np.round(exact)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got.astype(np.int64), want.astype(np.int64))
    with pytest.raises(ExprError, match="resize3d: size must be three positive integers"):
        resize3d(X, None, (9, 3))
    with pytest.raises(ExprError, match="resize1d: layout 'NCHW' is not supported"):
        resize1d(Y, None, (7,), layout="NCHW")
