"""Benchmark: float32 conv2d on the CPU, tensorlang against numpy im2col + matmul measured in the same run.

    python benchmarks/conv2d_cpu.py [--rounds 3] [--log tuning_logs/conv2d.llvm.json] [--ms-trials 64,256 | --no-ms]

Layers (ResNet-style, batch 1): 3x3 1x64x56x56 -> 64 (the issue's layer), 1x1 1x256x56x56 -> 64,
and depthwise 3x3 1x128x56x56.  Rows: numpy (im2col + OpenBLAS sgemm; the depthwise layer as a
sum of shifted products), tensorlang's NCHW[x]c template with its fallback config (NCHW in and
out, padding, filter packing and unpacking all counted in every call; for the 1x1 layer also
``conv2d_1x1_nchw``, the matmul over the flattened NCHW image, on numpy's usual input, 16 bytes
past a 64-byte line, and on a 64-byte-aligned copy), the same template tuned (best record of
``--log`` for the layer, when the log has tuned that layer), and the plain-NCHW
template ``conv2d_nchw`` (fallback) for comparison; on one thread and on all cores.  Every row
is checked against a direct numpy convolution before it is timed, runs in a fresh process
pinned to its cores, rows interleaved over rounds; medians of round medians, and the FMA peak
measured in the same run.  Where a Python with apache-tvm is found (``metaschedule_rows``,
``$TENSORLANG_TVM_PYTHON``), MetaSchedule tunes the 3x3 layer on each thread count (one search of
the largest ``--ms-trials`` count; its result at each count is the best of its first N trials),
its bests are timed in the same table, and a last table gives tensorlang's best 3x3 row over
MetaSchedule's (the issue's goals: at least 1.2x MetaSchedule-64 and 1x MetaSchedule-256); where
none is found the run says why.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import metaschedule_rows as msr  # noqa: E402
from pinned_rows import Row, child_main, child_requested, measure, print_table  # noqa: E402

# name -> (N, C, H, W, K, R, S, pad, stride); K == 0 marks a depthwise layer
LAYERS = {"3x3 64->64 56x56": (1, 64, 56, 56, 64, 3, 3, 1, 1),
          "1x1 256->64 56x56": (1, 256, 56, 56, 64, 1, 1, 0, 1),
          "depthwise 3x3 128 56x56": (1, 128, 56, 56, 0, 3, 3, 1, 1)}


def _flop(shape) -> float:
    N, C, H, W, K, R, S, pad, stride = shape
    OH, OW = (H + 2 * pad - R) // stride + 1, (W + 2 * pad - S) // stride + 1
    return 2.0 * N * (K or 1) * C * OH * OW * R * S


def _direct(x, w, pad, stride, depthwise):
    """Reference: one einsum (or product) per filter tap."""
    import numpy as np
    _, _, H, W = x.shape
    R, S = w.shape[-2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = (H + 2 * pad - R) // stride + 1, (W + 2 * pad - S) // stride + 1
    taps = [(r, q, xp[:, :, r:r + stride * OH:stride, q:q + stride * OW:stride]) for r in range(R) for q in range(S)]
    if depthwise:
        return sum(t * w[None, :, r, q, None, None] for r, q, t in taps)
    return sum(np.einsum("nchw,kc->nkhw", t, w[:, :, r, q]) for r, q, t in taps)


def make_row(spec: dict, threads: int):
    import numpy as np

    shape = tuple(spec["shape"])
    N, C, H, W, K, R, S, pad, stride = shape
    depthwise = K == 0
    OH, OW = (H + 2 * pad - R) // stride + 1, (W + 2 * pad - S) // stride + 1
    rng = np.random.default_rng()
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    if spec["impl"] == "gemm1x1-al64":  # the same data, starting on a 64-byte line
        buf = np.empty(x.size + 16, np.float32)
        start = (-buf.ctypes.data // 4) % 16
        aligned = buf[start:start + x.size].reshape(x.shape)
        aligned[...] = x
        x = aligned
    w = rng.standard_normal((C, R, S) if depthwise else (K, C, R, S)).astype(np.float32)
    y = np.empty((N, C if depthwise else K, OH, OW), np.float32)
    impl = spec["impl"]
    if impl == "numpy":
        xp = np.empty((N, C, H + 2 * pad, W + 2 * pad), np.float32)
        if depthwise:
            def run():
                xp.fill(0)
                xp[:, :, pad:pad + H, pad:pad + W] = x
                y.fill(0)
                for r in range(R):
                    for q in range(S):
                        y.__iadd__(xp[:, :, r:r + stride * OH:stride, q:q + stride * OW:stride]
                                   * w[None, :, r, q, None, None])
        else:
            cols = np.empty((N, C, R, S, OH, OW), np.float32)
            wm = w.reshape(K, C * R * S)

            def run():
                xp.fill(0)
                xp[:, :, pad:pad + H, pad:pad + W] = x
                for r in range(R):  # im2col: one strided copy per filter tap
                    for q in range(S):
                        cols[:, :, r, q] = xp[:, :, r:r + stride * OH:stride, q:q + stride * OW:stride]
                for n in range(N):
                    np.matmul(wm, cols[n].reshape(C * R * S, OH * OW), out=y[n].reshape(K, OH * OW))
        run()
        np.testing.assert_allclose(y, _direct(x, w, pad, stride, depthwise), rtol=1e-3, atol=1e-3)
        return run
    import conv2d

    import tensorlang as tl
    from tensorlang import autotune
    from tensorlang.autotune.dispatcher import config_scope
    from tensorlang.autotune.space import FallbackConfigEntity

    if depthwise:
        template, args = conv2d.depthwise_nchwc_template, (N, C, H, W, R, S, pad, stride, "float32")
    elif impl in ("gemm1x1", "gemm1x1-al64"):
        template, args = conv2d.conv2d_1x1_template, (N, C, H, W, K, "float32")
    elif impl == "nchw":
        template, args = conv2d.conv2d_template, (N, C, H, W, K, R, S, pad, "float32")
    else:
        template, args = conv2d.conv2d_nchwc_template, (*shape, "float32")
    with tl.target.Target("llvm"):
        if impl == "tuned":
            with autotune.apply_history_best(spec["log"]):
                s, targs = template(*args)
        else:
            with config_scope(FallbackConfigEntity()):
                s, targs = template.template_func(*args)
        f = tl.build(s, targs, name="conv")
    f.set_num_threads(threads)
    f(x, w, y)
    np.testing.assert_allclose(y, _direct(x, w, pad, stride, depthwise), rtol=1e-3, atol=1e-3)
    return lambda: f(x, w, y)


def _trials_in_log(log: str) -> dict[tuple, int]:
    """Measured conv2d_nchwc trials in the tuning log, by layer shape (the tuned row is only
    shown for a layer the log has tuned; apply_history_best would silently fall back)."""
    import json
    counts: dict[tuple, int] = {}
    with open(log) as fh:
        for line in fh:
            try:
                task = json.loads(line)["task"]
            except (ValueError, KeyError, TypeError):
                continue
            if task.get("name") == "conv2d_nchwc":
                key = tuple(task["args"][:9])
                counts[key] = counts.get(key, 0) + 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    ap.add_argument("--layers", default=",".join(LAYERS), help="comma-separated layer names")
    ap.add_argument("--log", default="tuning_logs/conv2d.llvm.json", help="tuning log for the tuned rows")
    msr.ms_args(ap)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    thread_counts = sorted({int(t) for t in args.threads.split(",") if t} or {1, cores})
    log = str(Path(args.log).resolve()) if Path(args.log).exists() else None
    if log is None:
        print(f"no tuning log at {args.log}: tuned rows left out (tensorlang tune --target=llvm "
              "examples/conv2d.py writes one)", file=sys.stderr)
    ms_layer = "3x3 64->64 56x56"  # metaschedule_rows' conv2d workload
    ms_counts = msr.trial_counts(args)
    ms_python, ms_note = msr.tvm_python(args)
    if ms_python and ms_layer not in args.layers.split(","):
        ms_python, ms_note = None, f"MetaSchedule: not run (it tunes the {ms_layer} layer only)"
    ms_tunings = {}
    if ms_python:
        work = tempfile.mkdtemp(prefix="ms-conv2d-")  # kept: the rows read its databases
        for t in thread_counts:
            print(f"MetaSchedule: tuning {ms_layer}, {t} thread(s), {max(ms_counts)} trials", file=sys.stderr)
            ms_tunings[("conv2d", t)] = tun = msr.tune("conv2d", t, max(ms_counts), f"{work}/t{t}", ms_python)
            print(f"  {msr.describe(tun, ms_counts)}", file=sys.stderr)
    tuned_trials = _trials_in_log(log) if log else {}
    rows = []
    for t in thread_counts:
        for lname in args.layers.split(","):
            shape = LAYERS[lname]
            trials = tuned_trials.get(tuple(shape), 0)
            impls = ["numpy", "nchwc"] + (["tuned"] if trials else []) + (["nchw"] if shape[4] else [])
            if shape[4] and shape[5] == shape[6] == 1 and shape[7] == 0 and shape[8] == 1:
                # The matmul template's vector loads read the input itself: its speed depends on
                # the input's alignment (numpy's large arrays are 16 bytes past a 64-byte line).
                impls[1:1] = ["gemm1x1", "gemm1x1-al64"]
            for impl in impls:
                label = {"numpy": "numpy im2col+sgemm" if shape[4] else "numpy shifted products",
                         "nchwc": "tensorlang NCHWc (fallback cfg)",
                         "tuned": f"tensorlang NCHWc (tuned, best of {trials} trials)",
                         "gemm1x1": "tensorlang 1x1 as matmul, NCHW (fallback cfg)",
                         "gemm1x1-al64": "tensorlang 1x1 as matmul, input 64-byte aligned",
                         "nchw": "tensorlang NCHW (fallback cfg)"}[impl]
                spec = {"shape": list(shape), "impl": impl, "layer": lname}
                if impl == "tuned":
                    spec["log"] = log
                rows.append(Row(f"{lname}: {label}", t, spec, flop=_flop(shape)))
            if lname == ms_layer and ("conv2d", t) in ms_tunings:
                rows += msr.ms_rows(ms_tunings[("conv2d", t)], ms_counts, flop=_flop(shape), label=f"{lname}:",
                                    extra={"layer": lname})

    roof, results, wall = measure(__file__, rows, rounds=args.rounds, repeats=args.repeat)
    print(ms_note if ms_python is None else f"MetaSchedule: {ms_python} ({ms_note})")
    print(f"\nfloat32 conv2d, batch 1; each row a fresh pinned process, {args.rounds} interleaved rounds of "
          f"{args.repeat} repeats ({wall:.0f} s); GFLOPS count 2 x MACs")

    def numpy_of(res):
        return next((r for r in results if r.row.spec["layer"] == res.row.spec["layer"]
                     and r.row.spec["impl"] == "numpy" and r.row.threads == res.row.threads), None)
    print_table(results, roof, numpy_of)
    if ms_tunings:
        mine = {}
        for t in thread_counts:  # tensorlang's best row of the layer on t threads
            ours = [r for r in results if r.row.spec["layer"] == ms_layer and r.row.threads == t and not r.error
                    and r.row.spec["impl"] not in ("numpy", "metaschedule")]
            if ours:
                mine[("conv2d", t)] = max(r.row.flop / r.seconds / 1e9 for r in ours)
        print(f"\n{ms_layer}: tensorlang's best row against MetaSchedule's, same run")
        msr.print_comparison(results, ms_tunings, ms_counts, mine, "tensorlang")
        print("goals (issue 13): tensorlang >= 1.2x MetaSchedule-64 and >= 1x MetaSchedule-256, on 1 and 2 cores")


if __name__ == "__main__":
    if child_requested():
        child_main(make_row)
    else:
        main()
