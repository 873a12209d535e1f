"""tir.atomic_add in IR-builder CUDA kernels (TVM's test_llvm_gpu_lower_atomic and test_cuda
atomic patterns): CUDA C atomicAdd returning the old value, emulated as read-add-writes that no
two threads interleave, checked against numpy on fresh random data, compiled by NVRTC for sm_90,
and the CUDA C itself run with one OS thread per GPU thread."""

from __future__ import annotations

import ctypes
import re
import shutil

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import BuildError, LoweringError
from tensorlang.ir import stmt as S
from tensorlang.lowering.kernel_allocations import move_allocations_into_kernels
from tensorlang.target.cuda import nvrtc
from tensorlang.target.cuda.build import build_cuda
from tensorlang.target.cuda.emulate import emulated_body
from tensorlang.te.functor import post_order_visit

from .helpers import SM90, needs_nvrtc
from .test_on_cpu import _HOST_PRELUDE, _launcher, compiled_host_library

DTYPES = ["int32", "uint32", "float32", "float64"]
THREADS = 64


def atomic_add(address, value):
    """TVM's helper (topi.cuda.nms): the old value of ``*address``, which gets ``value`` added."""
    return tvm.tir.call_intrin(value.dtype, "tir.atomic_add", address, value)


def address_of(ptr, index):
    return tvm.tir.call_intrin("handle", "tir.address_of", ptr[index])


def scatter_add(n: int, bins: int, dtype: str):
    """Thread i adds X[i] to H[I[i]] (H is updated in place) and writes the value it found there
    to Old[i]; the scratch holding it is allocated before the thread scope (TVM's tests)."""
    X = te.placeholder((n,), dtype=dtype, name="X")
    Idx = te.placeholder((n,), dtype="int32", name="I")
    H = te.placeholder((bins,), dtype=dtype, name="H")

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        x, idx, h, old_out = (ib.buffer_ptr(b) for b in (*ins, outs[0]))
        old = ib.allocate(dtype, (1,), name="old", scope="local")
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", (n + THREADS - 1) // THREADS)
        ib.scope_attr(tx, "thread_extent", THREADS)
        i = bx * THREADS + tx
        with ib.if_scope(i < n):
            old[0] = atomic_add(address_of(h, idx[i]), x[i])
            old_out[i] = old[0]
        return ib.get()

    Old = te.extern((n,), [X, Idx, H], body, dtype=dtype, name="Old")
    return te.create_schedule(Old.op), [X, Idx, H, Old]


def scatter_data(n: int, bins: int, dtype: str, rng: np.random.Generator):
    # Positive whole numbers: every partial sum is exact in each type, so the result is the same
    # whatever order the threads add in, and each thread's old value tells where it came.
    x = rng.integers(1, 50, n).astype(dtype)
    idx = rng.integers(0, bins, n).astype("int32")
    h = rng.integers(0, 1000, bins).astype(dtype)
    return x, idx, h


def check_scatter(x, idx, h0, h, old) -> None:
    """H is H0 plus every X of its bin, and the old values chain: in each bin, sorted, the first
    is H0 and each next one is the previous plus its thread's X (no add was lost or torn)."""
    want = h0.copy()
    np.add.at(want, idx, x)
    np.testing.assert_array_equal(h, want)
    for b in np.unique(idx):
        mine = np.flatnonzero(idx == b)
        order = mine[np.argsort(old[mine], kind="stable")]
        chain = np.concatenate([[h0[b]], old[order][:-1] + x[order][:-1]]).astype(h.dtype)
        np.testing.assert_array_equal(old[order], chain)
        assert old[order][-1] + x[order][-1] == h[b]


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_add_emulated_matches_numpy(dtype):
    rng = np.random.default_rng()
    n, bins = int(rng.integers(THREADS + 1, 40 * THREADS)), int(rng.integers(1, 12))
    s, args = scatter_add(n, bins, dtype)
    f = tvm.build(s, args, target="cuda -emulate")
    x, idx, h0 = scatter_data(n, bins, dtype, rng)
    h, old = h0.copy(), np.zeros(n, dtype)
    f(x, idx, h, old)
    check_scatter(x, idx, h0, h, old)
    src = f.get_source("cuda")
    params = re.search(r"kernel0\((.*?)\) \{", src).group(1).split(", ")
    assert "atomicAdd(&H[I[" in src and not next(p for p in params if p.endswith(" H")).startswith("const")
    if nvrtc.nvrtc_available():  # the emulated build compiled the CUDA C for sm_90 too
        assert re.search(r"\batom\.(global\.)?add", f.get_source("ptx"))


