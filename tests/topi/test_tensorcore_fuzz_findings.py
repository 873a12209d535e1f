"""Tensor-core schedules found wrong or unclear by a fuzzing campaign (session 17), in
``cuda -emulate`` against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tensorlang.autotune.space import FallbackConfigEntity, OtherOptionEntity
from tensorlang.errors import ScheduleError
from tensorlang.topi.cuda.dense_tensorcore import dense_tensorcore_cuda, schedule_wmma_gemm
from tensorlang.topi.utils import schedule_tagged

rng = np.random.default_rng()


def test_a_warp_row_of_more_fragments_than_fragment_rows():
    """Nine 8x32 accumulators side by side in a warp's tile: the fragment numbers of
    topi.cuda.tensor_intrin (TVM's offset // (rows * cols) + offset % (rows * cols) // cols) gave
    the ninth the second's number once a row held more fragments than a fragment has rows."""
    M, N, K = 8, 9 * 32, 16
    A = te.placeholder((M, K), name="A", dtype="float16")
    B = te.placeholder((N, K), name="B", dtype="float16")
    cfg = FallbackConfigEntity()
    knobs = dict(block_row_warps=1, block_col_warps=1, warp_row_tiles=1, warp_col_tiles=9, chunk=1, offset=0,
                 offsetCS=0, vec=1, wmma_m=8)
    for name, value in knobs.items():
        cfg[name] = OtherOptionEntity(value)
    with tvm.target.Target("cuda"):
        D = dense_tensorcore_cuda(A, B, None, "float32")
        s = schedule_tagged([D], "dense_tensorcore",
                            lambda s, op, out: schedule_wmma_gemm(cfg, s, op.output(0), "dense_tensorcore"))
    f = tvm.build(s, [A, B, D], "cuda -emulate")
    a = rng.uniform(-1, 1, (M, K)).astype("float16")
    b = rng.uniform(-1, 1, (N, K)).astype("float16")
    d = np.full((M, N), np.nan, "float32")
    f(a, b, d)
    np.testing.assert_allclose(d, a.astype("float32") @ b.astype("float32").T, rtol=1e-4, atol=1e-4)


def test_accumulator_types_are_refused_by_the_operators():
    # The build refused the fragments later, naming neither the operator nor out_dtype.
    i8 = te.placeholder((16, 16), name="A", dtype="int8")
    h = te.placeholder((2, 16, 16), name="x", dtype="float16")
    img = te.placeholder((16, 4, 4, 16), name="I", dtype="float16")
    ker = te.placeholder((3, 3, 16, 16), name="W", dtype="float16")
    with tvm.target.Target("cuda"):
        with pytest.raises(ScheduleError, match="dense_tensorcore: tensor cores sum int8 products in int32, not "
                                                "int8; pass out_dtype='int32'"):
            topi.cuda.dense_tensorcore(i8, i8, None, None)
        with pytest.raises(ScheduleError, match="batch_matmul_tensorcore: .* float16 products in float16 or "
                                                "float32, not int32"):
            topi.cuda.batch_matmul_tensorcore(h, h, None, "int32")
        with pytest.raises(ScheduleError, match=r"conv2d_nhwc_tensorcore \(inputs converted to float16\): .* not "
                                                "int32"):
            topi.cuda.conv2d_nhwc_tensorcore(img, ker, 1, 1, 1, "int32")


def test_one_tensor_as_both_operands():
    """A @ A.T: the schedule unpacked two input tensors from one (a ValueError); the weight now
    gets its own shared tile through a copy the schedule inlines."""
    A = te.placeholder((16, 16), name="A", dtype="int8")
    X = te.placeholder((2, 16, 16), name="X", dtype="float16")
    with tvm.target.Target("cuda"):
        D = topi.cuda.dense_tensorcore(A, A, None, "int32")
        sd = topi.cuda.schedule_dense_tensorcore([D])
        Z = topi.cuda.batch_matmul_tensorcore(X, X, None, "float32")
        sz = topi.cuda.schedule_batch_matmul_tensorcore([Z])
    a = rng.integers(-128, 128, (16, 16)).astype("int8")
    d = np.zeros((16, 16), "int32")
    tvm.build(sd, [A, D], "cuda -emulate")(a, d)
    np.testing.assert_array_equal(d, a.astype("int32") @ a.astype("int32").T)
    x = rng.uniform(-1, 1, (2, 16, 16)).astype("float16")
    z = np.full((2, 16, 16), np.nan, "float32")
    tvm.build(sz, [X, Z], "cuda -emulate")(x, z)
    np.testing.assert_allclose(z, np.einsum("bik,bjk->bij", x.astype("float32"), x.astype("float32")), rtol=1e-4,
                               atol=1e-4)
