"""TVM 0.12's tests/python/topi/python/test_topi_relu.py as a TVM user runs it (imports changed; its
(1024 * 100, 512) case cut to (1024, 512)): ``topi.nn.relu`` (float32, float16) through
``topi.testing.get_elemwise_schedule`` on the enabled targets (TVM's pytest plugin) and on
``cuda -emulate``, ``leaky_relu``, and ``prelu`` on each axis."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.contrib.nvcc import have_fp16

# TVM's conftest.py: pytest_plugins = ["tvm.testing.plugin"]
from tensorlang.testing.plugin import pytest_generate_tests  # noqa: F401
from tensorlang.topi.utils import get_const_tuple

m, n, dtype = tvm.testing.parameters(
    (10, 128, "float32"),
    (128, 64, "float16"),
    (1024, 512, "float32"),
)


def test_relu(target, dev, m, n, dtype):
    A = te.placeholder((m, n), name="A", dtype=dtype)
    B = topi.nn.relu(A)
    a_np = np.random.uniform(low=-1.0, high=1.0, size=get_const_tuple(A.shape)).astype(A.dtype)
    b_np = a_np * (a_np > 0)
    if dtype == "float16" and target == "cuda" and not have_fp16(tvm.cuda(0).compute_version):
        pytest.skip(f"Skip because {target} does not have fp16 support")
    with tvm.target.Target(target):
        s = tvm.topi.testing.get_elemwise_schedule(target)(B)
    a = tvm.nd.array(a_np, dev)
    b = tvm.nd.array(np.zeros(get_const_tuple(B.shape), dtype=B.dtype), dev)
    foo = tvm.build(s, [A, B], target, name="relu")
    foo(a, b)
    tvm.testing.assert_allclose(b.asnumpy(), b_np, rtol=1e-5)


def test_relu_cuda_emulate():
    """test_relu's float16 case with the target and device TVM's plugin gives a GPU (emulated here)."""
    test_relu("cuda -emulate", tvm.device("cuda -emulate", 0), 128, 64, "float16")


size, alpha = tvm.testing.parameters((100, 0.1))


def test_leaky_relu(size, alpha):
    A = te.placeholder((size,), name="A")
    B = topi.nn.leaky_relu(A, alpha)
    s = te.create_schedule([B.op])
    a_np = np.random.uniform(size=get_const_tuple(A.shape)).astype(A.dtype)
    b_np = a_np * (a_np > 0) + a_np * (a_np < 0) * alpha
    dev = tvm.cpu(0)
    a = tvm.nd.array(a_np, dev)
    b = tvm.nd.array(np.zeros(get_const_tuple(B.shape), dtype=B.dtype), dev)
    foo = tvm.build(s, [A, B], "llvm", name="leaky_relu")
    foo(a, b)
    tvm.testing.assert_allclose(b.numpy(), b_np, rtol=1e-5)


x, w, axis, weight_reshape = tvm.testing.parameters(
    ((1, 3, 2, 2), (3,), 1, (3, 1, 1)),
    ((1, 3, 2, 2), (2,), 2, (2, 1)),
    ((1, 3), (3,), 1, (3,)),
)


def test_prelu(x, w, axis, weight_reshape):
    X = te.placeholder((x), name="X")
    W = te.placeholder((w), name="W")
    x_np = np.random.uniform(low=-1.0, high=1.0, size=get_const_tuple(X.shape)).astype(X.dtype)
    w_np = np.random.uniform(low=-1.0, high=1.0, size=get_const_tuple(W.shape)).astype(W.dtype)

    def _prelu_numpy(x, W):
        return (x < 0) * (x * W.reshape(weight_reshape)) + (x >= 0) * x

    B = topi.nn.prelu(X, W, axis)
    s = te.create_schedule([B.op])
    dev = tvm.cpu(0)
    x_tvm = tvm.nd.array(x_np, dev)
    w_tvm = tvm.nd.array(w_np, dev)
    b = tvm.nd.array(np.zeros(get_const_tuple(X.shape), dtype=B.dtype), dev)
    foo = tvm.build(s, [X, W, B], "llvm", name="prelu")
    foo(x_tvm, w_tvm, b)
    out_np = _prelu_numpy(x_np, w_np)
    tvm.testing.assert_allclose(b.numpy(), out_np, rtol=1e-5)
