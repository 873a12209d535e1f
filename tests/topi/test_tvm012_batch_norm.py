"""TVM 0.12's tests/python/topi/python/test_topi_batch_norm.py as a TVM user runs it (imports changed;
half of its cases): its implementation table names ``topi.generic.schedule_batch_norm`` and
``topi.x86.schedule_batch_norm``, which tensorlang lacked (the module failed to import); and
test_topi_util.py's ``topi.utils.get_shape``, also missing."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi

_DEVICE = "llvm"
_BATCH_NORM_IMPLEMENT = {
    "generic": (topi.nn.batch_norm, topi.generic.schedule_batch_norm),
    "cpu": (topi.nn.batch_norm, topi.x86.schedule_batch_norm),
}


@pytest.mark.parametrize(
    "shape, axis, epsilon, center, scale, training, momentum",
    [
        ((2, 3), 0, 0.1, True, True, False, 0.1),
        ((2, 3, 4, 1), 1, 0.01, False, True, False, 0.1),
        ((3, 4, 1, 2), 2, 0.1, True, False, True, 0.1),
        ((1, 2, 4, 4, 5), 0, 0.1, True, True, True, 0.3),
    ],
)
def test_batch_norm(shape, axis, epsilon, center, scale, training, momentum):
    x_np = np.random.random(shape).astype("float32")
    gamma_np = np.random.random(shape[axis]).astype("float32")
    beta_np = np.random.random(shape[axis]).astype("float32")
    moving_mean_np = np.random.random(shape[axis]).astype("float32")
    moving_var_np = np.random.random(shape[axis]).astype("float32")

    out_x_np, out_moving_mean_np, out_moving_var_np = tvm.topi.testing.batch_norm(
        x_np, gamma_np, beta_np, moving_mean_np, moving_var_np, axis, epsilon, center, scale, training, momentum
    )

    x_te = te.placeholder(shape, name="x", dtype="float32")
    gamma_te = te.placeholder((shape[axis],), name="gamma", dtype="float32")
    beta_te = te.placeholder((shape[axis],), name="beta", dtype="float32")
    moving_mean_te = te.placeholder((shape[axis],), name="moving_mean", dtype="float32")
    moving_var_te = te.placeholder((shape[axis],), name="moving_var", dtype="float32")

    with tvm.target.Target(_DEVICE):
        fcompute, fschedule = tvm.topi.testing.dispatch(_DEVICE, _BATCH_NORM_IMPLEMENT)
        out_x, out_moving_mean, out_moving_var = fcompute(
            x_te, gamma_te, beta_te, moving_mean_te, moving_var_te, axis, epsilon, center, scale, training, momentum
        )
        s = fschedule([out_x, out_moving_mean, out_moving_var])

        dev = tvm.device(_DEVICE, 0)

        x_tvm = tvm.nd.array(x_np, dev)
        gamma_tvm = tvm.nd.array(gamma_np, dev)
        beta_tvm = tvm.nd.array(beta_np, dev)
        moving_mean_tvm = tvm.nd.array(moving_mean_np, dev)
        moving_var_tvm = tvm.nd.array(moving_var_np, dev)
        out_x_tvm = tvm.nd.array(np.zeros(shape, dtype=out_x.dtype), dev)
        out_moving_mean_tvm = tvm.nd.array(np.zeros((shape[axis],), dtype=out_moving_mean.dtype), dev)
        out_moving_var_tvm = tvm.nd.array(np.zeros((shape[axis],), dtype=out_moving_var.dtype), dev)

        f = tvm.build(
            s,
            [x_te, gamma_te, beta_te, moving_mean_te, moving_var_te, out_x, out_moving_mean, out_moving_var],
            _DEVICE,
        )
        f(x_tvm, gamma_tvm, beta_tvm, moving_mean_tvm, moving_var_tvm, out_x_tvm, out_moving_mean_tvm,
          out_moving_var_tvm)

        tvm.testing.assert_allclose(out_x_tvm.numpy(), out_x_np, rtol=1e-3)
        tvm.testing.assert_allclose(out_moving_mean_tvm.numpy(), out_moving_mean_np, rtol=1e-3)
        tvm.testing.assert_allclose(out_moving_var_tvm.numpy(), out_moving_var_np, rtol=1e-3)


def verify_get_shape(src_shape, src_layout, dst_layout, expect_shape):
    dst_shape = topi.utils.get_shape(src_shape, src_layout, dst_layout)
    assert dst_shape == expect_shape, f"Shape mismatch: expecting {expect_shape} but got {dst_shape}"


def test_get_shape():
    """test_topi_util.py's test_get_shape"""
    verify_get_shape((1, 3, 224, 224), "NCHW", "NCHW", (1, 3, 224, 224))
    verify_get_shape((1, 3, 224, 224), "NCHW", "NHWC", (1, 224, 224, 3))
    verify_get_shape((3, 2, 32, 48, 16), "NCHW16c", "NC16cWH", (3, 2, 16, 48, 32))
    verify_get_shape((2, 3, 32, 32, 16, 8), "OIHW16i8o", "HWO8oI16i", (32, 32, 2, 8, 3, 16))
