"""te.gradient against numerical differences and numpy, on fresh random data (TVM's test_te_autodiff
cases, ported by changing the imports, plus checks that the adjoints are not Jacobian-sized)."""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.errors import ExprError
from tensorlang.testing import check_numerical_grads
from tensorlang.topi.utils import get_const_tuple


def _spread(rng, lo, hi, shape, dtype):
    """Uniform values in [lo, hi), each in its own random slot of width (hi - lo) / size, no two closer
    than half a slot: two inputs never tie within the finite differences' step, where a max (pooling,
    te.max) of them would split the difference."""
    n = int(np.prod(shape, dtype=np.int64))
    slots = rng.permutation(n) + rng.uniform(0.25, 0.75, n)
    return (lo + (hi - lo) * slots / max(n, 1)).reshape(shape).astype(dtype)


def check_grad(out, inputs, args=(), data_range=(-10, 10), desired_grads=None, head=None, kink=None):
    """TVM's helper: the gradient of out.sum() (or of head . out) against finite differences.  ``kink``
    (of the input arrays) gives the values whose kink at 0 (a relu's input) a difference step must not
    straddle: the data are redrawn until none of them lies within 0.1 of it."""
    inputs = inputs if isinstance(inputs, list) else [inputs]
    args = list(args)
    rng = np.random.default_rng()
    sout = te.create_schedule(out.op)
    mout = tvm.build(sout, [out] + inputs + args)
    lo, hi = data_range
    while True:
        input_data = [_spread(rng, lo, hi, get_const_tuple(t.shape), t.dtype) for t in inputs]
        arg_vals = [_spread(rng, lo, hi, get_const_tuple(a.shape), a.dtype) for a in args]
        if kink is None or np.abs(kink(*input_data, *arg_vals)).min() > 0.1:
            break
    ones = topi.full_like(out, 1.0) if head is None else head
    grads = te.gradient(out, inputs, head=ones)
    sgrad = te.create_schedule([g.op for g in grads])
    extra = [] if head is None else [head]
    mgrad = tvm.build(sgrad, list(grads) + inputs + args + extra)
    assert "jacobian" not in str(tvm.lower(sgrad, list(grads) + inputs + args + extra, simple_mode=True))
    head_val = [] if head is None else [rng.uniform(-1, 1, size=get_const_tuple(head.shape)).astype(head.dtype)]
    grad_data = [np.empty(get_const_tuple(i.shape), g.dtype) for i, g in zip(inputs, grads)]
    mgrad(*grad_data, *input_data, *arg_vals, *head_val)
    if desired_grads is not None:
        for actual, desired in zip(grad_data, desired_grads):
            np.testing.assert_allclose(actual, desired, rtol=0.1, atol=1e-2)
        return grad_data

    def forward(*in_data):
        o = np.empty(get_const_tuple(out.shape), out.dtype)
        mout(o, *in_data)
        return (o.astype(np.float64) * (head_val[0] if head_val else 1.0)).sum()

    check_numerical_grads(forward, input_data + arg_vals, grad_data)
    return grad_data


SHAPE = (10, 10)


def _a0_a1():
    return te.placeholder(SHAPE, name="A0"), te.placeholder(SHAPE, name="A1")


def test_elementwise_and_transposed_reads():
    A0, A1 = _a0_a1()
    check_grad(te.compute(SHAPE, lambda i, j: A0[i, j], name="B"), [A0])
    check_grad(te.compute(SHAPE, lambda i, j: A0[i, j] + A1[i, j], name="B"), [A0, A1])
    check_grad(te.compute(SHAPE, lambda i, j: A0[i, j] + A0[j, i], name="B"), A0)
    check_grad(te.compute(SHAPE, lambda i, j: A0[i, j] * A0[j, i], name="B"), A0)
    check_grad(te.compute(SHAPE, lambda i, j: A0[i, j] * (A1[j, i] + A0[j, i]), name="B"), [A0, A1])


