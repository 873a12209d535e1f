"""TVM 0.12's test_arith_detect_linear_equation.py and the interval parts of test_arith_intset.py,
in our own words.  Each coefficient list is also checked by value: sum(c_i * v_i) + base equals
the expression at fresh random points (numpy's integer arithmetic).
"""

import numpy as np

import tensorlang as tvm
from tensorlang import te

rng = np.random.default_rng()


def _value(expr, point):
    sub = {v: tvm.tir.const(int(x), v.dtype) for v, x in point.items()}
    out = tvm.arith.Analyzer().simplify(tvm.tir.stmt_functor.substitute(tvm.tir.const(0) + expr, sub))
    assert isinstance(out, tvm.tir.IntImm), out
    return out.value


def _check_linear(expr, coeffs, variables, others):
    """``expr == sum(coeffs[i] * variables[i]) + coeffs[-1]`` at random points."""
    assert len(coeffs) == len(variables) + 1
    allv = list(variables) + list(others)
    for _ in range(30):
        point = {v: int(rng.integers(-50, 50)) for v in allv}
        rebuilt = sum((_value(c, point) * point[v] for c, v in zip(coeffs, variables)), 0) + _value(coeffs[-1], point)
        assert rebuilt == _value(expr, point), (expr, coeffs, point)


def test_basic():
    a, b = te.var("a"), te.var("b")
    ana = tvm.arith.Analyzer()
    e = a * 4 + b * 6 + 7
    m = tvm.arith.detect_linear_equation(e, [a])
    assert m[0].value == 4
    assert ana.simplify(m[1] - (b * 6 + 7)).value == 0
    _check_linear(e, m, [a], [b])

    assert len(tvm.arith.detect_linear_equation(a * 4 * (a + 1) + b * 6 + 7, [a])) == 0

    e = a * 4 + (a + 1) + b * 6 + 7
    m = tvm.arith.detect_linear_equation(e, [a])
    assert m[0].value == 5
    assert ana.simplify(m[1] - (b * 6 + 7 + 1)).value == 0
    _check_linear(e, m, [a], [b])

    m = tvm.arith.detect_linear_equation(a * b + 7, [a])
    assert m[0].same_as(b) or tvm.ir.structural_equal(m[0], b)
    _check_linear(a * b + 7, m, [a], [b])

    m = tvm.arith.detect_linear_equation(b * 7, [a])
    assert m[0].value == 0
    m = tvm.arith.detect_linear_equation(b * 7, [])
    assert len(m) == 1
    assert ana.simplify(m[0] - b * 7).value == 0


def test_multivariate():
    v = [te.var(f"v{i}") for i in range(4)]
    b = te.var("b")
    ana = tvm.arith.Analyzer()
    e = v[0] * (b + 4) + v[0] + v[1] * 8
    m = tvm.arith.detect_linear_equation(e, v)
    assert ana.simplify(m[0] - (b + 5)).value == 0
    assert m[1].value == 8
    _check_linear(e, m, v, [b])

    assert len(tvm.arith.detect_linear_equation(v[0] * (b + 4) + v[0] + v[1] * 8 * v[2], v)) == 0
    assert len(tvm.arith.detect_linear_equation(v[0] * (b + 4) + v[0] + v[1] * 8 * v[1] + v[3], v)) == 0

    e = ((v[0] * b + v[1]) * 8 + v[2] + 1) * 2
    m = tvm.arith.detect_linear_equation(e, v)
    assert m[1].value == 16
    assert m[2].value == 2
    assert m[len(m) - 1].value == 2
    _check_linear(e, m, v, [b])

    m = tvm.arith.detect_linear_equation((v[0] - v[1]), [v[2]])
    assert m[0].value == 0
    assert ana.simplify(m[1] - (v[0] - v[1])).value == 0

    m = tvm.arith.detect_linear_equation((v[0] - v[1]), [])
    assert len(m) == 1
    assert ana.simplify(m[0] - (v[0] - v[1])).value == 0


def test_int_set_basic():
    s = tvm.arith.IntervalSet(2, 3)
    assert s.min_value.value == 2
    assert s.max_value.value == 3
    s = tvm.arith.IntSet.single_point(2)
    assert s.min_value.value == 2 and s.max_value.value == 2


def test_int_set_of_expressions_contains_their_values():
    x, y = te.var("x"), te.var("y")
    ana = tvm.arith.Analyzer()
    dom = {x: tvm.arith.IntervalSet(-4, 7), y: tvm.arith.IntervalSet(1, 5)}
    fld, flm = tvm.tir.floordiv, tvm.tir.floormod
    exprs = {x + y: (-3, 12), x - y: (-9, 6), x * 3: (-12, 21), fld(x, 2): (-2, 3), flm(x, 4): (0, 3),
             tvm.te.min(x, y): (-4, 5), tvm.te.max(x, y): (1, 7)}
    for e, (lo, hi) in exprs.items():
        s = ana.int_set(e, dom)
        assert (s.min_value.value, s.max_value.value) == (lo, hi), (e, s)
        vals = [_value(e, {x: xv, y: yv}) for xv in range(-4, 8) for yv in range(1, 6)]
        assert lo <= min(vals) and max(vals) <= hi
