"""Interval analysis of integer expressions: symbolic lower and upper bounds.

An ``Interval`` is the closed range [lo, hi]; a bound of ``None`` is unbounded.  Bounds are
expressions and may mention variables the caller chose to keep symbolic (for example the
loop variables that enclose an attach point).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..te import expr as E
from ..te.expr import IntImm, PrimExpr, Var
from ..te.functor import free_vars
from ..te.numeric import fits, int_range


class Interval:
    """The closed integer interval [lo, hi] (``None`` = unbounded on that side)."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: PrimExpr | None, hi: PrimExpr | None):
        self.lo, self.hi = lo, hi

    @staticmethod
    def point(e: PrimExpr) -> Interval:
        return Interval(e, e)

    @staticmethod
    def from_range(min_: PrimExpr, extent: PrimExpr) -> Interval:
        return Interval(min_, min_ + extent - 1)

    def is_point(self) -> bool:
        return self.lo is not None and self.lo is self.hi

    def __repr__(self) -> str:
        return f"[{self.lo}, {self.hi}]"


def _c(e: PrimExpr | None) -> int | None:
    return e.value if isinstance(e, IntImm) else None


def _exact(value: int, dtype: Any) -> PrimExpr | None:
    """A constant bound, or unbounded (None) when the true bound does not fit the dtype: the
    wrapped-around constant would be a wrong bound."""
    return IntImm(dtype, value) if fits(value, dtype) else None


def _add(a: PrimExpr | None, b: PrimExpr | None) -> PrimExpr | None:
    if a is None or b is None:
        return None
    if isinstance(a, IntImm) and isinstance(b, IntImm) and a.dtype == b.dtype:
        return _exact(a.value + b.value, a.dtype)
    return a + b


def _sub(a: PrimExpr | None, b: PrimExpr | None) -> PrimExpr | None:
    if a is None or b is None:
        return None
    if isinstance(a, IntImm) and isinstance(b, IntImm) and a.dtype == b.dtype:
        return _exact(a.value - b.value, a.dtype)
    return a - b


def _scale(a: PrimExpr | None, c: int) -> PrimExpr | None:
    if a is None:
        return None
    if isinstance(a, IntImm):
        return _exact(a.value * c, a.dtype)
    return a * c


def _min(a: PrimExpr | None, b: PrimExpr | None) -> PrimExpr | None:
    if a is None or b is None:
        return None
    ca, cb = _c(a), _c(b)
    if ca is not None and cb is not None:
        return a if ca <= cb else b
    return E.min_(a, b)


def _max(a: PrimExpr | None, b: PrimExpr | None) -> PrimExpr | None:
    if a is None or b is None:
        return None
    ca, cb = _c(a), _c(b)
    if ca is not None and cb is not None:
        return a if ca >= cb else b
    return E.max_(a, b)


def union(a: Interval, b: Interval) -> Interval:
    """The smallest interval containing both."""
    lo = None if a.lo is None or b.lo is None else _min(a.lo, b.lo)
    hi = None if a.hi is None or b.hi is None else _max(a.hi, b.hi)
    return Interval(lo, hi)


# Operators increasing in their first operand and increasing (or, flagged True, decreasing) in the
# second: each bound of the result is the operator on the matching bounds of the operands.
_MONOTONE = {E.Add: (_add, False), E.Sub: (_sub, True), E.Min: (_min, False), E.Max: (_max, False)}


def eval_interval(e: PrimExpr, ranges: Mapping[Var, Interval]) -> Interval:
    """Bounds of ``e`` when each variable in ``ranges`` varies over its interval; variables
    not in ``ranges`` stay symbolic (a point).  Bounds are not simplified here."""
    return _Eval(ranges).run(e)


