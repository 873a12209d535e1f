"""Per-block device limits: kernels over a target's limits are LaunchLimitErrors before launch."""

from __future__ import annotations

import pytest

from tensorlang.errors import LaunchLimitError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.target.cuda.build import build_cuda
from tensorlang.target.cuda.codegen import (
    split_kernels,
)
from tensorlang.target.cuda.device_limits import check_launch
from tensorlang.target.cuda.target import CUDATarget
from tensorlang.te import expr as E

from .helpers import F32, SM90, bind, buf, c32, st

# --- limits -------------------------------------------------------------------------------------------

def kernel_with(threads: tuple[int, int], shared_floats: int = 0):
    A = buf("A", F32, 4)
    tx, ty, bx = E.Var("tx"), E.Var("ty"), E.Var("bx")
    body: S.Stmt = bind(ty, threads[1], "threadIdx.y", bind(tx, threads[0], "threadIdx.x",
                                                           st(A, E.FloatImm(F32, 1.0), c32(0))))
    if shared_floats:
        body = S.Allocate(E.Var("sh", "handle"), F32, c32(shared_floats), "shared", body)
    return PrimFunc("big", [A], bind(bx, 1, "blockIdx.x", body))


def test_too_many_threads_are_rejected():
    (k,) = split_kernels(kernel_with((1024, 2))).kernels
    with pytest.raises(LaunchLimitError,
                       match="kernel big_kernel0 uses 2048 threads per block; the device allows 1024"):
        check_launch(k, SM90)
    check_launch(k, CUDATarget.from_string("cuda -arch=sm_90 -max_threads_per_block=2048"))


def test_too_much_shared_memory_is_rejected():
    (k,) = split_kernels(kernel_with((32, 1), shared_floats=16 * 1024)).kernels
    with pytest.raises(LaunchLimitError, match="uses 65536 bytes of shared memory per block; the device allows 49152"):
        check_launch(k, SM90)
    with pytest.raises(LaunchLimitError):  # build_cuda checks before compiling
        build_cuda(kernel_with((32, 1), shared_floats=16 * 1024), SM90)


def test_registers_and_axis_limits():
    (k,) = split_kernels(kernel_with((256, 1))).kernels
    check_launch(k, SM90, registers=255)  # 256 x 255 registers fit in 64K... just
    with pytest.raises(LaunchLimitError, match="registers per thread"):
        check_launch(k, CUDATarget.from_string("cuda -registers_per_block=32768"), registers=255)
    (k,) = split_kernels(kernel_with((1, 128))).kernels
    check_launch(k, SM90)
    A = buf("A", F32, 4)
    tz = E.Var("tz")
    (k,) = split_kernels(PrimFunc("z", [A], bind(tz, 128, "threadIdx.z", st(A, E.FloatImm(F32, 1), c32(0))))).kernels
    with pytest.raises(LaunchLimitError, match="binds 128 threads to threadIdx.z; the device allows 64"):
        check_launch(k, SM90)


def test_non_constant_thread_extent_is_rejected():
    n = E.Var("n", "int32")
    A = Buffer("A", F32, [n])
    tx = E.Var("tx")
    (k,) = split_kernels(PrimFunc("dyn", [A, n], bind(tx, n, "threadIdx.x", st(A, E.FloatImm(F32, 1), tx)))).kernels
    with pytest.raises(LaunchLimitError,
                       match="kernel dyn_kernel0: the extent 'n' bound to threadIdx.x is not a constant"):
        check_launch(k, SM90)


# --- from bound inference, before lowering ------------------------------------------------------------

