"""From TVM 0.12's tests/python/topi/python/test_topi_conv2d_nchw.py as a TVM user runs it (imports
changed; its test_conv2d_nchw body with the fixtures written out, for one workload).  On the GPU
(``cuda -emulate``) its asymmetric-padding case with a 24x24 filter and dilation 2 failed to build:
the fallback config of ``conv2d_nchw.cuda`` staged 8 x 8 filter taps per channel chunk in shared
memory, 53888 bytes where a block has 49152.  Here a smaller workload that overflowed alike."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import autotvm, te, topi
from tensorlang.topi.utils import get_const_tuple

# the emulator; an explicit -arch spares the target a probe of the machine's GPU (a subprocess)
EMU = "cuda -emulate -arch=sm_90"


@pytest.mark.parametrize("target, batch, in_channel, in_size, num_filter, kernel, stride, padding, dilation", [
    (EMU, 1, 32, 8, 8, 16, 1, "SAME", 2),
])
def test_conv2d_nchw(target, batch, in_channel, in_size, num_filter, kernel, stride, padding, dilation):
    dev = tvm.device(target, 0)
    dtype = "float32"
    add_bias = apply_relu = True

    # the file's fixtures: input_shape, weight_shape, bias_shape, ref_data (fresh data, no seed)
    a_np = np.random.uniform(size=(batch, in_channel, in_size, in_size)).astype(dtype)
    w_np = np.random.uniform(size=(num_filter, in_channel, kernel, kernel)).astype(dtype)
    b_np = np.random.uniform(size=(num_filter, 1, 1)).astype(dtype)
    dw_np = tvm.topi.testing.dilate_python(w_np, (1, 1, dilation, dilation))
    c_np = tvm.topi.testing.conv2d_nchw_python(a_np, dw_np, stride, padding).astype(dtype)
    c_np = np.maximum(c_np + b_np, 0)

    # the test body
    target = tvm.target.Target(target)
    A = te.placeholder(a_np.shape, name="A", dtype=dtype)
    W = te.placeholder(w_np.shape, name="W", dtype=dtype)
    bias = te.placeholder(b_np.shape, name="bias", dtype=dtype)
    tol = {"rtol": 1e-4, "atol": 2e-4}
    with autotvm.tophub.context(target):  # load tophub pre-tuned parameters
        fcompute, fschedule = tvm.topi.testing.get_conv2d_nchw_implement(target)
        with target:
            C = fcompute(A, W, (stride, stride), padding, (dilation, dilation), dtype)
            if add_bias:
                C = topi.add(C, bias)
            if apply_relu:
                C = topi.nn.relu(C)
            s = fschedule([C])

        a = tvm.nd.array(a_np, dev)
        w = tvm.nd.array(w_np, dev)
        b = tvm.nd.array(b_np, dev)
        c = tvm.nd.array(np.zeros(get_const_tuple(C.shape), dtype=C.dtype), dev)
        func = tvm.build(s, [A, W, bias, C], target)
        func(a, w, b, c)
        tvm.testing.assert_allclose(c.numpy(), c_np, **tol)
