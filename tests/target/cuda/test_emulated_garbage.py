"""cuda -emulate runs kernels as a GPU would in what a correct kernel cannot rely on: memory
nobody wrote holds garbage (NaN for floats, bytes 0xA5 for integers), fresh in every thread for
local buffers and in every block for shared ones, so a kernel that reads it before writing it
fails the comparison with numpy instead of reading what another thread left there; and a loop
bound to a blockIdx inside a loop on the same blockIdx is that one index, as in the CUDA C."""

from __future__ import annotations

import numpy as np

import tensorlang as tvm
from tensorlang import te
from tensorlang.ir.function import PrimFunc
from tensorlang.target.cuda import nvrtc
from tensorlang.target.cuda.emulate import build_emulated
from tensorlang.target.cuda.target import CUDATarget

from .helpers import F32, bind, buf, c32, ld, st

rng = np.random.default_rng()
TARGET = "cuda -emulate -arch=sm_90"
N = 32


def _compiled_for_sm90(f) -> None:
    if nvrtc.nvrtc_available():  # the emulated build compiled its CUDA C for sm_90 too
        assert ".target sm_90" in f.get_source("ptx")


def _sum_kernel(dtype: str, init: bool):
    """o[t] = a[t, 0] + ... + a[t, 3] summed in a local accumulator, set to 0 first if ``init``."""
    A = te.placeholder((N, 4), name="a", dtype=dtype)

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tx = te.thread_axis("threadIdx.x")
        ib.scope_attr(tx, "thread_extent", N)
        acc = ib.allocate(dtype, (1,), name="acc", scope="local")
        if init:
            acc[0] = tvm.tir.const(0, dtype)
        with ib.for_range(0, 4) as k:
            acc[0] = acc[0] + a[tx.var * 4 + k]
        o[tx.var] = acc[0]
        return ib.get()
    O = te.extern((N,), [A], body, name="ext", dtype=dtype)
    return tvm.build(te.create_schedule(O.op), [A, O], TARGET)


def test_an_accumulator_never_set_to_zero_fails_the_comparison():
    # Before: the threads ran one after another on one CPU array, so each thread's sum started
    # where the previous thread's ended (and thread 0's from whatever the stack held).
    a = rng.standard_normal((N, 4)).astype("float32")
    out = np.zeros(N, "float32")
    _sum_kernel("float32", init=False)(a, out)
    assert np.isnan(out).all()
    f = _sum_kernel("float32", init=True)
    f(a, out)
    np.testing.assert_allclose(out, a.sum(1), rtol=1e-5, atol=1e-5)
    _compiled_for_sm90(f)


def test_uninitialized_integers_hold_a_recognizable_pattern():
    a = rng.integers(-1000, 1000, (N, 4)).astype("int32")
    out = np.zeros(N, "int32")
    _sum_kernel("int32", init=False)(a, out)
    garbage = np.frombuffer(b"\xa5" * 4, "int32")[0]
    np.testing.assert_array_equal(out, garbage + a.sum(1))


def test_shared_memory_starts_as_garbage_in_every_block():
    # Block b's threads fill the elements of a shared buffer that mask[b] selects (block 0: all of
    # them); after the barrier every thread reads its own. The others are garbage in every block,
    # not what an earlier block left in the CPU array the emulation reuses.
    A = te.placeholder((4, N), name="a")
    M = te.placeholder((4, N), name="m", dtype="int32")

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, m, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(ins[1]), ib.buffer_ptr(outs[0])
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", 4)
        ib.scope_attr(tx, "thread_extent", N)
        sh = ib.allocate("float32", (N,), name="sh", scope="shared")
        with ib.if_scope(m[bx.var * N + tx.var] != 0):
            sh[tx.var] = a[bx.var * N + tx.var]
        ib.emit(tvm.tir.Call("int32", "tir.tvm_storage_sync", [tvm.tir.StringImm("shared")]))
        o[bx.var * N + tx.var] = sh[tx.var] * 2.0
        return ib.get()
    O = te.extern((4, N), [A, M], body, name="ext", dtype="float32")
    f = tvm.build(te.create_schedule(O.op), [A, M, O], TARGET)
    a = rng.standard_normal((4, N)).astype("float32")
    m = rng.integers(0, 2, (4, N)).astype("int32")
    m[0] = 1
    out = np.zeros((4, N), "float32")
    f(a, m, out)
    np.testing.assert_allclose(out[m != 0], 2 * a[m != 0], rtol=1e-6)
    assert np.isnan(out[m == 0]).all()
    _compiled_for_sm90(f)


def test_a_blockIdx_loop_inside_one_on_the_same_index_is_that_index():
    # o[bx * 4 + by] = a[bx] + by with bx and by both on blockIdx.x: the CUDA C reads blockIdx.x
    # for both (by == bx, guarded by by's extent 4), which the emulation now computes too.
    a_buf, o_buf = buf("a", F32, 8), buf("o", F32, 32)
    bx, by = tvm.tir.Var("bx", "int32"), tvm.tir.Var("by", "int32")
    value = ld(a_buf, bx) + tvm.tir.Cast("float32", by)
    body = bind(bx, 8, "blockIdx.x", bind(by, 4, "blockIdx.x", st(o_buf, value, bx * c32(4) + by)))
    f = build_emulated(PrimFunc("same_index", [a_buf, o_buf], body), CUDATarget.from_string(TARGET))
    a = rng.standard_normal(8).astype("float32")
    out = np.full(32, -7.0, "float32")
    f(a, out)
    want = np.full(32, -7.0, "float32")
    for b in range(4):
        want[b * 4 + b] = a[b] + b
    np.testing.assert_array_equal(out, want)
    assert "int by = (int)blockIdx.x;" in f.get_source("cuda")
