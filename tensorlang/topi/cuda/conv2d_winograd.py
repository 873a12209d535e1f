"""Tunable Winograd NCHW conv2d for GPUs (``conv2d_nchw_winograd.cuda`` and its variant on a
pre-transformed kernel): F(m x m, r x r) with m = 4 when the input height is a multiple of 8,
else 2.  Four kernels: the kernel transform, the input transform (one thread per tile and
channel), a batched GEMM over the alpha x alpha transformed positions (tiled like the direct
conv2d template, operands staged in shared memory), and the inverse transform, which writes the
output and any elementwise ops fused after it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...errors import ArgumentError, ExprError
from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from ..nn.pad import dilate, pad
from ..nn.winograd import WinogradTiles, check_unit, winograd_transform_matrices
from ..utils import get_const_int, get_const_tuple, out_dtype_of, pair, schedule_tagged

TAG = "conv2d_nchw_winograd"


def _tile_size(height: int) -> int:
    # TVM's choice: the larger tile (fewer multiplications per output, but more rounding and more
    # work wasted on a partial last tile) only when the height is a multiple of 8.
    return 4 if height % 8 == 0 else 2


def _nonzero(*coefficients: Any) -> Any:
    """The terms of a transform to add: where the matrices' entries, constants once the unrolled
    loops substitute their indices, are not zero (``x * 0.0`` is not folded away, as NaN * 0 is NaN)."""
    return te.all(*(c != 0.0 for c in coefficients))


def winograd_cuda(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                  out_dtype: str | None, pre_computed: bool) -> Tensor:
    """The Winograd compute: data (N, CI, H, W) and kernel (CO, CI, KH, KW), or with
    ``pre_computed`` a transformed kernel (alpha, alpha, CI, CO) -> (N, CO, OH, OW), stride 1.
    A dilated raw kernel is dilated first (its zeros become taps of a larger kernel)."""
    what = "conv2d_nchw_winograd" + ("_without_weight_transform" if pre_computed else "")
    out_dtype = out_dtype_of(out_dtype, data, what)
    shape = get_const_tuple(data.shape)
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape):
        raise ArgumentError(f"{what}: data {data.name} must be 4-D NCHW with constant sizes, got {shape}")
    n, ci, h, w = shape
    kname = kernel.name  # dilation replaces the tensor: errors name the argument's
    check_unit(what, strides, "strides")
    m = _tile_size(h)
    kshape = get_const_tuple(kernel.shape)
    if len(kshape) != 4 or not all(isinstance(d, int) for d in kshape):
        raise ArgumentError(f"{what}: kernel {kernel.name} must be 4-D with constant sizes, got {kshape}")
    if pre_computed:
        check_unit(what, dilation, "dilation")  # the zeros of a dilated kernel are transformed already
        alpha, alpha_w, kci, co = kshape
        if alpha != alpha_w:
            raise ArgumentError(f"{what}: kernel {kernel.name} of shape {kshape} must be (alpha, alpha, CI, CO)")
        r = alpha - m + 1
        if not 3 <= r <= 7:
            raise ArgumentError(f"{what}: kernel {kernel.name} of shape {kshape} is not a transformed kernel for "
                                f"F({m}, r), r in 3..7 (alpha = {m} + r - 1; m = {m} for height {h})")
        kernel_pack = kernel
    else:
        try:
            dh, dw = (get_const_int(v) for v in pair(dilation, f"{what} dilation"))
        except ExprError:
            dh = dw = 0
        if dh < 1 or dw < 1:
            raise ArgumentError(f"{what}: dilation {dilation!r} must be one int or two, at least 1")
        if (dh, dw) != (1, 1):
            kernel = dilate(kernel, (1, 1, dh, dw))
        co, kci, kh, kw = get_const_tuple(kernel.shape)
        if kh != kw:
            dilated = " (dilated)" if (dh, dw) != (1, 1) else ""
            raise ArgumentError(f"{what}: kernel {kname} is {kh}x{kw}{dilated}; only square kernels are "
                                "supported")
        r = kh
        alpha = m + r - 1
    if kci != ci:
        raise ArgumentError(f"{what}: data {data.name} has {ci} channels but kernel {kname} expects {kci}")
    A, B, G = winograd_transform_matrices(m, r, out_dtype)  # errors name kernel_size for r outside 3..7
    t = WinogradTiles(what, h, w, r, m, padding)
    nh, nw = t.nh, t.nw
    P = n * nh * nw

    if not pre_computed:
        r_kh = te.reduce_axis((0, r), name="r_kh")
        r_kw = te.reduce_axis((0, r), name="r_kw")
        kernel_pack = te.compute(
            (alpha, alpha, ci, co),
            lambda eps, nu, c, o: te.sum(kernel[o, c, r_kh, r_kw].astype(out_dtype) * G[eps, r_kh] * G[nu, r_kw],
                                         axis=[r_kh, r_kw], where=_nonzero(G[eps, r_kh], G[nu, r_kw])),
            name="kernel_pack")
    data_pad = pad(data, (0, 0, t.pt, t.pl), (0, 0, t.pb + t.extra_h, t.pr + t.extra_w), name="data_pad")
    input_tile = te.compute(
        (ci, P, alpha, alpha),
        lambda c, p, eps, nu: data_pad[p // (nh * nw), c, (p // nw) % nh * m + eps, p % nw * m + nu],
        name="d")
    r_a = te.reduce_axis((0, alpha), name="r_a")
    r_b = te.reduce_axis((0, alpha), name="r_b")
    data_pack = te.compute(
        (alpha, alpha, ci, P),
        lambda eps, nu, c, p: te.sum(input_tile[c, p, r_a, r_b].astype(out_dtype) * B[r_a, eps] * B[r_b, nu],
                                     axis=[r_a, r_b], where=_nonzero(B[r_a, eps], B[r_b, nu])),
        name="data_pack")
    rc = te.reduce_axis((0, ci), name="ci")
    bgemm = te.compute(
        (alpha, alpha, co, P),
        lambda eps, nu, o, p: te.sum(kernel_pack[eps, nu, rc, o].astype(out_dtype) * data_pack[eps, nu, rc, p],
                                     axis=[rc]),
        name="bgemm")
    r_a = te.reduce_axis((0, alpha), name="r_a")
    r_b = te.reduce_axis((0, alpha), name="r_b")
    inverse = te.compute(
        (co, P, m, m),
        lambda o, p, vh, vw: te.sum(bgemm[r_a, r_b, o, p] * A[r_a, vh] * A[r_b, vw], axis=[r_a, r_b],
                                    where=_nonzero(A[r_a, vh], A[r_b, vw])),
        name="inverse")
    output = te.compute(
        (n, co, t.oh, t.ow),
        lambda b, o, y, x: inverse[o, b * nh * nw + y // m * nw + x // m, y % m, x % m],
        name="output", tag=TAG)
    cfg.add_flop(2 * n * co * t.oh * t.ow * ci * r * r)  # as the direct convolution counts it
    return output


def schedule_winograd_cuda(cfg: Any, s: Schedule, output: Tensor, pre_computed: bool) -> None:
    """Schedule the stages of ``winograd_cuda``'s ``output`` (the last of s.outputs when
    elementwise ops follow it)."""
    inverse = output.op.input_tensors[0]
    bgemm, A = inverse.op.input_tensors
    kernel_pack, data_pack = bgemm.op.input_tensors
    input_tile, B = data_pack.op.input_tensors
    pad_data = input_tile.op.input_tensors[0]
    # Elementwise ops after the convolution: the last writes the output, the convolution's
    # values stay in registers. (Decided first: cache_write replaces the ops it rewrites.)
    fused_into = None
    if not any(output.op is op for op in s.outputs):
        fused_into, output = output, s.outputs[0].output(0)

    # input transform: a thread per (channel, tile) computes its alpha x alpha block in registers
    s[B].compute_inline()
    s[pad_data].compute_inline()
    data_l = s.cache_write(data_pack, "local")
    for axis in (*s[data_l].op.axis[:2], *s[data_l].op.reduce_axis):
        s[data_l].unroll(axis)
    eps, nu, c, p = s[data_pack].op.axis
    p, pi = s[data_pack].split(p, factor=1)
    fused = s[data_pack].fuse(c, p)
    bb, tt = s[data_pack].split(fused, factor=128)
    s[data_pack].reorder(bb, tt, pi, eps, nu)
    s[data_pack].bind(bb, te.thread_axis("blockIdx.x"))
    s[data_pack].bind(tt, te.thread_axis("threadIdx.x"))
    for axis in (eps, nu):
        s[data_pack].unroll(axis)
    s[data_l].compute_at(s[data_pack], pi)
    s[input_tile].compute_at(s[data_pack], pi)

    # kernel transform: a thread per (in, out) channel pair
    if not pre_computed:
        kernel, G = kernel_pack.op.input_tensors
        s[G].compute_inline()
        eps, nu, c, o = s[kernel_pack].op.axis
        for axis in (eps, nu, *s[kernel_pack].op.reduce_axis):
            s[kernel_pack].unroll(axis)
        fused = s[kernel_pack].fuse(c, o)
        bb, tt = s[kernel_pack].split(fused, factor=128)
        s[kernel_pack].reorder(bb, tt, eps, nu)
        s[kernel_pack].bind(bb, te.thread_axis("blockIdx.x"))
        s[kernel_pack].bind(tt, te.thread_axis("threadIdx.x"))
        if isinstance(kernel.op, ComputeOp) and "dilate" in kernel.op.tag:
            s[kernel].compute_inline()

    # batched GEMM: the knobs
    b1, b2, y, x = s[bgemm].op.axis
    (rc,) = s[bgemm].op.reduce_axis
    alpha = get_const_int(b1.dom.extent)
    cfg.define_split("tile_b", cfg.axis(alpha * alpha), num_outputs=4,
                     filter=lambda e: e.size[-3:] == [1, 1, 1])  # positions go to blocks only
    cfg.define_split("tile_y", y, num_outputs=4)
    cfg.define_split("tile_x", x, num_outputs=4)
    cfg.define_split("tile_rc", rc, num_outputs=2)
    cfg.define_knob("auto_unroll_max_step", [0, 128, 1500])
    cfg.define_knob("unroll_explicit", [0, 1])
    if cfg.is_fallback:
        cfg.fallback_split("tile_b", [-1, 1, 1, 1])
        cfg.fallback_split("tile_y", [-1, 1, 8, 2])
        cfg.fallback_split("tile_x", [-1, 1, 16, 1])
        cfg.fallback_split("tile_rc", [-1, 8])

    local = s.cache_write(bgemm, "local")
    kernel_shared = s.cache_read(kernel_pack, "shared", [local])
    data_shared = s.cache_read(data_pack, "shared", [local])
    b = s[bgemm].fuse(b1, b2)
    scope, b = s[bgemm].split(b, nparts=1)
    bz, vz, tz, zi = cfg["tile_b"].apply(s, bgemm, b)
    by, vy, ty, yi = cfg["tile_y"].apply(s, bgemm, y)
    bx, vx, tx, xi = cfg["tile_x"].apply(s, bgemm, x)
    for axis, thread in ((bz, "blockIdx.z"), (by, "blockIdx.y"), (bx, "blockIdx.x"), (vz, "vthread"),
                         (vy, "vthread"), (vx, "vthread"), (tz, "threadIdx.z"), (ty, "threadIdx.y"),
                         (tx, "threadIdx.x")):
        s[bgemm].bind(axis, te.thread_axis(thread))
    s[bgemm].reorder(scope, bz, by, bx, vz, vy, vx, tz, ty, tx, zi, yi, xi)
    s[local].compute_at(s[bgemm], tx)
    b1, b2, y, x = s[local].op.axis
    b = s[local].fuse(b1, b2)
    (rc,) = s[local].op.reduce_axis
    rco, rci = cfg["tile_rc"].apply(s, local, rc)
    s[local].reorder(rco, rci, b, y, x)
    s[kernel_shared].compute_at(s[local], rco)
    s[data_shared].compute_at(s[local], rco)
    # cooperative fetching: the block's threads share the loads of each shared tile
    for load in (kernel_shared, data_shared):
        fused = s[load].fuse(*s[load].op.axis)
        fused, txx = s[load].split(fused, factor=cfg["tile_x"].size[2])
        fused, tyy = s[load].split(fused, factor=cfg["tile_y"].size[2])
        fused, tzz = s[load].split(fused, factor=cfg["tile_b"].size[2])
        s[load].bind(tzz, te.thread_axis("threadIdx.z"))
        s[load].bind(tyy, te.thread_axis("threadIdx.y"))
        s[load].bind(txx, te.thread_axis("threadIdx.x"))
    s[bgemm].pragma(scope, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[bgemm].pragma(scope, "unroll_explicit", cfg["unroll_explicit"].val)

    # inverse transform: a thread per output tile (and channel) computes it and writes the output
    if fused_into is not None:
        s[fused_into].set_scope("local")
    m = get_const_int(inverse.shape[2])
    nn, o, h, w = s[output].op.axis
    ho, wo, hi, wi = s[output].tile(h, w, m, m)
    fused = s[output].fuse(nn, o, ho, wo)
    bb, tt = s[output].split(fused, factor=128)
    s[output].bind(bb, te.thread_axis("blockIdx.x"))
    s[output].bind(tt, te.thread_axis("threadIdx.x"))
    if fused_into is not None:
        s[fused_into].compute_at(s[output], tt)
    s[A].compute_inline()
    for axis in (*s[inverse].op.axis[2:], *s[inverse].op.reduce_axis):
        s[inverse].unroll(axis)
    s[inverse].compute_at(s[output], tt)


@autotvm.register_topi_compute("conv2d_nchw_winograd.cuda")
def conv2d_nchw_winograd(cfg: Any, data: Tensor, kernel: Tensor, strides: Any, padding: Any, dilation: Any,
                         out_dtype: str | None) -> Tensor:
    """Winograd conv2d, NCHW data and OIHW kernel, stride 1 (the template's compute)."""
    return winograd_cuda(cfg, data, kernel, strides, padding, dilation, out_dtype, pre_computed=False)


@autotvm.register_topi_schedule("conv2d_nchw_winograd.cuda")
def schedule_conv2d_nchw_winograd(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``conv2d_nchw_winograd`` on CUDA (elementwise ops after it are fused into the
    inverse transform's kernel)."""
    return schedule_tagged(outs, TAG, lambda s, op, out: schedule_winograd_cuda(cfg, s, op.output(0), False))


@autotvm.register_topi_compute("conv2d_nchw_winograd_without_weight_transform.cuda")
def conv2d_nchw_winograd_without_weight_transform(cfg: Any, data: Tensor, kernel: Tensor, strides: Any,
                                                  padding: Any, dilation: Any, out_dtype: str | None) -> Tensor:
    """``conv2d_nchw_winograd`` on a kernel transformed beforehand, (alpha, alpha, CI, CO): the
    transpose of ``topi.nn.conv2d_winograd_weight_transform``'s (alpha, alpha, CO, CI)."""
    return winograd_cuda(cfg, data, kernel, strides, padding, dilation, out_dtype, pre_computed=True)


@autotvm.register_topi_schedule("conv2d_nchw_winograd_without_weight_transform.cuda")
def schedule_conv2d_nchw_winograd_without_weight_transform(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``conv2d_nchw_winograd_without_weight_transform`` on CUDA."""
    return schedule_tagged(outs, TAG, lambda s, op, out: schedule_winograd_cuda(cfg, s, op.output(0), True))
