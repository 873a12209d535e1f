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
        # IntervalSet(2, 3) as TVM users write it: plain ints become constants.
        self.min_value, self.max_value = convert(min_value), convert(max_value)

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
            new = ModularSet(a.b.value, b.value)
            old = self._mods.get(a.a)   # a % 4 == 1 inside a % 3 == 1: a % 12 == 1
            self._mods[a.a] = new if old is None else _intersect(old, new)
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
        """``expr`` simplified under the analyzer's facts, in up to ``steps`` passes (as TVM's
        Analyzer.simplify): a pass can leave a sum whose terms only cancel in the next one."""
        e = self._substitute(convert(expr))
        for _ in range(max(int(steps), 1)):
            out = simplify(e, self._ranges)
            if out is e:
                break
            e = out
        return e

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
        lo_v, hi_v = _ConstBound(self._ranges).visit(e)
        # The symbolic interval analysis is sometimes tighter (x % 8 + x // 8 * 8 is x): keep the
        # tighter constant side of the two.
        lo, hi = relax(simplify(e, self._ranges), self._ranges)
        if isinstance(lo, IntImm):
            lo_v = max(lo_v, lo.value)
        if isinstance(hi, IntImm):
            hi_v = min(hi_v, hi.value)
        lo_v = ConstIntBound.NEG_INF if lo_v == -math.inf else max(int(lo_v), ConstIntBound.NEG_INF)
        hi_v = ConstIntBound.POS_INF if hi_v == math.inf else min(int(hi_v), ConstIntBound.POS_INF)
        return ConstIntBound(lo_v, hi_v)

    def modular_set(self, expr: Any) -> ModularSet:
        """The coefficient and base every value of ``expr`` has: values are ``coeff * x + base``."""
        return _Modular(self._mods, self._ranges).visit(self._substitute(convert(expr)))

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


Bound = tuple[Any, Any]  # (lo, hi): ints, or -math.inf / math.inf for an unknown side


def _everything(dt: Any) -> Bound:
    """All values of an integer dtype; 64-bit limits are TVM's infinities."""
    lo, hi = _dtype_limits(dt)
    return (-math.inf if dt.bits >= 64 and lo < 0 else lo), (math.inf if dt.bits >= 64 else hi)


def _mul_ext(a: Any, b: Any) -> Any:
    return 0 if a == 0 or b == 0 else a * b


def _div_ext(a: Any, b: int, floor: bool) -> Any:
    if a in (math.inf, -math.inf):
        return a if b > 0 else -a
    q = a // b
    return q if floor or q >= 0 or q * b == a else q + 1


