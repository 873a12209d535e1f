#!/usr/bin/env python
"""Summarize fuzz.py results: cases per kind and status, and the non-ok cases grouped by a rough key.

    python tools/numpy_fuzz/summarize.py [--out DIR] [--seed S ...]

Reads DIR/results/*.jsonl (DIR: fuzz.py's --out, by default the same temp folder fuzz.py uses).  A
case run more than once (same seed, k and kind) counts once, with its latest result.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

from fuzz import default_out


def load(out, seeds=None):
    """The latest result of each case in out/results/*.jsonl."""
    latest = {}
    for fn in sorted((out / "results").glob("*.jsonl")):
        with open(fn) as fh:
            for line in fh:
                if not line.strip():
                    continue
                r = json.loads(line)
                if seeds is None or r["seed"] in seeds:
                    latest[(r["seed"], r["k"], r["kind"])] = r
    return list(latest.values())


def group_key(r):
    if r["kind"] == "badinput":
        return r["kind"], r["status"], (r.get("meta") or {}).get("scenario")
    return r["kind"], r["status"], re.sub(r"\d+", "N", r.get("msg", "")[:60])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=default_out(), help="fuzz.py's --out folder (default %(default)s)")
    ap.add_argument("--seed", type=int, nargs="+", help="only these seeds")
    args = ap.parse_args()
    rows = load(args.out, set(args.seed) if args.seed else None)
    if not rows:
        raise SystemExit(f"no results in {args.out / 'results'}")
    counts = collections.Counter((r["kind"], r["status"]) for r in rows)
    groups = collections.defaultdict(list)
    for r in rows:
        if r["status"] != "ok":
            groups[group_key(r)].append(r)
    print(f"{len(rows)} cases in {args.out / 'results'}\n\ncases per kind:")
    for kind in sorted({k for k, _ in counts}):
        total = sum(v for (kk, _), v in counts.items() if kk == kind)
        detail = ", ".join(f"{st} {v}" for (kk, st), v in sorted(counts.items()) if kk == kind)
        print(f"  {kind:9s} {total:6d}  ({detail})")
    print(f"  {'total':9s} {len(rows):6d}")
    print("\nnon-ok groups (count, kind, status, scenario or message; e.g. seed:k):" if groups else "\nall ok")
    for key, rs in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        examples = ", ".join(f"{r['seed']}:{r['k']}" for r in rs[:3])
        print(f"  {len(rs):4d}  {key}  e.g. {examples}")
        if rs[0].get("path"):
            print(f"        {rs[0]['path']}")


if __name__ == "__main__":
    main()
