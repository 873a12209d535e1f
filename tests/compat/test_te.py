"""te-level TVM API: te.scan (the scan tutorial), bound inference as TVM's unit tests read it."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te


def _scan_cumsum():
    m = te.var("m")
    n = te.var("n")
    X = te.placeholder((m, n), name="X")
    s_state = te.placeholder((m, n))
    s_init = te.compute((1, n), lambda _, i: X[0, i])
    s_update = te.compute((m, n), lambda t, i: s_state[t - 1, i] + X[t, i])
    s_scan = tvm.te.scan(s_init, s_update, s_state, inputs=[X])
    return X, s_init, s_update, s_scan


def test_scan_tutorial_cumsum_on_cpu_and_gpu():
    X, s_init, s_update, s_scan = _scan_cumsum()
    s = te.create_schedule(s_scan.op)
    f = tvm.build(s, [X, s_scan])
    a = np.random.rand(9, 13).astype("float32")
    b = np.zeros((9, 13), "float32")
    f(a, b)
    np.testing.assert_allclose(b, np.cumsum(a, axis=0), rtol=1e-5)

    X, s_init, s_update, s_scan = _scan_cumsum()
    s = te.create_schedule(s_scan.op)
    num_thread = 256
    block_x = te.thread_axis("blockIdx.x")
    thread_x = te.thread_axis("threadIdx.x")
    xo, xi = s[s_init].split(s_init.op.axis[1], factor=num_thread)
    s[s_init].bind(xo, block_x)
    s[s_init].bind(xi, thread_x)
    xo, xi = s[s_update].split(s_update.op.axis[1], factor=num_thread)
    s[s_update].bind(xo, block_x)
    s[s_update].bind(xi, thread_x)
    assert "scan" in str(tvm.lower(s, [X, s_scan], simple_mode=True))
    fscan = tvm.build(s, [X, s_scan], "cuda -emulate", name="myscan")
    dev = tvm.cuda(0)
    n, m = 1024, 10
    a_np = np.random.uniform(size=(m, n)).astype(s_scan.dtype)
    a = tvm.nd.array(a_np, dev)
    b = tvm.nd.array(np.zeros((m, n), dtype=s_scan.dtype), dev)
    fscan(a, b)
    tvm.testing.assert_allclose(b.numpy(), np.cumsum(a_np, axis=0), rtol=1e-5)


@pytest.mark.parametrize("attach", [True, False])
def test_scan_multi_stage(attach):
    m = te.var("m")
    n = te.var("n")
    X = te.placeholder((m, n), name="X")
    s_state = te.placeholder((m, n))
    s_init = te.compute((1, n), lambda _, i: X[0, i])
    s_update_s1 = te.compute((m, n), lambda t, i: s_state[t - 1, i] * 2, name="s1")
    s_update_s2 = te.compute((m, n), lambda t, i: s_update_s1[t, i] + X[t, i], name="s2")
    s_scan = tvm.te.scan(s_init, s_update_s2, s_state, inputs=[X])
    s = te.create_schedule(s_scan.op)
    if attach:
        xo, xi = s[s_update_s2].split(s_update_s2.op.axis[1], factor=32)
        s[s_update_s1].compute_at(s[s_update_s2], xo)
    f = tvm.build(s, [X, s_scan])
    a = np.random.rand(6, 70).astype("float32")
    b = np.zeros((6, 70), "float32")
    f(a, b)
    ref = np.zeros_like(a)
    ref[0] = a[0]
    for t in range(1, 6):
        ref[t] = ref[t - 1] * 2 + a[t]
    np.testing.assert_allclose(b, ref, rtol=1e-5)


def test_scan_rnn_style_recurrence_with_two_init_rows():
    T, H = 8, 5
    X = te.placeholder((T, H), name="X")
    W = te.placeholder((H, H), name="W")
    state = te.placeholder((T, H), name="state")
    init = te.compute((2, H), lambda t, i: X[t, i], name="init")
    k = te.reduce_axis((0, H), name="k")
    hidden = te.compute((T, H), lambda t, i: te.sum(state[t - 1, k] * W[k, i], axis=k), name="hidden")
    update = te.compute((T, H), lambda t, i: te.tanh(hidden[t, i]) + state[t - 2, i], name="update")
    out = te.scan(init, update, state, inputs=[X])
    f = tvm.build(te.create_schedule(out.op), [X, W, out])
    x = np.random.rand(T, H).astype("float32")
    w = np.random.uniform(-1, 1, (H, H)).astype("float32")
    got = np.zeros((T, H), "float32")
    f(x, w, got)
    ref = np.zeros((T, H), "float32")
    ref[:2] = x[:2]
    for t in range(2, T):
        ref[t] = np.tanh(ref[t - 1] @ w) + ref[t - 2]
    # six recurrent steps carry float32 rounding of O(1) values into entries that can be near 0
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_infer_bound():
    m = te.var("m")
    l = te.var("l")  # noqa: E741 - TVM's test spelling
    A = te.placeholder((m, l), name="A")
    A1 = te.compute((m, l), lambda i, j: A[i, j], name="A1")
    A2 = te.compute((m, l), lambda i, j: A1[i, j] + 3, name="A2")
    s = te.create_schedule([A2.op])
    xo, xi = s[A2].split(s[A2].op.axis[0], 8)
    s[A1].compute_at(s[A2], xo)
    bounds = tvm.te.schedule.InferBound(s)
    assert isinstance(bounds, tvm.container.Map)
    assert bounds[A1.op.axis[0]].extent.value == 8
    assert isinstance(s[A2].relations[0], tvm.te.schedule.Split)
    # a stencil: the producer's tile is the consumer's tile plus the halo
    A = te.placeholder((32,), name="A")
    B = te.compute((30,), lambda i: A[i] + A[i + 1] + A[i + 2], name="B")
    P = te.compute((32,), lambda i: A[i] * 2, name="P")
    C = te.compute((30,), lambda i: P[i] + P[i + 2], name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=5)
    s[P].compute_at(s[C], xo)
    assert tvm.te.schedule.InferBound(s)[P.op.axis[0]].extent.value == 7
    f = tvm.build(s, [A, C])
    a = np.random.rand(32).astype("float32")
    c = np.zeros(30, "float32")
    f(a, c)
    np.testing.assert_allclose(c, 2 * a[:30] + 2 * a[2:], rtol=1e-6)
    assert B.shape[0].value == 30
