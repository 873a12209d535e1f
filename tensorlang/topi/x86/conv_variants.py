"""x86 names of TVM's for convolution variants, sparse_dense and dense_dynamic that tensorlang serves
with the generic declarations and plain schedules: ``conv3d_ncdhw``, ``conv3d_ndhwc``,
``conv3d_transpose_ncdhw``, ``conv2d_transpose_nchw`` and ``group_conv2d_nchw`` (TVM's AutoTVM
templates, here the ``topi.nn`` computes, not tunable) with their schedules, and the fixed schedules
of conv1d, conv3d_ndhwc and sparse_dense.  The schedules keep every stage at root and inline padding
and other elementwise producers; they are correct, not tuned."""

from __future__ import annotations

from collections.abc import Sequence

from ... import te
from ...errors import ExprError
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import nn, vision
from ..generic.default import default_schedule
from ..utils import static_dim

conv3d_ncdhw = nn.conv3d_ncdhw
roi_align_nchw = vision.roi_align_nchw  # TVM's x86 roi_align (test_topi_vision's "cpu" entry)
conv3d_ndhwc = nn.conv3d_ndhwc
conv3d_transpose_ncdhw = nn.conv3d_transpose_ncdhw
conv2d_transpose_nchw = nn.conv2d_transpose_nchw
group_conv2d_nchw = nn.group_conv2d_nchw


def _inlined(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Every stage at root, injective producers (padding, dilation) inlined into their consumers."""
    return default_schedule(outs, auto_inline=True)


schedule_conv1d_ncw = schedule_conv1d_nwc = schedule_conv3d_ncdhw = schedule_conv3d_ndhwc = _inlined
schedule_conv2d_transpose_nchw = schedule_group_conv2d_nchw = schedule_sparse_dense = _inlined
schedule_conv3d_transpose_ncdhw = schedule_group_conv1d_ncw = schedule_group_conv1d_nwc = _inlined
schedule_batch_norm = _inlined  # TVM's x86 batch_norm schedule; here every stage at root


def dense_dynamic(A: Tensor, B: Tensor, bias: Tensor | None, dtype: str) -> Tensor:  # noqa: N803
    """TVM's x86 ``dense_dynamic``: a row vector ``A`` (1, K) times ``B`` (N, K) transposed (+ ``bias``
    (N,)), accumulated in ``dtype``; N may be a ``te.var`` bound when the function runs."""
    what = "dense_dynamic"
    if len(A.shape) != 2 or len(B.shape) != 2:
        raise ExprError(f"{what}: A and B must be 2-D, got shapes {list(A.shape)} and {list(B.shape)}")
    if static_dim(A.shape[0]) != 1:
        raise ExprError(f"{what}: only a row vector A (1, K) is supported (TVM's too), got {list(A.shape)}")
    k = te.reduce_axis((0, A.shape[1]), name="k")
    out = te.compute((1, B.shape[0]), lambda i, j: te.sum(A[i, k].astype(dtype) * B[j, k].astype(dtype), axis=k),
                     name="dense_dynamic_cpu", tag="dense_dynamic_cpu")
    if bias is None:
        return out
    return te.compute(out.shape, lambda i, j: out[i, j] + bias[j].astype(dtype), name="T_add", tag="broadcast")


def schedule_dense_dynamic(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """A plain schedule of ``dense_dynamic`` (TVM's is its extern schedule)."""
    return _inlined(outs)