class _Eval:
    def __init__(self, ranges: Mapping[Var, Interval]):
        self.ranges = ranges
        self.memo: dict[int, Interval] = {}

    def run(self, e: PrimExpr) -> Interval:
        key = id(e)
        got = self.memo.get(key)
        if got is None:
            got = self._eval(e)
            dt = e.dtype
            if (got.lo is None) != (got.hi is None) and dt.is_int and dt.lanes == 1 and \
                    (dt.bits < 32 or not dt.is_signed):
                # Narrow or unsigned arithmetic wraps around: a bound lost to overflow leaves the
                # other one meaningless (int8(i) * -21 for i in [0, 12] is not <= 0).
                got = Interval(None, None)
            self.memo[key] = got
        return got

    def _eval(self, e: PrimExpr) -> Interval:
        t = type(e)
        if t is Var:
            r = self.ranges.get(e)
            return r if r is not None else Interval.point(e)
        if t is IntImm or t is E.FloatImm:
            return Interval.point(e)
        monotone = _MONOTONE.get(t)
        if monotone is not None:
            bound, b_decreasing = monotone
            a, b = self.run(e.a), self.run(e.b)
            b_lo, b_hi = (b.hi, b.lo) if b_decreasing else (b.lo, b.hi)
            return Interval(bound(a.lo, b_lo), bound(a.hi, b_hi))
        if t is E.Mul:
            return self._mul(e)
        if t in (E.FloorDiv, E.Div):
            return self._div(e)
        if t is E.FloorMod:
            return self._mod(e)
        if t is E.Mod:
            return self._truncmod(e)
        if t is E.BitwiseAnd:
            return self._bit_and(e)
        if t is E.ShiftRight and isinstance(e.b, IntImm) and 0 <= e.b.value < e.dtype.bits:
            a = self.run(e.a)   # a right shift by a constant floors a division: monotone
            return Interval(None if a.lo is None else E.binary(E.ShiftRight, a.lo, e.b),
                            None if a.hi is None else E.binary(E.ShiftRight, a.hi, e.b))
        if t is E.Select:
            return union(self.run(e.true_value), self.run(e.false_value))
        if t is E.Cast and e.dtype.is_int and e.value.dtype.is_int:
            inner = self.run(e.value)
            if inner.is_point():
                if inner.lo is e.value:
                    return Interval.point(e)  # stays a point (a product with it keeps its bounds)
                # the point a ranged variable takes (a loop of one iteration): cast that value
                return Interval.point(E.cast(inner.lo, e.dtype))
            src = e.value.dtype
            narrow = e.dtype.bits < 32 and (e.dtype.bits < src.bits or e.dtype.is_signed != src.is_signed)
            if any(isinstance(b, IntImm) and not fits(b.value, e.dtype) for b in (inner.lo, inner.hi)) or \
                    (narrow and not all(isinstance(b, IntImm) for b in (inner.lo, inner.hi))):
                # A narrowing cast of a range it cannot hold wraps around: int32(v) for v in
                # [2**31 - 3, 2**31 + 3] is not [2**31 - 3, -2**31 + 3]; any value may come out.  So
                # may a user's int8(i) of a loop over [0, n): int8(0)..int8(n - 1) would claim >= 0.
                lo, hi = int_range(e.dtype)
                return Interval(E.const(lo, e.dtype), E.const(hi, e.dtype))
            return Interval(None if inner.lo is None else E.cast(inner.lo, e.dtype),
                            None if inner.hi is None else E.cast(inner.hi, e.dtype))
        if t is E.Let:
            return self.run(e.body)
        if not _depends(e, self.ranges):
            return Interval.point(e)
        return Interval(None, None)

    def _bit_and(self, e: E.BitwiseAnd) -> Interval:
        """``x & c`` with a constant ``c >= 0`` lies in [0, c] whatever ``x`` is."""
        masks = [x.value for x in (e.a, e.b) if isinstance(x, IntImm) and x.value >= 0]
        if masks:
            return Interval(E.const(0, e.dtype), E.const(min(masks), e.dtype))
        if not _depends(e, self.ranges):
            return Interval.point(e)
        return Interval(None, None)

    def _mul(self, e: E.Mul) -> Interval:
        a, b = self.run(e.a), self.run(e.b)
        cb = _c(e.b) if isinstance(e.b, IntImm) else None
        ca = _c(e.a) if isinstance(e.a, IntImm) else None
        if cb is None and ca is not None:
            a, b, cb = b, a, ca
        if cb is not None:
            if cb >= 0:
                return Interval(_scale(a.lo, cb), _scale(a.hi, cb))
            return Interval(_scale(a.hi, cb), _scale(a.lo, cb))
        vals = [_c(a.lo), _c(a.hi), _c(b.lo), _c(b.hi)]
        if all(v is not None for v in vals):
            prods = [vals[0] * vals[2], vals[0] * vals[3], vals[1] * vals[2], vals[1] * vals[3]]
            return Interval(_exact(min(prods), e.dtype), _exact(max(prods), e.dtype))
        if a.is_point() and b.is_point():
            return Interval.point(e)
        return Interval(None, None)

    def _div(self, e: PrimExpr) -> Interval:
        a = self.run(e.a)
        c = _c(e.b)
        divisor = e.b.value if isinstance(e.b, E.Cast) and e.b.value.dtype.is_int and \
            e.b.dtype.bits >= e.b.value.dtype.bits else e.b  # widened for a 64-bit fused axis
        if c is None and type(e) is E.FloorDiv and isinstance(divisor, Var) and divisor not in self.ranges \
                and a.lo is not None and a.hi is not None:
            # A symbolic divisor is an extent (a fused axis's length): positive, so floor
            # division keeps the order, as TVM's bound inference assumes.
            return Interval(E.binary(E.FloorDiv, a.lo, e.b), E.binary(E.FloorDiv, a.hi, e.b))
        if c is None or c <= 0:
            return Interval.point(e) if not _depends(e, self.ranges) else Interval(None, None)
        floor = type(e) is E.FloorDiv
        lo = None if a.lo is None else (a.lo // c if floor else E.binary(E.Div, a.lo, c))
        hi = None if a.hi is None else (a.hi // c if floor else E.binary(E.Div, a.hi, c))
        if not floor:
            # Truncating division of a possibly negative value: widen toward zero.
            lo = None if lo is None else _min(lo, E.const(0, e.dtype))
            hi = None if hi is None else _max(hi, E.const(0, e.dtype))
        return Interval(lo, hi)

    def _mod(self, e: E.FloorMod) -> Interval:
        c = _c(e.b)
        if c is None or c <= 0:
            return Interval(None, None) if _depends(e, self.ranges) else Interval.point(e)
        a = self.run(e.a)
        alo, ahi = _c(a.lo), _c(a.hi)
        if alo is not None and ahi is not None and alo // c == ahi // c:
            return Interval(E.const(alo % c, e.dtype), E.const(ahi % c, e.dtype))
        span = _no_wrap_span(a, c)
        if span is not None:  # [lo, lo + span] never crosses a multiple of c
            base = E.binary(E.FloorMod, a.lo, E.const(c, e.dtype))
            return Interval(base, base + span)
        if not _depends(e, self.ranges):
            return Interval.point(e)
        return Interval(E.const(0, e.dtype), E.const(c - 1, e.dtype))


    def _truncmod(self, e: E.Mod) -> Interval:
        """``truncmod(x, c)`` for a constant ``c``: the sign of x and less than |c| in magnitude;
        the remainders of the ends when x stays within one block of |c| on one side of zero."""
        c = _c(e.b)
        if c is None or c == 0 or not _depends(e, self.ranges):
            return Interval(None, None) if _depends(e, self.ranges) else Interval.point(e)
        c = abs(c)
        a = self.run(e.a)
        alo, ahi = _c(a.lo), _c(a.hi)
        if alo is not None and ahi is not None:
            if alo >= 0 and alo // c == ahi // c:
                return Interval(E.const(alo % c, e.dtype), E.const(ahi % c, e.dtype))
            if ahi <= 0 and -ahi // c == -alo // c:
                return Interval(E.const(-(-alo % c), e.dtype), E.const(-(-ahi % c), e.dtype))
        lo = 0 if alo is not None and alo >= 0 else -(c - 1)
        hi = 0 if ahi is not None and ahi <= 0 else c - 1
        return Interval(E.const(lo, e.dtype), E.const(hi, e.dtype))


def _no_wrap_span(a: Interval, c: int) -> int | None:
    """``hi - lo`` when the interval [lo, hi] of symbolic bounds lies within one block of ``c``
    (``(3*x + i) % 6`` for i in [0, 2]): lo is g*k + r for a g dividing c and r + span < g."""
    if a.lo is None or a.hi is None or isinstance(a.lo, IntImm):
        return None
    from .simplify import Simplifier, simplify  # simplify evaluates intervals: a cycle, broken here
    span = simplify(a.hi - a.lo)
    if not isinstance(span, IntImm) or span.value < 0:
        return None
    terms, const0 = Simplifier({})._linear(simplify(a.lo))
    g = 0
    for _, coeff in terms.values():
        g = math.gcd(g, coeff)
    if g <= 0 or c % g or const0 % g + span.value >= g:
        return None
    return span.value


def _depends(e: PrimExpr, ranges: Mapping[Var, Interval]) -> bool:
    return any(v in ranges for v in free_vars(e))
