"""NHWC conv2d on tensor cores: the AutoTVM template ``conv2d_nhwc_tensorcore.cuda`` under TVM's
names (``conv2d_nhwc_tensorcore``, ``schedule_conv2d_nhwc_tensorcore``, ``nhwc_tensorcore_cuda``).

The product of each output pixel is a (batch x in_channels) @ (in_channels x out_channels)
matrix product, so batch is the fragments' m, output channels their n and input channels their
k. Blocks run over (output pixel, batch tile, channel tile); inside, the schedule is
``dense_tensorcore``'s: warps of fragments, input and weight tiles staged in shared memory a
chunk of input channels at a time for each kernel tap, accumulators stored back through shared
memory for coalesced writes. As TVM's, the input and weight are converted to float16 first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...autotune.space import InstantiationError
from ...errors import ScheduleError
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from ..nn.pad import pad
from ..utils import get_const_tuple, get_pad_tuple, schedule_tagged
from .dense_tensorcore import WMMA_N, check_accumulator, spread_over_block, thread_axes, wmma_stages
from .tensor_intrin import (
    intrin_wmma_gemm,
    intrin_wmma_load_matrix_A,
    intrin_wmma_load_matrix_W,
    intrin_wmma_store_matrix,
)


def _pair(v: Any, what: str) -> tuple[int, int]:
    if isinstance(v, int):
        return v, v
    if len(v) != 2:
        raise ScheduleError(f"conv2d_nhwc_tensorcore: {what} must be an int or a pair, got {v!r}")
    return int(v[0]), int(v[1])


def nhwc_tensorcore_cuda(cfg: Any, Input: Tensor, Filter: Tensor, stride: Any, padding: Any, dilation: Any,
                         out_dtype: str) -> Tensor:
    """conv2d of NHWC ``Input`` and HWIO ``Filter`` (both converted to float16), summed in ``out_dtype``."""
    stride_h, stride_w = _pair(stride, "stride")
    dilation_h, dilation_w = _pair(dilation, "dilation")
    batch, in_height, in_width, in_channel = get_const_tuple(Input.shape)
    kernel_h, kernel_w, k_in, num_filter = get_const_tuple(Filter.shape)
    if k_in != in_channel:
        raise ScheduleError(f"conv2d_nhwc_tensorcore: the input has {in_channel} channels but the kernel "
                            f"expects {k_in}")
    if in_channel % 16 or not any(batch % m == 0 and num_filter % n == 0 for m, n in WMMA_N.items()):
        raise ScheduleError(f"conv2d_nhwc_tensorcore: (batch, in_channel, num_filter) = ({batch}, {in_channel}, "
                            f"{num_filter}) must be multiples of (16, 16, 16), (32, 16, 8) or (8, 16, 32)")
    check_accumulator("float16", out_dtype, "conv2d_nhwc_tensorcore (inputs converted to float16)")
    dil_kh, dil_kw = (kernel_h - 1) * dilation_h + 1, (kernel_w - 1) * dilation_w + 1
    pad_top, pad_left, pad_down, pad_right = get_pad_tuple(padding, (dil_kh, dil_kw))
    out_height = (in_height - dil_kh + pad_top + pad_down) // stride_h + 1
    out_width = (in_width - dil_kw + pad_left + pad_right) // stride_w + 1
    padded = pad(Input, [0, pad_top, pad_left, 0], [0, pad_down, pad_right, 0], name="PaddedInput")
    rc = te.reduce_axis((0, in_channel), name="rc")
    ry = te.reduce_axis((0, kernel_h), name="ry")
    rx = te.reduce_axis((0, kernel_w), name="rx")
    trans_input = te.compute(padded.shape, lambda n, h, w, c: padded[n, h, w, c].astype("float16"),
                             name="TransPaddedInput")
    trans_filter = te.compute(Filter.shape, lambda h, w, i, o: Filter[h, w, i, o].astype("float16"),
                              name="TransFilter")
    return te.compute(
        (batch, out_height, out_width, num_filter),
        lambda nn, yy, xx, ff: te.sum(
            trans_input[nn, yy * stride_h + ry * dilation_h, xx * stride_w + rx * dilation_w, rc].astype(out_dtype)
            * trans_filter[ry, rx, rc, ff].astype(out_dtype), axis=[ry, rx, rc]),
        name="Conv2dOutput", tag="conv2d_nhwc_tensorcore")


@autotvm.register_topi_compute("conv2d_nhwc_tensorcore.cuda")
def conv2d_nhwc_tensorcore(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                           out_dtype: str = "float32") -> Tensor:
    """The tensor-core NHWC conv2d as an AutoTVM template's compute."""
    return nhwc_tensorcore_cuda(cfg, data, kernel, strides, padding, dilation, out_dtype)


