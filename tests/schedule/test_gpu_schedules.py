"""GPU schedules (thread binding, shared/local memory, barriers), checked on the CPU through
the emulation mode (``target="cuda -emulate"``) against numpy, and compiled by NVRTC."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import TensorLangError
from tests.conftest import random_array

EMU = "cuda -emulate -arch=sm_90"


def _nvrtc_available() -> bool:
    from tensorlang.target.cuda import nvrtc
    return nvrtc.nvrtc_available()


def _compile_with_nvrtc(s, args, name):
    """Build for the real GPU target: lowering, CUDA C and NVRTC compilation all run."""
    if not _nvrtc_available():
        pytest.skip("libnvrtc not installed (pip install nvidia-cuda-nvrtc)")
    mod = tl.build(s, args, target="cuda -arch=sm_90", name=name)
    src = mod.get_source("cuda")
    assert "__global__" in src
    return mod


def vadd_gpu(n=1000):
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    bx, tx = s[C].split(C.op.axis[0], factor=64)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B, C]


def matmul_gpu(N, M, L, tile=16, kt=8, vthread=False):
    A = te.placeholder((N, L), name="A")
    B = te.placeholder((L, M), name="B")
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    AA = s.cache_read(A, "shared", [C])
    BB = s.cache_read(B, "shared", [C])
    CL = s.cache_write(C, "local")
    by, bx = te.thread_axis("blockIdx.y"), te.thread_axis("blockIdx.x")
    ty, tx = te.thread_axis("threadIdx.y"), te.thread_axis("threadIdx.x")
    i, j = s[C].op.axis
    bi, ti = s[C].split(i, factor=tile)
    bj, tj = s[C].split(j, factor=tile)
    if vthread:
        vi, ti = s[C].split(ti, nparts=2)
        s[C].reorder(bi, bj, vi, ti, tj)
        s[C].bind(vi, te.thread_axis("vthread"))
    else:
        s[C].reorder(bi, bj, ti, tj)
    s[C].bind(bi, by)
    s[C].bind(bj, bx)
    s[C].bind(ti, ty)
    s[C].bind(tj, tx)
    s[CL].compute_at(s[C], tj)
    (kk,) = s[CL].op.reduce_axis
    ko, ki = s[CL].split(kk, factor=kt)
    s[AA].compute_at(s[CL], ko)
    s[BB].compute_at(s[CL], ko)
    nty = tile // 2 if vthread else tile
    for T in (AA, BB):
        f = s[T].fuse(*s[T].op.axis)
        fo, fi = s[T].split(f, factor=nty * tile)
        fty, ftx = s[T].split(fi, nparts=nty)
        s[T].bind(fty, ty)
        s[T].bind(ftx, tx)
    return s, [A, B, C]


def test_vadd_emulated(rng):
    s, args = vadd_gpu(1000)
    f = tl.build(s, args, target=EMU, name="vadd")
    a, b = random_array(rng, (1000,), "float32"), random_array(rng, (1000,), "float32")
    c = np.empty_like(a)
    f(a, b, c)
    np.testing.assert_allclose(c, a + b, rtol=1e-6)
    assert "blockIdx.x" in f.get_source("cuda")


@pytest.mark.parametrize("shape", [(64, 64, 64), (50, 70, 33)])
def test_shared_memory_matmul_emulated(rng, shape):
    N, M, L = shape
    s, args = matmul_gpu(N, M, L)
    text = str(tl.lower(s, args))
    f = tl.build(s, args, target=EMU, name="mm")
    src = f.get_source("cuda")
    assert "__shared__" in src and "__syncthreads()" in src
    assert "launch_thread" in text
    a, b = random_array(rng, (N, L), "float32"), random_array(rng, (L, M), "float32")
    c = np.empty((N, M), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_vthread_matmul_emulated(rng):
    s, args = matmul_gpu(64, 64, 40, vthread=True)
    f = tl.build(s, args, target=EMU, name="mm_vt")
    a, b = random_array(rng, (64, 40), "float32"), random_array(rng, (40, 64), "float32")
    c = np.empty((64, 64), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_reduction_with_local_accumulator_emulated(rng):
    n, m = 37, 300
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    B = te.compute((n,), lambda i: te.sum(A[i, k] * A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, B], target=EMU, name="rowsq")
    a = random_array(rng, (n, m), "float32")
    b = np.empty(n, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, (a * a).sum(axis=1), rtol=1e-4)


def test_nvrtc_compiles_gpu_schedules():
    for name, (s, args) in {"vadd": vadd_gpu(), "mm": matmul_gpu(64, 64, 64),
                            "mm_vt": matmul_gpu(64, 64, 40, vthread=True)}.items():
        _compile_with_nvrtc(s, args, name)


def test_unbound_stage_is_rejected():
    A = te.placeholder((64,), name="A")
    B = te.compute((64,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    with pytest.raises(TensorLangError, match="bind"):
        tl.build(s, [A, B], target=EMU)


def test_too_many_threads_is_rejected():
    A = te.placeholder((4096,), name="A")
    B = te.compute((4096,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=2048)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    with pytest.raises(TensorLangError, match="2048"):
        tl.build(s, [A, B], target=EMU)


def test_vthreads_interleave_and_share_one_fetch(rng):
    """TVM's virtual threads: the shared fetch covering both virtual threads runs once per k-tile
    (not once per virtual thread), each virtual thread gets its own accumulator (C.local twice as
    long), and their updates interleave inside one k loop instead of one nest after another."""
    from tensorlang.ir.stmt import For, Store
    from tensorlang.te.functor import post_order_visit
    s, args = matmul_gpu(64, 64, 40, vthread=True)
    func = tl.lower(s, args)
    stores: dict[str, int] = {}
    k_loops: list[For] = []

    def fn(n):
        if isinstance(n, Store):
            stores[n.buffer.name] = stores.get(n.buffer.name, 0) + 1
        if isinstance(n, For) and n.loop_var.name.startswith("k") and n.loop_var.name.endswith(".inner"):
            k_loops.append(n)
    post_order_visit(func.body, fn)
    assert stores["A.shared"] == 1 and stores["B.shared"] == 1
    assert len(k_loops) == 1  # one k loop holds both virtual threads' updates
    updates = []
    post_order_visit(k_loops[0].body, lambda n: updates.append(n) if isinstance(n, Store) else None)
    assert [u.buffer.name for u in updates] == ["C.local", "C.local"]
    assert "allocate C.local[float32 * 2]" in str(func)
    f = tl.build(s, args, target=EMU, name="mm_vt")
    a, b = random_array(rng, (64, 40), "float32"), random_array(rng, (40, 64), "float32")
    c = np.empty((64, 64), np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_nested_vthreads_each_get_their_copy(rng):
    """Two vthread axes (2 x 3 virtual threads) over a local accumulator and a guarded tail."""
    N, M, L = 30, 36, 20
    A = te.placeholder((N, L), name="A")
    B = te.placeholder((L, M), name="B")
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    CL = s.cache_write(C, "local")
    i, j = s[C].op.axis
    bi, ti = s[C].split(i, factor=8)
    vi, ti = s[C].split(ti, nparts=2)
    bj, tj = s[C].split(j, factor=12)
    vj, tj = s[C].split(tj, nparts=3)
    s[C].reorder(bi, bj, vi, vj, ti, tj)
    for ax, tag in ((bi, "blockIdx.y"), (bj, "blockIdx.x"), (vi, "vthread"), (vj, "vthread"),
                    (ti, "threadIdx.y"), (tj, "threadIdx.x")):
        s[C].bind(ax, te.thread_axis(tag))
    s[CL].compute_at(s[C], tj)
    func = tl.lower(s, [A, B, C])
    assert "allocate C.local[float32 * 6]" in str(func)
    f = tl.build(s, [A, B, C], target=EMU)
    a, b = random_array(rng, (N, L), "float32"), random_array(rng, (L, M), "float32")
    c = np.full((N, M), np.nan, np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
