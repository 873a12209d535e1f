"""te.scan over states of different shapes (TVM's multi-state scan): an RNN-style recurrence
whose hidden state h (n wide) and cell state c (k wide) feed each other, on the CPU and on
``cuda -emulate``, against a numpy loop."""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import ExprError


def _rnn(T, n, k):
    X = te.placeholder((T, n), name="X")
    W = te.placeholder((k, n), name="W")
    U = te.placeholder((n, k), name="U")
    h_state = te.placeholder((T, n), name="h")
    c_state = te.placeholder((T, k), name="c")
    h_init = te.compute((1, n), lambda _, i: X[0, i], name="h_init")
    c_init = te.compute((1, k), lambda _, j: tvm.tir.const(0.5, "float32") + j, name="c_init")
    rj = te.reduce_axis((0, k), name="rj")
    h_mm = te.compute((T, n), lambda t, i: te.sum(c_state[t - 1, rj] * W[rj, i], axis=rj), name="h_mm")
    h_upd = te.compute((T, n), lambda t, i: te.tanh(X[t, i] + h_mm[t, i]), name="h_upd")
    ri = te.reduce_axis((0, n), name="ri")
    c_mm = te.compute((T, k), lambda t, j: te.sum(h_state[t - 1, ri] * U[ri, j], axis=ri), name="c_mm")
    c_upd = te.compute((T, k), lambda t, j: c_state[t - 1, j] + c_mm[t, j], name="c_upd")
    h, c = tvm.te.scan([h_init, c_init], [h_upd, c_upd], [h_state, c_state], inputs=[X, W, U], name="rnn")
    return (X, W, U, h, c), (h_init, c_init, h_mm, h_upd, c_mm, c_upd)


def _reference(x, w, u):
    T, n = x.shape
    k = w.shape[0]
    h, c = np.zeros((T, n), "float32"), np.zeros((T, k), "float32")
    h[0], c[0] = x[0], 0.5 + np.arange(k)
    for t in range(1, T):
        h[t] = np.tanh(x[t] + c[t - 1] @ w)
        c[t] = c[t - 1] + h[t - 1] @ u
    return h, c


def _check(f, T, n, k, dev=None, tol=1e-5):
    x = np.random.uniform(-1, 1, (T, n)).astype("float32")
    w = np.random.uniform(-1, 1, (k, n)).astype("float32")
    u = np.random.uniform(-1, 1, (n, k)).astype("float32")
    arrays = [tvm.nd.array(a, dev) for a in (x, w, u, np.zeros((T, n), "float32"), np.zeros((T, k), "float32"))]
    f(*arrays)
    h, c = _reference(x, w, u)
    np.testing.assert_allclose(arrays[3].numpy(), h, rtol=tol, atol=tol)
    np.testing.assert_allclose(arrays[4].numpy(), c, rtol=tol, atol=tol)


def test_two_states_of_different_shapes_on_cpu():
    T, n, k = 7, 6, 3
    args, _ = _rnn(T, n, k)
    h, c = args[3], args[4]
    assert tuple(int(d) for d in h.shape) == (T, n) and tuple(int(d) for d in c.shape) == (T, k)
    s = te.create_schedule(h.op)
    _check(tvm.build(s, list(args), "llvm"), T, n, k)


def test_two_states_of_different_shapes_on_cuda_emulation():
    T, n, k = 5, 64, 32
    args, (h_init, c_init, h_mm, h_upd, c_mm, c_upd) = _rnn(T, n, k)
    s = te.create_schedule(args[3].op)
    for stage, width in ((h_init, n), (c_init, k), (h_mm, n), (h_upd, n), (c_mm, k), (c_upd, k)):
        xo, xi = s[stage].split(stage.op.axis[1], factor=min(width, 32))
        s[stage].bind(xo, te.thread_axis("blockIdx.x"))
        s[stage].bind(xi, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, list(args), "cuda -emulate")
    _check(f, T, n, k, tvm.cuda(0), tol=1e-4)  # CUDA's tanhf and sum order differ from numpy's
    # For a real GPU the time loop's launches are not built yet: said plainly, not "forgot to bind"
    with pytest.raises(tvm.errors.BuildError, match=r"runs GPU kernels once per iteration .*'cuda -emulate' only"):
        tvm.build(s, list(args), "cuda -arch=sm_90")


def test_states_must_share_the_time_axis():
    X = te.placeholder((4, 3), name="X")
    a, b = te.placeholder((4, 3), name="a"), te.placeholder((5, 2), name="b")
    a_init = te.compute((1, 3), lambda _, i: X[0, i])
    b_init = te.compute((1, 2), lambda _, i: X[0, i])
    a_upd = te.compute((4, 3), lambda t, i: a[t - 1, i] + 1)
    b_upd = te.compute((5, 2), lambda t, i: b[t - 1, i] + 1)
    with pytest.raises(ExprError, match="same number of time steps"):
        tvm.te.scan([a_init, b_init], [a_upd, b_upd], [a, b])
