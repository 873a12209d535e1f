"""Depthwise conv2d for GPUs.  NCHW is tunable (``depthwise_conv2d_nchw.cuda``): blocks over (batch x
channel tiles, row tiles, column tiles), a 3-D grid of threads in each (channels, rows, columns),
every thread a few outputs accumulated in registers.  NHWC has a fixed schedule, as TVM's
``schedule_depthwise_conv2d_nhwc`` is: threads along the channels, which are contiguous in memory,
blocks over (channel chunks, batch, rows, column pairs).  Either way the padding is read inline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import nn
from ..generic.helpers import as_tensors, inline_all, schedule_each, tile_and_accumulate
from ..utils import get_const_int, schedule_tagged
from .injective import bind_threads, max_threads, schedule_injective_from_existing
from .tiling import bind_grid, inline_pad_and_dilate, threads_and_registers


@autotvm.register_topi_compute("depthwise_conv2d_nchw.cuda")
def depthwise_conv2d_nchw(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                          out_dtype: str | None = None) -> Tensor:
    """``topi.nn.depthwise_conv2d_nchw`` (kernel (C, M, KH, KW)), tunable with
    ``schedule_depthwise_conv2d_nchw``."""
    return nn.depthwise_conv2d_nchw(data, kernel, strides, padding, dilation, out_dtype)


def _schedule(cfg: Any, s: Schedule, conv: Tensor, out: Tensor) -> None:
    _, f, y, x = conv.op.axis
    cfg.define_split("tile_f", f, num_outputs=3, filter=threads_and_registers(8))
    cfg.define_split("tile_y", y, num_outputs=3, filter=threads_and_registers(8))
    cfg.define_split("tile_x", x, num_outputs=3, filter=threads_and_registers(16))
    cfg.define_knob("auto_unroll_max_step", [0, 256])
    if cfg.is_fallback:
        cfg.fallback_split("tile_f", [-1, 4, 1])
        cfg.fallback_split("tile_y", [-1, 4, 1])
        cfg.fallback_split("tile_x", [-1, 16, 1])
    inline_pad_and_dilate(s, conv)
    main, local, rest = tile_and_accumulate(s, conv, out, "local")
    n, f, y, x = s[main].op.axis
    kernel_scope, n = s[main].split(n, nparts=1)
    bf, tf, fi = cfg["tile_f"].apply(s, main, f)
    by, ty, yi = cfg["tile_y"].apply(s, main, y)
    bx, tx, xi = cfg["tile_x"].apply(s, main, x)
    bf = s[main].fuse(n, bf)
    s[main].reorder(kernel_scope, bf, by, bx, tf, ty, tx, fi, yi, xi)
    bind_grid(s, main, [bf, by, bx], [tf, ty, tx])
    s[main].pragma(kernel_scope, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[local].compute_at(s[main], tx)
    _, lf, ly, lx = s[local].op.axis
    di, dj = s[local].op.reduce_axis
    s[local].reorder(di, dj, lf, ly, lx)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


@autotvm.register_topi_schedule("depthwise_conv2d_nchw.cuda")
def schedule_depthwise_conv2d_nchw(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``depthwise_conv2d_nchw`` on CUDA (elementwise ops after it are fused into its kernel)."""
    return schedule_tagged(outs, "depthwise_conv2d_nchw", lambda s, op, out: _schedule(cfg, s, op.output(0), out))


def _schedule_nhwc(s: Schedule, conv: Tensor, out: Tensor) -> None:
    inline_pad_and_dilate(s, conv)
    main, local, rest = tile_and_accumulate(s, conv, out, "local")
    n, y, x, c = s[main].op.axis
    threads = max(1, min(get_const_int(conv.shape[3]), max_threads()))
    co, ci = s[main].split(c, factor=threads)
    xo, xi = s[main].split(x, factor=2)  # two outputs along the row a thread, in registers
    s[main].reorder(co, n, y, xo, ci, xi)
    bind_grid(s, main, [s[main].fuse(co, n, y, xo)], [ci])
    s[local].compute_at(s[main], ci)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


def schedule_depthwise_conv2d_nhwc(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule for ``topi.nn.depthwise_conv2d_nhwc`` on CUDA (elementwise ops after it are fused
    into its kernel); no tuning knobs."""
    return schedule_tagged(as_tensors(outs), "depthwise_conv2d_nhwc",
                           lambda s, op, out: _schedule_nhwc(s, op.output(0), out))


def _one_thread_per_element(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """One thread per output element in blocks of 128 (TVM's, so no target scope is needed), producers
    inlined or computed in the thread."""
    def per_output(sch: Schedule, out: Tensor) -> None:
        reductions = inline_all(sch, out)
        _, tx = bind_threads(sch, out, num_thread=128)
        for red in reductions:
            sch[red].compute_at(sch[out], tx)
    return schedule_each(outs, per_output)


def schedule_depthwise_conv2d_backward_input_nhwc(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.depthwise_conv2d_backward_input_nhwc`` for CUDA: one thread per input-gradient
    element, its sum over the taps in the thread (TVM's name; correct, not tuned)."""
    return _one_thread_per_element(outs)


def schedule_depthwise_conv2d_backward_weight_nhwc(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule ``topi.nn.depthwise_conv2d_backward_weight_nhwc`` for CUDA: one thread per filter-gradient
    element, its sum over the batch and output positions in the thread (TVM's name; correct, not tuned)."""
    return _one_thread_per_element(outs)
