"""Tunable batch_matmul for CPUs (``batch_matmul.x86``): each output matrix tiled rows x columns, the
column tile vectorised, batch x row tiles x column tiles run in parallel, and each tile
accumulated in a stage of its own over K (split by ``tile_k``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import nn
from ..generic.helpers import tile_and_accumulate
from ..utils import schedule_tagged
from .dense import has_zero_extent
from .injective import schedule_injective_from_existing, vector_lanes


@autotvm.register_topi_compute("batch_matmul.x86")
def batch_matmul(cfg: Any, tensor_a: Tensor, tensor_b: Tensor, out_shape: Any = None, out_dtype: str | None = None,
                 transpose_a: bool = False, transpose_b: bool = True) -> Tensor:
    """``topi.nn.batch_matmul`` (B transposed by default: (b, M, K) x (b, N, K) -> (b, M, N)), tunable
    with ``schedule_batch_matmul``."""
    return nn.batch_matmul(tensor_a, tensor_b, out_shape, out_dtype, transpose_a, transpose_b)


def _schedule(cfg: Any, s: Schedule, C: Tensor, out: Tensor) -> None:
    if has_zero_extent(C.op):  # an empty or all-zero result: the default schedule computes it
        return
    _, m, n = C.op.axis
    (k,) = C.op.reduce_axis
    cfg.define_split("tile_y", m, num_outputs=2, filter=lambda e: e.size[-1] <= 16)
    cfg.define_split("tile_x", n, num_outputs=2, filter=lambda e: e.size[-1] <= 64)
    cfg.define_split("tile_k", k, num_outputs=2, filter=lambda e: e.size[-1] <= 16)
    if cfg.is_fallback:
        cfg.fallback_split("tile_y", [-1, 8])
        cfg.fallback_split("tile_x", [-1, vector_lanes(C)])
        cfg.fallback_split("tile_k", [-1, 16])
    main, acc, rest = tile_and_accumulate(s, C, out, "global")
    b, y, x = s[main].op.axis
    yo, yi = cfg["tile_y"].apply(s, main, y)
    xo, xi = cfg["tile_x"].apply(s, main, x)
    s[main].reorder(b, yo, xo, yi, xi)
    outer = s[main].fuse(b, yo, xo)
    s[main].parallel(outer)
    s[main].vectorize(xi)
    s[acc].compute_at(s[main], outer)
    _, ay, ax = s[acc].op.axis
    ko, ki = cfg["tile_k"].apply(s, acc, s[acc].op.reduce_axis[0])
    s[acc].reorder(ko, ki, ay, ax)
    s[acc].vectorize(ax)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


@autotvm.register_topi_schedule("batch_matmul.x86")
def schedule_batch_matmul(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``batch_matmul`` (elementwise ops after it are tiled with it)."""

    return schedule_tagged(outs, "batch_matmul", lambda s, op, out: _schedule(cfg, s, op.output(0), out))
