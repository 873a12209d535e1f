"""Neural-network operators (``topi.nn``): declarations only; schedule them yourself or with
the templates of ``topi.x86`` / ``topi.cuda``."""

from ..utils import get_pad_tuple, get_pad_tuple3d  # TVM keeps them in topi.nn.utils, re-exported by topi.nn
from .batch_space import batch_to_space_nd, scale_shift_nchw, scale_shift_nchwc, scale_shift_nhwc, space_to_batch_nd
from .conv1d import conv1d, conv1d_ncw, conv1d_nwc, group_conv1d_ncw, group_conv1d_nwc
from .conv2d import (
    conv,
    conv2d,
    conv2d_hwcn,
    conv2d_nchw,
    conv2d_nhwc,
    depthwise_conv2d_nchw,
    depthwise_conv2d_nhwc,
    group_conv2d_nchw,
    group_conv2d_nhwc,
)
from .conv2d_nchwc import conv2d_NCHWc, conv2d_NCHWc_int8, depthwise_conv2d_NCHWc, unpack_NCHWc_to_nchw
from .conv3d import conv3d_ncdhw, conv3d_ndhwc
from .conv_transpose import (
    conv1d_transpose_ncw,
    conv2d_transpose_nchw,
    conv3d_transpose_ncdhw,
    group_conv2d_transpose_nchw,
)
from .dense import batch_matmul, dense, dense_pack, matmul
from .depth_space import depth_to_space, space_to_depth
from .depthwise_backward import depthwise_conv2d_backward_input_nhwc, depthwise_conv2d_backward_weight_nhwc
from .elemwise import leaky_relu, prelu, relu
from .loss import nll_loss
from .lstm import lstm
from .mapping import batch_flatten, bias_add, flatten
from .normalization import batch_norm, group_norm, instance_norm, l2_normalize, layer_norm, lrn
from .pad import dilate, mirror_pad, pad
from .pooling import adaptive_pool, adaptive_pool1d, adaptive_pool3d, global_pool, pool1d, pool2d, pool3d, pool_grad
from .softmax import fast_softmax, log_softmax, softmax
from .sparse import sparse_add, sparse_dense, sparse_transpose
from .upsampling import upsampling, upsampling3d
from .vision_ops import correlation_nchw, deformable_conv2d_nchw, deformable_conv2d_nhwc, fifo_buffer
from .winograd import (
    conv2d_winograd_nhwc,
    conv2d_winograd_nhwc_without_weight_transform,
    conv2d_winograd_weight_transform,
    winograd_transform_matrices,
)

__all__ = ["depthwise_conv2d_backward_input_nhwc", "depthwise_conv2d_backward_weight_nhwc",
           "conv2d_hwcn", "group_conv1d_ncw", "group_conv1d_nwc",
           "get_pad_tuple", "get_pad_tuple3d",
           "conv", "conv2d", "conv2d_nchw", "conv2d_nhwc", "depthwise_conv2d_nchw", "batch_matmul", "dense", "matmul",
           "leaky_relu", "prelu", "relu", "pad", "global_pool", "pool2d", "log_softmax", "softmax",
           "conv1d", "conv1d_ncw", "conv1d_nwc", "conv2d_transpose_nchw", "depth_to_space", "space_to_depth",
           "batch_flatten", "bias_add", "flatten", "batch_norm", "l2_normalize", "layer_norm", "lrn", "dilate",
           "adaptive_pool", "upsampling", "fast_softmax", "group_norm", "instance_norm", "depthwise_conv2d_nhwc",
           "group_conv2d_nchw", "conv3d_ncdhw", "conv3d_ndhwc", "pool1d", "pool3d", "adaptive_pool1d",
           "adaptive_pool3d", "mirror_pad", "nll_loss", "sparse_dense", "pool_grad", "sparse_add", "sparse_transpose",
           "conv1d_transpose_ncw", "conv3d_transpose_ncdhw", "group_conv2d_transpose_nchw", "upsampling3d",
           "batch_to_space_nd", "scale_shift_nchw", "scale_shift_nchwc", "scale_shift_nhwc", "space_to_batch_nd",
           "correlation_nchw", "deformable_conv2d_nchw", "deformable_conv2d_nhwc", "fifo_buffer", "lstm",
           "conv2d_NCHWc", "conv2d_NCHWc_int8", "depthwise_conv2d_NCHWc", "unpack_NCHWc_to_nchw", "dense_pack",
           "group_conv2d_nhwc", "conv2d_winograd_nhwc", "conv2d_winograd_nhwc_without_weight_transform",
           "conv2d_winograd_weight_transform", "winograd_transform_matrices"]
