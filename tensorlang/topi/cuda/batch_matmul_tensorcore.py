"""Batched matmul on tensor cores: the AutoTVM template ``batch_matmul_tensorcore.cuda`` under
TVM's names (``batch_matmul_tensorcore``, ``schedule_batch_matmul_tensorcore``,
``batch_matmul_tensorcore_cuda``): each batch a grid of blocks along blockIdx.z, every one
scheduled as ``dense_tensorcore``'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...errors import ScheduleError
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from ..utils import get_const_tuple, schedule_tagged
from .dense_tensorcore import INPUT_DTYPES, check_accumulator, check_shape, distinct_operand, schedule_wmma_gemm


def batch_matmul_tensorcore_cuda(x: Tensor, y: Tensor, out_dtype: str | None = None) -> Tensor:
    """``x[b] @ y[b].T`` for each batch b (x: batch x M x K, y: batch x N x K), products summed in
    ``out_dtype`` (default: the inputs' dtype)."""
    out_dtype = out_dtype or str(x.dtype)
    if len(x.shape) != 3 or len(y.shape) != 3:
        raise ScheduleError(f"batch_matmul_tensorcore: x and y must be 3-D, got {len(x.shape)}-D and {len(y.shape)}-D")
    xb, M, K = get_const_tuple(x.shape)
    yb, N, yk = get_const_tuple(y.shape)
    if str(x.dtype) != str(y.dtype) or str(x.dtype) not in INPUT_DTYPES:
        raise ScheduleError(f"batch_matmul_tensorcore: x and y must both be float16, int8 or uint8, got {x.dtype} "
                            f"and {y.dtype}")
    if xb != yb or K != yk:
        raise ScheduleError(f"batch_matmul_tensorcore: shapes {(xb, M, K)} and {(yb, N, yk)} do not match "
                            "(batch x M x K and batch x N x K)")
    check_accumulator(str(x.dtype), out_dtype, "batch_matmul_tensorcore")
    check_shape(M, K, N, "batch_matmul_tensorcore")
    y = distinct_operand(x, y)
    k = te.reduce_axis((0, K), name="k")
    return te.compute((xb, M, N), lambda b, i, j: te.sum(x[b, i, k].astype(out_dtype) * y[b, j, k].astype(out_dtype),
                                                          axis=k), name="T_batch_matmul", tag="batch_matmul_tensorcore")


@autotvm.register_topi_compute("batch_matmul_tensorcore.cuda")
def batch_matmul_tensorcore(cfg: Any, x: Tensor, y: Tensor, out_shape: Any = None, out_dtype: str | None = None,
                            transpose_a: bool = False, transpose_b: bool = True) -> Tensor:
    """The tensor-core batch_matmul as an AutoTVM template's compute (y transposed, as TVM's)."""
    if transpose_a or not transpose_b:
        raise ScheduleError("batch_matmul_tensorcore: only transpose_a=False, transpose_b=True (x @ y.T) is supported")
    return batch_matmul_tensorcore_cuda(x, y, out_dtype)


@autotvm.register_topi_schedule("batch_matmul_tensorcore.cuda")
def schedule_batch_matmul_tensorcore(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule batch_matmul_tensorcore (and the elementwise ops after it) on tensor cores."""
    return schedule_tagged(outs, "batch_matmul_tensorcore",
                           lambda s, op, out: schedule_wmma_gemm(cfg, s, op.output(0), "batch_matmul_tensorcore"))


__all__ = ["batch_matmul_tensorcore", "batch_matmul_tensorcore_cuda", "schedule_batch_matmul_tensorcore"]