def test_tvm_lower_atomic_pattern():
    # test_llvm_gpu_lower_atomic: one thread per block, a local scratch allocated before the scope.
    def do_atomic_add(A):
        ib = tvm.tir.ir_builder.create()
        n = A.shape[0]
        atomic_add_return = ib.allocate(A.dtype, (1,), name="atomic_add_return", scope="local")
        one = tvm.tir.const(1, A.dtype)
        A_ptr = ib.buffer_ptr(A)
        with ib.new_scope():
            bx = te.thread_axis("blockIdx.x")
            ib.scope_attr(bx, "thread_extent", n)
            atomic_add_return[0] = atomic_add(address_of(A_ptr, 0), one)
        return ib.get()

    rng = np.random.default_rng()
    for dtype in DTYPES:
        size = int(rng.integers(100, 3000))
        A = te.placeholder((size,), dtype=dtype, name="A")
        C = te.extern((size,), [A], lambda ins, _: do_atomic_add(ins[0]), dtype=dtype)
        with pytest.warns(UserWarning, match="not in the argument list"):
            f = tvm.build(te.create_schedule([C.op]), [A], target="cuda -emulate")
        a0 = rng.integers(0, 100, size).astype(dtype)
        a = tvm.nd.array(a0.copy(), tvm.cuda())
        f(a)
        ref = a0.copy()
        ref[0] += size
        np.testing.assert_array_equal(a.numpy(), ref)


def counter_kernel(blocks: int):
    """Each thread takes a slot with ``let slot = atomic_add(&C[0], 1)``, passes a barrier, writes
    its global id to Out[slot] and adds 2 to C[1] without using the result (an Evaluate)."""
    cnt = te.placeholder((2,), dtype="int32", name="cnt")

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        c, out = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", blocks)
        ib.scope_attr(tx, "thread_extent", THREADS)
        slot = ib.let("slot", atomic_add(address_of(c, 0), tvm.tir.const(1, "int32")))
        ib.emit(tvm.tir.call_intrin("int32", "tir.tvm_storage_sync", "shared"))
        out[slot] = bx * THREADS + tx
        ib.emit(atomic_add(address_of(c, 1), tvm.tir.const(2, "int32")))
        return ib.get()

    out = te.extern((blocks * THREADS,), [cnt], body, dtype="int32", name="out")
    return te.create_schedule(out.op), [cnt, out]


def test_old_values_survive_a_barrier_and_are_distinct():
    rng = np.random.default_rng()
    blocks = int(rng.integers(2, 40))
    s, args = counter_kernel(blocks)
    f = tvm.build(s, args, target="cuda -emulate")
    total = blocks * THREADS
    cnt, out = np.array([0, 7], "int32"), np.full(total, -1, "int32")
    f(cnt, out)
    np.testing.assert_array_equal(cnt, [total, 7 + 2 * total])
    np.testing.assert_array_equal(np.sort(out), np.arange(total))  # every slot taken exactly once
    assert "(void)atomicAdd(&cnt[1], 2);" in f.get_source("cuda")