def _tiled_matmul(n: int, threads: tuple[int, int], k_tile: int):
    """C = A @ B with (threads) per block and shared k_tile-wide panels of A and B."""
    from tensorlang import te
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    AS = s.cache_read(A, "shared", [C])
    BS = s.cache_read(B, "shared", [C])
    by, ty = s[C].split(C.op.axis[0], factor=threads[1])
    bx, tx = s[C].split(C.op.axis[1], factor=threads[0])
    s[C].reorder(by, bx, ty, tx)
    for ax, tag in ((by, "blockIdx.y"), (bx, "blockIdx.x"), (ty, "threadIdx.y"), (tx, "threadIdx.x")):
        s[C].bind(ax, te.thread_axis(tag))
    ko, _ = s[C].split(s[C].op.reduce_axis[0], factor=k_tile)
    for load in (AS, BS):
        s[load].compute_at(s[C], ko)
        fused = s[load].fuse(*s[load].op.axis)
        _, txl = s[load].split(fused, factor=threads[0])
        s[load].bind(txl, te.thread_axis("threadIdx.x"))
    return s, [A, B, C]


@pytest.fixture
def no_passes(monkeypatch):
    """Lowering's pass pipeline fails the test if it runs: the check must come first."""
    from tensorlang.lowering import pipeline

    def refuse(ctx):
        raise AssertionError("the pass pipeline ran for a config over the device limits")
    monkeypatch.setattr(pipeline, "_run_pipeline", refuse)


@pytest.mark.parametrize("target", ["cuda -arch=sm_90", "cuda -emulate -arch=sm_90"])
def test_too_many_threads_are_rejected_before_lowering_naming_the_stage(no_passes, target):
    import tensorlang as tl
    s, args = _tiled_matmul(64, (64, 32), 8)
    with pytest.raises(LaunchLimitError, match=r"the kernel of stage C uses 2048 threads per block "
                                               r"\(threadIdx.x = 64 \(stage C\), threadIdx.y = 32 \(stage C\)\); "
                                               r"the device allows 1024"):
        tl.build(s, args, target=target)
    s, args = _tiled_matmul(4096, (2048, 1), 8)
    with pytest.raises(LaunchLimitError, match="stage C binds 2048 threads to threadIdx.x; the device allows 1024"):
        tl.build(s, args, target=target)


def test_too_much_shared_memory_is_rejected_before_lowering_naming_the_stages(no_passes):
    import tensorlang as tl
    s, args = _tiled_matmul(1024, (32, 8), 512)  # (8 + 32) rows x 512 floats
    msg = (r"the kernel of stage C uses 81920 bytes of shared memory per block \(A.shared 16384 bytes, "
           r"B.shared 65536 bytes\); the device allows 49152")
    with pytest.raises(LaunchLimitError, match=msg):
        tl.build(s, args, target="cuda -arch=sm_90")


def test_configs_within_the_limits_still_build_and_compute():
    import numpy as np

    import tensorlang as tl
    s, args = _tiled_matmul(64, (16, 8), 16)
    f = tl.build(s, args, target="cuda -emulate -arch=sm_90 -max_shared_memory_per_block=4096")
    a, b = (np.random.default_rng().standard_normal((64, 64)).astype("float32") for _ in range(2))
    c = np.zeros((64, 64), "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    s, args = _tiled_matmul(64, (16, 8), 16)  # (8 + 16) x 16 floats = 1536 bytes
    with pytest.raises(LaunchLimitError, match="1536 bytes of shared memory"):
        tl.build(s, args, target="cuda -emulate -arch=sm_90 -max_shared_memory_per_block=1024")


def test_a_shuffle_under_a_thread_guard_is_refused_by_codegen():
    # Hand-built IR (no schedule to check): lanes 16..31 skip a full-mask __shfl_down_sync.
    from tensorlang.errors import BuildError
    from tensorlang.ir.warp import shfl_down

    from .helpers import ld
    A, Out = buf("A", F32, 64), buf("Out", F32, 64)
    tx0, tx1, bx = E.Var("tx0"), E.Var("tx1"), E.Var("bx")
    body = S.SeqStmt([
        bind(tx0, 32, "threadIdx.x", st(Out, ld(A, tx0), tx0)),
        bind(tx1, 16, "threadIdx.x", st(Out, shfl_down(ld(A, tx1), 1, 16), tx1)),
    ])
    func = PrimFunc("half_warp", [A, Out], bind(bx, 1, "blockIdx.x", body))
    with pytest.raises(BuildError, match=r"a warp shuffle \(of a cross-thread reduction\) sits under the guard "
                                         r"threadIdx.x < '16'"):
        split_kernels(func)
