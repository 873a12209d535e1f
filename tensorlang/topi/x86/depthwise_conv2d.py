"""Depthwise conv2d for CPUs, as TVM's x86 backend declares it: ``depthwise_conv2d_nchw`` packs the
data and kernel into channel blocks and runs the tunable ``depthwise_conv2d_NCHWc.x86`` template,
then unpacks the result to NCHW.  The schedule: a register tile of output columns x the channel
block, the block vectorised, channel chunks x rows run in parallel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ...errors import ExprError
from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from .. import nn
from ..generic.helpers import tile_and_accumulate
from ..transform import layout_transform
from ..utils import get_const_int, get_const_tuple, schedule_tagged
from .conv2d import _parallel_blocks, define_packed_blocks
from .injective import schedule_injective_from_existing, vector_lanes


def depthwise_conv2d_nchw(data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                          out_dtype: str | None = None) -> Tensor:
    """Depthwise conv2d of NCHW ``data`` and a (C, 1, KH, KW) ``kernel`` -> NCHW, computed blocked
    (``depthwise_conv2d_NCHWc``, whose config chooses the blocks) and unpacked; schedule it with
    ``schedule_depthwise_conv2d_nchw``.  A channel multiplier above 1 is not supported here (nor in
    TVM): use ``topi.nn.depthwise_conv2d_nchw`` with ``topi.generic.schedule_depthwise_conv2d_nchw``."""
    out_dtype = out_dtype or str(data.dtype)
    packed_out = depthwise_conv2d_NCHWc(data, kernel, strides, padding, dilation, "NCHW", "NCHW", out_dtype)
    return nn.unpack_NCHWc_to_nchw(packed_out, out_dtype)


def schedule_depthwise_conv2d_nchw(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule for ``depthwise_conv2d_nchw`` (the unpacking and elementwise ops after it included)."""
    return schedule_depthwise_conv2d_NCHWc(outs)


def _define_blocks(cfg: Any, channels: int, data: Tensor) -> None:
    cfg.define_split("tile_ic", channels, num_outputs=2)
    cfg.define_split("tile_oc", channels, num_outputs=2)
    if cfg.is_fallback:  # a block of one 64-byte vector, or the largest divisor below it
        lanes = vector_lanes(data)
        cfg.fallback_split("tile_ic", [-1, lanes])
        cfg.fallback_split("tile_oc", [-1, lanes])


@autotvm.register_topi_compute("depthwise_conv2d_NCHWc.x86")
def depthwise_conv2d_NCHWc(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any,  # noqa: N802
                           dilation: Any, layout: str, out_layout: str, out_dtype: str | None = None) -> Tensor:
    """``nn.depthwise_conv2d_NCHWc``, tunable with ``schedule_depthwise_conv2d_NCHWc``.  On packed data
    (5-D, kernel 6-D) the channel blocks are the tensors'; on NCHW data and a (C, 1, KH, KW) kernel
    (``layout`` "NCHW", how TVM tunes this task) the knobs ``tile_ic`` / ``tile_oc`` choose them and the
    template packs both first."""
    what = "depthwise_conv2d_NCHWc"
    if len(data.shape) == 4 and len(kernel.shape) == 4:
        if layout != "NCHW" or out_layout not in ("NCHW", ""):
            raise ExprError(f"{what}: on 4-D data {data.name} layout must be 'NCHW' and out_layout 'NCHW' (the "
                            f"template chooses the blocks), got {layout!r}, {out_layout!r}")
        channels, multiplier = get_const_int(data.shape[1]), get_const_int(kernel.shape[1])
        if multiplier != 1:
            raise ExprError(f"{what}: kernel {kernel.name} has a channel multiplier of {multiplier} (dimension 1); "
                            "only 1 is supported (as in TVM's x86 template): use topi.nn.depthwise_conv2d_nchw "
                            "with topi.generic.schedule_depthwise_conv2d_nchw")
        if get_const_int(kernel.shape[0]) != channels:
            raise ExprError(f"{what}: kernel {kernel.name} has {get_const_int(kernel.shape[0])} channels but data "
                            f"{data.name} has {channels}")
        _define_blocks(cfg, channels, data)
        ic_bn, oc_bn = cfg["tile_ic"].size[-1], cfg["tile_oc"].size[-1]
        data = layout_transform(data, "NCHW", f"NCHW{ic_bn}c")
        kernel = layout_transform(kernel, "OIHW", f"OIHW1i{oc_bn}o")
        layout, out_layout = f"NCHW{ic_bn}c", f"NCHW{oc_bn}c"
    elif len(data.shape) == 5 and len(kernel.shape) == 6:
        define_packed_blocks(cfg, data, kernel)
    return nn.depthwise_conv2d_NCHWc(data, kernel, strides, padding, dilation, layout, out_layout, out_dtype)


def _schedule_depthwise_nchwc(cfg: Any, s: Schedule, conv: Tensor, out: Tensor) -> None:
    data, kernel = conv.op.input_tensors
    if "pad" in data.op.tag:
        _parallel_blocks(s, data, 3)
        data = data.op.input_tensors[0]
    for t, outer in ((data, 3), (kernel, 2)):
        if isinstance(t.op, ComputeOp):  # the packing of NCHW data / a (C, 1, KH, KW) kernel
            _parallel_blocks(s, t, outer)
    n, oc_chunk, oh, ow, oc_bn = get_const_tuple(conv.shape)
    cfg.define_split("tile_ow", ow, num_outputs=2, filter=lambda e: e.size[-1] <= 64)
    cfg.define_knob("unroll_kw", [True, False])
    if cfg.is_fallback:
        cfg.fallback_split("tile_ow", [-1, 8])
    if get_const_tuple(out.shape) == (n, oc_chunk * oc_bn, oh, ow):  # unpacked to NCHW (ops after it inlined)
        main, acc, rest = out, conv, None  # tiled with its channels re-blocked
    else:
        main, acc, rest = tile_and_accumulate(s, conv, out, "global")
    axes = list(s[main].op.axis)
    if len(axes) == 5:
        b, occ, y, x, ocb = axes
    else:
        b, c, y, x = axes
        occ, ocb = s[main].split(c, factor=oc_bn)
    xo, xi = cfg["tile_ow"].apply(s, main, x)
    s[main].reorder(b, occ, y, xo, xi, ocb)
    s[main].vectorize(ocb)
    s[main].parallel(s[main].fuse(b, occ, y))
    s[acc].compute_at(s[main], xo)
    ab, aocc, ay, ax, aocb = s[acc].op.axis
    kh, kw = s[acc].op.reduce_axis
    s[acc].reorder(ab, aocc, ay, kh, kw, ax, aocb)
    if cfg["unroll_kw"].val:
        s[acc].unroll(kw)
    s[acc].unroll(ax)
    s[acc].vectorize(aocb)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


@autotvm.register_topi_schedule("depthwise_conv2d_NCHWc.x86")
def schedule_depthwise_conv2d_NCHWc(cfg: Any, outs: Sequence[Tensor]) -> Schedule:  # noqa: N802
    """Schedule for ``depthwise_conv2d_NCHWc`` (and injective ops after it, an unpack to NCHW included)."""
    return schedule_tagged(outs, "depthwise_conv2d_NCHWc",
                           lambda s, op, out: _schedule_depthwise_nchwc(cfg, s, op.output(0), out))
