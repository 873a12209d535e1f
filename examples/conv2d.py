"""2-D convolution, NCHW layout: a hand schedule and the tunable template ``conv2d_nchw``.

    python examples/conv2d.py
    tensorlang show examples/conv2d.py
    tensorlang tune --target=llvm examples/conv2d.py
"""

from __future__ import annotations

import time

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


@autotune.template("conv2d_nchw_cuda")
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
    s[WS].compute_at(s[YL], rco)
    for load in (XS, WS):
        fused = s[load].fuse(*s[load].op.axis)
        tz, fused = s[load].split(fused, nparts=cfg["tile_f"].size[1])
        tyl, fused = s[load].split(fused, nparts=cfg["tile_y"].size[1])
        txl, fused = s[load].split(fused, nparts=cfg["tile_x"].size[1])
        s[load].bind(tz, thread["z"])
        s[load].bind(tyl, thread["y"])
        s[load].bind(txl, thread["x"])
    s[Y].pragma(bx, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)
    return s, [X, Wt, Y]


def tasks(target: str):
    """Tasks for `tensorlang tune`: a ResNet-style 3x3 layer, 1x64x56x56 -> 64 channels
    (1x16x14x14 -> 16 when a GPU is emulated on the CPU)."""
    if target.split()[0] == "cuda":
        shape = (1, 16, 14, 14, 16, 3, 3, 1) if "-emulate" in target.split() else (1, 64, 56, 56, 64, 3, 3, 1)
        return [autotune.task.create("conv2d_nchw_cuda", (*shape, "float32"), target)]
    return [autotune.task.create("conv2d_nchw", (1, 64, 56, 56, 64, 3, 3, 1, "float32"), target)]


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
