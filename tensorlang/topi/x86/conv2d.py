"""Tunable conv2d for CPUs.  ``conv2d_nchw.x86``: output channels and columns tiled, the column tile
vectorised, input channels split, batch x channel blocks run in parallel.  ``conv2d_NCHWc.x86``
(channel-blocked data, TVM's x86 layout): a register tile of output columns x the channel block,
the block vectorised, chunks x rows run in parallel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ...errors import ExprError, ScheduleError
from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from .. import nn
from ..nn.conv2d import conv2d_nchw_tunable
from ..transform import layout_transform
from ..utils import get_const_int, get_const_tuple, schedule_tagged
from .injective import vector_lanes

conv2d_nchw = autotvm.register_topi_compute("conv2d_nchw.x86")(conv2d_nchw_tunable)



def define_packed_blocks(cfg: Any, data: Tensor, kernel: Tensor) -> None:
    """Knobs tile_ic / tile_oc of already packed tensors (data NCHW{c}c, kernel O..{o}o): the
    blocks are fixed by the tensors, so one candidate each, under TVM's knob names."""
    _, ic_chunk, _, _, ic_bn = get_const_tuple(data.shape)
    oc_chunk, oc_bn = get_const_int(kernel.shape[0]), get_const_int(kernel.shape[5])
    cfg.define_split("tile_ic", ic_chunk * ic_bn, num_outputs=2, policy="candidate", candidate=[[ic_chunk, ic_bn]])
    cfg.define_split("tile_oc", oc_chunk * oc_bn, num_outputs=2, policy="candidate", candidate=[[oc_chunk, oc_bn]])

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


def _parallel_blocks(s: Schedule, t: Tensor, outer: int) -> None:
    """A packing or padding stage: its ``outer`` leading axes fused and run in parallel, its
    innermost (block) axis vectorised."""
    axes = s[t].op.axis
    s[t].parallel(s[t].fuse(*axes[:outer]))
    s[t].vectorize(axes[-1])


@autotvm.register_topi_compute("conv2d_NCHWc.x86")
def conv2d_NCHWc(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,  # noqa: N802
                 layout: str, out_layout: str, out_dtype: str) -> Tensor:
    """``nn.conv2d_NCHWc``, tunable with ``schedule_conv2d_NCHWc``.  On packed data (5-D, kernel 6-D)
    the channel blocks are the tensors'; on NCHW data and an OIHW kernel (``layout`` "NCHW", how TVM
    tunes this task) the knobs ``tile_ic`` / ``tile_oc`` choose them and the template packs both first."""
    what = "conv2d_NCHWc"
    if len(data.shape) == 4 and len(kernel.shape) == 4:
        if layout != "NCHW" or out_layout not in ("NCHW", ""):
            raise ExprError(f"{what}: on 4-D data {data.name} layout must be 'NCHW' and out_layout 'NCHW' (the "
                            f"template chooses the blocks), got {layout!r}, {out_layout!r}")
        if get_const_int(kernel.shape[1]) != get_const_int(data.shape[1]):
            raise ExprError(f"{what}: kernel {kernel.name} has {get_const_int(kernel.shape[1])} input channels but "
                            f"data {data.name} has {get_const_int(data.shape[1])}")
        cfg.define_split("tile_ic", get_const_int(data.shape[1]), num_outputs=2)
        cfg.define_split("tile_oc", get_const_int(kernel.shape[0]), num_outputs=2)
        if cfg.is_fallback:  # a block of one 64-byte vector, or the largest divisor below it
            lanes = vector_lanes(data)
            cfg.fallback_split("tile_ic", [-1, lanes])
            cfg.fallback_split("tile_oc", [-1, lanes])
        ic_bn, oc_bn = cfg["tile_ic"].size[-1], cfg["tile_oc"].size[-1]
        data = layout_transform(data, "NCHW", f"NCHW{ic_bn}c")
        kernel = layout_transform(kernel, "OIHW", f"OIHW{ic_bn}i{oc_bn}o")
        layout, out_layout = f"NCHW{ic_bn}c", f"NCHW{oc_bn}c"
    elif len(data.shape) == 5 and len(kernel.shape) == 6:
        define_packed_blocks(cfg, data, kernel)
    return nn.conv2d_NCHWc(data, kernel, strides, padding, dilation, layout, out_layout, out_dtype)


