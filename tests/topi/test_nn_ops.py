"""topi.nn's convolution variants, normalizations, resampling and layout ops (conv1d, conv2d_transpose_nchw,
lrn, layer_norm, batch_norm, upsampling, adaptive_pool, depth_to_space ...) built with a plain schedule and
checked against numpy on fresh random data; bad arguments raise a tensorlang error naming the operator."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import rand, run_plain


def _conv1d_ncw(x, w, stride, pad_left, pad_right, dilation):
    xp = np.pad(x.astype("float64"), ((0, 0), (0, 0), (pad_left, pad_right)))
    out_w = (xp.shape[2] - (w.shape[2] - 1) * dilation - 1) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], out_w))
    for k in range(w.shape[2]):
        out += np.einsum("ncw,fc->nfw", xp[:, :, k * dilation: k * dilation + (out_w - 1) * stride + 1: stride],
                         w[:, :, k])
    return out


def _conv2d_transpose_nchw(x, w, strides, padding, output_padding):
    """Every input pixel scatters the filter into the output, which is then cropped by the padding."""
    (sh, sw), (ph, pw), (oph, opw) = strides, padding, output_padding
    n, _, h, wd = x.shape
    _, k, kh, kw = w.shape
    full = np.zeros((n, k, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    for y in range(h):
        for z in range(wd):
            full[:, :, y * sh: y * sh + kh, z * sw: z * sw + kw] += np.einsum("nc,cokl->nokl", x[:, :, y, z], w)
    return full[:, :, ph: full.shape[2] - ph, pw: full.shape[3] - pw]


def test_batch_flatten_and_bias_add():
    X = te.placeholder((2, 3, 4, 5), name="X")
    x = rand(2, 3, 4, 5)
    np.testing.assert_array_equal(run_plain(topi.nn.batch_flatten(X), [X], [x]), x.reshape(2, -1))
    B, B3 = te.placeholder((3,), name="B"), te.placeholder((5,), name="B3")
    b, b3 = rand(3), rand(5)
    out = topi.nn.bias_add(X, B)
    assert out.op.name == "T_add" and out.op.tag == "broadcast"
    np.testing.assert_array_equal(run_plain(out, [X, B], [x, b]), x + b[:, None, None])
    np.testing.assert_array_equal(run_plain(topi.nn.bias_add(X, B3, axis=-1), [X, B3], [x, b3]), x + b3)


def test_dilate():
    X = te.placeholder((2, 3, 4), name="X")
    x = rand(2, 3, 4)
    out = topi.nn.dilate(X, [1, 2, 3], dilation_value=7.0)
    assert out.op.name == "DilatedInput" and out.op.tag == "injective,dilate"
    ref = np.full((2, 5, 10), 7.0, "float32")
    ref[:, ::2, ::3] = x
    np.testing.assert_array_equal(run_plain(out, [X], [x]), ref)


@pytest.mark.parametrize("stride,padding,dilation", [(1, "VALID", 1), (2, 1, 2), (1, "SAME", 1), (3, (2, 0), 1)])
def test_conv1d_ncw_and_nwc(stride, padding, dilation):
    X, W = te.placeholder((2, 3, 11), name="X"), te.placeholder((4, 3, 3), name="W")
    x, w = rand(2, 3, 11), rand(4, 3, 3)
    left, right = {"VALID": (0, 0), "SAME": (1, 1)}.get(padding, None) or (
        (padding, padding) if isinstance(padding, int) else padding)
    ref = _conv1d_ncw(x, w, stride, left, right, dilation)
    out = topi.nn.conv1d(X, W, stride, padding, dilation)
    assert out.op.tag == "conv1d_ncw"
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-5, atol=1e-5)
    Xn, Wn = te.placeholder((2, 11, 3), name="Xn"), te.placeholder((3, 3, 4), name="Wn")
    out = topi.nn.conv1d(Xn, Wn, stride, padding, dilation, layout="NWC")
    nwc = [np.ascontiguousarray(x.transpose(0, 2, 1)), np.ascontiguousarray(w.transpose(2, 1, 0))]
    got = run_plain(out, [Xn, Wn], nwc)
    np.testing.assert_allclose(got, ref.transpose(0, 2, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("strides,padding,output_padding", [((1, 1), (0, 0), (0, 0)), ((2, 3), (1, 2), (1, 2))])
def test_conv2d_transpose_nchw(strides, padding, output_padding):
    X, W = te.placeholder((1, 3, 5, 4), name="X"), te.placeholder((3, 2, 3, 3), name="W")
    x, w = rand(1, 3, 5, 4), rand(3, 2, 3, 3)
    out = topi.nn.conv2d_transpose_nchw(X, W, strides, padding, "float32", output_padding)
    assert out.op.tag == "conv2d_transpose_nchw"
    assert [t.op.name for t in out.op.input_tensors] == ["data_pad", "kernel_transform"]
    ref = _conv2d_transpose_nchw(x, w, strides, padding, output_padding)
    np.testing.assert_allclose(run_plain(out, [X, W], [x, w]), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size,axis", [(3, 1), (5, 3)])
def test_lrn(size, axis):
    X = te.placeholder((2, 4, 3, 5), name="X")
    x = rand(2, 4, 3, 5)
    alpha, beta, bias = 0.5, 0.75, 2.0
    moved = np.moveaxis(x.astype("float64"), axis, -1)
    sq = np.stack([(moved[..., max(0, c - size // 2): c + size // 2 + 1] ** 2).sum(-1)
                   for c in range(moved.shape[-1])], -1)
    ref = np.moveaxis(moved / (bias + alpha * sq / size) ** beta, -1, axis)
    np.testing.assert_allclose(run_plain(topi.nn.lrn(X, size, axis, alpha, beta, bias), [X], [x]), ref, rtol=1e-5)


@pytest.mark.parametrize("axis", [None, 1, (1, 3)])
def test_l2_normalize(axis):
    X = te.placeholder((2, 3, 4, 5), name="X")
    x = rand(2, 3, 4, 5)
    ref = x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), 1e-3))
    np.testing.assert_allclose(run_plain(topi.nn.l2_normalize(X, 1e-3, axis), [X], [x]), ref, rtol=1e-5)


def test_layer_norm():
    X = te.placeholder((2, 3, 4, 5), name="X")
    G, B = te.placeholder((4, 5), name="G"), te.placeholder((4, 5), name="B")
    x, g, b = rand(2, 3, 4, 5), rand(4, 5), rand(4, 5)
    out = topi.nn.layer_norm(X, G, B, (2, 3), 1e-5)
    assert out.op.name == "T_layer_norm"
    ref = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(run_plain(out, [X, G, B], [x, g, b]), ref, rtol=1e-4, atol=1e-5)
    G1 = te.placeholder((5,), name="G1")
    g1 = rand(5)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * g1
    np.testing.assert_allclose(run_plain(topi.nn.layer_norm(X, G1, None, [-1]), [X, G1], [x, g1]), ref, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("groups,stride,padding,dilation", [(2, 1, 1, 1), (4, 2, 0, 1), (1, 1, 2, 2), (8, 1, 1, 1)])
def test_group_conv2d_nchw(groups, stride, padding, dilation):
    from tensorlang.topi.testing import conv2d_nchw_python
    X, W = te.placeholder((2, 8, 9, 9), name="X"), te.placeholder((16, 8 // groups, 3, 3), name="W")
    x, w = rand(2, 8, 9, 9), rand(16, 8 // groups, 3, 3)
    got = run_plain(topi.nn.group_conv2d_nchw(X, W, stride, padding, dilation, groups), [X, W], [x, w])
    if dilation > 1:
        wd = np.zeros((16, 8 // groups, 5, 5), "float32")
        wd[:, :, ::2, ::2] = w
        w = wd
    np.testing.assert_allclose(got, conv2d_nchw_python(x, w, stride, padding, groups=groups), rtol=1e-4, atol=1e-4)
    with pytest.raises(ExprError, match="groups=3 must divide"):
        topi.nn.group_conv2d_nchw(X, W, 1, 1, 1, 3)


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 0), (1, "SAME")])
def test_depthwise_conv2d_nhwc_is_the_nchw_one_transposed(stride, padding):
    from tensorlang.topi.testing import depthwise_conv2d_python_nchw
    X, W = te.placeholder((2, 10, 10, 6), name="X"), te.placeholder((3, 3, 6, 2), name="W")
    x, w = rand(2, 10, 10, 6), rand(3, 3, 6, 2)
    got = run_plain(topi.nn.depthwise_conv2d_nhwc(X, W, stride, padding), [X, W], [x, w])
    ref = depthwise_conv2d_python_nchw(x.transpose(0, 3, 1, 2), w.transpose(2, 3, 0, 1), stride, padding)
    np.testing.assert_allclose(got, ref.transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ExprError, match="kernel_layout 'OIHW'"):
        topi.nn.depthwise_conv2d_nhwc(X, W, 1, 1, kernel_layout="OIHW")


def test_instance_norm_is_layer_norm_over_the_spatial_axes():
    X = te.placeholder((2, 3, 4, 5), name="X")
    G, B = te.placeholder((4, 5), name="G"), te.placeholder((4, 5), name="B")
    x, g, b = rand(2, 3, 4, 5), rand(4, 5), rand(4, 5)
    ref = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(run_plain(topi.nn.instance_norm(X, G, B, [2, 3]), [X, G, B], [x, g, b]), ref,
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ExprError, match="instance_norm: gamma G has shape"):
        topi.nn.instance_norm(X, G, B, [1, 2])


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm(layout, groups):
    shape, c_ax, axes = ((2, 6, 4, 5), 1, [2, 3]) if layout == "NCHW" else ((2, 4, 5, 6), 3, [1, 2])
    X = te.placeholder(shape, name="X")
    G, B = te.placeholder((6,), name="G"), te.placeholder((6,), name="B")
    x, g, b = rand(*shape) * 3 + 1, rand(6), rand(6)
    xc = np.moveaxis(x, c_ax, 1).reshape(2, groups, 6 // groups, -1)
    norm = (xc - xc.mean((2, 3), keepdims=True)) / np.sqrt(xc.var((2, 3), keepdims=True) + 1e-5)
    ref = np.moveaxis(norm.reshape(np.moveaxis(x, c_ax, 1).shape), 1, c_ax)
    bshape = [1] * 4
    bshape[c_ax] = 6
    ref = ref * g.reshape(bshape) + b.reshape(bshape)
    got = run_plain(topi.nn.group_norm(X, G, B, groups, c_ax, axes), [X, G, B], [x, g, b])
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(ExprError, match="num_groups=4 must divide"):
        topi.nn.group_norm(X, G, B, 4, c_ax, axes)
    with pytest.raises(ExprError, match="channel axis"):
        topi.nn.group_norm(X, G, B, groups, c_ax, [c_ax])


def test_fast_softmax_is_softmax():
    X = te.placeholder((3, 7, 5), name="X")
    x = rand(3, 7, 5) * 4
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(run_plain(topi.nn.fast_softmax(X, axis=1), [X], [x]), e / e.sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("training", [False, True])
def test_batch_norm(training):
    X = te.placeholder((2, 3, 4, 5), name="X")
    params = [te.placeholder((3,), name=n) for n in ("gamma", "beta", "mean", "var")]
    x = rand(2, 3, 4, 5)
    gamma, beta, mean, var = rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.1
    outs = topi.nn.batch_norm(X, *params, training=training, momentum=0.3 if training else None)
    assert len(outs) == 3
    out, new_mean, new_var = run_plain(outs, [X, *params], [x, gamma, beta, mean, var])
    shape = (1, 3, 1, 1)
    use_mean, use_var = (x.mean((0, 2, 3)), x.var((0, 2, 3))) if training else (mean, var)
    ref = (x - use_mean.reshape(shape)) / np.sqrt(use_var.reshape(shape) + 1e-5) * gamma.reshape(shape) \
        + beta.reshape(shape)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_mean, 0.7 * mean + 0.3 * use_mean if training else mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_var, 0.7 * var + 0.3 * use_var if training else var, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_upsampling_nearest_neighbor(layout):
    x = rand(2, 3, 4, 5)
    if layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    h_axis, w_axis = layout.index("H"), layout.index("W")
    X = te.placeholder(x.shape, name="X")
    out = topi.nn.upsampling(X, 2, 3, layout=layout)
    assert out.op.name == "resize"
    np.testing.assert_array_equal(run_plain(out, [X], [x]), x.repeat(2, h_axis).repeat(3, w_axis))
    # a fractional scale: the output is round(size * scale) and reads floor(out * in / out_size)
    out = topi.nn.upsampling(X, 1.5, 1.25, layout=layout)
    oh, ow = round(x.shape[h_axis] * 1.5), round(x.shape[w_axis] * 1.25)
    rows, cols = np.arange(oh) * x.shape[h_axis] // oh, np.arange(ow) * x.shape[w_axis] // ow
    np.testing.assert_array_equal(run_plain(out, [X], [x]), x.take(rows, h_axis).take(cols, w_axis))
    # align_corners: out * (in - 1) / (out - 1), rounded half to even
    out = topi.nn.upsampling(X, 2, 2, layout=layout, align_corners=True)
    rows = np.round(np.arange(2 * x.shape[h_axis]) * (x.shape[h_axis] - 1) / (2 * x.shape[h_axis] - 1)).astype(int)
    cols = np.round(np.arange(2 * x.shape[w_axis]) * (x.shape[w_axis] - 1) / (2 * x.shape[w_axis] - 1)).astype(int)
    np.testing.assert_array_equal(run_plain(out, [X], [x]), x.take(rows, h_axis).take(cols, w_axis))


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_adaptive_pool(pool_type):
    X = te.placeholder((2, 3, 7, 5), name="X")
    x = rand(2, 3, 7, 5)
    for oh, ow in [(3, 2), (7, 5), (1, 1), (8, 6)]:
        ref = np.empty((2, 3, oh, ow), "float32")
        for i in range(oh):
            for j in range(ow):
                win = x[:, :, i * 7 // oh: -(-(i + 1) * 7 // oh), j * 5 // ow: -(-(j + 1) * 5 // ow)]
                ref[:, :, i, j] = win.max((2, 3)) if pool_type == "max" else win.mean((2, 3))
        out = topi.nn.adaptive_pool(X, (oh, ow), pool_type)
        assert out.op.name == f"adaptive_pool_{pool_type}"
        np.testing.assert_allclose(run_plain(out, [X], [x]), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_depth_to_space_and_space_to_depth(layout):
    def to_layout(a):
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if layout == "NHWC" else a

    x = rand(2, 8, 3, 2)
    X = te.placeholder(to_layout(x).shape, name="X")
    dcr = x.reshape(2, 2, 2, 2, 3, 2).transpose(0, 3, 4, 1, 5, 2).reshape(2, 2, 6, 4)
    cdr = x.reshape(2, 2, 2, 2, 3, 2).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 4)
    np.testing.assert_array_equal(run_plain(topi.nn.depth_to_space(X, 2, layout), [X], [to_layout(x)]), to_layout(dcr))
    np.testing.assert_array_equal(run_plain(topi.nn.depth_to_space(X, 2, layout, "CDR"), [X], [to_layout(x)]),
                                  to_layout(cdr))
    y = rand(2, 3, 4, 6)
    Y = te.placeholder(to_layout(y).shape, name="Y")
    ref = y.reshape(2, 3, 2, 2, 3, 2).transpose(0, 3, 5, 1, 2, 4).reshape(2, 12, 2, 3)
    out = topi.nn.space_to_depth(Y, 2, layout)
    assert out.op.name == "space_to_depth"
    np.testing.assert_array_equal(run_plain(out, [Y], [to_layout(y)]), to_layout(ref))


def test_bad_arguments_name_the_operator():
    A = te.placeholder((3, 4, 5), name="A")
    D = te.placeholder((1, 6, 3, 4), name="D")
    bad = [
        (ExprError, "bias_add: bias B has 3 elements", lambda: topi.nn.bias_add(A, te.placeholder((3,), name="B"))),
        (ExprError, "dilate: strides\\[1\\]", lambda: topi.nn.dilate(A, [1, 0, 1])),
        (ExprError, "conv1d_ncw: A has 4 channels", lambda: topi.nn.conv1d(A, te.placeholder((2, 3, 2)))),
        (ExprError, "conv1d: layout", lambda: topi.nn.conv1d(A, te.placeholder((2, 4, 2)), layout="NCHW")),
        (ExprError, "conv2d_transpose_nchw: output_padding",
         lambda: topi.nn.conv2d_transpose_nchw(D, te.placeholder((6, 2, 3, 3)), 2, 0, None, 2)),
        (ExprError, "lrn: size", lambda: topi.nn.lrn(D, 2)),
        (DTypeError, "lrn: .* must hold floats", lambda: topi.nn.lrn(te.placeholder((1, 2, 3, 4), dtype="int32"), 3)),
        (ExprError, "l2_normalize: axis 3", lambda: topi.nn.l2_normalize(A, 1e-5, 3)),
        (ExprError, "layer_norm: gamma G", lambda: topi.nn.layer_norm(A, te.placeholder((4,), name="G"), None, -1)),
        (ExprError, "batch_norm: gamma", lambda: topi.nn.batch_norm(A, *[te.placeholder((3,))] * 4)),
        (ExprError, "upsampling: unknown method 'trilinear'", lambda: topi.nn.upsampling(D, 2, 2, method="trilinear")),
        (ExprError, "upsampling: data must be 4-D", lambda: topi.nn.upsampling(A, 2, 2)),
        (ExprError, "adaptive_pool: output_size", lambda: topi.nn.adaptive_pool(D, (0, 2), "max")),
        (ExprError, "depth_to_space: .* not a multiple", lambda: topi.nn.depth_to_space(D, 2)),
        (ExprError, "space_to_depth: block_size", lambda: topi.nn.space_to_depth(D, 0)),
    ]
    for cls, message, make in bad:
        with pytest.raises(cls, match=message):
            make()


def test_pool2d_window_larger_than_input_or_zero_stride_is_named():
    X = te.placeholder((1, 3, 8, 8), name="X")
    with pytest.raises(ExprError, match="pool2d: the height 8 with its padding is smaller than the window"):
        topi.nn.pool2d(X, [10, 10], [1, 1], [1, 1], [0, 0, 0, 0], "max")
    with pytest.raises(ExprError, match=r"pool2d: kernel \(2, 2\), stride \(0, 1\) .* must be positive"):
        topi.nn.pool2d(X, [2, 2], [0, 1], [1, 1], [0, 0, 0, 0], "avg")


@pytest.mark.parametrize("op", ["layer_norm", "group_norm"])
def test_float16_norms_sum_their_statistics_in_float32(op):
    """A float16 sum of 256 values near 100 is off by its 0.125 ulp: the statistics are summed in
    float32 (as TVM's layer_norm does) and the result matches numpy's float32 figures cast back."""
    rng = np.random.default_rng()
    x = (rng.uniform(size=(4, 16, 16)) * 8 + 100).astype("float16")
    g, b = (rng.uniform(size=16).astype("float16") for _ in range(2))
    X = te.placeholder(x.shape, "float16", "X")
    if op == "layer_norm":
        G, B = te.placeholder((16, 16), "float16", "G"), te.placeholder((16, 16), "float16", "B")
        g, b = np.tile(g, (16, 1)), np.tile(b, (16, 1))
        out, axes, scale = topi.nn.layer_norm(X, G, B, (1, 2), 1e-5), (1, 2), (g, b)
    else:
        G, B = te.placeholder((16,), "float16", "G"), te.placeholder((16,), "float16", "B")
        out, axes = topi.nn.group_norm(X, G, B, 1, 1, [2], 1e-5), (1, 2)
        scale = (g.reshape(16, 1), b.reshape(16, 1))
    x32 = x.astype("float32")
    ref = (x32 - x32.mean(axes, keepdims=True)) / np.sqrt(x32.var(axes, keepdims=True) + 1e-5)
    ref = (ref * scale[0].astype("float32") + scale[1].astype("float32")).astype("float16")
    got = run_plain(out, [X, G, B], [x, g, b])
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype("float32"), ref.astype("float32"), rtol=2e-3, atol=2e-3)
