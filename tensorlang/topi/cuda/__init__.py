"""AutoTVM templates for NVIDIA GPUs: ``conv2d_nchw.cuda``, ``dense_small_batch.cuda``,
``dense_large_batch.cuda``."""

from .conv2d import conv2d_nchw, schedule_conv2d_nchw
from .dense import dense_large_batch, dense_small_batch, schedule_dense_large_batch, schedule_dense_small_batch

__all__ = ["conv2d_nchw", "schedule_conv2d_nchw", "dense_large_batch", "dense_small_batch",
           "schedule_dense_large_batch", "schedule_dense_small_batch"]
