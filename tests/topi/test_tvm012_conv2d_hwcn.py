"""TVM 0.12's tests/python/topi/python/test_topi_conv2d_hwcn.py as a TVM user runs it (imports changed;
one of its cases, smaller, and ``cuda -emulate`` for the GPU entry): ``topi.nn.conv2d_hwcn``,
``topi.generic.schedule_conv2d_hwcn``, ``topi.cuda.conv2d_hwcn/schedule_conv2d_hwcn``, which tensorlang
lacked; plus the CUDA schedules of TVM's test_topi_vision.py (roi_align, roi_pool) and
test_topi_reorg.py tables."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.topi.utils import get_const_tuple

_conv2d_hwcn_implement = {
    "generic": (topi.nn.conv2d_hwcn, topi.generic.schedule_conv2d_hwcn),
    "gpu": (topi.cuda.conv2d_hwcn, topi.cuda.schedule_conv2d_hwcn),
    "opencl": (topi.cuda.conv2d_hwcn, topi.cuda.schedule_conv2d_hwcn),
}


def verify_conv2d_hwcn(batch, in_channel, in_size, num_filter, kernel, stride, padding, dilation=1):
    in_height = in_width = in_size

    A = te.placeholder((in_height, in_width, in_channel, batch), name="A")
    W = te.placeholder((kernel, kernel, in_channel, num_filter), name="W")
    B = te.placeholder((1, num_filter, 1), name="bias")

    a_shape = get_const_tuple(A.shape)
    w_shape = get_const_tuple(W.shape)
    b_shape = get_const_tuple(B.shape)
    dtype = A.dtype

    def get_ref_data():
        a_np = np.random.uniform(size=a_shape).astype(dtype)
        w_np = np.random.uniform(size=w_shape).astype(dtype)
        b_np = np.random.uniform(size=b_shape).astype(dtype)
        dw_np = tvm.topi.testing.dilate_python(w_np, (dilation, dilation, 1, 1))
        c1_np = tvm.topi.testing.conv2d_hwcn_python(a_np, dw_np, stride, padding)
        c2_np = c1_np + b_np
        c3_np = np.maximum(c2_np, 0)
        return a_np, w_np, b_np, c1_np, c2_np, c3_np

    a_np, w_np, b_np, c1_np, c2_np, c3_np = get_ref_data()

    def check_target(target):
        dev = tvm.device(target, 0)
        print(f"Running on target: {target}")
        with tvm.target.Target(target):
            fcompute, fschedule = tvm.topi.testing.dispatch(target, _conv2d_hwcn_implement)
            t_conv = fcompute(A, W, stride, padding, dilation)
            t_bias = topi.add(t_conv, B)
            t_relu = topi.nn.relu(t_bias)
            s1 = fschedule([t_conv])
            s2 = fschedule([t_bias])
            s3 = fschedule([t_relu])
        a = tvm.nd.array(a_np, dev)
        w = tvm.nd.array(w_np, dev)
        b = tvm.nd.array(b_np, dev)

        conv_out = tvm.nd.array(np.zeros(get_const_tuple(t_conv.shape), dtype=t_conv.dtype), dev)
        bias_out = tvm.nd.array(np.zeros(get_const_tuple(t_bias.shape), dtype=t_bias.dtype), dev)
        relu_out = tvm.nd.array(np.zeros(get_const_tuple(t_relu.shape), dtype=t_relu.dtype), dev)
        func1 = tvm.build(s1, [A, W, t_conv], target)
        func2 = tvm.build(s2, [A, W, B, t_bias], target)
        func3 = tvm.build(s3, [A, W, B, t_relu], target)
        func1(a, w, conv_out)
        func2(a, w, b, bias_out)
        func3(a, w, b, relu_out)
        tvm.testing.assert_allclose(conv_out.numpy(), c1_np, rtol=1e-5)
        tvm.testing.assert_allclose(bias_out.numpy(), c2_np, rtol=1e-5)
        tvm.testing.assert_allclose(relu_out.numpy(), c3_np, rtol=1e-5)

    for target in ["llvm"]:
        check_target(target)


def test_conv2d_hwcn():
    verify_conv2d_hwcn(1, 8, 9, 4, 3, 2, "SAME", dilation=2)


def test_conv2d_hwcn_cuda_emulate():
    """The table's GPU entry (conv + bias + relu) on ``cuda -emulate``."""
    target, dev = "cuda -emulate", tvm.device("cuda -emulate", 0)
    A = te.placeholder((7, 7, 4, 2), name="A")
    W = te.placeholder((3, 3, 4, 5), name="W")
    B = te.placeholder((1, 5, 1), name="bias")
    a_np, w_np, b_np = (np.random.uniform(size=get_const_tuple(t.shape)).astype("float32") for t in (A, W, B))
    ref = np.maximum(tvm.topi.testing.conv2d_hwcn_python(a_np, w_np, 1, 1) + b_np, 0)
    with tvm.target.Target(target):
        fcompute, fschedule = tvm.topi.testing.dispatch(target, _conv2d_hwcn_implement)
        out = topi.nn.relu(topi.add(fcompute(A, W, 1, 1, 1), B))
        s = fschedule([out])
    f = tvm.build(s, [A, W, B, out], target)
    res = tvm.nd.array(np.zeros(get_const_tuple(out.shape), dtype="float32"), dev)
    f(tvm.nd.array(a_np, dev), tvm.nd.array(w_np, dev), tvm.nd.array(b_np, dev), res)
    tvm.testing.assert_allclose(res.numpy(), ref, rtol=1e-5)


