#!/usr/bin/env python
"""Differential fuzzer: tensorlang vs numpy (see README.md beside this file).

    python tools/numpy_fuzz/fuzz.py --seed S --n N [--kinds elemwise reduce ...] [--out DIR] [--timeout 30]
    python tools/numpy_fuzz/fuzz.py --seed S --show K [--kind KIND]   # print the program of case K
    python tools/numpy_fuzz/fuzz.py --run FILE                         # run one (edited) case program

Each case is a generated, standalone Python program; it runs in a forked child with a timeout, so
crashes, signals and hangs are recorded, not fatal.  Results are appended to OUT/results/<seed>.jsonl,
the program of every non-ok case is written to OUT/failures/<kind>_<seed>_<k>.py.  Case k of seed S
is reproducible: its generator is seeded with S * 1_000_003 + k (its kind is drawn from the same
number and the --kinds list, or forced with --kind).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent  # the checkout this tool lives in
sys.path.insert(0, str(HERE))  # fuzzlib and the gen_* modules (imported where used)

KINDS = ["elemwise", "reduce", "topi", "sched", "badinput", "index"]
WEIGHTS = {"elemwise": 4, "reduce": 2, "topi": 3, "sched": 2, "badinput": 2, "index": 2}
GENERATORS = {  # kind -> (module, function)
    "elemwise": ("gen_elem", "gen_elemwise"),
    "reduce": ("gen_reduce", "gen_reduce"),
    "topi": ("gen_topi", "gen_topi"),
    "sched": ("gen_sched", "gen_sched"),
    "badinput": ("gen_bad", "gen_bad"),
    "index": ("gen_index", "gen_index"),
}
TL_DIR = None  # the directory of the tensorlang package under test, set by import_tensorlang()


def default_out() -> Path:
    """Where results go without --out: a folder in the system temp dir (one per user)."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "user"
    return Path(tempfile.gettempdir()) / f"tensorlang-numpy-fuzz-{user}"


def case_seed(seed, k):
    return seed * 1_000_003 + k


def case_kind(seed, k, kinds):
    w = np.array([WEIGHTS[x] for x in kinds], float)
    return kinds[np.random.default_rng([case_seed(seed, k), 7]).choice(len(kinds), p=w / w.sum())]


def generate(kind, cs):
    """(program source, metadata) of the case seeded cs of this kind."""
    import importlib

    mod, fn = GENERATORS[kind]
    return getattr(importlib.import_module(mod), fn)(np.random.default_rng(cs), cs)


def import_tensorlang(path=None):
    """Import the tensorlang under test and return it: the package in directory ``path`` if given (for
    instance a `git worktree` or `git archive` export of a fixed commit), else the one in the current
    directory when run from a checkout's root, else the importable (installed or editable) one, else
    the one of the checkout holding this tool."""
    global TL_DIR
    if path:
        root = Path(path).resolve()
        if not (root / "tensorlang" / "__init__.py").is_file():
            sys.exit(f"--tensorlang {path}: no tensorlang/__init__.py in that directory")
        sys.path.insert(0, str(root))
    elif (Path.cwd() / "tensorlang" / "__init__.py").is_file():
        sys.path.insert(0, str(Path.cwd()))  # as `python -c "import tensorlang"` would from here
    else:
        try:
            import tensorlang  # is there one?
        except ImportError:
            sys.path.insert(0, str(REPO))
    import tensorlang

    TL_DIR = str(Path(tensorlang.__file__).resolve().parent)
    if path and not TL_DIR.startswith(str(Path(path).resolve()) + os.sep):
        sys.exit(f"--tensorlang {path}: tensorlang was already imported from {TL_DIR}")
    return tensorlang


def _inside_tensorlang(tb):
    """The innermost traceback frame in the source of the tensorlang under test, or None."""
    inner = [f for f in traceback.extract_tb(tb)
             if TL_DIR and os.path.realpath(f.filename).startswith(TL_DIR + os.sep)]
    if not inner:
        return None
    f = inner[-1]
    return f"tensorlang/{os.path.relpath(os.path.realpath(f.filename), TL_DIR)}:{f.lineno} ({f.name})"


def run_case_in_child(src):
    """Executed in the forked child: runs the program, returns a result dict."""
    import fuzzlib

    import tensorlang.errors as tl_errors

    ns = {"__name__": "__fuzzcase__"}
    try:
        exec(compile(src, "<case>", "exec"), ns)
        if ns.get("EXPECT_ERROR"):
            return {"status": "noerror", "msg": ns.get("EXPECT_ERROR")}
        return {"status": "ok", "msg": ns.get("NOTE", "")}
    except fuzzlib.Mismatch as e:
        return {"status": "mismatch", "msg": str(e)[:1500]}
    except fuzzlib.SignedZero as e:
        return {"status": "signed_zero", "msg": str(e)[:1500]}
    except tl_errors.TensorLangError as e:
        if ns.get("EXPECT_ERROR") or ns.get("_EXPECTING"):
            return {"status": "ok", "msg": f"{type(e).__name__}: {str(e)[:300]}"}
        return {"status": "tl_error", "msg": f"{type(e).__name__}: {str(e)[:1200]}",
                "where": _inside_tensorlang(e.__traceback__)}
    except AssertionError as e:
        return {"status": "assert", "msg": str(e)[:1200], "where": _inside_tensorlang(e.__traceback__)}
    except BaseException as e:
        where = _inside_tensorlang(e.__traceback__)
        st = "raw_exception" if where or ns.get("EXPECT_ERROR") or ns.get("_EXPECTING") else "harness_error"
        return {"status": st, "msg": f"{type(e).__name__}: {str(e)[:1200]}", "where": where,
                "tb": "".join(traceback.format_exception(type(e), e, e.__traceback__))[-3000:]}


