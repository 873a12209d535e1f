"""The partial derivative of a scalar expression with respect to one tensor read (forward mode).

``derivative(e, is_target)`` differentiates ``e`` with respect to every read ``r`` for which
``is_target(r)`` holds, as though those reads were one scalar variable.  The result has ``e``'s
dtype, or is ``None`` where the derivative is identically zero, so that zero terms never grow the
trees the gradient builds.  Integer and boolean subexpressions have derivative zero (they are
piecewise constant); so do floor, ceil, trunc and round.  An expression it cannot differentiate
(a float ``%``, an unknown call) raises ``ExprError`` naming it, rather than dropping a term.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import ExprError
from ..te import expr as E
from ..te import intrin
from ..te.functor import substitute

Deriv = E.PrimExpr | None  # None: identically zero

_PIECEWISE_CONSTANT = frozenset({"floor", "ceil", "trunc", "round", "isnan", "likely"})


def _c(value: float, like: E.PrimExpr) -> E.PrimExpr:
    return E.const(value, like.dtype)


def _is_one(e: E.PrimExpr) -> bool:
    return isinstance(e, E.FloatImm) and e.value == 1.0


def times(a: E.PrimExpr, b: E.PrimExpr) -> E.PrimExpr:
    """``a * b``, without multiplying by a constant 1 (the derivative of a plain read)."""
    return b if _is_one(a) else a if _is_one(b) else a * b


def _mul(a: Deriv, b: E.PrimExpr) -> Deriv:
    return None if a is None else times(a, b)


def _add(a: Deriv, b: Deriv) -> Deriv:
    if a is None:
        return b
    return a if b is None else a + b


def _neg(a: Deriv) -> Deriv:
    return None if a is None else -a


def _unary_rule(name: str, x: E.PrimExpr, call: E.PrimExpr) -> E.PrimExpr:
    """f'(x) for the float intrinsic ``name``; ``call`` is f(x) itself."""
    if name == "exp":
        return call
    if name == "exp2":
        return call * _c(math.log(2.0), x)
    if name == "exp10":
        return call * _c(math.log(10.0), x)
    if name == "log":
        return _c(1.0, x) / x
    if name == "log2":
        return _c(1.0 / math.log(2.0), x) / x
    if name == "log10":
        return _c(1.0 / math.log(10.0), x) / x
    if name == "sqrt":
        return _c(0.5, x) / call
    if name == "tanh":
        return _c(1.0, x) - call * call
    if name == "erf":
        return _c(2.0 / math.sqrt(math.pi), x) * intrin.exp(-(x * x))
    if name == "sin":
        return intrin.cos(x)
    if name == "cos":
        return -intrin.sin(x)
    if name == "tan":
        c = intrin.cos(x)
        return _c(1.0, x) / (c * c)
    if name == "fabs":
        return E.Select(x >= _c(0.0, x), _c(1.0, x), _c(-1.0, x))
    if name == "sinh":
        return intrin.cosh(x)
    if name == "cosh":
        return intrin.sinh(x)
    if name in ("asin", "acos"):
        d = _c(1.0, x) / intrin.sqrt(_c(1.0, x) - x * x)
        return d if name == "asin" else -d
    if name == "atan":
        return _c(1.0, x) / (_c(1.0, x) + x * x)
    if name == "asinh":
        return _c(1.0, x) / intrin.sqrt(x * x + _c(1.0, x))
    if name == "acosh":
        return _c(1.0, x) / intrin.sqrt(x * x - _c(1.0, x))
    if name == "atanh":
        return _c(1.0, x) / (_c(1.0, x) - x * x)
    if name == "log1p":
        return _c(1.0, x) / (_c(1.0, x) + x)
    if name == "expm1":
        return call + _c(1.0, x)
    raise KeyError(name)


