"""numpy reference implementations of topi operators, to check compiled results against."""

from .conv2d import conv2d_nchw_python, conv2d_nhwc_python, depthwise_conv2d_python_nchw
from .nn import batch_matmul, dense, global_pool_python, log_softmax_python, pool2d_python, softmax_python


def poolnd_python(np_data, kernel, strides, dilation, padding_before, padding_after, pool_type,  # noqa: ANN001, ANN201
                  count_include_pad=True, ceil_mode=False, dtype="float32", layout=None):
    """TVM's spelling for 2-D pooling: padding given as before/after pairs."""
    padding = (padding_before[0], padding_before[1], padding_after[0], padding_after[1])
    return pool2d_python(np_data, kernel, strides, dilation, padding, pool_type, ceil_mode, layout or "NCHW",
                         count_include_pad).astype(dtype)

__all__ = ["conv2d_nchw_python", "conv2d_nhwc_python", "depthwise_conv2d_python_nchw", "batch_matmul", "dense",
           "global_pool_python", "log_softmax_python", "pool2d_python", "poolnd_python", "softmax_python"]
