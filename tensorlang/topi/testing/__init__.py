"""numpy reference implementations of topi operators, to check compiled results against."""

from .array_ops import matrix_set_diag, searchsorted_ref, sequence_mask
from .batch_space import batch_to_space_nd_python, reorg_python, space_to_batch_nd_python
from .common import (
    compare_numpy_tvm,
    dispatch,
    get_broadcast_schedule,
    get_conv2d_nchw_implement,
    get_elemwise_schedule,
    get_injective_schedule,
    get_reduce_schedule,
)
from .conv import (
    conv1d_ncw_python,
    conv1d_transpose_ncw_python,
    conv2d_transpose_nchw_python,
    conv3d_transpose_ncdhw_python,
    group_conv1d_ncw_python,
)
from .conv2d import (
    conv2d_hwcn_python,
    conv2d_nchw_python,
    conv2d_nhwc_python,
    depthwise_conv2d_python_nchw,
    depthwise_conv2d_python_nhwc,
)
from .conv2d_nchwc import (
    conv2d_NCHWc_python,
    depthwise_conv2d_NCHWc_python,
    depthwise_conv2d_python_nchwc,
    pack_dense_weight,
    pack_kernel_oihwio,
    pack_kernel_oihwio_int8,
    pack_nchwc,
    unpack_nchwc,
)
from .conv3d import conv3d_ncdhw_python, conv3d_ndhwc_python
from .image_vision import (
    affine_grid_python,
    crop_and_resize_python,
    grid_sample_python,
    roi_align_nchw_python,
    roi_align_nhwc_python,
    roi_pool_nchw_python,
)
from .lstm import lstm_python
from .nn import (
    batch_matmul,
    dense,
    global_pool_python,
    log_softmax_python,
    pool2d_python,
    poolnd_python,
    softmax_python,
    upsampling3d_python,
)
from .nn_extra import correlation_nchw_python, deformable_conv2d_nchw_python, deformable_conv2d_nhwc_python
from .normalization import (
    batch_norm,
    group_norm_python,
    instance_norm_python,
    l2_normalize_python,
    layer_norm_python,
    lrn_python,
)
from .pooling import adaptive_pool
from .resize import resize1d_python, resize2d_python, resize3d_python
from .sparse_vision import (
    get_valid_counts_python,
    non_max_suppression_python,
    pool_grad_nchw,
    sparse_fill_empty_rows_python,
    sparse_reshape_python,
)
from .transform import (
    depth_to_space_python,
    dilate_python,
    gather_nd_python,
    gather_python,
    one_hot,
    space_to_depth_python,
    strided_set_python,
    strided_slice_python,
)

__all__ = ["conv2d_nchw_python", "conv2d_nhwc_python", "depthwise_conv2d_python_nchw", "depthwise_conv2d_python_nhwc",
           "batch_matmul", "dense",
           "global_pool_python", "log_softmax_python", "pool2d_python", "poolnd_python", "softmax_python",
           "crop_and_resize_python", "affine_grid_python", "grid_sample_python", "roi_align_nchw_python",
           "roi_align_nhwc_python", "roi_pool_nchw_python",
           "dispatch", "get_broadcast_schedule", "get_elemwise_schedule", "get_injective_schedule",
           "get_reduce_schedule", "get_conv2d_nchw_implement",
           "conv1d_ncw_python", "group_conv1d_ncw_python", "conv2d_transpose_nchw_python", "batch_norm",
           "l2_normalize_python", "layer_norm_python", "lrn_python", "adaptive_pool", "depth_to_space_python",
           "dilate_python", "gather_nd_python", "gather_python", "one_hot", "space_to_depth_python",
           "strided_slice_python", "conv3d_ncdhw_python", "conv3d_ndhwc_python",
           "conv1d_transpose_ncw_python", "conv3d_transpose_ncdhw_python", "upsampling3d_python",
           "correlation_nchw_python", "deformable_conv2d_nchw_python",
           "conv2d_NCHWc_python", "depthwise_conv2d_NCHWc_python", "pack_dense_weight", "pack_kernel_oihwio",
           "pack_kernel_oihwio_int8", "pack_nchwc", "unpack_nchwc",
           "get_valid_counts_python", "non_max_suppression_python", "pool_grad_nchw", "sparse_fill_empty_rows_python",
           "sparse_reshape_python", "resize1d_python", "resize2d_python", "resize3d_python", "instance_norm_python",
           "group_norm_python", "sequence_mask", "matrix_set_diag", "searchsorted_ref", "reorg_python",
           "batch_to_space_nd_python", "space_to_batch_nd_python", "lstm_python", "conv2d_hwcn_python",
           "deformable_conv2d_nhwc_python", "compare_numpy_tvm", "strided_set_python",
           "depthwise_conv2d_python_nchwc"]
