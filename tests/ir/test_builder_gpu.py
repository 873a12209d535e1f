"""ir_builder GPU kernels as TVM 0.12's topi/cuda extern code writes them: launch scopes with
scope_attr(thread_axis, "thread_extent", n) in either order, shared scratch, tvm_storage_sync
through call_intrin or tir.Call(None, ...), and `tx == 0` conditions; built for `cuda -emulate`,
checked against numpy, and compiled by NVRTC for sm_90 where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.target.cuda import nvrtc

SYNCS = {
    "call_intrin": lambda: tvm.tir.call_intrin("int32", "tir.tvm_storage_sync", "shared"),
    "Call": lambda: tvm.tir.Call(None, "tir.tvm_storage_sync", tvm.runtime.convert(["shared"])),
}


def _block_sums(nb: int, nt: int, sync, threads_first: bool):
    A = te.placeholder((nb * nt,), name="A")

    def gen(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, b = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tx, bx = te.thread_axis("threadIdx.x"), te.thread_axis("blockIdx.x")
        launches = [(tx, nt), (bx, nb)] if threads_first else [(bx, nb), (tx, nt)]
        for iv, extent in launches:
            ib.scope_attr(iv, "thread_extent", extent)
        sh = ib.allocate("float32", (nt,), name="sh", scope="shared")
        sh[tx] = a[bx * nt + tx] * 2.0
        ib.emit(sync())
        with ib.if_scope(tx == 0):
            acc = ib.allocate("float32", (1,), name="acc", scope="local")
            acc[0] = 0.0
            with ib.for_range(0, nt, name="k") as k:
                acc[0] = acc[0] + sh[k]
            b[bx] = acc[0]
        return ib.get()

    B = te.extern((nb,), [A], gen, dtype="float32", name="B")
    return A, B


@pytest.mark.parametrize("sync", sorted(SYNCS))
@pytest.mark.parametrize("threads_first", [True, False])
def test_block_reduction_kernel(sync: str, threads_first: bool) -> None:
    nb, nt = 6, 32
    A, B = _block_sums(nb, nt, SYNCS[sync], threads_first)
    s = te.create_schedule(B.op)
    f = tvm.build(s, [A, B], "cuda -emulate")
    a = np.random.default_rng().standard_normal(nb * nt).astype(np.float32)
    out = tvm.nd.empty((nb,), device=tvm.cuda(0))
    f(tvm.nd.array(a, tvm.cuda(0)), out)
    np.testing.assert_allclose(out.numpy(), (a * 2).reshape(nb, nt).sum(1), rtol=1e-5, atol=1e-5)
    src = f.imported_modules[0].get_source()
    assert src.count("__syncthreads();") >= 1 and "__launch_bounds__(32)" in src
    if nvrtc.nvrtc_available():
        nvrtc.compile_cuda(src, "sm_90", "block_sums")


def test_elementwise_kernel_with_a_guard() -> None:
    n = 1000
    A = te.placeholder((n,), name="A")

    def gen(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, b = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tx, bx = te.thread_axis("threadIdx.x"), te.thread_axis("blockIdx.x")
        ib.scope_attr(tx, "thread_extent", 64)
        ib.scope_attr(bx, "thread_extent", (n + 63) // 64)
        idx = bx * 64 + tx
        with ib.if_scope(ib.likely(idx < n)):
            b[idx] = a[idx] * 2.0 + 1.0
        return ib.get()

    B = te.extern(A.shape, [A], gen, dtype="float32", name="B")
    f = tvm.build(te.create_schedule(B.op), [A, B], "cuda -emulate")
    a = np.random.default_rng().random(n, dtype=np.float32)
    b = np.zeros(n, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)


def test_bad_scope_attrs_are_named() -> None:
    ib = tvm.tir.ir_builder.create()
    with pytest.raises(tvm.TVMError, match="only 'thread_extent'"):
        ib.scope_attr(te.thread_axis("threadIdx.x"), "pragma_unroll", 1)
    with pytest.raises(tvm.TVMError, match="takes a te.thread_axis"):
        ib.scope_attr(te.var("x"), "thread_extent", 4)
    with pytest.raises(tvm.TVMError, match="only 'shared'"):
        tvm.tir.call_intrin("int32", "tir.tvm_storage_sync", "global")


def test_itervar_comparisons() -> None:
    tx = te.thread_axis("threadIdx.x")
    assert str(tx == 0) == "threadIdx.x == 0" and str(tx != 1) == "threadIdx.x != 1"
    other = te.thread_axis("threadIdx.x")
    assert tx == tx and not (tx == other) and tx != other and tx in [other, tx] and not (tx == None)  # noqa: E711