def test_vision_cuda_schedules():
    """roi_align (test_topi_vision.py) and reorg (test_topi_reorg.py) through the CUDA entries of their
    tables, on ``cuda -emulate`` (roi_pool's entry works too, but lowering it takes 12 s here: see
    the report)."""
    target, dev = "cuda -emulate", tvm.device("cuda -emulate", 0)
    a_np = np.random.uniform(size=(1, 3, 8, 8)).astype("float32")
    rois_np = np.array([[0, 1.0, 1.5, 6.0, 7.0], [0, 0.5, 2.0, 5.5, 4.0]], dtype="float32")
    A = te.placeholder(a_np.shape, name="A")
    rois = te.placeholder(rois_np.shape, name="rois")
    cases = [
        (topi.vision.rcnn.roi_align_nchw(A, rois, pooled_size=(2, 3), spatial_scale=1.0, sample_ratio=2),
         topi.cuda.schedule_roi_align,
         tvm.topi.testing.roi_align_nchw_python(a_np, rois_np, pooled_size=(2, 3), spatial_scale=1.0,
                                                sample_ratio=2)),
    ]
    for out, fschedule, ref in cases:
        with tvm.target.Target(target):
            s = fschedule(out)
        f = tvm.build(s, [A, rois, out], target)
        res = tvm.nd.array(np.zeros(get_const_tuple(out.shape), dtype="float32"), dev)
        f(tvm.nd.array(a_np, dev), tvm.nd.array(rois_np, dev), res)
        tvm.testing.assert_allclose(res.numpy(), ref, rtol=1e-4, atol=1e-5)

    # test_topi_vision's table names topi.x86.roi_align_nchw as its "cpu" entry
    out = topi.x86.roi_align_nchw(A, rois, (2, 3), 1.0, "avg", 2)
    f = tvm.build(topi.generic.schedule_roi_align(out), [A, rois, out], "llvm")
    res = tvm.nd.array(np.zeros(get_const_tuple(out.shape), dtype="float32"))
    f(tvm.nd.array(a_np), tvm.nd.array(rois_np), res)
    tvm.testing.assert_allclose(res.numpy(), cases[0][2], rtol=1e-4, atol=1e-5)

    X = te.placeholder((1, 8, 4, 4), name="X")
    Y = topi.vision.reorg(X, 2)
    with tvm.target.Target(target):
        s = topi.cuda.schedule_reorg([Y])
    f = tvm.build(s, [X, Y], target)
    x_np = np.random.uniform(size=(1, 8, 4, 4)).astype("float32")
    y = tvm.nd.array(np.zeros(get_const_tuple(Y.shape), dtype="float32"), dev)
    f(tvm.nd.array(x_np, dev), y)
    tvm.testing.assert_allclose(y.numpy(), tvm.topi.testing.reorg_python(x_np, 2))
