"""CUDA schedules: AutoTVM templates (``conv2d_nchw.cuda``, ``conv2d_nhwc.cuda``,
``depthwise_conv2d_nchw.cuda``, ``batch_matmul.cuda``, ``dense_small_batch.cuda``,
``dense_large_batch.cuda``; ``dense_tensorcore.cuda``, ``batch_matmul_tensorcore.cuda`` and
``conv2d_nhwc_tensorcore.cuda`` on tensor cores, with the wmma intrinsics of ``tensor_intrin``)
and TVM's fixed schedules for injective ops, reductions, softmax and pooling
(``schedule_injective``, ``schedule_reduce``, ``schedule_softmax``, ``schedule_pool`` ...)."""

from . import conv_variants, extern_ops, tensor_intrin
from .batch_matmul import batch_matmul, schedule_batch_matmul
from .batch_matmul_tensorcore import batch_matmul_tensorcore, schedule_batch_matmul_tensorcore
from .conv2d import conv2d_nchw, schedule_conv2d_nchw
from .conv2d_nhwc import conv2d_nhwc, schedule_conv2d_nhwc
from .conv2d_nhwc_tensorcore import conv2d_nhwc_tensorcore, schedule_conv2d_nhwc_tensorcore
from .conv2d_winograd import (
    conv2d_nchw_winograd,
    conv2d_nchw_winograd_without_weight_transform,
    schedule_conv2d_nchw_winograd,
    schedule_conv2d_nchw_winograd_without_weight_transform,
)
from .conv_variants import *  # noqa: F403 - conv_variants.__all__
from .dense import (
    dense_int8,
    dense_large_batch,
    dense_small_batch,
    schedule_dense_int8,
    schedule_dense_large_batch,
    schedule_dense_small_batch,
)
from .dense_tensorcore import dense_tensorcore, schedule_dense_tensorcore
from .depthwise_conv2d import (
    depthwise_conv2d_nchw,
    schedule_depthwise_conv2d_backward_input_nhwc,
    schedule_depthwise_conv2d_backward_weight_nhwc,
    schedule_depthwise_conv2d_nchw,
    schedule_depthwise_conv2d_nhwc,
)
from .extern_ops import *  # noqa: F403 - extern_ops.__all__
from .injective import schedule_broadcast, schedule_elemwise, schedule_injective, schedule_injective_from_existing
from .pooling import schedule_adaptive_pool, schedule_lrn, schedule_pool, schedule_pool_grad
from .reduction import schedule_reduce
from .scatter import scatter_nd
from .softmax import schedule_softmax
from .sort import argsort, schedule_argsort, schedule_sort, schedule_topk, sort, topk

__all__ = ["conv2d_nchw", "schedule_conv2d_nchw", "dense_large_batch", "dense_small_batch",
           "schedule_dense_large_batch", "schedule_dense_small_batch", "schedule_injective",
           "schedule_injective_from_existing", "schedule_elemwise", "schedule_broadcast", "schedule_reduce",
           "schedule_softmax", "schedule_pool", "schedule_adaptive_pool",
           "conv2d_nchw_winograd", "schedule_conv2d_nchw_winograd", "conv2d_nchw_winograd_without_weight_transform",
           "schedule_conv2d_nchw_winograd_without_weight_transform", "batch_matmul", "schedule_batch_matmul",
           "conv2d_nhwc", "schedule_conv2d_nhwc", "depthwise_conv2d_nchw", "schedule_depthwise_conv2d_nchw",
           "schedule_depthwise_conv2d_nhwc",
           *conv_variants.__all__, *extern_ops.__all__, "schedule_depthwise_conv2d_backward_input_nhwc",
           "schedule_depthwise_conv2d_backward_weight_nhwc", "schedule_lrn",
           "schedule_pool_grad", "dense_tensorcore", "schedule_dense_tensorcore", "tensor_intrin",
           "batch_matmul_tensorcore", "schedule_batch_matmul_tensorcore", "conv2d_nhwc_tensorcore",
           "schedule_conv2d_nhwc_tensorcore", "sort", "argsort", "topk", "schedule_sort", "schedule_argsort",
           "schedule_topk", "scatter_nd", "dense_int8", "schedule_dense_int8"]