class _ConstBound:
    """Constant bounds of an integer expression, bottom-up, as TVM's ConstIntBound analysis
    computes them (an unbounded side is an infinity), but sound for tensorlang's wrap-around
    integers: a node whose finite bound leaves its dtype may wrap, so it gets the dtype's whole
    range; a cast keeps its operand's bound only when that fits the new type; division and
    modulo by a range that holds 0 include numpy's 0."""

    def __init__(self, ranges: Mapping[Var, Interval]):
        self.ranges = ranges
        self.lets: dict[Var, Bound] = {}
        self.depth = 0

    def visit(self, e: PrimExpr) -> Bound:
        dt = e.dtype
        if dt.is_float:
            if isinstance(e, E.FloatImm):
                return e.value, e.value
            if isinstance(e, E.Cast) and (e.value.dtype.is_int or e.value.dtype.is_bool) and dt.bits >= 32:
                return self.visit(e.value)   # exact for the small values bounds come out of
            return -math.inf, math.inf
        if not (dt.is_int or dt.is_bool) or dt.lanes != 1:
            return -math.inf, math.inf
        fn = getattr(self, "visit_" + type(e).__name__, None)
        lo, hi = fn(e) if fn is not None else _everything(dt)
        if dt.is_bool:
            return max(lo, 0), min(hi, 1)
        dlo, dhi = _dtype_limits(dt)
        if (lo != -math.inf and lo < dlo) or (hi != math.inf and hi > dhi):
            return _everything(dt)           # it may wrap around
        return lo, hi

    def visit_IntImm(self, e: IntImm) -> Bound:
        return e.value, e.value

    def visit_Var(self, e: Var) -> Bound:
        if e in self.lets:
            return self.lets[e]
        r = self.ranges.get(e)
        if r is None:
            return (0, math.inf) if type(e).__name__ == "SizeVar" else _everything(e.dtype)
        if self.depth > 8:
            return _everything(e.dtype)
        self.depth += 1
        try:
            lo = -math.inf if r.lo is None else self.visit(r.lo)[0]
            hi = math.inf if r.hi is None else self.visit(r.hi)[1]
        finally:
            self.depth -= 1
        return lo, hi

    visit_SizeVar = visit_Var

    def visit_Add(self, e: E.Add) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        return alo + blo, ahi + bhi

    def visit_Sub(self, e: E.Sub) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        return alo - bhi, ahi - blo

    def visit_Mul(self, e: E.Mul) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        corners = [_mul_ext(x, y) for x in (alo, ahi) for y in (blo, bhi)]
        return min(corners), max(corners)

    def _divisors(self, b: PrimExpr) -> tuple[list[Any], bool]:
        """The corner divisors of ``b``'s range with 0 left out, and whether 0 is in it."""
        blo, bhi = self.visit(b)
        dlo, dhi = _dtype_limits(b.dtype)
        blo, bhi = max(blo, dlo), min(bhi, dhi)
        zero = blo <= 0 <= bhi
        corners = []
        if bhi >= 1:
            corners += [max(blo, 1), bhi]
        if blo <= -1:
            corners += [blo, min(bhi, -1)]
        return corners, zero

    def _division(self, e: PrimExpr, floor: bool) -> Bound:
        alo, ahi = self.visit(e.a)
        divisors, zero = self._divisors(e.b)
        if zero and any(d < 0 for d in divisors) and any(d > 0 for d in divisors):
            return -math.inf, math.inf        # a divisor range across 0: |a / b| reaches |a|
        vals = [_div_ext(x, d, floor) for x in (alo, ahi) for d in divisors] + ([0] if zero else [])
        return (min(vals), max(vals)) if vals else (0, 0)

    def visit_FloorDiv(self, e: E.FloorDiv) -> Bound:
        return self._division(e, True)

    def visit_Div(self, e: E.Div) -> Bound:
        return self._division(e, False)

    def visit_FloorMod(self, e: E.FloorMod) -> Bound:
        alo, ahi = self.visit(e.a)
        blo, bhi = self.visit(e.b)
        lo = min(blo + 1, 0)                 # the result has b's sign (0 for b = 0, numpy's value)
        hi = max(bhi - 1, 0)
        if alo >= 0 and blo >= 0:
            hi = min(hi, ahi)                # x % b is x or smaller for x >= 0 and b >= 0
        if ahi <= 0 and bhi <= 0:
            lo = max(lo, alo)
        if alo >= 0 and blo > 0 and ahi < blo:
            return alo, ahi                  # x < b: x % b is x
        return lo, hi

    def visit_Mod(self, e: E.Mod) -> Bound:
        alo, ahi = self.visit(e.a)
        blo, bhi = self.visit(e.b)
        m = max(abs(blo), abs(bhi)) - 1      # the result has a's sign and |result| < |b|
        return (0 if alo >= 0 else max(alo, -m)), (0 if ahi <= 0 else min(ahi, m))

    def visit_Min(self, e: E.Min) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        return min(alo, blo), min(ahi, bhi)

    def visit_Max(self, e: E.Max) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        return max(alo, blo), max(ahi, bhi)

    def visit_Select(self, e: E.Select) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.true_value), self.visit(e.false_value)
        return min(alo, blo), max(ahi, bhi)

    def visit_Cast(self, e: E.Cast) -> Bound:
        lo, hi = self.visit(e.value)
        if e.value.dtype.is_float:
            lo = lo if lo in (-math.inf, math.inf) else math.trunc(lo)
            hi = hi if hi in (-math.inf, math.inf) else math.trunc(hi)
        dlo, dhi = _dtype_limits(e.dtype)
        if lo == -math.inf or hi == math.inf or lo < dlo or hi > dhi:
            return _everything(e.dtype)      # a value may not fit: it wraps
        return lo, hi

    def _shift_amounts(self, e: PrimExpr) -> tuple[int, int] | None:
        blo, bhi = self.visit(e.b)
        if blo < 0 or bhi >= e.dtype.bits:
            return None
        return int(blo), int(bhi)

    def visit_ShiftRight(self, e: E.ShiftRight) -> Bound:
        amounts = self._shift_amounts(e)
        if amounts is None:
            return _everything(e.dtype)
        alo, ahi = self.visit(e.a)
        vals = [x if x in (-math.inf, math.inf) else x >> k for x in (alo, ahi) for k in amounts]
        return min(vals), max(vals)

    def visit_ShiftLeft(self, e: E.ShiftLeft) -> Bound:
        amounts = self._shift_amounts(e)
        if amounts is None:
            return _everything(e.dtype)
        alo, ahi = self.visit(e.a)
        vals = [_mul_ext(x, 1 << k) for x in (alo, ahi) for k in amounts]
        return min(vals), max(vals)

    def visit_BitwiseAnd(self, e: E.BitwiseAnd) -> Bound:
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        if alo >= 0 and blo >= 0:
            return 0, min(ahi, bhi)
        if alo >= 0:
            return 0, ahi
        if blo >= 0:
            return 0, bhi
        return _everything(e.dtype)

    def visit_Let(self, e: E.Let) -> Bound:
        saved = self.lets.get(e.var)
        self.lets[e.var] = self.visit(e.value)
        try:
            return self.visit(e.body)
        finally:
            if saved is None:
                del self.lets[e.var]
            else:
                self.lets[e.var] = saved


