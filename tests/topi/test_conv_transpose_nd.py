"""topi.nn's 1-D, grouped 2-D and 3-D transposed convolutions and upsampling3d, built with a plain schedule
and checked on fresh random data against topi.testing's references, which are themselves checked against
the definition written as plain loops; bad arguments raise a tensorlang error naming the operator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tensorlang.topi.utils import get_const_tuple, get_pad_tuple, get_pad_tuple3d
from tests.topi.runner import rand, run_plain


def _loops(x, w, strides, before, out_spatial, groups=1):
    """The definition: out[n, g*K' + k, o] sums x[n, g*C' + c, i] * w[g*C' + c, k, r] over o = i * s + r - pad."""
    n, c, *sizes = x.shape
    _, per, *ks = w.shape
    cg = c // groups
    out = np.zeros((n, per * groups, *out_spatial))
    for i in itertools.product(*(range(m) for m in sizes)):
        for r in itertools.product(*(range(k) for k in ks)):
            o = tuple(a * s + b - p for a, s, b, p in zip(i, strides, r, before))
            if not all(0 <= v < m for v, m in zip(o, out_spatial)):
                continue
            for g in range(groups):
                xs = x[(slice(None), slice(g * cg, (g + 1) * cg), *i)].astype("float64")
                ws = w[(slice(g * cg, (g + 1) * cg), slice(None), *r)]
                out[(slice(None), slice(g * per, (g + 1) * per), *o)] += xs @ ws
    return out


def _as_list(value, n):
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


# ---------------------------------------------------------------- conv1d_transpose_ncw

@pytest.mark.parametrize("stride,padding,output_padding", [
    (1, 0, 0), (2, 1, 1), (3, (2, 0), 2), ((2,), "SAME", (1,)), (2, "VALID", 0), (4, (1,), 3)])
def test_conv1d_transpose_ncw(stride, padding, output_padding):
    x, w = rand(2, 3, 7), rand(3, 4, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    out = topi.nn.conv1d_transpose_ncw(X, W, stride, padding, "float32", output_padding)
    assert out.op.tag == "conv1d_transpose_ncw"
    assert [t.op.name for t in out.op.input_tensors] == ["data_pad", "kernel_transform"]
    ref = topi.testing.conv1d_transpose_ncw_python(x, w, stride, padding, output_padding)
    s, op = _as_list(stride, 1)[0], _as_list(output_padding, 1)[0]
    left, right = {0: (0, 0), 1: (1, 1), "SAME": (1, 1), "VALID": (0, 0)}.get(padding, None) or \
        (padding[0], padding[-1])
    assert get_const_tuple(out.shape) == ref.shape == (2, 4, 6 * s - left - right + 3 + op)
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ref, _loops(x, w, [s], [left], ref.shape[2:]), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- group_conv2d_transpose_nchw

@pytest.mark.parametrize("groups,stride,padding,output_padding", [
    (1, 2, 1, (1, 1)), (2, 1, 0, (0, 0)), (2, (2, 3), (1, 2), (1, 2)), (3, 2, (0, 1, 2, 0), (1, 0)),
    (6, (3, 1), "SAME", (2, 0))])
def test_group_conv2d_transpose_nchw(groups, stride, padding, output_padding):
    x, w = rand(2, 6, 4, 5), rand(6, 2, 3, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    out = topi.nn.group_conv2d_transpose_nchw(X, W, stride, padding, "float32", output_padding, groups)
    # one group is conv2d_transpose_nchw itself, its tag included (as in TVM)
    assert out.op.tag == ("conv2d_transpose_nchw" if groups == 1 else "group_conv2d_transpose_nchw")
    ref = topi.testing.conv2d_transpose_nchw_python(x, w, stride, padding, output_padding, groups=groups)
    assert get_const_tuple(out.shape) == ref.shape and ref.shape[1] == 2 * groups
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-5, atol=1e-5)
    top, left, _, _ = get_pad_tuple(padding, (3, 3))
    np.testing.assert_allclose(ref, _loops(x, w, _as_list(stride, 2), [top, left], ref.shape[2:], groups),
                               rtol=1e-6, atol=1e-6)


def test_conv2d_transpose_nchw_python_groups_default_is_one_group():
    x, w = rand(1, 4, 3, 3), rand(4, 3, 2, 2)
    one = topi.testing.conv2d_transpose_nchw_python(x, w, 2, 0, 1)
    np.testing.assert_array_equal(one, topi.testing.conv2d_transpose_nchw_python(x, w, 2, 0, 1, groups=1))
    # two groups are the two halves, each with its own half of the filter's input channels, side by side
    two = topi.testing.conv2d_transpose_nchw_python(x, w, 2, 0, 1, groups=2)
    halves = [topi.testing.conv2d_transpose_nchw_python(x[:, k:k + 2], w[k:k + 2], 2, 0, 1) for k in (0, 2)]
    np.testing.assert_array_equal(two, np.concatenate(halves, axis=1))


# ---------------------------------------------------------------- conv3d_transpose_ncdhw

@pytest.mark.parametrize("stride,padding,output_padding", [
    (1, 0, 0), (2, 1, 1), ((2, 1, 3), (1, 0, 2), (1, 0, 2)), ((1, 2, 2), (0, 1, 1, 1, 0, 0), (0, 1, 0)),
    (2, "SAME", (1, 0, 1))])
def test_conv3d_transpose_ncdhw(stride, padding, output_padding):
    x, w = rand(1, 3, 3, 4, 3), rand(3, 2, 3, 2, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    out = topi.nn.conv3d_transpose_ncdhw(X, W, stride, padding, "float32", output_padding)
    assert out.op.tag == "conv3d_transpose_ncdhw"
    assert [iv.var.name for iv in out.op.axis] == ["b", "c", "d", "h", "w"]
    ref = topi.testing.conv3d_transpose_ncdhw_python(x, w, stride, padding, output_padding)
    assert get_const_tuple(out.shape) == ref.shape
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-5, atol=1e-5)
    pads = get_pad_tuple3d(padding, (3, 2, 3))
    np.testing.assert_allclose(ref, _loops(x, w, _as_list(stride, 3), pads[:3], ref.shape[2:]), rtol=1e-6, atol=1e-6)


def test_conv_transpose_out_dtype_widens_before_multiplying():
    gen = np.random.default_rng()
    x, w = gen.integers(-100, 100, (1, 2, 5)).astype("int8"), gen.integers(-100, 100, (2, 3, 3)).astype("int8")
    X, W = te.placeholder(x.shape, dtype="int8", name="X"), te.placeholder(w.shape, dtype="int8", name="W")
    out = topi.nn.conv1d_transpose_ncw(X, W, 2, 1, "int32", 1)
    assert out.dtype == "int32"
    ref = topi.testing.conv1d_transpose_ncw_python(x.astype("int64"), w.astype("int64"), 2, 1, 1)
    np.testing.assert_array_equal(run_plain(out, [X, W], [x, w]), ref.astype("int32"))


# ---------------------------------------------------------------- upsampling3d

def _to(layout, a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 4, 1)) if layout == "NDHWC" else a


def _linear_taps(n_in, n_out, mode):
    """Per output position: the two source indices (clamped) and the weight of the second, for one axis."""
    x = np.arange(n_out, dtype="float64")
    if mode == "align_corners":
        src = x * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(n_out)
    elif mode == "asymmetric":
        src = x * n_in / n_out
    else:  # half_pixel
        src = (x + 0.5) * n_in / n_out - 0.5
    lo = np.floor(src)
    frac = src - lo
    lo = lo.astype(int)
    return np.clip(lo, 0, n_in - 1), np.clip(lo + 1, 0, n_in - 1), frac


def _trilinear(a, size, mode):
    """NCDHW ``a`` resized to ``size`` by blending neighbours one axis at a time (the blend is separable)."""
    out = a.astype("float64")
    for axis, n_out in zip((2, 3, 4), size):
        lo, hi, frac = _linear_taps(a.shape[axis], n_out, mode)
        shape = [1] * 5
        shape[axis] = n_out
        frac = frac.reshape(shape)
        out = out.take(lo, axis=axis) * (1 - frac) + out.take(hi, axis=axis) * frac
    return out


@pytest.mark.parametrize("layout", ["NCDHW", "NDHWC"])
def test_upsampling3d_nearest_neighbor(layout):
    x = rand(2, 3, 2, 3, 4)
    X = te.placeholder(_to(layout, x).shape, name="X")
    for scales in [(2, 2, 2), (1, 3, 2), (1.5, 2, 1.25)]:
        out = topi.nn.upsampling3d(X, *scales, layout=layout, coordinate_transformation_mode="asymmetric")
        ref = topi.testing.upsampling3d_python(_to(layout, x), scales, layout)
        assert get_const_tuple(out.shape) == ref.shape
        np.testing.assert_array_equal(run_plain(out, [X], [_to(layout, x)]), ref)
    # the integer scales are np.repeat
    np.testing.assert_array_equal(topi.testing.upsampling3d_python(x, (2, 1, 3)), x.repeat(2, 2).repeat(3, 4))
    # TVM's default half_pixel mode floors (z + 0.5) / 2 - 0.5: rows 0, 0, 0, 1, 1, 2 ... for a scale of 2
    out = topi.nn.upsampling3d(X, 2, 2, 2, layout=layout)
    rows = [np.clip(np.floor((np.arange(2 * n) + 0.5) / 2 - 0.5 + 1e-5), 0, n - 1).astype(int) for n in (2, 3, 4)]
    ref = x.take(rows[0], 2).take(rows[1], 3).take(rows[2], 4)
    np.testing.assert_array_equal(run_plain(out, [X], [_to(layout, x)]), _to(layout, ref))


@pytest.mark.parametrize("layout,mode", [("NCDHW", "half_pixel"), ("NDHWC", "half_pixel"),
                                         ("NCDHW", "align_corners"), ("NDHWC", "asymmetric")])
def test_upsampling3d_trilinear(layout, mode):
    x = rand(1, 2, 3, 2, 4)
    X = te.placeholder(_to(layout, x).shape, name="X")
    out = topi.nn.upsampling3d(X, 2, 1.5, 1.75, layout=layout, method="trilinear",
                               coordinate_transformation_mode=mode)
    ref = _trilinear(x, (6, 3, 7), mode)
    assert get_const_tuple(out.shape) == _to(layout, ref).shape
    np.testing.assert_allclose(run_plain(out, [X], [_to(layout, x)]), _to(layout, ref), rtol=1e-5, atol=1e-5)


def test_upsampling3d_output_shape_overrides_the_scales():
    x = rand(1, 2, 2, 3, 2)
    X = te.placeholder(x.shape, name="X")
    out = topi.nn.upsampling3d(X, 100, 100, 100, method="trilinear", coordinate_transformation_mode="align_corners",
                               output_shape=(1, 2, 3, 5, 4))
    assert get_const_tuple(out.shape) == (1, 2, 3, 5, 4)
    np.testing.assert_allclose(run_plain(out, [X], [x]), _trilinear(x, (3, 5, 4), "align_corners"), rtol=1e-5,
                               atol=1e-5)


def test_upsampling3d_python_matches_a_plain_loop():
    x = rand(1, 2, 3, 2, 3)
    scale = (1.5, 2, 1.25)
    ref = topi.testing.upsampling3d_python(x, scale)
    loops = np.zeros((1, 2, 4, 4, 4), dtype=x.dtype)  # round(4.5) is 4 (half to even), round(3.75) is 4
    for z, y, v in itertools.product(range(4), range(4), range(4)):
        loops[:, :, z, y, v] = x[:, :, int(z // 1.5), int(y // 2), int(v // 1.25)]
    np.testing.assert_array_equal(ref, loops)


# ---------------------------------------------------------------- errors

def test_bad_arguments_name_the_operator():
    A = te.placeholder((1, 4, 5), name="A")
    K = te.placeholder((4, 2, 3), name="K")
    D = te.placeholder((1, 6, 3, 4), name="D")
    G = te.placeholder((6, 2, 3, 3), name="G")
    V = te.placeholder((1, 3, 2, 3, 4), name="V")
    F = te.placeholder((3, 2, 3, 3, 3), name="F")
    c1, g2, c3 = topi.nn.conv1d_transpose_ncw, topi.nn.group_conv2d_transpose_nchw, topi.nn.conv3d_transpose_ncdhw
    up = topi.nn.upsampling3d
    bad = [
        (ExprError, r"conv1d_transpose_ncw: output_padding 2 must be non-negative and less than the strides 2",
         lambda: c1(A, K, 2, 0, None, 2)),
        (ExprError, r"conv1d_transpose_ncw: A has 4 channels but W expects 3",
         lambda: c1(A, te.placeholder((3, 2, 3), name="W"), 1, 0, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: data and kernel must be 3-D, got 4-D and 3-D",
         lambda: c1(D, K, 1, 0, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: strides \(2, 2\) must be one value or 1",
         lambda: c1(A, K, (2, 2), 0, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: strides must be positive", lambda: c1(A, K, 0, 0, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: padding 3 is larger than the kernel \(3\) less one",
         lambda: c1(A, K, 1, 3, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: padding .*non-negative", lambda: c1(A, K, 1, -1, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: padding None is not an int", lambda: c1(A, K, 1, None, None, 0)),
        (ExprError, r"conv1d_transpose_ncw: padding 'FULL' is not 'SAME', 'VALID'",
         lambda: c1(A, K, 1, "FULL", None, 0)),
        (ExprError, r"conv1d_transpose_ncw: padding 2 leaves an empty output \(-1\)",
         lambda: c1(te.placeholder((1, 4, 1)), K, 1, 2, None, 0)),
        (DTypeError, r"conv1d_transpose_ncw: out_dtype 'float33' is not a dtype",
         lambda: c1(A, K, 1, 0, "float33", 0)),
        (ExprError, r"conv1d_transpose_ncw: data and kernel must be tensors",
         lambda: c1(np.zeros((1, 4, 5)), K, 1, 0, None, 0)),
        (ExprError, r"group_conv2d_transpose_nchw: groups=4 must be a positive integer dividing the 6 input channels",
         lambda: g2(D, G, 1, 0, None, (0, 0), 4)),
        (ExprError, r"group_conv2d_transpose_nchw: groups=0", lambda: g2(D, G, 1, 0, None, (0, 0), 0)),
        (ExprError, r"group_conv2d_transpose_nchw: groups=2.0", lambda: g2(D, G, 1, 0, None, (0, 0), 2.0)),
        (ExprError, r"group_conv2d_transpose_nchw: D has 6 channels but H expects 4",
         lambda: g2(D, te.placeholder((4, 2, 3, 3), name="H"), 1, 0, None, (0, 0), 2)),
        (ExprError, r"group_conv2d_transpose_nchw: output_padding \(1, 2\) must be non-negative and less than the "
                    r"strides \(2, 2\)", lambda: g2(D, G, (2, 2), 0, None, (1, 2), 2)),
        (ExprError, r"group_conv2d_transpose_nchw: padding \(1, 2, 3\): expected an int, 2 or 4 numbers",
         lambda: g2(D, G, 1, (1, 2, 3), None, (0, 0), 2)),
        (ExprError, r"conv2d_transpose_nchw: output_padding", lambda: g2(D, G, 1, 0, None, 1, 1)),
        (ExprError, r"conv3d_transpose_ncdhw: output_padding \(0, 2, 0\) must be non-negative and less than the "
                    r"strides \(1, 2, 1\)", lambda: c3(V, F, (1, 2, 1), 0, None, (0, 2, 0))),
        (ExprError, r"conv3d_transpose_ncdhw: strides \(1, 2\) must be one value or 3",
         lambda: c3(V, F, (1, 2), 0, None, 0)),
        (ExprError, r"conv3d_transpose_ncdhw: strides \(1, 'a', 1\) must hold constant integers",
         lambda: c3(V, F, (1, "a", 1), 0, None, 0)),
        (ExprError, r"conv3d_transpose_ncdhw: V has 3 channels but F4 expects 4",
         lambda: c3(V, te.placeholder((4, 2, 3, 3, 3), name="F4"), 1, 0, None, 0)),
        (ExprError, r"conv3d_transpose_ncdhw: Input and Filter must be 5-D", lambda: c3(D, G, 1, 0, None, 0)),
        (ExprError, r"conv3d_transpose_ncdhw: padding \(1, 1\): expected an int, 3 or 6 numbers",
         lambda: c3(V, F, 1, (1, 1), None, 0)),
        (ExprError, r"upsampling3d: unknown method 'bilinear'", lambda: up(V, 2, 2, 2, method="bilinear")),
        (ExprError, r"upsampling3d: layout 'NCHW' is not supported", lambda: up(V, 2, 2, 2, layout="NCHW")),
        (ExprError, r"upsampling3d: data must be a 5-D tensor", lambda: up(D, 2, 2, 2)),
        (ExprError, r"upsampling3d: scale_d, scale_h and scale_w must be positive", lambda: up(V, 2, 0, 2)),
        (ExprError, r"upsampling3d: the output would be empty", lambda: up(V, 0.1, 1, 1)),
        (ExprError, r"upsampling3d: output_shape must have 5 dimensions", lambda: up(V, 2, 2, 2, output_shape=(4, 4))),
        (ExprError, r"upsampling3d: coordinate_transformation_mode 'center'",
         lambda: up(V, 2, 2, 2, coordinate_transformation_mode="center")),
    ]
    for cls, message, make in bad:
        with pytest.raises(cls, match=message):
            make()


def test_references_reject_an_output_padding_not_below_the_stride():
    x, w = rand(1, 2, 3), rand(2, 2, 3)
    with pytest.raises(ValueError, match="output_padding"):
        topi.testing.conv1d_transpose_ncw_python(x, w, 2, 0, 2)
