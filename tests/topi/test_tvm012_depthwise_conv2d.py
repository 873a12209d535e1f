"""From TVM 0.12's tests/python/topi/python/test_topi_depthwise_conv2d.py as a TVM user runs it
(imports changed; its test_conv2d body for one small workload per layout, the fixtures written
out).  What failed: the NHWC declaration takes ``out_dtype`` as the 6th positional argument there
(TVM <= 0.11's place; 0.12 has ``kernel_layout`` there and ignores the dtype), which tensorlang
refused as a kernel layout; ``topi.cuda.schedule_depthwise_conv2d_nhwc`` was missing; and the
NCHWc reference ``topi.testing.depthwise_conv2d_python_nchwc`` too."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.target.cuda import nvrtc
from tensorlang.topi.utils import get_const_tuple

_depthwise_conv2d_implement = {
    "NHWC": {
        "generic": [(topi.nn.depthwise_conv2d_nhwc, topi.generic.schedule_depthwise_conv2d_nhwc)],
        "gpu": [(topi.nn.depthwise_conv2d_nhwc, topi.cuda.schedule_depthwise_conv2d_nhwc)],
    },
    "NCHWc": {
        "generic": [(topi.x86.depthwise_conv2d_NCHWc, topi.x86.schedule_depthwise_conv2d_NCHWc)],
    },
}

# the emulator; an explicit -arch spares the target a probe of the machine's GPU (a subprocess)
EMU = "cuda -emulate -arch=sm_90"


def _shapes(layout, batch, in_channel, in_size, channel_multiplier, kernel):
    out_channel = in_channel * channel_multiplier
    if layout == "NHWC":
        return ((batch, in_size, in_size, in_channel), (kernel, kernel, in_channel, channel_multiplier),
                (out_channel,))
    oc_block = next(bn for bn in range(16, 0, -1) if out_channel % bn == 0)
    ic_block = next(bn for bn in range(oc_block, 0, -1) if in_channel % bn == 0)
    return ((batch, in_channel // ic_block, in_size, in_size, ic_block),
            (out_channel // oc_block, 1, kernel, kernel, 1, oc_block), (out_channel // oc_block, oc_block))


@pytest.mark.parametrize("target, layout, channel_multiplier, stride, padding, dilation", [
    ("llvm", "NHWC", 2, 1, "SAME", 1), (EMU, "NHWC", 1, 2, "VALID", 2),
    ("llvm", "NCHWc", 1, 2, "SAME", 1)])
def test_conv2d(target, layout, channel_multiplier, stride, padding, dilation):
    dev = tvm.device(target, 0)
    in_dtype = out_dtype = "float32"
    batch, in_channel, in_size, kernel = 1, 8, 7, 3
    input_shape, filter_shape, scale_shape = _shapes(layout, batch, in_channel, in_size, channel_multiplier, kernel)
    shift_shape = scale_shape

    # ref_data, as the file's fixture computes it (fresh data, no seed)
    input_np = np.random.uniform(size=input_shape).astype(in_dtype)
    filter_np = np.random.uniform(size=filter_shape).astype(in_dtype)
    scale_np = np.random.uniform(size=scale_shape).astype(out_dtype)
    shift_np = np.random.uniform(size=shift_shape).astype(out_dtype)
    if layout == "NHWC":
        np_depthwise_conv2d = tvm.topi.testing.depthwise_conv2d_python_nhwc
        dilation_np = (dilation, dilation, 1, 1)
        reshape = (1, 1, 1, -1)
    else:
        np_depthwise_conv2d = tvm.topi.testing.depthwise_conv2d_python_nchwc
        dilation_np = (1, 1, dilation, dilation, 1, 1)
        reshape = (1, scale_shape[0], 1, 1, scale_shape[1])
    dilated_filter_np = tvm.topi.testing.dilate_python(filter_np, dilation_np)
    output_np = np_depthwise_conv2d(input_np, dilated_filter_np, stride, padding).astype(out_dtype)
    output_np = np.maximum(output_np * scale_np.reshape(reshape) + shift_np.reshape(reshape), 0)

    # the test body
    Input = te.placeholder(input_shape, name="Input", dtype=in_dtype)
    Filter = te.placeholder(filter_shape, name="Filter", dtype=in_dtype)
    Scale = te.placeholder(scale_shape, name="Scale", dtype=out_dtype)
    Shift = te.placeholder(shift_shape, name="Shift", dtype=out_dtype)
    if layout == "NHWC":
        topi_scale_shift = topi.nn.scale_shift_nhwc
        fcompute_args = (Input, Filter, stride, padding, dilation, out_dtype)
    else:
        topi_scale_shift = topi.nn.scale_shift_nchwc
        in_layout = f"NCHW{input_shape[-1]}c"
        out_layout = f"NCHW{filter_shape[-1]}c"
        fcompute_args = (Input, Filter, stride, padding, dilation, in_layout, out_layout, out_dtype)

    impl_list = tvm.topi.testing.dispatch(target, _depthwise_conv2d_implement[layout])[:]
    for fcompute, fschedule in impl_list:
        with tvm.target.Target(target):
            C = fcompute(*fcompute_args)
            C = topi_scale_shift(C, Scale, Shift)
            C = topi.nn.relu(C)
            s = fschedule(C)
        f = tvm.build(s, [Input, Filter, Scale, Shift, C], target)
        input_tvm = tvm.nd.array(input_np, dev)
        filter_tvm = tvm.nd.array(filter_np, dev)
        scale_tvm = tvm.nd.array(scale_np, dev)
        shift_tvm = tvm.nd.array(shift_np, dev)
        output_tvm = tvm.nd.array(np.zeros(shape=get_const_tuple(C.shape), dtype=C.dtype), dev)
        f(input_tvm, filter_tvm, scale_tvm, shift_tvm, output_tvm)
        tvm.testing.assert_allclose(output_np, output_tvm.numpy(), rtol=1e-4, atol=1e-5)
        if target.startswith("cuda") and nvrtc.nvrtc_available():
            nvrtc.compile_cuda(f.imported_modules[0].get_source(), "sm_90", "depthwise_nhwc")


def test_nhwc_kernel_layouts_and_dtype():
    rng = np.random.default_rng()
    a = rng.standard_normal((1, 6, 5, 4)).astype("float32")
    w = rng.standard_normal((3, 3, 4, 2)).astype("float32")  # (KH, KW, C, M): HWOI
    ref = tvm.topi.testing.depthwise_conv2d_python_nhwc(a, w, 1, "SAME")
    I = te.placeholder(a.shape, name="I")
    for kernel_layout, weights in (("HWOI", w), ("HWIO", w.transpose(0, 1, 3, 2))):
        F = te.placeholder(weights.shape, name="F")
        O = topi.nn.depthwise_conv2d_nhwc(I, F, 1, "SAME", 1, kernel_layout)
        f = tvm.build(te.create_schedule(O.op), [I, F, O], "llvm")
        out = tvm.nd.empty(ref.shape, "float32")
        f(tvm.nd.array(a), tvm.nd.array(weights), out)
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)
    F = te.placeholder(w.shape, name="F")
    assert topi.nn.depthwise_conv2d_nhwc(I, F, 1, "SAME", 1, "float64").dtype == "float64"
    with pytest.raises(tvm.error.ExprError, match="kernel_layout 'OIHW' is not supported"):
        topi.nn.depthwise_conv2d_nhwc(I, F, 1, "SAME", 1, "OIHW")
