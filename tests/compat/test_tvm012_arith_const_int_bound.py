"""TVM 0.12's test_arith_const_int_bound.py, in our own words: Analyzer.const_int_bound on sums,
products, divisions, modulos, min/max, select, shifts and casts of bounded variables.  Besides
TVM's exact bounds, every bound is checked against the expression's values on fresh random points
inside the variables' ranges (numpy's integer semantics): each value lies within the bound.
"""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te

rng = np.random.default_rng()
_OPS = {
    "floordiv": np.floor_divide, "floormod": np.mod,
    "truncdiv": lambda a, b: np.trunc(a / b).astype(np.int64),
    "truncmod": np.fmod,
}


def _values_within(analyzer, expr, ranges, n=200):
    """Evaluate expr at n random points of the (finite) ranges; assert the bound holds."""
    bd = analyzer.const_int_bound(expr)
    vars_ = list(ranges)
    for _ in range(n):
        point = {v: int(rng.integers(lo, hi + 1)) for v, (lo, hi) in ranges.items()}
        sub = tvm.tir.stmt_functor.substitute(expr, {v: tvm.tir.const(point[v], v.dtype) for v in vars_})
        val = tvm.arith.Analyzer().simplify(sub)
        if not isinstance(val, tvm.tir.IntImm):
            continue  # a division by zero: no value
        assert bd.min_value <= val.value <= bd.max_value, (expr, point, val.value, bd)
    return bd


def test_dtype_bound():
    analyzer = tvm.arith.Analyzer()
    x = te.var("x", dtype="int64")
    bd = analyzer.const_int_bound(x)
    assert bd.min_value == bd.NEG_INF
    assert bd.max_value == bd.POS_INF
    x = te.var("x", dtype="int8")
    bd = analyzer.const_int_bound(x)
    assert (bd.min_value, bd.max_value) == (-128, 127)
    x = te.var("x", dtype="uint8")
    bd = analyzer.const_int_bound(x)
    assert (bd.min_value, bd.max_value) == (0, 255)


def test_cast_bound():
    analyzer = tvm.arith.Analyzer()
    x = te.var("x", dtype="int8")
    tmod = tvm.tir.truncmod
    # TVM answers (0, 2), but x % 3 is -1 for x = -1 and uint32(-1) is 4294967295 (numpy's value):
    # the whole uint32 range is the bound.  With x non-negative it is TVM's (0, 2).
    bd = _values_within(analyzer, tmod(x, 3).astype("uint32"), {x: (-128, 127)})
    assert (bd.min_value, bd.max_value) == (0, 2**32 - 1)
    analyzer.update(x, tvm.arith.ConstIntBound(0, 127))
    bd = _values_within(analyzer, tmod(x, 3).astype("uint32"), {x: (0, 127)})
    assert (bd.min_value, bd.max_value) == (0, 2)
    analyzer = tvm.arith.Analyzer()
    bd = _values_within(analyzer, tmod(x, 3).astype("float32").astype("int32"), {x: (-128, 127)})
    assert (bd.min_value, bd.max_value) == (-2, 2)


def test_add_sub_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x", "int64"), te.var("y", "int64")
    bd = analyzer.const_int_bound(x + y)
    assert (bd.min_value, bd.max_value) == (bd.NEG_INF, bd.POS_INF)
    analyzer.update(x, tvm.arith.ConstIntBound(0, 4))
    analyzer.update(y, tvm.arith.ConstIntBound(1, 10))
    bd = _values_within(analyzer, x + y, {x: (0, 4), y: (1, 10)})
    assert (bd.min_value, bd.max_value) == (1, 14)
    bd = _values_within(analyzer, x - y, {x: (0, 4), y: (1, 10)})
    assert (bd.min_value, bd.max_value) == (-10, 3)
    analyzer.update(x, tvm.arith.ConstIntBound(0, bd.POS_INF), override=True)
    bd = analyzer.const_int_bound(x - y)
    assert (bd.min_value, bd.max_value) == (-10, bd.POS_INF)
    bd = analyzer.const_int_bound(1 - x)
    assert (bd.min_value, bd.max_value) == (bd.NEG_INF, 1)


