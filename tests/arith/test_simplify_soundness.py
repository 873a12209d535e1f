"""The simplifier never changes a value: random integer expressions of every width, mixing tensor
data (which wraps around) with ranged loop indices, give the same result before and after
simplification in the reference interpreter (numpy semantics)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlang.arith import Interval, simplify
from tensorlang.ir.stmt import Store
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype
from tensorlang.te.functor import free_vars
from tests.ir.interp import run

DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint32"]
OPS = [E.Add, E.Sub, E.Mul, E.FloorDiv, E.FloorMod, E.Div, E.Mod, E.Min, E.Max]
CMPS = [E.LT, E.LE, E.GT, E.GE, E.EQ, E.NE]


def _exprs(dtype: str, data: E.Var, index: E.Var) -> st.SearchStrategy:
    dt = as_dtype(dtype)
    info = np.iinfo(dtype)
    consts = st.sampled_from([info.min, info.max, 0, 1, 2, 3, 4, 7, 8, 16, info.max // 2]).map(
        lambda v: E.IntImm(dt, v))
    loads = st.integers(0, 3).map(lambda k: E.Load(dt, data, E.const(k)))
    idx = st.just(E.cast(index, dt))
    leaves = st.one_of(consts, loads, idx)

    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        binop = st.tuples(st.sampled_from(OPS), children, children).map(lambda t: t[0](t[1], t[2]))
        cmp = st.tuples(st.sampled_from(CMPS), children, children).map(
            lambda t: E.Select(t[0](t[1], t[2]), E.IntImm(dt, 1), E.IntImm(dt, 0)))
        return st.one_of(binop, cmp)

    return st.recursive(leaves, extend, max_leaves=8)


@st.composite
def _case(draw: st.DrawFn):
    dtype = draw(st.sampled_from(DTYPES))
    data, index = E.Var("D", "handle"), E.Var("i", "int32")
    expr = draw(_exprs(dtype, data, index))
    info = np.iinfo(dtype)
    values = draw(st.lists(st.sampled_from([info.min, info.max, 0, 1, -1 if info.min else 2, 5]),
                           min_size=4, max_size=4))
    lo = draw(st.integers(-4, 4))
    i = draw(st.integers(lo, lo + 6))
    return dtype, data, index, expr, np.array(values, dtype=dtype), lo, i


def _eval(expr: E.PrimExpr, data: E.Var, index: E.Var, values: np.ndarray, i: int):
    out = E.Var("OUT", "handle")
    bufs = {data: values.copy(), out: np.zeros(1, dtype=values.dtype)}
    run(Store(out, expr, E.const(0)), bufs, {index: i})
    return bufs[out][0]


@settings(max_examples=300, deadline=None)
@given(_case())
def test_simplify_keeps_numpy_values(case) -> None:
    dtype, data, index, expr, values, lo, i = case
    ranges = {index: Interval(E.const(lo), E.const(lo + 6))}
    want = _eval(expr, data, index, values, i)
    # Without ranges, index arithmetic is trusted not to overflow (the contract lowering keeps
    # by choosing index dtypes from buffer sizes), so only index-free expressions are checked.
    candidates = [simplify(expr, ranges)] + ([simplify(expr)] if index not in free_vars(expr) else [])
    for simplified in candidates:
        got = _eval(simplified, data, index, values, i)
        assert got == want, f"{expr}  ->  {simplified}: {got} != {want} ({dtype}, i={i}, data={values})"


def test_known_wraparound_cases() -> None:
    data = E.Var("D", "handle")
    a = E.Load(as_dtype("int8"), data, E.const(0))
    x = np.array([-128], dtype="int8")
    gt = E.Select(E.GT(a, E.Sub(a, E.IntImm(a.dtype, 1))), E.IntImm(a.dtype, 1), E.IntImm(a.dtype, 0))
    assert _eval(simplify(gt), data, E.Var("i"), x, 0) == 0  # numpy: int8(-128) > int8(127) is False
    b = E.Load(as_dtype("int32"), data, E.const(0))
    four = E.IntImm(b.dtype, 4)
    big = np.array([2**30], dtype="int32")
    assert _eval(simplify(E.FloorDiv(E.Mul(b, four), four)), data, E.Var("i"), big, 0) == 0
    neg = E.Select(E.LT(E.Sub(E.IntImm(b.dtype, 0), b), E.IntImm(b.dtype, 0)), four, E.IntImm(b.dtype, 0))
    assert _eval(simplify(neg), data, E.Var("i"), np.array([-2**31], "int32"), 0) == 4


def test_mod_by_zero_inside_mod_is_not_folded() -> None:
    """(i % 0) % 127 is 0 for every i (numpy's x % 0), not i % 127 (hypothesis found this)."""
    i = E.Var("i", "int8")
    expr = E.FloorMod(E.FloorMod(i, E.IntImm(i.dtype, 0)), E.IntImm(i.dtype, 127))
    data = E.Var("D", "handle")
    for v in (1, 5, -3):
        assert _eval(simplify(expr), data, i, np.array([0], "int8"), v) == 0
    folded = simplify(E.FloorMod(E.FloorMod(i, E.IntImm(i.dtype, 6)), E.IntImm(i.dtype, 3)))
    assert _eval(folded, data, i, np.array([0], "int8"), 7) == 1


def test_a_repeated_min_or_max_operand_folds() -> None:
    """min(min(4, t), t) is min(4, t): loop partitioning used to build ten-deep chains of one
    bound, which every later simplify walked in exponential time (a 12 s lowering)."""
    t = E.Sub(E.IntImm("int32", 11), E.Mul(E.Var("o", "int32"), E.IntImm("int32", 4)))
    chain = E.IntImm("int32", 4)
    for _ in range(40):
        chain = E.Min(chain, t)
    got = simplify(E.Max(chain, chain))
    assert str(got) == str(simplify(E.Min(E.IntImm("int32", 4), t)))
    x = E.Var("x", "float32")
    assert str(simplify(E.Max(E.Max(x, E.FloatImm("float32", 1.0)), x))) == str(E.Max(x, E.FloatImm("float32", 1.0)))