def _intersect(a: ModularSet, b: ModularSet) -> ModularSet:
    """The values in both sets (Chinese remainders); the first set when they share none (only
    contradictory constraints give that)."""
    if a.coeff == 0 or b.coeff == 0:
        return a if a.coeff == 0 else b
    g = math.gcd(a.coeff, b.coeff)
    if (b.base - a.base) % g:
        return a
    lcm = a.coeff // g * b.coeff
    # a.base + a.coeff * t == b.base (mod b.coeff)
    t = ((b.base - a.base) // g * pow(a.coeff // g, -1, b.coeff // g)) % (b.coeff // g) if b.coeff // g > 1 else 0
    return ModularSet(lcm, a.base + a.coeff * t)


class _Modular:
    """Modular sets of integer expressions, bottom-up.  Arithmetic whose bounds fill its type may
    have wrapped around, which keeps residues only modulo a power of two: such a node's set is
    weakened to gcd(coeff, 2**bits)."""

    def __init__(self, mods: Mapping[Var, ModularSet], ranges: Mapping[Var, Interval] | None = None):
        self.mods = mods
        self.ranges = ranges or {}

    def _bound(self, e: PrimExpr) -> Bound:
        return _ConstBound(self.ranges).visit(e)

    def visit(self, e: PrimExpr) -> ModularSet:
        if isinstance(e, IntImm):
            return ModularSet(0, e.value)
        if isinstance(e, Var):
            return self.mods.get(e, ModularSet(1, 0))
        fn = getattr(self, "visit_" + type(e).__name__, None)
        m = fn(e) if fn is not None else ModularSet(1, 0)
        dt = e.dtype
        if isinstance(e, (E.Add, E.Sub, E.Mul, E.ShiftLeft)) and dt.is_int and dt.bits < 64 \
                and (dt.bits < 32 or dt.kind == "uint" or all(v in self.ranges for v in free_vars(e))) \
                and self._bound(e) == _everything(dt):
            # It may have wrapped.  Signed 32-bit index arithmetic on variables with no known
            # range is taken not to overflow, as the simplifier takes it.
            m = ModularSet(math.gcd(m.coeff, 1 << dt.bits), m.base)
        return m

    def visit_Cast(self, e: E.Cast) -> ModularSet:
        inner = e.value
        if inner.dtype.is_float and isinstance(inner, E.Cast):
            inner = inner.value                      # int -> float -> int: exact for bounded values
        if not inner.dtype.is_int or not (e.dtype.is_int or e.dtype.is_float):
            return ModularSet(1, 0)
        m = self.visit(inner)
        lo, hi = self._bound(inner)
        dlo, dhi = _dtype_limits(e.dtype) if e.dtype.is_int else (-(1 << 24), 1 << 24)
        if lo == -math.inf or hi == math.inf or lo < dlo or hi > dhi:
            bits = e.dtype.bits if e.dtype.is_int else 0
            return ModularSet(math.gcd(m.coeff, 1 << bits) if bits else 1, m.base if bits else 0)
        return m

    def visit_Div(self, e: E.Div) -> ModularSet:
        a = self.visit(e.a)
        if isinstance(e.b, IntImm) and e.b.value != 0:
            k = e.b.value
            if a.coeff % k == 0 and a.base % k == 0:   # an exact division: truncation is floor
                return ModularSet(a.coeff // abs(k), a.base // k)
            if self._bound(e.a)[0] >= 0 and k > 0:     # non-negative: truncation is floor
                return self.visit_FloorDiv(E.FloorDiv(e.a, e.b))
        return ModularSet(1, 0)

    def visit_ShiftRight(self, e: E.ShiftRight) -> ModularSet:
        if isinstance(e.b, IntImm) and 0 <= e.b.value < e.dtype.bits - 1:
            return self.visit_FloorDiv(E.FloorDiv(e.a, IntImm(e.dtype, 1 << e.b.value)))
        return ModularSet(1, 0)

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
