"""Every schedule primitive, built and run, compared with numpy on fresh random data."""

import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ScheduleError
from tests.conftest import random_array, run


def _vadd(n=1000):
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] * 2.0 + B[i], name="C")
    return A, B, C


def _matmul(n, m, l, dtype="float32"):
    A = te.placeholder((n, l), name="A", dtype=dtype)
    B = te.placeholder((l, m), name="B", dtype=dtype)
    k = te.reduce_axis((0, l), name="k")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return A, B, C


def _check_vadd(s, A, B, C, rng, n=1000):
    a, b = random_array(rng, (n,), "float32"), random_array(rng, (n,), "float32")
    (c,) = run(s, [A, B, C], [a, b], [((n,), "float32")])
    np.testing.assert_allclose(c, a * 2 + b, rtol=1e-6)


def _check_mm(s, A, B, C, rng, n, m, l, dtype="float32"):
    a, b = random_array(rng, (n, l), dtype), random_array(rng, (l, m), dtype)
    (c,) = run(s, [A, B, C], [a, b], [((n, m), dtype)])
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("factor", [1, 7, 16, 1000, 1500])
def test_split_factor_with_tails(rng, factor):
    A, B, C = _vadd()
    s = te.create_schedule(C.op)
    s[C].split(C.op.axis[0], factor=factor)
    _check_vadd(s, A, B, C, rng)


@pytest.mark.parametrize("nparts", [1, 3, 64])
def test_split_nparts(rng, nparts):
    A, B, C = _vadd()
    s = te.create_schedule(C.op)
    s[C].split(C.op.axis[0], nparts=nparts)
    _check_vadd(s, A, B, C, rng)


def test_vectorize_with_tail_and_parallel(rng):
    A, B, C = _vadd(1003)
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=16)
    s[C].parallel(xo)
    s[C].vectorize(xi)
    f = tl.build(s, [A, B, C], target="llvm", name="vadd")
    assert "<16 x float>" in f.get_source("ll")
    a, b = random_array(rng, (1003,), "float32"), random_array(rng, (1003,), "float32")
    c = np.empty_like(a)
    f(a, b, c)
    np.testing.assert_allclose(c, a * 2 + b, rtol=1e-6)


def test_symbolic_shape_end_to_end(rng):
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute(A.shape, lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=16)
    s[C].parallel(xo)
    s[C].vectorize(xi)
    text = str(tl.lower(s, [A, B, C]))
    assert "vectorized" in text or "ramp" in text
    f = tl.build(s, [A, B, C], target="llvm", name="vadd")
    for size in (1, 15, 16, 17, 1000):
        a, b = random_array(rng, (size,), "float32"), random_array(rng, (size,), "float32")
        c = np.empty_like(a)
        f(a, b, c)
        np.testing.assert_allclose(c, a + b, rtol=1e-6)


def test_fuse_and_split_of_fused(rng):
    A = te.placeholder((13, 7), name="A")
    B = te.compute((13, 7), lambda i, j: A[i, j] * A[i, j], name="B")
    s = te.create_schedule(B.op)
    f = s[B].fuse(*B.op.axis)
    fo, fi = s[B].split(f, factor=8)
    s[B].vectorize(fi)
    a = random_array(rng, (13, 7), "float32")
    (b,) = run(s, [A, B], [a], [((13, 7), "float32")])
    np.testing.assert_allclose(b, a * a, rtol=1e-6)


def test_reorder_and_tile_matmul(rng):
    A, B, C = _matmul(37, 45, 29)
    s = te.create_schedule(C.op)
    i, j = C.op.axis
    (k,) = C.op.reduce_axis
    io, jo, ii, ji = s[C].tile(i, j, 8, 16)
    ko, ki = s[C].split(k, factor=5)
    s[C].reorder(io, jo, ko, ii, ki, ji)
    s[C].vectorize(ji)
    s[C].unroll(ki)
    s[C].parallel(io)
    _check_mm(s, A, B, C, rng, 37, 45, 29)


def test_unroll_and_pragma(rng):
    A, B, C = _matmul(16, 16, 16)
    s = te.create_schedule(C.op)
    i, j = C.op.axis
    (k,) = C.op.reduce_axis
    ko, ki = s[C].split(k, factor=4)
    s[C].unroll(ki)
    s[C].pragma(i, "auto_unroll_max_step", 16)
    text = str(tl.lower(s, [A, B, C]))
    assert "k.inner" not in text  # unrolled away
    _check_mm(s, A, B, C, rng, 16, 16, 16)


