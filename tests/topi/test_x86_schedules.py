"""topi.x86's fixed schedules (injective, reduce, softmax, pool) as TVM's topi tests call them: built
inside ``with Target("llvm")`` and checked against numpy on fresh random data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.errors import ScheduleError
from tests.topi.runner import call, rand

rng = np.random.default_rng()


def _build(schedule, outs, inputs):
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    with tvm.target.Target("llvm"):
        s = schedule(outs)
        ir = str(tvm.lower(s, list(inputs) + list(outs)))
        f = tvm.build(s, list(inputs) + list(outs), "llvm")
    return f, ir


@pytest.mark.parametrize("schedule", [topi.x86.schedule_injective, topi.x86.schedule_broadcast,
                                      topi.x86.schedule_elemwise])
@pytest.mark.parametrize("width", [7, 37])  # the innermost axis whole in one vector, or split into vectors
def test_injective_on_a_4d_broadcast(schedule, width):
    A, B = te.placeholder((2, 1, 5, width), name="A"), te.placeholder((3, 1, width), name="B")
    C = topi.exp(topi.add(A, B))
    f, ir = _build(schedule, C, [A, B])
    assert "parallel" in ir and "ramp" in ir and "T_add" not in ir  # the add is inlined
    a, b = rand(2, 1, 5, width), rand(3, 1, width)
    np.testing.assert_allclose(call(f, C, [a, b]), np.exp(a + b), rtol=1e-5)


@pytest.mark.parametrize("shape", [(100,), (5,), ()])
def test_injective_1d_and_0d(shape):
    A = te.placeholder(shape, name="A")
    B = topi.sigmoid(topi.multiply(A, 3.0))
    f, _ = _build(topi.testing.get_injective_schedule("llvm"), B, [A])
    a = rand(*shape)
    np.testing.assert_allclose(call(f, B, [a]), 1 / (1 + np.exp(-3 * a)), rtol=1e-5)


def test_injective_several_outputs():
    A = te.placeholder((4, 50), name="A")
    B = topi.transpose(topi.multiply(A, 2.0))
    C = topi.cast(topi.nn.relu(A), "float64")
    f, _ = _build(topi.x86.schedule_injective, [B, C], [A])
    a = rand(4, 50)
    b, c = call(f, [B, C], [a])
    np.testing.assert_allclose(b, (a * 2).T, rtol=1e-6)
    np.testing.assert_allclose(c, np.maximum(a, 0).astype("float64"))


@pytest.mark.parametrize("shape,op,axis,keepdims", [
    ((37, 999), "sum", 1, False),      # a non-power-of-two reduction
    ((5, 3, 33), "max", (0, 2), True),
    ((13, 77), "sum", None, False),
    ((6, 40), "min", 0, False),
    ((9, 70), "prod", 1, True),
])
def test_reduce(shape, op, axis, keepdims):
    A = te.placeholder(shape, name="A")
    B = getattr(topi, op)(A, axis=axis, keepdims=keepdims)
    f, ir = _build(topi.testing.get_reduce_schedule("llvm"), B, [A])
    assert ("parallel" in ir) == (axis is not None)
    a = rng.uniform(0.9, 1.1, shape).astype("float32") if op == "prod" else rand(*shape)
    ref = getattr(np, op)(a, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(call(f, B, [a]), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rows", [13, 40])
def test_reduce_with_elementwise_input_and_consumer(rows):
    A = te.placeholder((rows, 99), name="A")
    B = topi.sqrt(topi.sum(topi.abs(A), axis=1))
    f, _ = _build(topi.x86.schedule_reduce, B, [A])
    a = rand(rows, 99)
    np.testing.assert_allclose(call(f, B, [a]), np.sqrt(np.abs(a).sum(axis=1)), rtol=1e-5)


def test_reduce_with_a_broadcasting_consumer():
    A = te.placeholder((6, 45), name="A")
    B = topi.subtract(A, topi.max(A, axis=1, keepdims=True))
    f, _ = _build(topi.x86.schedule_reduce, B, [A])
    a = rand(6, 45)
    np.testing.assert_allclose(call(f, B, [a]), a - a.max(axis=1, keepdims=True), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 45), (3000, 8)])
def test_reductions_of_reductions(shape):
    A = te.placeholder(shape, name="A")
    centred = topi.subtract(A, topi.divide(topi.sum(A, axis=1, keepdims=True), float(shape[1])))
    var = topi.sum(topi.multiply(centred, centred), axis=1)  # reads a sum: that one is computed first
    top = topi.max(topi.argmax(A, axis=1))
    f, _ = _build(topi.x86.schedule_reduce, [var, top], [A])
    a = rand(*shape)
    got_var, got_top = call(f, [var, top], [a])
    np.testing.assert_allclose(got_var, a.var(axis=1) * shape[1], rtol=1e-4, atol=1e-5)
    assert got_top == a.argmax(axis=1).max()


def test_symbolic_shapes():
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B, C = topi.exp(A), topi.sum(A, axis=1)
    a = rand(5, 37)
    for schedule, out, ref in [(topi.x86.schedule_injective, B, np.exp(a)),
                               (topi.x86.schedule_reduce, C, a.sum(axis=1))]:
        f, _ = _build(schedule, out, [A])
        res = np.zeros(ref.shape, "float32")
        f(a, res)
        np.testing.assert_allclose(res, ref, rtol=1e-4, atol=1e-5)

@pytest.mark.parametrize("which", ["argmax", "argmin"])
@pytest.mark.parametrize("shape,axis", [((11, 300), 1), ((7, 5, 6), None), ((6, 20), 0)])
def test_argmax_argmin(which, shape, axis):
    A = te.placeholder(shape, name="A")
    B = getattr(topi, which)(A, axis=axis)
    f, _ = _build(topi.x86.schedule_reduce, B, [A])
    a = rng.integers(-4, 5, shape).astype("float32")  # ties: the first index wins
    np.testing.assert_array_equal(call(f, B, [a]), getattr(np, which)(a, axis=axis))


def test_argmax_with_an_elementwise_consumer():
    A = te.placeholder((40, 13), name="A")
    B = topi.add(topi.argmax(A, axis=1), 1)
    f, _ = _build(topi.x86.schedule_reduce, B, [A])
    a = rand(40, 13)
    np.testing.assert_array_equal(call(f, B, [a]), a.argmax(axis=1) + 1)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("fn,shape,axis", [
    ("softmax", (5, 150), -1),
    ("softmax", (4, 9), 0),
    ("log_softmax", (3, 4, 37), 1),
    ("log_softmax", (2, 3, 20), -1),
    ("softmax", (17,), -1),
])
def test_softmax(fn, shape, axis):
    A = te.placeholder(shape, name="A")
    B = getattr(topi.nn, fn)(A, axis)
    f, ir = _build(topi.x86.schedule_softmax, B, [A])
    assert ("parallel" in ir) == (len(shape) > 1)
    a = rand(*shape) * 4
    ref = _softmax(a, axis)
    np.testing.assert_allclose(call(f, B, [a]), ref if fn == "softmax" else np.log(ref), rtol=1e-4, atol=1e-5)


def test_softmax_of_an_elementwise_input_with_a_consumer():
    A = te.placeholder((6, 33), name="A")
    B = topi.multiply(topi.nn.softmax(topi.exp(A)), 2.0)
    f, _ = _build(topi.x86.schedule_softmax, B, [A])
    a = rand(6, 33)
    np.testing.assert_allclose(call(f, B, [a]), 2 * _softmax(np.exp(a), -1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ScheduleError, match="not a softmax"):
        topi.x86.schedule_softmax(topi.exp(A))


@pytest.mark.parametrize("pool_type,count_include_pad", [("max", True), ("avg", True), ("avg", False)])
def test_pool_with_padding(pool_type, count_include_pad):
    X = te.placeholder((2, 3, 9, 9), name="X")
    args = ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), pool_type)
    out = topi.nn.pool2d(X, *args, count_include_pad=count_include_pad)
    f, ir = _build(topi.x86.schedule_pool, out, [X])
    assert "parallel" in ir and "pad_temp" not in ir  # the padding is inlined
    x = rand(2, 3, 9, 9)
    ref = topi.testing.pool2d_python(x, *args, count_include_pad=count_include_pad)
    np.testing.assert_allclose(call(f, out, [x]), ref, rtol=1e-5, atol=1e-6)


def test_pool_nhwc_with_a_consumer():
    X = te.placeholder((2, 9, 9, 3), name="X")
    args = ((2, 2), (2, 2), (1, 1), (0, 1, 1, 0), "max")
    out = topi.nn.relu(topi.nn.pool2d(X, *args, layout="NHWC"))
    f, _ = _build(lambda o: topi.x86.schedule_pool(o, layout="NHWC"), out, [X])
    x = rand(2, 9, 9, 3)
    ref = np.maximum(topi.testing.pool2d_python(x, *args, layout="NHWC"), 0)
    np.testing.assert_allclose(call(f, out, [x]), ref, rtol=1e-6)


@pytest.mark.parametrize("pool_type", ["avg", "max"])
def test_adaptive_and_global_pool(pool_type):
    X = te.placeholder((2, 3, 10, 7), name="X")
    x = rand(2, 3, 10, 7)
    out = topi.nn.adaptive_pool(X, (3, 2), pool_type)
    f, _ = _build(topi.x86.schedule_adaptive_pool, out, [X])
    np.testing.assert_allclose(call(f, out, [x]), topi.testing.adaptive_pool(x, (3, 2), pool_type, "NCHW"),
                               rtol=1e-5, atol=1e-6)
    g = topi.nn.global_pool(X, pool_type)
    f, _ = _build(topi.x86.schedule_adaptive_pool, g, [X])
    np.testing.assert_allclose(call(f, g, [x]), topi.testing.global_pool_python(x, pool_type), rtol=1e-5,
                               atol=1e-6)


def test_template_called_without_a_record_gets_one_fallback_config_for_compute_and_schedule():
    # Outside tuning, with no record, the schedule sees the knobs its compute defined in the
    # fallback config (TVM's root context keeps one fallback per workload).
    A, W = te.placeholder((4, 16), name="A"), te.placeholder((24, 16), name="W")
    with warnings.catch_warnings(), tvm.target.Target("llvm"):
        warnings.simplefilter("ignore")  # "no tuning record": warned once per workload
        C = topi.x86.dense_pack(A, W)
        s = topi.x86.schedule_dense_pack([C])
        f = tvm.build(s, [A, W, C], "llvm")
    a, w = rand(4, 16), rand(24, 16)
    np.testing.assert_allclose(call(f, C, [a, w]), a @ w.T, rtol=1e-5, atol=1e-5)


def test_empty_results_build_under_the_injective_schedule():
    """Shapes with a 0 dimension (numpy's empty slices and tiles) fuse and split like any other."""
    import tensorlang as tl
    rng = np.random.default_rng()
    A = te.placeholder((3, 4, 3), name="A")
    T = te.placeholder((4, 0), name="T")
    for inputs, out, ref in (
            ([A], topi.strided_slice(A, [0, 2, 0], [1, 2, 3]) + 1, lambda a: a[0:1, 2:2, 0:3] + 1),
            ([T], topi.tile(T, (5,)), lambda t: np.tile(t, (5,))),
            ([A], topi.reshape(topi.strided_slice(A, [0, 0, 0], [3, 0, 3]), (0, 9)),
             lambda a: a[:, 0:0].reshape(0, 9))):
        with tl.target.Target("llvm"):
            s = topi.x86.schedule_injective(out)
        f = tl.build(s, [*inputs, out], "llvm")
        data = [rng.standard_normal([int(d) for d in t.shape]).astype("float32") for t in inputs]
        got = np.empty([int(d) for d in out.shape], "float32")
        f(*data, got)
        expected = ref(*data)
        assert got.shape == expected.shape and got.size == 0
