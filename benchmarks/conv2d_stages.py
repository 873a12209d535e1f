"""Benchmark: where the time of tensorlang's NCHWc conv2d goes, stage by stage, on one core.

    python benchmarks/conv2d_stages.py [--layer "3x3 64->64 56x56"] [--rounds 15] [--knob NAME=VALUE ...]

The template (``conv2d_nchwc`` of examples/conv2d.py, fallback config unless --knob overrides a
knob) is built whole, and each of its stages is also built as a kernel of its own from the same
definitions and schedules: padding the NCHW input (``Xp``), packing the filters (``Wc``), the
convolution alone from padded input and packed filters (``Yc``, the register-tiled kernel), and
unpacking the NCHW[x]c output to NCHW (``Y``, as the separate pass; the whole template unpacks
row by row by default).  numpy im2col + sgemm (the conv2d_cpu.py row) runs in the same process.
All are checked against numpy, then timed interleaved over rounds in one process pinned to one
core, one thread (OpenBLAS too); the table gives medians of wall time per call and of CPU time
per call (what a stage cost when the core was shared with other processes), each stage's share
of the whole template, and the convolution alone as GFLOPS and a fraction of the FMA peak
measured in the same run.  The process's CPU time over wall time says whether it had its core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TENSORLANG_NUM_THREADS", "1")
sys.path.insert(0, str(_ROOT / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conv2d_cpu import LAYERS  # noqa: E402


def _knob(text: str):
    name, _, value = text.partition("=")
    if value in ("True", "False"):
        return name, value == "True"
    return name, int(value) if value.lstrip("-").isdigit() else value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", default="3x3 64->64 56x56", choices=[k for k, v in LAYERS.items() if v[4]])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--knob", action="append", default=[], help="NAME=VALUE: override a knob of the fallback config")
    args = ap.parse_args()
    os.sched_setaffinity(0, [sorted(os.sched_getaffinity(0))[-1]])

    import conv2d
    import numpy as np

    import tensorlang as tl
    from tensorlang import te
    from tensorlang.autotune.dispatcher import config_scope
    from tensorlang.autotune.roofline import machine_roofline
    from tensorlang.autotune.space import FallbackConfigEntity, OtherOptionEntity

    N, C, H, W, K, R, S, pad, stride = LAYERS[args.layer]
    cfg = FallbackConfigEntity()
    for text in args.knob:
        name, value = _knob(text)
        cfg[name] = OtherOptionEntity(value)
    with tl.target.Target("llvm"), config_scope(cfg):
        s, targs = conv2d.conv2d_nchwc_template.template_func(N, C, H, W, K, R, S, pad, stride, "float32")
        whole = tl.build(s, targs, name="conv")
    oc_bn, ic_bn, reg_n = cfg["oc_bn"].val, cfg["ic_bn"].val, cfg["reg_n"].val
    knobs = ", ".join(f"{k}={cfg[k].val}" for k in cfg.space_map)

    def build(out, inputs, schedule):
        sch = te.create_schedule(out.op)
        schedule(sch)
        return tl.build(sch, [*inputs, out], target="llvm")

    X, Wt, Xp, Wc, Yc, Y = conv2d.conv2d_nchwc(N, C, H, W, K, R, S, pad, stride, ic_bn, oc_bn)
    shape = lambda t: tuple(int(d) for d in t.shape)  # noqa: E731
    rng = np.random.default_rng()
    x = rng.standard_normal(shape(X)).astype(np.float32)
    w = rng.standard_normal(shape(Wt)).astype(np.float32)
    y = np.empty(shape(Y), np.float32)
    ref = conv2d.numpy_conv2d(x, w, pad) if stride == 1 else None
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    wc = np.ascontiguousarray(w.reshape(K // oc_bn, oc_bn, C // ic_bn, ic_bn, R, S).transpose(0, 2, 3, 4, 5, 1))
    yc = np.empty(shape(Yc), np.float32)
    calls = {}
    if pad:
        fpad = build(Xp, [X], lambda sch: conv2d._schedule_pad(sch, Xp))
        xp_out = np.empty(shape(Xp), np.float32)
        calls["pad input (Xp)"] = (fpad, (x, xp_out), xp)
    fw = build(Wc, [Wt], lambda sch: conv2d._schedule_filter_pack(sch, Wc, oc_bn))
    wc_out = np.empty(shape(Wc), np.float32)
    calls["pack filters (Wc)"] = (fw, (w, wc_out), wc)
    # The convolution alone: padded input and packed filters as arguments.
    XpA = te.placeholder(shape(Xp), name="XpA")
    WcA = te.placeholder(shape(Wc), name="WcA")
    rco, rci = te.reduce_axis((0, C // ic_bn), name="rco"), te.reduce_axis((0, ic_bn), name="rci")
    ry, rx = te.reduce_axis((0, R), name="ry"), te.reduce_axis((0, S), name="rx")
    YcA = te.compute(shape(Yc), lambda n, k, yy, xx, ki: te.sum(
        XpA[n, rco * ic_bn + rci, yy * stride + ry, xx * stride + rx] * WcA[k, rco, rci, ry, rx, ki],
        axis=[rco, ry, rx, rci]), name="Yc")
    def schedule_conv(sch):
        YL = conv2d._register_tile(sch, YcA, reg_n, None, cfg["rows_outer"].val)
        conv2d._schedule_accumulation(sch, YL, cfg["order"].val, cfg["unroll_kw"].val)
    fconv = build(YcA, [XpA, WcA], schedule_conv)
    yc_ref = None if ref is None else np.ascontiguousarray(
        ref.reshape(N, K // oc_bn, oc_bn, *ref.shape[2:]).transpose(0, 1, 3, 4, 2))
    calls["convolution (Yc)"] = (fconv, (xp, wc, yc), yc_ref)
    YcB = te.placeholder(shape(Yc), name="YcB")
    YB = te.compute(shape(Y), lambda n, k, yy, xx: YcB[n, k // oc_bn, yy, xx, k % oc_bn], name="Y")
    funpack = build(YB, [YcB], lambda sch: conv2d._schedule_layout_stages(sch, YcB, YB, oc_bn,
                                                                          rows_outer=cfg["rows_outer"].val))
    y_out = np.empty(shape(Y), np.float32)
    calls["unpack output (Y), as a pass"] = (funpack, (yc_ref if yc_ref is not None else yc, y_out), ref)
    calls["whole template"] = (whole, (x, w, y), ref)

    OH, OW = shape(Y)[2:]
    cols = np.empty((N, C, R, S, OH, OW), np.float32)
    xpn = np.empty_like(xp)
    wm = w.reshape(K, C * R * S)
    yn = np.empty_like(y)

    def numpy_run():
        xpn.fill(0)
        xpn[:, :, pad:pad + H, pad:pad + W] = x
        for r in range(R):
            for q in range(S):
                cols[:, :, r, q] = xpn[:, :, r:r + stride * OH:stride, q:q + stride * OW:stride]
        for n in range(N):
            np.matmul(wm, cols[n].reshape(C * R * S, OH * OW), out=yn[n].reshape(K, OH * OW))
    calls["numpy im2col + sgemm"] = (lambda *a: numpy_run(), (), ref)

    for name, (fn, fargs, expect) in calls.items():
        fn(*fargs)
        out = {"numpy im2col + sgemm": yn}.get(name, fargs[-1] if fargs else None)
        if expect is not None:
            np.testing.assert_allclose(out, expect, rtol=1e-3, atol=1e-3, err_msg=name)
    for fn, _, _ in calls.values():
        if hasattr(fn, "set_num_threads"):
            fn.set_num_threads(1)

    roof = machine_roofline()
    times = {name: [] for name in calls}  # wall seconds per call, one per round
    cpu = {name: [] for name in calls}  # CPU seconds per call: what the stage cost when the core was shared
    c_all, w_all = time.process_time(), time.perf_counter()
    for _ in range(args.rounds):
        for name, (fn, fargs, _) in calls.items():
            number = 20
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(number):
                fn(*fargs)
            times[name].append((time.perf_counter() - t0) / number)
            cpu[name].append((time.process_time() - c0) / number)
    share = (time.process_time() - c_all) / (time.perf_counter() - w_all)
    med = {name: statistics.median(v) for name, v in times.items()}
    med_cpu = {name: statistics.median(v) for name, v in cpu.items()}
    flop = 2.0 * N * K * C * OH * OW * R * S
    print(f"conv2d_nchwc stages, layer {args.layer}, 1 thread, {args.rounds} interleaved rounds of 20 calls; "
          f"config: {knobs}")
    print(f"the process had {share:.0%} of its core; {roof.describe()}")
    print(f"{'stage':34} {'wall us':>9} {'of whole':>9} {'spread':>7} {'CPU us':>9} {'of whole':>9}")
    for name, t in med.items():
        spread = (max(times[name]) - min(times[name])) / t
        c = med_cpu[name]
        print(f"{name:34} {t * 1e6:9.1f} {t / med['whole template']:9.1%} {spread:7.1%} "
              f"{c * 1e6:9.1f} {c / med_cpu['whole template']:9.1%}")
    for label, m in (("wall", med), ("CPU", med_cpu)):
        conv, whole = m["convolution (Yc)"], m["whole template"]
        print(f"{label} time: convolution alone {flop / conv / 1e9:.1f} GFLOPS "
              f"({flop / conv / 1e9 / roof.fma_gflops_1core:.1%} of the FMA peak); whole template "
              f"{flop / whole / 1e9:.1f} GFLOPS, {m['numpy im2col + sgemm'] / whole:.2f}x numpy")


if __name__ == "__main__":
    main()
