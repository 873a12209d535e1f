"""TVM 0.12's test_te_tensor_overload.py with the imports changed (tvm.device for tvm.context, the
targets this machine has: llvm and cuda -emulate): tensors, expressions and 0-d tensors under + - * /,
their tags, and the results against numpy on random data."""

import numpy as np

import tensorlang as tvm
import tensorlang.topi.testing
from tensorlang import te, topi
from tensorlang.topi.utils import get_const_tuple


def test_operator_type_and_tags():
    k = 1
    n = te.var("n")
    A = te.placeholder((), name="A")
    B = te.placeholder((10, 5), name="B")
    B2 = B[0, 0]
    assert isinstance(k + n, tvm.tir.PrimExpr)
    assert isinstance(n + n, tvm.tir.PrimExpr)
    for e in (k + A, A + k, n + A, A + n, A + A, k + B, B + k, n + B, B + n, A + B, B + A, B + B):
        assert isinstance(e, te.tensor.Tensor), e
    assert (k + B).op.tag == topi.tag.ELEMWISE
    assert (B + k).op.tag == topi.tag.ELEMWISE
    assert (n + B).op.tag == topi.tag.ELEMWISE
    assert (B + n).op.tag == topi.tag.ELEMWISE
    assert (A + B).op.tag == topi.tag.BROADCAST, (A + B).op.tag
    assert (B + A).op.tag == topi.tag.BROADCAST
    assert (B + B).op.tag == topi.tag.BROADCAST
    for e in (k + B2, B2 + k, n + B2, B2 + n, B2 + B2):
        assert isinstance(e, tvm.tir.PrimExpr), e
    for e in (B2 + A, A + B2, B2 + B, B + B2):
        assert isinstance(e, te.tensor.Tensor), e


def test_combination():
    k = 3
    n = 5
    m = 10
    x = te.var("x")
    A = te.placeholder((n, m), name="A")
    B = te.placeholder((n, m), name="B")
    C = te.placeholder((n, m), name="C")
    D = k + A - B * C + x
    s = te.create_schedule(D.op)
    foo = tvm.build(s, [x, A, B, C, D], "llvm")
    dev = tvm.cpu(0)
    x = 2
    a = tvm.nd.array(np.random.uniform(size=(n, m)).astype(A.dtype), dev)
    b = tvm.nd.array(np.random.uniform(size=(n, m)).astype(B.dtype), dev)
    c = tvm.nd.array(np.random.uniform(size=(n, m)).astype(C.dtype), dev)
    d = tvm.nd.array(np.zeros((n, m), dtype=D.dtype), dev)
    foo(x, a, b, c, d)
    tvm.testing.assert_allclose(d.numpy(), k + a.numpy() - b.numpy() * c.numpy() + x)


def verify_tensor_scalar_bop(shape, typ="add"):
    sh = [te.size_var(f"n{i}") for i in range(0, len(shape))]
    k = te.var("k")
    A = te.placeholder(sh, name="A")
    B = {"add": lambda: A + k, "sub": lambda: A - k, "mul": lambda: A * k, "div": lambda: A / k}[typ]()

    def check_target(target, dev):
        with tvm.target.Target(target):
            s = tvm.topi.testing.get_elemwise_schedule(target)(B)
        k_ = 2
        foo = tvm.build(s, [A, B, k] + sh, target, name="tensor_scalar_" + typ)
        a_npy = np.random.uniform(size=shape).astype(A.dtype)
        b_npy = {"add": a_npy + k_, "sub": a_npy - k_, "mul": a_npy * k_, "div": a_npy / k_}[typ]
        a_nd = tvm.nd.array(a_npy, dev)
        b_nd = tvm.nd.array(np.empty(b_npy.shape).astype(B.dtype), dev)
        foo(a_nd, b_nd, k_, *shape)
        tvm.testing.assert_allclose(b_nd.numpy(), b_npy, rtol=1e-5)

    for target, dev in tvm.testing.enabled_targets():
        check_target(target, dev)


