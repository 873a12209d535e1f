"""TVM 0.12's stage groups and scan bodies (test_te_group.py, test_te_schedule_lstm.py), as a TVM
user's code reads after ``import tensorlang as tvm``: the group bookkeeping TVM's tests assert
(``s.groups``, ``attach_stage``, the scan body's own group, compute_at refused outside a group),
and each schedule run against numpy on random data."""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def _chain():
    X = te.placeholder((7, 11), name="X")
    x = te.compute(X.shape, lambda i, j: X[i, j] * 3, name="x")
    x1 = te.compute(x.shape, lambda *i: x(*i) + 1, name="x1")
    x2 = te.compute(x.shape, lambda *i: x1(*i) + 2, name="x2")
    return X, x, x1, x2


def _run(s, X, out, ref):
    f = tvm.build(s, [X, out], "llvm")
    xn = np.random.uniform(-1, 1, [int(d) for d in X.shape]).astype("float32")
    o = tvm.nd.array(np.zeros([int(d) for d in out.shape], "float32"))
    f(tvm.nd.array(xn), o)
    np.testing.assert_allclose(o.numpy(), ref(xn), rtol=1e-5, atol=1e-6)


def test_compute_group():
    X, x, x1, x2 = _chain()
    s = te.create_schedule(x2.op)
    g = s.create_group(outputs=x1, inputs=x, include_inputs=True)
    assert s[x1].group == g and s[x].group == g
    g.compute_at(s[x2], x2.op.axis[1])
    assert g.attach_stage == s[x2]
    assert g.num_child_stages == 2
    assert list(s.groups) == [g]
    _run(s, X, x2, lambda a: a * 3 + 3)


def test_nest_group():
    X, x, x1, x2 = _chain()
    s = te.create_schedule(x2.op)
    g1 = s.create_group(outputs=x1, inputs=x)
    g2 = s.create_group(outputs=x1, inputs=x, include_inputs=True)
    assert set(s.groups) == {g1, g2}
    assert s[x].group == g2 and s[x1].group == g1 and g1.group == g2
    assert (g2.num_child_stages, g1.num_child_stages) == (2, 1)
    g2.compute_at(s[x2], x2.op.axis[0])
    _run(s, X, x2, lambda a: a * 3 + 3)


def _scan_chain(inputs_as_list):
    m, n = 9, 13
    X = te.placeholder((m, n), name="X")
    x = te.compute((m, n), lambda i, j: X[i, j] * 2, name="x")
    state = te.placeholder((m, n), name="state")
    init = te.compute((1, n), lambda _, i: x[0, i], name="init")
    u1 = te.compute((m, n), lambda t, i: state[t - 1, i] + x[t, i], name="u1")
    u2 = te.compute((m, n), lambda t, i: u1[t, i] + 1, name="u2")
    u3 = te.compute((m, n), lambda t, i: u2[t, i] + 1, name="u3")
    res = te.scan(init, u3, state, inputs=[x] if inputs_as_list else x)
    return X, x, state, init, u1, u2, u3, res


def _scan_ref(a):
    x = a * 2
    out = np.empty_like(x)
    out[0] = x[0]
    for t in range(1, len(x)):
        out[t] = out[t - 1] + x[t] + 2
    return out


@pytest.mark.parametrize("inputs_as_list", [False, True])
def test_scan_group(inputs_as_list):
    X, x, state, init, u1, u2, u3, res = _scan_chain(inputs_as_list)
    s = te.create_schedule(res.op)
    body = s[u1].group
    assert body is not None and s[u2].group == body and s[u3].group == body
    assert body.attach_stage == s[res] and s[x].group is None
    s[u1].compute_at(s[u2], u2.op.axis[1])        # inside the body: allowed
    g2 = s.create_group(outputs=u2, inputs=[state, x])
    assert g2.group == body and s[u2].group == g2 and s[u1].group == g2
    g2.compute_at(s[u3], u3.op.axis[1])
    assert g2.attach_stage == s[u3]
    with pytest.raises(tvm.error.TVMError, match="outside this stage's group"):
        s[u2].compute_at(s[init], init.op.axis[0])
    _run(s, X, res, _scan_ref)


def test_scan_body_includes_stages_that_read_only_its_inputs():
    """TVM's LSTM pattern: a stage reading the scan's input at ``t - 1`` is part of the body, so
    it runs per time step (over the whole axis it would read X[-1])."""
    m, n = 6, 5
    X = te.placeholder((m - 1, n), name="X")
    state = te.placeholder((m, n), name="state")
    init = te.compute((1, n), lambda _, i: te.const(0.5, "float32"), name="init")
    xs = te.compute((m, n), lambda t, i: X[t - 1, i] * 2, name="xs")
    upd = te.compute((m, n), lambda t, i: state[t - 1, i] * 0.5 + xs[t, i], name="upd")
    res = te.scan(init, upd, state, inputs=[X])
    s = te.create_schedule(res.op)
    assert s[xs].group is s[upd].group is not None

    def ref(a):
        out = np.empty((m, n), "float32")
        out[0] = 0.5
        for t in range(1, m):
            out[t] = out[t - 1] * 0.5 + a[t - 1] * 2
        return out
    _run(s, X, res, ref)


def test_group_compute_at_outside_keeps_old_placement_on_error():
    X, x, x1, x2 = _chain()
    s = te.create_schedule(x2.op)
    g = s.create_group(outputs=x1, inputs=x, include_inputs=True)
    with pytest.raises(tvm.error.TVMError):
        g.compute_at(s[x2], x1.op.axis[0])           # an axis of another stage
    assert g.attach_stage is None
