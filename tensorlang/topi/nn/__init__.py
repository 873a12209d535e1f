"""Neural-network operators (``topi.nn``): declarations only; schedule them yourself or with
the templates of ``topi.x86`` / ``topi.cuda``."""

from .conv2d import conv2d, conv2d_nchw, conv2d_nhwc, depthwise_conv2d_nchw
from .dense import batch_matmul, dense, matmul
from .elemwise import leaky_relu, prelu, relu
from .pad import pad
from .pooling import global_pool, pool2d
from .softmax import log_softmax, softmax

__all__ = ["conv2d", "conv2d_nchw", "conv2d_nhwc", "depthwise_conv2d_nchw", "batch_matmul", "dense", "matmul",
           "leaky_relu", "prelu", "relu", "pad", "global_pool", "pool2d", "log_softmax", "softmax"]
