"""Default schedules for topi ops on any target (``topi.generic.schedule_*``)."""

from .default import default_schedule, schedule_injective, schedule_reduce
from .extern import schedule_extern

schedule_elemwise = schedule_broadcast = schedule_injective
schedule_conv2d_nchw = schedule_conv2d_nhwc = schedule_dense = schedule_batch_matmul = default_schedule
schedule_depthwise_conv2d_nchw = schedule_depthwise_conv2d_nhwc = default_schedule
schedule_softmax = schedule_pool = schedule_adaptive_pool = schedule_sparse_dense = default_schedule
schedule_lrn = schedule_pool_grad = schedule_conv2d_transpose_nchw = schedule_group_conv2d_nchw = default_schedule

# TVM's generic schedules for these ops are all its default schedule (every stage at root, nothing
# inlined): convolution variants (generic/nn.py), dilation2d (image.py), sort/search (sort.py,
# search.py) and vision ops (vision.py), whose tensorlang computes are plain stages or extern calls.
schedule_conv1d_ncw = schedule_conv1d_nwc = schedule_conv1d_transpose_ncw = default_schedule
schedule_group_conv1d_ncw = schedule_group_conv1d_nwc = default_schedule
schedule_conv3d_ncdhw = schedule_conv3d_ndhwc = schedule_conv3d_transpose_ncdhw = default_schedule
schedule_group_conv2d_nhwc = schedule_group_conv2d_transpose_nchw = schedule_deformable_conv2d_nchw = default_schedule
schedule_deformable_conv2d_nhwc = schedule_batch_norm = schedule_conv2d_hwcn = default_schedule
schedule_correlation_nchw = schedule_dilation2d_nchw = schedule_dilation2d_nhwc = default_schedule
schedule_fast_softmax = default_schedule
schedule_sort = schedule_argsort = schedule_topk = schedule_unique = schedule_argwhere = default_schedule
schedule_scatter = default_schedule
schedule_get_valid_counts = schedule_nms = schedule_roi_align = schedule_roi_pool = schedule_reorg = default_schedule

__all__ = ["schedule_group_conv1d_ncw", "schedule_group_conv1d_nwc", "schedule_batch_norm", "schedule_conv2d_hwcn",
           "default_schedule", "schedule_injective", "schedule_reduce", "schedule_elemwise", "schedule_broadcast",
           "schedule_conv2d_nchw", "schedule_conv2d_nhwc", "schedule_dense", "schedule_batch_matmul",
           "schedule_softmax", "schedule_pool", "schedule_adaptive_pool", "schedule_sparse_dense",
           "schedule_depthwise_conv2d_nchw", "schedule_depthwise_conv2d_nhwc", "schedule_extern", "schedule_lrn",
           "schedule_pool_grad", "schedule_conv2d_transpose_nchw", "schedule_group_conv2d_nchw",
           "schedule_conv1d_ncw", "schedule_conv1d_nwc", "schedule_conv1d_transpose_ncw", "schedule_conv3d_ncdhw",
           "schedule_conv3d_ndhwc", "schedule_conv3d_transpose_ncdhw", "schedule_group_conv2d_nhwc",
           "schedule_group_conv2d_transpose_nchw", "schedule_deformable_conv2d_nchw", "schedule_correlation_nchw",
           "schedule_deformable_conv2d_nhwc",
           "schedule_dilation2d_nchw", "schedule_dilation2d_nhwc", "schedule_fast_softmax", "schedule_sort",
           "schedule_argsort", "schedule_topk", "schedule_unique", "schedule_argwhere", "schedule_scatter",
           "schedule_get_valid_counts", "schedule_nms", "schedule_roi_align", "schedule_roi_pool",
           "schedule_reorg"]
