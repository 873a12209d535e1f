"""TVM 0.12 tests/python/unittest/test_target_codegen_cuda.py: its te build-and-run tests, ported as
user code.

Changed: the imports, and the target: TVM's tests need a GPU ("cuda", tvm.cuda(0)); here they run on
"cuda -emulate" (the CUDA kernel run on the CPU).  fp16/int8 capability checks (have_fp16,
have_int8) are dropped: the emulator has both.  For the 8 s CI budget, test_vectorized_casts,
test_vectorized_intrin1, test_cuda_inf_nan, test_cuda_reduction and
test_cuda_vectorize_load_permute_pad run a subset of TVM's dtype/intrinsic lists (the full cast and
intrinsic lists all passed when the file was ported), and
test_unrolled_vectorization uses random inputs instead of ones.
Left out: test_cuda_shuffle (a custom TIR pass building tir.Shuffle), the vectorized-cooperative-
fetching tests' TIR-pattern walk, the kernel-source string checks, and the tests of vector-dtype
tensors other than test_cuda_vectorize_add (multiply_add / dp4a, make_int8, make_int4,
vectorize_load): tensorlang refuses vector-dtype placeholders, see test_cuda_vectorize_add.
"""
import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te, topi

CUDA = "cuda -emulate"
tx = te.thread_axis("threadIdx.x")
bx = te.thread_axis("blockIdx.x")


@pytest.mark.xfail(strict=True, raises=tvm.error.TVMError,
                   reason="tensorlang refuses vector-dtype tensors (placeholder dtype 'float32x2'); "
                   "TVM 0.12 builds them")
def test_cuda_vectorize_add():
    num_thread = 8

    def check_cuda(dtype, n, lanes):
        A = te.placeholder((n,), name="A", dtype=f"{dtype}x{lanes}")
        B = te.compute((n,), lambda i: A[i] + tvm.tir.const(1, A.dtype), name="B")
        s = te.create_schedule(B.op)
        xo, xi = s[B].split(B.op.axis[0], factor=num_thread)
        s[B].bind(xo, bx)
        s[B].bind(xi, tx)
        fun = tvm.build(s, [A, B], CUDA)
        dev = tvm.device(CUDA, 0)
        a = tvm.nd.empty((n,), A.dtype, dev).copyfrom(np.random.uniform(size=(n, lanes)))
        c = tvm.nd.empty((n,), B.dtype, dev)
        fun(a, c)
        tvm.testing.assert_allclose(c.numpy(), a.numpy() + 1)

    check_cuda("float32", 64, 2)
    check_cuda("int8", 64, 4)
    check_cuda("float16", 64, 8)


def test_cuda_inf_nan():
    target = CUDA

    def check_inf_nan(dev, n, value, dtype):
        A = te.placeholder((n,), name="A", dtype=dtype)
        inf_value = tvm.tir.const(value, dtype=dtype)
        C = te.compute((n,), lambda i: inf_value, name="C")
        s = te.create_schedule(C.op)
        s[C].bind(s[C].op.axis[0], tx)
        fun = tvm.build(s, [A, C], target)
        a = tvm.nd.empty((n,), A.dtype, dev)
        c = tvm.nd.empty((n,), A.dtype, dev)
        # Only need to test compiling here
        fun(a, c)
        # (not in TVM's test) and the value that comes back
        np.testing.assert_array_equal(c.numpy(), np.full((n,), value, dtype))

    dev = tvm.device(target, 0)

    check_inf_nan(dev, 1, -float("inf"), "float32")
    check_inf_nan(dev, 1, float("nan"), "float64")
    # TVM also checks inf / nan float32 and -inf / inf float64 (left out for the CI budget)


def test_cuda_reduction_binding():
    k = te.reduce_axis((0, 32), "k")
    A = te.placeholder((96, 32), name="A")
    B = te.compute((96,), lambda m: te.sum(A[m, k], axis=k), name="B")
    s = te.create_schedule(B.op)

    s[B].reorder(B.op.reduce_axis[0], B.op.axis[0])

    mo, _ = s[B].split(B.op.axis[0], 32)
    s[B].bind(mo, bx)

    fcuda = tvm.build(s, [A, B], CUDA)
    # (not in TVM's test, which only builds) run it against numpy
    dev = tvm.device(CUDA, 0)
    a_np = np.random.uniform(size=(96, 32)).astype("float32")
    b = tvm.nd.array(np.zeros(96, "float32"), dev)
    fcuda(tvm.nd.array(a_np, dev), b)
    tvm.testing.assert_allclose(b.numpy(), a_np.sum(axis=1), rtol=1e-5)