def _is_1x1(kernel: Tensor) -> bool:
    return get_const_int(kernel.shape[2]) == 1 and get_const_int(kernel.shape[3]) == 1


def _schedule_conv_nchwc(cfg: Any, s: Schedule, conv: Tensor, out: Tensor) -> None:
    data, kernel = conv.op.input_tensors
    ic_bn, oc_bn = get_const_int(data.shape[4]), get_const_int(conv.shape[4])
    if "pad" in data.op.tag:
        _parallel_blocks(s, data, 3)
        data = data.op.input_tensors[0]
    for t, outer in ((data, 3), (kernel, 2)):
        if isinstance(t.op, ComputeOp):  # the packing of NCHW data / an OIHW kernel
            _parallel_blocks(s, t, outer)
    # The tiling knobs are defined here, not in the compute: a template called outside tuning with
    # no record gets a fresh fallback config for its schedule, without the compute's knobs.
    one_by_one = _is_1x1(kernel)
    _, _, oh, ow, _ = get_const_tuple(conv.shape)
    cfg.define_split("tile_ow", ow, num_outputs=2, filter=lambda e: e.size[-1] <= 64)
    if one_by_one:
        cfg.define_knob("tile_oh", [1, 2] if oh > 1 else [1])
    else:
        cfg.define_knob("unroll_kw", [True, False])
    if cfg.is_fallback:
        cfg.fallback_split("tile_ow", [-1, 8])
    # The output stage is tiled (ow_block x oc_block, times tile_oh rows for 1x1 kernels); the
    # convolution accumulates each tile in a stage of its own under it, the tile unrolled and the
    # oc block vectorised, so the tile's partial sums stay in vector registers over the reduction.
    main, acc = (conv, s.cache_write(conv, "global")) if conv.op is out.op else (out, conv)
    axes = list(s[main].op.axis)
    if len(axes) == 5:
        b, occ, oh, ow, ocb = axes
    elif len(axes) == 4:  # unpacked to NCHW after the convolution: its channels re-blocked by oc_bn
        b, c, oh, ow = axes
        occ, ocb = s[main].split(c, factor=oc_bn)
    else:
        raise ScheduleError(f"schedule_conv2d_NCHWc: cannot tile the {len(axes)}-D output {main.name} "
                            "(5-D packed or 4-D NCHW expected)")
    oho, ohi = s[main].split(oh, factor=cfg["tile_oh"].val if one_by_one else 1)
    owo, owi = cfg["tile_ow"].apply(s, main, ow)
    s[main].reorder(b, occ, oho, owo, ohi, owi, ocb)
    s[main].vectorize(ocb)
    s[main].parallel(s[main].fuse(b, occ, oho))
    s[acc].compute_at(s[main], owo)
    ab, aocc, aoh, aow, aocb = s[acc].op.axis
    ic, kh, kw = s[acc].op.reduce_axis
    ico, ici = s[acc].split(ic, factor=ic_bn)
    if not one_by_one and cfg["unroll_kw"].val:
        s[acc].reorder(ab, aocc, ico, kh, ici, kw, aoh, aow, aocb)
        s[acc].unroll(kw)
    else:
        s[acc].reorder(ab, aocc, ico, kh, kw, ici, aoh, aow, aocb)
    s[acc].unroll(aoh)
    s[acc].unroll(aow)
    s[acc].vectorize(aocb)


@autotvm.register_topi_schedule("conv2d_NCHWc.x86")
def schedule_conv2d_NCHWc(cfg: Any, outs: Sequence[Tensor]) -> Schedule:  # noqa: N802
    """Schedule for ``conv2d_NCHWc`` (and injective ops after it, an unpack to NCHW included)."""
    return schedule_tagged(outs, "conv2d_NCHWc", lambda s, op, out: _schedule_conv_nchwc(cfg, s, op.output(0), out))