def verify_broadcast_bop(lhs_shape, rhs_shape, typ="add"):
    A = te.placeholder(shape=lhs_shape, name="A")
    B = te.placeholder(shape=rhs_shape, name="B")
    C = {"add": lambda: A + B, "sub": lambda: A - B, "mul": lambda: A * B, "div": lambda: A / B}[typ]()

    def check_target(target):
        dev = tvm.device(target, 0)
        with tvm.target.Target(target):
            s = tvm.topi.testing.get_broadcast_schedule(target)(C)
        foo = tvm.build(s, [A, B, C], target, name="broadcast_binary" + "_" + typ)
        lhs_npy = np.random.uniform(size=lhs_shape).astype(A.dtype)
        rhs_npy = np.random.uniform(size=rhs_shape).astype(A.dtype)
        if typ == "div":
            rhs_npy = np.abs(rhs_npy) + 0.001
        out_npy = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[typ](lhs_npy, rhs_npy)
        lhs_nd = tvm.nd.array(lhs_npy, dev)
        rhs_nd = tvm.nd.array(rhs_npy, dev)
        out_nd = tvm.nd.array(np.empty(out_npy.shape).astype(B.dtype), dev)
        foo(lhs_nd, rhs_nd, out_nd)
        tvm.testing.assert_allclose(out_nd.numpy(), out_npy, rtol=1e-4, atol=1e-4)

    for target in ["llvm", "cuda -emulate"]:
        check_target(target)


def verify_conv2d_scalar_bop(batch, in_size, in_channel, num_filter, kernel, stride, padding, typ="add"):
    def check_target(target):
        dev = tvm.device(target, 0)
        conv2d_nchw, schedule_conv2d_nchw = tvm.topi.testing.get_conv2d_nchw_implement(target)
        k = 10.0
        dilation = (1, 1)
        with tvm.target.Target(target):
            A = te.placeholder((batch, in_channel, in_size, in_size), name="A")
            W = te.placeholder((num_filter, in_channel, kernel, kernel), name="W")
            B = conv2d_nchw(A, W, stride, padding, dilation, A.dtype)
            C = {"add": lambda: B + k, "sub": lambda: B - k, "mul": lambda: B * k, "div": lambda: B / k}[typ]()
            s = schedule_conv2d_nchw([C])
        foo = tvm.build(s, [A, W, B, C], target, name="conv2d_scalar_" + typ)
        a_npy = np.random.uniform(size=get_const_tuple(A.shape)).astype(A.dtype)
        w_npy = np.random.uniform(size=get_const_tuple(W.shape)).astype(W.dtype)
        b_npy = tvm.topi.testing.conv2d_nchw_python(a_npy, w_npy, stride, padding)
        c_npy = {"add": b_npy + k, "sub": b_npy - k, "mul": b_npy * k, "div": b_npy / k}[typ]
        a_nd = tvm.nd.array(a_npy, dev)
        w_nd = tvm.nd.array(w_npy, dev)
        b_nd = tvm.nd.array(np.empty(b_npy.shape).astype(B.dtype), dev)
        c_nd = tvm.nd.array(np.empty(c_npy.shape).astype(C.dtype), dev)
        foo(a_nd, w_nd, b_nd, c_nd)
        tvm.testing.assert_allclose(c_nd.numpy(), c_npy, rtol=1e-4, atol=1e-4)

    for target in ["llvm", "cuda -emulate"]:
        check_target(target)


def test_tensor_scalar_bop():
    verify_tensor_scalar_bop((1,), typ="add")
    verify_tensor_scalar_bop((3, 5), typ="sub")
    verify_tensor_scalar_bop((1, 3, 5), typ="mul")
    verify_tensor_scalar_bop((2, 3, 1, 32), typ="div")


def test_broadcast_bop():
    verify_broadcast_bop((2, 3), (), typ="add")
    verify_broadcast_bop((5, 2, 3), (1,), typ="add")
    verify_broadcast_bop((1, 32), (64, 32), typ="sub")
    verify_broadcast_bop((5, 64, 128), (2, 5, 64, 1), typ="mul")
    verify_broadcast_bop((2, 3, 1, 32), (64, 32), typ="div")


def test_conv2d_scalar_bop():
    verify_conv2d_scalar_bop(1, 16, 4, 4, 3, 1, 1, typ="add")
    verify_conv2d_scalar_bop(1, 32, 2, 1, 3, 1, 1, typ="sub")
    verify_conv2d_scalar_bop(1, 32, 1, 1, 3, 1, 1, typ="mul")
    verify_conv2d_scalar_bop(1, 16, 2, 1, 3, 1, 1, typ="div")