def shared_histogram(n: int, bins: int):
    """Per block: a shared histogram zeroed, filled with atomic adds, then written out."""
    V = te.placeholder((n,), dtype="int32", name="V")
    blocks = (n + THREADS - 1) // THREADS

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        v, out = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        hist = ib.allocate("uint32", (bins,), name="hist", scope="shared")  # before the scope: per block
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", blocks)
        ib.scope_attr(tx, "thread_extent", THREADS)
        with ib.if_scope(tx < bins):
            hist[tx] = tvm.tir.const(0, "uint32")
        ib.emit(tvm.tir.call_intrin("int32", "tir.tvm_storage_sync", "shared"))
        i = bx * THREADS + tx
        with ib.if_scope(i < n):
            ib.emit(atomic_add(address_of(hist, v[i]), tvm.tir.const(1, "uint32")))
        ib.emit(tvm.tir.call_intrin("int32", "tir.tvm_storage_sync", "shared"))
        with ib.if_scope(tx < bins):
            out[bx * bins + tx] = hist[tx]
        return ib.get()

    H = te.extern((blocks, bins), [V], body, dtype="uint32", name="Hist")
    return te.create_schedule(H.op), [V, H]


def test_shared_memory_histogram_per_block():
    rng = np.random.default_rng()
    n, bins = int(rng.integers(THREADS, 30 * THREADS)), int(rng.integers(2, THREADS))
    s, args = shared_histogram(n, bins)
    f = tvm.build(s, args, target="cuda -emulate")
    v = rng.integers(0, bins, n).astype("int32")
    blocks = (n + THREADS - 1) // THREADS
    out = np.zeros((blocks, bins), "uint32")
    f(v, out)
    want = np.stack([np.bincount(v[b * THREADS:(b + 1) * THREADS], minlength=bins) for b in range(blocks)])
    np.testing.assert_array_equal(out, want.astype("uint32"))
    assert "__shared__" in f.get_source("cuda") and "atomicAdd(&hist[" in f.get_source("cuda")


def _parallel_loops(stmt) -> int:
    found = []
    post_order_visit(stmt, lambda n: found.append(n) if isinstance(n, S.For) and n.kind is S.ForKind.PARALLEL
                     else None)
    return len(found)


def test_emulation_runs_the_blocks_of_an_atomic_kernel_one_after_another():
    # CPU threads run emulated blocks in parallel; a read-add-write of one block would interleave
    # with another's, so the blocks of a kernel with atomic adds run serially (threads of a block
    # run one after another anyway, each read-add-write whole).
    s, args = scatter_add(1000, 4, "int32")
    body = emulated_body(move_allocations_into_kernels(tvm.lower(s, args)))
    assert _parallel_loops(body) == 0
    A = te.placeholder((1000,), name="A")
    B = te.compute((1000,), lambda i: A[i] + 1.0, name="B")
    plain = te.create_schedule(B.op)
    bo, ti = plain[B].split(B.op.axis[0], factor=THREADS)
    plain[B].bind(bo, te.thread_axis("blockIdx.x"))
    plain[B].bind(ti, te.thread_axis("threadIdx.x"))
    assert _parallel_loops(emulated_body(tvm.lower(plain, [A, B]))) == 1


@needs_nvrtc
def test_gpu_build_compiles_for_sm90_and_copies_the_target_back():
    s, args = scatter_add(300, 5, "float32")
    m = tvm.build(s, args, target="cuda -arch=sm_90")
    assert len(m.compiled.resources) == 1 and re.search(r"\batom\.(global\.)?add\.f32", m.compiled.ptx)
    # H is only written by atomicAdd, which the signature's store scan cannot see: still copied back.
    assert [p.written for p in m.signature.params] == [False, False, True, True]


def _one(build, match: str, exc=BuildError) -> None:
    with pytest.raises(exc, match=match):
        build()


