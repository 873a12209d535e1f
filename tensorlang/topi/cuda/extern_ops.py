"""CUDA names that TVM's per-target tables of extern-style and scan ops use (``schedule_extern``,
``schedule_scan``, ``cumsum``/``cumprod``, ``argwhere``/``schedule_argwhere``, ``unique``,
``get_valid_counts``/``non_max_suppression`` and their schedules, ``sparse_dense``), served by the
generic declarations.  Under a CUDA target cumsum/cumprod build their GPU kernels (one thread a line)
and searchsorted-like computes get one thread per output element; the ops tensorlang runs on the host
only (argwhere, unique, the NMS ops) raise their ``TargetError`` when declared under a CUDA target, as
when called through ``topi`` - so TVM test modules that build these tables import and run on llvm."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.extern import ExternOp
from ...te.tensor import Tensor
from .. import nn, scan, vision
from ..argwhere import argwhere
from ..generic.helpers import schedule_each
from ..unique import unique
from .pooling import schedule_pool_output

cumsum = scan.cumsum
cumprod = scan.cumprod
get_valid_counts = vision.get_valid_counts
non_max_suppression = vision.non_max_suppression
sparse_dense = nn.sparse_dense


def _output(sch: Schedule, out: Tensor) -> None:
    if not isinstance(out.op, ExternOp):  # an extern stage's kernel is its own code
        schedule_pool_output(sch, out)


def schedule_extern(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """TVM's ``topi.cuda.schedule_extern``: extern outputs as they are; the other outputs one thread per
    element, their elementwise producers inlined."""
    return schedule_each(outs, _output, inline=True)


schedule_scan = schedule_argwhere = schedule_get_valid_counts = schedule_nms = schedule_extern
schedule_sparse_dense = schedule_extern

__all__ = ["argwhere", "cumprod", "cumsum", "get_valid_counts", "non_max_suppression", "schedule_argwhere",
           "schedule_extern", "schedule_get_valid_counts", "schedule_nms", "schedule_scan", "schedule_sparse_dense",
           "sparse_dense", "unique"]
