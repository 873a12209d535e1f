"""Tunable direct NCHW conv2d for GPUs: each block computes a tile of output channels x rows x
columns (4-level splits: block, virtual thread, thread, inner), staging input and filter tiles
in shared memory per input-channel chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from ..nn.conv2d import conv2d_nchw_tunable
from ..utils import schedule_tagged

conv2d_nchw = autotvm.register_topi_compute("conv2d_nchw.cuda")(conv2d_nchw_tunable)


def schedule_direct(cfg: Any, s: Schedule, conv: Tensor, out: Tensor) -> None:
    """The classic direct schedule of ``conv`` (whose consumer chain ends in ``out``)."""
    n, f, y, x = s[conv].op.axis
    rc, ry, rx = s[conv].op.reduce_axis
    cfg.define_split("tile_f", f, num_outputs=4)
    cfg.define_split("tile_y", y, num_outputs=4)
    cfg.define_split("tile_x", x, num_outputs=4)
    cfg.define_split("tile_rc", rc, num_outputs=2)
    cfg.define_split("tile_ry", ry, num_outputs=2)
    cfg.define_split("tile_rx", rx, num_outputs=2)
    cfg.define_knob("auto_unroll_max_step", [0, 512, 1500])
    cfg.define_knob("unroll_explicit", [0, 1])
    if cfg.is_fallback:
        cfg.fallback_split("tile_f", [-1, 1, 8, 1])
        cfg.fallback_split("tile_y", [-1, 1, 1, 1])
        cfg.fallback_split("tile_x", [-1, 1, 8, 1])
        # One filter tap at a time (as TVM's fallback): the generic default takes 8 or 16 taps of
        # an even-sized filter, and with the channel chunk that overflows 48 KB of shared memory
        # for a 24x24 filter (TVM's test_conv2d_nchw asymmetric-padding case).
        cfg.fallback_split("tile_ry", [-1, 1])
        cfg.fallback_split("tile_rx", [-1, 1])

    pad_data, kernel = conv.op.input_tensors
    s[pad_data].compute_inline()
    main, local = (conv, s.cache_write(conv, "local")) if conv.op is out.op else (out, conv)
    if local is conv:
        s[conv].set_scope("local")
    AA = s.cache_read(pad_data, "shared", [local])
    WW = s.cache_read(kernel, "shared", [local])

    n, f, y, x = s[main].op.axis
    kernel_scope, n = s[main].split(n, nparts=1)
    bf, vf, tf, fi = cfg["tile_f"].apply(s, main, f)
    by, vy, ty, yi = cfg["tile_y"].apply(s, main, y)
    bx, vx, tx, xi = cfg["tile_x"].apply(s, main, x)
    bf = s[main].fuse(n, bf)
    s[main].bind(bf, te.thread_axis("blockIdx.z"))
    s[main].bind(by, te.thread_axis("blockIdx.y"))
    s[main].bind(bx, te.thread_axis("blockIdx.x"))
    s[main].bind(vf, te.thread_axis("vthread"))
    s[main].bind(vy, te.thread_axis("vthread"))
    s[main].bind(vx, te.thread_axis("vthread"))
    s[main].bind(tf, te.thread_axis("threadIdx.z"))
    s[main].bind(ty, te.thread_axis("threadIdx.y"))
    s[main].bind(tx, te.thread_axis("threadIdx.x"))
    s[main].reorder(bf, by, bx, vf, vy, vx, tf, ty, tx, fi, yi, xi)
    s[local].compute_at(s[main], tx)

    n, f, y, x = s[local].op.axis
    rc, ry, rx = s[local].op.reduce_axis
    rco, rci = cfg["tile_rc"].apply(s, local, rc)
    ryo, ryi = cfg["tile_ry"].apply(s, local, ry)
    rxo, rxi = cfg["tile_rx"].apply(s, local, rx)
    s[local].reorder(rco, ryo, rxo, rci, ryi, rxi, n, f, y, x)
    s[AA].compute_at(s[local], rxo)
    s[WW].compute_at(s[local], rxo)

    # cooperative fetching: every thread of the block loads part of each shared tile
    for load in (AA, WW):
        fused = s[load].fuse(*s[load].op.axis)
        tz, fused = s[load].split(fused, nparts=cfg["tile_f"].size[2])
        ty, fused = s[load].split(fused, nparts=cfg["tile_y"].size[2])
        tx, fused = s[load].split(fused, nparts=cfg["tile_x"].size[2])
        s[load].bind(tz, te.thread_axis("threadIdx.z"))
        s[load].bind(ty, te.thread_axis("threadIdx.y"))
        s[load].bind(tx, te.thread_axis("threadIdx.x"))

    s[main].pragma(kernel_scope, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[main].pragma(kernel_scope, "unroll_explicit", cfg["unroll_explicit"].val)


@autotvm.register_topi_schedule("conv2d_nchw.cuda")
def schedule_conv2d_nchw(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``conv2d_nchw`` on CUDA (elementwise ops after it are fused into its kernel)."""
    return schedule_tagged(outs, "conv2d_nchw", lambda s, op, out: schedule_direct(cfg, s, op.output(0), out))
