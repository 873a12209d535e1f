"""AutoTVM templates for x86 CPUs: ``conv2d_nchw.x86``, ``dense_nopack.x86``, ``dense_pack.x86``."""

from .conv2d import conv2d_nchw, schedule_conv2d_nchw
from .dense import dense_nopack, dense_pack, schedule_dense_nopack, schedule_dense_pack

__all__ = ["conv2d_nchw", "schedule_conv2d_nchw", "dense_nopack", "dense_pack", "schedule_dense_nopack",
           "schedule_dense_pack"]
