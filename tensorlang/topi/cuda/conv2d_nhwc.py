"""Tunable direct NHWC conv2d for GPUs (``conv2d_nhwc.cuda``): blocks over (batch x rows, column
tiles, channel tiles); in each, ``threadIdx.x`` runs over output channels (neighbouring threads
read neighbouring kernel weights and write neighbouring outputs) and ``threadIdx.y`` over columns,
every thread a few columns x channels accumulated in registers over (kh, kw, input channels)."""

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
from .tiling import bind_grid, inline_pad_and_dilate, threads_and_registers


@autotvm.register_topi_compute("conv2d_nhwc.cuda")
def conv2d_nhwc(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                out_dtype: str = "float32") -> Tensor:
    """``topi.nn.conv2d_nhwc`` (data NHWC, kernel HWIO), tunable with ``schedule_conv2d_nhwc``; float32
    output by default, as TVM's."""
    return nn.conv2d_nhwc(data, kernel, strides, padding, dilation, out_dtype)


def _schedule(cfg: Any, s: Schedule, conv: Tensor, out: Tensor) -> None:
    _, _, x, f = conv.op.axis
    cfg.define_split("tile_f", f, num_outputs=3, filter=threads_and_registers(64))
    cfg.define_split("tile_x", x, num_outputs=3, filter=threads_and_registers(16))
    cfg.define_split("tile_rc", conv.op.reduce_axis[2], num_outputs=2, filter=lambda e: e.size[-1] <= 16)
    cfg.define_knob("auto_unroll_max_step", [0, 512])
    if cfg.is_fallback:
        cfg.fallback_split("tile_f", [-1, 32, 1])
        cfg.fallback_split("tile_x", [-1, 4, 2])
        cfg.fallback_split("tile_rc", [-1, 4])
    inline_pad_and_dilate(s, conv)
    main, local, rest = tile_and_accumulate(s, conv, out, "local")
    n, y, x, f = s[main].op.axis
    kernel_scope, n = s[main].split(n, nparts=1)
    bx, tx, xi = cfg["tile_x"].apply(s, main, x)
    bf, tf, fi = cfg["tile_f"].apply(s, main, f)
    bz = s[main].fuse(n, y)
    s[main].reorder(kernel_scope, bz, bx, bf, tx, tf, xi, fi)
    bind_grid(s, main, [bz, bx, bf], [tx, tf])
    s[main].pragma(kernel_scope, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[local].compute_at(s[main], tf)
    _, _, lx, lf = s[local].op.axis
    ry, rx, rc = s[local].op.reduce_axis
    rco, rci = cfg["tile_rc"].apply(s, local, rc)
    s[local].reorder(rco, ry, rx, rci, lx, lf)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


@autotvm.register_topi_schedule("conv2d_nhwc.cuda")
def schedule_conv2d_nhwc(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``conv2d_nhwc`` on CUDA (elementwise ops after it, bias and relu, fused into its kernel)."""
    return schedule_tagged(outs, "conv2d_nhwc", lambda s, op, out: _schedule(cfg, s, op.output(0), out))