def test_compute_at_and_inline(rng):
    A = te.placeholder((50,), name="A")
    B = te.compute((50,), lambda i: A[i] + 1.0, name="B")
    C = te.compute((50,), lambda i: B[i] * 3.0, name="C")
    D = te.compute((50,), lambda i: C[i] - A[i], name="D")
    s = te.create_schedule(D.op)
    do, di = s[D].split(D.op.axis[0], factor=8)
    s[C].compute_at(s[D], do)
    s[B].compute_inline()
    text = str(tl.lower(s, [A, D]))
    assert "allocate C" in text and "allocate B" not in text
    a = random_array(rng, (50,), "float32")
    (d,) = run(s, [A, D], [a], [((50,), "float32")])
    # (a + 1) * 3 - a is an FMA here: near a = -1.5 it cancels to below rtol's reach
    np.testing.assert_allclose(d, (a + 1) * 3 - a, rtol=1e-5, atol=1e-6)


def test_compute_root_after_compute_at(rng):
    A = te.placeholder((20,), name="A")
    B = te.compute((20,), lambda i: A[i] + 1.0, name="B")
    C = te.compute((20,), lambda i: B[i] * 3.0, name="C")
    s = te.create_schedule(C.op)
    s[B].compute_at(s[C], C.op.axis[0])
    s[B].compute_root()
    a = random_array(rng, (20,), "float32")
    (c,) = run(s, [A, C], [a], [((20,), "float32")])
    np.testing.assert_allclose(c, (a + 1) * 3, rtol=1e-6)


def test_stencil_compute_at_region(rng):
    n = 64
    A = te.placeholder((n + 2,), name="A")
    B = te.compute((n + 2,), lambda i: A[i] * 2.0, name="B")
    C = te.compute((n,), lambda i: B[i] + B[i + 1] + B[i + 2], name="C")
    s = te.create_schedule(C.op)
    co, ci = s[C].split(C.op.axis[0], factor=8)
    s[B].compute_at(s[C], co)
    text = str(tl.lower(s, [A, C]))
    assert "allocate B[float32 * 10]" in text  # 8 + 2 halo elements per iteration
    a = random_array(rng, (n + 2,), "float32")
    (c,) = run(s, [A, C], [a], [((n,), "float32")])
    np.testing.assert_allclose(c, 2 * (a[:-2] + a[1:-1] + a[2:]), rtol=1e-5)


def test_cache_read_and_cache_write(rng):
    A, B, C = _matmul(32, 48, 40)
    s = te.create_schedule(C.op)
    AA = s.cache_read(A, "local", [C])
    CC = s.cache_write(C, "local")
    i, j = s[C].op.axis
    io, jo, ii, ji = s[C].tile(i, j, 8, 16)
    s[CC].compute_at(s[C], jo)
    s[AA].compute_at(s[CC], s[CC].op.reduce_axis[0])
    ic, jc = s[CC].op.axis
    s[CC].reorder(s[CC].op.reduce_axis[0], ic, jc)
    s[CC].vectorize(jc)
    _check_mm(s, A, B, C, rng, 32, 48, 40)


def test_rfactor_sum(rng):
    n, m = 8, 1000
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    B = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=16)
    BF = s.rfactor(B, ki)
    xo, xi = s[B].split(s[B].op.axis[0], factor=4)
    s[BF].compute_at(s[B], xo)
    a = random_array(rng, (n, m), "float32")
    (b,) = run(s, [A, B], [a], [((n,), "float32")])
    np.testing.assert_allclose(b, a.sum(axis=1), rtol=1e-4, atol=1e-4)


