"""hoist_shared_allocations: one declaration per shared buffer at the top of the block, however
many loop copies held it; the CUDA C declares it once and the shared-memory limit counts it once."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import tensorlang as tl
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.ir.passes.hoist_shared import hoist_shared_allocations
from tensorlang.target.cuda.codegen import render_cuda, split_kernels
from tensorlang.target.cuda.device_limits import check_launch
from tensorlang.target.cuda.target import CUDATarget
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype
from tensorlang.te.functor import post_order_visit

F32 = as_dtype("float32")


def c(v: int) -> E.IntImm:
    return E.IntImm("int32", v)


def _shared_allocates(stmt) -> list[S.Allocate]:
    out: list[S.Allocate] = []
    post_order_visit(stmt, lambda n: out.append(n) if isinstance(n, S.Allocate) and n.scope == "shared" else None)
    return out


def _copies_kernel(words: int) -> PrimFunc:
    """Out[b*64 + t] = sum over two loop copies (k in [0, 1) and [1, 2), as partitioning leaves
    them) of A staged through the same shared buffer of ``words`` floats."""
    A, Out = Buffer("A", F32, [c(256)]), Buffer("Out", F32, [c(256)])
    bx, sh = E.Var("bx"), E.Var("sh", "handle")
    tb = S.ForKind.THREAD_BINDING

    def copy(lo: int) -> S.For:
        k, t, t2 = E.Var("k"), E.Var("t"), E.Var("t2")
        fetch = S.For(t, c(0), c(64), tb, S.Store(sh, E.Load(F32, A.data, bx * 64 + t) * E.Cast(F32, k + 1), t),
                      "threadIdx.x")
        use = S.For(t2, c(0), c(64), tb, S.Store(Out.data, E.Load(F32, Out.data, bx * 64 + t2)
                                                  + E.Load(F32, sh, 63 - t2), bx * 64 + t2), "threadIdx.x")
        body = S.Allocate(sh, F32, c(words), "shared", S.SeqStmt([fetch, S.Evaluate(
            E.Call("int32", "tl.syncthreads", ())), use, S.Evaluate(E.Call("int32", "tl.syncthreads", ()))]))
        return S.For(k, c(lo), c(1), S.ForKind.SERIAL, body)

    t0 = E.Var("t0")
    init = S.For(t0, c(0), c(64), tb, S.Store(Out.data, E.FloatImm(F32, 0.0), bx * 64 + t0), "threadIdx.x")
    root = S.For(bx, c(0), c(4), tb, S.SeqStmt([init, copy(0), copy(1)]), "blockIdx.x")
    return PrimFunc("copies", [A, Out], root)


def test_loop_copies_share_one_declaration_counted_once():
    func = _copies_kernel(8192)  # 32 KiB: two declarations (64 KiB) would exceed the 48 KiB limit
    before = split_kernels(func).kernels[0]
    assert len(_shared_allocates(func.body)) == 2 and before.shared_bytes == 65536
    hoisted = func.with_body(hoist_shared_allocations(func.body))
    (alloc,) = _shared_allocates(hoisted.body)
    assert isinstance(hoisted.body, S.For) and hoisted.body.body is alloc  # the top of the block
    plan = split_kernels(hoisted)
    assert plan.kernels[0].shared_bytes == 32768
    check_launch(plan.kernels[0], CUDATarget.from_string("cuda -arch=sm_90"))  # within 48 KiB
    src = render_cuda(plan, "sm_90")
    assert src.count("__shared__") == 1 and "float sh[8192];" in src
    a = np.random.default_rng().uniform(-1, 1, 256).astype("float32")
    out = np.full(256, np.nan, "float32")
    tl.build(hoisted, target="cuda -emulate -arch=sm_90")(a, out)
    np.testing.assert_allclose(out, 3 * a.reshape(4, 64)[:, ::-1].reshape(-1), rtol=1e-6)


def test_a_partitioned_conv2d_config_declares_each_shared_tile_once():
    # Tutorial conv2d config 257747: loop partitioning splits the ry loop that holds the shared
    # tiles into three copies; each tile was declared (and counted) three times.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.integration.test_cuda_template_configs import TEMPLATES, check_config

    template = TEMPLATES["tutorial_conv2d"]
    task = template.task()
    s, args = task.instantiate(task.config_space.get(257747))
    func = tl.lower(s, args)
    assert sorted(a.buffer.name for a in _shared_allocates(func.body)) == ["kernel.shared", "pad_temp.shared"]
    (kernel,) = split_kernels(func).kernels
    assert kernel.shared_bytes == 96 + 48  # 24 and 9 floats, each rounded up to 16 bytes
    src = render_cuda(split_kernels(func), "sm_90")
    assert src.count("__shared__") == 2
    assert check_config(template, task, 257747, np.random.default_rng()) is None
