"""tvm.arith.Analyzer as ported TVM code uses it: every bound, modular set, interval and proof it
gives holds on every value the bound variables take (checked by enumerating them in the
reference interpreter), and its examples from TVM's documentation give TVM's answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlang as tvm
from tensorlang import te, tir
from tensorlang.errors import ExprError
from tensorlang.ir.stmt import Store
from tensorlang.te import expr as E
from tests.ir.interp import run


def _value(expr: E.PrimExpr, env: dict) -> int:
    out = E.Var("OUT", "handle")
    bufs = {out: np.zeros(1, dtype=expr.dtype.numpy())}
    run(Store(out, expr, E.const(0)), bufs, env)
    return int(bufs[out][0])


def test_bind_range_bounds_and_simplify() -> None:
    a = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    a.bind(x, tvm.ir.Range(0, 10))
    b = a.const_int_bound(x * 2 + 1)
    assert (b.min_value, b.max_value) == (1, 19)
    free = a.const_int_bound(y)
    assert (free.min_value, free.max_value) == (-2 ** 31, 2 ** 31 - 1)
    a.update(y, tvm.arith.ConstIntBound(0, 3))
    assert str(a.simplify((x * 4 + y) // 4)) == "x"
    assert str(a.canonical_simplify((x * 4 + y) % 4)) == "y"
    assert a.can_prove(x < 10) and not a.can_prove(x < 9)
    assert a.can_prove_equal(x * 2, x + x)
    s = a.int_set(x * 3 + y)
    assert (int(s.min_value), int(s.max_value)) == (0, 30)


def test_bind_expression_substitutes() -> None:
    a = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    a.bind(x, tvm.ir.Range.from_min_extent(0, 8))
    a.bind(y, x * 2)
    assert a.can_prove(y < 16)
    assert str(a.simplify(y - x)) == "x"
    with pytest.raises(ExprError, match="'y' already"):
        a.bind(y, x * 3)
    a.bind(y, x * 3, allow_override=True)
    assert a.can_prove_equal(y, x * 3)


def test_constraint_scope_as_tvm_documents() -> None:
    x = te.var("x")
    analyzer = tvm.arith.Analyzer()
    with analyzer.constraint_scope(x % 3 == 0):
        assert analyzer.modular_set(x).coeff == 3
        assert analyzer.can_prove(tir.floormod(x * 2, 3) == 0)
    assert analyzer.modular_set(x).coeff != 3
    with analyzer.constraint_scope(tvm.tir.all(x >= 2, x < 6)):
        b = analyzer.const_int_bound(x)
        assert (b.min_value, b.max_value) == (2, 5)
    assert analyzer.const_int_bound(x).max_value == 2 ** 31 - 1


def test_modular_set_rules() -> None:
    a = tvm.arith.Analyzer()
    x, y = te.var("x"), te.var("y")
    m = a.modular_set(x * 8 + 4)
    assert (m.coeff, m.base) == (8, 4)
    m = a.modular_set(tir.floordiv(x * 8 + 4, 2))
    assert (m.coeff, m.base) == (4, 2)
    m = a.modular_set(x * 6 + y * 9 + 3)
    assert (m.coeff, m.base) == (3, 0)
    m = a.modular_set(tir.floormod(x * 6 + 4, 3))
    assert (m.coeff, m.base) == (0, 1)
    a.update(x, tvm.arith.ModularSet(4, 1))
    m = a.modular_set(x * 2)
    assert (m.coeff, m.base) == (8, 2)


def test_bad_arguments_are_named() -> None:
    a = tvm.arith.Analyzer()
    with pytest.raises(ExprError, match="expected a variable"):
        a.bind(3, 4)
    with pytest.raises(ExprError, match="not an integer"):
        a.const_int_bound(te.var("f", "float32") + 1.0)
    with pytest.raises(ExprError, match="expected a Range"):
        a.update(te.var("x"), (0, 4))


def test_detect_linear_equation() -> None:
    x, y, n = te.var("x"), te.var("y"), te.var("n")
    coeffs = tvm.arith.detect_linear_equation(x * 4 + y * n + 2 - x, [x, y])
    assert [str(c) for c in coeffs] == ["3", "n", "2"]
    assert tvm.arith.detect_linear_equation(x * x, [x]) == []
    assert tvm.arith.detect_linear_equation(tir.floordiv(x, 2), [x]) == []


def test_ir_range_is_tvms() -> None:
    r = tvm.ir.Range(2, 5)
    assert isinstance(r, tvm.ir.Range)
    assert (int(r.min), int(r.extent)) == (2, 3)
    assert int(tvm.ir.Range(7).extent) == 7


_OPS = ["add", "sub", "mul", "floordiv", "floormod", "min", "max"]


@st.composite
def _expr(draw: st.DrawFn, x: E.Var, y: E.Var, depth: int = 0) -> E.PrimExpr:
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([x, y, E.const(draw(st.integers(-6, 9)))]))
    op = draw(st.sampled_from(_OPS))
    a = draw(_expr(x, y, depth + 1))
    if op in ("floordiv", "floormod"):
        return getattr(tir, op)(a, E.const(draw(st.sampled_from([1, 2, 3, 4, 8]))))
    b = draw(_expr(x, y, depth + 1))
    return {"add": a + b, "sub": a - b, "mul": a * b, "min": E.Min(a, b), "max": E.Max(a, b)}[op]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_answers_hold_on_every_value(data: st.DataObject) -> None:
    x, y = te.var("x"), te.var("y")
    x0, xn = data.draw(st.integers(-5, 5)), data.draw(st.integers(1, 6))
    y0, yn = data.draw(st.integers(-5, 5)), data.draw(st.integers(1, 6))
    expr = data.draw(_expr(x, y))
    a = tvm.arith.Analyzer()
    a.bind(x, tvm.ir.Range.from_min_extent(x0, xn))
    a.update(y, tvm.arith.ConstIntBound(y0, y0 + yn - 1))
    values = [_value(expr, {x: xv, y: yv})
              for xv, yv in itertools.product(range(x0, x0 + xn), range(y0, y0 + yn))]
    bound = a.const_int_bound(expr)
    assert bound.min_value <= min(values) and max(values) <= bound.max_value, (expr, bound)
    m = a.modular_set(expr)
    assert all((v - m.base) % m.coeff == 0 if m.coeff else v == m.base for v in values), (expr, m)
    simplified = a.simplify(expr)
    got = [_value(simplified, {x: xv, y: yv})
           for xv, yv in itertools.product(range(x0, x0 + xn), range(y0, y0 + yn))]
    assert got == values, (expr, simplified)
    limit = data.draw(st.integers(-20, 40))
    if a.can_prove(expr < limit):
        assert max(values) < limit, (expr, limit)
    if a.can_prove(expr != limit):
        assert limit not in values, (expr, limit)
