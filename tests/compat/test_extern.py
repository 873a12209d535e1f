"""te.extern, packed functions, extern C calls and tir.ir_builder (TVM's extern_op tutorial)."""

import ctypes.util

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te
from tensorlang.contrib import cblas, utils


def test_extern_op_tutorial():
    if not tvm.get_global_func("tvm.contrib.cblas.matmul", allow_missing=True):
        raise Exception("Not compiled with cblas support; can't build this tutorial")
    n, l, m = 64, 16, 23
    bias = te.var("bias", dtype="float32")
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    C = te.extern((n, m), [A, B],
                  lambda ins, outs: tvm.tir.call_packed("tvm.contrib.cblas.matmul", ins[0], ins[1], outs[0], False,
                                                        False), name="C")
    D = te.compute(C.shape, lambda i, j: C[i, j] + bias, name="D")
    s = te.create_schedule(D.op)
    dev = tvm.cpu(0)
    f = tvm.build(s, [A, B, D, bias], "llvm")
    a = tvm.nd.array(np.random.uniform(size=(n, l)).astype(A.dtype), dev)
    b = tvm.nd.array(np.random.uniform(size=(l, m)).astype(B.dtype), dev)
    d = tvm.nd.array(np.zeros((n, m), dtype=D.dtype), dev)
    bb = 10.0
    f(a, b, d, bb)
    tvm.testing.assert_allclose(d.numpy(), np.dot(a.numpy(), b.numpy()) + 10, rtol=1e-5)
    # the contrib wrapper
    C = cblas.matmul(A, B)
    D = te.compute(C.shape, lambda i, j: C[i, j] + bias, name="D")
    s = te.create_schedule(D.op)
    f = tvm.build(s, [A, B, D, bias], "llvm")
    f(a, b, d, bb)
    tvm.testing.assert_allclose(d.numpy(), np.dot(a.numpy(), b.numpy()) + 10, rtol=1e-5)

    @tvm.register_func("tvm.contrib.my_tvm_addone", override=True)
    def my_tvm_addone(x, y):
        tvm.nd.array(x.numpy() + 1).copyto(y)

    A = te.placeholder((n,), name="A")
    B = te.extern(A.shape, [A], lambda ins, outs: tvm.tir.call_packed("tvm.contrib.my_tvm_addone", ins[0], outs[0]),
                  name="C")
    s = te.create_schedule(B.op)
    f = tvm.build(s, [A, B], "llvm")
    a = tvm.nd.array(np.random.uniform(size=(n,)).astype(A.dtype), dev)
    b = tvm.nd.array(np.random.uniform(size=(n,)).astype(B.dtype), dev)
    f(a, b)
    tvm.testing.assert_allclose(b.numpy(), a.numpy() + 1, rtol=1e-5)
    # an exported library keeps calling the registered function
    temp = utils.tempdir()
    f.export_library(temp.relpath("addone.so"))
    g = tvm.runtime.load_module(temp.relpath("addone.so"))
    b2 = tvm.nd.empty((n,), "float32")
    g(a, b2)
    tvm.testing.assert_allclose(b2.numpy(), a.numpy() + 1, rtol=1e-5)


def test_packed_function_errors_reach_the_caller():
    @tvm.register_func("compat.fails", override=True)
    def fails(x, scale):
        raise ValueError(f"bad scale {scale}")

    A = te.placeholder((8,), name="A")
    B = te.extern((8,), [A], lambda ins, outs: tvm.tir.call_packed("compat.fails", outs[0], 2.5), name="B")
    f = tvm.build(te.create_schedule(B.op), [A, B])
    with pytest.raises(ValueError, match="bad scale 2.5"):
        f(np.zeros(8, "float32"), np.zeros(8, "float32"))
    assert tvm.get_global_func("compat.fails") is fails
    assert tvm.get_global_func("compat.missing", allow_missing=True) is None


def test_call_extern_libm_and_pure_extern():
    n = 37
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: tvm.tir.call_pure_extern("float32", "expf", A[i]) +
                   tvm.tir.call_extern("float64", "cbrt", A[i].astype("float64")).astype("float32"), name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=8)
    s[B].vectorize(xi)
    f = tvm.build(s, [A, B])
    a = np.random.uniform(0.1, 2, n).astype("float32")
    b = np.zeros(n, "float32")
    f(a, b)
    np.testing.assert_allclose(b, np.exp(a) + np.cbrt(a), rtol=1e-5)
    assert ctypes.util.find_library("m")


def test_ir_builder_kernel_and_decl_buffer():
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    Ab = tvm.tir.decl_buffer(A.shape, A.dtype, name="Ab")

    def cumsum_ir(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a = ib.buffer_ptr(ins[0])
        out = ib.buffer_ptr(outs[0])
        acc = ib.allocate("float32", (1,), name="acc", scope="local")
        acc[0] = 0.0
        with ib.for_range(0, n, name="i") as i:
            acc[0] = acc[0] + a[i]
            with ib.if_scope(a[i] > 0.5):
                out[i] = acc[0]
            with ib.else_scope():
                out[i] = -acc[0]
        return ib.get()

    B = te.extern(A.shape, [A], cumsum_ir, in_buffers=[Ab], name="B", dtype="float32")
    s = te.create_schedule(B.op)
    f = tvm.build(s, [A, B])
    a = np.random.rand(19).astype("float32")
    b = np.zeros(19, "float32")
    f(a, b)
    c = np.cumsum(a)
    np.testing.assert_allclose(b, np.where(a > 0.5, c, -c), rtol=1e-5)


def test_extern_buffer_with_symbolic_strides_and_offset():
    n, m = 6, 5
    A = te.placeholder((n, m), name="A")
    Ab = tvm.tir.decl_buffer((n, m), "float32", name="Ab", strides=[te.var("s0"), 1], offset_factor=1)

    def fcompute(ins, outs):
        ib = tvm.tir.ir_builder.create()
        with ib.for_range(0, n, name="i") as i:
            with ib.for_range(0, m, name="j") as j:
                ib.emit(outs[0].vstore([i, j], ins[0].vload([i, j]) * 2))
        return ib.get()

    B = te.extern((n, m), [A], fcompute, in_buffers=[Ab], name="B")
    f = tvm.build(te.create_schedule(B.op), [A, B], "llvm")
    a = np.random.rand(n, m).astype("float32")
    b = tvm.nd.array(np.zeros((n, m), "float32"))
    f(tvm.nd.array(a), b)
    np.testing.assert_allclose(b.numpy(), a * 2, rtol=1e-6)
