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
