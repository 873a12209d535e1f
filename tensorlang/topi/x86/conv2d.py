"""Tunable NCHW conv2d for CPUs: output channels and columns tiled, the column tile vectorised,
input channels split, batch x channel blocks run in parallel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from ..nn.conv2d import conv2d_nchw_tunable
from ..utils import schedule_tagged

conv2d_nchw = autotvm.register_topi_compute("conv2d_nchw.x86")(conv2d_nchw_tunable)


def _schedule_conv(cfg: Any, s: Schedule, conv: Tensor, out: Tensor) -> None:
    n, f, y, x = s[conv].op.axis
    rc = s[conv].op.reduce_axis[0]
    cfg.define_split("tile_oc", f, num_outputs=2)
    cfg.define_split("tile_ow", x, num_outputs=2, filter=lambda e: e.size[-1] <= 64)
    cfg.define_split("tile_ic", rc, num_outputs=2)
    cfg.define_knob("unroll_kw", [True, False])
    if cfg.is_fallback:
        cfg.fallback_split("tile_ow", [-1, 8])
        cfg.fallback_split("tile_oc", [-1, 4])
    pad = conv.op.input_tensors[0]
    if "pad" in pad.op.tag:
        s[pad].parallel(s[pad].op.axis[1])
    # The output stage is tiled; the convolution accumulates each tile in its own stage under it
    # (a cache_write when the convolution is the output, else the convolution itself).
    main, acc = (conv, s.cache_write(conv, "global")) if conv.op is out.op else (out, conv)
    n, f, y, x = s[main].op.axis
    fo, fi = cfg["tile_oc"].apply(s, main, f)
    xo, xi = cfg["tile_ow"].apply(s, main, x)
    s[main].reorder(n, fo, y, xo, fi, xi)
    s[main].vectorize(xi)
    s[main].parallel(s[main].fuse(n, fo))
    s[acc].compute_at(s[main], xo)
    an, af, ay, ax = s[acc].op.axis
    rc, ry, rx = s[acc].op.reduce_axis
    rco, rci = cfg["tile_ic"].apply(s, acc, rc)
    s[acc].reorder(rco, ry, rci, rx, af, ax)
    if cfg["unroll_kw"].val:
        s[acc].unroll(rx)
    s[acc].vectorize(ax)


@autotvm.register_topi_schedule("conv2d_nchw.x86")
def schedule_conv2d_nchw(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``conv2d_nchw`` (and elementwise ops fused after it)."""
    return schedule_tagged(outs, "conv2d_nchw", lambda s, op, out: _schedule_conv(cfg, s, op.output(0), out))
