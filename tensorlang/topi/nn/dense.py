"""Dense (fully connected) layers and batched matrix products."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from .. import tag
from ..broadcast import broadcast_shape
from ..utils import get_const_int, out_dtype_of


def dense(data: Tensor, weight: Tensor, bias: Tensor | None = None, out_dtype: str | None = None) -> Tensor:
    """data (M, K) x weight (N, K)^T [+ bias (N,)] -> (M, N)."""
    out_dtype = out_dtype or str(data.dtype)
    if len(data.shape) != 2 or len(weight.shape) != 2:
        raise ExprError("dense: data and weight must be 2-D")
    m, kd = data.shape
    n, kw = weight.shape
    if get_const_int(kd) != get_const_int(kw):
        raise ExprError(f"dense: {data.name} has {get_const_int(kd)} columns but {weight.name} has {get_const_int(kw)}")
    k = te.reduce_axis((0, kd), name="k")
    out = te.compute((m, n), lambda i, j: te.sum(data[i, k].astype(out_dtype) * weight[j, k].astype(out_dtype),
                                                  axis=k), name="T_dense", tag="dense")
    if bias is not None:
        out = te.compute((m, n), lambda i, j: out[i, j] + bias[j].astype(out_dtype), name="T_add",
                         tag=tag.BROADCAST)
    return out


def matmul(tensor_a: Tensor, tensor_b: Tensor, bias: Tensor | None = None, out_dtype: str | None = None,
           transpose_a: bool = False, transpose_b: bool = False) -> Tensor:
    """A (M, K) x B (K, N) with optional transposes [+ bias (N,)]."""
    out_dtype = out_dtype or str(tensor_a.dtype)
    m = tensor_a.shape[1] if transpose_a else tensor_a.shape[0]
    red = tensor_a.shape[0] if transpose_a else tensor_a.shape[1]
    n = tensor_b.shape[0] if transpose_b else tensor_b.shape[1]
    k = te.reduce_axis((0, red), name="k")

    def body(i: Any, j: Any) -> Any:
        a = tensor_a[k, i] if transpose_a else tensor_a[i, k]
        b = tensor_b[j, k] if transpose_b else tensor_b[k, j]
        return te.sum(a.astype(out_dtype) * b.astype(out_dtype), axis=k)
    out = te.compute((m, n), body, name="T_matmul", tag="matmul")
    if bias is not None:
        out = te.compute((m, n), lambda i, j: out[i, j] + bias[j].astype(out_dtype), name="T_add",
                         tag=tag.BROADCAST)
    return out


def batch_matmul(tensor_a: Tensor, tensor_b: Tensor, oshape: Any = None, out_dtype: str | None = None,
                 transpose_a: bool = False, transpose_b: bool = True, auto_scheduler_rewritten_layout: str = "",
                 meta_schedule_original_shape: Any = None) -> Tensor:
    """Batched A x B (B transposed by default, as in TVM): (b, M, K) x (b, N, K) -> (b, M, N);
    a batch of 1 broadcasts."""
    out_dtype = out_dtype or str(tensor_a.dtype)
    if len(tensor_a.shape) != 3 or len(tensor_b.shape) != 3:
        raise ExprError("batch_matmul: both tensors must be 3-D")
    ba, a1, a2 = tensor_a.shape
    bb, b1, b2 = tensor_b.shape
    m, red = (a2, a1) if transpose_a else (a1, a2)
    n, red_b = (b1, b2) if transpose_b else (b2, b1)
    if get_const_int(red) != get_const_int(red_b):
        raise ExprError(f"batch_matmul: reduction sizes differ ({get_const_int(red)} vs {get_const_int(red_b)})")
    batch = broadcast_shape([ba], [bb], "batch_matmul")[0]
    one_a = get_const_int(ba) == 1
    one_b = get_const_int(bb) == 1
    k = te.reduce_axis((0, red), name="k")

    def body(b: Any, i: Any, j: Any) -> Any:
        xa = 0 if one_a else b
        xb = 0 if one_b else b
        va = tensor_a[xa, k, i] if transpose_a else tensor_a[xa, i, k]
        vb = tensor_b[xb, j, k] if transpose_b else tensor_b[xb, k, j]
        return te.sum(va.astype(out_dtype) * vb.astype(out_dtype), axis=k)
    return te.compute(oshape or (batch, m, n), body, name="T_batch_matmul", tag="batch_matmul")


def dense_pack(data: Tensor, weight: Tensor, bias: Tensor | None = None, out_dtype: str | None = None) -> Tensor:
    """data (M, K) x W^T [+ bias (N,)] -> (M, N), with W (N, K) given packed as ``weight`` (N / n, K, n):
    ``weight[j // n, k, j % n] == W[j, k]``, so the n output columns of a block read contiguous weights."""
    what = "dense_pack"
    out_dtype = out_dtype_of(out_dtype, data, what)
    if len(data.shape) != 2 or len(weight.shape) != 3:
        raise ExprError(f"{what}: data must be 2-D (M, K) and weight 3-D (N / n, K, n), got {data.name}"
                        f"{tuple(data.shape)} and {weight.name}{tuple(weight.shape)}")
    m, kd = data.shape
    chunks, kw, bn = weight.shape
    if get_const_int(kd) != get_const_int(kw):
        raise ExprError(f"{what}: {data.name} has {get_const_int(kd)} columns but {weight.name} packs "
                        f"{get_const_int(kw)} (its dimension 1)")
    bn = get_const_int(bn)
    n = chunks * bn
    if bias is not None and (len(bias.shape) != 1 or get_const_int(bias.shape[0]) != get_const_int(n)):
        raise ExprError(f"{what}: bias {bias.name} must be 1-D with {get_const_int(n)} elements, got "
                        f"{tuple(bias.shape)}")
    k = te.reduce_axis((0, kd), name="k")
    out = te.compute((m, n), lambda i, j: te.sum(data[i, k].astype(out_dtype) * weight[j // bn, k, j % bn]
                                                 .astype(out_dtype), axis=k), name="T_dense_pack", tag="dense_pack")
    if bias is not None:
        out = te.compute((m, n), lambda i, j: out[i, j] + bias[j].astype(out_dtype), name="T_add",
                         tag=tag.BROADCAST)
    return out
