"""Shared and local buffers allocated outside the kernel that uses them (an IR-builder scratch
before its scope_attr thread extents, in a schedule's extern or a hand-written PrimFunc) move into
it: local per thread, shared per block; what cannot move safely is a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import LoweringError
from tensorlang.ir import stmt as S
from tensorlang.lowering.kernel_allocations import move_allocations_into_kernels
from tensorlang.target.cuda import nvrtc
from tensorlang.te.functor import post_order_visit

THREADS = 64


def _kernels_holding(func, name: str) -> list[str]:
    """The thread tags of the loops around the allocation of ``name`` (outermost first)."""
    found: list[list[str]] = []

    def walk(s, tags):
        if isinstance(s, S.Allocate) and s.buffer.name == name:
            found.append(tags)
        if isinstance(s, S.For) and s.kind is S.ForKind.THREAD_BINDING:
            tags = [*tags, s.thread_tag]
        for field in getattr(s, "_children", ()):
            child = getattr(s, field)
            for c in child if isinstance(child, tuple) else (child,):
                if isinstance(c, S.Stmt):
                    walk(c, tags)
    walk(func.body, [])
    assert len(found) == 1, found
    return found[0]


def twice_plus_one(n: int):
    """A hand-written PrimFunc (TVM's form): a local scratch allocated before the thread scope."""
    Ab = tvm.tir.decl_buffer((n,), "float32", name="A")
    ib = tvm.tir.ir_builder.create()
    A = ib.buffer_ptr(Ab)
    tmp = ib.allocate("float32", (1,), name="tmp", scope="local")
    bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
    ib.scope_attr(bx, "thread_extent", (n + THREADS - 1) // THREADS)
    ib.scope_attr(tx, "thread_extent", THREADS)
    i = bx * THREADS + tx
    with ib.if_scope(i < n):
        tmp[0] = A[i] * 2.0
        A[i] = tmp[0] + 1.0
    return tvm.tir.PrimFunc([Ab], ib.get()).with_attr("global_symbol", "twice_plus_one")


def test_local_scratch_of_a_hand_written_function_is_per_thread():
    rng = np.random.default_rng()
    n = int(rng.integers(1, 50 * THREADS))
    func = twice_plus_one(n)
    assert _kernels_holding(func, "tmp") == []  # outside the kernel as written
    assert _kernels_holding(move_allocations_into_kernels(func), "tmp") == ["blockIdx.x"]
    m = tvm.build(func, target="cuda -emulate")
    a = rng.standard_normal(n).astype("float32")
    want = a * 2 + 1
    m(a)
    np.testing.assert_array_equal(a, want)
    assert "float tmp[1];" in m.get_source("cuda")
    if nvrtc.nvrtc_available():
        assert ".entry" in m.get_source("ptx")


def block_reverse(n: int):
    """Each block reverses its chunk through a shared buffer allocated before the thread scope."""
    A = te.placeholder((n,), name="A")
    blocks = n // THREADS

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, out = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tile = ib.allocate("float32", (THREADS,), name="tile", scope="shared")
        keep = ib.allocate("float32", (1,), name="keep", scope="local")
        bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
        ib.scope_attr(bx, "thread_extent", blocks)
        ib.scope_attr(tx, "thread_extent", THREADS)
        keep[0] = a[bx * THREADS + tx] * 0.5
        tile[tx] = a[bx * THREADS + tx]
        ib.emit(tvm.tir.call_intrin("int32", "tir.tvm_storage_sync", "shared"))
        # Past the barrier: the local value is still this thread's, the shared one another's.
        out[bx * THREADS + tx] = tile[THREADS - 1 - tx] + keep[0]
        return ib.get()

    B = te.extern((n,), [A], body, name="B")
    return te.create_schedule(B.op), [A, B]


def test_shared_and_local_scratch_before_the_scope_of_an_extern():
    rng = np.random.default_rng()
    n = THREADS * int(rng.integers(1, 40))
    s, args = block_reverse(n)
    f = tvm.build(s, args, target="cuda -emulate")
    a = rng.standard_normal(n).astype("float32")
    b = np.full(n, np.nan, "float32")
    f(a, b)
    want = a.reshape(-1, THREADS)[:, ::-1].reshape(-1) + a * np.float32(0.5)
    np.testing.assert_array_equal(b, want)
    src = f.get_source("cuda")
    assert "__shared__ __align__(16) float tile[64];" in src and "float keep[1];" in src


def _extern_two_scopes(host_use: bool):
    A = te.placeholder((THREADS,), name="A")

    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, out = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tmp = ib.allocate("float32", (1,), name="tmp", scope="local")
        if host_use:
            tmp[0] = 1.0
        for _ in range(1 if host_use else 2):
            with ib.new_scope():
                tx = te.thread_axis("threadIdx.x")
                ib.scope_attr(tx, "thread_extent", THREADS)
                tmp[0] = a[tx]
                out[tx] = tmp[0]
        return ib.get()

    B = te.extern((THREADS,), [A], body, name="B")
    return te.create_schedule(B.op), [A, B]


def test_what_cannot_move_is_a_clear_error():
    with pytest.raises(LoweringError, match="local buffer tmp is allocated outside any GPU kernel and used by host"):
        tvm.build(*_extern_two_scopes(host_use=True), target="cuda -emulate")
    with pytest.raises(LoweringError, match="local buffer tmp .* used by 2 of them; local memory lives for one"):
        tvm.build(*_extern_two_scopes(host_use=False), target="cuda -emulate")


def test_an_unused_allocation_is_dropped_and_kernels_keep_their_own():
    s, args = block_reverse(2 * THREADS)
    func = tvm.lower(s, args)
    moved = move_allocations_into_kernels(func)
    assert move_allocations_into_kernels(moved) is moved  # nothing left to move
    # Both at the top of the block's code (shared: per block; local: per thread all the same).
    assert _kernels_holding(moved, "tile") == _kernels_holding(moved, "keep") == ["blockIdx.x"]
    Ab = tvm.tir.decl_buffer((4,), "float32", name="A")
    ib = tvm.tir.ir_builder.create()
    ib.allocate("float32", (8,), name="unused", scope="shared")
    a = ib.buffer_ptr(Ab)
    tx = te.thread_axis("threadIdx.x")
    ib.scope_attr(tx, "thread_extent", 4)
    a[tx] = a[tx] + 1.0
    dropped = move_allocations_into_kernels(tvm.tir.PrimFunc([Ab], ib.get()))
    names = []
    post_order_visit(dropped.body, lambda n: names.append(n.buffer.name) if isinstance(n, S.Allocate) else None)
    assert names == []
