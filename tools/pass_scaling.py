"""How each lowering step scales with the size of the IR it is given.

    python tools/pass_scaling.py                      # every family, sizes x1 x2 x4 x8, time
    python tools/pass_scaling.py --metric work        # visited + built nodes (deterministic)
    python tools/pass_scaling.py --family depth --base 64 --repeats 5

Families of schedules whose IR grows linearly with a size k:
  chain    k elementwise stages at root, each split by 8 and vectorized (k loop nests)
  depth    one stage whose expression is k nested multiply-adds (expression depth k)
  attach   k producer stages computed at one consumer's loop, summed by it
  unroll   one stage with an unrolled loop of k iterations (k copies after unroll_loops)
  guards   k stages whose extents a split by 8 does not divide (k guarded tails)
  nest     one stage split k times by 3 (a loop nest k deep, a guard at every level)

For each step of tl.lower (lowering.pipeline.lower_schedule's profile hook) and for LLVM code
generation (codegen, text only), prints the median over ``--repeats`` runs of its seconds (or
its work: Visitor.visit calls, nodes constructed and functor.children walks) at k, 2k, 4k and
8k (CPU seconds of the thread, garbage collector off: wall time on a loaded machine is mostly
time slices), and the scaling
exponent: the least-squares slope of log(value) against log(k); 1 is linear, 2 quadratic.
Exponents above 1.3 are flagged. Steps under 0.2 ms at the largest size are too small to judge
by time (marked '~'). The tests (tests/lowering/test_pass_scaling.py) assert the work exponents.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tensorlang import te  # noqa: E402
from tensorlang.lowering.pipeline import lower_schedule  # noqa: E402
from tensorlang.te import functor  # noqa: E402
from tensorlang.te.depth import deep_expressions  # noqa: E402
from tensorlang.te.expr import Node  # noqa: E402
from tensorlang.te.functor import Visitor  # noqa: E402

N = 64  # points per stage


def chain(k: int) -> tuple[Any, list]:
    A = te.placeholder((N,), name="A")
    cur, stages = A, []
    for j in range(k):
        cur = te.compute((N,), lambda i, c=cur, j=j: c[i] * 2.0 + float(j), name=f"S{j}")
        stages.append(cur)
    s = te.create_schedule(cur.op)
    for t in stages:
        _, xi = s[t].split(t.op.axis[0], factor=8)
        s[t].vectorize(xi)
    return s, [A, cur]


def depth(k: int) -> tuple[Any, list]:
    A, B = te.placeholder((N,), name="A"), te.placeholder((N,), name="B")

    def body(i: Any) -> Any:
        e = A[i]
        for j in range(k):
            e = e * B[i] + float(j + 1)
        return e
    C = te.compute((N,), body, name="C")
    s = te.create_schedule(C.op)
    _, xi = s[C].split(C.op.axis[0], factor=8)
    s[C].vectorize(xi)
    return s, [A, B, C]


def attach(k: int) -> tuple[Any, list]:
    A = te.placeholder((N + 2,), name="A")
    producers = [te.compute((N,), lambda i, j=j: A[i + j % 3] * float(j + 1), name=f"P{j}") for j in range(k)]

    def total(i: Any) -> Any:
        e = producers[0][i]
        for p in producers[1:]:
            e = e + p[i]
        return e
    C = te.compute((N,), total, name="C")
    s = te.create_schedule(C.op)
    xo, _ = s[C].split(C.op.axis[0], factor=8)
    for p in producers:
        s[p].compute_at(s[C], xo)
    return s, [A, C]


def unroll(k: int) -> tuple[Any, list]:
    A = te.placeholder((k, 4), name="A")
    C = te.compute((k, 4), lambda i, j: A[i, j] * 3.0 + 1.0, name="C")
    s = te.create_schedule(C.op)
    s[C].unroll(C.op.axis[0])
    return s, [A, C]


def guards(k: int) -> tuple[Any, list]:
    A = te.placeholder((N + 3,), name="A")
    outs = [te.compute((N + 3,), lambda i, j=j: A[i] + float(j), name=f"G{j}") for j in range(k)]
    s = te.create_schedule([o.op for o in outs])
    for o in outs:
        _, xi = s[o].split(o.op.axis[0], factor=8)
        s[o].vectorize(xi)
    return s, [A, *outs]


def nest(k: int) -> tuple[Any, list]:
    A = te.placeholder((4096,), name="A")
    B = te.compute((4096,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    axis = B.op.axis[0]
    for _ in range(k):
        axis, _ = s[B].split(axis, factor=3)
    return s, [A, B]


FAMILIES: dict[str, tuple[Callable[[int], tuple[Any, list]], int]] = {
    "chain": (chain, 16), "depth": (depth, 32), "attach": (attach, 8), "unroll": (unroll, 64),
    "guards": (guards, 16), "nest": (nest, 4),
}


@contextmanager
def counting() -> Iterator[list[int]]:
    """Count Visitor.visit calls, node constructions and post_order_visit/free_vars steps (the
    walks that use te.functor.children) while the block runs (in box[0])."""
    box = [0]
    visit, init, kids = Visitor.visit, Node._init, functor.children

    def counted_visit(self: Any, node: Any, *extra: Any) -> Any:
        box[0] += 1
        return visit(self, node, *extra)

    def counted_init(self: Any, **fields: Any) -> None:
        box[0] += 1
        init(self, **fields)
    def counted_children(node: Any) -> Iterator[Any]:
        box[0] += 1
        return kids(node)
    Visitor.visit, Node._init = counted_visit, counted_init  # type: ignore[method-assign]
    functor.children = counted_children
    try:
        yield box
    finally:
        Visitor.visit, Node._init = visit, init  # type: ignore[method-assign]
        functor.children = kids


def profile_once(family: str, k: int, metric: str, codegen: bool = True) -> dict[str, float]:
    """Seconds (or work) of every lowering step, and of LLVM code generation, at size k."""
    make = FAMILIES[family][0]
    sch, args = make(k)
    out: dict[str, float] = defaultdict(float)
    # CPU time of this thread, with the garbage collector off: a loaded machine's time slices
    # and collections triggered by the heap's size would otherwise swamp the steps' own cost.
    now: Callable[[], float] = time.thread_time if metric == "time" else lambda: float(box[0])
    gc.collect()
    gc.disable()
    try:
        with counting() as box, deep_expressions(f"pass_scaling {family} {k}"):
            last = [now()]

            def record(name: str, _seconds: float) -> None:
                # what the step did since the previous one ended (binding arguments counts
                # into the first step)
                t = now()
                out[name] += t - last[0]
                last[0] = t
            func = lower_schedule(sch, args, target_kind="llvm", profile=record)
            if codegen:
                from tensorlang.target.llvm.codegen import codegen_llvm
                from tensorlang.target.llvm.target import LLVMTarget
                target = LLVMTarget.from_string("llvm")
                start = now()
                codegen_llvm(func, target)
                out["codegen_llvm"] = now() - start
    finally:
        gc.enable()
    return dict(out)


def exponent(sizes: list[int], values: list[float]) -> float:
    """The least-squares slope of log(value) against log(size)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(v, 1e-12)) for v in values]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def scaling(family: str, sizes: list[int], metric: str = "work", repeats: int = 1,
            codegen: bool = True) -> dict[str, tuple[list[float], float]]:
    """step -> (median value at each size, exponent)."""
    runs: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in sizes])
    for _ in range(repeats):
        for n, k in enumerate(sizes):  # interleaved, so slow phases of a noisy machine spread out
            for step, v in profile_once(family, k, metric, codegen).items():
                runs[step][n].append(v)
    out = {}
    for step, per_size in runs.items():
        meds = [statistics.median(v) if v else 0.0 for v in per_size]
        out[step] = (meds, exponent(sizes, meds))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Scaling exponent of each lowering step in the IR size.")
    parser.add_argument("--family", choices=sorted(FAMILIES), action="append",
                        help="which IR families (default: all)")
    parser.add_argument("--metric", choices=("time", "work"), default="time")
    parser.add_argument("--base", type=int, help="the smallest size (default: per family)")
    parser.add_argument("--steps", type=int, default=4, help="sizes base * 2**0 .. 2**(steps-1)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    worst = 0.0
    for family in args.family or sorted(FAMILIES):
        base = args.base or FAMILIES[family][1]
        sizes = [base * 2 ** n for n in range(args.steps)]
        result = scaling(family, sizes, args.metric, args.repeats)
        unit = "ms" if args.metric == "time" else "nodes"
        print(f"\n{family}: k = {', '.join(map(str, sizes))}  ({args.metric}, median of {args.repeats})")
        print(f"  {'step':<24}" + "".join(f"{'k=' + str(k):>12}" for k in sizes) + f"{'exponent':>10}")
        for step, (vals, exp) in result.items():
            shown = [v * 1e3 if args.metric == "time" else v for v in vals]
            tiny = args.metric == "time" and vals[-1] < 2e-4
            flag = "~" if tiny else ("  SUPERLINEAR" if exp > 1.3 else "")
            if not tiny:
                worst = max(worst, exp)
            print(f"  {step:<24}" + "".join(f"{v:>12.2f}" if args.metric == "time" else f"{v:>12.0f}"
                                              for v in shown) + f"{exp:>10.2f}{flag}  {unit}")
    print(f"\nworst exponent: {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
