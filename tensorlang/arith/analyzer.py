"""TVM's ``arith.Analyzer``: a stateful integer analyzer over variables bound to ranges,
expressions and constraints.  Every answer it gives holds for all values the bound variables can
take (a bound, a modular set, a proof), or it says it does not know (an unbounded side, coefficient
1, ``False``); it never guesses from samples."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import ExprError
from ..te import expr as E
from ..te.expr import IntImm, PrimExpr, Var, convert
from ..te.functor import free_vars, substitute
from ..te.tensor import Range
from .interval import Interval
from .simplify import Simplifier, can_prove, relax, simplify

# The symbolic ends of an unbounded IntSet (TVM prints them as pos_inf / neg_inf as well).
pos_inf = Var("pos_inf", "int64")
neg_inf = Var("neg_inf", "int64")


class ConstIntBound:
    """Constant bounds [min_value, max_value] of an integer expression; an unknown side is
    ``POS_INF`` / ``NEG_INF``."""

    POS_INF = (1 << 63) - 1
    NEG_INF = -POS_INF

    def __init__(self, min_value: int, max_value: int):
        self.min_value, self.max_value = int(min_value), int(max_value)

    def __repr__(self) -> str:
        return f"ConstIntBound[{self.min_value}, {self.max_value}]"


class ModularSet:
    """The set {coeff * x + base : x integer}; coeff 0 is the single value ``base``."""

    def __init__(self, coeff: int, base: int):
        coeff = abs(int(coeff))
        self.coeff, self.base = coeff, (int(base) % coeff if coeff else int(base))

    def __repr__(self) -> str:
        return f"ModularSet(coeff={self.coeff}, base={self.base})"


class IntSet:
    """A set of integers given by symbolic bounds (TVM's ``arith.IntSet``; every set made here
    is an interval)."""

    def __init__(self, min_value: PrimExpr, max_value: PrimExpr):
        self.min_value, self.max_value = min_value, max_value

    @staticmethod
    def single_point(point: Any) -> IntSet:
        p = convert(point)
        return IntervalSet(p, p)

    @staticmethod
    def interval(min_value: Any, max_value: Any) -> IntSet:
        return IntervalSet(convert(min_value), convert(max_value))

    def is_nothing(self) -> bool:
        lo, hi = self.min_value, self.max_value
        return isinstance(lo, IntImm) and isinstance(hi, IntImm) and lo.value > hi.value

    def is_everything(self) -> bool:
        return self.min_value is neg_inf and self.max_value is pos_inf

    def is_single_point(self) -> bool:
        return self.min_value is self.max_value or (
            isinstance(self.min_value, IntImm) and isinstance(self.max_value, IntImm)
            and self.min_value.value == self.max_value.value)

    def _interval(self) -> Interval:
        return Interval(None if self.min_value is neg_inf else self.min_value,
                        None if self.max_value is pos_inf else self.max_value)

    def __repr__(self) -> str:
        return f"IntervalSet[{self.min_value}, {self.max_value}]"


class IntervalSet(IntSet):
    """The closed interval [min_value, max_value]."""


def _dtype_limits(dt: Any) -> tuple[int, int]:
    if dt.is_bool:
        return 0, 1
    if dt.kind == "uint":
        return 0, (1 << dt.bits) - 1
    return -(1 << (dt.bits - 1)), (1 << (dt.bits - 1)) - 1


def _as_interval(info: Any, where: str, dtype: Any) -> Interval:
    if isinstance(info, Range):
        return Interval.from_range(info.min, info.extent)
    if isinstance(info, IntSet):
        return info._interval()
    if isinstance(info, ConstIntBound):
        return Interval(None if info.min_value <= ConstIntBound.NEG_INF else IntImm(dtype, info.min_value),
                        None if info.max_value >= ConstIntBound.POS_INF else IntImm(dtype, info.max_value))
    raise ExprError(f"{where}: expected a Range, an IntSet or a ConstIntBound, got {type(info).__name__}")


class Analyzer:
    """Integer facts about variables (``bind``, ``update``, ``constraint_scope``) and the
    questions TVM's analyzer answers under them (``simplify``, ``const_int_bound``,
    ``modular_set``, ``int_set``, ``can_prove``)."""

    def __init__(self) -> None:
        self._values: dict[Var, PrimExpr] = {}     # var -> the expression it stands for
        self._ranges: dict[Var, Interval] = {}     # var -> its closed range
        self._mods: dict[Var, ModularSet] = {}

    # -- facts --

    def bind(self, var: Var, expr: Any, allow_override: bool = False) -> None:
        """``var`` stands for ``expr`` (an expression), or ranges over ``expr`` (a Range)."""
        _check_var(var, "Analyzer.bind")
        if isinstance(expr, Range):
            self._set(self._ranges, var, Interval.from_range(expr.min, expr.extent), allow_override, "bind")
            return
        value = self._substitute(convert(expr))
        self._set(self._values, var, value, allow_override, "bind")
        lo, hi = relax(value, self._ranges)
        self._ranges[var] = Interval(lo, hi)

    def update(self, var: Var, info: Any, override: bool = False) -> None:
        """Record a ConstIntBound, ModularSet or IntSet of ``var``."""
        _check_var(var, "Analyzer.update")
        if isinstance(info, ModularSet):
            self._set(self._mods, var, info, override, "update")
        else:
            self._set(self._ranges, var, _as_interval(info, "Analyzer.update", var.dtype), override, "update")

    @staticmethod
    def _set(table: dict, var: Var, value: Any, override: bool, what: str) -> None:
        old = table.get(var)
        if old is not None and not override and not _same(old, value):
            raise ExprError(f"Analyzer.{what}: variable '{var.name}' already has {old}; pass "
                            f"{'allow_override' if what == 'bind' else 'override'}=True to replace it with {value}")
        table[var] = value

    @contextmanager
    def _scope(self, constraint: PrimExpr) -> Iterator[None]:
        saved = (dict(self._values), dict(self._ranges), dict(self._mods))
        self._assume(self._substitute(convert(constraint)))
        try:
            yield
        finally:
            self._values, self._ranges, self._mods = saved

    def constraint_scope(self, constraint: Any) -> Any:
        """A ``with`` block inside which ``constraint`` is assumed true: comparisons of a
        variable with a value bound it, ``x % k == r`` gives its modular set, ``&&`` both."""
        return self._scope(constraint)

    def _assume(self, c: PrimExpr) -> None:
        if isinstance(c, E.And):
            self._assume(c.a)
            self._assume(c.b)
            return
        if not isinstance(c, E.CmpOp):
            return
        a, b = c.a, c.b
        op = type(c).__name__
        if isinstance(b, Var) and not isinstance(a, Var):
            a, b = b, a
            op = {"LT": "GT", "LE": "GE", "GT": "LT", "GE": "LE"}.get(op, op)
        if op == "EQ" and isinstance(a, (E.FloorMod, E.Mod)) and isinstance(a.a, Var) \
                and isinstance(a.b, IntImm) and isinstance(b, IntImm) and a.b.value > 0:
            self._mods[a.a] = ModularSet(a.b.value, b.value)
            return
        if not isinstance(a, Var):
            return
        old = self._ranges.get(a, Interval(None, None))
        lo, hi = old.lo, old.hi
        if op == "EQ":
            lo = hi = b
        elif op == "LT":
            hi = _tighter(hi, simplify(b - 1), min)
        elif op == "LE":
            hi = _tighter(hi, b, min)
        elif op == "GT":
            lo = _tighter(lo, simplify(b + 1), max)
        elif op == "GE":
            lo = _tighter(lo, b, max)
        self._ranges[a] = Interval(lo, hi)

    # -- questions --

    def _substitute(self, e: PrimExpr) -> PrimExpr:
        for _ in range(8):  # bound values may mention other bound variables
            if not self._values:
                return e
            out = substitute(e, self._values)
            if out is e:
                return e
            e = out
        return e

    def simplify(self, expr: Any, steps: int = 2) -> PrimExpr:
        """``expr`` simplified under the analyzer's facts."""
        return simplify(self._substitute(convert(expr)), self._ranges)

    def rewrite_simplify(self, expr: Any) -> PrimExpr:
        """As ``simplify`` (tensorlang has one simplifier)."""
        return self.simplify(expr)

    def canonical_simplify(self, expr: Any) -> PrimExpr:
        """As ``simplify`` (tensorlang has one simplifier)."""
        return self.simplify(expr)

    def const_int_bound(self, expr: Any) -> ConstIntBound:
        """Constant bounds of an integer expression, within its dtype's limits (a side nothing
        bounds is the limit)."""
        e = self._substitute(convert(expr))
        if not (e.dtype.is_int or e.dtype.is_bool):
            raise ExprError(f"Analyzer.const_int_bound: '{e}' is {e.dtype}, not an integer")
        lo, hi = relax(simplify(e, self._ranges), self._ranges)
        dlo, dhi = _dtype_limits(e.dtype)
        lo_v = max(lo.value, dlo) if isinstance(lo, IntImm) else dlo
        hi_v = min(hi.value, dhi) if isinstance(hi, IntImm) else dhi
        lo_v = max(lo_v, ConstIntBound.NEG_INF)
        hi_v = min(hi_v, ConstIntBound.POS_INF)
        return ConstIntBound(lo_v, hi_v)

    def modular_set(self, expr: Any) -> ModularSet:
        """The coefficient and base every value of ``expr`` has: values are ``coeff * x + base``."""
        return _Modular(self._mods).visit(self._substitute(convert(expr)))

    def int_set(self, expr: Any, dom_map: Mapping[Var, Any] | None = None) -> IntSet:
        """Symbolic bounds of ``expr`` with the variables of ``dom_map`` (to Range or IntSet) and
        the analyzer's bound variables relaxed over their ranges."""
        ranges = dict(self._ranges)
        for v, info in (dom_map or {}).items():
            ranges[v] = _as_interval(info, "Analyzer.int_set", v.dtype)
        lo, hi = relax(self._substitute(convert(expr)), ranges)
        return IntervalSet(neg_inf if lo is None else lo, pos_inf if hi is None else hi)

    def can_prove(self, expr: Any, strength: Any = 0) -> bool:
        """True when ``expr`` holds for every value of the bound variables."""
        e = self._substitute(convert(expr))
        if can_prove(e, self._ranges):
            return True
        # x % k == r and similar follow from a modular set rather than from ranges.
        if isinstance(e, E.CmpOp) and type(e).__name__ in ("EQ", "NE"):
            diff = simplify(e.a - e.b, self._ranges)
            m = self.modular_set(diff)
            # the base lies in [0, coeff): a non-zero base rules out 0, coefficient 0 is one value
            return (m.coeff == 0 and m.base == 0) if type(e).__name__ == "EQ" else m.base != 0
        return False

    def can_prove_equal(self, lhs: Any, rhs: Any) -> bool:
        """True when ``lhs == rhs`` for every value of the bound variables."""
        return self.can_prove(convert(lhs) == convert(rhs))


