"""TVM 0.12's tests/python/topi/python/test_topi_depthwise_conv2d_back_input.py and
..._back_weight.py as a TVM user runs them (imports changed; small cases; ``cuda -emulate`` for their
GPU devices, and llvm with a plain schedule): ``topi.nn.depthwise_conv2d_backward_input_nhwc``,
``depthwise_conv2d_backward_weight_nhwc`` and ``topi.cuda.depthwise_conv2d``'s schedules of them, which
tensorlang lacked (the modules failed to import).  The reference is the forward convolution's
definition, each output gradient scattered back to the input elements and filter taps it came from."""

import numpy as np
import pytest
from tensorlang.topi.nn.utils import get_pad_tuple

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te, topi
from tensorlang.topi.cuda.depthwise_conv2d import (
    schedule_depthwise_conv2d_backward_input_nhwc,
    schedule_depthwise_conv2d_backward_weight_nhwc,
)
from tensorlang.topi.utils import get_const_tuple


def _reference(in_np, filter_np, out_grad_np, stride, padding):
    """(input gradient, filter gradient) of out[b, y, x, c*M+m] = sum_ij in_pad[b, y*s+i, x*s+j, c] f[i, j, c, m]."""
    batch, in_h, in_w, in_c = in_np.shape
    fh, fw, _, mult = filter_np.shape
    _, out_h, out_w, _ = out_grad_np.shape
    pt, pl, _, _ = get_pad_tuple(padding, (fh, fw))
    in_grad = np.zeros(in_np.shape, "float64")
    w_grad = np.zeros(filter_np.shape, "float64")
    og = out_grad_np.reshape(batch, out_h, out_w, in_c, mult).astype("float64")
    for y in range(out_h):
        for x in range(out_w):
            for i in range(fh):
                for j in range(fw):
                    h, w = y * stride[0] + i - pt, x * stride[1] + j - pl
                    if 0 <= h < in_h and 0 <= w < in_w:
                        in_grad[:, h, w, :] += (og[:, y, x, :, :] * filter_np[i, j][None]).sum(-1)
                        w_grad[i, j] += (og[:, y, x, :, :] * in_np[:, h, w, :, None]).sum(0)
    return in_grad, w_grad


def verify_depthwise_conv2d_back(batch, in_channel, in_h, channel_multiplier, filter_h, stride_h, padding_h):
    in_w, filter_w, stride_w, padding_w = in_h, filter_h, stride_h, padding_h
    out_h = int((in_h + 2 * padding_h - filter_h) / stride_h + 1)
    out_w = int((in_w + 2 * padding_w - filter_w) / stride_w + 1)
    out_channel = in_channel * channel_multiplier
    ishape = [batch, in_h, in_w, in_channel]
    oshape = [batch, out_h, out_w, out_channel]
    fshape = [filter_h, filter_w, in_channel, channel_multiplier]

    Filter = te.placeholder(fshape, name="filter")
    Input = te.placeholder(ishape, name="Input")
    Out_grad = te.placeholder(oshape, name="out_grad")
    In_grad = topi.nn.depthwise_conv2d_backward_input_nhwc(
        Filter, Out_grad, oshape, ishape, stride=[stride_h, stride_w], padding=[padding_h, padding_w]
    )
    Weight_grad = topi.nn.depthwise_conv2d_backward_weight_nhwc(
        Input, Out_grad, oshape, fshape, stride=[stride_h, stride_w], padding=[padding_h, padding_w]
    )
    assert get_const_tuple(In_grad.shape) == tuple(ishape)
    assert get_const_tuple(Weight_grad.shape) == tuple(fshape)

    in_np = np.random.uniform(size=ishape).astype("float32")
    filter_np = np.random.uniform(size=fshape).astype("float32")
    out_grad_np = np.random.uniform(size=oshape).astype("float32")
    in_grad_np, weight_grad_np = _reference(in_np, filter_np, out_grad_np, (stride_h, stride_w),
                                            [padding_h, padding_w])

    for device, schedules in (
        ("cuda -emulate", (schedule_depthwise_conv2d_backward_input_nhwc(In_grad),
                           schedule_depthwise_conv2d_backward_weight_nhwc(Weight_grad))),
        ("llvm", (te.create_schedule(In_grad.op), topi.generic.schedule_extern(Weight_grad))),
    ):
        dev = tvm.device(device, 0)
        f_in = tvm.build(schedules[0], [Filter, Out_grad, In_grad], device)
        f_w = tvm.build(schedules[1], [Input, Out_grad, Weight_grad], device)
        in_grad = tvm.nd.array(np.zeros(ishape, "float32"), dev)
        weight_grad = tvm.nd.array(np.zeros(fshape, "float32"), dev)
        f_in(tvm.nd.array(filter_np, dev), tvm.nd.array(out_grad_np, dev), in_grad)
        f_w(tvm.nd.array(in_np, dev), tvm.nd.array(out_grad_np, dev), weight_grad)
        tvm.testing.assert_allclose(in_grad.numpy(), in_grad_np, rtol=1e-4)
        tvm.testing.assert_allclose(weight_grad.numpy(), weight_grad_np, rtol=1e-4)


@pytest.mark.parametrize(
    "batch, in_channel, in_h, channel_multiplier, filter_h, stride_h, padding_h",
    [(2, 3, 7, 2, 3, 2, 1), (1, 2, 6, 1, 5, 1, 2)],
)
def test_topi_depthwise_conv2d_backward_nhwc(batch, in_channel, in_h, channel_multiplier, filter_h, stride_h,
                                             padding_h):
    verify_depthwise_conv2d_back(batch, in_channel, in_h, channel_multiplier, filter_h, stride_h, padding_h)