def test_cuda_const_float_to_half():
    shape = (2, 3, 4)
    a = te.placeholder(shape, dtype="float16", name="a")
    b = tvm.tir.const(0.5, dtype="float16")
    c = te.compute(shape, lambda i, j, k: a[i, j, k] > b, name="c")
    s = te.create_schedule(c.op)
    axes = [axis for axis in c.op.axis]
    fused = s[c].fuse(*axes)
    bx, tx = s[c].split(fused, factor=64)
    s[c].bind(bx, te.thread_axis("blockIdx.x"))
    s[c].bind(tx, te.thread_axis("threadIdx.x"))

    func = tvm.build(s, [a, c], CUDA)
    dev = tvm.device(CUDA, 0)
    a_np = np.random.uniform(size=shape).astype(a.dtype)
    c_np = np.zeros(shape=shape, dtype=c.dtype)
    a = tvm.nd.array(a_np, dev)
    c = tvm.nd.array(c_np, dev)
    func(a, c)
    np.testing.assert_equal(c.numpy(), a_np > b.value)


def test_cuda_reduction():
    def check(device, dtype, m=32, n=32):
        if not tvm.testing.device_enabled(device):
            print("Skipping", device)
            return
        dev = tvm.device(device, 0)
        a = te.placeholder((m, n), name="a", dtype=dtype)
        b = te.placeholder((m, n), name="b", dtype=dtype)
        c = a + b
        d = a * b
        e = topi.elemwise_sum([c, d])
        g = topi.sum(e)
        with tvm.target.Target(device):
            sg = topi.cuda.schedule_reduce(g)
            func = tvm.build(sg, [a, b, g], device)
            a_np = np.random.uniform(size=(m, n)).astype(a.dtype)
            b_np = np.random.uniform(size=(m, n)).astype(b.dtype)
            g_np = np.sum(np.add(a_np * b_np, a_np + b_np))
            a_nd = tvm.nd.array(a_np, dev)
            b_nd = tvm.nd.array(b_np, dev)
            g_nd = tvm.nd.array(np.zeros(g_np.shape, dtype=g_np.dtype), dev)
            func(a_nd, b_nd, g_nd)
            tvm.testing.assert_allclose(g_nd.numpy(), g_np, rtol=1e-3)

    check(CUDA, "float32")
    # TVM also runs check("cuda", "float16") (left out for the CI budget; it passes)


def test_cuda_mix_threaded_and_normal_reduction():
    def check(device, dtype, m=32, n=32):
        if not tvm.testing.device_enabled(device):
            print("Skipping", device)
            return
        dev = tvm.device(device, 0)
        a = tvm.te.placeholder((m, n), name="a", dtype=dtype)
        b = topi.sum(a)
        with tvm.target.Target(device):
            sb = tvm.te.create_schedule(b.op)
            i, _ = b.op.reduce_axis
            sb[b].bind(i, tvm.te.thread_axis("threadIdx.x"))
            func = tvm.build(sb, [a, b], device)
            a_np = np.random.uniform(size=(m, n)).astype(a.dtype)
            b_np = np.sum(a_np)
            a_nd = tvm.nd.array(a_np, dev)
            b_nd = tvm.nd.array(np.zeros(b_np.shape, dtype=b_np.dtype), dev)
            func(a_nd, b_nd)
            tvm.testing.assert_allclose(b_nd.numpy(), b_np, rtol=1e-3)

    check(CUDA, "float32")


@pytest.mark.xfail(strict=True, raises=ValueError,
                   reason="topi.sum of float16 is two stages in tensorlang (a float32 sum, then a cast), so "
                   "b.op.reduce_axis is empty and TVM's `i, _ = b.op.reduce_axis` cannot unpack")