def test_mul_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    analyzer.update(x, tvm.arith.ConstIntBound(-2, 4))
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10))
    bd = _values_within(analyzer, x * y + 20, {x: (-2, 4), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (0, 60)
    analyzer.update(x, tvm.arith.ConstIntBound(-3, 4), override=True)
    analyzer.update(y, tvm.arith.ConstIntBound(-8, 2), override=True)
    bd = _values_within(analyzer, x * y, {x: (-3, 4), y: (-8, 2)})
    assert (bd.min_value, bd.max_value) == (-32, 24)
    analyzer.update(x, tvm.arith.ConstIntBound(bd.NEG_INF, 4), override=True)
    analyzer.update(y, tvm.arith.ConstIntBound(-8, 2), override=True)
    bd = analyzer.const_int_bound(x * y)
    assert (bd.min_value, bd.max_value) == (bd.NEG_INF, bd.POS_INF)


@pytest.mark.parametrize("op", ["truncdiv", "floordiv"])
def test_div_bound(op):
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    div = getattr(tvm.tir, op)
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 4))
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10))
    bd = _values_within(analyzer, div(x, y), {x: (-9, 4), y: (4, 10)})
    assert bd.min_value == (-2 if op == "truncdiv" else -9 // 4)
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 4), override=True)
    analyzer.update(y, tvm.arith.ConstIntBound(-2, 0), override=True)
    bd = _values_within(analyzer, div(x, y), {x: (-9, 4), y: (-2, -1)})
    assert (bd.min_value, bd.max_value) == (-4, 9)
    analyzer.update(x, tvm.arith.ConstIntBound(bd.NEG_INF, 4), override=True)
    analyzer.update(y, tvm.arith.ConstIntBound(-2, 1), override=True)
    bd = analyzer.const_int_bound(div(x, y))
    assert (bd.min_value, bd.max_value) == (bd.NEG_INF, bd.POS_INF)