def _check_var(var: Any, where: str) -> None:
    if not isinstance(var, Var):
        raise ExprError(f"{where}: expected a variable (te.var), got {type(var).__name__} '{var}'")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Interval) and isinstance(b, Interval):
        return str(a) == str(b)
    if isinstance(a, ModularSet) and isinstance(b, ModularSet):
        return (a.coeff, a.base) == (b.coeff, b.base)
    return str(a) == str(b)


def _tighter(old: PrimExpr | None, new: PrimExpr, pick: Any) -> PrimExpr:
    if old is None:
        return new
    if isinstance(old, IntImm) and isinstance(new, IntImm):
        return IntImm(old.dtype, pick(old.value, new.value))
    return new


class _Modular:
    """Modular sets of integer expressions, bottom-up."""

    def __init__(self, mods: Mapping[Var, ModularSet]):
        self.mods = mods

    def visit(self, e: PrimExpr) -> ModularSet:
        if isinstance(e, IntImm):
            return ModularSet(0, e.value)
        if isinstance(e, Var):
            return self.mods.get(e, ModularSet(1, 0))
        fn = getattr(self, "visit_" + type(e).__name__, None)
        return fn(e) if fn is not None else ModularSet(1, 0)

    def visit_Add(self, e: E.Add) -> ModularSet:
        a, b = self.visit(e.a), self.visit(e.b)
        return ModularSet(math.gcd(a.coeff, b.coeff), a.base + b.base)

    def visit_Sub(self, e: E.Sub) -> ModularSet:
        a, b = self.visit(e.a), self.visit(e.b)
        return ModularSet(math.gcd(a.coeff, b.coeff), a.base - b.base)

    def visit_Mul(self, e: E.Mul) -> ModularSet:
        a, b = self.visit(e.a), self.visit(e.b)
        # (ca x + ba)(cb y + bb) = ca cb xy + ca bb x + cb ba y + ba bb
        return ModularSet(math.gcd(a.coeff * b.coeff, a.coeff * b.base, b.coeff * a.base), a.base * b.base)

    def visit_FloorDiv(self, e: E.FloorDiv) -> ModularSet:
        a = self.visit(e.a)
        if isinstance(e.b, IntImm) and e.b.value != 0:
            k = e.b.value
            if a.coeff == 0:
                return ModularSet(0, a.base // k)
            if a.coeff % k == 0:  # (c x + b) // k = (c / k) x + b // k when k divides c
                return ModularSet(a.coeff // abs(k), a.base // k)
        return ModularSet(1, 0)

    def visit_FloorMod(self, e: E.FloorMod) -> ModularSet:
        a = self.visit(e.a)
        if isinstance(e.b, IntImm) and e.b.value > 0:
            k = e.b.value
            if a.coeff % k == 0:  # k divides every c x: one value
                return ModularSet(0, a.base % k)
            return ModularSet(math.gcd(a.coeff, k), a.base)  # b's residue modulo gcd(c, k) stays
        return ModularSet(1, 0)

    def _union(self, *sets: ModularSet) -> ModularSet:
        coeff = 0
        for s in sets:
            coeff = math.gcd(coeff, s.coeff)
        for s in sets[1:]:
            coeff = math.gcd(coeff, abs(s.base - sets[0].base))
        return ModularSet(coeff, sets[0].base)

    def visit_Min(self, e: E.Min) -> ModularSet:
        return self._union(self.visit(e.a), self.visit(e.b))

    visit_Max = visit_Min

    def visit_Select(self, e: E.Select) -> ModularSet:
        return self._union(self.visit(e.true_value), self.visit(e.false_value))


def detect_linear_equation(expr: Any, var_list: Any) -> list[PrimExpr]:
    """Coefficients ``[c_1, ..., c_n, base]`` with ``expr == sum(c_i * v_i) + base`` where no
    ``c_i`` or ``base`` mentions a variable of ``var_list``; ``[]`` when ``expr`` is not linear so."""
    e = simplify(convert(expr))
    variables = list(var_list)
    terms, const = Simplifier({})._linear(e)
    coeffs: dict[Var, PrimExpr] = {v: IntImm(e.dtype, 0) for v in variables}
    base: PrimExpr = IntImm(e.dtype, const)
    wanted = set(variables)
    for term, coeff in terms.values():
        factors = _factors(term)
        hits = [f for f in factors if isinstance(f, Var) and f in wanted]
        if len(hits) > 1:
            return []
        rest = [f for f in factors if not (hits and f is hits[0])]
        if any(wanted & set(free_vars(f)) for f in rest):
            return []
        part: PrimExpr = IntImm(e.dtype, coeff)
        for f in rest:
            part = part * f
        if hits:
            coeffs[hits[0]] = coeffs[hits[0]] + part
        else:
            base = base + part
    return [simplify(coeffs[v]) for v in variables] + [simplify(base)]


def _factors(term: PrimExpr) -> list[PrimExpr]:
    if isinstance(term, E.Mul):
        return _factors(term.a) + _factors(term.b)
    return [term]


__all__ = ["Analyzer", "ConstIntBound", "IntSet", "IntervalSet", "ModularSet", "detect_linear_equation",
           "neg_inf", "pos_inf"]
