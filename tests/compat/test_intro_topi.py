"""TVM 0.12's intro_topi.py tutorial with the imports changed; the CUDA kernels run on
``cuda -emulate`` (and the conv2d is smaller), each result checked against numpy."""

from __future__ import annotations

import numpy as np

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te, topi


def test_intro_topi():
    n = te.var("n")
    m = te.var("m")
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), "k")
    B = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    assert "B[i]" in str(tvm.lower(s, [A], simple_mode=True))
    C = topi.sum(A, axis=1)
    ts = te.create_schedule(C.op)
    f = tvm.build(ts, [A, C])
    a = np.random.default_rng().standard_normal((6, 9)).astype("float32")
    c = np.empty(6, "float32")
    f(a, c)
    # A row of 9 normals can sum to nearly 0, where float32 summation order shows: an absolute bound too.
    np.testing.assert_allclose(c, a.sum(axis=1), rtol=1e-5, atol=1e-5)

    x, y = 100, 10
    a = te.placeholder((x, y, y), name="a")
    b = te.placeholder((y, y), name="b")
    c = a + b  # same as topi.broadcast_add
    d = a * b  # same as topi.broadcast_mul
    e = topi.elemwise_sum([c, d])
    f = e / 2.0
    g = topi.sum(f)
    with tvm.target.cuda():
        sg = topi.cuda.schedule_reduce(g)
        assert "threadIdx.x" in str(tvm.lower(sg, [a, b], simple_mode=True))
    assert len(sg.stages) >= 5 and "stage(" in str(sg.stages).lower()
    func = tvm.build(sg, [a, b, g], "cuda -emulate")
    dev = tvm.cuda(0) if tvm.testing.device_enabled("cuda") else tvm.cpu(0)
    a_np = np.random.uniform(size=(x, y, y)).astype(a.dtype)
    b_np = np.random.uniform(size=(y, y)).astype(b.dtype)
    g_np = np.sum(np.add(a_np + b_np, a_np * b_np) / 2.0)
    a_nd = tvm.nd.array(a_np, dev)
    b_nd = tvm.nd.array(b_np, dev)
    g_nd = tvm.nd.array(np.zeros(g_np.shape, dtype=g_np.dtype), dev)
    func(a_nd, b_nd, g_nd)
    tvm.testing.assert_allclose(g_nd.numpy(), g_np, rtol=1e-5)

    tarray = te.placeholder((64, 48), name="tarray")
    softmax_topi = topi.nn.softmax(tarray)
    with tvm.target.Target("cuda"):
        sst = topi.cuda.schedule_softmax(softmax_topi)
        tvm.lower(sst, [tarray], simple_mode=True)
    fs = tvm.build(sst, [tarray, softmax_topi], "cuda -emulate")
    t_np = np.random.default_rng().standard_normal((64, 48)).astype("float32")
    out = np.empty_like(t_np)
    fs(t_np, out)
    want = np.exp(t_np - t_np.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, want / want.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)

    data = te.placeholder((1, 3, 22, 22))
    kernel = te.placeholder((10, 3, 5, 5))
    with tvm.target.Target("cuda"):
        conv = topi.cuda.conv2d_nchw(data, kernel, 1, 2, 1)
        out = topi.nn.relu(conv)
        sconv = topi.cuda.schedule_conv2d_nchw([out])
        tvm.lower(sconv, [data, kernel], simple_mode=True)
    fc = tvm.build(sconv, [data, kernel, out], "cuda -emulate")
    rng = np.random.default_rng()
    d_np = rng.standard_normal((1, 3, 22, 22)).astype("float32")
    k_np = rng.standard_normal((10, 3, 5, 5)).astype("float32")
    o_np = np.empty((1, 10, 22, 22), "float32")
    fc(d_np, k_np, o_np)
    want = np.maximum(topi.testing.conv2d_nchw_python(d_np, k_np, 1, 2), 0)
    np.testing.assert_allclose(o_np, want, rtol=1e-4, atol=1e-4)
