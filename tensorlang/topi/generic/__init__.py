"""Default schedules for topi ops on any target (``topi.generic.schedule_*``)."""

from .default import default_schedule, schedule_injective, schedule_reduce
from .extern import schedule_extern

schedule_elemwise = schedule_broadcast = schedule_injective
schedule_conv2d_nchw = schedule_conv2d_nhwc = schedule_dense = schedule_batch_matmul = default_schedule
schedule_depthwise_conv2d_nchw = schedule_depthwise_conv2d_nhwc = default_schedule
schedule_softmax = schedule_pool = schedule_adaptive_pool = schedule_sparse_dense = default_schedule
schedule_lrn = schedule_pool_grad = schedule_conv2d_transpose_nchw = schedule_group_conv2d_nchw = default_schedule

__all__ = ["default_schedule", "schedule_injective", "schedule_reduce", "schedule_elemwise", "schedule_broadcast",
           "schedule_conv2d_nchw", "schedule_conv2d_nhwc", "schedule_dense", "schedule_batch_matmul",
           "schedule_softmax", "schedule_pool", "schedule_adaptive_pool", "schedule_sparse_dense",
           "schedule_depthwise_conv2d_nchw", "schedule_depthwise_conv2d_nhwc", "schedule_extern", "schedule_lrn",
           "schedule_pool_grad", "schedule_conv2d_transpose_nchw", "schedule_group_conv2d_nchw"]
