"""0-d outputs on the GPU: TVM's test_cuda_reduction full sum (a 1-D tensor reduced by one
block: a cross-thread all-reduce, one thread stores) lowers to one kernel of grid 1, and a 0-d
elementwise stage runs as a one-thread kernel once bound (TVM's fuse() of no axes) or is refused
unbound, as TVM refuses it; emulated against numpy, compiled by NVRTC for sm_90."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.errors import BuildError
from tensorlang.lowering.kernel_allocations import move_allocations_into_kernels
from tensorlang.target.cuda.codegen import split_kernels

from .helpers import needs_nvrtc

# Power-of-two warps (shuffles, one shared slot per warp past 32), and other extents (a tree in
# shared memory); n is drawn so that some splits leave a guarded tail.
FACTORS = [32, 64, 256, 1024, 96, 100]
REDUCERS = {"sum": (te.sum, np.sum), "max": (te.max, np.max)}


def full_reduce(n: int, factor: int, reducer: str):
    A = te.placeholder((n,), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((), lambda: REDUCERS[reducer][0](A[k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=factor)
    s[B].bind(ki, te.thread_axis("threadIdx.x"))
    return s, [A, B]


def one_kernel(s, args):
    """The only kernel of the lowered schedule (as the CUDA backend splits it)."""
    (kernel,) = split_kernels(move_allocations_into_kernels(tvm.lower(s, args))).kernels
    return kernel


@pytest.mark.parametrize("reducer", sorted(REDUCERS))
@pytest.mark.parametrize("factor", FACTORS)
def test_full_reduction_is_one_block_with_one_storing_thread(factor, reducer):
    rng = np.random.default_rng()
    n = int(rng.integers(factor, 40 * factor))
    s, args = full_reduce(n, factor, reducer)
    kernel = one_kernel(s, args)
    assert [int(g.value) for g in kernel.grid] == [1, 1, 1] and kernel.block_dims() == (factor, 1, 1)
    f = tvm.build(s, args, target="cuda -emulate")
    a = rng.standard_normal(n).astype("float32")
    b = np.full((), np.nan, "float32")
    f(a, b)
    np.testing.assert_allclose(b, REDUCERS[reducer][1](a), rtol=1e-5, atol=1e-4)
    src = f.get_source("cuda")
    assert src.count("__global__") == 1 and "B[0] = " in src
    store = src.splitlines().index(next(line for line in src.splitlines() if "B[0] = " in line))
    assert "== 0)" in src.splitlines()[store - 1]  # one thread stores the result


@needs_nvrtc
@pytest.mark.parametrize("factor", [32, 256, 96])
def test_full_sum_compiles_for_sm90(factor):
    s, args = full_reduce(4096, factor, "sum")
    m = tvm.build(s, args, target="cuda -arch=sm_90")
    assert len(m.compiled.resources) == 1
    ptx = m.compiled.ptx
    assert ("shfl.sync" in ptx) == (factor in (32, 256)) and (".shared" in ptx) == (factor != 32)


def test_topi_full_sum_as_tvm_schedules_it():
    # TVM's topi.cuda.schedule_reduce of a full sum, and schedule_injective of a 0-d copy.
    rng = np.random.default_rng()
    n = int(rng.integers(1, 3000))
    A = te.placeholder((n,), name="A")
    B, C = topi.sum(A), te.compute((), lambda: A[n - 1] * 2.0, name="C")
    with tvm.target.Target("cuda -emulate"):
        sb, sc = topi.cuda.schedule_reduce(B), topi.cuda.schedule_injective(C)
    a = rng.standard_normal(n).astype("float32")
    b, c = np.zeros((), "float32"), np.zeros((), "float32")
    tvm.build(sb, [A, B], target="cuda -emulate")(a, b)
    tvm.build(sc, [A, C], target="cuda -emulate")(a, c)
    np.testing.assert_allclose(b, a.sum(), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(c, a[-1] * np.float32(2.0))


def scalar_stage(n: int):
    A = te.placeholder((n,), name="A")
    B = te.compute((), lambda: A[0] * 3.0 + A[n - 1], name="B")
    return A, B, te.create_schedule(B.op)


def scalar_stage_data(rng: np.random.Generator, n: int) -> np.ndarray:
    """Normal data whose a[0] * 3 + a[-1] cancels less than 3/4 of its terms: an FMA (one rounding) and a
    multiply then an add (two) then agree to rtol 1e-6, which near a cancelled sum they do not."""
    while True:
        a = rng.standard_normal(n).astype("float32")
        if abs(3 * a[0] + a[-1]) >= 0.25 * (abs(3 * a[0]) + abs(a[-1])):
            return a


def test_zero_dim_elementwise_bound_to_a_singleton_is_one_thread():
    rng = np.random.default_rng()
    n = int(rng.integers(1, 100))
    A, B, s = scalar_stage(n)
    s[B].bind(s[B].fuse(), te.thread_axis("blockIdx.x"))  # fuse() of no axes: extent 1, as in TVM
    kernel = one_kernel(s, [A, B])
    assert [int(g.value) for g in kernel.grid] == [1, 1, 1] and kernel.block_dims() == (1, 1, 1)
    f = tvm.build(s, [A, B], target="cuda -emulate")
    a = scalar_stage_data(rng, n)
    b = np.full((), np.nan, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a[0] * np.float32(3.0) + a[-1], rtol=1e-6)  # an FMA may round once


def test_zero_dim_elementwise_split_over_block_and_thread():
    rng = np.random.default_rng()
    A, B, s = scalar_stage(16)
    bx, tx = s[B].split(s[B].fuse(), factor=1)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    a = scalar_stage_data(rng, 16)
    b = np.full((), np.nan, "float32")
    tvm.build(s, [A, B], target="cuda -emulate")(a, b)
    np.testing.assert_allclose(b, a[0] * np.float32(3.0) + a[-1], rtol=1e-6)  # an FMA may round once


def test_unbound_zero_dim_stage_is_refused_as_tvm_refuses_it():
    # TVM's VerifyMemory: "Variable `B` is directly accessed by host memory ... Did you forget to bind?"
    A, B, s = scalar_stage(8)
    with pytest.raises(BuildError, match=r"did you forget to bind\? A stage without axes .* s\[T\]\.fuse\(\)"):
        tvm.build(s, [A, B], target="cuda -emulate")