def test_rfactor_parallel_partials(rng):
    m = 1003
    A = te.placeholder((m,), name="A")
    k = te.reduce_axis((0, m), name="k")
    B = te.compute((1,), lambda i: te.sum(A[k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(k, nparts=4)
    BF = s.rfactor(B, ko)
    s[BF].parallel(s[BF].op.axis[0])
    a = random_array(rng, (m,), "float32")
    (b,) = run(s, [A, B], [a], [((1,), "float32")])
    np.testing.assert_allclose(b[0], a.sum(), rtol=1e-4, atol=1e-4)


def test_reduce_axis_with_nonzero_start_and_where(rng):
    A = te.placeholder((10, 12), name="A")
    k = te.reduce_axis((2, 11), name="k")
    B = te.compute((10,), lambda i: te.sum(A[i, k], axis=k, where=(k % 2 == 0)), name="B")
    s = te.create_schedule(B.op)
    a = random_array(rng, (10, 12), "float32")
    (b,) = run(s, [A, B], [a], [((10,), "float32")])
    np.testing.assert_allclose(b, a[:, 2:11:2].sum(axis=1), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["int32", "int8", "float64", "int64", "uint8"])
def test_dtype_variants_matmul(rng, dtype):
    A, B, C = _matmul(17, 9, 13, dtype)
    s = te.create_schedule(C.op)
    jo, ji = s[C].split(C.op.axis[1], factor=4)
    s[C].vectorize(ji)
    a, b = random_array(rng, (17, 13), dtype), random_array(rng, (13, 9), dtype)
    (c,) = run(s, [A, B, C], [a, b], [((17, 9), dtype)])
    if dtype == "float64":
        np.testing.assert_allclose(c, a @ b, rtol=1e-10)
    else:
        np.testing.assert_array_equal(c, (a @ b).astype(dtype))


def test_prefetch_is_checked_warned_once_and_changes_nothing():
    """TVM's Stage.prefetch is a hint: accepted on a tensor the stage reads, said once to be
    unapplied, and the result is the same; a tensor the stage does not read is refused by name."""
    A = te.placeholder((64,), name="A")
    C = te.compute((64,), lambda i: A[i] * 2.0 + 1.0, name="C")
    s = te.create_schedule(C.op)
    xo, _ = s[C].split(C.op.axis[0], 16)
    with pytest.warns(UserWarning, match=r"Stage.prefetch\(A, i.outer, 1\) is a hint tensorlang does not apply"):
        s[C].prefetch(A, xo, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s[C].prefetch(A, xo, 2)  # once per stage
    f = tl.build(s, [A, C])
    a = np.random.default_rng().standard_normal(64).astype("float32")
    c = np.empty_like(a)
    f(a, c)
    np.testing.assert_allclose(c, a * 2.0 + 1.0, rtol=1e-6)
    with pytest.raises(ScheduleError, match="prefetch needs a tensor that C reads"):
        s[C].prefetch(C, xo, 1)
    with pytest.raises(ScheduleError, match="prefetch offset"):
        s[C].prefetch(A, xo, -1)


def test_two_axes_of_one_stage_on_one_thread_index_are_refused():
    """Both axes on threadIdx.x would run as one loop and compute a wrong answer; two virtual
    threads of the "vthread" tag (vx, vy) are distinct and stay allowed, as in TVM."""
    A = te.placeholder((16, 16), name="A")
    B = te.compute((16, 16), lambda i, j: A[i, j] * 2.0, name="B")
    s = te.create_schedule(B.op)
    i, j = B.op.axis
    s[B].bind(i, te.thread_axis("threadIdx.x"))
    with pytest.raises(ScheduleError, match="axis i is already bound to threadIdx.x; j cannot be bound"):
        s[B].bind(j, te.thread_axis("threadIdx.x"))
    s = te.create_schedule(B.op)
    io, ii = s[B].split(i, nparts=2)
    jo, ji = s[B].split(j, nparts=2)
    s[B].reorder(io, jo, ii, ji)
    s[B].bind(io, te.thread_axis((0, 2), "vthread", name="vx"))
    s[B].bind(jo, te.thread_axis((0, 2), "vthread", name="vy"))
    s[B].bind(ii, te.thread_axis("threadIdx.y"))
    s[B].bind(ji, te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, B], target="cuda -emulate")
    a = np.random.default_rng().standard_normal((16, 16)).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a * 2.0)


@pytest.mark.parametrize("index_dtype", ["int64", "int8", "uint16"])
def test_inline_a_stage_read_at_an_index_of_another_integer_type(index_dtype):
    # topi.take(..., mode="clip") under schedule_injective: the inlined stage's int32 index
    # arithmetic received the int64 index read from I (a DTypeError at build).
    A = te.placeholder((10,), name="A")
    I = te.placeholder((5,), name="I", dtype=index_dtype)
    F = te.compute((10,), lambda j: A[j + 0] * 2.0 + A[9 - j], name="F")
    B = te.compute((5,), lambda i: F[I[i]], name="B")
    s = te.create_schedule(B.op)
    s[F].compute_inline()
    f = tl.build(s, [A, I, B], "llvm")
    a = np.random.rand(10).astype("float32")
    idx = np.random.randint(0, 10, 5).astype(index_dtype)
    out = np.empty(5, "float32")
    f(a, idx, out)
    np.testing.assert_allclose(out, a[idx] * 2 + a[9 - idx.astype(np.int64)], rtol=1e-6)


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_compute_at_a_consumer_whose_index_is_a_shared_subexpression(target):
    # An index node the consumer reads at twice becomes a Let (te.cse); bound inference sized the
    # producer with the Let's variable, used outside its scope (max pool_grad under
    # topi.cuda.schedule_pool: "variable 'cse3' is used but never bound").
    n = 64
    A = te.placeholder((n // 2,), name="A")
    P = te.compute((n // 2,), lambda j: A[j] * 2.0 + 1.0, name="P")

    def body(i):
        t = te.min(i // 2, n // 2 - 1)  # one node, read twice
        return P[t] + P[t] * 3.0
    C = te.compute((n,), body, name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=8)
    s[P].compute_at(s[C], xo)
    if target != "llvm":
        s[C].bind(xo, te.thread_axis("blockIdx.x"))
        s[C].bind(xi, te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, C], target)
    a = np.random.rand(n // 2).astype("float32")
    c = np.empty(n, "float32")
    f(a, c)
    t = np.minimum(np.arange(n) // 2, n // 2 - 1)
    np.testing.assert_allclose(c, (a[t] * 2 + 1) * 4, rtol=1e-6)