@autotvm.register_topi_schedule("conv2d_nhwc_tensorcore.cuda")
def schedule_conv2d_nhwc_tensorcore(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule conv2d_nhwc_tensorcore (and the elementwise ops after it) on tensor cores."""
    return schedule_tagged(outs, "conv2d_nhwc_tensorcore", lambda s, op, out: _schedule(cfg, s, op.output(0)))


def _strides(n: int) -> list[Any]:
    """Strides an intrinsic's buffer binds to whatever the tile has (the last dimension's 1)."""
    return [*(te.var(f"s{k}") for k in range(n - 1)), 1]


def _schedule(cfg: Any, s: Schedule, conv: Tensor) -> None:
    trans_input, trans_filter = s[conv].op.input_tensors
    batch, _, _, out_c = get_const_tuple(conv.shape)
    in_c = get_const_tuple(trans_input.shape)[-1]
    out_dtype = str(conv.dtype)
    for name in ("block_row_warps", "block_col_warps", "warp_row_tiles", "warp_col_tiles"):
        cfg.define_knob(name, [1, 2, 4])
    cfg.define_knob("chunk", [1, 2, 4, 8])
    cfg.define_knob("offset", [0, 8])
    cfg.define_knob("vector_width", [1, 2, 4, 8])
    cfg.define_knob("wmma_m", [m for m in (16, 32, 8) if batch % m == 0 and out_c % WMMA_N[m] == 0])
    wmma_m, wmma_k = cfg["wmma_m"].val, 16
    wmma_n = WMMA_N[wmma_m]
    brw, bcw = cfg["block_row_warps"].val, cfg["block_col_warps"].val
    wrt, wct = cfg["warp_row_tiles"].val, cfg["warp_col_tiles"].val
    chunk, vec, offset = cfg["chunk"].val, cfg["vector_width"].val, cfg["offset"].val
    block_n, block_o = wmma_m * wrt * brw, wmma_n * wct * bcw
    for size, tile, what in ((batch, block_n, "batch"), (out_c, block_o, "out_channel"),
                             (in_c, wmma_k * chunk, "in_channel")):
        if size % tile:
            raise InstantiationError(f"conv2d_nhwc_tensorcore: {what} = {size} is not a multiple of the tile {tile}")
    shape = (wmma_m, wmma_n, wmma_k)

    fused = not any(conv.op is op for op in s.outputs)
    AS, WS, AF, WF, CF, CS = wmma_stages(s, trans_input, trans_filter, conv)
    padded = trans_input.op.input_tensors[0]
    for t in (trans_input, padded, trans_filter):  # the padding and conversions happen in the shared copies
        s[t].compute_inline()
    out = conv
    if fused:
        s[conv].compute_inline()
        out = s.outputs[0].output(0)

    threads = thread_axes()

    def spread(stage: Any, axes: Sequence[Any]) -> None:
        spread_over_block(s, stage, axes, vec, (brw, bcw), threads)

    # The output: blocks over (pixel, batch tile, channel tile).
    n, h, w, o = s[out].op.axis
    bz = s[out].fuse(h, w)
    bi, nc = s[out].split(n, factor=block_n)
    bj, oc = s[out].split(o, factor=block_o)
    s[out].reorder(bz, bi, bj, nc, oc)
    s[out].bind(bz, threads["blockIdx.z"])
    s[out].bind(bi, threads["blockIdx.x"])
    s[out].bind(bj, threads["blockIdx.y"])
    spread(out, [nc, oc])

    # Accumulators to shared memory, each warp its fragments.
    s[CS].compute_at(s[out], bj)
    cn, ch, cw, co = CS.op.axis
    s[CS].storage_align(cn, block_o + offset - 1, block_o + offset)
    cn, cni = s[CS].split(cn, factor=wmma_m)
    co, coi = s[CS].split(co, factor=wmma_n)
    cn, cnw = s[CS].split(cn, factor=wrt)
    co, cow = s[CS].split(co, factor=wct)
    s[CS].reorder(cn, co, cnw, cow, cni, ch, cw, coi)
    s[CS].bind(cn, threads["threadIdx.y"])
    s[CS].bind(co, threads["threadIdx.z"])

    # Products: for each kernel tap, input channels a chunk of fragments at a time.
    s[CF].compute_at(s[CS], co)
    fn, fh, fw, fo = CF.op.axis
    ry, rx, rc = CF.op.reduce_axis
    fn, fni = s[CF].split(fn, factor=wmma_m)
    fo, foi = s[CF].split(fo, factor=wmma_n)
    rc, rci = s[CF].split(rc, factor=wmma_k)
    rco, rcc = s[CF].split(rc, factor=chunk)
    s[CF].reorder(rco, ry, rx, rcc, fn, fo, fni, fh, fw, foi, rci)

    s[AF].compute_at(s[CF], rcc)
    an, ah, aw, ac = AF.op.axis
    an, ani = s[AF].split(an, factor=wmma_m)
    s[AF].reorder(an, ani, ah, aw, ac)
    s[WF].compute_at(s[CF], rcc)
    wkh, wkw, wci, wco = WF.op.axis
    wco, wcoi = s[WF].split(wco, factor=wmma_n)
    s[WF].reorder(wkh, wkw, wco, wci, wcoi)

    for shared, row_axis, row in ((AS, 0, chunk * wmma_k + offset), (WS, 2, block_o + offset)):
        s[shared].compute_at(s[CF], rx)
        s[shared].storage_align(shared.op.axis[row_axis], row - 1, row)
        spread(shared, list(shared.op.axis))

    a_gemm = te.placeholder((wmma_m, 1, 1, wmma_k), name="AL_gemm", dtype="float16")
    w_gemm = te.placeholder((wmma_k, wmma_n), name="WL_gemm", dtype="float16")
    kg = te.reduce_axis((0, wmma_k), name="k_gemm")
    c_gemm = te.compute((wmma_m, 1, 1, wmma_n), lambda i, t0, t1, j: te.sum(
        a_gemm[i, t0, t1, kg].astype(out_dtype) * w_gemm[kg, j].astype(out_dtype), axis=kg), name="CL_compute")
    s[AF].tensorize(ani, intrin_wmma_load_matrix_A(_strides(4), _strides(4), shape, "row_major",
                                                   (wmma_m, 1, 1, wmma_k), (wmma_m, 1, 1, wmma_k), "float16"))
    s[WF].tensorize(wci, intrin_wmma_load_matrix_W(_strides(2), _strides(2), shape, "row_major",
                                                   (wmma_k, wmma_n), (wmma_k, wmma_n), "float16"))
    s[CF].tensorize(fni, intrin_wmma_gemm(a_gemm, w_gemm, c_gemm, _strides(4), _strides(2), _strides(4), shape))
    s[CS].tensorize(cni, intrin_wmma_store_matrix(_strides(4), _strides(4), shape, out_dtype,
                                                  (wmma_m, 1, 1, wmma_n), (wmma_m, 1, 1, wmma_n)))


__all__ = ["conv2d_nhwc_tensorcore", "nhwc_tensorcore_cuda", "schedule_conv2d_nhwc_tensorcore"]
