"""x86 schedules: AutoTVM templates (``conv2d_nchw.x86``, ``conv2d_NCHWc.x86``, ``dense_nopack.x86``,
``dense_pack.x86``, ``batch_matmul.x86``, ``depthwise_conv2d_NCHWc.x86``, which ``depthwise_conv2d_nchw``
runs) and TVM's fixed schedules for injective ops, concatenate, NHWC conv2d, reductions, softmax and
pooling (``schedule_injective``, ``schedule_concatenate``, ``schedule_conv2d_nhwc``, ``schedule_reduce``,
``schedule_softmax``, ``schedule_pool`` ...)."""

from .batch_matmul import batch_matmul, schedule_batch_matmul
from .conv2d import conv2d_nchw, conv2d_NCHWc, schedule_conv2d_nchw, schedule_conv2d_NCHWc
from .conv2d_nhwc import schedule_conv2d_nhwc
from .conv_variants import (
    conv2d_transpose_nchw,
    conv3d_ncdhw,
    conv3d_ndhwc,
    conv3d_transpose_ncdhw,
    dense_dynamic,
    group_conv2d_nchw,
    roi_align_nchw,
    schedule_batch_norm,
    schedule_conv1d_ncw,
    schedule_conv1d_nwc,
    schedule_conv2d_transpose_nchw,
    schedule_conv3d_ncdhw,
    schedule_conv3d_ndhwc,
    schedule_conv3d_transpose_ncdhw,
    schedule_dense_dynamic,
    schedule_group_conv1d_ncw,
    schedule_group_conv1d_nwc,
    schedule_group_conv2d_nchw,
    schedule_sparse_dense,
)
from .dense import dense_nopack, dense_pack, schedule_dense_nopack, schedule_dense_pack
from .depthwise_conv2d import (
    depthwise_conv2d_nchw,
    depthwise_conv2d_NCHWc,
    schedule_depthwise_conv2d_nchw,
    schedule_depthwise_conv2d_NCHWc,
)
from .injective import (
    schedule_broadcast,
    schedule_concatenate,
    schedule_elemwise,
    schedule_injective,
    schedule_injective_from_existing,
)
from .pooling import schedule_adaptive_pool, schedule_pool
from .reduction import schedule_reduce
from .softmax import schedule_softmax

__all__ = ["conv2d_nchw", "schedule_conv2d_nchw", "dense_nopack", "dense_pack", "schedule_dense_nopack",
           "schedule_dense_pack", "schedule_injective", "schedule_injective_from_existing", "schedule_elemwise",
           "schedule_broadcast", "schedule_reduce", "schedule_softmax", "schedule_pool", "schedule_adaptive_pool",
           "conv2d_NCHWc", "schedule_conv2d_NCHWc", "batch_matmul", "schedule_batch_matmul", "depthwise_conv2d_nchw",
           "schedule_depthwise_conv2d_nchw", "depthwise_conv2d_NCHWc", "schedule_depthwise_conv2d_NCHWc",
           "schedule_concatenate", "schedule_conv2d_nhwc", "conv3d_ncdhw", "conv2d_transpose_nchw",
           "group_conv2d_nchw", "schedule_conv1d_ncw", "schedule_conv1d_nwc", "schedule_conv3d_ncdhw",
           "schedule_conv3d_ndhwc", "schedule_conv2d_transpose_nchw", "schedule_group_conv2d_nchw",
           "schedule_sparse_dense", "dense_dynamic", "schedule_dense_dynamic", "conv3d_ndhwc", "conv3d_transpose_ncdhw",
           "schedule_conv3d_transpose_ncdhw", "schedule_group_conv1d_ncw", "schedule_group_conv1d_nwc",
           "schedule_batch_norm", "roi_align_nchw"]
