"""numpy reference implementations of topi operators, to check compiled results against."""

from .common import (
    dispatch,
    get_broadcast_schedule,
    get_conv2d_nchw_implement,
    get_elemwise_schedule,
    get_injective_schedule,
    get_reduce_schedule,
)
from .conv import conv1d_ncw_python, conv2d_transpose_nchw_python, group_conv1d_ncw_python
from .conv2d import conv2d_nchw_python, conv2d_nhwc_python, depthwise_conv2d_python_nchw
from .nn import batch_matmul, dense, global_pool_python, log_softmax_python, pool2d_python, softmax_python
from .normalization import batch_norm, l2_normalize_python, layer_norm_python, lrn_python
from .pooling import adaptive_pool
from .transform import (
    depth_to_space_python,
    dilate_python,
    gather_nd_python,
    gather_python,
    one_hot,
    space_to_depth_python,
    strided_slice_python,
)


def poolnd_python(np_data, kernel, strides, dilation, padding_before, padding_after, pool_type,  # noqa: ANN001, ANN201
                  count_include_pad=True, ceil_mode=False, dtype="float32", layout=None):
    """TVM's spelling for 2-D pooling: padding given as before/after pairs."""
    padding = (padding_before[0], padding_before[1], padding_after[0], padding_after[1])
    return pool2d_python(np_data, kernel, strides, dilation, padding, pool_type, ceil_mode, layout or "NCHW",
                         count_include_pad).astype(dtype)

__all__ = ["conv2d_nchw_python", "conv2d_nhwc_python", "depthwise_conv2d_python_nchw", "batch_matmul", "dense",
           "global_pool_python", "log_softmax_python", "pool2d_python", "poolnd_python", "softmax_python",
           "dispatch", "get_broadcast_schedule", "get_elemwise_schedule", "get_injective_schedule",
           "get_reduce_schedule", "get_conv2d_nchw_implement",
           "conv1d_ncw_python", "group_conv1d_ncw_python", "conv2d_transpose_nchw_python", "batch_norm",
           "l2_normalize_python", "layer_norm_python", "lrn_python", "adaptive_pool", "depth_to_space_python",
           "dilate_python", "gather_nd_python", "gather_python", "one_hot", "space_to_depth_python",
           "strided_slice_python"]