class _Differentiator:
    def __init__(self, is_target: Callable[[E.TensorRead], bool]):
        self.is_target = is_target
        # id -> (node, derivative): the node is kept so that its id cannot be reused by a tree
        # built later (a substituted Let body) while the memo lives.
        self.memo: dict[int, tuple[E.PrimExpr, Deriv]] = {}

    def __call__(self, e: E.PrimExpr) -> Deriv:
        hit = self.memo.get(id(e))
        if hit is None or hit[0] is not e:
            hit = (e, self._d(e) if e.dtype.is_float else None)
            self.memo[id(e)] = hit
        return hit[1]

    def _d(self, e: E.PrimExpr) -> Deriv:  # noqa: C901 - one case per node kind
        d = self
        if isinstance(e, E.TensorRead):
            return _c(1.0, e) if self.is_target(e) else None
        if isinstance(e, (E.Var, E.FloatImm, E.IntImm)):
            return None
        if isinstance(e, E.Add):
            return _add(d(e.a), d(e.b))
        if isinstance(e, E.Sub):
            return _add(d(e.a), _neg(d(e.b)))
        if isinstance(e, E.Mul):
            return _add(_mul(d(e.a), e.b), _mul(d(e.b), e.a))
        if isinstance(e, E.Div):
            da, db = d(e.a), d(e.b)
            if da is None and db is None:
                return None
            if db is None:
                return da / e.b
            return _add(None if da is None else da / e.b, -(db * e.a) / (e.b * e.b))
        if isinstance(e, (E.Max, E.Min)):
            da, db = d(e.a), d(e.b)
            if da is None and db is None:
                return None
            first = e.a >= e.b if isinstance(e, E.Max) else e.a <= e.b
            return E.Select(first, _c(0.0, e) if da is None else da, _c(0.0, e) if db is None else db)
        if isinstance(e, E.Select):
            dt, df = d(e.true_value), d(e.false_value)
            if dt is None and df is None:
                return None
            return E.Select(e.condition, _c(0.0, e) if dt is None else dt, _c(0.0, e) if df is None else df)
        if isinstance(e, E.Cast):
            if not e.value.dtype.is_float:
                return None
            dv = d(e.value)
            return None if dv is None else E.cast(dv, e.dtype)
        if isinstance(e, E.Let):
            return d(substitute(e.body, {e.var: e.value}))
        if isinstance(e, E.Call):
            return self._call(e)
        raise ExprError(f"te.gradient: cannot differentiate {type(e).__name__} '{e}'")

    def _call(self, e: E.Call) -> Deriv:
        if e.name in _PIECEWISE_CONSTANT:
            return None
        if e.name == "pow":
            x, y = e.args
            dx, dy = self(x), self(y)
            out: Deriv = None
            if dx is not None:
                out = times(dx, y * intrin.power(x, y - _c(1.0, y)))
            if dy is not None:
                out = _add(out, times(dy, e * intrin.log(x)))
            return out
        if e.name == "ldexp":  # x * 2**n: linear in x, and n is an integer (no derivative)
            x, n = e.args
            dx = self(x)
            return None if dx is None else times(dx, E.Call(x.dtype, "ldexp", (_c(1.0, x), n)))
        if len(e.args) == 1:
            dx = self(e.args[0])
            if dx is None:
                return None
            try:
                return times(dx, _unary_rule(e.name, e.args[0], e))
            except KeyError:
                pass
        if all(self(a) is None for a in e.args):
            return None  # a call of values that do not depend on the target
        raise ExprError(f"te.gradient: no derivative is known for the call {e.name}(...) in '{e}'")


def derivative(e: E.PrimExpr, is_target: Callable[[E.TensorRead], bool]) -> Deriv:
    """d e / d r for the reads ``r`` with ``is_target(r)``; None where it is identically zero."""
    return _Differentiator(is_target)(e)


def zero_or(d: Deriv, like: Any) -> E.PrimExpr:
    """``d``, or a zero of ``like``'s dtype where ``d`` is None."""
    return E.const(0.0, like.dtype) if d is None else d
