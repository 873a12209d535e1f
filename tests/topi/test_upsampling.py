"""topi.nn.upsampling by bilinear and bicubic interpolation (a resize2d to the scaled size with TVM's
"asymmetric" or "align_corners" mapping), checked against topi.testing.resize2d_python and, for bilinear,
against a direct loop over the four neighbours, on fresh random data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tensorlang import te, topi
from tests.topi.runner import rand, run_plain


def _bilinear_nchw(x, oh, ow, align_corners):
    """Each output pixel blends its four nearest input pixels (clamped at the far edge)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for z in range(ow):
            if align_corners:
                sy = y * (h - 1) / (oh - 1) if oh > 1 else 0.0
                sx = z * (w - 1) / (ow - 1) if ow > 1 else 0.0
            else:
                sy, sx = y * h / oh, z * w / ow
            y0, x0 = math.floor(sy), math.floor(sx)
            fy, fx = sy - y0, sx - x0
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            out[:, :, y, z] = ((1 - fy) * ((1 - fx) * x[:, :, y0, x0] + fx * x[:, :, y0, x1])
                               + fy * ((1 - fx) * x[:, :, y1, x0] + fx * x[:, :, y1, x1]))
    return out


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_upsampling_interpolates(layout, method, align_corners):
    x = rand(1, 3, 4, 5)
    scale_h, scale_w = 2, 1.5
    data = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    X = te.placeholder(data.shape, name="X")
    out = topi.nn.upsampling(X, scale_h, scale_w, layout=layout, method=method, align_corners=align_corners)
    res = run_plain(out, [X], [data])
    mode = "align_corners" if align_corners else "asymmetric"
    ref = topi.testing.resize2d_python(data, (scale_h, scale_w), layout, method[2:], mode)
    oh, ow = 8, round(5 * scale_w)
    assert res.shape == ref.shape == ((1, 3, oh, ow) if layout == "NCHW" else (1, oh, ow, 3))
    np.testing.assert_allclose(res, ref, rtol=1e-5, atol=1e-5)
    if method == "bilinear":
        direct = _bilinear_nchw(x.astype("float64"), oh, ow, align_corners)
        if layout == "NHWC":
            direct = direct.transpose(0, 2, 3, 1)
        np.testing.assert_allclose(res, direct, rtol=1e-5, atol=1e-5)
