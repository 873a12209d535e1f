"""Dense (fully connected) layers and batched matrix products."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.tensor import Tensor
from .. import tag
from ..broadcast import broadcast_shape
from ..utils import check_tensors, get_const_int, get_const_tuple, out_dtype_of, static_dim


def _check_tensors(what: str, **tensors: Any) -> None:
    for arg, t in tensors.items():
        if t is not None and not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")


def _check_bias(what: str, bias: Tensor | None, n: Any) -> None:
    """``bias`` must be 1-D with one element per output column (``n``, checked when both are constant)."""
    if bias is None:
        return
    if len(bias.shape) != 1:
        raise ExprError(f"{what}: bias {bias.name} must be 1-D with one element per output column ({n}), got "
                        f"shape {get_const_tuple(bias.shape)}")
    have, want = static_dim(bias.shape[0]), static_dim(n)
    if have is not None and want is not None and have != want:
        raise ExprError(f"{what}: bias {bias.name} has {have} elements but the output has {want} columns")


def dense(data: Tensor, weight: Tensor, bias: Tensor | None = None, out_dtype: str | None = None) -> Tensor:
    """data (M, K) x weight (N, K)^T [+ bias (N,)] -> (M, N)."""
    _check_tensors("dense", data=data, weight=weight, bias=bias)
    out_dtype = out_dtype or str(data.dtype)
    if len(data.shape) != 2 or len(weight.shape) != 2:
        raise ExprError(f"dense: data and weight must be 2-D, got {data.name}{get_const_tuple(data.shape)} and "
                        f"{weight.name}{get_const_tuple(weight.shape)}")
    m, kd = data.shape
    n, kw = weight.shape
    if static_dim(kd) is not None and static_dim(kw) is not None and static_dim(kd) != static_dim(kw):
        raise ExprError(f"dense: {data.name} has {static_dim(kd)} columns but {weight.name} has {static_dim(kw)}")
    _check_bias("dense", bias, n)
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
    what = "matmul"
    _check_tensors(what, tensor_a=tensor_a, tensor_b=tensor_b, bias=bias)
    out_dtype = out_dtype or str(tensor_a.dtype)
    if len(tensor_a.shape) != 2 or len(tensor_b.shape) != 2:
        raise ExprError(f"{what}: tensor_a and tensor_b must be 2-D, got {tensor_a.name}"
                        f"{get_const_tuple(tensor_a.shape)} and {tensor_b.name}{get_const_tuple(tensor_b.shape)}")
    m = tensor_a.shape[1] if transpose_a else tensor_a.shape[0]
    red = tensor_a.shape[0] if transpose_a else tensor_a.shape[1]
    n = tensor_b.shape[0] if transpose_b else tensor_b.shape[1]
    red_b = tensor_b.shape[1] if transpose_b else tensor_b.shape[0]
    if static_dim(red) is not None and static_dim(red_b) is not None and static_dim(red) != static_dim(red_b):
        raise ExprError(f"{what}: the contracted dimensions differ: {tensor_a.name} (dimension "
                        f"{0 if transpose_a else 1}) has {static_dim(red)} but {tensor_b.name} (dimension "
                        f"{1 if transpose_b else 0}) has {static_dim(red_b)}")
    _check_bias(what, bias, n)
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
    check_tensors("batch_matmul", tensor_a=tensor_a, tensor_b=tensor_b)
    out_dtype = out_dtype or str(tensor_a.dtype)
    if len(tensor_a.shape) != 3 or len(tensor_b.shape) != 3:
        raise ExprError("batch_matmul: both tensors must be 3-D")
    ba, a1, a2 = tensor_a.shape
    bb, b1, b2 = tensor_b.shape
    m, red = (a2, a1) if transpose_a else (a1, a2)
    n, red_b = (b1, b2) if transpose_b else (b2, b1)
    if static_dim(red) is not None and static_dim(red_b) is not None and static_dim(red) != static_dim(red_b):
        raise ExprError(f"batch_matmul: reduction sizes differ ({static_dim(red)} vs {static_dim(red_b)})")
    batch = broadcast_shape([ba], [bb], "batch_matmul")[0]
    # a symbolic batch is not broadcast: both tensors then carry the full batch (as in TVM)
    one_a = static_dim(ba) == 1
    one_b = static_dim(bb) == 1
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
    check_tensors("dense_pack", data=data, weight=weight)
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
