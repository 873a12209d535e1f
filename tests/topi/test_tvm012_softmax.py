"""TVM 0.12's tests/python/topi/python/test_topi_softmax.py as a TVM user runs it (imports changed; the
4-D shape (1, 16, 256, 256) cut to (1, 16, 8, 8)): ``topi.nn.softmax`` over 1-, 2- and 4-D inputs and
``log_softmax``, float32 and float64, through TVM's per-target schedule table (``topi.hls`` included)
on the enabled targets (TVM's pytest plugin: llvm here; the CUDA schedule passes the full case list on
``cuda -emulate`` too, left out for CI time)."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi

# TVM's conftest.py: pytest_plugins = ["tvm.testing.plugin"]
from tensorlang.testing.plugin import pytest_generate_tests  # noqa: F401
from tensorlang.topi.utils import get_const_tuple

_softmax_schedule = {
    "generic": topi.generic.schedule_softmax,
    "cpu": topi.x86.schedule_softmax,
    "gpu": topi.cuda.schedule_softmax,
    "hls": topi.hls.schedule_softmax,
}
dtype = tvm.testing.parameter("float32", "float64")
configs = {
    "softmax": {"topi": topi.nn.softmax, "ref": tvm.topi.testing.softmax_python, "dimensions": [1, 2, 4]},
    "log_softmax": {"topi": topi.nn.log_softmax, "ref": tvm.topi.testing.log_softmax_python, "dimensions": [2]},
}
shapes = [(32, 10), (3, 4), (1, 16, 8, 8), (32,)]
softmax_operation, shape = tvm.testing.parameters(
    *[(name, shape) for name, config in configs.items() for shape in shapes if len(shape) in config["dimensions"]]
)


@tvm.testing.fixture(cache_return_value=True)
def ref_data(shape, dtype, softmax_operation):
    ref_func = configs[softmax_operation]["ref"]
    a_np = np.random.uniform(size=shape).astype(dtype)
    if len(shape) == 1:
        b_np = tvm.topi.testing.softmax_python(a_np[None, :])[0]
    elif len(shape) == 2:
        b_np = ref_func(a_np)
    elif len(shape) == 4:
        _, c, h, w = a_np.shape
        a_np_2d = a_np.transpose(0, 2, 3, 1).reshape(h * w, c)
        b_np_2d = tvm.topi.testing.softmax_python(a_np_2d)
        b_np = b_np_2d.reshape(1, h, w, c).transpose(0, 3, 1, 2)
    return a_np, b_np


def test_softmax(target, dev, shape, dtype, ref_data, softmax_operation):
    target = tvm.target.Target(target)
    if target.kind.name == "vulkan" and dtype == "float64":
        # https://www.khronos.org/registry/SPIR-V/specs/1.0/GLSL.std.450.html
        pytest.xfail("Vulkan GLSL.std.450 does not support 64-bit floats")

    A = te.placeholder(shape, dtype=dtype, name="A")
    topi_op = configs[softmax_operation]["topi"]
    B = topi_op(A, axis=min(len(shape) - 1, 1))
    with tvm.target.Target(target):
        fschedule = tvm.topi.testing.dispatch(target, _softmax_schedule)
        s = fschedule(B)
    a_np, b_np = ref_data
    a = tvm.nd.array(a_np, dev)
    b = tvm.nd.array(np.zeros(get_const_tuple(B.shape), dtype=B.dtype), dev)
    f = tvm.build(s, [A, B], target)
    f(a, b)
    tvm.testing.assert_allclose(b.numpy(), b_np, rtol=1e-5)

