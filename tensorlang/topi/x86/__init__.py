"""x86 schedules: AutoTVM templates (``conv2d_nchw.x86``, ``dense_nopack.x86``, ``dense_pack.x86``)
and TVM's fixed schedules for injective ops, reductions, softmax and pooling
(``schedule_injective``, ``schedule_reduce``, ``schedule_softmax``, ``schedule_pool`` ...)."""

from .conv2d import conv2d_nchw, conv2d_NCHWc, schedule_conv2d_nchw, schedule_conv2d_NCHWc
from .dense import dense_nopack, dense_pack, schedule_dense_nopack, schedule_dense_pack
from .injective import schedule_broadcast, schedule_elemwise, schedule_injective, schedule_injective_from_existing
from .pooling import schedule_adaptive_pool, schedule_pool
from .reduction import schedule_reduce
from .softmax import schedule_softmax

__all__ = ["conv2d_nchw", "schedule_conv2d_nchw", "dense_nopack", "dense_pack", "schedule_dense_nopack",
           "schedule_dense_pack", "schedule_injective", "schedule_injective_from_existing", "schedule_elemwise",
           "schedule_broadcast", "schedule_reduce", "schedule_softmax", "schedule_pool", "schedule_adaptive_pool",
           "conv2d_NCHWc", "schedule_conv2d_NCHWc"]
