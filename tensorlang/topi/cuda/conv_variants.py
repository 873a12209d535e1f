"""CUDA names of TVM's convolution-variant AutoTVM templates and schedules (``conv1d_ncw/nwc``,
``group_conv1d_ncw/nwc``, ``conv1d_transpose_ncw``, ``conv2d_transpose_nchw``, ``conv3d_ncdhw/ndhwc``,
``conv3d_transpose_ncdhw``, ``group_conv2d_nchw``, ``correlation_nchw``, ``deformable_conv2d_nchw``,
``conv2d_hwcn``; and the schedules of ``roi_align``/``roi_pool``/``reorg``)
that tensorlang serves with the ``topi.nn`` declarations, so TVM code that picks its compute and
schedule from ``topi.cuda`` (TVM's per-target implementation tables) ports; they are not tunable
templates here.  The schedules are direct: one thread per output element, padding, dilation and
other elementwise producers inlined, the convolution's reduction computed in the thread (correct,
not tuned)."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import nn
from ..generic.helpers import schedule_each
from .injective import schedule_injective
from .pooling import schedule_pool_output

conv1d_ncw = nn.conv1d_ncw
conv2d_hwcn = nn.conv2d_hwcn
conv1d_nwc = nn.conv1d_nwc
group_conv1d_ncw = nn.group_conv1d_ncw
group_conv1d_nwc = nn.group_conv1d_nwc
conv1d_transpose_ncw = nn.conv1d_transpose_ncw
conv2d_transpose_nchw = nn.conv2d_transpose_nchw
conv3d_ncdhw = nn.conv3d_ncdhw
conv3d_ndhwc = nn.conv3d_ndhwc
conv3d_transpose_ncdhw = nn.conv3d_transpose_ncdhw
group_conv2d_nchw = nn.group_conv2d_nchw
correlation_nchw = nn.correlation_nchw
deformable_conv2d_nchw = nn.deformable_conv2d_nchw


def _direct(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """One thread per output element, producers inlined or computed in the thread."""
    return schedule_each(outs, schedule_pool_output)


schedule_conv1d_ncw = schedule_conv1d_nwc = schedule_conv1d_transpose_ncw = _direct
schedule_group_conv1d_ncw = schedule_group_conv1d_nwc = _direct
schedule_conv2d_transpose_nchw = schedule_group_conv2d_nchw = _direct
schedule_conv3d_ncdhw = schedule_conv3d_ndhwc = schedule_conv3d_transpose_ncdhw = _direct
schedule_correlation_nchw = schedule_deformable_conv2d_nchw = schedule_conv2d_hwcn = _direct
# TVM's CUDA schedules of the rcnn vision ops: computes too, one thread an output element
schedule_roi_align = schedule_roi_pool = _direct
schedule_reorg = schedule_injective  # vision.reorg is a reshape-transpose

__all__ = ["conv1d_ncw", "conv1d_nwc", "group_conv1d_ncw", "group_conv1d_nwc", "schedule_group_conv1d_ncw",
           "schedule_group_conv1d_nwc", "conv1d_transpose_ncw", "conv2d_transpose_nchw", "conv3d_ncdhw",
           "conv3d_ndhwc", "conv3d_transpose_ncdhw", "group_conv2d_nchw", "correlation_nchw",
           "deformable_conv2d_nchw", "schedule_conv1d_ncw", "schedule_conv1d_nwc", "schedule_conv1d_transpose_ncw",
           "schedule_conv2d_transpose_nchw", "schedule_group_conv2d_nchw", "schedule_conv3d_ncdhw",
           "schedule_conv3d_ndhwc", "schedule_conv3d_transpose_ncdhw", "schedule_correlation_nchw",
           "schedule_deformable_conv2d_nchw", "conv2d_hwcn", "schedule_conv2d_hwcn", "schedule_roi_align",
           "schedule_roi_pool", "schedule_reorg"]
