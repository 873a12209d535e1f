"""tvm.topi as TVM users call it: each op built with a plain schedule and checked against numpy."""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi

rng = np.random.default_rng()


def _run(outs, inputs, arrays, out_shapes=None, out_dtypes=None):
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    s = te.create_schedule([o.op for o in outs])
    f = tvm.build(s, list(inputs) + list(outs), "llvm")
    res = [np.zeros([int(d) for d in o.shape], dtype=str(o.dtype)) for o in outs]
    f(*arrays, *res)
    return res if len(res) > 1 else res[0]


def _rand(*shape, dtype="float32"):
    return rng.uniform(-1, 1, size=shape).astype(dtype)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 0, 1), (1, (1, 2), 2), ((2, 1), "SAME", 1)])
def test_conv2d_nchw(stride, padding, dilation):
    A = te.placeholder((2, 3, 9, 10), name="A")
    W = te.placeholder((4, 3, 3, 3), name="W")
    C = topi.nn.conv2d_nchw(A, W, stride, padding, dilation)
    a, w = _rand(2, 3, 9, 10), _rand(4, 3, 3, 3)
    s = te.create_schedule(C.op)
    topi.utils.traverse_inline(s, C.op)
    f = tvm.build(s, [A, W, C])
    c = np.zeros(topi.utils.get_const_tuple(C.shape), "float32")
    f(a, w, c)
    ref = topi.testing.conv2d_nchw_python(a, w, stride, padding, dilation=dilation)
    np.testing.assert_allclose(c, ref, rtol=1e-4, atol=1e-5)


def test_conv2d_nhwc_and_depthwise():
    A = te.placeholder((1, 8, 8, 3), name="A")
    W = te.placeholder((3, 3, 3, 5), name="W")
    C = topi.nn.conv2d_nhwc(A, W, 1, 1)
    a, w = _rand(1, 8, 8, 3), _rand(3, 3, 3, 5)
    np.testing.assert_allclose(_run(C, [A, W], [a, w]), topi.testing.conv2d_nhwc_python(a, w, 1, 1), rtol=1e-4,
                               atol=1e-5)
    D = te.placeholder((1, 4, 7, 7), name="D")
    F = te.placeholder((4, 2, 3, 3), name="F")
    out = topi.nn.depthwise_conv2d_nchw(D, F, 2, 1)
    d, fl = _rand(1, 4, 7, 7), _rand(4, 2, 3, 3)
    np.testing.assert_allclose(_run(out, [D, F], [d, fl]), topi.testing.depthwise_conv2d_python_nchw(d, fl, 2, 1),
                               rtol=1e-4, atol=1e-5)


def test_dense_batch_matmul():
    X, Wt, b = te.placeholder((5, 7), name="X"), te.placeholder((6, 7), name="Wt"), te.placeholder((6,), name="b")
    out = topi.nn.dense(X, Wt, b)
    x, w, bias = _rand(5, 7), _rand(6, 7), _rand(6)
    np.testing.assert_allclose(_run(out, [X, Wt, b], [x, w, bias]), x @ w.T + bias, rtol=1e-5, atol=1e-6)
    P, Q = te.placeholder((3, 4, 5), name="P"), te.placeholder((1, 6, 5), name="Q")
    bm = topi.nn.batch_matmul(P, Q)
    p, q = _rand(3, 4, 5), _rand(1, 6, 5)
    np.testing.assert_allclose(_run(bm, [P, Q], [p, q]), topi.testing.batch_matmul(p, q), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_log_softmax(axis):
    X = te.placeholder((4, 9), name="X")
    x = _rand(4, 9) * 5
    np.testing.assert_allclose(_run(topi.nn.softmax(X, axis), [X], [x]), topi.testing.softmax_python(x, axis),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_run(topi.nn.log_softmax(X, axis), [X], [x]),
                               topi.testing.log_softmax_python(x, axis), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pool_type,count_include_pad", [("max", True), ("avg", True), ("avg", False)])
def test_pool2d_and_global_pool(pool_type, count_include_pad):
    X = te.placeholder((2, 3, 9, 9), name="X")
    x = _rand(2, 3, 9, 9)
    out = topi.nn.pool2d(X, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), pool_type, count_include_pad=count_include_pad)
    ref = topi.testing.pool2d_python(x, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), pool_type,
                                     count_include_pad=count_include_pad)
    np.testing.assert_allclose(_run(out, [X], [x]), ref, rtol=1e-5, atol=1e-6)
    g = topi.nn.global_pool(X, pool_type)
    np.testing.assert_allclose(_run(g, [X], [x]), topi.testing.global_pool_python(x, pool_type), rtol=1e-5,
                               atol=1e-6)