@pytest.mark.parametrize("fn", [te.floor, te.ceil, te.trunc, te.round])
def test_piecewise_constant_functions_have_zero_gradient(fn):
    A0, _ = _a0_a1()
    check_grad(te.compute(SHAPE, lambda i, j: fn(A0[i, j]), name="B"), A0, desired_grads=[np.zeros(SHAPE)])


def test_math_functions():
    A0, _ = _a0_a1()
    check_grad(te.compute(SHAPE, lambda i, j: A0[i, j] + te.exp(A0[j, i]), name="B"), A0, data_range=(-3, 3))
    # log of a smooth positive function: |u| + 0.1 had a kink (and a curvature of 100) that a central
    # difference straddled in one full run of 2387 tests
    check_grad(te.compute(SHAPE, lambda i, j: te.log(1.0 + te.power(A0[i, j] + te.exp(A0[j, i]), 2.0)),
                          name="B"), A0, data_range=(-3, 3))
    check_grad(te.compute(SHAPE, lambda i, j: te.sigmoid(A0[i, j] * A0[i, j] * A0[j, i]), name="B"), A0,
               data_range=(-1, 1))
    check_grad(te.compute(SHAPE, lambda i, j: te.tanh(A0[i, j] * A0[i, j] * A0[j, i]), name="B"), A0,
               data_range=(-1, 1))
    check_grad(te.compute(SHAPE, lambda i, j: te.sqrt(A0[i, j] * A0[i, j] * A0[j, i]), name="B"), A0,
               data_range=(0.1, 10))
    # x * x + 0.5 keeps x ** y away from the poles, where float32 differences say nothing, and is smooth
    # (|x| + 0.5 has a kink at 0 that a central difference straddles when x is within the step of it)
    check_grad(te.compute(SHAPE, lambda i, j: te.power(A0[i, j] * A0[i, j] + 0.5, A0[j, i]), name="B"), A0,
               data_range=(-2, 2))
    check_grad(te.compute(SHAPE, lambda i, j: te.sin(A0[i, j]) * te.cos(A0[j, i]) + te.erf(A0[i, j] / 4), name="B"),
               A0, data_range=(-3, 3))
    check_grad(te.compute(SHAPE, lambda i, j: te.max(A0[i, j], A0[j, i]) - te.min(A0[i, j], 2.0 * A0[j, i]),
                          name="B"), A0)


