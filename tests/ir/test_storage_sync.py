"""storage_sync: barriers between a shared write and a later read (and a read and a later write),
none between two writes, and none inside thread-dependent control flow: a construct that needs
one inside is split at it.  Each case is built, emulated and compared with numpy, and NVRTC
compiles it when installed."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.errors import BuildError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.ir.passes.storage_sync import is_barrier, storage_sync
from tensorlang.target.cuda.codegen import render_cuda, split_kernels
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype
from tensorlang.te.functor import substitute

F32 = as_dtype("float32")
TB = S.ForKind.THREAD_BINDING


def c(v: int) -> E.IntImm:
    return E.IntImm("int32", v)


def bind(var: E.Var, extent: int, tag: str, body: S.Stmt) -> S.For:
    return S.For(var, c(0), c(extent), TB, body, tag)


def _barrier_places(stmt: S.Stmt) -> list[list[str]]:
    """For each barrier, the kinds of the constructs around it (thread loops by their extent)."""
    out: list[list[str]] = []

    def walk(s, ctx):
        if is_barrier(s):
            out.append(list(ctx))
        elif isinstance(s, S.For):
            walk(s.body, ctx + [f"{s.thread_tag or 'for'}:{s.extent}"])
        elif isinstance(s, S.IfThenElse):
            walk(s.then_case, ctx + [f"if {s.condition}"])
            if s.else_case is not None:
                walk(s.else_case, ctx + ["else"])
        elif isinstance(s, S.SeqStmt):
            for x in s.seq:
                walk(x, ctx)
        elif isinstance(s, (S.Allocate, S.LetStmt)):
            walk(s.body, ctx)
    walk(stmt, [])
    return out


def _kernel(inner, block: int = 64) -> PrimFunc:
    """Out[b, t] for 4 blocks of ``block`` threads; ``inner(sh, A, Out, bx)`` builds the block's
    body around a shared buffer ``sh`` of ``block`` floats."""
    A, Out = Buffer("A", F32, [c(4 * block)]), Buffer("Out", F32, [c(4 * block)])
    bx = E.Var("bx")
    sh = E.Var("sh", "handle")
    body = S.Allocate(sh, F32, c(block), "shared", inner(sh, A, Out, bx))
    return PrimFunc("sync", [A, Out], S.For(bx, c(0), c(4), TB, body, "blockIdx.x"))


def _run(func: PrimFunc) -> np.ndarray:
    n = func.params[0].shape[0].value
    a = np.random.default_rng().uniform(-1, 1, n).astype("float32")
    out = np.full(n, np.nan, "float32")
    mod = tl.build(func, target="cuda -emulate -arch=sm_90")
    mod(a, out)
    return a, out


def test_two_writes_need_no_barrier():
    # The pieces of a fetch split across a guarded thread loop (what loop partitioning and
    # unrolling leave) write the buffer twice: no barrier between them (there was one, inside
    # the guard, and the kernel was refused).
    def inner(sh, A, Out, bx):
        u, t2 = E.Var("u"), E.Var("t2")
        fetch = bind(u, 32, "threadIdx.x", S.IfThenElse(
            u < c(30), S.SeqStmt([S.Store(sh, E.Load(F32, A.data, bx * 64 + u * 2), u * 2),
                                  S.Store(sh, E.Load(F32, A.data, bx * 64 + u * 2 + 1), u * 2 + 1)])))
        tail = bind(t2, 64, "threadIdx.x", S.IfThenElse(t2 >= c(60), S.Store(
            sh, E.Load(F32, A.data, bx * 64 + t2), t2)))
        t3 = E.Var("t3")
        use = bind(t3, 64, "threadIdx.x", S.Store(Out.data, E.Load(F32, sh, 63 - t3), bx * 64 + t3))
        return S.SeqStmt([fetch, tail, use])
    func = _kernel(inner)
    synced = storage_sync(func.body)
    assert _barrier_places(synced) == [["blockIdx.x:4"]]  # one barrier, before the read, at block level
    split_kernels(func.with_body(synced))
    a, out = _run(func.with_body(synced))
    np.testing.assert_array_equal(out, a.reshape(4, 64)[:, ::-1].reshape(-1))


def _exchange(wrap):
    """Each thread of ``wrap``'s region writes sh[t] then reads sh[31 - t] (another thread's)."""
    def inner(sh, A, Out, bx):
        t, t2 = E.Var("t"), E.Var("t2")
        region = wrap(t, S.SeqStmt([S.Store(sh, E.Load(F32, A.data, bx * 64 + t), t),
                                    S.Store(Out.data, E.Load(F32, sh, 31 - t), bx * 64 + t)]))
        rest = bind(t2, 64, "threadIdx.x", S.IfThenElse(t2 >= c(32), S.Store(
            Out.data, E.Load(F32, A.data, bx * 64 + t2) * E.FloatImm(F32, 2.0), bx * 64 + t2)))
        return S.SeqStmt([region, rest])
    return _kernel(inner)


def _want_exchange(a: np.ndarray) -> np.ndarray:
    b = a.reshape(4, 64)
    return np.concatenate([b[:, 31::-1], b[:, 32:] * 2], axis=1).reshape(-1)


@pytest.mark.parametrize("kind", ["short thread loop", "thread condition", "let"])
def test_a_barrier_needed_in_divergent_code_splits_it(kind):
    def wrap(t, body):
        if kind == "short thread loop":  # threadIdx.x over 32 of the block's 64 threads
            return bind(t, 32, "threadIdx.x", body)  # the other loop of the block spans 64
        if kind == "thread condition":
            return bind(t, 64, "threadIdx.x", S.IfThenElse(t < c(32), body))
        j = E.Var("j")  # a thread-dependent let used on both sides of the barrier
        return bind(t, 64, "threadIdx.x", S.IfThenElse(t < c(32), S.LetStmt(j, t + 0, substitute(body, {t: j}))))
    func = _exchange(wrap)
    synced = storage_sync(func.body)
    places = _barrier_places(synced)
    assert len(places) == 1 and all("if" not in p and ":32" not in p for p in places[0]), places
    split_kernels(func.with_body(synced))  # accepted by the CUDA backend
    a, out = _run(func.with_body(synced))
    np.testing.assert_array_equal(out, _want_exchange(a))


def test_write_after_read_gets_a_barrier_and_loops_end_with_one():
    def inner(sh, A, Out, bx):
        k, t, t2, t3 = E.Var("k"), E.Var("t"), E.Var("t2"), E.Var("t3")
        # sh = A; Out = reversed sh; sh = 2 * A (write after read); Out += sh; in a loop of 2.
        body = S.SeqStmt([
            bind(t, 64, "threadIdx.x", S.Store(sh, E.Load(F32, A.data, bx * 64 + t), t)),
            bind(t2, 64, "threadIdx.x", S.Store(Out.data, E.Load(F32, sh, 63 - t2), bx * 64 + t2)),
            bind(t3, 64, "threadIdx.x", S.Store(sh, E.Load(F32, A.data, bx * 64 + t3) * E.FloatImm(F32, 2.0), t3)),
        ])
        t4 = E.Var("t4")
        last = bind(t4, 64, "threadIdx.x", S.Store(Out.data, E.Load(F32, Out.data, bx * 64 + t4)
                                                    + E.Load(F32, sh, 63 - t4), bx * 64 + t4))
        return S.For(k, c(0), c(2), S.ForKind.SERIAL, S.SeqStmt([body, last]))
    func = _kernel(inner)
    synced = storage_sync(func.body)
    assert len(_barrier_places(synced)) == 4  # RAW, WAR, RAW, and the end of the loop's body
    a, out = _run(func.with_body(synced))
    b = a.reshape(4, 64)[:, ::-1]
    np.testing.assert_allclose(out, (b + 2 * b).reshape(-1), rtol=1e-6)


def test_a_barrier_under_thread_dependent_loop_bounds_stays_refused():
    def inner(sh, A, Out, bx):
        t, k = E.Var("t"), E.Var("k")
        body = S.SeqStmt([S.Store(sh, E.Load(F32, A.data, bx * 64 + k), k),
                          S.Store(Out.data, E.Load(F32, sh, 63 - k), bx * 64 + k)])
        return bind(t, 64, "threadIdx.x", S.For(k, t, c(1), S.ForKind.SERIAL, body))
    func = _kernel(inner)
    synced = storage_sync(func.body)
    with pytest.raises(BuildError, match="depends on the thread index"):
        split_kernels(func.with_body(synced))


def test_barriers_the_pass_placed_are_never_under_thread_conditions_in_the_source():
    func = _exchange(lambda t, body: bind(t, 64, "threadIdx.x", S.IfThenElse(t < c(32), body)))
    src = render_cuda(split_kernels(func.with_body(storage_sync(func.body))))
    # The condition is repeated around each half; the barrier sits between them at block level.
    before, after = src.split("__syncthreads();")
    assert "< 32)" in before and "< 32)" in after
