"""Tunable batch_matmul for GPUs (``batch_matmul.cuda``): one block per batch x row tile x column
tile (``blockIdx.z/y/x``), a 2-D grid of threads in it (``threadIdx.y/x``), each thread a few
rows x columns accumulated in registers over K (split by ``tile_k``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import nn
from ..generic.helpers import tile_and_accumulate
from ..utils import schedule_tagged
from .injective import schedule_injective_from_existing
from .tiling import bind_grid, threads_and_registers


@autotvm.register_topi_compute("batch_matmul.cuda")
def batch_matmul(cfg: Any, x: Tensor, y: Tensor, out_shape: Any = None, out_dtype: str | None = None,
                 transpose_a: bool = False, transpose_b: bool = True) -> Tensor:
    """``topi.nn.batch_matmul`` (``y`` transposed by default: (b, M, K) x (b, N, K) -> (b, M, N)),
    tunable with ``schedule_batch_matmul``."""
    return nn.batch_matmul(x, y, out_shape, out_dtype, transpose_a, transpose_b)


def _schedule(cfg: Any, s: Schedule, C: Tensor, out: Tensor) -> None:
    _, m, n = C.op.axis
    cfg.define_split("tile_y", m, num_outputs=3, filter=threads_and_registers(16, 8))
    cfg.define_split("tile_x", n, num_outputs=3, filter=threads_and_registers(32, 8))
    cfg.define_split("tile_k", C.op.reduce_axis[0], num_outputs=2, filter=lambda e: e.size[-1] <= 16)
    cfg.define_knob("auto_unroll_max_step", [0, 16, 64])
    if cfg.is_fallback:
        cfg.fallback_split("tile_y", [-1, 8, 2])
        cfg.fallback_split("tile_x", [-1, 16, 2])
        cfg.fallback_split("tile_k", [-1, 8])
    main, local, rest = tile_and_accumulate(s, C, out, "local")
    b, y, x = s[main].op.axis
    kernel_scope, b = s[main].split(b, nparts=1)
    by, ty, yi = cfg["tile_y"].apply(s, main, y)
    bx, tx, xi = cfg["tile_x"].apply(s, main, x)
    s[main].reorder(kernel_scope, b, by, bx, ty, tx, yi, xi)
    bind_grid(s, main, [b, by, bx], [ty, tx])
    s[main].pragma(kernel_scope, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[local].compute_at(s[main], tx)
    _, ly, lx = s[local].op.axis
    ko, ki = cfg["tile_k"].apply(s, local, s[local].op.reduce_axis[0])
    s[local].reorder(ko, ki, ly, lx)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


@autotvm.register_topi_schedule("batch_matmul.cuda")
def schedule_batch_matmul(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``batch_matmul`` on CUDA (elementwise ops after it are fused into its kernel)."""
    return schedule_tagged(outs, "batch_matmul", lambda s, op, out: _schedule(cfg, s, op.output(0), out))