def test_reductions():
    A0, _ = _a0_a1()
    k = te.reduce_axis((0, 10), name="k")
    check_grad(te.compute((10,), lambda i: te.sum(A0[i, k] * A0[k, i], axis=k), name="B"), A0)
    check_grad(te.compute(SHAPE, lambda i, j: te.sum(A0[i, k] * A0[k, i] + 5, axis=k), name="B"), A0)
    check_grad(te.compute(SHAPE, lambda i, j: te.max(A0[i, k] * A0[k, j] + 5, axis=k), name="B"), A0)
    check_grad(te.compute(SHAPE, lambda i, j: te.sum(A0[k, k] - A0[te.min(j + k, 9), j] * A0[i, k], axis=k),
                          name="B"), A0)
    prod = te.comm_reducer(lambda x, y: x * y, lambda t: tvm.tir.const(1, t), name="prod")
    check_grad(te.compute(SHAPE, lambda i, j: prod(A0[i, k] + A0[k, i], axis=k), name="B"), A0, data_range=(-2, 2))
    # a product with a zero factor: the derivative by that factor is the product of the others
    X = te.placeholder((3, 4), name="X")
    r = te.reduce_axis((0, 4), name="r")
    P = te.compute((3,), lambda i: prod(X[i, r], axis=r), name="P")
    x = np.random.default_rng().uniform(1, 2, size=(3, 4)).astype("float32")
    x[1, 2] = 0.0
    g = te.gradient(P, [X], head=topi.full_like(P, 1.0))[0]
    f = tvm.build(te.create_schedule(g.op), [g, X])
    out = np.empty_like(x)
    f(out, x)
    want = np.stack([[np.prod(np.delete(x[i], j)) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(out, want, rtol=1e-5)


def test_sum_with_where_and_tensordot():
    A0, _ = _a0_a1()
    k = te.reduce_axis((0, 10), name="k")
    check_grad(te.compute((10,), lambda i: te.sum(A0[i, k], axis=k, where=k > i), name="B"), A0)
    X = te.placeholder((10,), name="X")
    A = te.compute((10,), lambda i: X[i] + X[9 - i])
    B = te.compute((10,), lambda i: X[i] * X[9 - i])
    Y = topi.tensordot(A, B, 1)
    check_grad(Y, X)


def test_matmul_adjoint_with_a_random_head_matches_numpy():
    n, l, m = 7, 9, 5
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    k = te.reduce_axis((0, l), name="k")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    H = te.placeholder((n, m), name="H")
    dA, dB = te.gradient(C, [A, B], head=H)
    s = te.create_schedule([dA.op, dB.op])
    f = tvm.build(s, [A, B, H, dA, dB])
    rng = np.random.default_rng()
    a, b, h = (rng.standard_normal(sh).astype("float32") for sh in ((n, l), (l, m), (n, m)))
    da, db = np.empty((n, l), "float32"), np.empty((l, m), "float32")
    f(a, b, h, da, db)
    np.testing.assert_allclose(da, h @ b.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db, a.T @ h, rtol=1e-5, atol=1e-5)
    # the adjoint is a matmul: one reduce axis of extent m, not a loop over all of C per element
    assert [int(iv.dom.extent) for iv in dA.op.reduce_axis] == [m]
    assert [int(iv.dom.extent) for iv in dB.op.reduce_axis] == [n]


def test_default_head_gives_the_jacobian():
    X = te.placeholder((3, 4), name="X")
    Y = te.compute((4, 3), lambda i, j: X[j, i] * X[j, i], name="Y")
    (J,) = te.gradient(Y, [X])
    assert get_const_tuple(J.shape) == (4, 3, 3, 4)
    f = tvm.build(te.create_schedule(J.op), [X, J])
    x = np.random.default_rng().standard_normal((3, 4)).astype("float32")
    j = np.empty((4, 3, 3, 4), "float32")
    f(x, j)
    want = np.zeros((4, 3, 3, 4), "float32")
    for a in range(4):
        for b in range(3):
            want[a, b, b, a] = 2 * x[b, a]
    np.testing.assert_allclose(j, want, rtol=1e-6)


def test_topi_conv_relu_pool_reshape():
    X = te.placeholder((1, 2, 4, 4), name="X")
    W = te.placeholder((5, 2, 3, 3), name="W")
    W1 = te.placeholder((2, 5, 3, 3), name="W1")
    W2 = te.placeholder((1,), name="W2")
    R = topi.nn.conv2d(X, W, 1, 1, 1)
    check_grad(R, [X, W])
    R1 = topi.nn.conv2d(topi.nn.relu(R), W1, 1, 0, 1)
    check_grad(R1, [X, W, W1], kink=lambda x, w, w1: topi.testing.conv2d_nchw_python(x, w, 1, 1))
    check_grad(topi.broadcast_to(W2, (5, 2, 3, 3)), [W2])
    check_grad(topi.nn.conv2d(X, topi.broadcast_to(W2, (5, 2, 3, 3)), 1, 1, 1), [X, W2])
    check_grad(topi.nn.pool2d(X, [2, 2], [2, 2], [1, 1], [0, 0, 0, 0], "avg"), X)
    check_grad(topi.nn.pool2d(X, [2, 2], [2, 2], [1, 1], [0, 0, 0, 0], "max"), X)
    X = te.placeholder((1, 2, 5, 5), name="X")
    check_grad(topi.reshape(X, (1, 50)), [X])


def test_topi_softmax_concat_split_take_dense():
    X = te.placeholder((1, 2, 5, 5), name="X")
    W = te.placeholder((2, 2, 3, 3), name="W")
    R = X + topi.nn.conv2d(X + topi.nn.conv2d(X, W, 1, 1, 1), W, 1, 1, 1)
    check_grad(R, [X, W], data_range=(-1, 1))
    # The heads below chain through one convolution (W still shared with a residual X): the nested
    # pair above has its own check, and its gradient under each head cost LLVM ~10 s a build.
    R = X + topi.nn.conv2d(X, W, 1, 1, 1)
    S = topi.nn.softmax(topi.reshape(R, (1, 50)))
    check_grad(S, [X, W], data_range=(-1, 1))
    check_grad(topi.sigmoid(topi.reshape(R, (1, 50))), [X, W], data_range=(-1, 1))
    S = topi.nn.log_softmax(topi.reshape(R, (1, 50)))
    check_grad(S, [X, W], data_range=(-1, 1))
    check_grad(S, [W], [X], data_range=(-1, 1))
    X = te.placeholder((1, 2, 3, 5), name="X")
    Y = te.placeholder((1, 2, 7, 5), name="Y")
    check_grad(topi.concatenate((X, Y), 2), [X, Y])
    X = te.placeholder((1, 2, 6, 5), name="X")
    (S, R) = topi.split(X, 2, 2)
    check_grad(S, [X])
    check_grad(R, [X])
    check_grad(topi.concatenate((R, S), 2), [X])
    X = te.placeholder((4, 5), name="X")
    idx = te.placeholder((30,), name="I", dtype="int32")
    R = topi.take(X, topi.abs(idx))
    rng = np.random.default_rng()
    # take's indices must be in range: check against numpy with our own index data
    grads = te.gradient(R, [X], head=topi.full_like(R, 1.0))
    f = tvm.build(te.create_schedule(grads[0].op), [grads[0], X, idx])
    ind = rng.integers(-19, 20, size=30).astype("int32")
    g = np.empty((4, 5), "float32")
    f(g, rng.standard_normal((4, 5)).astype("float32"), ind)
    want = np.zeros(20, "float32")
    np.add.at(want, np.abs(ind), 1.0)
    np.testing.assert_allclose(g, want.reshape(4, 5))
    W = te.placeholder((5, 5), name="W")
    exps = topi.exp(topi.nn.dense(X, W))
    sumexps = topi.sum(exps, axis=-1, keepdims=True)
    check_grad(exps / sumexps, [X, W], data_range=(-1, 1))


@pytest.mark.parametrize("stride,dilation,kernel", [(1, 1, 1), (2, 1, 1), (3, 2, 1), (2, 1, 2), (1, 3, 2),
                                                    (2, 2, 3), (3, 1, 3), (1, 2, 3)])
def test_conv_stride_dilation(stride, dilation, kernel):
    X = te.placeholder((1, 2, 10, 10), name="X")
    W = te.placeholder((2, 2, kernel, kernel), name="W")
    check_grad(topi.nn.conv2d(X, W, stride, 0, dilation), [X, W])


@pytest.mark.parametrize("kernel,stride", [(1, 2), (2, 1), (2, 3), (3, 2)])
def test_max_pool_stride(kernel, stride):
    X = te.placeholder((1, 2, 10, 10), name="X")
    check_grad(topi.nn.pool2d(X, [kernel, kernel], [stride, stride], [1, 1], [0, 0, 0, 0], "max"), [X])


def test_conv_adjoint_is_a_transposed_convolution():
    # d X of a 3x3 stride-1 convolution sums over (filters, 3, 3), not over the output's pixels
    X = te.placeholder((1, 4, 16, 16), name="X")
    W = te.placeholder((8, 4, 3, 3), name="W")
    R = topi.nn.conv2d(X, W, 1, 1, 1)
    dX, dW = te.gradient(R, [X, W], head=topi.full_like(R, 1.0))
    ext = sorted(int(iv.dom.extent) for t in dX.op.input_tensors for iv in getattr(t.op, "reduce_axis", ()))
    ext += sorted(int(iv.dom.extent) for iv in dX.op.reduce_axis)
    assert max(ext) <= 8 and np.prod(ext) <= 8 * 3 * 3, ext


def test_gradient_is_deterministic():
    X = te.placeholder((2, 8, 6, 6), name="X")
    W = te.placeholder((4, 8, 1, 1), name="W")
    R = topi.nn.conv2d(X, W, 2, 0, 1)
    ones = topi.full_like(R, 1.0)
    first = str(tvm.auto_scheduler.ComputeDAG(te.gradient(R, [X], head=ones)))
    for _ in range(3):
        assert str(tvm.auto_scheduler.ComputeDAG(te.gradient(R, [X], head=ones))) == first


def test_bad_arguments_are_named():
    A0, _ = _a0_a1()
    B = te.compute(SHAPE, lambda i, j: A0[i, j] * 2.0, name="B")
    with pytest.raises(ExprError, match="head 'H' has shape"):
        te.gradient(B, [A0], head=te.placeholder((3, 3), name="H"))
    with pytest.raises(ExprError, match="inputs\\[0\\] must be a Tensor"):
        te.gradient(B, ["A0"])
    I = te.placeholder((10,), name="I", dtype="int32")
    with pytest.raises(ExprError, match="output 'C' is int32"):
        te.gradient(te.compute((10,), lambda i: I[i] * 2, name="C"), [I])
    arg = te.comm_reducer(lambda x, y: te.if_then_else(x > y, x, y), lambda t: tvm.tir.const(0, t), name="mymax")
    k = te.reduce_axis((0, 10), name="k")
    C = te.compute((10,), lambda i: arg(A0[i, k], axis=k), name="C")
    with pytest.raises(ExprError, match="reducer 'mymax'"):
        te.gradient(C, [A0], head=topi.full_like(C, 1.0))


def test_unused_input_gets_zeros():
    A0, A1 = _a0_a1()
    B = te.compute(SHAPE, lambda i, j: A0[i, j] * 3.0, name="B")
    _, g1 = te.gradient(B, [A0, A1], head=topi.full_like(B, 1.0))
    f = tvm.build(te.create_schedule(g1.op), [g1])
    out = np.full(SHAPE, 7.0, "float32")
    f(out)
    assert not out.any()


def test_reshape_adjoint_is_computed_not_searched():
    # topi.reshape and a reshape written by hand with // and %: the adjoint reads one element each
    X = te.placeholder((3, 4, 6), name="X")
    for R in (topi.reshape(X, (8, 9)),
              te.compute((12, 6), lambda i, j: X[i // 4, i % 4, j], name="R2"),
              topi.nn.batch_flatten(X)):
        H = te.placeholder(R.shape, name="H")
        (dX,) = te.gradient(R, [X], head=H)
        assert not dX.op.reduce_axis
        f = tvm.build(te.create_schedule(dX.op), [H, dX])
        h = np.random.default_rng().standard_normal(get_const_tuple(H.shape)).astype("float32")
        out = np.empty((3, 4, 6), "float32")
        f(h, out)
        np.testing.assert_array_equal(out, h.reshape(3, 4, 6))


def test_an_index_map_that_cannot_be_inverted_warns_when_large():
    X = te.placeholder((4096, 4096), name="X")
    Y = te.compute((4096, 4096), lambda i, j: X[(i * j) % 4096, j], name="Y")
    with pytest.warns(UserWarning, match="searches 4096 points for each of its elements"):
        te.gradient(Y, [X], head=topi.full_like(Y, 1.0))
    small = te.placeholder((8, 8), name="S")
    Z = te.compute((8, 8), lambda i, j: small[(i * j) % 8, j] * 2.0, name="Z")
    check_grad(Z, [small])


def _grad_of(out, x, head_shape=None):
    H = te.placeholder(out.shape if head_shape is None else head_shape, out.dtype, "H")
    (g,) = te.gradient(out, [x], head=H)
    return tvm.build(te.create_schedule(g.op), [x, H, g]), g


@pytest.mark.parametrize("kind", ["max", "min"])
def test_max_min_reduction_sends_the_adjoint_to_the_first_tied_element(kind):
    # Every element equal to the result got the whole adjoint: a 2x2 max pool of a constant
    # window passed on 4 times its gradient. TVM's derivative of the reducer (and PyTorch's
    # pooling) gives it to the first one, in the reduce axes' order.
    rng = np.random.default_rng()
    X = te.placeholder((6, 4, 5), "float64", "X")
    j, k = te.reduce_axis((0, 4), "j"), te.reduce_axis((0, 5), "k")
    R = te.compute((6,), lambda i: getattr(te, kind)(X[i, j, k], axis=[j, k]), name="R")
    f, _ = _grad_of(R, X)
    x = rng.integers(0, 3, (6, 4, 5)).astype("float64")  # many ties
    h = rng.random(6)
    d = np.full(x.shape, np.nan)
    f(x, h, d)
    flat = x.reshape(6, -1)
    first = (flat.argmax if kind == "max" else flat.argmin)(axis=1)  # numpy: the first extreme
    want = np.zeros_like(flat)
    want[np.arange(6), first] = h
    np.testing.assert_array_equal(d.reshape(6, -1), want)


def test_max_pool_gradient_of_a_constant_window_is_not_multiplied():
    X = te.placeholder((1, 1, 4, 4), "float64", "X")
    P = topi.nn.pool2d(X, (2, 2), (2, 2), (1, 1), (0, 0, 0, 0), "max")
    f, _ = _grad_of(P, X)
    h = np.random.default_rng().random((1, 1, 2, 2))
    d = np.zeros((1, 1, 4, 4))
    f(np.zeros((1, 1, 4, 4)), h, d)
    np.testing.assert_allclose(d.sum(), h.sum())
    np.testing.assert_array_equal(d[0, 0, ::2, ::2], h[0, 0])


def test_extern_and_scan_stages_are_refused_not_differentiated_as_zero():
    # Extern and scan stages are ComputeOp subclasses with a placeholder body: their gradient
    # came out as zeros (cumsum) or wrong (a scan's), with no error.
    X = te.placeholder((2, 3), "float64", "X")
    with pytest.raises(ExprError, match=r"stage '.*' is a ExternOp; only compute stages"):
        te.gradient(topi.cumsum(X, axis=1), [X], head=te.placeholder((2, 3), "float64", "H"))
    state = te.placeholder((4, 3), "float64", "state")
    Xs = te.placeholder((4, 3), "float64", "Xs")
    init = te.compute((1, 3), lambda _, i: Xs[0, i], name="init")
    update = te.compute((4, 3), lambda t, i: state[t - 1, i] + Xs[t, i], name="update")
    Y = te.scan(init, update, state, inputs=[Xs])
    with pytest.raises(ExprError, match=r"is a ScanOp; only compute stages"):
        te.gradient(Y, [Xs], head=te.placeholder((4, 3), "float64", "H"))


def test_gradient_with_respect_to_an_integer_input_is_refused():
    # It came back as float32 zeros, silently.
    X = te.placeholder((4,), "float64", "X")
    index = te.placeholder((4,), "int32", "I")
    Y = te.compute((4,), lambda i: X[index[i]] * 2.0, name="Y")
    with pytest.raises(ExprError, match=r"inputs\[1\] 'I' is int32; only float inputs have gradients"):
        te.gradient(Y, [X, index])
