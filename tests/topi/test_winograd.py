"""Winograd convolutions (topi.nn's transform matrices, weight transform and NHWC convolution, and
the ``conv2d_nchw_winograd.cuda`` template under CUDA emulation) and grouped NHWC convolution,
checked against direct numpy convolutions on fresh random data; bad arguments raise a tensorlang
error naming the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune, te, topi
from tensorlang.errors import ArgumentError, DTypeError, ExprError
from tensorlang.target.cuda import nvrtc
from tensorlang.topi.testing import conv2d_nchw_python, conv2d_nhwc_python
from tests.topi.runner import call, rand, run_plain

EMU = "cuda -emulate"
# Winograd adds and subtracts transformed values several times the size of the result: float32
# loses a few more bits than a direct convolution, more for larger tiles.
TOL = {2: 1e-4, 4: 1e-3, 6: 5e-3}


def _matrices(tile_size, kernel_size):
    A, B, G = topi.nn.winograd_transform_matrices(tile_size, kernel_size, "float64")
    return run_plain([A, B, G], [], [])


@pytest.mark.parametrize("tile_size,kernel_size", [(2, 3), (4, 3), (6, 3), (2, 5), (3, 4)])
def test_transform_matrices_compute_a_1d_correlation(tile_size, kernel_size):
    a, b, g = _matrices(tile_size, kernel_size)
    alpha = tile_size + kernel_size - 1
    assert a.shape == (alpha, tile_size) and b.shape == (alpha, alpha) and g.shape == (alpha, kernel_size)
    d, w = rand(alpha, 50, dtype="float64"), rand(kernel_size, 50, dtype="float64")  # 50 pairs at once
    y = a.T @ ((g @ w) * (b.T @ d))
    ref = np.stack([np.einsum("kn,kn->n", d[i:i + kernel_size], w) for i in range(tile_size)])
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-10)
    # and in 2-D, in float32: Y = A^T [(G g G^T) * (B^T d B)] A
    a32, b32, g32 = run_plain(list(topi.nn.winograd_transform_matrices(tile_size, kernel_size, "float32")), [], [])
    d2, w2 = rand(alpha, alpha), rand(kernel_size, kernel_size)
    y2 = a32.T @ ((g32 @ w2 @ g32.T) * (b32.T @ d2 @ b32)) @ a32
    ref2 = conv2d_nchw_python(d2[None, None], w2[None, None], 1, 0)[0, 0]
    np.testing.assert_allclose(y2, ref2, rtol=TOL.get(tile_size, 1e-3), atol=TOL.get(tile_size, 1e-3))


@pytest.mark.parametrize("args,cls,match", [
    ((1, 3, "float32"), ExprError, "tile_size=1"),
    ((9, 3, "float32"), ExprError, "tile_size=9"),
    ((4, 2, "float32"), ExprError, "kernel_size=2"),
    ((4, 3.0, "float32"), ExprError, "kernel_size=3.0"),
    ((4, 3, "int32"), DTypeError, "out_dtype 'int32' must be a float type"),
    ((4, 3, "floaty"), DTypeError, "out_dtype 'floaty' is not a dtype"),
])
def test_transform_matrices_reject_bad_arguments(args, cls, match):
    with pytest.raises(cls, match=match):
        topi.nn.winograd_transform_matrices(*args)


def _nhwc(shape, kshape, padding, out_dtype="float32", pre_computed=False):
    D, W = te.placeholder(shape, name="D"), te.placeholder(kshape, name="W")
    return D, W, topi.nn.conv2d_winograd_nhwc(D, W, 1, padding, 1, out_dtype, pre_computed=pre_computed)


@pytest.mark.parametrize("shape,co,padding", [
    ((1, 8, 8, 4), 6, 1),            # tiles divide the output
    ((2, 9, 11, 3), 5, 1),           # odd sizes: partial last tiles in both directions
    ((1, 7, 10, 2), 3, 0),           # no padding
    ((1, 6, 5, 3), 4, (2, 0, 1, 1)),  # uneven padding (top, left, bottom, right)
    ((1, 5, 6, 2), 2, "SAME"),
])
def test_conv2d_winograd_nhwc(shape, co, padding):
    D, W, out = _nhwc(shape, (3, 3, shape[3], co), padding)
    assert out.op.name == "conv2d_winograd" and out.dtype == "float32"
    d, w = rand(*shape), rand(3, 3, shape[3], co)
    ref = conv2d_nhwc_python(d, w, 1, padding)
    assert tuple(int(v) for v in out.shape) == ref.shape
    np.testing.assert_allclose(run_plain(out, [D, W], [d, w]), ref, rtol=TOL[4], atol=TOL[4])


def test_weight_transform_and_pre_computed_nhwc():
    co, ci = 5, 3
    K = te.placeholder((co, ci, 3, 3), name="K")
    U = topi.nn.conv2d_winograd_weight_transform(K, 4)
    assert tuple(int(v) for v in U.shape) == (6, 6, co, ci) and U.op.name == "transform_weight"
    k = rand(co, ci, 3, 3)
    u = run_plain(U, [K], [k])
    _, _, g = _matrices(4, 3)
    np.testing.assert_allclose(u, np.einsum("ak,oikl,bl->aboi", g, k, g), rtol=1e-5, atol=1e-5)

    # the transformed weight in place of the HWIO kernel
    D, W = te.placeholder((2, 10, 7, ci), name="D"), te.placeholder((6, 6, co, ci), name="W")
    out = topi.nn.conv2d_winograd_nhwc_without_weight_transform(D, W, (1, 1), 1, (1, 1), "float32")
    d = rand(2, 10, 7, ci)
    ref = conv2d_nhwc_python(d, k.transpose(2, 3, 1, 0), 1, 1)
    np.testing.assert_allclose(run_plain(out, [D, W], [d, u]), ref, rtol=TOL[4], atol=TOL[4])


def test_conv2d_winograd_nhwc_in_float64_is_accurate():
    D, W, out = _nhwc((1, 9, 9, 4), (3, 3, 4, 3), 1, out_dtype="float64")
    d, w = rand(1, 9, 9, 4), rand(3, 3, 4, 3)
    assert out.dtype == "float64"
    np.testing.assert_allclose(run_plain(out, [D, W], [d, w]), conv2d_nhwc_python(d.astype("float64"), w, 1, 1),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("call_args,match", [
    (dict(strides=2), "strides 2 is not supported"),
    (dict(dilation=(1, 2)), r"dilation \(1, 2\) is not supported"),
    (dict(kshape=(5, 5, 4, 2)), "weight W is 5x5; only 3x3"),
    (dict(kshape=(3, 3, 3, 2)), "data D has 4 channels but weight W expects 3"),
    (dict(kshape=(3, 3, 4)), "weight W must be 4-D"),
    (dict(kshape=(4, 4, 2, 4), pre_computed=True), r"weight W is a transformed 4x4 \(F\(4, 3\) needs 6x6\)"),
    (dict(padding=0, shape=(1, 2, 5, 4)), "smaller than the 3x3 kernel"),
    (dict(auto_scheduler_rewritten_layout="eps,nu,co,ci"), "auto_scheduler_rewritten_layout"),
])
def test_conv2d_winograd_nhwc_rejects_what_it_does_not_support(call_args, match):
    args = dict(shape=(1, 8, 8, 4), kshape=(3, 3, 4, 2), strides=1, padding=1, dilation=1, pre_computed=False)
    args.update(call_args)
    D, W = te.placeholder(args.pop("shape"), name="D"), te.placeholder(args.pop("kshape"), name="W")
    with pytest.raises(ArgumentError, match=match):
        topi.nn.conv2d_winograd_nhwc(D, W, args.pop("strides"), args.pop("padding"), args.pop("dilation"),
                                     "float32", **args)


def _group_conv_nhwc_ref(x, w, stride, padding, dilation, groups):
    return conv2d_nchw_python(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), stride, padding, groups=groups,
                              dilation=dilation).transpose(0, 2, 3, 1)


@pytest.mark.parametrize("c,k,groups,stride,padding,dilation", [
    (4, 6, 2, 1, 1, 1),
    (6, 6, 6, 1, "SAME", 1),     # depthwise: groups = channels
    (6, 12, 3, 2, (1, 0), 1),
    (4, 4, 4, (2, 1), 2, 2),     # depthwise, dilated
    (3, 5, 1, 1, 0, 1),          # one group: a plain convolution
])
def test_group_conv2d_nhwc(c, k, groups, stride, padding, dilation):
    X = te.placeholder((2, 9, 8, c), name="X")
    F = te.placeholder((3, 3, c // groups, k), name="F")
    out = topi.nn.group_conv2d_nhwc(X, F, stride, padding, dilation, groups)
    assert out.op.tag == "group_conv2d_nhwc"
    x, f = rand(2, 9, 8, c), rand(3, 3, c // groups, k)
    np.testing.assert_allclose(run_plain(out, [X, F], [x, f]), _group_conv_nhwc_ref(x, f, stride, padding, dilation,
                                                                                   groups), rtol=1e-4, atol=1e-4)


def test_group_conv2d_nhwc_out_dtype_and_errors():
    X = te.placeholder((1, 5, 5, 4), name="X", dtype="float16")
    F = te.placeholder((3, 3, 2, 4), name="F", dtype="float16")
    out = topi.nn.group_conv2d_nhwc(X, F, 1, 1, 1, 2, out_dtype="float32")
    assert out.dtype == "float32"
    x, f = rand(1, 5, 5, 4, dtype="float16"), rand(3, 3, 2, 4, dtype="float16")
    ref = _group_conv_nhwc_ref(x.astype("float32"), f.astype("float32"), 1, 1, 1, 2)
    np.testing.assert_allclose(run_plain(out, [X, F], [x, f]), ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ExprError, match="groups=3 must divide"):
        topi.nn.group_conv2d_nhwc(X, F, 1, 1, 1, 3)
    with pytest.raises(ExprError, match="F has 2 input channels a group, expected 4 / 4"):
        topi.nn.group_conv2d_nhwc(X, F, 1, 1, 1, 4)


# --- the CUDA template, emulated ------------------------------------------------------------

def _emulated(build, d, w, relu=False):
    """Build ``build(D, W) -> (schedule, out)`` for CUDA emulation and run it on d, w."""
    D, W = te.placeholder(d.shape, name="D"), te.placeholder(w.shape, name="W")
    with tl.target.Target(EMU), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no tuning record: the fallback config
        s, out = build(D, W)
        f = tl.build(s, [D, W, out], EMU)
    return f, call(f, out, [d, w])


def _check_kernels(f, count):
    """``count`` kernels in the CUDA C, and in the PTX NVRTC made of it where NVRTC is installed."""
    assert f"{count} kernel(s)" in f.get_source("cuda")
    if nvrtc.nvrtc_available():
        assert f.get_source("ptx").count(".entry") == count


@pytest.mark.slow
def test_cuda_winograd_tuned_config_f4x4():
    # a height divisible by 8: F(4x4, 3x3); a config with virtual threads, 2-D thread blocks and
    # a split reduction, from the template's tuning space
    args = (("TENSOR", (1, 8, 8, 8), "float32"), ("TENSOR", (16, 8, 3, 3), "float32"), (1, 1), (1, 1), (1, 1),
            "float32")
    task = autotune.task.create("conv2d_nchw_winograd.cuda", args=args, target=EMU)
    want = {"tile_y": [-1, 2, 2, 2], "tile_x": [-1, 1, 2, 1], "tile_rc": [-1, 4]}
    config = next(c for c in (task.config_space.get(i) for i in range(len(task.config_space)))
                  if all(c[k].size == v for k, v in want.items()))
    s, tensors = task.instantiate(config)
    f = tl.build(s, tensors, target=EMU)
    _check_kernels(f, 4)
    assert "__shared__" in f.get_source("cuda")
    x, w = rand(1, 8, 8, 8), rand(16, 8, 3, 3)
    np.testing.assert_allclose(call(f, tensors[-1], [x, w]), conv2d_nchw_python(x, w, 1, 1), rtol=TOL[4],
                               atol=TOL[4])
    assert task.flop == 2 * 16 * 8 * 8 * 8 * 9


def test_cuda_winograd_f2x2_odd_sizes_with_a_fused_relu():
    def build(D, W):
        out = topi.nn.relu(topi.cuda.conv2d_nchw_winograd(D, W, 1, (1, 2), 1, "float32"))
        return topi.cuda.schedule_conv2d_nchw_winograd([out]), out

    x, w = rand(2, 3, 7, 9), rand(5, 3, 3, 3)  # height 7: F(2x2, 3x3), partial tiles
    f, got = _emulated(build, x, w)
    _check_kernels(f, 4)  # the relu is computed in the inverse transform
    np.testing.assert_allclose(got, np.maximum(conv2d_nchw_python(x, w, 1, (1, 2)), 0), rtol=TOL[2], atol=TOL[2])


@pytest.mark.slow
def test_cuda_winograd_with_a_dilated_kernel():
    # a 3x3 kernel dilated by 2 is a 5x5 one with zeros: F(2x2, 5x5)
    def build(D, W):
        out = topi.cuda.conv2d_nchw_winograd(D, W, (1, 1), 2, (2, 2), "float32")
        return topi.cuda.schedule_conv2d_nchw_winograd([out]), out

    x, w = rand(1, 3, 9, 10), rand(4, 3, 3, 3)
    f, got = _emulated(build, x, w)
    np.testing.assert_allclose(got, conv2d_nchw_python(x, w, 1, 2, dilation=2), rtol=TOL[4], atol=TOL[4])


def test_cuda_winograd_without_weight_transform():
    def build(D, W):
        out = topi.cuda.conv2d_nchw_winograd_without_weight_transform(D, W, 1, 1, 1, "float32")
        return topi.cuda.schedule_conv2d_nchw_winograd_without_weight_transform([out]), out

    K = te.placeholder((4, 3, 3, 3), name="K")
    k = rand(4, 3, 3, 3)
    u = run_plain(topi.nn.conv2d_winograd_weight_transform(K, 2), [K], [k]).transpose(0, 1, 3, 2).copy()
    x = rand(1, 3, 6, 5)
    f, got = _emulated(build, x, u)
    _check_kernels(f, 3)  # no kernel transform
    np.testing.assert_allclose(got, conv2d_nchw_python(x, k, 1, 1), rtol=TOL[2], atol=TOL[2])


@pytest.mark.parametrize("data,kernel,kwargs,match", [
    ((1, 4, 8, 8), (6, 4, 3, 3), dict(strides=2), "strides 2 is not supported"),
    ((1, 4, 8, 8), (6, 4, 3, 2), {}, "kernel W is 3x2"),
    ((1, 4, 8, 8), (6, 5, 3, 3), {}, "data D has 4 channels but kernel W expects 5"),
    ((1, 4, 8, 8), (6, 4, 3, 3), dict(dilation=0), "dilation 0 must be one int or two, at least 1"),
    ((1, 4, 8, 8), (6, 4, 3, 3), dict(dilation="x"), "dilation 'x' must be"),
    ((1, 4, 8, 8), (6, 4, 2, 3), dict(dilation=2), r"kernel W is 3x5 \(dilated\)"),
    ((1, 4, 8, 8), (6, 4, 5, 5), dict(dilation=2), "kernel_size=9"),  # dilated to 9x9
])
def test_cuda_winograd_rejects_what_it_does_not_support(data, kernel, kwargs, match):
    D, W = te.placeholder(data, name="D"), te.placeholder(kernel, name="W")
    args = {"strides": 1, "padding": 1, "dilation": 1, **kwargs}
    with pytest.raises((ArgumentError, ExprError), match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topi.cuda.conv2d_nchw_winograd(D, W, args["strides"], args["padding"], args["dilation"], "float32")
    with pytest.raises(ArgumentError, match="is not a transformed kernel"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topi.cuda.conv2d_nchw_winograd_without_weight_transform(D, te.placeholder((5, 5, 4, 6), name="U"), 1, 1, 1,
                                                                "float32")
