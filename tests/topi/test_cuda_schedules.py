"""topi.cuda's fixed schedules (injective, reduce, softmax, pool) as TVM's topi tests call them: built
inside ``with Target("cuda -emulate")`` and checked against numpy on fresh random data."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.errors import ScheduleError, TargetError
from tests.topi.runner import call, rand

EMU = "cuda -emulate"
rng = np.random.default_rng()


def _build(schedule, outs, inputs, target=EMU):
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    with tvm.target.Target(target):
        s = schedule(outs)
        f = tvm.build(s, list(inputs) + list(outs), target)
    return f


@pytest.mark.parametrize("schedule", [topi.cuda.schedule_injective, topi.cuda.schedule_broadcast,
                                      topi.cuda.schedule_elemwise])
def test_injective_on_a_4d_broadcast(schedule):
    A, B = te.placeholder((2, 1, 5, 7), name="A"), te.placeholder((3, 1, 7), name="B")
    C = topi.exp(topi.add(A, B))  # the add is inlined into the exp's kernel
    f = _build(schedule, C, [A, B])
    src = f.get_source("cuda")
    assert "blockIdx.x" in src and "threadIdx.x" in src and "1 kernel(s)" in src
    a, b = rand(2, 1, 5, 7), rand(3, 1, 7)
    np.testing.assert_allclose(call(f, C, [a, b]), np.exp(a + b), rtol=1e-5)


def test_injective_splits_by_the_targets_thread_limit_and_handles_several_outputs():
    A = te.placeholder((4, 50), name="A")
    B = topi.transpose(topi.multiply(A, 2.0))
    C = topi.reshape(topi.nn.relu(A), (200,))
    f = _build(topi.cuda.schedule_injective, [B, C], [A], target="cuda -emulate -max_num_threads=64")
    src = f.get_source("cuda")
    assert "__launch_bounds__(64)" in src and "2 kernel(s)" in src
    a = rand(4, 50)
    b, c = call(f, [B, C], [a])
    np.testing.assert_allclose(b, (a * 2).T, rtol=1e-6)
    np.testing.assert_allclose(c, np.maximum(a, 0).reshape(200))


def test_schedule_needs_a_target():
    A = te.placeholder((8,), name="A")
    with pytest.raises(TargetError, match="no target"):
        topi.cuda.schedule_injective(topi.exp(A))


@pytest.mark.parametrize("shape,op,axis,keepdims,all_reduce", [
    ((37, 999), "sum", 1, False, True),        # few outputs, a non-power-of-two reduction: threads combine
    ((5, 3, 33), "max", (0, 2), True, True),  # two reduction axes, fused
    ((13, 77), "sum", None, False, True),     # to one value
    ((3000, 10), "sum", 1, False, False),     # many short rows: one thread per output
    ((6, 40), "min", 0, False, False),
    ((9, 70), "prod", 1, True, True),
])
def test_reduce(shape, op, axis, keepdims, all_reduce):
    A = te.placeholder(shape, name="A")
    B = getattr(topi, op)(A, axis=axis, keepdims=keepdims)
    f = _build(topi.testing.get_reduce_schedule(EMU), B, [A])
    src = f.get_source("cuda")
    assert ("__syncthreads" in src or "__shfl_down_sync" in src) == all_reduce
    a = rng.uniform(0.9, 1.1, shape).astype("float32") if op == "prod" else rand(*shape)
    ref = getattr(np, op)(a, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(call(f, B, [a]), ref, rtol=1e-4, atol=1e-4)


def test_reduce_of_an_elementwise_input_with_an_elementwise_consumer_is_one_kernel():
    for n in (99, 5):  # threads combining, one thread per output
        A = te.placeholder((13, n), name="A")
        B = topi.sqrt(topi.sum(topi.abs(A), axis=1))
        f = _build(topi.cuda.schedule_reduce, B, [A])
        assert "1 kernel(s)" in f.get_source("cuda")
        a = rand(13, n)
        np.testing.assert_allclose(call(f, B, [a]), np.sqrt(np.abs(a).sum(axis=1)), rtol=1e-5)


def test_reduce_with_a_broadcasting_consumer():
    A = te.placeholder((6, 45), name="A")
    B = topi.subtract(A, topi.max(A, axis=1, keepdims=True))
    f = _build(topi.cuda.schedule_reduce, B, [A])
    a = rand(6, 45)
    np.testing.assert_allclose(call(f, B, [a]), a - a.max(axis=1, keepdims=True), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 45), (3000, 8)])
def test_reductions_of_reductions(shape):
    A = te.placeholder(shape, name="A")
    centred = topi.subtract(A, topi.divide(topi.sum(A, axis=1, keepdims=True), float(shape[1])))
    var = topi.sum(topi.multiply(centred, centred), axis=1)  # reads a sum: that one is computed first
    top = topi.max(topi.argmax(A, axis=1))
    f = _build(topi.cuda.schedule_reduce, [var, top], [A])
    a = rand(*shape)
    got_var, got_top = call(f, [var, top], [a])
    np.testing.assert_allclose(got_var, a.var(axis=1) * shape[1], rtol=1e-4, atol=1e-5)
    assert got_top == a.argmax(axis=1).max()


def test_symbolic_shapes():
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B, C, D = topi.exp(A), topi.sum(A, axis=1), topi.nn.softmax(A)
    a = rand(5, 37)
    for schedule, out, ref in [(topi.cuda.schedule_injective, B, np.exp(a)),
                               (topi.cuda.schedule_reduce, C, a.sum(axis=1)),
                               (topi.cuda.schedule_softmax, D, topi.testing.softmax_python(a))]:
        f = _build(schedule, out, [A])
        res = np.zeros(ref.shape, "float32")
        f(a, res)
        np.testing.assert_allclose(res, ref, rtol=1e-4, atol=1e-5)

@pytest.mark.parametrize("which", ["argmax", "argmin"])
@pytest.mark.parametrize("shape,axis", [((11, 300), 1), ((2000, 9), 1), ((7, 5, 6), None)])
def test_argmax_argmin(which, shape, axis):
    A = te.placeholder(shape, name="A")
    B = getattr(topi, which)(A, axis=axis)
    f = _build(topi.cuda.schedule_reduce, B, [A])
    a = rng.integers(-4, 5, shape).astype("float32")  # ties: the first index wins
    np.testing.assert_array_equal(call(f, B, [a]), getattr(np, which)(a, axis=axis))


def test_argmax_with_an_elementwise_consumer():
    A = te.placeholder((9, 130), name="A")
    B = topi.add(topi.argmax(A, axis=1), 1)
    f = _build(topi.cuda.schedule_reduce, B, [A])
    a = rand(9, 130)
    np.testing.assert_array_equal(call(f, B, [a]), a.argmax(axis=1) + 1)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("fn,shape,axis,target", [
    ("softmax", (5, 150), -1, "cuda -emulate -max_num_threads=64"),  # a row longer than the block
    ("softmax", (3, 1100), -1, EMU),                                  # longer than 1024 threads
    ("softmax", (4, 9), 0, EMU),
    ("log_softmax", (3, 4, 37), 1, EMU),
    ("log_softmax", (17,), -1, EMU),
])
def test_softmax(fn, shape, axis, target):
    A = te.placeholder(shape, name="A")
    B = getattr(topi.nn, fn)(A, axis)
    f = _build(topi.cuda.schedule_softmax, B, [A], target)
    src = f.get_source("cuda")
    assert "1 kernel(s)" in src and "__shared__" in src
    a = rand(*shape) * 4
    ref = _softmax(a, axis)
    np.testing.assert_allclose(call(f, B, [a]), ref if fn == "softmax" else np.log(ref), rtol=1e-4, atol=1e-5)


def test_softmax_of_an_elementwise_input_with_a_consumer():
    A = te.placeholder((6, 33), name="A")
    B = topi.multiply(topi.nn.softmax(topi.exp(A)), 2.0)
    f = _build(topi.cuda.schedule_softmax, B, [A])
    a = rand(6, 33)
    np.testing.assert_allclose(call(f, B, [a]), 2 * _softmax(np.exp(a), -1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ScheduleError, match="not a softmax"):
        with tvm.target.Target(EMU):
            topi.cuda.schedule_softmax(topi.exp(A))


@pytest.mark.parametrize("pool_type,count_include_pad", [("max", True), ("avg", True), ("avg", False)])
def test_pool_with_padding(pool_type, count_include_pad):
    X = te.placeholder((2, 3, 9, 9), name="X")
    args = ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), pool_type)
    out = topi.nn.pool2d(X, *args, count_include_pad=count_include_pad)
    f = _build(topi.cuda.schedule_pool, out, [X])
    assert "1 kernel(s)" in f.get_source("cuda")  # the padding is inlined
    x = rand(2, 3, 9, 9)
    ref = topi.testing.pool2d_python(x, *args, count_include_pad=count_include_pad)
    np.testing.assert_allclose(call(f, out, [x]), ref, rtol=1e-5, atol=1e-6)


def test_pool_nhwc_with_a_consumer():
    X = te.placeholder((2, 9, 9, 3), name="X")
    args = ((2, 2), (2, 2), (1, 1), (0, 1, 1, 0), "max")
    out = topi.nn.relu(topi.nn.pool2d(X, *args, layout="NHWC"))
    f = _build(lambda o: topi.cuda.schedule_pool(o, layout="NHWC"), out, [X])
    x = rand(2, 9, 9, 3)
    ref = np.maximum(topi.testing.pool2d_python(x, *args, layout="NHWC"), 0)
    np.testing.assert_allclose(call(f, out, [x]), ref, rtol=1e-6)


@pytest.mark.parametrize("pool_type", ["avg", "max"])
def test_adaptive_and_global_pool(pool_type):
    X = te.placeholder((2, 3, 10, 7), name="X")
    x = rand(2, 3, 10, 7)
    out = topi.nn.adaptive_pool(X, (3, 2), pool_type)
    f = _build(topi.cuda.schedule_adaptive_pool, out, [X])
    np.testing.assert_allclose(call(f, out, [x]), topi.testing.adaptive_pool(x, (3, 2), pool_type, "NCHW"),
                               rtol=1e-5, atol=1e-6)
    g = topi.nn.global_pool(X, pool_type)
    f = _build(topi.cuda.schedule_adaptive_pool, g, [X])
    np.testing.assert_allclose(call(f, g, [x]), topi.testing.global_pool_python(x, pool_type), rtol=1e-5,
                               atol=1e-6)
