"""TVM 0.12 tutorials (tensor_expr_get_started, schedule_primitives, reduction, tuple_inputs,
opt_gemm) as their users write them, imports changed; GPU parts on ``cuda -emulate``.
Sizes are smaller than the tutorials' so the suite stays fast; every result is checked."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te
from tensorlang.contrib import cc, utils

GPU = "cuda -emulate"


def test_tensor_expr_get_started(tmp_path):
    tgt = tvm.target.Target(target="llvm", host="llvm")
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute(A.shape, lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    fadd = tvm.build(s, [A, B, C], tgt, name="myadd")
    dev = tvm.device(tgt.kind.name, 0)
    n = 1024
    a = tvm.nd.array(np.random.uniform(size=n).astype(A.dtype), dev)
    b = tvm.nd.array(np.random.uniform(size=n).astype(B.dtype), dev)
    c = tvm.nd.array(np.zeros(n, dtype=C.dtype), dev)
    fadd(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())
    assert fadd.time_evaluator(fadd.entry_name, dev, number=10)(a, b, c).mean > 0
    assert "for" in str(tvm.lower(s, [A, B, C], simple_mode=True))
    s[C].parallel(C.op.axis[0])
    fadd_parallel = tvm.build(s, [A, B, C], tgt, name="myadd_parallel")
    fadd_parallel(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())
    s = te.create_schedule(C.op)
    outer, inner = s[C].split(C.op.axis[0], factor=4)
    s[C].parallel(outer)
    s[C].vectorize(inner)
    fadd_vector = tvm.build(s, [A, B, C], tgt, name="myadd_vector")
    fadd_vector(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())

    # the GPU section
    s = te.create_schedule(C.op)
    bx, tx = s[C].split(C.op.axis[0], factor=64)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    fadd_gpu = tvm.build(s, [A, B, C], target=tvm.target.Target(GPU, host="llvm"), name="myadd")
    dev = tvm.device("cuda", 0)
    a = tvm.nd.array(np.random.uniform(size=n).astype(A.dtype), dev)
    b = tvm.nd.array(np.random.uniform(size=n).astype(B.dtype), dev)
    c = tvm.nd.array(np.zeros(n, dtype=C.dtype), dev)
    fadd_gpu(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())
    dev_module = fadd_gpu.imported_modules[0]
    assert "__global__" in dev_module.get_source()

    # saving and loading compiled modules
    temp = utils.tempdir()
    fadd.save(temp.relpath("myadd.o"))
    cc.create_shared(temp.relpath("myadd.so"), [temp.relpath("myadd.o")])
    assert {"myadd.o", "myadd.so"} <= set(temp.listdir())
    fadd1 = tvm.runtime.load_module(temp.relpath("myadd.so"))
    a = tvm.nd.array(np.random.uniform(size=n).astype(A.dtype), tvm.cpu())
    c = tvm.nd.array(np.zeros(n, dtype=C.dtype), tvm.cpu())
    fadd1(a, b.copyto(tvm.cpu()), c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())
    # load_module of the object file links it first, as TVM's does
    c = tvm.nd.array(np.zeros(n, dtype=C.dtype), tvm.cpu())
    tvm.runtime.load_module(temp.relpath("myadd.o"))(a, b.copyto(tvm.cpu()), c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())
    fadd.export_library(temp.relpath("myadd_pack.so"))
    fadd2 = tvm.runtime.load_module(temp.relpath("myadd_pack.so"))
    fadd2(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())

    # the tutorial's GPU flow: host object and device code saved apart, loaded, imported
    fadd_gpu.save(temp.relpath("myadd_gpu.o"))
    ext = "ptx" if "ptx" in fadd_gpu.imported_modules[0]._sources else "cu"  # PTX where NVRTC is installed
    fadd_gpu.imported_modules[0].save(temp.relpath(f"myadd.{ext}"))
    cc.create_shared(temp.relpath("myadd_gpu.so"), [temp.relpath("myadd_gpu.o")])
    fadd1 = tvm.runtime.load_module(temp.relpath("myadd_gpu.so"))
    fadd1_dev = tvm.runtime.load_module(temp.relpath(f"myadd.{ext}"))
    fadd1.import_module(fadd1_dev)
    assert fadd1.imported_modules[-1] is fadd1_dev and fadd1_dev.get_source() == \
        fadd_gpu.imported_modules[0].get_source(ext)
    c = tvm.nd.array(np.zeros(n, dtype=C.dtype), tvm.cpu())
    fadd1(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())


def test_tensor_expr_get_started_matmul():
    M = K = N = 64
    dtype = "float32"
    target = tvm.target.Target(target="llvm", host="llvm")
    dev = tvm.device(target.kind.name, 0)
    a = tvm.nd.array(np.random.rand(M, K).astype(dtype), dev)
    b = tvm.nd.array(np.random.rand(K, N).astype(dtype), dev)
    answer = np.dot(a.numpy(), b.numpy())
    k = te.reduce_axis((0, K), "k")
    A = te.placeholder((M, K), name="A")
    B = te.placeholder((K, N), name="B")
    C = te.compute((M, N), lambda x, y: te.sum(A[x, k] * B[k, y], axis=k), name="C")

    def evaluate(s, args):
        func = tvm.build(s, args, target=target, name="mmult")
        c = tvm.nd.array(np.zeros((M, N), dtype=dtype), dev)
        func(a, b, c)
        tvm.testing.assert_allclose(c.numpy(), answer, rtol=1e-5)

    s = te.create_schedule(C.op)
    evaluate(s, [A, B, C])
    bn = 32
    xo, yo, xi, yi = s[C].tile(C.op.axis[0], C.op.axis[1], bn, bn)
    (k,) = s[C].op.reduce_axis
    ko, ki = s[C].split(k, factor=4)
    s[C].reorder(xo, yo, ko, xi, ki, yi)
    s[C].vectorize(yi)
    s[C].parallel(xo)
    evaluate(s, [A, B, C])
    # array packing with a float shape (N / bn), then a write cache
    packedB = te.compute((N / bn, K, bn), lambda x, y, z: B[y, x * bn + z], name="packedB")
    k = te.reduce_axis((0, K), "k")
    C = te.compute((M, N), lambda x, y: te.sum(A[x, k] * packedB[y // bn, k, tvm.tir.indexmod(y, bn)], axis=k),
                   name="C")
    s = te.create_schedule(C.op)
    CC = s.cache_write(C, "global")
    xo, yo, xi, yi = s[C].tile(C.op.axis[0], C.op.axis[1], bn, bn)
    s[CC].compute_at(s[C], yo)
    xc, yc = s[CC].op.axis
    (k,) = s[CC].op.reduce_axis
    ko, ki = s[CC].split(k, factor=4)
    s[CC].reorder(ko, xc, ki, yc)
    s[CC].unroll(ki)
    s[CC].vectorize(yc)
    x, y, z = s[packedB].op.axis
    s[packedB].vectorize(z)
    s[packedB].parallel(x)
    s[C].parallel(xo)
    evaluate(s, [A, B, C])


def test_schedule_primitives():
    n = te.var("n")
    m = te.var("m")
    A = te.placeholder((m, n), name="A")
    B = te.placeholder((m, n), name="B")
    C = te.compute((m, n), lambda i, j: A[i, j] * B[i, j], name="C")
    s = te.create_schedule([C.op])
    assert "for" in str(tvm.lower(s, [A, B, C], simple_mode=True))

    def check(s, args, fn, shape):
        f = tvm.build(s, args)
        arrays = [np.random.rand(*shape).astype("float32") for _ in args[:-1]]
        out = np.zeros(shape, "float32")
        f(*arrays, out)
        np.testing.assert_allclose(out, fn(*arrays), rtol=1e-6)

    A = te.placeholder((m,), name="A")
    B = te.compute((m,), lambda i: A[i] * 2, name="B")
    for kw in ({"factor": 32}, {"nparts": 32}):
        s = te.create_schedule(B.op)
        xo, xi = s[B].split(B.op.axis[0], **kw)
        check(s, [A, B], lambda a: a * 2, (100,))
    A = te.placeholder((m, n), name="A")
    B = te.compute((m, n), lambda i, j: A[i, j], name="B")
    s = te.create_schedule(B.op)
    xo, yo, xi, yi = s[B].tile(B.op.axis[0], B.op.axis[1], x_factor=10, y_factor=5)
    fused = s[B].fuse(xi, yi)
    assert fused in s[B].leaf_iter_vars
    check(s, [A, B], lambda a: a, (23, 17))
    s = te.create_schedule(B.op)
    xo, yo, xi, yi = s[B].tile(B.op.axis[0], B.op.axis[1], x_factor=10, y_factor=5)
    s[B].reorder(xi, yo, xo, yi)
    check(s, [A, B], lambda a: a, (23, 17))
    # bind (GPU)
    A = te.placeholder((n,), name="A")
    B = te.compute(A.shape, lambda i: A[i] * 2, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=64)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    assert "blockIdx.x" in str(tvm.lower(s, [A, B], simple_mode=True))
    f = tvm.build(s, [A, B], GPU)
    a = np.random.rand(200).astype("float32")
    b = np.zeros(200, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a * 2)
    # compute_at, compute_inline, compute_root
    A = te.placeholder((m,), name="A")
    B = te.compute((m,), lambda i: A[i] + 1, name="B")
    C = te.compute((m,), lambda i: B[i] * 2, name="C")
    for how in ("at", "inline", "root"):
        s = te.create_schedule(C.op)
        s[B].compute_at(s[C], C.op.axis[0])
        if how == "inline":
            s[B].compute_inline()
        elif how == "root":
            s[B].compute_root()
        check(s, [A, C], lambda a: (a + 1) * 2, (50,))


def test_reduction():
    n = te.var("n")
    m = te.var("m")
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), "k")
    B = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=16)
    xo, xi = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(xo, te.thread_axis("blockIdx.x"))
    s[B].bind(xi, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, [A, B], GPU)
    a = np.random.uniform(size=(70, 50)).astype("float32")
    b = np.zeros(70, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a.sum(axis=1), rtol=1e-4)
    # rfactor and a cross-thread reduction
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=16)
    BF = s.rfactor(B, ki)
    assert "sum" in str(s[B].op.body)
    xo, xi = s[B].split(s[B].op.axis[0], factor=32)
    s[B].bind(xo, te.thread_axis("blockIdx.x"))
    s[B].bind(xi, te.thread_axis("threadIdx.y"))
    tx = te.thread_axis("threadIdx.x")
    s[B].bind(s[B].op.reduce_axis[0], tx)
    s[BF].compute_at(s[B], s[B].op.reduce_axis[0])
    s[B].set_store_predicate(tx.var.equal(0))
    fcuda = tvm.build(s, [A, B], GPU)
    assert "__global__" in fcuda.imported_modules[0].get_source()
    nn = 128
    dev = tvm.cuda(0)
    a = tvm.nd.array(np.random.uniform(size=(nn, nn)).astype(A.dtype), dev)
    b = tvm.nd.array(np.zeros(nn, dtype=B.dtype), dev)
    fcuda(a, b)
    tvm.testing.assert_allclose(b.numpy(), np.sum(a.numpy(), axis=1), rtol=1e-4)
    # convolution as a reduction over two axes
    n = te.var("n")
    Input = te.placeholder((n, n), name="Input")
    Filter = te.placeholder((3, 3), name="Filter")
    di = te.reduce_axis((0, 3), name="di")
    dj = te.reduce_axis((0, 3), name="dj")
    Output = te.compute((n - 2, n - 2),
                        lambda i, j: te.sum(Input[i + di, j + dj] * Filter[di, dj], axis=[di, dj]), name="Output")
    s = te.create_schedule(Output.op)
    f = tvm.build(s, [Input, Filter, Output])
    x, w = np.random.rand(9, 9).astype("float32"), np.random.rand(3, 3).astype("float32")
    out = np.zeros((7, 7), "float32")
    f(x, w, out)
    ref = sum(x[i:i + 7, j:j + 7] * w[i, j] for i in range(3) for j in range(3))
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    # a custom reducer
    n = te.var("n")
    m = te.var("m")
    product = te.comm_reducer(lambda x, y: x * y, lambda t: tvm.tir.const(1, dtype=t), name="product")
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    B = te.compute((n,), lambda i: product(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    f = tvm.build(s, [A, B])
    a = np.random.uniform(0.5, 1.5, size=(6, 5)).astype("float32")
    b = np.zeros(6, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a.prod(axis=1), rtol=1e-5)


def test_tuple_inputs():
    n = te.var("n")
    m = te.var("m")
    A0 = te.placeholder((m, n), name="A0")
    A1 = te.placeholder((m, n), name="A1")
    B0, B1 = te.compute((m, n), lambda i, j: (A0[i, j] + 2, A1[i, j] * 3), name="B")
    s = te.create_schedule(B0.op)
    f = tvm.build(s, [A0, A1, B0, B1])
    a0, a1 = np.random.rand(4, 5).astype("float32"), np.random.rand(4, 5).astype("float32")
    b0, b1 = np.zeros((4, 5), "float32"), np.zeros((4, 5), "float32")
    f(a0, a1, b0, b1)
    np.testing.assert_allclose(b0, a0 + 2)
    np.testing.assert_allclose(b1, a1 * 3, rtol=1e-6)

    def fcombine(x, y):
        lhs = tvm.tir.Select((x[1] >= y[1]), x[0], y[0])
        rhs = tvm.tir.Select((x[1] >= y[1]), x[1], y[1])
        return lhs, rhs

    def fidentity(t0, t1):
        return tvm.tir.const(-1, t0), tvm.te.min_value(t1)

    argmax = te.comm_reducer(fcombine, fidentity, name="argmax")
    m = te.var("m")
    n = te.var("n")
    idx = te.placeholder((m, n), name="idx", dtype="int32")
    val = te.placeholder((m, n), name="val", dtype="int32")
    k = te.reduce_axis((0, n), "k")
    T0, T1 = te.compute((m,), lambda i: argmax((idx[i, k], val[i, k]), axis=k), name="T")
    s = te.create_schedule(T0.op)
    f = tvm.build(s, [idx, val, T0, T1])
    iv = np.tile(np.arange(7, dtype="int32"), (5, 1))
    vv = np.random.permutation(35).reshape(5, 7).astype("int32")
    t0, t1 = np.zeros(5, "int32"), np.zeros(5, "int32")
    f(iv, vv, t0, t1)
    np.testing.assert_array_equal(t0, vv.argmax(axis=1))
    np.testing.assert_array_equal(t1, vv.max(axis=1))
    # scheduling a multi-output op
    n = te.var("n")
    m = te.var("m")
    A0 = te.placeholder((m, n), name="A0")
    B0, B1 = te.compute((m, n), lambda i, j: (A0[i, j] + 2, A0[i, j] * 3), name="B")
    A1 = te.placeholder((m, n), name="A1")
    C = te.compute((m, n), lambda i, j: A1[i, j] + B0[i, j], name="C")
    s = te.create_schedule(C.op)
    s[B0].compute_at(s[C], C.op.axis[0])
    f = tvm.build(s, [A0, A1, C])
    c = np.zeros((4, 5), "float32")
    f(a0, a1, c)
    np.testing.assert_allclose(c, a1 + a0 + 2, rtol=1e-6)


@pytest.mark.parametrize("stage", ["blocking", "packing", "cache", "parallel"])
def test_opt_gemm(stage):
    M = K = N = 128
    dtype = "float32"
    target = "llvm"
    dev = tvm.device(target, 0)
    a = tvm.nd.array(np.random.rand(M, K).astype(dtype), dev)
    b = tvm.nd.array(np.random.rand(K, N).astype(dtype), dev)
    answer = np.dot(a.numpy(), b.numpy())
    k = te.reduce_axis((0, K), "k")
    A = te.placeholder((M, K), name="A")
    B = te.placeholder((K, N), name="B")
    bn, kfactor = 32, 4
    if stage == "blocking":
        C = te.compute((M, N), lambda m, n: te.sum(A[m, k] * B[k, n], axis=k), name="C")
        s = te.create_schedule(C.op)
        mo, no, mi, ni = s[C].tile(C.op.axis[0], C.op.axis[1], bn, bn)
        (kaxis,) = s[C].op.reduce_axis
        ko, ki = s[C].split(kaxis, factor=kfactor)
        s[C].reorder(mo, no, ko, mi, ki, ni)
        s[C].vectorize(ni)
    else:
        packedB = te.compute((N / bn, K, bn), lambda bigN, k, littleN: B[k, bigN * bn + littleN], name="packedB")
        C = te.compute((M, N), lambda m, n: te.sum(A[m, k] * packedB[n // bn, k, tvm.tir.indexmod(n, bn)], axis=k),
                       name="C")
        s = te.create_schedule(C.op)
        if stage == "packing":
            mo, no, mi, ni = s[C].tile(C.op.axis[0], C.op.axis[1], bn, bn)
            (kaxis,) = s[C].op.reduce_axis
            ko, ki = s[C].split(kaxis, factor=kfactor)
            s[C].reorder(mo, no, ko, mi, ki, ni)
            s[C].vectorize(ni)
        else:
            CC = s.cache_write(C, "global")
            mo, no, mi, ni = s[C].tile(C.op.axis[0], C.op.axis[1], bn, bn)
            s[CC].compute_at(s[C], no)
            mc, nc = s[CC].op.axis
            (kaxis,) = s[CC].op.reduce_axis
            ko, ki = s[CC].split(kaxis, factor=kfactor)
            s[CC].reorder(ko, mc, ki, nc)
            s[CC].vectorize(nc)
            s[CC].unroll(ki)
            if stage == "parallel":
                s[C].parallel(mo)
        bigN, _, littleN = s[packedB].op.axis
        s[packedB].vectorize(littleN)
        s[packedB].parallel(bigN)
    func = tvm.build(s, [A, B, C], target=target, name="mmult")
    assert func
    c = tvm.nd.array(np.zeros((M, N), dtype=dtype), dev)
    func(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), answer, rtol=1e-5)
    evaluator = func.time_evaluator(func.entry_name, dev, number=1)
    assert evaluator(a, b, c).mean > 0
