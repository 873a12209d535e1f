"""TVM 0.12's tests/python/topi/python/test_topi_conv1d.py as a TVM user runs it (imports changed; fewer
cases, and ``cuda -emulate`` for the GPU entries): its module-level implementation tables name
``topi.cuda.conv1d_nwc``, ``topi.cuda.schedule_conv1d_ncw/nwc``, ``topi.nn.group_conv1d_ncw/nwc`` and
their generic, x86 and CUDA schedules, which tensorlang lacked (the module failed to import)."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.errors import ExprError
from tensorlang.topi.utils import get_const_tuple

_conv1d_ncw_implement = {
    "generic": (topi.nn.conv1d_ncw, topi.generic.schedule_conv1d_ncw),
    "cpu": (topi.nn.conv1d_ncw, topi.x86.schedule_conv1d_ncw),
    "gpu": (topi.cuda.conv1d_ncw, topi.cuda.schedule_conv1d_ncw),
}

_conv1d_nwc_implement = {
    "generic": (topi.nn.conv1d_nwc, topi.generic.schedule_conv1d_nwc),
    "cpu": (topi.nn.conv1d_nwc, topi.x86.schedule_conv1d_nwc),
    "gpu": (topi.cuda.conv1d_nwc, topi.cuda.schedule_conv1d_nwc),
}

_group_conv1d_implementations = {
    "NCW": {
        "generic": (topi.nn.group_conv1d_ncw, topi.generic.schedule_group_conv1d_ncw),
        "cpu": (topi.nn.group_conv1d_ncw, topi.x86.schedule_group_conv1d_ncw),
        "gpu": (topi.cuda.group_conv1d_ncw, topi.cuda.schedule_group_conv1d_ncw),
    },
    "NWC": {
        "generic": (topi.nn.group_conv1d_nwc, topi.generic.schedule_group_conv1d_nwc),
        "cpu": (topi.nn.group_conv1d_nwc, topi.x86.schedule_group_conv1d_nwc),
        "gpu": (topi.cuda.group_conv1d_nwc, topi.cuda.schedule_group_conv1d_nwc),
    },
}

TARGETS = [("llvm", tvm.cpu()), ("cuda -emulate", tvm.device("cuda -emulate", 0))]


def verify_conv1d(batch, in_channels, in_width, filters, kernel_size=3, stride=1, dilation=1, padding="VALID",
                  layout="NCW"):
    if layout == "NCW":
        in_shape = [batch, in_channels, in_width]
        kernel_shape = [filters, in_channels, kernel_size]
    else:
        in_shape = [batch, in_width, in_channels]
        kernel_shape = [kernel_size, in_channels, filters]

    dtype = "float32"
    A = te.placeholder(in_shape, name="A", dtype=dtype)
    W = te.placeholder(kernel_shape, name="W", dtype=dtype)

    def get_ref_data(layout):
        a_np = np.random.uniform(size=in_shape).astype(dtype)
        w_np = np.random.uniform(size=kernel_shape).astype(dtype)
        if layout == "NWC":
            np_in = np.transpose(a_np, [0, 2, 1])
            np_w = np.transpose(w_np, [2, 1, 0])
        else:
            np_in = a_np
            np_w = w_np
        b_np = tvm.topi.testing.conv1d_ncw_python(np_in, np_w, stride, padding, dilation)
        if layout == "NWC":
            b_np = np.transpose(b_np, [0, 2, 1])
        return a_np, w_np, b_np

    a_np, w_np, b_np = get_ref_data(layout)

    def check_target(target, dev):
        if layout == "NCW":
            fcompute, fschedule = tvm.topi.testing.dispatch(target, _conv1d_ncw_implement)
        else:
            fcompute, fschedule = tvm.topi.testing.dispatch(target, _conv1d_nwc_implement)
        with tvm.target.Target(target):
            B = fcompute(A, W, stride, padding, dilation, "float32")
            s = fschedule([B])

        a = tvm.nd.array(a_np, dev)
        w = tvm.nd.array(w_np, dev)
        b = tvm.nd.array(np.zeros(get_const_tuple(B.shape), dtype=dtype), dev)

        func = tvm.build(s, [A, W, B], target)
        func(a, w, b)
        tvm.testing.assert_allclose(b.numpy(), b_np, rtol=1e-5)

    for target, dev in TARGETS:
        check_target(target, dev)


@pytest.mark.parametrize("layout", ["NCW", "NWC"])
def test_conv1d(layout):
    # stride, dilation, padding, non-power-of-two shape (one case of the original's list)
    verify_conv1d(1, 5, 27, 18, 3, 2, 2, "SAME", layout)


@pytest.mark.parametrize("layout", ["NCW", "NWC"])
def test_group_conv1d(layout):
    batch, in_channels, in_width, filters, kernel_size, stride, padding, dilation, groups = (
        2, 8, 13, 6, 3, 2, (1, 2), 2, 2)
    dtype = "float32"
    if layout == "NCW":
        in_shape = [batch, in_channels, in_width]
        kernel_shape = [filters, in_channels // groups, kernel_size]
    else:
        in_shape = [batch, in_width, in_channels]
        kernel_shape = [kernel_size, in_channels // groups, filters]
    A = te.placeholder(in_shape, name="A", dtype=dtype)
    W = te.placeholder(kernel_shape, name="W", dtype=dtype)
    a_np = np.random.uniform(size=in_shape).astype(dtype)
    w_np = np.random.uniform(size=kernel_shape).astype(dtype)
    if layout == "NWC":
        np_in, np_w = np.transpose(a_np, [0, 2, 1]), np.transpose(w_np, [2, 1, 0])
    else:
        np_in, np_w = a_np, w_np
    b_np = tvm.topi.testing.group_conv1d_ncw_python(np_in, np_w, stride, padding, dilation, groups)
    if layout == "NWC":
        b_np = np.transpose(b_np, [0, 2, 1])

    for target, dev in TARGETS:
        fcompute, fschedule = tvm.topi.testing.dispatch(target, _group_conv1d_implementations[layout])
        with tvm.target.Target(target):
            B = fcompute(A, W, stride, padding, dilation, groups, "float32")
            s = fschedule([B])
        a = tvm.nd.array(a_np, dev)
        w = tvm.nd.array(w_np, dev)
        b = tvm.nd.array(np.zeros(get_const_tuple(B.shape), dtype=dtype), dev)
        func = tvm.build(s, [A, W, B], target)
        func(a, w, b)
        tvm.testing.assert_allclose(b.numpy(), b_np, rtol=1e-5)


def test_group_conv1d_bad_groups():
    A = te.placeholder((1, 6, 10), name="A")
    W = te.placeholder((4, 3, 3), name="W")
    with pytest.raises(ExprError, match="groups must be a positive int dividing the 6 channels and the 4 filters"):
        topi.nn.group_conv1d_ncw(A, W, 1, "VALID", 1, 4)
    with pytest.raises(ExprError, match="A has 6 channels but W2 expects 2 per group"):
        topi.nn.group_conv1d_ncw(A, te.placeholder((4, 2, 3), name="W2"), 1, "VALID", 1, 2)