def _kernel_with(value_fn, dtype: str = "int32"):
    A = te.placeholder((64,), dtype=dtype, name="A")

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, out = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tx = te.thread_axis("threadIdx.x")
        ib.scope_attr(tx, "thread_extent", 64)
        out[tx] = value_fn(a, tx)
        return ib.get()

    out_dtype = value_fn(tvm.tir.ir_builder.create().buffer_ptr(A), te.var("t")).dtype
    B = te.extern((64,), [A], body, dtype=str(out_dtype), name="B")
    return te.create_schedule(B.op), [A, B]


def test_unsupported_atomic_adds_are_clear_errors():
    i64 = _kernel_with(lambda a, t: atomic_add(address_of(a, t), tvm.tir.const(1, "int64")), "int64")
    _one(lambda: tvm.build(*i64, target="cuda -emulate"), "atomic_add of int64: .*int32, uint32, float32, float64")
    raw = _kernel_with(lambda a, t: tvm.tir.call_intrin("int32", "tir.atomic_add", a[t], tvm.tir.const(1, "int32")))
    _one(lambda: tvm.build(*raw, target="cuda -emulate"), "address of one buffer element")
    mixed = _kernel_with(lambda a, t: atomic_add(address_of(a, t), tvm.tir.const(1.0, "float32")))
    _one(lambda: tvm.build(*mixed, target="cuda -emulate"), "adds a float32 value to a int32 element")
    picked = _kernel_with(lambda a, t: tvm.tir.Select(
        t > 3, atomic_add(address_of(a, t), tvm.tir.const(1, "int32")), tvm.tir.const(0, "int32")))
    _one(lambda: tvm.build(*picked, target="cuda -emulate"), "atomic_add under a Select", LoweringError)


# --- the CUDA C itself, one OS thread per GPU thread --------------------------------------------------

_ATOMICS = r"""
template <typename T> static inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
template <typename T, typename B> static inline T tl_atomic_float_add(T* p, T v) {
  B* bits = reinterpret_cast<B*>(p);
  B seen = __atomic_load_n(bits, __ATOMIC_SEQ_CST);
  for (;;) {
    T old; std::memcpy(&old, &seen, sizeof(T));
    T sum = old + v; B want; std::memcpy(&want, &sum, sizeof(T));
    if (__atomic_compare_exchange_n(bits, &seen, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return old;
  }
}
static inline float atomicAdd(float* p, float v) { return tl_atomic_float_add<float, unsigned>(p, v); }
static inline double atomicAdd(double* p, double v) { return tl_atomic_float_add<double, unsigned long long>(p, v); }
"""


@needs_nvrtc
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_c_scatter_add_with_concurrent_threads(dtype):
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to run the CUDA C on the CPU")
    rng = np.random.default_rng()
    n, bins = int(rng.integers(THREADS + 1, 8 * THREADS)), int(rng.integers(1, 4))  # few bins: contention
    s, args = scatter_add(n, bins, dtype)
    m = build_cuda(move_allocations_into_kernels(tvm.lower(s, args)), SM90)
    (kernel,) = m.plan.kernels
    head = re.search(r'extern "C" __global__ void __launch_bounds__\(\d+\) (\w+)\((.*?)\) \{', m.source)
    code = "\n".join([_HOST_PRELUDE, _ATOMICS, m.source, _launcher(head.group(1), head.group(2))])
    lib_path = compiled_host_library(code, "atomic", cxx)
    x, idx, h0 = scatter_data(n, bins, dtype, rng)
    h, old = h0.copy(), np.zeros(n, dtype)
    arrays = {0: x, 1: idx, 2: h, 3: old}
    grid = [int(d) for d in kernel.grid]  # constants here
    pointers = [ctypes.c_void_p(arrays[i].ctypes.data) for kind, i in kernel.args if kind == "param"]
    assert len(pointers) == 4
    fn = getattr(ctypes.CDLL(lib_path), f"tl_launch_{kernel.name}")
    fn(*(ctypes.c_uint(v) for v in (*grid, *kernel.block)), *pointers)
    check_scatter(x, idx, h0, h, old)
