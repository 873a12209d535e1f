"""The packed-layout operators of TVM's x86 backend: conv2d_NCHWc (float and int8),
depthwise_conv2d_NCHWc, unpack_NCHWc_to_nchw and dense_pack, under a plain schedule and under the
x86 AutoTVM templates (several configs of their spaces), against numpy on fresh random data: the
data and kernels are packed with numpy, the result unpacked and compared with the plain NCHW
references.  Bad layouts and shapes are errors that name the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tensorlang.topi import testing as ref

from .runner import call, rand, rng, run_plain

# (batch, in channels, height, width, out channels, kernel, stride, padding, dilation, ic_bn, oc_bn)
CONVS = [
    (1, 8, 9, 9, 16, 3, 1, 1, 1, 4, 8),
    (2, 8, 11, 7, 8, 3, 2, 1, 1, 8, 4),          # stride 2, odd sizes, blocks shrinking
    (1, 4, 10, 9, 8, 3, 1, 2, 2, 2, 8),          # dilation 2
    (1, 16, 7, 5, 16, 1, 1, 0, 1, 16, 16),       # 1x1, no padding stage
    (1, 6, 8, 7, 6, (3, 2), (2, 1), "SAME", 1, 3, 2),  # a non-square kernel, SAME padding
]


def _conv_case(case):
    n, c, h, w, k, ks, stride, padding, dilation, ib, ob = case
    kh, kw = ks if isinstance(ks, tuple) else (ks, ks)
    a, wt = rand(n, c, h, w), rand(k, c, kh, kw)
    want = ref.conv2d_nchw_python(a, wt, stride, padding, dilation=dilation)
    return ref.pack_nchwc(a, ib), ref.pack_kernel_oihwio(wt, ib, ob), want, (stride, padding, dilation, ib, ob)


@pytest.mark.parametrize("case", CONVS)
def test_conv2d_NCHWc_plain_matches_nchw(case):
    ap, wp, want, (stride, padding, dilation, ib, ob) = _conv_case(case)
    D, K = te.placeholder(ap.shape, name="D"), te.placeholder(wp.shape, name="K")
    out = topi.nn.conv2d_NCHWc(D, K, stride, padding, dilation, f"NCHW{ib}c", f"NCHW{ob}c")
    assert out.op.tag == "conv2d_NCHWc" and [a.var.name for a in out.op.reduce_axis] == ["ic", "kh", "kw"]
    got = run_plain(topi.nn.unpack_NCHWc_to_nchw(out, "float32"), [D, K], [ap, wp])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _task_check(args, arrays, want, configs):
    """Build ``configs`` of the conv2d_NCHWc.x86 task ``args`` and compare each with ``want`` (packed)."""
    task = autotvm.task.create("conv2d_NCHWc.x86", args=args, target="llvm")
    space = task.config_space
    for idx in configs(len(space)):
        s, targs = task.instantiate(space.get(idx))
        ir = str(tvm.lower(s, targs))
        # The chunks run in parallel, the oc block (when it is more than one channel) is a vector.
        assert "parallel" in ir and ("ramp" in ir or int(targs[-1].shape[-1]) == 1), ir
        f = tvm.build(s, targs, target="llvm")
        got = call(f, targs[-1], arrays)
        np.testing.assert_allclose(ref.unpack_nchwc(got), want, rtol=1e-4, atol=1e-4, err_msg=str(space.get(idx)))
    return space


@pytest.mark.parametrize("case", CONVS[:4])
def test_conv2d_NCHWc_x86_template_configs(case):
    ap, wp, want, (stride, padding, dilation, ib, ob) = _conv_case(case)
    args = (("TENSOR", ap.shape, "float32"), ("TENSOR", wp.shape, "float32"), stride, padding, dilation,
            f"NCHW{ib}c", f"NCHW{ob}c", "float32")
    space = _task_check(args, [ap, wp], want, lambda n: sorted({0, n - 1, int(rng.integers(n))}))
    # The blocks come with the packed tensors: one candidate each.
    assert len(space.space_map["tile_ic"]) == len(space.space_map["tile_oc"]) == 1
    assert ("tile_oh" in space.space_map) == (case[5] == 1) != ("unroll_kw" in space.space_map)


def test_conv2d_NCHWc_x86_template_on_nchw_data_chooses_the_blocks():
    a, wt = rand(1, 8, 8, 9), rand(12, 8, 3, 3)
    args = (("TENSOR", a.shape, "float32"), ("TENSOR", wt.shape, "float32"), 1, 1, 1, "NCHW", "NCHW", "float32")
    want = ref.conv2d_nchw_python(a, wt, 1, 1)
    space = _task_check(args, [a, wt], want, lambda n: [0, n // 2 + 1, n - 1])
    assert len(space.space_map["tile_ic"]) == 4 and len(space.space_map["tile_oc"]) == 6  # divisors of 8, 12


@pytest.mark.parametrize("unpack", [False, True])
def test_conv2d_NCHWc_x86_called_directly_with_fused_ops(unpack):
    ap, wp, want, (stride, padding, dilation, ib, ob) = _conv_case(CONVS[1])
    D, K = te.placeholder(ap.shape, name="D"), te.placeholder(wp.shape, name="K")
    with warnings.catch_warnings(), tvm.target.Target("llvm"):
        warnings.simplefilter("ignore")  # no tuning log: the fallback config
        C = topi.x86.conv2d_NCHWc(D, K, stride, padding, dilation, f"NCHW{ib}c", f"NCHW{ob}c", "float32")
        out = topi.nn.relu(topi.nn.unpack_NCHWc_to_nchw(C, "float32") if unpack else C)
        s = topi.x86.schedule_conv2d_NCHWc([out])
    got = call(tvm.build(s, [D, K, out]), out, [ap, wp])
    np.testing.assert_allclose(got if unpack else ref.unpack_nchwc(got), np.maximum(want, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape,ks,stride,padding,dilation,ib,ob", [
    ((1, 8, 9, 9), 3, 1, 1, 1, 4, 4),
    ((2, 8, 11, 7), 3, 2, 1, 1, 8, 4),      # input and output blocked differently
    ((1, 6, 10, 9), 3, 1, 2, 2, 2, 3),
])
def test_depthwise_conv2d_NCHWc_plain(shape, ks, stride, padding, dilation, ib, ob):
    c = shape[1]
    a, wt = rand(*shape), rand(c, 1, ks, ks)
    ap = ref.pack_nchwc(a, ib)
    wp = np.ascontiguousarray(wt.reshape(c // ob, ob, 1, 1, ks, ks).transpose(0, 2, 4, 5, 3, 1))
    D, K = te.placeholder(ap.shape, name="D"), te.placeholder(wp.shape, name="K")
    out = topi.nn.depthwise_conv2d_NCHWc(D, K, stride, padding, dilation, f"NCHW{ib}c", f"NCHW{ob}c")
    assert out.op.tag == "depthwise_conv2d_NCHWc" and str(out.dtype) == "float32"
    got = run_plain(out, [D, K], [ap, wp])
    want = ref.conv2d_nchw_python(a, wt, stride, padding, groups=c, dilation=dilation)
    np.testing.assert_allclose(ref.unpack_nchwc(got), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, ref.depthwise_conv2d_NCHWc_python(ap, wp, stride, padding, dilation),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("data_dtype,kernel_dtype", [("uint8", "int8"), ("int8", "int8")])
def test_conv2d_NCHWc_int8_plain(data_dtype, kernel_dtype):
    n, c, h, w, k, ib, ob, n_elems = 1, 8, 7, 8, 16, 8, 16, 4
    lo = 0 if data_dtype == "uint8" else -128
    a = rng.integers(lo, lo + 256, (n, c, h, w)).astype(data_dtype)
    wt = rng.integers(-128, 128, (k, c, 3, 3)).astype(kernel_dtype)
    ap, wp = ref.pack_nchwc(a, ib), ref.pack_kernel_oihwio_int8(wt, ib, ob, n_elems)
    D = te.placeholder(ap.shape, data_dtype, name="D")
    K = te.placeholder(wp.shape, kernel_dtype, name="K")
    out = topi.nn.conv2d_NCHWc_int8(D, K, 2, 1, 1, f"NCHW{ib}c", f"NCHW{ob}c", n_elems=n_elems)
    assert str(out.dtype) == "int32"
    got = run_plain(out, [D, K], [ap, wp])
    want = ref.conv2d_nchw_python(a.astype("int64"), wt.astype("int64"), 2, 1)
    np.testing.assert_array_equal(ref.unpack_nchwc(got), want)


def test_unpack_NCHWc_to_nchw_casts():
    P = te.placeholder((2, 3, 4, 5, 4), name="P")
    out = topi.nn.unpack_NCHWc_to_nchw(P, "float64")
    assert tuple(int(d) for d in out.shape) == (2, 12, 4, 5) and str(out.dtype) == "float64"
    p = rand(2, 3, 4, 5, 4)
    np.testing.assert_array_equal(run_plain(out, [P], [p]), ref.unpack_nchwc(p).astype("float64"))


@pytest.mark.parametrize("with_bias", [False, True])
def test_dense_pack_plain(with_bias):
    m, k, n, bn = 5, 19, 24, 8
    x, wt, b = rand(m, k), rand(n, k), rand(n)
    X = te.placeholder((m, k), name="X")
    W = te.placeholder((n // bn, k, bn), name="W")
    B = te.placeholder((n,), name="B") if with_bias else None
    out = topi.nn.dense_pack(X, W, B)
    assert tuple(int(d) for d in out.shape) == (m, n)
    inputs = [X, W] + ([B] if with_bias else [])
    arrays = [x, ref.pack_dense_weight(wt, bn)] + ([b] if with_bias else [])
    np.testing.assert_allclose(run_plain(out, inputs, arrays), x @ wt.T + (b if with_bias else 0), rtol=1e-4,
                               atol=1e-4)


def test_dense_pack_x86_template_with_a_prepacked_weight():
    m, k, n, bn = 6, 16, 32, 8
    x, wt, b = rand(m, k), rand(n, k), rand(n)
    args = (("TENSOR", (m, k), "float32"), ("TENSOR", (n // bn, k, bn), "float32"), ("TENSOR", (n,), "float32"),
            "float32")
    task = autotvm.task.create("dense_pack.x86", args=args, target="llvm")
    space = task.config_space
    for idx in sorted({0, len(space) // 3, len(space) - 1}):
        s, targs = task.instantiate(space.get(idx))
        f = tvm.build(s, targs, target="llvm")
        got = call(f, targs[-1], [x, ref.pack_dense_weight(wt, bn), b])
        np.testing.assert_allclose(got, x @ wt.T + b, rtol=1e-4, atol=1e-4, err_msg=str(space.get(idx)))


def _conv_error(data_shape, kernel_shape, layout="NCHW4c", out_layout="NCHW8c", **kw):
    D = te.placeholder(data_shape, name="D")
    K = te.placeholder(kernel_shape, name="K")
    return topi.nn.conv2d_NCHWc(D, K, 1, 1, 1, layout, out_layout, **kw)


def test_bad_arguments_name_what_is_wrong():
    good_d, good_k = (1, 2, 6, 6, 4), (2, 2, 3, 3, 4, 8)
    _conv_error(good_d, good_k)  # the reference call is fine
    _conv_error(good_d, good_k, out_layout="")  # TVM's unset out_layout
    with pytest.raises(ExprError, match="layout 'NCHW8c' blocks the channels by 8 but the tensor's channel block is 4"):
        _conv_error(good_d, good_k, layout="NCHW8c")
    with pytest.raises(ExprError, match="out_layout 'NCHW4c' blocks the channels by 4"):
        _conv_error(good_d, good_k, out_layout="NCHW4c")
    for bad in ("NHWC4c", "NCHW4C", "NCHW", "NCHW0c", 4):
        with pytest.raises(ExprError, match="layout .* is not a packed layout NCHW<x>c"):
            _conv_error(good_d, good_k, layout=bad)
    with pytest.raises(ExprError, match="data D must be 5-D"):
        _conv_error((1, 8, 6, 6), good_k)
    with pytest.raises(ExprError, match="kernel K must be 6-D"):
        _conv_error(good_d, (16, 8, 3, 3))
    with pytest.raises(ExprError, match="K blocks the input channels by 2 but data D by 4"):
        _conv_error(good_d, (2, 4, 3, 3, 2, 8))
    with pytest.raises(ExprError, match="K has 4 input channels but data D has 8 .grouped"):
        _conv_error(good_d, (2, 1, 3, 3, 4, 8))
    with pytest.raises(DTypeError, match="out_dtype 'float17' is not a dtype"):
        _conv_error(good_d, good_k, out_dtype="float17")
    for stride in [(1, 1, 1), 0, (2, -1)]:
        with pytest.raises(ExprError, match=r"stride .* must be a positive int or a pair of them"):
            topi.nn.conv2d_NCHWc(te.placeholder(good_d, name="D"), te.placeholder(good_k, name="K"), stride, 1, 1,
                                 "NCHW4c", "NCHW8c")
    with pytest.raises(ExprError, match="dilation 0 must be a positive int"):
        topi.nn.depthwise_conv2d_NCHWc(te.placeholder(good_d, name="D"), te.placeholder((1, 1, 3, 3, 1, 8), name="F"),
                                       1, 1, 0, "NCHW4c", "NCHW8c")


def test_bad_depthwise_int8_unpack_and_dense_pack_arguments():
    D = te.placeholder((1, 2, 6, 6, 4), name="D")
    with pytest.raises(ExprError, match="channel multiplier of 2"):
        topi.nn.depthwise_conv2d_NCHWc(D, te.placeholder((2, 2, 3, 3, 1, 8), name="F"), 1, 1, 1, "NCHW4c", "NCHW8c")
    with pytest.raises(ExprError, match="F has 16 channels but Input D has 8"):
        topi.nn.depthwise_conv2d_NCHWc(D, te.placeholder((2, 1, 3, 3, 1, 8), name="F"), 1, 1, 1, "NCHW4c", "NCHW8c")
    with pytest.raises(DTypeError, match="data D must be int8 or uint8, got float32"):
        topi.nn.conv2d_NCHWc_int8(D, te.placeholder((2, 2, 3, 3, 1, 8, 4), "int8", name="K"), 1, 1, 1, "NCHW4c",
                                  "NCHW8c")
    D8 = te.placeholder((1, 2, 6, 6, 4), "uint8", name="D8")
    with pytest.raises(ExprError, match="n_elems=3 must be a positive int dividing the channel block 4"):
        topi.nn.conv2d_NCHWc_int8(D8, te.placeholder((2, 2, 3, 3, 1, 8, 4), "int8", name="K"), 1, 1, 1, "NCHW4c",
                                  "NCHW8c", n_elems=3)
    with pytest.raises(ExprError, match=r"splits its input block as \(2, 2\)"):
        topi.nn.conv2d_NCHWc_int8(D8, te.placeholder((2, 2, 3, 3, 2, 8, 2), "int8", name="K"), 1, 1, 1, "NCHW4c",
                                  "NCHW8c")
    with pytest.raises(ExprError, match="packed_out X must be 5-D"):
        topi.nn.unpack_NCHWc_to_nchw(te.placeholder((1, 8, 6, 6), name="X"), "float32")
    X = te.placeholder((4, 16), name="X")
    with pytest.raises(ExprError, match=r"weight 3-D \(N / n, K, n\)"):
        topi.nn.dense_pack(X, te.placeholder((8, 16), name="W"))
    with pytest.raises(ExprError, match="X has 16 columns but W packs 12"):
        topi.nn.dense_pack(X, te.placeholder((2, 12, 4), name="W"))
    with pytest.raises(ExprError, match="bias B must be 1-D with 8 elements"):
        topi.nn.dense_pack(X, te.placeholder((2, 16, 4), name="W"), te.placeholder((6,), name="B"))
    with pytest.raises(ExprError, match="on 4-D data input0 layout must be 'NCHW'"):
        args = (("TENSOR", (1, 8, 6, 6), "float32"), ("TENSOR", (8, 8, 3, 3), "float32"), 1, 1, 1, "NCHW8c",
                "NCHW8c", "float32")
        autotvm.task.create("conv2d_NCHWc.x86", args=args, target="llvm")
