"""Benchmark: float32 conv2d on the CPU, tensorlang against numpy im2col + matmul measured in the same run.

    python benchmarks/conv2d_cpu.py [--rounds 3] [--log tuning_logs/conv2d.llvm.json] [--tvm-trials 64]

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
measured in the same run.  With ``--tvm-trials N`` and apache-tvm importable, MetaSchedule tunes
the 3x3 layer for N trials and its best is timed in the same table (it is skipped otherwise,
and the table says so).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
    if impl == "tvm":
        return _tvm_row(spec, x, w, y, threads)
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


def _tvm_row(spec: dict, x, w, y, threads: int):
    """MetaSchedule's best for the layer, from the database ``spec['db']`` tuned by the parent."""
    import numpy as np
    import tvm

    ms = _meta_schedule()
    mod = _tvm_module(tuple(spec["shape"]))
    target = tvm.target.Target(spec["tvm_target"])  # the tuning target; TVM_NUM_THREADS sets the threads
    db = ms.database.JSONDatabase(work_dir=spec["db"], allow_missing=False)
    sch = ms.tir_integration.compile_tir(db, mod, target)
    lib = tvm.compile(sch.mod, target=target)
    dev = tvm.cpu()
    xs, ws, ys = (tvm.runtime.tensor(a, dev) for a in (x, w, y))
    fn = lib["main"]
    fn(xs, ws, ys)
    np.testing.assert_allclose(ys.numpy(), _direct(x, w, 1, 1, False), rtol=1e-3, atol=1e-3)
    return lambda: fn(xs, ws, ys)


def _meta_schedule():
    try:
        from tvm.s_tir import meta_schedule as ms  # TVM >= 0.22
    except ImportError:
        from tvm import meta_schedule as ms
    return ms


def _tvm_module(shape):
    from tvm import te as tte
    from tvm import topi
    N, C, H, W, K, R, S, pad, stride = shape
    X = tte.placeholder((N, C, H, W), name="X")
    Wt = tte.placeholder((K, C, R, S), name="W")
    Y = topi.nn.conv2d_nchw(X, Wt, stride, pad, 1)
    return tte.create_prim_func([X, Wt, Y])


def _tvm_target(mcpu: str) -> dict:
    """TVM >= 0.22 takes targets as dicts (the "llvm -mcpu=..." form is gone)."""
    return {"kind": "llvm", "mcpu": mcpu, "num-cores": len(os.sched_getaffinity(0))}


def tune_tvm(shape, trials: int, work_dir: str, mcpu: str) -> float:
    """Tune the layer with MetaSchedule for ``trials`` trials on all cores; seconds taken."""
    from tvm.target import Target
    ms = _meta_schedule()
    t0 = time.perf_counter()
    ms.tir_integration.tune_tir(_tvm_module(shape), Target(_tvm_target(mcpu)), work_dir, max_trials_global=trials,
                                num_trials_per_iter=16)
    return time.perf_counter() - t0


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


def _how_it_died(exc: subprocess.CalledProcessError) -> str:
    if exc.returncode < 0:
        return f"killed by {signal.Signals(-exc.returncode).name}"
    return f"exit status {exc.returncode}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    ap.add_argument("--layers", default=",".join(LAYERS), help="comma-separated layer names")
    ap.add_argument("--log", default="tuning_logs/conv2d.llvm.json", help="tuning log for the tuned rows")
    ap.add_argument("--tvm-trials", type=int, default=0, help="tune the 3x3 layer with TVM MetaSchedule too")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    thread_counts = sorted({int(t) for t in args.threads.split(",") if t} or {1, cores})
    log = str(Path(args.log).resolve()) if Path(args.log).exists() else None
    if log is None:
        print(f"no tuning log at {args.log}: tuned rows left out (tensorlang tune --target=llvm "
              "examples/conv2d.py writes one)", file=sys.stderr)
    tvm_note = "TVM MetaSchedule: not run (--tvm-trials 0)"
    tvm_db = None
    if args.tvm_trials:
        try:
            import subprocess
            import tempfile

            import tvm  # noqa: F401

            from tensorlang.target.llvm.host import host_cpu_name
            tvm_db = tempfile.mkdtemp(prefix="tvm-ms-conv2d-")
            # In its own process: TVM's LLVM and llvmlite's in one process crash MetaSchedule.
            t_start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--tvm-tune", str(args.tvm_trials), tvm_db, host_cpu_name()],
                           check=True, capture_output=True)
            took = time.perf_counter() - t_start
            tvm_note = f"TVM MetaSchedule: {args.tvm_trials} trials tuned in {took:.0f} s (all cores)"
        except ImportError:
            tvm_note = "TVM MetaSchedule: skipped, apache-tvm is not importable here"
        except subprocess.CalledProcessError as exc:
            tvm_db = None
            tvm_note = f"TVM MetaSchedule: skipped, its tuning process failed ({_how_it_died(exc)})"
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
            if tvm_db and lname == "3x3 64->64 56x56":
                impls.append("tvm")
            for impl in impls:
                label = {"numpy": "numpy im2col+sgemm" if shape[4] else "numpy shifted products",
                         "nchwc": "tensorlang NCHWc (fallback cfg)",
                         "tuned": f"tensorlang NCHWc (tuned, best of {trials} trials)",
                         "gemm1x1": "tensorlang 1x1 as matmul, NCHW (fallback cfg)",
                         "gemm1x1-al64": "tensorlang 1x1 as matmul, input 64-byte aligned",
                         "nchw": "tensorlang NCHW (fallback cfg)", "tvm": "TVM MetaSchedule best"}[impl]
                spec = {"shape": list(shape), "impl": impl, "layer": lname}
                if impl == "tuned":
                    spec["log"] = log
                if impl == "tvm":
                    from tensorlang.target.llvm.host import host_cpu_name
                    spec.update(db=tvm_db, tvm_target=_tvm_target(host_cpu_name()))
                rows.append(Row(f"{lname}: {label}", t, spec, flop=_flop(shape), env={"TVM_NUM_THREADS": str(t)}))

    roof, results, wall = measure(__file__, rows, rounds=args.rounds, repeats=args.repeat)
    print(tvm_note)
    print(f"\nfloat32 conv2d, batch 1; each row a fresh pinned process, {args.rounds} interleaved rounds of "
          f"{args.repeat} repeats ({wall:.0f} s); GFLOPS count 2 x MACs")

    def numpy_of(res):
        return next((r for r in results if r.row.spec["layer"] == res.row.spec["layer"]
                     and r.row.spec["impl"] == "numpy" and r.row.threads == res.row.threads), None)
    print_table(results, roof, numpy_of)


if __name__ == "__main__":
    if "--tvm-tune" in sys.argv:
        trials, work_dir, mcpu = sys.argv[sys.argv.index("--tvm-tune") + 1:][:3]
        tune_tvm(LAYERS["3x3 64->64 56x56"], int(trials), work_dir, mcpu)
    elif child_requested():
        child_main(make_row)
    else:
        main()
