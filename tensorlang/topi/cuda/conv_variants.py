"""CUDA names of TVM's convolution-variant AutoTVM templates (``conv1d_ncw``, ``conv2d_transpose_nchw``,
``conv3d_ncdhw``, ``group_conv2d_nchw``) that tensorlang serves with the ``topi.nn`` declarations, so
TVM code that picks its compute from ``topi.cuda`` ports; they are not tunable templates here."""

from __future__ import annotations

from .. import nn

conv1d_ncw = nn.conv1d_ncw
conv2d_transpose_nchw = nn.conv2d_transpose_nchw
conv3d_ncdhw = nn.conv3d_ncdhw
group_conv2d_nchw = nn.group_conv2d_nchw

__all__ = ["conv1d_ncw", "conv2d_transpose_nchw", "conv3d_ncdhw", "group_conv2d_nchw"]