def test_elementwise_broadcast_and_relu():
    A, B = te.placeholder((4, 1, 5), name="A"), te.placeholder((3, 1), name="B")
    a, b = _rand(4, 1, 5), _rand(3, 1)
    np.testing.assert_allclose(_run(topi.add(A, B), [A, B], [a, b]), a + b, rtol=1e-6)
    np.testing.assert_allclose(_run(topi.multiply(A, B), [A, B], [a, b]), a * b, rtol=1e-6)
    np.testing.assert_allclose(_run(topi.subtract(A, 2.0), [A], [a]), a - 2.0, rtol=1e-6)
    np.testing.assert_allclose(_run(topi.maximum(A, B), [A, B], [a, b]), np.maximum(a, b))
    np.testing.assert_allclose(_run(topi.exp(A), [A], [a]), np.exp(a), rtol=1e-5)
    np.testing.assert_allclose(_run(topi.tanh(A), [A], [a]), np.tanh(a), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_run(topi.sigmoid(A), [A], [a]), 1 / (1 + np.exp(-a)), rtol=1e-5)
    np.testing.assert_allclose(_run(topi.nn.relu(A), [A], [a]), np.maximum(a, 0))
    casted = _run(topi.cast(topi.multiply(A, 10.0), "int32"), [A], [a])
    assert casted.dtype == np.int32
    np.testing.assert_array_equal(casted, (a * np.float32(10)).astype("int32"))
    with pytest.raises(tvm.error.TVMError, match="broadcast"):
        topi.add(A, te.placeholder((2, 4)))


def test_transform_ops():
    A = te.placeholder((2, 3, 4), name="A")
    B = te.placeholder((2, 5, 4), name="B")
    a, b = _rand(2, 3, 4), _rand(2, 5, 4)
    np.testing.assert_array_equal(_run(topi.reshape(A, (6, -1)), [A], [a]), a.reshape(6, -1))
    np.testing.assert_array_equal(_run(topi.transpose(A, (2, 0, 1)), [A], [a]), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(_run(topi.transpose(A), [A], [a]), a.T)
    np.testing.assert_array_equal(_run(topi.concatenate([A, B], axis=1), [A, B], [a, b]),
                                  np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(_run(topi.expand_dims(A, 1), [A], [a]), a[:, None])
    np.testing.assert_array_equal(_run(topi.nn.pad(A, (0, 1, 2), (1, 0, 1), 7.0), [A], [a]),
                                  np.pad(a, ((0, 1), (1, 0), (2, 1)), constant_values=7.0))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_reductions(axis, keepdims):
    A = te.placeholder((3, 4, 5), name="A")
    a = _rand(3, 4, 5)
    np.testing.assert_allclose(_run(topi.sum(A, axis, keepdims), [A], [a]), a.sum(axis=axis, keepdims=keepdims),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_run(topi.max(A, axis, keepdims), [A], [a]), a.max(axis=axis, keepdims=keepdims))


def test_argmax_argmin():
    A = te.placeholder((4, 6), name="A")
    a = _rand(4, 6)
    a[1, 2] = a[1, 4] = 5.0  # a tie: the first index wins, as in numpy
    np.testing.assert_array_equal(_run(topi.argmax(A, axis=1), [A], [a]), a.argmax(axis=1))
    np.testing.assert_array_equal(_run(topi.argmin(A, axis=0), [A], [a]), a.argmin(axis=0))


def test_utils():
    n = te.var("n")
    A = te.placeholder((n, 4 * 2), name="A")
    shape = topi.utils.get_const_tuple(A.shape)
    assert shape[1] == 8 and not isinstance(shape[0], int)
    assert topi.utils.get_const_int(tvm.tir.const(3) + 4) == 7
    assert topi.utils.get_const_tuple(te.placeholder((3, 4)).shape) == (3, 4)
    assert str(topi.utils.simplify(n * 1 + 0)) == "n"
    X = te.placeholder((8, 8), name="X")
    out = topi.nn.relu(topi.add(topi.exp(X), 1.0))
    s = te.create_schedule(out.op)
    seen = []
    topi.utils.traverse_inline(s, out.op, lambda op: seen.append(op.name))
    assert seen[0] == "T_exp" and "T_relu" in seen  # callback on every op reached
    assert s[out.op.input_tensors[0]].attach_type == "inline" if hasattr(s[X], "attach_type") else True
    f = tvm.build(s, [X, out])
    x, o = _rand(8, 8), np.zeros((8, 8), "float32")
    f(x, o)
    np.testing.assert_allclose(o, np.maximum(np.exp(x) + 1, 0), rtol=1e-5)