def run_forked(src, timeout):
    """Run the case program in a forked child; its result dict, or crash / hang."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            res = run_case_in_child(src)
        except BaseException as e:
            res = {"status": "harness_error", "msg": repr(e)}
        try:
            os.write(w, json.dumps(res).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.time() + timeout
    timed_out = False
    while True:
        left = deadline - time.time()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return {"status": "hang", "msg": f"no result after {timeout}s"}
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"status": "crash", "msg": f"killed by signal {os.WTERMSIG(status)}"}
    if not chunks:
        return {"status": "crash", "msg": f"exited {os.WEXITSTATUS(status)} without a result"}
    return json.loads(b"".join(chunks).decode())


def parse_kinds(values):
    kinds = [k for v in values for k in v.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise SystemExit(f"--kinds: unknown {bad or 'empty list'}; choose from {' '.join(KINDS)}")
    return kinds


def main():
    ap = argparse.ArgumentParser(description="Differential fuzzer: tensorlang vs numpy.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=100, help="number of cases")
    ap.add_argument("--start", type=int, default=0, help="first case number k")
    ap.add_argument("--kinds", nargs="+", default=KINDS, metavar="KIND",
                    help=f"kinds to draw from (space- or comma-separated): {' '.join(KINDS)}")
    ap.add_argument("--kind", choices=KINDS, help="force every case to this kind (with --show: the case's kind)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"results and failures folder (default {default_out()}); never inside the repository")
    ap.add_argument("--tensorlang", metavar="DIR",
                    help="test the tensorlang package in DIR (e.g. a `git worktree add DIR COMMIT`), not the "
                         "importable one")
    ap.add_argument("--show", type=int, metavar="K", help="print the program of case K and exit")
    ap.add_argument("--run", type=Path, metavar="FILE", help="run one case program through the harness, print "
                    "its result and exit (to minimize a saved failure)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary")
    args = ap.parse_args()
    kinds = parse_kinds(args.kinds)

    if args.show is not None:
        kind = args.kind or case_kind(args.seed, args.show, kinds)
        src, meta = generate(kind, case_seed(args.seed, args.show))
        print(src)
        print("#", kind, meta)
        return

    tensorlang = import_tensorlang(args.tensorlang)
    # preload what every child needs, so each fork starts warm
    import fuzzlib  # noqa: F401

    from tensorlang import te, topi  # noqa: F401

    print(f"tensorlang {getattr(tensorlang, '__version__', '?')} from {TL_DIR}", flush=True)
    if args.run is not None:
        res = run_forked(args.run.read_text(), args.timeout)
        print(json.dumps(res, indent=1))
        return

    out = (args.out or default_out()).resolve()
    if out == REPO or REPO in out.parents:
        sys.exit(f"--out {out} is inside the repository {REPO}; pick a folder outside it")
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "failures").mkdir(parents=True, exist_ok=True)
    results = out / "results" / f"{args.seed}.jsonl"
    print(f"results -> {results} (appended), failing programs -> {out / 'failures'}", flush=True)
    counts = {}
    t0 = time.time()
    with open(results, "a") as fh:
        for k in range(args.start, args.start + args.n):
            cs = case_seed(args.seed, k)
            kind = args.kind or case_kind(args.seed, k, kinds)
            try:
                src, meta = generate(kind, cs)
            except Exception as e:
                res = {"status": "generator_error", "msg": repr(e), "tb": traceback.format_exc()[-2000:]}
                src, meta = "", {}
            else:
                t = time.time()
                res = run_forked(src, args.timeout)
                res["secs"] = round(time.time() - t, 2)
            res.update({"seed": args.seed, "k": k, "kind": kind, "meta": meta, "tensorlang": TL_DIR})
            if res["status"] != "ok" and src:
                path = out / "failures" / f"{kind}_{args.seed}_{k}.py"
                path.write_text(f"# status: {res['status']}\n# {res.get('msg', '')[:300]!r}\n"
                                f"# where: {res.get('where')}\n"
                                f"# case: python {Path(__file__).resolve()} --seed {args.seed} --show {k} "
                                f"--kind {kind}\n# tensorlang under test: {TL_DIR}\n" + src)
                res["path"] = str(path)
            fh.write(json.dumps(res) + "\n")
            fh.flush()
            key = (kind, res["status"])
            counts[key] = counts.get(key, 0) + 1
            if not args.quiet and res["status"] != "ok":
                print(f"[{k}] {kind} {res['status']}: {res.get('msg', '')[:200]} {res.get('where') or ''}",
                      flush=True)
    print(f"done {args.n} cases in {time.time() - t0:.0f}s")
    for (kind, st), c in sorted(counts.items()):
        print(f"  {kind:10s} {st:15s} {c}")
    print(f"summary of all runs in that folder: python {HERE / 'summarize.py'} --out {out}")


if __name__ == "__main__":
    main()
