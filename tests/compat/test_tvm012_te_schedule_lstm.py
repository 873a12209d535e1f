"""TVM 0.12's test_te_schedule_lstm.py (test_lstm_cell_inline), in our own words.

An LSTM cell as a two-state te.scan (hidden h and cell c) whose gate stages are inlined.  TVM only
checks that it lowers at its sizes; here it is also built at small sizes and run against a numpy
LSTM on fresh random data.
"""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def _lstm(num_step, num_input, num_hidden, batch_size):
    X = te.placeholder((num_step - 1, batch_size, num_input), name="X")
    Wi2h = te.placeholder((4, num_hidden, num_input), name="Wi2h")
    Wh2h = te.placeholder((4, num_hidden, num_hidden), name="Wh2h")
    state_h = te.placeholder((num_step, batch_size, num_hidden))
    state_c = te.placeholder((num_step, batch_size, num_hidden))
    init_c = te.compute((1, batch_size, num_hidden), lambda *i: 0.0, name="init_c")
    init_h = te.compute((1, batch_size, num_hidden), lambda *i: 0.0, name="init_h")
    k = te.reduce_axis((0, num_input), name="ki2h")
    i2h = te.compute((num_step, 4, batch_size, num_hidden),
                     lambda t, x, i, j: te.sum(X[t - 1, i, k] * Wi2h[x, j, k], axis=k), name="s_i2h")
    k = te.reduce_axis((0, num_hidden), name="ki2h")
    h2h = te.compute((num_step, 4, batch_size, num_hidden),
                     lambda t, x, i, j: te.sum(state_h[t - 1, i, k] * Wh2h[x, j, k], axis=k), name="s_h2h")
    gates = te.compute(i2h.shape, lambda *i: i2h(*i) + h2h(*i), name="gates")
    gshape = (num_step, batch_size, num_hidden)
    in_gate = te.compute(gshape, lambda t, i, j: te.sigmoid(gates[t, 0, i, j]), name="in_gate")
    in_transform = te.compute(gshape, lambda t, i, j: te.tanh(gates[t, 1, i, j]), name="in_transform")
    forget_gate = te.compute(gshape, lambda t, i, j: te.sigmoid(gates[t, 2, i, j]), name="forget_gate")
    out_gate = te.compute(gshape, lambda t, i, j: te.sigmoid(gates[t, 3, i, j]), name="out_gate")
    next_c = te.compute(gshape, lambda t, i, j: forget_gate[t, i, j] * state_c[t - 1, i, j]
                        + in_gate[t, i, j] * in_transform[t, i, j], name="next_c")
    next_h = te.compute(gshape, lambda t, i, j: out_gate[t, i, j] * te.tanh(next_c[t, i, j]), name="next_h")
    update_c = te.compute(gshape, lambda *i: next_c(*i), name="update_c")
    update_h = te.compute(gshape, lambda *i: next_h(*i), name="update_h")
    scan_h, scan_c = tvm.te.scan([init_h, init_c], [update_h, update_c], [state_h, state_c],
                                 inputs=[X], name="lstm_scan")
    s = te.create_schedule(scan_h.op)
    for stage in (gates, in_gate, in_transform, forget_gate, out_gate):
        s[stage].compute_inline()
    return s, [X, Wi2h, Wh2h, scan_h, scan_c]


def test_lstm_cell_inline():
    s, args = _lstm(128, 256, 1152, 4)  # TVM's sizes: lowering only
    tvm.lower(s, args)


def _numpy_lstm(x, wi, wh, num_step):
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))
    batch, hidden = x.shape[1], wh.shape[1]
    h = np.zeros((num_step, batch, hidden))
    c = np.zeros((num_step, batch, hidden))
    for t in range(1, num_step):
        g = np.einsum("ik,xjk->xij", x[t - 1], wi) + np.einsum("ik,xjk->xij", h[t - 1], wh)
        c[t] = sigmoid(g[2]) * c[t - 1] + sigmoid(g[0]) * np.tanh(g[1])
        h[t] = sigmoid(g[3]) * np.tanh(c[t])
    return h, c


@pytest.mark.parametrize("sizes", [(5, 6, 7, 3), (4, 3, 5, 2)])
def test_lstm_cell_inline_matches_numpy(sizes):
    num_step, num_input, num_hidden, batch = sizes
    s, args = _lstm(*sizes)
    f = tvm.build(s, args, "llvm")
    rng = np.random.default_rng()
    x = rng.uniform(-1, 1, (num_step - 1, batch, num_input)).astype("float32")
    wi = rng.uniform(-1, 1, (4, num_hidden, num_input)).astype("float32")
    wh = rng.uniform(-1, 1, (4, num_hidden, num_hidden)).astype("float32")
    h = tvm.nd.array(np.zeros((num_step, batch, num_hidden), "float32"))
    c = tvm.nd.array(np.zeros((num_step, batch, num_hidden), "float32"))
    f(tvm.nd.array(x), tvm.nd.array(wi), tvm.nd.array(wh), h, c)
    ref_h, ref_c = _numpy_lstm(x.astype("float64"), wi.astype("float64"), wh.astype("float64"), num_step)
    np.testing.assert_allclose(h.numpy(), ref_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(c.numpy(), ref_c, rtol=1e-4, atol=1e-5)
