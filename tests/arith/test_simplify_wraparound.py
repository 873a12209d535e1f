"""The simplifier keeps values near the ends of int32/int64 (fuzzing findings).

* ``_canonical_compare`` moved terms across a comparison without checking that the moved sides
  stay in range: ``INT64_MAX < int64(v)`` became ``0 < int64(v) - INT64_MAX`` (true for a
  negative ``v``, where it wraps), ``16 > v`` became ``0 > v - 16`` for ``v`` near INT32_MIN.
* The interval of a narrowing cast ``int32(v)`` was ``[int32(lo), int32(hi)]`` even when the
  range of ``v`` does not fit int32, where the cast wraps (``v`` in [2**31 - 3, 2**31 + 3]).

Each expression is evaluated before and after ``simplify`` by the reference interpreter (numpy
semantics), at random points of its variables' ranges."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.arith import Interval, simplify
from tensorlang.arith.interval import eval_interval
from tensorlang.ir.stmt import Store
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype
from tests.ir.interp import run

I32_MIN, I32_MAX = -2**31, 2**31 - 1
I64_MIN, I64_MAX = -2**63, 2**63 - 1


def _eval(expr: E.PrimExpr, env: dict) -> int:
    out = E.Var("OUT", "handle")
    bufs = {out: np.zeros(1, dtype=expr.dtype.numpy())}
    run(Store(out, expr, E.const(0)), bufs, env)
    return int(bufs[out][0])


def _check(expr: E.PrimExpr, ranges: dict, rng: np.random.Generator, points: int = 8) -> None:
    simplified = simplify(expr, ranges)
    for _ in range(points):
        env = {v: int(rng.integers(int(r.lo.value), int(r.hi.value), endpoint=True)) for v, r in ranges.items()}
        want, got = _eval(expr, env), _eval(simplified, env)
        assert got == want, f"{expr} -> {simplified}: {got} != {want} at {env}"


def _var(name: str, dtype: str, lo: int, hi: int) -> tuple[E.Var, Interval]:
    return E.Var(name, dtype), Interval(E.const(lo, dtype), E.const(hi, dtype))


def test_moving_terms_across_a_comparison_does_not_wrap(rng: np.random.Generator) -> None:
    v, rv = _var("v", "int32", I32_MIN, I32_MIN + 100)
    w, rw = _var("w", "int64", I64_MAX - 10, I64_MAX)
    x = E.cast(v, "int64")
    cases = [
        (E.LT(E.const(I64_MAX, "int64"), x), {v: rv}),
        (E.GT(E.const(-I64_MAX, "int64"), x), {v: rv}),
        (E.GT(E.const(16), v), {v: rv}),
        (E.LE(E.const(I32_MAX), v), {v: rv}),
        (E.LT(E.const(-I64_MAX, "int64"), w), {w: rw}),
        (E.GE(E.const(-5, "int64"), w), {w: rw}),
    ]
    for cmp, ranges in cases:
        _check(E.Select(cmp, E.const(1), E.const(0)), ranges, rng)


def test_a_narrowing_cast_of_a_range_it_cannot_hold_may_wrap(rng: np.random.Generator) -> None:
    base = int(rng.integers(2**31 - 50, 2**31 - 3))
    v, rv = _var("v", "int64", base, base + 60)
    iv = eval_interval(E.cast(v, "int32"), {v: rv})
    assert (iv.lo.value, iv.hi.value) == (I32_MIN, I32_MAX)
    c = E.cast(v, "int32")
    for e in (E.Max(c, E.const(0)), E.Min(c, E.const(-8)), E.Select(E.LT(c, E.const(0)), E.const(1), E.const(2))):
        _check(e, {v: rv}, rng)


OPS = [E.Add, E.Sub, E.Mul, E.FloorDiv, E.FloorMod, E.Div, E.Mod, E.Min, E.Max]
CMPS = [E.LT, E.LE, E.GT, E.GE, E.EQ, E.NE]


def _gen(rng: np.random.Generator, dt, vs: list[E.Var], depth: int) -> E.PrimExpr:
    info = np.iinfo(dt.numpy())
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.5:
            return E.cast(vs[int(rng.integers(0, len(vs)))], dt)
        consts = [info.min, info.max, 0, 1, 2, 3, 7, 16, -1, -8, info.max // 2, info.min + 1, 1 << 20]
        return E.IntImm(dt, consts[int(rng.integers(0, len(consts)))])
    a, b = _gen(rng, dt, vs, depth - 1), _gen(rng, dt, vs, depth - 1)
    k = rng.random()
    if k < 0.65:
        return OPS[int(rng.integers(0, len(OPS)))](a, b)
    if k < 0.85:
        cmp = CMPS[int(rng.integers(0, len(CMPS)))](a, b)
        return E.Select(cmp, _gen(rng, dt, vs, depth - 1), _gen(rng, dt, vs, depth - 1))
    other = as_dtype(["int32", "int64", "uint32", "int16"][int(rng.integers(0, 4))])
    return E.cast(_gen(rng, other, vs, depth - 1), dt)


@pytest.mark.parametrize("vdtype", ["int32", "int64"])
def test_random_index_expressions_near_the_ends_of_the_range(vdtype: str, rng: np.random.Generator) -> None:
    info = np.iinfo(vdtype)
    for _ in range(60):
        dt = as_dtype(["int32", "int64"][int(rng.integers(0, 2))])
        vs, ranges = [], {}
        for k in range(2):
            starts = [0, -5, int(info.max) - 10, int(info.min), int(info.max) // 2, (1 << 31) - 4]
            lo = min(starts[int(rng.integers(0, len(starts)))], int(info.max))
            hi = min(lo + int(rng.choice([0, 1, 4, 15, 99])), int(info.max))
            v, r = _var(f"v{k}", vdtype, lo, hi)
            vs.append(v)
            ranges[v] = r
        _check(_gen(rng, dt, vs, int(rng.integers(1, 4))), ranges, rng, points=4)
