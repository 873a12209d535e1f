"""2-D convolution: a hand schedule and tunable templates.

``conv2d_nchwc`` (CPUs, what ``tasks()`` tunes) and ``depthwise_conv2d_nchwc`` compute in the
NCHW[x]c layout with channels in the vector lanes (layout changes compile to register
transposes); ``conv2d_nchw`` vectorizes the output width
in plain NCHW; ``conv2d_nchw_cuda`` is the GPU template.

    python examples/conv2d.py
    tensorlang show examples/conv2d.py
    tensorlang tune --target=llvm examples/conv2d.py
    tensorlang tune --auto --target=llvm examples/conv2d.py
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

import tensorlang as tl
from tensorlang import autotune, te


def conv2d_nchw(N, C, H, W, K, R, S, pad, dtype="float32"):
    """Tensors X (input), Wt (filters), Xpad (padded input) and Y (output)."""
    X = te.placeholder((N, C, H, W), name="X", dtype=dtype)
    Wt = te.placeholder((K, C, R, S), name="W", dtype=dtype)
    Hp, Wp = H + 2 * pad, W + 2 * pad
    Xp = te.compute((N, C, Hp, Wp), lambda n, c, y, x: te.if_then_else(
        te.all(y >= pad, y < H + pad, x >= pad, x < W + pad), X[n, c, y - pad, x - pad],
        te.const(0, dtype)), name="Xpad")
    rc = te.reduce_axis((0, C), name="rc")
    ry = te.reduce_axis((0, R), name="ry")
    rx = te.reduce_axis((0, S), name="rx")
    Y = te.compute((N, K, Hp - R + 1, Wp - S + 1), lambda n, k, y, x: te.sum(
        Xp[n, rc, y + ry, x + rx] * Wt[k, rc, ry, rx], axis=[rc, ry, rx]), name="Y")
    return X, Wt, Xp, Y


def conv2d_flop(Y: te.Tensor, C: int, R: int, S: int) -> float:
    """2 x outputs x C x R x S: one multiply-add per filter tap (padding computes nothing)."""
    n = 1
    for d in Y.shape:
        n *= int(d)
    return 2.0 * n * C * R * S


def scheduled(N=1, C=64, H=56, W=56, K=64, R=3, S=3, pad=1, kb=4, xb=16):
    """Output channels blocked by ``kb`` and columns by ``xb`` accumulate in a local tile."""
    X, Wt, Xp, Y = conv2d_nchw(N, C, H, W, K, R, S, pad)
    s = te.create_schedule(Y.op)
    s[Xp].compute_inline()
    YL = s.cache_write(Y, "local")
    n, k, y, x = s[Y].op.axis
    ko, ki = s[Y].split(k, factor=kb)
    xo, xi = s[Y].split(x, factor=xb)
    s[Y].reorder(n, ko, y, xo, ki, xi)
    s[Y].vectorize(xi)
    s[Y].parallel(ko)
    s[YL].compute_at(s[Y], xo)
    nl, kl, yl, xl = s[YL].op.axis
    rc, ry, rx = s[YL].op.reduce_axis
    s[YL].reorder(rc, ry, rx, kl, xl)
    s[YL].unroll(kl)
    s[YL].vectorize(xl)
    return s, [X, Wt, Y]


@autotune.template("conv2d_nchw")
def conv2d_template(N: int, C: int, H: int, W: int, K: int, R: int, S: int, pad: int, dtype: str = "float32"):
    """Tunable direct convolution: a tile of ``kb`` output channels x ``yb`` rows x ``xb``
    columns accumulates in registers; knobs also choose the reduction order and whether the
    padded input is materialized first or its bounds checks are inlined."""
    cfg = autotune.get_config()
    cfg.define_knob("kb", [8, 4, 16, 2])
    cfg.define_knob("xb", [16, 8, 32])
    cfg.define_knob("yb", [1, 2])
    cfg.define_knob("pad", ["root", "inline"])
    cfg.define_knob("rorder", ["crs", "rsc"])
    cfg.add_constraint(lambda c: c["kb"].val * c["yb"].val * c["xb"].val <= 448,
                       "kb*yb*xb <= 448 (28 zmm accumulators)")
    X, Wt, Xp, Y = conv2d_nchw(N, C, H, W, K, R, S, pad, dtype)
    cfg.add_flop(conv2d_flop(Y, C, R, S))
    kb, xb, yb = min(cfg["kb"].val, K), cfg["xb"].val, cfg["yb"].val
    s = te.create_schedule(Y.op)
    YL = s.cache_write(Y, "local")
    n, k, y, x = s[Y].op.axis
    ko, ki = s[Y].split(k, factor=kb)
    yo, yi = s[Y].split(y, factor=yb)
    xo, xi = s[Y].split(x, factor=xb)
    s[Y].reorder(n, ko, yo, xo, ki, yi, xi)
    s[Y].vectorize(xi)
    s[Y].parallel(ko)
    s[YL].compute_at(s[Y], xo)
    nl, kl, yl, xl = s[YL].op.axis
    rc, ry, rx = s[YL].op.reduce_axis
    red = [rc, ry, rx] if cfg["rorder"].val == "crs" else [ry, rx, rc]
    s[YL].reorder(*red, kl, yl, xl)
    s[YL].unroll(kl)
    s[YL].unroll(yl)
    s[YL].vectorize(xl)
    if cfg["pad"].val == "inline":
        s[Xp].compute_inline()
    else:
        pn, pc, py, px = s[Xp].op.axis
        s[Xp].parallel(pc)
    return s, [X, Wt, Y]


def _divisors_up_to(n: int, limit: int, prefer: Sequence[int]) -> list[int]:
    """Divisors of ``n`` up to ``limit``, the ``prefer``red ones first (the fallback config)."""
    divs = [d for d in range(1, min(n, limit) + 1) if n % d == 0]
    return [d for d in prefer if d in divs] + sorted((d for d in divs if d not in prefer), reverse=True)


def conv2d_nchwc(N, C, H, W, K, R, S, pad, stride=1, ic_bn=16, oc_bn=16, dtype="float32"):
    """Convolution with output channels in the vector lanes (NCHW[oc_bn]c output), from and to NCHW.

    Stages: ``Xp`` (N, C, H+2pad, W+2pad) pads the input (no copy when ``pad`` is 0; the
    kernel broadcasts input values one at a time, so NCHW serves as well as a packed layout),
    ``Wc`` (K/oc_bn, C/ic_bn, ic_bn, R, S, oc_bn) packs the filters, ``Yc`` (N, K/oc_bn, OH, OW,
    oc_bn) convolves with output channels innermost, ``Y`` unpacks to NCHW.
    Returns X, Wt, Xp, Wc, Yc, Y (Xp is X when there is no padding)."""
    if C % ic_bn or K % oc_bn:
        raise ValueError(f"conv2d_nchwc: ic_bn={ic_bn} must divide C={C} and oc_bn={oc_bn} must divide K={K}")
    X = te.placeholder((N, C, H, W), name="X", dtype=dtype)
    Wt = te.placeholder((K, C, R, S), name="W", dtype=dtype)
    Hp, Wp = H + 2 * pad, W + 2 * pad
    OH, OW = (Hp - R) // stride + 1, (Wp - S) // stride + 1
    Xp = _pad_input(X, pad)
    # (ci, r, q) in the source's order: packing is a transpose of (oc_bn x ic_bn*R*S) blocks.
    Wc = te.compute((K // oc_bn, C // ic_bn, ic_bn, R, S, oc_bn),
                    lambda k, c, ci, r, q, ki: Wt[k * oc_bn + ki, c * ic_bn + ci, r, q], name="Wc")
    rco = te.reduce_axis((0, C // ic_bn), name="rco")
    rci = te.reduce_axis((0, ic_bn), name="rci")
    ry = te.reduce_axis((0, R), name="ry")
    rx = te.reduce_axis((0, S), name="rx")
    Yc = te.compute((N, K // oc_bn, OH, OW, oc_bn), lambda n, k, y, x, ki: te.sum(
        Xp[n, rco * ic_bn + rci, y * stride + ry, x * stride + rx] * Wc[k, rco, rci, ry, rx, ki],
        axis=[rco, ry, rx, rci]), name="Yc")
    Y = te.compute((N, K, OH, OW), lambda n, k, y, x: Yc[n, k // oc_bn, y, x, k % oc_bn], name="Y")
    return X, Wt, Xp, Wc, Yc, Y


def _pad_input(X: te.Tensor, pad: int) -> te.Tensor:
    """``pad`` zeros around each NCHW image (X itself when ``pad`` is 0)."""
    if pad == 0:
        return X
    N, C, H, W = (int(d) for d in X.shape)
    return te.compute((N, C, H + 2 * pad, W + 2 * pad), lambda n, c, y, x: te.if_then_else(
        te.all(y >= pad, y < H + pad, x >= pad, x < W + pad), X[n, c, y - pad, x - pad], te.const(0, X.dtype)),
        name="Xp")


def _pack_input(Xp: te.Tensor, bn: int) -> te.Tensor:
    """NCHW -> NCHW[bn]c."""
    N, C, H, W = (int(d) for d in Xp.shape)
    return te.compute((N, C // bn, H, W, bn), lambda n, c, y, x, ci: Xp[n, c * bn + ci, y, x], name="Xc")


def _transpose_width(bn: int) -> int | None:
    """Lanes for a layout transpose over blocks of ``bn`` channels: 16 (a zmm of float32) when it
    divides ``bn``, else ``bn`` itself when it is a power of two of at least 4; None otherwise."""
    if bn % 16 == 0:
        return 16
    return bn if bn >= 4 and bn & (bn - 1) == 0 else None


def _schedule_transpose(s, stage, outer, lane_axis, inner, bn: int) -> None:
    """A layout transform's innermost pair (``lane_axis`` contiguous in what it reads, ``inner``
    contiguous in what it writes; one of them the channel block ``bn``) in tiles of v x v:
    ``lane_axis`` unrolled, ``inner`` vectorized, which the LLVM code generator turns into
    register transposes (target/llvm/transpose.py)."""
    v = _transpose_width(bn)
    if v is None:
        s[stage].reorder(*outer, lane_axis, inner)
        s[stage].vectorize(inner)
        return
    lo, li = s[stage].split(lane_axis, factor=v)
    io, ii = s[stage].split(inner, factor=v)
    s[stage].reorder(*outer, io, lo, li, ii)
    s[stage].unroll(li)
    s[stage].vectorize(ii)


def _schedule_pad(s, Xp) -> None:
    """Padding rows in parallel, vectorized along them."""
    n, c, y, x = s[Xp].op.axis
    s[Xp].parallel(s[Xp].fuse(n, c, y))
    xo, xi = s[Xp].split(x, factor=16)
    s[Xp].vectorize(xi)


def _schedule_filter_pack(s, Wc, bn: int) -> None:
    """Wc (k, c, ci, r, q, ki), (k, c) blocks in parallel, reads runs of ci*R*S contiguous
    filter values for each ki: with (ci, r, q) unrolled (ci in parts of at most 256 values) and
    ki vectorized, consecutive stores read consecutive addresses, which the code generator
    turns into transposes."""
    k, c, ci, r, q, ki = s[Wc].op.axis
    blk = s[Wc].fuse(k, c)
    s[Wc].parallel(blk)
    R, S, ic_bn = (int(a.dom.extent) for a in (r, q, ci))
    v = _transpose_width(bn) or bn
    cu = max(d for d in range(1, ic_bn + 1) if ic_bn % d == 0 and (d * R * S <= 256 or d == 1))
    cio, cii = s[Wc].split(ci, factor=cu)
    kio, kii = s[Wc].split(ki, factor=v)
    s[Wc].reorder(blk, cio, kio, cii, r, q, kii)
    for axis in (cii, r, q):
        s[Wc].unroll(axis)
    s[Wc].vectorize(kii)


def _register_tile(s, Yc: te.Tensor, reg_n: int, row_of=None, rows_outer: bool = False):
    """The output tile of ``reg_n`` columns x the lane block accumulates in a local stage
    computed per tile. ``row_of`` None: Yc is a pass of its own, rows and channel blocks in
    parallel; ``(Y, axis)``: Yc is computed one row at a time inside the unpacking stage's
    parallel loop ``axis``, so that row is unpacked from L1 instead of making a round trip
    through memory. ``rows_outer``: rows outside channel blocks (every block of filters passes
    over a row of input while it is in cache), else channel blocks outside rows. Returns the
    local stage."""
    YL = s.cache_write(Yc, "local")
    n, k, y, x, ki = s[Yc].op.axis
    xo, xi = s[Yc].split(x, factor=reg_n)
    outer = [n, y, k] if rows_outer else [n, k, y]
    s[Yc].reorder(*outer, xo, xi, ki)
    if row_of is None:
        s[Yc].parallel(s[Yc].fuse(*outer))
    else:
        s[Yc].compute_at(s[row_of[0]], row_of[1])
    s[Yc].vectorize(ki)
    s[YL].compute_at(s[Yc], xo)
    return YL


def _schedule_layout_stages(s, Xp, Y, bn: int, Wc=None, Xc=None, rows_outer: bool = False):
    """The padding and packing stages in parallel; the unpacking stage in parallel over (image,
    channel block, row), or (image, row, channel block) with ``rows_outer``, written as register
    transposes where the block allows. Returns that parallel axis of Y."""
    if Xp.op.input_tensors:  # padding (a placeholder when there is none)
        _schedule_pad(s, Xp)
    if Xc is not None:
        n, c, y, x, ci = s[Xc].op.axis
        row = s[Xc].fuse(n, c, y)
        s[Xc].parallel(row)
        _schedule_transpose(s, Xc, [row], x, ci, bn)
    if Wc is not None:
        _schedule_filter_pack(s, Wc, bn)
    n, k, y, x = s[Y].op.axis
    ko, ki = s[Y].split(k, factor=bn)
    outer = [n, y, ko] if rows_outer else [n, ko, y]
    s[Y].reorder(*outer, ki, x)
    row = s[Y].fuse(*outer)
    s[Y].parallel(row)
    _schedule_transpose(s, Y, [row], ki, x, bn)
    return row


@autotune.template("conv2d_nchwc")
def conv2d_nchwc_template(N: int, C: int, H: int, W: int, K: int, R: int, S: int, pad: int, stride: int = 1,
                          dtype: str = "float32"):
    """Tunable x86 convolution with output channels in the vector lanes (see ``conv2d_nchwc``):
    ``oc_bn`` output channels fill the lanes (one or more 16-lane vectors), a register tile of
    ``reg_n`` output columns x ``oc_bn`` channels accumulates over ``ic_bn`` input channels at a
    time (each input value broadcast straight from the padded NCHW image),
    the kernel window unrolled (``unroll_kw``); a width that ``reg_n`` does not divide ends in a
    guarded tail; ``unpack`` per row (from L1) or as a pass; ``rows_outer`` runs the channel
    blocks inside each row (the row's input stays in cache for all of them). 1x1 convolutions
    are the R = S = 1 case (no padding copy: the kernel broadcasts from the NCHW input itself,
    so its speed does not depend on the input's alignment)."""
    cfg = autotune.get_config()
    OW = (W + 2 * pad - S) // stride + 1
    # Whole 16-lane vectors when the channels allow; narrower blocks only for odd channel counts.
    oc = [d for d in _divisors_up_to(K, 64, [32, 16, 64, 48]) if d % 16 == 0] or _divisors_up_to(K, 16, [16, 8])
    cfg.define_knob("oc_bn", oc)
    cfg.define_knob("ic_bn", _divisors_up_to(C, 64, [16, 8, 32, 4, 64]))
    cfg.define_knob("reg_n", [r for r in (14, 8, 7, 16, 28, 12, 6, 4, 2) if r <= OW] or [OW])
    cfg.define_knob("order", ["c_rs", "rs_c"])
    cfg.define_knob("unroll_kw", [True, False])
    cfg.define_knob("unpack", ["per_row", "pass"])
    cfg.define_knob("rows_outer", [True, False])
    # 32 vector registers: reg_n x oc_bn/16 accumulators, plus filter vectors and broadcasts.
    cfg.add_constraint(lambda c: c["reg_n"].val * max(c["oc_bn"].val // 16, 1) <= 28,
                       "reg_n * oc_bn/16 <= 28 (zmm accumulators)")
    oc_bn, ic_bn, reg_n = cfg["oc_bn"].val, cfg["ic_bn"].val, cfg["reg_n"].val
    X, Wt, Xp, Wc, Yc, Y = conv2d_nchwc(N, C, H, W, K, R, S, pad, stride, ic_bn, oc_bn, dtype)
    cfg.add_flop(conv2d_flop(Y, C, R, S))
    s = te.create_schedule(Y.op)
    rows_outer = cfg["rows_outer"].val
    row = _schedule_layout_stages(s, Xp, Y, oc_bn, Wc, rows_outer=rows_outer)
    YL = _register_tile(s, Yc, reg_n, (Y, row) if cfg["unpack"].val == "per_row" else None, rows_outer)
    _schedule_accumulation(s, YL, cfg["order"].val, cfg["unroll_kw"].val)
    return s, [X, Wt, Y]


def _schedule_accumulation(s, YL, order: str, unroll_kw: bool) -> None:
    """The register tile's loops: the reduction in ``order`` ("c_rs": channel blocks, window,
    channels; "rs_c": window, channel blocks, channels), then the tile's columns unrolled and
    its channel lanes vectorized; the window's columns unrolled with ``unroll_kw``."""
    nl, kl, yl, xl, kil = s[YL].op.axis
    rco, ry, rx, rci = s[YL].op.reduce_axis
    red = [rco, ry, rx, rci] if order == "c_rs" else [ry, rx, rco, rci]
    s[YL].reorder(*red, xl, kil)
    s[YL].unroll(xl)
    s[YL].vectorize(kil)
    if unroll_kw:
        s[YL].unroll(rx)


def conv2d_1x1_gemm(N, C, H, W, K, kb=4, rb=2, vs=4, dtype="float32"):
    """A 1x1, stride-1, unpadded convolution in plain NCHW as the matmul it is:
    ``Y[n, k, p] = sum_c W[k, c] * X[n, c, p]`` over the flattened image ``p = y*W + x``.

    Nothing is packed or unpacked (NCHW[x]c would copy the whole input and output, as much
    memory traffic as the arithmetic takes time here). A tile of ``kb`` output channels x ``rb``
    whole image rows (``rb*W`` pixels, a multiple of 16: the vector lanes run along the flattened
    rows; whole rows keep the tile's bounds exact) is computed ``vs`` vectors of pixels at a time:
    ``kb*vs`` accumulators over all input channels, each step ``vs`` vector loads straight from
    the NCHW rows and ``kb`` broadcast filter values (``kb*vs + vs + 1`` registers must fit in 32,
    or LLVM spills).  Pixel tiles run in parallel, the channel blocks inside them, so one tile's
    input panel stays in the L2 cache while every block of filters passes over it.
    Returns (schedule, [X, W, Y])."""
    nr = rb * W
    if H % rb or nr % 16 or K % kb:
        raise ValueError(f"conv2d_1x1_gemm: rb={rb} must divide H={H} with rb*W={nr} a multiple of 16, "
                         f"and kb={kb} must divide K={K}")
    X = te.placeholder((N, C, H, W), name="X", dtype=dtype)
    Wt = te.placeholder((K, C, 1, 1), name="W", dtype=dtype)
    c = te.reduce_axis((0, C), name="c")
    Y = te.compute((N, K, H, W), lambda n, k, y, x: te.sum(Wt[k, c, 0, 0] * X[n, c, y, x], axis=c), name="Y")
    s = te.create_schedule(Y.op)
    YL = s.cache_write(Y, "local")
    n, k, y, x = s[Y].op.axis
    yo, yi = s[Y].split(y, factor=rb)
    ko, ki = s[Y].split(k, factor=kb)
    s[Y].reorder(n, yo, ko, ki, yi, x)
    s[Y].parallel(s[Y].fuse(n, yo))
    # The write-back along whole rows: vectors that never cross a row keep the stores contiguous.
    xo, xi = s[Y].split(x, factor=max(d for d in (16, 8, 4, 2, 1) if W % d == 0))
    s[Y].vectorize(xi)
    s[YL].compute_at(s[Y], ko)
    nl, kl, yl, xl = s[YL].op.axis
    (cl,) = s[YL].op.reduce_axis
    vec, lane = s[YL].split(s[YL].fuse(yl, xl), factor=16)
    part, pv = s[YL].split(vec, factor=vs)
    s[YL].reorder(part, cl, kl, pv, lane)
    s[YL].unroll(part)
    s[YL].unroll(kl)
    s[YL].unroll(pv)
    s[YL].vectorize(lane)
    return s, [X, Wt, Y]


def gemm_rows(H: int, W: int) -> list[int]:
    """Row counts ``rb`` for conv2d_1x1_gemm: dividing H, rb*W a multiple of 16, 2 to 32 vectors."""
    return [rb for rb in range(1, H + 1) if H % rb == 0 and (rb * W) % 16 == 0 and 32 <= rb * W <= 32 * 16]


@autotune.template("conv2d_1x1_nchw")
def conv2d_1x1_template(N: int, C: int, H: int, W: int, K: int, dtype: str = "float32"):
    """Tunable 1x1 stride-1 convolution as a matmul over the flattened NCHW image (see
    ``conv2d_1x1_gemm``): ``kb`` channels x ``vs`` pixel vectors in registers over tiles of
    ``rb`` whole rows.  Needs a row count ``rb`` dividing H with rb*W a multiple of 16
    (``gemm_rows``)."""
    rows = gemm_rows(H, W)
    if not rows:
        raise ValueError(f"conv2d_1x1_nchw: no tile of whole rows of width {W} dividing height {H} is 32 to 512 "
                         "pixels and a multiple of 16; use conv2d_nchwc (R = S = 1) for this shape")
    cfg = autotune.get_config()
    cfg.define_knob("kb", [d for d in (4, 8, 2, 6, 1, 3) if K % d == 0])
    cfg.define_knob("rb", sorted(rows, key=lambda rb: abs(rb * W - 112)))  # 2 rows of 56 first
    cfg.define_knob("vs", [4, 3, 2, 5, 6, 1])
    cfg.add_constraint(lambda c: c["kb"].val * c["vs"].val + c["vs"].val + 1 <= 31,
                       "kb*vs accumulators + vs loaded vectors + a broadcast fit in 31 zmm registers")
    # vs*16 == rb*W leaves index arithmetic that becomes lane-by-lane gathers (measured 70x slower)
    cfg.add_constraint(lambda c: c["vs"].val * 16 < c["rb"].val * W, "fewer than rb*W/16 vectors at a time")
    cfg.add_flop(2.0 * N * K * C * H * W)
    return conv2d_1x1_gemm(N, C, H, W, K, cfg["kb"].val, cfg["rb"].val, cfg["vs"].val, dtype)


def depthwise_nchwc(N, C, H, W, R, S, pad, stride=1, c_bn=16, dtype="float32"):
    """Depthwise convolution (one R x S filter per channel) in the NCHW[x]c layout, from and
    to NCHW: stages Xp (padding, none when ``pad`` is 0), Xc (packing), Fc (C/c_bn, R, S, c_bn),
    Yc and Y. Returns X, F, Xc, Fc, Yc, Y."""
    if C % c_bn:
        raise ValueError(f"depthwise_nchwc: c_bn={c_bn} must divide C={C}")
    X = te.placeholder((N, C, H, W), name="X", dtype=dtype)
    F = te.placeholder((C, R, S), name="F", dtype=dtype)
    Hp, Wp = H + 2 * pad, W + 2 * pad
    OH, OW = (Hp - R) // stride + 1, (Wp - S) // stride + 1
    Xp = _pad_input(X, pad)
    Xc = _pack_input(Xp, c_bn)
    Fc = te.compute((C // c_bn, R, S, c_bn), lambda c, r, q, ci: F[c * c_bn + ci, r, q], name="Fc")
    ry = te.reduce_axis((0, R), name="ry")
    rx = te.reduce_axis((0, S), name="rx")
    Yc = te.compute((N, C // c_bn, OH, OW, c_bn), lambda n, c, y, x, ci: te.sum(
        Xc[n, c, y * stride + ry, x * stride + rx, ci] * Fc[c, ry, rx, ci], axis=[ry, rx]), name="Yc")
    Y = te.compute((N, C, OH, OW), lambda n, c, y, x: Yc[n, c // c_bn, y, x, c % c_bn], name="Y")
    return X, F, Xc, Fc, Yc, Y


@autotune.template("depthwise_conv2d_nchwc")
def depthwise_nchwc_template(N: int, C: int, H: int, W: int, R: int, S: int, pad: int, stride: int = 1,
                             dtype: str = "float32"):
    """Tunable depthwise convolution: ``c_bn`` channels in the vector lanes, a register tile
    of ``reg_n`` output columns, the whole R x S window unrolled."""
    cfg = autotune.get_config()
    OW = (W + 2 * pad - S) // stride + 1
    cfg.define_knob("c_bn", [d for d in _divisors_up_to(C, 64, [16, 32]) if d % 16 == 0]
                    or _divisors_up_to(C, 16, [16, 8]))
    cfg.define_knob("reg_n", [r for r in (8, 14, 16, 7, 28, 4) if r <= OW] or [OW])
    cfg.add_constraint(lambda c: c["reg_n"].val * max(c["c_bn"].val // 16, 1) <= 28,
                       "reg_n * c_bn/16 <= 28 (zmm accumulators)")
    c_bn, reg_n = cfg["c_bn"].val, cfg["reg_n"].val
    X, F, Xc, Fc, Yc, Y = depthwise_nchwc(N, C, H, W, R, S, pad, stride, c_bn, dtype)
    OH = int(Y.shape[2])
    cfg.add_flop(2.0 * N * C * OH * OW * R * S)
    s = te.create_schedule(Y.op)
    YL = _register_tile(s, Yc, reg_n)
    nl, cl, yl, xl, cil = s[YL].op.axis
    ry, rx = s[YL].op.reduce_axis
    s[YL].reorder(ry, rx, xl, cil)
    s[YL].unroll(ry)
    s[YL].unroll(rx)
    s[YL].unroll(xl)
    s[YL].vectorize(cil)
    _schedule_layout_stages(s, Xc.op.input_tensors[0], Y, c_bn, Xc=Xc)
    return s, [X, F, Y]


def numpy_conv2d(x: np.ndarray, w: np.ndarray, pad: int) -> np.ndarray:
    """The convolution in numpy (stride 1, zero padding ``pad``): a fast reference."""
    _, _, r, s = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (r, s), axis=(2, 3))  # n c y x r s
    acc = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # n y x k
    return np.ascontiguousarray(acc.transpose(0, 3, 1, 2)).astype(x.dtype)


def padded_row(n: int, pad: int) -> int:
    """The stride of a shared row of ``n`` elements aligned to 32k + ``pad`` (0: unpadded)."""
    return n if pad == 0 else n + (pad - n) % 32


def _conv2d_reference(N, C, H, W, K, R, S, pad, dtype="float32"):
    return lambda x, w: numpy_conv2d(x, w, pad)


@autotune.template("conv2d_nchw_cuda", reference=_conv2d_reference)
def conv2d_cuda_template(N: int, C: int, H: int, W: int, K: int, R: int, S: int, pad: int, dtype: str = "float32"):
    """Tunable direct convolution for GPUs in the classic style: a block computes a tile of
    (channels x rows x columns), staging the padded input and the filters it needs for a
    slice of input channels in shared memory; each thread accumulates in registers."""
    X, Wt, Xp, Y = conv2d_nchw(N, C, H, W, K, R, S, pad, dtype)
    s = te.create_schedule(Y.op)
    cfg = autotune.get_config()
    cfg.add_flop(conv2d_flop(Y, C, R, S))
    n, f, y, x = s[Y].op.axis
    rc, ry, rx = s[Y].op.reduce_axis
    small = lambda e: e.size[1] <= 32 and e.size[2] <= 4  # noqa: E731 - threads, registers per thread
    cfg.define_split("tile_f", f, num_outputs=3, filter=small)
    cfg.define_split("tile_y", y, num_outputs=3, filter=small)
    cfg.define_split("tile_x", x, num_outputs=3, filter=small)
    cfg.define_split("tile_rc", rc, num_outputs=2, filter=lambda e: e.size[1] <= 16)
    cfg.define_knob("auto_unroll_max_step", [512, 0, 1500])
    cfg.add_constraint(lambda c: 32 <= c["tile_f"].size[1] * c["tile_y"].size[1] * c["tile_x"].size[1] <= 1024
                       and c["tile_f"].size[1] <= 64, "32..1024 threads per block, at most 64 along z")

    def shared_bytes(c) -> int:
        """The block's shared tiles, from the config alone (checked before anything is lowered)."""
        rows = c["tile_y"].size[1] * c["tile_y"].size[2] + R - 1
        cols = c["tile_x"].size[1] * c["tile_x"].size[2] + S - 1
        chans = c["tile_rc"].size[1]
        return 4 * chans * (rows * padded_row(cols, c["shared_pad"].val)
                            + c["tile_f"].size[1] * c["tile_f"].size[2] * R * S)
    # The input tile's rows padded to a stride of 32k + pad (storage_align): threads reading
    # neighbouring rows at once fall on different banks.
    cfg.define_knob("shared_pad", [0, 1])
    cfg.define_knob("double_buffer", [1, 0])
    cfg.add_constraint(lambda c: shared_bytes(c) * (1 + c["double_buffer"].val) <= 48 * 1024,
                       "shared tiles (both halves when double-buffered) fit in 48 KiB")
    cfg.define_knob("unroll_explicit", [1, 0])
    cfg.define_knob("max_registers", [0, 128])
    s[Xp].compute_inline()
    YL = s.cache_write(Y, "local")
    XS = s.cache_read(Xp, "shared", [YL])
    WS = s.cache_read(Wt, "shared", [YL])
    n, f, y, x = s[Y].op.axis
    bf, tf, fi = cfg["tile_f"].apply(s, Y, f)
    by, ty, yi = cfg["tile_y"].apply(s, Y, y)
    bx, tx, xi = cfg["tile_x"].apply(s, Y, x)
    s[Y].reorder(n, bf, by, bx, tf, ty, tx, fi, yi, xi)
    thread = {a: te.thread_axis(f"threadIdx.{a}") for a in "zyx"}
    s[Y].bind(bf, te.thread_axis("blockIdx.z"))
    s[Y].bind(by, te.thread_axis("blockIdx.y"))
    s[Y].bind(bx, te.thread_axis("blockIdx.x"))
    s[Y].bind(tf, thread["z"])
    s[Y].bind(ty, thread["y"])
    s[Y].bind(tx, thread["x"])
    s[YL].compute_at(s[Y], tx)
    nl, fl, yl, xl = s[YL].op.axis
    rcl, ryl, rxl = s[YL].op.reduce_axis
    rco, rci = cfg["tile_rc"].apply(s, YL, rcl)
    s[YL].reorder(rco, ryl, rxl, rci, nl, fl, yl, xl)
    s[XS].compute_at(s[YL], rco)
    if cfg["shared_pad"].val:
        s[XS].storage_align(s[XS].op.axis[2], 32, cfg["shared_pad"].val)
    s[WS].compute_at(s[YL], rco)
    for load in (XS, WS):
        fused = s[load].fuse(*s[load].op.axis)
        tz, fused = s[load].split(fused, nparts=cfg["tile_f"].size[1])
        tyl, fused = s[load].split(fused, nparts=cfg["tile_y"].size[1])
        txl, fused = s[load].split(fused, nparts=cfg["tile_x"].size[1])
        s[load].bind(tz, thread["z"])
        s[load].bind(tyl, thread["y"])
        s[load].bind(txl, thread["x"])
        if cfg["double_buffer"].val:
            s[load].double_buffer()
    s[Y].pragma(bx, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    s[Y].pragma(bx, "unroll_explicit", cfg["unroll_explicit"].val)
    if cfg["max_registers"].val:
        s[Y].pragma(bx, "max_registers", cfg["max_registers"].val)
    return s, [X, Wt, Y]


def tasks(target: str):
    """Tasks for `tensorlang tune`: a ResNet-style 3x3 layer, 1x64x56x56 -> 64 channels
    (1x16x14x14 -> 16 when a GPU is emulated on the CPU)."""
    if target.split()[0] == "cuda":
        shape = (1, 16, 14, 14, 16, 3, 3, 1) if "-emulate" in target.split() else (1, 64, 56, 56, 64, 3, 3, 1)
        return [autotune.task.create("conv2d_nchw_cuda", (*shape, "float32"), target)]
    return [autotune.task.create("conv2d_nchwc", (1, 64, 56, 56, 64, 3, 3, 1, 1, "float32"), target)]


def conv2d_args(N, C, H, W, K, R, S, pad):
    """The computation as the auto-scheduler takes it: input, filters, output."""
    X, Wt, _, Y = conv2d_nchw(N, C, H, W, K, R, S, pad)
    return [X, Wt, Y]


def computations():
    """Entries for `tensorlang tune --auto`: the ResNet-style layer of tasks(), without a template."""
    return {"conv2d_nchw": (conv2d_args, (1, 64, 56, 56, 64, 3, 3, 1))}


def schedules():
    return {"conv2d_small": scheduled(1, 4, 10, 10, 8, 3, 3, 1)}


if __name__ == "__main__":
    shape = dict(N=1, C=64, H=56, W=56, K=64, R=3, S=3, pad=1)
    s, args = scheduled(**shape)
    f = tl.build(s, args, target="llvm", name="conv2d")
    rng = np.random.default_rng()
    x = rng.standard_normal((1, 64, 56, 56)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    y = np.empty((1, 64, 56, 56), dtype=np.float32)
    f(x, w, y)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = sum(np.einsum("nchw,kc->nkhw", xp[:, :, r:r + 56, c:c + 56], w[:, :, r, c])
              for r in range(3) for c in range(3))
    np.testing.assert_allclose(y, ref, rtol=1e-3, atol=1e-3)
    t = f.time_evaluator(number=3, repeat=3)(x, w, y).median
    flops = 2 * 64 * 64 * 56 * 56 * 9
    print(f"conv2d 1x64x56x56, 64 3x3 filters: {flops / t / 1e9:.1f} GFLOPS (matches numpy) {time.ctime()}")
