"""TVM 0.12's test_arith_modular_set.py, in our own words: Analyzer.modular_set (every value is
coeff * k + base) of sums, products, divisions, shifts, min/max/select and casts, and under
constraint scopes.  Each answer is also checked on fresh random values of the variables (numpy's
integer semantics): every value the expression takes has the claimed residue.
"""

import numpy as np

import tensorlang as tvm
from tensorlang import te

rng = np.random.default_rng()


def _check(analyzer, expr, coeff, base, ranges, n=150):
    """TVM's (coeff, base), and the residue holds on n random points of ``ranges``."""
    m = analyzer.modular_set(expr)
    assert (m.coeff, m.base) == (coeff, base), (expr, m)
    for _ in range(n):
        sub = {v: tvm.tir.const(int(rng.integers(lo, hi + 1)), v.dtype) for v, (lo, hi) in ranges.items()}
        val = tvm.arith.Analyzer().simplify(tvm.tir.stmt_functor.substitute(expr, sub))
        if not isinstance(val, tvm.tir.IntImm):
            continue
        if coeff:
            assert (val.value - base) % coeff == 0, (expr, sub, val)
        else:
            assert val.value == base, (expr, sub, val)


def test_cast():
    analyzer = tvm.arith.Analyzer()
    x = te.var("x", dtype="int8")
    # (x * 3) in int8 wraps for |x| > 42 (x = 50: 150 wraps to -106, not a multiple of 3), where
    # TVM answers coeff 3: with x bounded so that it cannot wrap, the residue is TVM's.
    analyzer.update(x, tvm.arith.ConstIntBound(0, 42))
    _check(analyzer, (x * 3).astype("uint32"), 3, 0, {x: (0, 42)})
    _check(analyzer, (x * 3 + 1).astype("float32").astype("int32"), 3, 1, {x: (0, 42)})
    wrapping = tvm.arith.Analyzer().modular_set((x * 3).astype("uint32"))
    _check(tvm.arith.Analyzer(), (x * 3).astype("uint32"), wrapping.coeff, wrapping.base, {x: (-128, 127)})


def test_add_sub():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x", "int64"), te.var("y", "int64")
    _check(analyzer, x * 6 + y * 4, 2, 0, {x: (-1000, 1000), y: (-1000, 1000)})
    analyzer.bind(y, x * 4 + 1)
    m = analyzer.modular_set(1 - y)
    assert (m.coeff, m.base) == (4, 0)
    _check(tvm.arith.Analyzer(), 1 - (x * 4 + 1), 4, 0, {x: (-1000, 1000)})


def test_mul():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    _check(analyzer, (x * 4 + 2) * (y * 6 + 1), 4, 2, {x: (-100, 100), y: (-100, 100)})


def test_div_shift():
    analyzer = tvm.arith.Analyzer()
    x = te.var("x")
    tdiv, fld = tvm.tir.truncdiv, tvm.tir.floordiv
    r = {x: (-1000, 1000)}
    # TVM gives up here (x may be negative), answering (1, 0); but 4x + 2 is even, so the
    # truncating division is exact: 2x + 1, a tighter answer that holds for every x.
    _check(analyzer, tdiv(x * 4 + 2, 2), 2, 1, r)
    _check(analyzer, (x * 4 + 2) >> 1, 2, 1, r)     # a right shift floors
    _check(analyzer, fld(x * 4 + 2, 2), 2, 1, r)
    analyzer.update(x, tvm.arith.ConstIntBound(0, 100))
    _check(analyzer, tdiv(x * 4 + 2, 2), 2, 1, {x: (0, 100)})


def test_min_max_select():
    analyzer = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    r = {x: (-100, 100), y: (-100, 100)}
    _check(analyzer, tvm.te.min(x * 3, y * 9), 3, 0, r)
    _check(analyzer, tvm.te.max(x * 3 + 1, y * 9 + 4), 3, 1, r)
    _check(analyzer, tvm.tir.Select(x > 0, x * 3 + 1, y * 9 + 2), 1, 0, r)


def test_mix_index():
    a, b = te.var("a"), te.var("b")
    analyzer = tvm.arith.Analyzer()
    tdiv = tvm.tir.truncdiv
    r = {a: (-100, 100), b: (-100, 100)}
    _check(analyzer, a * 4 + b * 6 + 7, 2, 1, r)
    _check(analyzer, (a * 4 + 1) * (b * 8 + 3), 4, 3, r)
    _check(analyzer, tdiv(a * 4 + 1, b * 8 + 3), 1, 0, r)
    _check(analyzer, (a * 4 + 1) * tdiv(b * 8, 4), 2, 0, r)
    _check(analyzer, (a * 12 + 1) - (b * 3 * 7 + 2), 3, 2, r)
    _check(analyzer, a * 12 + tvm.te.min(b * 3 * 7, 2), 1, 0, r)


def test_constraint_scope():
    a, b = te.var("a"), te.var("b")
    analyzer = tvm.arith.Analyzer()
    tmod = tvm.tir.truncmod
    with analyzer.constraint_scope(tmod(b, 4) == 2):
        m = analyzer.modular_set(b + 1)
        assert (m.coeff, m.base) == (4, 3)
        with analyzer.constraint_scope(tmod(a, 2) == 1):
            m = analyzer.modular_set(b + a * 2)
            assert (m.coeff, m.base) == (4, 0)
        m = analyzer.modular_set(b + a * 2)
        assert (m.coeff, m.base) == (2, 0)
    m = analyzer.modular_set(b + 1)
    assert (m.coeff, m.base) == (1, 0)


def test_intersect():
    a = te.var("a")
    analyzer = tvm.arith.Analyzer()
    tmod = tvm.tir.truncmod
    with analyzer.constraint_scope(tmod(a, 4) == 1):
        with analyzer.constraint_scope(tmod(a, 3) == 1):
            m = analyzer.modular_set(a)
            assert (m.coeff, m.base) == (12, 1)
    with analyzer.constraint_scope(tmod(a, 3) == 2):
        with analyzer.constraint_scope(tmod(a, 5) == 3):
            with analyzer.constraint_scope(tmod(a, 7) == 2):
                m = analyzer.modular_set(a)
                assert (m.coeff, m.base) == (105, 23)
    # the combined residue on values that meet all three constraints
    vals = [v for v in range(-500, 500) if v % 3 == 2 and v % 5 == 3 and v % 7 == 2]
    assert all((v - 23) % 105 == 0 for v in vals)