def test_truncmod_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    tmod = tvm.tir.truncmod
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 4))
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10))
    bd = _values_within(analyzer, tmod(x, y), {x: (-9, 4), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (-9, 4)
    analyzer.update(x, tvm.arith.ConstIntBound(bd.NEG_INF, bd.POS_INF), override=True)
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10), override=True)
    bd = _values_within(analyzer, tmod(x, y), {x: (-1000, 1000), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (-9, 9)
    analyzer.update(x, tvm.arith.ConstIntBound(1, bd.POS_INF), override=True)
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10), override=True)
    bd = _values_within(analyzer, tmod(x, y), {x: (1, 1000), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (0, 9)


def test_floormod_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    flm = tvm.tir.floormod
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 4))
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10))
    bd = _values_within(analyzer, flm(x, y), {x: (-9, 4), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (0, 9)
    analyzer.update(x, tvm.arith.ConstIntBound(bd.NEG_INF, bd.POS_INF), override=True)
    bd = _values_within(analyzer, flm(x, y), {x: (-1000, 1000), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (0, 9)
    analyzer.update(x, tvm.arith.ConstIntBound(1, bd.POS_INF), override=True)
    bd = _values_within(analyzer, flm(x, y), {x: (1, 1000), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (0, 9)


def test_min_max_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 11))
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10))
    bd = _values_within(analyzer, tvm.te.min(x, y), {x: (-9, 11), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (-9, 10)
    analyzer.update(x, tvm.arith.ConstIntBound(bd.NEG_INF, bd.POS_INF), override=True)
    bd = analyzer.const_int_bound(tvm.te.min(x, y))
    assert (bd.min_value, bd.max_value) == (bd.NEG_INF, 10)
    bd = analyzer.const_int_bound(tvm.te.max(x, y))
    assert (bd.min_value, bd.max_value) == (4, bd.POS_INF)
    analyzer.update(x, tvm.arith.ConstIntBound(1, bd.POS_INF), override=True)
    bd = analyzer.const_int_bound(tvm.te.max(x, y))
    assert (bd.min_value, bd.max_value) == (4, bd.POS_INF)


def test_select_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 11))
    analyzer.update(y, tvm.arith.ConstIntBound(4, 10))
    expr = tvm.tir.Select(x > 1, (y < 0).astype("int32"), y + 1)
    bd = _values_within(analyzer, expr, {x: (-9, 11), y: (4, 10)})
    assert (bd.min_value, bd.max_value) == (0, 11)


def test_shift_and_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    analyzer.update(x, tvm.arith.ConstIntBound(-9, 11))
    analyzer.update(y, tvm.arith.ConstIntBound(2, 10))
    bd = _values_within(analyzer, x >> y, {x: (-9, 11), y: (2, 10)})
    assert (bd.min_value, bd.max_value) == (-3, 2)
    bd = _values_within(analyzer, x & y, {x: (-9, 11), y: (2, 10)})
    assert (bd.min_value, bd.max_value) == (0, 10)
    analyzer.update(x, tvm.arith.ConstIntBound(10, 11), override=True)
    bd = _values_within(analyzer, x & y, {x: (10, 11), y: (2, 10)})
    assert (bd.min_value, bd.max_value) == (0, 10)


def test_mix_index_bound():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    tdiv, tmod = tvm.tir.truncdiv, tvm.tir.truncmod
    analyzer.update(x, tvm.arith.ConstIntBound(0, 24 - 1))
    analyzer.update(y, tvm.arith.ConstIntBound(0, 3 - 1))
    bd = _values_within(analyzer, tmod(x, 8) + tdiv(x, 8) * 8, {x: (0, 23), y: (0, 2)})
    assert (bd.min_value, bd.max_value) == (0, 23)
    bd = _values_within(analyzer, y + x * 3, {x: (0, 23), y: (0, 2)})
    assert (bd.min_value, bd.max_value) == (0, 24 * 3 - 1)
    # TVM bounds the two terms apart, (0, 27); the sum is x, so (0, 23) is the tight bound.
    bd = _values_within(analyzer, tmod(x, 7) + tdiv(x, 7) * 7, {x: (0, 23), y: (0, 2)})
    assert bd.min_value == 0 and 23 <= bd.max_value <= (23 // 7) * 7 + 6


def test_size_var_bound():
    # TVM knows a size_var is non-negative, (0, POS_INF); tensorlang's size_var is a plain
    # variable, so its bound is its dtype's range (sound, wider).
    analyzer = tvm.arith.Analyzer()
    x = te.size_var("x")
    bd = analyzer.const_int_bound(x)
    assert bd.min_value <= 0 and bd.max_value >= 2**31 - 1


def test_let_bound():
    analyzer = tvm.arith.Analyzer()
    x = te.var("x")
    bd = analyzer.const_int_bound(tvm.tir.Let(x, 1, x + 1))
    assert (bd.min_value, bd.max_value) == (2, 2)


def test_floormod_negative_divisor():
    analyzer = tvm.arith.Analyzer()
    flm, fld = tvm.tir.floormod, tvm.tir.floordiv
    a, b = te.var("a"), te.var("b")
    analyzer.update(a, tvm.arith.ConstIntBound(0, 6))
    analyzer.update(b, tvm.arith.ConstIntBound(-5, 7))
    bd = _values_within(analyzer, flm(a, b), {a: (0, 6), b: (-5, 7)})
    assert (bd.min_value, bd.max_value) == (-4, 6)
    bd = _values_within(analyzer, fld(a, b), {a: (0, 6), b: (-5, 7)})
    assert bd.min_value <= -6 and bd.max_value >= 6
