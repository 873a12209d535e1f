"""TVM 0.12's tests/python/topi/python/test_topi_upsampling.py as a TVM user runs it (imports
changed, a subset of its cases), on the enabled targets (llvm here): ``topi.nn.upsampling`` refused
TVM's packed layout NCHW[x]n[y]c ("NCHW1n16c"), and ``topi.image.resize2d`` and
``topi.testing.resize2d_python`` did too (and NCHW[x]c)."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.topi.utils import nchw_pack_layout


def verify_upsampling(
    batch,
    in_channel,
    in_height,
    in_width,
    scale_h,
    scale_w,
    layout="NCHW",
    method="nearest_neighbor",
    in_batch_block=0,
    in_channel_block=0,
):
    if layout == "NCHW":
        A = te.placeholder((batch, in_channel, in_height, in_width), name="A")
        dtype = A.dtype
        out_shape = (
            batch,
            in_channel,
            int(round(in_height * scale_h)),
            int(round(in_width * scale_w)),
        )
        a_np = np.random.uniform(size=(batch, in_channel, in_height, in_width)).astype(dtype)
    elif nchw_pack_layout(layout):
        A = te.placeholder(
            (batch, in_channel, in_height, in_width, in_batch_block, in_channel_block), name="A"
        )
        dtype = A.dtype
        out_shape = (
            batch,
            in_channel,
            int(round(in_height * scale_h)),
            int(round(in_width * scale_w)),
            in_batch_block,
            in_channel_block,
        )
        a_np = np.random.uniform(
            size=(batch, in_channel, in_height, in_width, in_batch_block, in_channel_block)
        ).astype(dtype)
    elif layout == "NHWC":
        A = te.placeholder((batch, in_height, in_width, in_channel), name="A")
        dtype = A.dtype
        out_shape = (
            batch,
            int(round(in_height * scale_h)),
            int(round(in_width * scale_w)),
            in_channel,
        )
        a_np = np.random.uniform(size=(batch, in_height, in_width, in_channel)).astype(dtype)
    else:
        raise NotImplementedError(f"Layout not supported {layout} ")

    B = topi.nn.upsampling(A, scale_h, scale_w, layout=layout, method=method, align_corners=False)

    b_np = tvm.topi.testing.resize2d_python(
        a_np,
        (scale_h, scale_w),
        layout,
        method[2:] if method[0:2] == "bi" else method,
        "asymmetric",
    )

    def check_target(target, dev):
        print(f"Running on target: {target}")
        with tvm.target.Target(target):
            s = tvm.topi.testing.get_injective_schedule(target)(B)
        a = tvm.nd.array(a_np, dev)
        b = tvm.nd.array(np.zeros(out_shape, dtype=dtype), dev)
        f = tvm.build(s, [A, B], target)
        f(a, b)

        tvm.testing.assert_allclose(b.numpy(), b_np, rtol=1e-5, atol=1e-5)

    for target, dev in tvm.testing.enabled_targets():
        check_target(target, dev)


def test_upsampling():
    # bilinear - NCHWinic
    verify_upsampling(
        2,
        4,
        22,
        32,
        in_batch_block=1,
        in_channel_block=16,
        scale_h=1.954545497894287,
        scale_w=2.0,
        layout="NCHW1n16c",
        method="bilinear",
    )


@pytest.mark.parametrize("layout, shape, method", [("NCHW2n4c", (1, 3, 5, 7, 2, 4), "nearest_neighbor"),
                                                   ("NCHW8c", (2, 3, 5, 7, 8), "bilinear")])
def test_packed_layouts_resize_as_their_unpacked_planes(layout, shape, method):
    # the H and W planes of a packed layout resize as NCHW's; the block axes pass through
    rng = np.random.default_rng()
    a = rng.standard_normal(shape).astype("float32")
    A = te.placeholder(shape, name="A")
    B = topi.nn.upsampling(A, 1.5, 2.0, layout=layout, method=method)
    f = tvm.build(te.create_schedule(B.op), [A, B], "llvm")
    b = tvm.nd.empty([int(d) for d in B.shape], "float32")
    f(tvm.nd.array(a), b)
    base = method[2:] if method.startswith("bi") else method
    planes = np.moveaxis(a, (2, 3), (-2, -1)).reshape(-1, 1, 5, 7)
    ref = tvm.topi.testing.resize2d_python(planes, (1.5, 2.0), "NCHW", base, "asymmetric")
    ref = np.moveaxis(ref.reshape(*np.moveaxis(a, (2, 3), (-2, -1)).shape[:-2], 8, 14), (-2, -1), (2, 3))
    np.testing.assert_allclose(b.numpy(), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tvm.topi.testing.resize2d_python(a, (1.5, 2.0), layout, base, "asymmetric"), ref,
                               rtol=1e-6, atol=1e-6)
