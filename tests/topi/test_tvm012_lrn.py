"""TVM 0.12's tests/python/topi/python/test_topi_lrn.py as a TVM user runs it (imports changed; its
devices list with ``cuda -emulate`` added, which runs the CUDA schedule here): ``topi.nn.lrn`` across
and within channels, float32 and float16, against ``topi.testing.lrn_python``."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.topi.utils import get_const_tuple

_lrn_schedule = {
    "generic": topi.generic.schedule_lrn,
    "gpu": topi.cuda.schedule_lrn,
    "opencl": topi.cuda.schedule_lrn,
    "metal": topi.cuda.schedule_lrn,
    "rocm": topi.cuda.schedule_lrn,
    "vulkan": topi.cuda.schedule_lrn,
    "nvptx": topi.cuda.schedule_lrn,
}


def verify_lrn(shape, size, axis, bias, alpha, beta, dtype="float32", rtol=1e-5, atol=1e-5):
    A = te.placeholder(shape, dtype=dtype, name="A")
    B = topi.nn.lrn(A, size, axis, alpha, beta, bias)

    a_np = np.random.uniform(size=shape).astype(dtype)
    b_np = tvm.topi.testing.lrn_python(a_np, size, axis, bias, alpha, beta)

    def check_device(device):
        if not tvm.testing.device_enabled(device):
            print(f"Skip because {device} is not enabled")
            return
        print(f"Running on target: {device}")
        with tvm.target.Target(device):
            s_func = tvm.topi.testing.dispatch(device, _lrn_schedule)
            s = s_func([B])
        dev = tvm.device(device, 0)
        a = tvm.nd.array(a_np, dev)
        b = tvm.nd.array(np.zeros(get_const_tuple(B.shape), dtype=dtype), dev)
        f = tvm.build(s, [A, B], device)
        f(a, b)
        tvm.testing.assert_allclose(b.numpy(), b_np, rtol=rtol, atol=atol)

    for device in ["llvm", "cuda", "opencl", "metal", "rocm", "vulkan", "nvptx", "cuda -emulate"]:
        check_device(device)


@tvm.testing.uses_gpu
def test_lrn():
    # (1, 3, 5, 5) across channels is covered by the next case (bias 2, beta 0.75): CI time
    verify_lrn((1, 3, 5, 5), 3, 3, 1.0, 1.0, 0.5)
    verify_lrn((1, 3, 20, 20), 3, 1, 2.0, 1.0, 0.75)
    verify_lrn((1, 3, 5, 5), 3, 3, 1.0, 1.0, 0.5, dtype="float16", rtol=1e-3, atol=1e-3)
