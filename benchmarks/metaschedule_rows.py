"""MetaSchedule (apache-tvm) rows for the benchmarks, run by a Python that has TVM, in subprocesses.

The shared environment has no TVM, and TVM's LLVM must not share a process with llvmlite's, so
everything TVM does happens in child processes of the interpreter named by
``TENSORLANG_TVM_PYTHON`` (default: the first of ``DEFAULT_PYTHONS`` that exists).  A benchmark:

    ms_args(ap)                                        # --ms-trials 64,256 and --no-ms
    python, why = tvm_python(args)                     # None and the reason when there is none
    tuning = tune("matmul", threads=2, trials=256, work_dir=..., python=python)
    rows += ms_rows(tuning, [64, 256], flop=...)       # pinned_rows.Row objects, timed with the others

``tune`` runs one MetaSchedule search (``tune_tir``) of the workload for the largest trial count
asked, with ``TVM_NUM_THREADS`` and the target's ``num-cores`` set to the row's thread count, and
stamps the wall time after every measured batch.  MetaSchedule's result "with N trials" is the
best record among the first N of that run: its evolutionary search picks its first batch (64
candidates) before any measurement, whatever the budget, so the first 64 records of a 256-trial
run are a 64-trial run.  Each row then compiles that best record and times it with TVM's
``time_evaluator`` in a fresh process pinned to the same cores as the tensorlang rows, checked
against numpy first.

Two settings make MetaSchedule faster here than out of the box, so its figures are if anything
flattering: its builder skips importing ``tvm.s_tir.tensor_intrin`` (TVMScript-parsed tensor
intrinsics that float32 CPU tasks do not use; 14-30 s per builder process on this machine, and
MetaSchedule starts new builder processes for every batch), and the tuning process imports them
once before its clock starts (the time is reported apart).

apache-tvm 0.27.0.post1 with apache-tvm-ffi 0.1.15.post2 dies with SIGSEGV in
``tvm::ffi::ToJSONGraph`` on any IRModule (``tvm.ir.save_json``; MetaSchedule saves every
workload this way): it reads an object's reference-count word (0x100000001) as a pointer, an
object-layout mismatch between the two libraries.  apache-tvm-ffi 0.1.14.post1 works;
``tvm_python`` checks this and names the fix.  A Python for these rows (outside the shared
environment; the second line's versions are the ones that work):

    python3.11 -m venv /work/wt/venv-ms
    /work/wt/venv-ms/bin/pip install apache-tvm==0.27.0.post1 apache-tvm-ffi==0.1.14.post1 \
        xgboost psutil cloudpickle ml_dtypes numpy
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

from pinned_rows import Row, child_requested  # noqa: E402

TVM_PYTHON_VAR = "TENSORLANG_TVM_PYTHON"
DEFAULT_PYTHONS = ("/work/wt/venv-ms/bin/python", "/work/wt/venv-perf/bin/python")  # this machine's venvs
_TUNE_FLAG = "--ms-tune"
_PROBE_FLAG = "--ms-probe"

# The workloads, as TVM te computations (built in the child): name -> shape arguments.
WORKLOADS = {"matmul": (1024, 1024, 1024), "conv2d": (1, 64, 56, 56, 64, 3, 3, 1), "softmax": (4096, 4096)}


# --- the parent side (any Python) --------------------------------------------------------------

def ms_args(ap: Any, default_trials: str = "64,256") -> None:
    """Add ``--ms-trials`` and ``--no-ms`` to an argparse parser."""
    ap.add_argument("--ms-trials", default=default_trials,
                    help="MetaSchedule trial counts compared in the same run (one search of the largest; "
                         f"apache-tvm from ${TVM_PYTHON_VAR})")
    ap.add_argument("--no-ms", action="store_true", help="skip the MetaSchedule rows")


def trial_counts(args: Any) -> list[int]:
    """The trial counts asked for, ascending; empty with ``--no-ms``."""
    if getattr(args, "no_ms", False):
        return []
    return sorted({int(t) for t in str(args.ms_trials).split(",") if t.strip()})


def tvm_python(args: Any = None) -> tuple[str | None, str]:
    """(interpreter with a working TVM, its versions) or (None, why the MetaSchedule rows are skipped)."""
    if args is not None and getattr(args, "no_ms", False):
        return None, "MetaSchedule: not run (--no-ms)"
    if args is not None and not trial_counts(args):
        return None, "MetaSchedule: not run (--ms-trials is empty)"
    named = os.environ.get(TVM_PYTHON_VAR)
    candidates = [named] if named else [p for p in DEFAULT_PYTHONS if os.path.exists(p)]
    if not candidates:
        return None, (f"MetaSchedule: skipped, no Python with apache-tvm (set {TVM_PYTHON_VAR}; looked for "
                      f"{', '.join(DEFAULT_PYTHONS)})")
    reasons = []
    for python in candidates:
        ok, text = _probe(python)
        if ok:
            return python, text
        reasons.append(f"{python}: {text}")
    return None, "MetaSchedule: skipped, " + "; ".join(reasons)


def _probe(python: str) -> tuple[bool, str]:
    """Can ``python`` import MetaSchedule and serialize an IRModule (where a bad tvm-ffi crashes)?"""
    try:
        proc = subprocess.run([python, __file__, _PROBE_FLAG], capture_output=True, text=True, timeout=120,
                              env=_child_env(1))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot run it ({exc})"
    if proc.returncode == 0 and proc.stdout.strip():
        return True, proc.stdout.strip().splitlines()[-1]
    lines = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if ln.strip()]
    said = next((ln.strip() for ln in lines if "tvm::" in ln), lines[-1] if lines else "")
    if proc.returncode < 0 or proc.returncode == 139:
        return False, (f"{_death(proc.returncode)} serializing an IRModule ({said}); apache-tvm 0.27.0.post1 needs "
                       "apache-tvm-ffi 0.1.14.post1 (0.1.15.post2 crashes in ToJSONGraph)")
    return False, f"probe failed, {_death(proc.returncode)}: {said}"


def _death(rc: int) -> str:
    import signal
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}"
    if rc == 139:
        return "killed by SIGSEGV"
    return f"exit status {rc}"


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ, TVM_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = str(_HERE)  # pinned_rows only: tensorlang is not wanted beside TVM
    return env


@dataclass
class Tuning:
    """One MetaSchedule search: where its database is and how the trials went."""

    workload: str
    threads: int
    trials: int
    work_dir: str
    python: str = ""
    wall: float = float("nan")  # seconds of tune_tir
    intrinsics_s: float = float("nan")  # importing TVM's tensor intrinsics, before the clock
    stamps: list[list[float]] = field(default_factory=list)  # [trials done, seconds] after each batch
    best_ms: float = float("nan")  # MetaSchedule's own best measurement during tuning
    cpu_s: float = float("nan")  # CPU seconds of the tuning process and its workers (all of it)
    versions: str = ""
    error: str = ""

    @property
    def done(self) -> int:
        return int(self.stamps[-1][0]) if self.stamps else 0

    def wall_at(self, n: int) -> float:
        """Seconds until the batch that reached ``n`` trials was measured."""
        return next((s for d, s in self.stamps if d >= n), self.wall)

    def trials_per_minute(self, n: int | None = None) -> float:
        n = self.done if n is None else min(n, self.done)
        return 60.0 * n / self.wall_at(n) if n else float("nan")


def tune(workload: str, threads: int, trials: int, work_dir: str, python: str, seed: int = 0,
         timeout: float = 3600.0) -> Tuning:
    """Run MetaSchedule on ``workload`` for ``trials`` trials with ``threads`` threads (a fresh process)."""
    res = Tuning(workload, threads, trials, work_dir, python)
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    spec = {"workload": workload, "threads": threads, "trials": trials, "work_dir": work_dir, "seed": seed}
    c0 = os.times()
    try:
        proc = subprocess.run([python, __file__, _TUNE_FLAG, json.dumps(spec)], capture_output=True, text=True,
                              timeout=timeout, env=_child_env(threads))
        c1 = os.times()
        res.cpu_s = c1.children_user + c1.children_system - c0.children_user - c0.children_system
    except subprocess.TimeoutExpired:
        res.error = f"timed out after {timeout:.0f} s"
        return res
    Path(work_dir, "tune.stderr.txt").write_text(proc.stderr)
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or [""]
        res.error = f"{_death(proc.returncode)}: {tail[0][:160]} (log: {work_dir}/tune.stderr.txt)"
        return res
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("wall", "intrinsics_s", "stamps", "best_ms", "versions"):
        setattr(res, key, out[key])
    if not res.done:
        res.error = f"no trial was measured (log: {work_dir}/logs)"
    return res


def ms_rows(tuning: Tuning, counts: list[int], flop: float = 0.0, nbytes: float = 0.0,
            label: str = "", extra: dict[str, Any] | None = None) -> list[Row]:
    """One pinned row per trial count: the best of the search's first N records, timed by TVM
    (``extra`` joins each row's spec, for the benchmark's own bookkeeping)."""
    if tuning.error:
        return []
    rows = []
    for n in counts:
        spec = {"impl": "metaschedule", "workload": tuning.workload, "db": tuning.work_dir, "first": n,
                "ms_threads": tuning.threads, "trials": n, **(extra or {})}
        rows.append(Row(f"{label or tuning.workload} MetaSchedule-{n}", tuning.threads, spec, flop=flop,
                        bytes=nbytes, env={"TVM_NUM_THREADS": str(tuning.threads)},
                        python=tuning.python, script=__file__))
    return rows


def describe(tuning: Tuning, counts: list[int]) -> str:
    """One line per trial count: trials, tuning wall time and trials per minute (or the error)."""
    head = f"MetaSchedule {tuning.workload}, {tuning.threads} thread(s)"
    if tuning.error:
        return f"{head}: failed, {tuning.error}"
    parts = [f"{n} trials in {tuning.wall_at(n):.0f} s ({tuning.trials_per_minute(n):.1f} trials/min)"
             for n in counts]
    return (f"{head}: " + "; ".join(parts) + f" [one search of {tuning.trials}, {tuning.done} measured, "
            f"{tuning.cpu_s:.0f} CPU s in all; intrinsics import {tuning.intrinsics_s:.0f} s not counted; "
            f"{tuning.versions}]")


def print_comparison(results: list[Any], tunings: dict[tuple[str, int], Tuning], counts: list[int],
                     mine: dict[tuple[str, int], float], label: str) -> None:
    """A table per (workload, threads) and trial count: MetaSchedule's tuning seconds, trials per minute,
    timed rate (from ``results``, pinned_rows' RowResults), and ``mine[(workload, threads)]`` / that rate."""
    print(f"{'workload':9} {'thr':>3} {'MS trials':>9} {'tune s':>7} {'trials/min':>10} {'MS rate':>14} "
          f"{label + ' rate':>16} {label + ' / MS':>14}")
    for (workload, t), tun in tunings.items():
        if tun.error:
            print(f"{workload:9} {t:>3} MetaSchedule failed: {tun.error}")
            continue
        for n in counts:
            res = next((r for r in results if r.row.spec.get("impl") == "metaschedule" and r.row.threads == t
                        and r.row.spec["workload"] == workload and r.row.spec["first"] == n), None)
            if res is None or res.error:
                print(f"{workload:9} {t:>3} {n:>9} row failed: {res.error if res else 'not run'}")
                continue
            unit = "GFLOPS" if res.row.flop else "GB/s"
            rate = (res.row.flop or res.row.bytes) / res.seconds / 1e9
            ours = mine.get((workload, t), float("nan"))
            print(f"{workload:9} {t:>3} {n:>9} {tun.wall_at(n):>7.0f} {tun.trials_per_minute(n):>10.1f} "
                  f"{rate:>7.1f} {unit:<6} {ours:>9.1f} {unit:<6} {ours / rate:>14.2f}")


# --- the child side (TVM's Python) --------------------------------------------------------------

def _ms():
    from tvm.s_tir import meta_schedule as ms
    return ms


def _prim_func(workload: str):
    from tvm import te, topi
    if workload == "matmul":
        n, l, m = WORKLOADS["matmul"]
        A = te.placeholder((n, l), name="A")
        B = te.placeholder((l, m), name="B")
        k = te.reduce_axis((0, l), name="k")
        C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
        return te.create_prim_func([A, B, C])
    if workload == "conv2d":
        N, C, H, W, K, R, S, pad = WORKLOADS["conv2d"]
        X = te.placeholder((N, C, H, W), name="X")
        Wt = te.placeholder((K, C, R, S), name="W")
        return te.create_prim_func([X, Wt, topi.nn.conv2d_nchw(X, Wt, 1, pad, 1)])
    rows, cols = WORKLOADS["softmax"]
    X = te.placeholder((rows, cols), name="X")
    return te.create_prim_func([X, topi.nn.softmax(X, axis=1)])


def _inputs(workload: str, rng):
    """Fresh random inputs, an output buffer, and numpy's answer."""
    import numpy as np
    if workload == "matmul":
        n, l, m = WORKLOADS["matmul"]
        a, b = rng.random((n, l), dtype=np.float32), rng.random((l, m), dtype=np.float32)
        return [a, b], np.empty((n, m), np.float32), a @ b
    if workload == "conv2d":
        N, C, H, W, K, R, S, pad = WORKLOADS["conv2d"]
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        w = rng.standard_normal((K, C, R, S)).astype(np.float32)
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        ref = sum(np.einsum("nchw,kc->nkhw", xp[:, :, r:r + H, q:q + W], w[:, :, r, q])
                  for r in range(R) for q in range(S))
        return [x, w], np.empty((N, K, H, W), np.float32), ref
    x = rng.standard_normal(WORKLOADS["softmax"]).astype(np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return [x], np.empty_like(x), e / e.sum(axis=1, keepdims=True)


def _target(threads: int):
    import tvm
    from tvm.target import codegen
    return tvm.target.Target({"kind": "llvm", "mcpu": codegen.llvm_get_system_cpu(), "num-cores": threads})


def _build_without_intrinsics(mod, target, _params):
    """MetaSchedule's default build minus its import of tvm.s_tir.tensor_intrin (see the module doc)."""
    from tvm.driver import build as tvm_build
    from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock
    return tvm_build(RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod), target=target)


def _versions() -> str:
    import tvm
    import tvm_ffi
    from tvm.target import codegen
    return (f"apache-tvm {tvm.__version__}, apache-tvm-ffi {tvm_ffi.__version__}, LLVM {codegen.llvm_version_major()}, "
            f"mcpu {codegen.llvm_get_system_cpu()}")


def probe_main() -> None:
    """Child: import MetaSchedule and serialize a small IRModule; print the versions."""
    import tvm
    from tvm import te
    _ms()
    A = te.placeholder((8, 8), name="A")
    B = te.compute((8, 8), lambda i, j: A[i, j] * 2.0, name="B")
    tvm.ir.save_json(tvm.IRModule({"main": te.create_prim_func([A, B])}))
    print(_versions())


def tune_main(spec: dict) -> dict:
    """Child: one tune_tir search; the wall time after every measured batch."""
    t0 = time.perf_counter()
    import tvm.s_tir.tensor_intrin  # noqa: F401 - the tune context imports these: do it before the clock
    intrinsics_s = time.perf_counter() - t0
    from tvm.ir.utils import derived_object
    ms = _ms()
    stamps: list[list[float]] = []
    start = [0.0]

    @derived_object
    class _Stamp(ms.measure_callback.PyMeasureCallback):
        def apply(self, task_scheduler, task_id, measure_candidates, builder_results, runner_results):
            done = (stamps[-1][0] if stamps else 0) + len(runner_results)
            stamps.append([done, time.perf_counter() - start[0]])

    callbacks = list(ms.measure_callback.MeasureCallback.create("default")) + [_Stamp()]
    start[0] = time.perf_counter()
    db = ms.tir_integration.tune_tir(
        _prim_func(spec["workload"]), _target(spec["threads"]), spec["work_dir"],
        max_trials_global=spec["trials"], num_trials_per_iter=64,
        builder=ms.builder.LocalBuilder(f_build=_build_without_intrinsics), runner=ms.runner.LocalRunner(),
        measure_callbacks=callbacks, seed=spec["seed"])
    wall = time.perf_counter() - start[0]
    costs = [statistics.mean(float(s) for s in r.run_secs) for r in db.get_all_tuning_records() if r.run_secs]
    return {"wall": wall, "intrinsics_s": intrinsics_s, "stamps": stamps,
            "best_ms": 1e3 * min(costs) if costs else float("nan"), "versions": _versions()}


def _first_records(work_dir: str, n: int):
    """A database of the search's first ``n`` records, in the order they were measured: the JSON
    file's line order (``get_all_tuning_records`` returns them sorted by speed instead)."""
    sub = os.path.join(work_dir, f"first-{n}")
    os.makedirs(sub, exist_ok=True)
    shutil.copy(os.path.join(work_dir, "database_workload.json"), os.path.join(sub, "database_workload.json"))
    with open(os.path.join(work_dir, "database_tuning_record.json")) as src:
        lines = [ln for ln in src if ln.strip()][:n]
    with open(os.path.join(sub, "database_tuning_record.json"), "w") as dst:
        dst.writelines(lines)
    return _ms().database.JSONDatabase(work_dir=sub, allow_missing=False)


def row_main() -> None:
    """Child (pinned_rows protocol): compile the best record, check it, time it with time_evaluator."""
    import numpy as np
    import tvm
    from pinned_rows import _CHILD_FLAG, LENT_AWAY
    spec = json.loads(sys.argv[sys.argv.index(_CHILD_FLAG) + 1])
    threads = int(spec["__threads"])
    repeats = int(spec.get("__repeats", 5))
    min_seconds = float(spec.get("__min_seconds", 0.05))
    ms = _ms()
    target = _target(int(spec["ms_threads"]))
    mod = _prim_func(spec["workload"])
    sch = ms.tir_integration.compile_tir(_first_records(spec["db"], int(spec["first"])), mod, target)
    if sch is None:
        raise SystemExit("no valid record in the database")
    lib = tvm.compile(sch.mod, target=target)
    lib = lib.jit() if hasattr(lib, "jit") else lib  # TVM >= 0.20 returns an Executable
    dev = tvm.cpu()
    ins, out, expected = _inputs(spec["workload"], np.random.default_rng())
    args = [tvm.runtime.tensor(a, dev) for a in ins] + [tvm.runtime.tensor(out, dev)]
    lib["main"](*args)
    np.testing.assert_allclose(args[-1].numpy(), expected, rtol=1e-3, atol=1e-3, err_msg="MetaSchedule's best")
    one = lib.time_evaluator("main", dev, number=1, repeat=1)(*args).mean
    number = max(1, int(min_seconds / max(one, 1e-7)))
    timer = lib.time_evaluator("main", dev, number=number, repeat=1)
    times, shares, retried = [], [], 0
    for _ in range(repeats):
        for attempt in range(4):  # a repeat whose cores were lent away is measured again, as pinned_rows does
            c0, w0 = time.process_time(), time.perf_counter()
            mean = timer(*args).mean
            share = (time.process_time() - c0) / ((time.perf_counter() - w0) * threads)
            if share >= LENT_AWAY or attempt == 3:
                break
            retried += 1
        times.append(mean)
        shares.append(share)
    print(json.dumps({"times": times, "shares": shares, "retried": retried, "number": number}))


if __name__ == "__main__":
    if _PROBE_FLAG in sys.argv:
        probe_main()
    elif _TUNE_FLAG in sys.argv:
        print(json.dumps(tune_main(json.loads(sys.argv[sys.argv.index(_TUNE_FLAG) + 1]))))
    elif child_requested():
        row_main()
    else:
        print(__doc__)