def test_cuda_mix_threaded_and_normal_reduction_float16():
    # TVM's test_cuda_mix_threaded_and_normal_reduction, its check("cuda", "float16") call
    device, dtype, m, n = CUDA, "float16", 32, 32
    dev = tvm.device(device, 0)
    a = tvm.te.placeholder((m, n), name="a", dtype=dtype)
    b = topi.sum(a)
    with tvm.target.Target(device):
        sb = tvm.te.create_schedule(b.op)
        i, _ = b.op.reduce_axis
        sb[b].bind(i, tvm.te.thread_axis("threadIdx.x"))
        func = tvm.build(sb, [a, b], device)
        a_np = np.random.uniform(size=(m, n)).astype(a.dtype)
        b_np = np.sum(a_np)
        a_nd = tvm.nd.array(a_np, dev)
        b_nd = tvm.nd.array(np.zeros(b_np.shape, dtype=b_np.dtype), dev)
        func(a_nd, b_nd)
        tvm.testing.assert_allclose(b_nd.numpy(), b_np, rtol=1e-3)


def test_cuda_floordiv_with_vectorization():
    with tvm.target.Target(CUDA):
        # B[i] = A[floordiv(i, k)]
        n = 256
        k = 37
        A = te.placeholder((n,), name="A")
        B = te.compute((n,), lambda i: A[tvm.tir.floordiv(i, k)], name="B")
        s = te.create_schedule(B.op)
        xo, xi = s[B].split(B.op.axis[0], nparts=1)
        xio, xii = s[B].split(xi, factor=4)
        s[B].vectorize(xii)
        s[B].bind(xo, bx)
        s[B].bind(xio, tx)
        func = tvm.build(s, [A, B], CUDA)

        dev = tvm.device(CUDA, 0)
        a_np = np.random.uniform(size=(n,)).astype(A.dtype)
        b_np = np.array([a_np[i // k] for i in range(0, n)])
        a_nd = tvm.nd.array(a_np, dev)
        b_nd = tvm.nd.array(np.zeros(b_np.shape, dtype=b_np.dtype), dev)
        func(a_nd, b_nd)
        tvm.testing.assert_allclose(b_nd.numpy(), b_np, rtol=1e-3)


def test_cuda_floormod_with_vectorization():
    with tvm.target.Target(CUDA):
        # B[i] = A[floormod(i, k)]
        n = 256
        k = 37
        A = te.placeholder((n,), name="A")
        B = te.compute((n,), lambda i: A[tvm.tir.floormod(i, k)], name="B")
        s = te.create_schedule(B.op)
        xo, xi = s[B].split(B.op.axis[0], nparts=1)
        xio, xii = s[B].split(xi, factor=4)
        s[B].vectorize(xii)
        s[B].bind(xo, bx)
        s[B].bind(xio, tx)
        func = tvm.build(s, [A, B], CUDA)

        dev = tvm.device(CUDA, 0)
        a_np = np.random.uniform(size=(n,)).astype(A.dtype)
        b_np = np.array([a_np[i % k] for i in range(0, n)])
        a_nd = tvm.nd.array(a_np, dev)
        b_nd = tvm.nd.array(np.zeros(b_np.shape, dtype=b_np.dtype), dev)
        func(a_nd, b_nd)
        tvm.testing.assert_allclose(b_nd.numpy(), b_np, rtol=1e-3)


CAST_PAIRS = [("float16", "int32", 4), ("int8", "float32", 4), ("float64", "uint8", 4), ("uint8", "int8", 16)]


def test_vectorized_casts():
    def check(t0, t1, factor):
        # compute
        n = 128
        A = te.placeholder((n,), dtype=t0, name="A")
        B = te.placeholder((n,), dtype=t1, name="B")
        C = te.compute((n,), lambda i: A[i] + topi.cast(B[i], A.dtype), name="C")

        # schedule
        s = tvm.te.create_schedule(C.op)
        ob, ib = s[C].split(s[C].op.axis[0], factor=factor)
        s[C].vectorize(ib)
        s[C].bind(ob, tx)
        func = tvm.build(s, [A, B, C], CUDA)

        # correctness
        dev = tvm.device(CUDA, 0)
        low, high = (0, 20) if t0.startswith("u") or t1.startswith("u") else (-10, 10)
        a_np = np.random.randint(low, high, size=n).astype(A.dtype)
        b_np = np.random.randint(low, high, size=n).astype(B.dtype)
        c_np = (a_np + b_np).astype(A.dtype)
        a_nd = tvm.nd.array(a_np, dev)
        b_nd = tvm.nd.array(b_np, dev)
        c_nd = tvm.nd.array(np.zeros(c_np.shape, dtype=c_np.dtype), dev)
        func(a_nd, b_nd, c_nd)
        tvm.testing.assert_allclose(c_nd.numpy(), c_np, rtol=1e-3)

    # TVM runs every pair of 11 dtypes at factor 4 and of 8 at factor 8; a subset here
    for t0, t1, factor in CAST_PAIRS:
        check(t0, t1, factor)


def sched(B):
    s = te.create_schedule(B.op)
    io, ii = s[B].split(s[B].op.axis[0], nparts=1)
    iio, iii = s[B].split(ii, nparts=32)
    _, iiii = s[B].split(iii, factor=4)
    s[B].vectorize(iiii)
    s[B].bind(io, bx)
    s[B].bind(iio, tx)
    return s


INTRIN1 = [
    (tvm.tir.floor, lambda x: np.floor(x), "float16"),
    (tvm.tir.exp10, lambda x: np.power(10, x), "float32"),
    (tvm.tir.log2, lambda x: np.log2(x), "float16"),
    (tvm.tir.atan, lambda x: np.arctan(x), "float32"),
]


def test_vectorized_intrin1():
    def run_test(tvm_intrin, np_func, dtype):
        n = 128
        A = te.placeholder((n,), dtype=dtype, name="A")
        B = te.compute((n,), lambda *i: tvm_intrin(A(*i)), name="B")
        s = sched(B)
        f = tvm.build(s, [A, B], CUDA)
        dev = tvm.device(CUDA, 0)
        a = tvm.nd.array(np.random.uniform(0, 1, size=n).astype(A.dtype), dev)
        b = tvm.nd.array(np.zeros(shape=(n,)).astype(A.dtype), dev)
        f(a, b)
        tvm.testing.assert_allclose(b.numpy(), np_func(a.numpy()), atol=1e-3, rtol=1e-3)

    # TVM runs 19 intrinsics in float32 and float16; a subset here
    for func in INTRIN1:
        run_test(*func)


def test_vectorized_intrin2(dtype="float32"):
    c2 = tvm.tir.const(2, dtype=dtype)
    test_funcs = [
        (tvm.tir.power, lambda x: np.power(x, 2.0)),
        (tvm.tir.fmod, lambda x: np.fmod(x, 2.0)),
    ]

    def run_test(tvm_intrin, np_func):
        n = 128
        A = te.placeholder((n,), dtype=dtype, name="A")
        B = te.compute((n,), lambda i: tvm_intrin(A[i], c2), name="B")
        s = sched(B)
        f = tvm.build(s, [A, B], CUDA)
        dev = tvm.device(CUDA, 0)
        a = tvm.nd.array(np.random.uniform(0, 1, size=n).astype(A.dtype), dev)
        b = tvm.nd.array(np.zeros(shape=(n,)).astype(A.dtype), dev)
        f(a, b)
        tvm.testing.assert_allclose(b.numpy(), np_func(a.numpy()), atol=1e-3, rtol=1e-3)

    for func in test_funcs:
        run_test(*func)


def test_vectorized_popcount():
    def ref_popcount(x):
        x = int(x)  # a Python int: numpy's unsigned -x warns about overflow
        cnt = 0
        while x:
            x -= x & -x
            cnt += 1
        return cnt

    def run_test(dtype):
        n = 128
        A = te.placeholder((n,), dtype=dtype, name="A")
        B = te.compute((n,), lambda i: tvm.tir.popcount(A[i]), name="B")
        s = sched(B)
        f = tvm.build(s, [A, B], CUDA)
        dev = tvm.device(CUDA, 0)
        a = tvm.nd.array(np.random.randint(0, 100000, size=n).astype(A.dtype), dev)
        b = tvm.nd.array(np.zeros(shape=(n,)).astype(B.dtype), dev)
        f(a, b)
        ref = np.vectorize(ref_popcount)(a.numpy())
        tvm.testing.assert_allclose(b.numpy(), ref)

    run_test("uint32")
    run_test("uint64")


def test_cuda_vectorize_load_permute_pad():
    def check_cuda(dtype, n, l, padding, lanes):
        dev = tvm.device(CUDA, 0)
        A = tvm.te.placeholder((n, l), name="A", dtype=dtype)
        B = tvm.te.compute(
            (n // lanes, l + 2 * padding, lanes),
            lambda i, j, k: tvm.te.if_then_else(
                tvm.te.any(j < padding, j >= l + padding),
                tvm.runtime.convert(0).astype(dtype),
                A[i * lanes + k, j - padding],
            ),
            name="B",
        )
        s = te.create_schedule(B.op)
        block, thread, vectorize = s[B].op.axis
        s[B].bind(block, bx)
        s[B].bind(thread, tx)
        s[B].vectorize(vectorize)
        fun = tvm.build(s, [A, B], CUDA, name="vector_load_permute_pad")
        np_a = np.random.randint(low=-128, high=127, size=(n, l)).astype(A.dtype)
        a = tvm.nd.empty((n, l), A.dtype, dev).copyfrom(np_a)
        b = tvm.nd.empty((n // lanes, l + padding * 2, lanes), B.dtype, dev)
        fun(a, b)
        np_a_reshape = np_a.reshape(n // lanes, lanes, l).transpose(0, 2, 1)
        ref = np.pad(
            np_a_reshape, ((0, 0), (padding, padding), (0, 0)), mode="constant", constant_values=0
        )
        tvm.testing.assert_allclose(b.numpy(), ref)

    check_cuda("float16", 64, 16, 3, 4)
    # TVM also runs int8 / uint8 x2 and x4, int32 x4 and float32 x4 (left out for the CI budget)


def test_unrolled_vectorization():
    dtype = "float32"
    target = CUDA

    # Compute declaration
    N = 128
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    k = te.reduce_axis((0, N), name="k")
    C = te.compute((N, N), lambda i, j: te.sum(A[i][k] * B[k][j], axis=[k]), name="C")

    # Schedule
    s = te.create_schedule([C.op])
    CC = s.cache_write(C, "local")
    i, j = s[C].op.axis
    bx, tx, ii, ji = s[C].tile(i, j, 1, 2)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    s[C].vectorize(ji)
    s[CC].compute_at(s[C], tx)
    i, j = s[CC].op.axis
    k = s[CC].op.reduce_axis[0]
    ko, ki = s[CC].split(k, 2)
    s[CC].unroll(ki)
    s[CC].vectorize(j)

    # Check correctness (TVM uses ones; random inputs here)
    dev = tvm.device(target)
    a_np = np.random.uniform(size=(N, N)).astype(dtype)
    b_np = np.random.uniform(size=(N, N)).astype(dtype)
    a_tvm = tvm.nd.array(a_np, device=dev)
    b_tvm = tvm.nd.array(b_np, device=dev)
    c_tvm = tvm.nd.empty((N, N), device=dev)
    func_tvm = tvm.build(s, [A, B, C], target=target)
    func_tvm(a_tvm, b_tvm, c_tvm)
    c_np = c_tvm.numpy()
    tvm.testing.assert_allclose(c_np, a_np @ b_np, rtol=1e-5)


def test_try_unaligned_vector_load():
    def get_compute(N, C_N, offset):
        A = te.placeholder((N,), name="A", dtype="float16")
        C = te.compute((C_N,), lambda i: A[i + offset], name="C")
        return N, C_N, A, C

    def get_compute_unaligned():
        return get_compute(3, 2, 1)

    def get_compute_aligned():
        return get_compute(4, 2, 2)

    def build(A, C, N, C_N):
        s = te.create_schedule(C.op)
        oi, ii = s[C].split(C.op.axis[0], factor=2)
        s[C].bind(oi, te.thread_axis("threadIdx.x"))
        s[C].vectorize(ii)  # BUG: misalignment

        tgt = tvm.target.Target(target=CUDA, host="llvm")
        dev = tvm.device(tgt.kind.name, 0)
        f = tvm.build(s, [A, C], tgt, name="foo")
        kernel_source = f.imported_modules[0].get_source()

        a_data = np.arange(0, N).astype(A.dtype)
        a = tvm.nd.array(a_data, dev)
        c = tvm.nd.array(np.zeros(C_N, dtype=C.dtype), dev)
        f(a, c)

        return a_data, c.numpy(), kernel_source

    N, C_N, A, C = get_compute_unaligned()
    a_data, c, kernel_source = build(A, C, N, C_N)
    # (uint1*)(A + (1)) is invalid
    assert "A + (1)" not in kernel_source

    expected = a_data[1 : C_N + 1]
    assert np.allclose(c, expected), f"expected={expected}\nactual={c}"

    N, C_N, A, C = get_compute_aligned()
    a_data, c, kernel_source = build(A, C, N, C_N)
    # TVM also asserts "A + 2" in kernel_source (its CUDA printer's text for the vector load)

    expected = a_data[2 : C_N + 2]
    assert np.allclose(c, expected), f"expected={expected}\nactual={c}"


if __name__ == "__main__":
    pytest.main([__file__])
