"""Algebraic simplification of expressions, with optional variable ranges.

Guarantees: the result computes the same value as the input for every assignment of
variables within ``ranges``; integer sums are in a canonical linear form (terms in first-seen
order, constant last), so ``(xo*4 + xi) - xo*4`` becomes ``xi`` and ``min(i, i + 1)`` becomes
``i``; comparisons, min/max, floordiv and floormod that the ranges decide are folded.
Float arithmetic is only constant-folded (in the expression's own precision).

Integers wrap around (tensorlang.te.numeric).  The canonical linear form is exact modulo
2**bits, so it applies to every integer; rules that need true integer order (deciding a
comparison from a difference, dividing a sum term by term, min/max by difference) apply only
to index arithmetic: signed 32/64-bit expressions that read no tensor data and whose known
bounds fit their dtype.  ``int8(A) > int8(A) - 1`` therefore stays a comparison (it is false
for A = -128), while ``i + 1 > i`` for a loop index folds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..te import expr as E
from ..te import numeric
from ..te.expr import IntImm, PrimExpr, Var
from ..te.functor import Mutator, children, free_vars, substitute
from .interval import Interval, eval_interval
from .structural import structural_key

# A linear form: (ordered dict of key -> [term, coeff], constant)
Linear = tuple[dict, int]


def simplify(e: PrimExpr, ranges: Mapping[Var, Interval] | None = None) -> PrimExpr:
    """Simplify ``e``; ``ranges`` bounds variables (e.g. loop variables) to decide conditions."""
    return Simplifier(ranges or {}).visit(e)


def const_bound(e: PrimExpr, ranges: Mapping[Var, Interval]) -> tuple[int | None, int | None]:
    """Constant lower and upper bounds of an integer expression (None when unknown)."""
    return _constants(*relax(e, ranges))


def _constants(lo: PrimExpr | None, hi: PrimExpr | None) -> tuple[int | None, int | None]:
    """The values of the bounds that are constants (None for the others)."""
    return (lo.value if isinstance(lo, IntImm) else None, hi.value if isinstance(hi, IntImm) else None)


def relax(e: PrimExpr, ranges: Mapping[Var, Interval]) -> tuple[PrimExpr | None, PrimExpr | None]:
    """Lower and upper bounds of ``e`` over ``ranges``, relaxing until no ranged variable
    remains in the bounds (the bounds of one range may mention other ranged variables)."""
    iv = eval_interval(e, ranges)
    lo, hi = iv.lo, iv.hi
    for _ in range(16):
        if lo is not None:
            lo = simplify(lo)
        if hi is not None:
            hi = simplify(hi)
        moved = False
        if lo is not None and not isinstance(lo, IntImm) and _mentions(lo, ranges):
            lo, moved = eval_interval(lo, ranges).lo, True
        if hi is not None and not isinstance(hi, IntImm) and _mentions(hi, ranges):
            hi, moved = eval_interval(hi, ranges).hi, True
        if not moved:
            break
    return lo, hi


def affine_in(d: PrimExpr, v: Var) -> tuple[int, PrimExpr] | None:
    """``(a, rest)`` with ``d == a*v + rest``, ``a != 0`` and ``v`` not in ``rest``, for signed
    32/64-bit ``d``; None otherwise.

    Decided on the canonical linear form, never by sampling: ``v % 3`` agrees with ``v`` at
    0, 1 and 2 but is not linear in ``v``."""
    if not (d.dtype.is_signed and d.dtype.bits >= 32 and d.dtype.lanes == 1):
        return None  # narrow or unsigned arithmetic wraps inside the loop's range
    terms, const = Simplifier({})._linear(simplify(d))
    a = 0
    rest: list[tuple[PrimExpr, int]] = []
    for term, coeff in terms.values():
        if isinstance(term, Var) and term is v:
            a += coeff
        elif v in free_vars(term):
            return None  # v under a floordiv/mod/min/max/select/load: not linear
        elif coeff != 0:
            rest.append((term, coeff))
    if a == 0:
        return None
    out: PrimExpr = E.const(const, d.dtype)
    for term, coeff in rest:
        out = out + (term if coeff == 1 else term * E.const(coeff, d.dtype))
    return a, simplify(out)


def _mentions(e: PrimExpr, ranges: Mapping[Var, Interval]) -> bool:
    return any(v in ranges for v in free_vars(e))


def can_prove(cond: PrimExpr, ranges: Mapping[Var, Interval] | None = None) -> bool:
    """True when ``cond`` simplifies to the constant True under ``ranges``."""
    s = simplify(cond, ranges)
    return isinstance(s, IntImm) and bool(s.value)


def _is_index(e: PrimExpr) -> bool:
    return e.dtype.is_int and e.dtype.lanes == 1


_DATA = (E.TensorRead, E.Load, E.Call, E.Reduce)


def _has_const_mod(e: PrimExpr) -> bool:
    """Whether ``e`` has a floormod by a positive constant (the only bound an unranged
    variable's expression can have)."""
    t = type(e)
    if t is E.FloorMod:
        return isinstance(e.b, IntImm) and e.b.value > 0 or _has_const_mod(e.a)
    if t in (E.Add, E.Sub, E.Mul, E.FloorDiv):
        return _has_const_mod(e.a) or _has_const_mod(e.b)
    return False


def _divisor(e: PrimExpr) -> int:
    """A positive integer that always divides the value of the index expression ``e`` (1 when
    nothing better is known): constants, products with constants, sums, and ``x % m`` (a
    multiple of gcd(divisor(x), m)).  Used only on exact (non-wrapping) index arithmetic."""
    t = type(e)
    if t is IntImm:
        return abs(e.value)  # 0 divides by everything: gcd(0, m) is m
    if t is E.Mul:
        return _divisor(e.a) * _divisor(e.b)
    if t is E.Add or t is E.Sub:
        return math.gcd(_divisor(e.a), _divisor(e.b))
    if t is E.FloorMod and isinstance(e.b, IntImm) and e.b.value > 0:
        return math.gcd(_divisor(e.a), e.b.value)
    return 1


class Simplifier(Mutator):
    """The simplifying mutator; see the module docstring for what it guarantees."""

    def __init__(self, ranges: Mapping[Var, Interval]):
        super().__init__()
        self.ranges = ranges
        self._index_memo: dict[int, bool] = {}
        # structural key of e -> (ids of the ranges' variables and intervals, e and the ranges' items,
        # relax(e, ranges)): one expression tree is relaxed again and again (every min, max,
        # division and comparison above it asks, on trees rebuilt each time), and relax simplifies
        # its bounds each time. An entry holds e (whose variables its key names by id) and the range
        # objects it was computed under, so their ids stay theirs; a changed range misses.
        self._relax_memo: dict[object, tuple] = {}
        self._done: dict[int, tuple] = {}  # id(e) -> (e, ranges' ids, simplified e): see visit

    def visit(self, e: Any, *extra: Any) -> Any:
        """Each expression object simplified once while the ranges stay the same objects, and a
        result taken as simplified: min, max and the linear forms visit their simplified operands
        again, which made clamps nested in clamps (a cache region's bounds) exponential."""
        if extra:
            return super().visit(e, *extra)
        ranges = self.ranges
        sig = (tuple(map(id, ranges)), tuple(map(id, ranges.values()))) if ranges else ()
        hit = self._done.get(id(e))
        if hit is not None and hit[0] is e and hit[1] == sig:
            return hit[2]
        out = super().visit(e)
        self._done[id(e)] = (e, sig, out)
        self._done[id(out)] = (out, sig, out)
        return out

    def _relax(self, e: PrimExpr) -> tuple[PrimExpr | None, PrimExpr | None]:
        """``relax(e, self.ranges)``, remembered while the ranges stay the same objects."""
        ranges = self.ranges
        sig = (tuple(map(id, ranges)), tuple(map(id, ranges.values())))
        key = structural_key(e)
        hit = self._relax_memo.get(key)
        if hit is not None and hit[0] == sig:
            return hit[2]
        bounds = relax(e, ranges)
        self._relax_memo[key] = (sig, (e, list(ranges.items())), bounds)
        return bounds

    # -- which algebra applies ------------------------------------------------------------
    def _index_like(self, e: PrimExpr) -> bool:
        """Signed 32/64-bit arithmetic on variables and constants only (no tensor data)."""
        key = id(e)
        hit = self._index_memo.get(key)
        if hit is None:
            dt = e.dtype
            if not (dt.is_signed and dt.bits >= 32 and dt.lanes == 1) or isinstance(e, _DATA):
                hit = False
            elif isinstance(e, E.Cast) and not e.value.dtype.is_int:
                hit = False
            else:
                hit = all(self._index_like(c) for c in children(e)
                          if c.dtype.is_int or not isinstance(e, E.Select))
            self._index_memo[key] = hit
        return hit

    def _exact(self, *operands: PrimExpr) -> bool:
        """Whether ordinary integer order holds for ``operands``: index arithmetic whose
        known constant bounds fit its dtype (value arithmetic may wrap around)."""
        for e in operands:
            if isinstance(e, IntImm) and e.dtype.is_signed and e.dtype.bits >= 32:
                continue
            if not self._index_like(e):
                return False
            if self.ranges:
                lo, hi = self._relax(e)
                for bound in (lo, hi):
                    if isinstance(bound, IntImm) and not numeric.fits(bound.value, e.dtype):
                        return False
                if (lo is None or hi is None) and all(v in self.ranges for v in free_vars(e)):
                    return False  # bounded variables, yet no bound: the interval overflowed
        return True

    # -- linear integer arithmetic ------------------------------------------------------
    def _linear(self, e: PrimExpr) -> Linear:
        t = type(e)
        if t is IntImm:
            return {}, e.value
        if t is E.Add or t is E.Sub:
            ta, ca = self._linear(e.a)
            tb, cb = self._linear(e.b)
            sign = 1 if t is E.Add else -1
            out = dict(ta)
            for k, (term, coeff) in tb.items():
                if k in out:
                    out[k] = [out[k][0], out[k][1] + sign * coeff]
                else:
                    out[k] = [term, sign * coeff]
            return out, ca + sign * cb
        if t is E.Mul:
            a, b = e.a, e.b
            if isinstance(a, IntImm):
                a, b = b, a
            if isinstance(b, IntImm):
                ta, ca = self._linear(a)
                return {k: [v[0], v[1] * b.value] for k, v in ta.items()}, ca * b.value
            a, b = self.visit(e.a), self.visit(e.b)
            if isinstance(a, IntImm) or isinstance(b, IntImm):
                return self._linear(E.Mul(a, b))
            return self._term(e.with_fields(a=a, b=b))
        s = self.visit(e)
        if type(s) in (E.Add, E.Sub, IntImm) or (type(s) is E.Mul and isinstance(s.b, IntImm)):
            return self._linear(s) if s is not e else self._term(s)
        return self._term(s)

    @staticmethod
    def _term(e: PrimExpr) -> Linear:
        return {structural_key(e): [e, 1]}, 0

    def _build(self, lin: Linear, dtype) -> PrimExpr:
        terms, c = lin
        terms = self._merge_div_mod(terms)
        pos = [(t, k) for t, k in terms.values() if k > 0]
        neg = [(t, -k) for t, k in terms.values() if k < 0]
        out: PrimExpr | None = None
        for t, k in pos:
            x = t if k == 1 else E.Mul(t, IntImm(dtype, k))
            out = x if out is None else E.Add(out, x)
        for t, k in neg:
            x = t if k == 1 else E.Mul(t, IntImm(dtype, k))
            out = E.Sub(IntImm(dtype, 0), x) if out is None else E.Sub(out, x)
        if out is None:
            return IntImm(dtype, c)
        if c > 0 or (c < 0 and not numeric.fits(-c, dtype)):  # x - INT_MIN would wrap: x + INT_MIN
            out = E.Add(out, IntImm(dtype, c))
        elif c < 0:
            out = E.Sub(out, IntImm(dtype, -c))
        return out

    @staticmethod
    def _merge_div_mod(terms: dict) -> dict:
        # (x // c) * (c*k) + (x % c) * k  ->  x * k   (undoes fuse/split index arithmetic); the
        # same identity holds for truncdiv / truncmod, whatever the sign of x.  With y = x % c1
        # for a c1 that c divides, y % c == x % c, so ((x % c1) // c) * (c*k) + (x % c) * k is
        # (x % c1) * k: a flattened reshape index i // 12 * 12 + i % 12 // 4 * 4 + i % 4 folds to i;
        # likewise (x // c % m) * (c*k) + (x % c) * k is (x % (c*m)) * k (topi.reshape's index form).
        out = dict(terms)
        changed = True
        while changed:
            changed = False
            mods = [(key, t) for key, (t, k) in out.items()
                    if type(t) in (E.FloorMod, E.Mod) and isinstance(t.b, IntImm) and t.b.value != 0]
            for key, t in mods:
                k = out[key][1]
                if k == 0:
                    continue
                c = t.b.value
                div = E.FloorDiv if type(t) is E.FloorMod else E.Div
                xkey = structural_key(t.a)
                dkey = structural_key(div(t.a, t.b))
                if dkey in out and out[dkey][1] == k * c:
                    merged = t.a
                else:
                    dkey = next((dk for dk, (d, dc) in out.items()
                                 if type(d) is div and dc == k * c and isinstance(d.b, IntImm) and d.b.value == c
                                 and type(d.a) is type(t) and isinstance(d.a.b, IntImm)
                                 and d.a.b.value % c == 0 and structural_key(d.a.a) == xkey), None)
                    if dkey is not None:
                        merged = out[dkey][0].a
                    else:
                        # (x // c % m) * (c*k) + (x % c) * k  ->  (x % (c*m)) * k, floor forms, c, m > 0
                        dkey = next((dk for dk, (d, dc) in out.items()
                                     if type(t) is E.FloorMod and c > 0 and type(d) is E.FloorMod and dc == k * c
                                     and isinstance(d.b, IntImm) and d.b.value > 0
                                     and numeric.fits(c * d.b.value, t.b.dtype)
                                     and type(d.a) is E.FloorDiv and isinstance(d.a.b, IntImm)
                                     and d.a.b.value == c and structural_key(d.a.a) == xkey), None)
                        if dkey is None:
                            continue
                        merged = E.FloorMod(t.a, IntImm(t.b.dtype, c * out[dkey][0].b.value))
                del out[dkey]
                del out[key]
                mkey = structural_key(merged)
                if mkey in out:
                    out[mkey] = [out[mkey][0], out[mkey][1] + k]
                else:
                    out[mkey] = [merged, k]
                changed = True
                break
        return {k: v for k, v in out.items() if v[1] != 0}

    def _canon(self, e: PrimExpr) -> PrimExpr:
        return self._build(self._linear(e), e.dtype)

    def visit_Add(self, e: E.Add) -> PrimExpr:
        if _is_index(e):
            return self._canon(e)
        return self._float_binary(e)

    visit_Sub = visit_Add

    def visit_Mul(self, e: E.Mul) -> PrimExpr:
        if _is_index(e):
            return self._canon(e)
        return self._float_binary(e)

    def _float_binary(self, e: PrimExpr) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        if isinstance(a, E.FloatImm) and isinstance(b, E.FloatImm):
            dt = e.dtype.numpy()
            x, y = dt.type(a.value), dt.type(b.value)
            with np.errstate(all="ignore"):
                val = {E.Add: x + y, E.Sub: x - y, E.Mul: x * y, E.Div: x / y}.get(type(e))
            if val is not None:
                return E.FloatImm(e.dtype, float(val))
        return e.with_fields(a=a, b=b)

    # -- division -----------------------------------------------------------------------
    def visit_FloorDiv(self, e: E.FloorDiv) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        if not _is_index(e) or not isinstance(b, IntImm) or b.value <= 0:
            return self._fold_or_rebuild(e, a, b)
        c = b.value
        if c == 1:
            return a
        if isinstance(a, IntImm):
            return IntImm(e.dtype, a.value // c)
        if (type(a) is E.FloorDiv and isinstance(a.b, IntImm) and a.b.value > 0
                and numeric.fits(a.b.value * c, e.dtype)):
            return self.visit(E.FloorDiv(a.a, IntImm(e.dtype, a.b.value * c)))
        terms, k = self._linear(a) if self._exact(a) else ({}, None)
        if k is None or not numeric.fits(k, e.dtype):
            return e.with_fields(a=a, b=b)
        q = {key: [t, co // c] for key, (t, co) in terms.items() if co % c == 0}
        r = {key: [t, co] for key, (t, co) in terms.items() if co % c != 0}
        for key, (t, co) in list(r.items()):
            # A term that is always a multiple of c divides exactly: (x*32 % 128 + 31) // 2 is
            # (x*32 % 128) // 2 + 15, so it cancels against (x*32 % 128) // 2.
            g = math.gcd(co, c)
            if (co * _divisor(t)) % c == 0:
                del r[key]
                qt = E.FloorDiv(t, IntImm(e.dtype, c // g))
                qkey = structural_key(qt)
                old = q.get(qkey)
                q[qkey] = [qt, co // g + (old[1] if old else 0)]
        rest = self._build((r, k % c), e.dtype)
        lo, hi = self._bounds(rest)
        if lo is not None and hi is not None and 0 <= lo and hi < c:
            return self._build((q, k // c), e.dtype)
        if not r and k % c == 0:
            return self._build((q, k // c), e.dtype)
        if lo is not None and hi is not None and lo // c == hi // c and not q:
            return IntImm(e.dtype, lo // c + k // c)
        return e.with_fields(a=a, b=b)

    def visit_FloorMod(self, e: E.FloorMod) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        if not _is_index(e) or not isinstance(b, IntImm) or b.value <= 0:
            return self._fold_or_rebuild(e, a, b)
        c = b.value
        if c == 1:
            return IntImm(e.dtype, 0)
        if isinstance(a, IntImm):
            return IntImm(e.dtype, a.value % c)
        # (x % d) % c -> x % c when c divides d; not for d = 0, where x % 0 is 0 (numpy's value).
        if type(a) is E.FloorMod and isinstance(a.b, IntImm) and a.b.value != 0 and a.b.value % c == 0:
            return self.visit(E.FloorMod(a.a, b))
        terms, k = self._linear(a) if self._exact(a) else ({}, None)
        if k is None or not numeric.fits(k, e.dtype):
            return e.with_fields(a=a, b=b)
        r = {key: [t, co] for key, (t, co) in terms.items() if (co * _divisor(t)) % c != 0}
        rest = self._build((r, k % c), e.dtype)
        lo, hi = self._bounds(rest)
        if lo is not None and hi is not None and 0 <= lo and hi < c:
            return rest
        if len(r) < len(terms) or k % c != k:
            return E.FloorMod(rest, b)
        return e.with_fields(a=a, b=b)

    def _fold_or_rebuild(self, e: PrimExpr, a: PrimExpr, b: PrimExpr) -> PrimExpr:
        if isinstance(a, IntImm) and isinstance(b, IntImm) and a.dtype.lanes == 1:
            return IntImm(e.dtype, numeric.fold_int(type(e).__name__, a.value, b.value, a.dtype))
        if e.dtype.is_float and isinstance(a, E.FloatImm) and isinstance(b, E.FloatImm):
            return self._float_binary(type(e)(a, b))
        return e.with_fields(a=a, b=b)

    def visit_Div(self, e: E.Div) -> PrimExpr:
        if e.dtype.is_float:
            return self._float_binary(e)
        a, b = self.visit(e.a), self.visit(e.b)
        if isinstance(b, IntImm) and b.value > 0 and self._exact(a):
            lo, _ = self._bounds(a)
            if lo is not None and lo >= 0:  # truncation equals floor for non-negative values
                return self.visit(E.FloorDiv(a, b))
            terms, k = self._linear(a)
            c = b.value
            if k % c == 0 and all(co % c == 0 for _, co in terms.values()):
                # an exact division (48x + 16 by 16): truncation and floor agree, whatever the sign
                return self.visit(E.FloorDiv(a, b))
        return self._fold_or_rebuild(e, a, b)

    def visit_Mod(self, e: E.Mod) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        if e.dtype.is_int and isinstance(b, IntImm) and b.value > 0 and self._exact(a):
            lo, _ = self._bounds(a)
            if lo is not None and lo >= 0:
                return self.visit(E.FloorMod(a, b))
        return self._fold_or_rebuild(e, a, b)

    def _bounds(self, e: PrimExpr) -> tuple[int | None, int | None]:
        if isinstance(e, IntImm):
            return e.value, e.value
        lo, hi = self._const_bound(e) if self.ranges else (None, None)
        if (lo is None or hi is None) and _has_const_mod(e):
            # x % 2 lies in [0, 1] whatever x is: the constant-bound analysis knows it even for a
            # variable with no range (x % 2 // 8 is 0).
            from .analyzer import _ConstBound  # the analyzer sits on top of this module
            clo, chi = _ConstBound(self.ranges).visit(e)
            lo = lo if lo is not None else (None if clo == -math.inf else int(clo))
            hi = hi if hi is not None else (None if chi == math.inf else int(chi))
        return lo, hi

    def _const_bound(self, e: PrimExpr) -> tuple[int | None, int | None]:
        """``const_bound(e, self.ranges)``, through the memo of ``_relax``."""
        return _constants(*self._relax(e))

    # -- min / max / comparisons ----------------------------------------------------------
    def _diff_bounds(self, a: PrimExpr, b: PrimExpr) -> tuple[int | None, int | None]:
        terms, c = self._linear(E.Sub(a, b))
        if numeric.fits(c, a.dtype) and all(numeric.fits(abs(k), a.dtype) for _, k in terms.values()):
            return self._bounds(self._build((terms, c), a.dtype))
        # The canonical difference would wrap: bound each side on its own, exactly.
        alo, ahi = self._bounds(a)
        blo, bhi = self._bounds(b)
        return (None if alo is None or bhi is None else alo - bhi,
                None if ahi is None or blo is None else ahi - blo)

    def visit_Min(self, e: E.Min) -> PrimExpr:
        return self._minmax(e, True)

    def visit_Max(self, e: E.Max) -> PrimExpr:
        return self._minmax(e, False)

    def _minmax(self, e: PrimExpr, is_min: bool) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        same = E.Min if is_min else E.Max
        for x, y in ((a, b), (b, a)):
            # min(min(p, q), q) is min(p, q): a bound taken twice (loop partitioning meets one
            # guard per access) must not grow a chain that every later simplify walks again.
            if isinstance(x, same) and structural_key(y) in (structural_key(x.a), structural_key(x.b)):
                return x
        if structural_key(a) == structural_key(b):
            return a
        if _is_index(e):
            if isinstance(a, IntImm) and isinstance(b, IntImm):
                return IntImm(e.dtype, min(a.value, b.value) if is_min else max(a.value, b.value))
            d = self._canon(E.Sub(a, b))
            if isinstance(d, IntImm) and d.value == 0:
                return a
            if self._exact(a, b):
                lo, hi = self._diff_bounds(a, b)
                if hi is not None and hi <= 0:
                    return a if is_min else b
                if lo is not None and lo >= 0:
                    return b if is_min else a
        elif isinstance(a, E.FloatImm) and isinstance(b, E.FloatImm):
            # numpy.minimum/maximum in the expression's own dtype: NaN on either side wins, and
            # a tie of -0.0 and 0.0 gives what numpy's loop for that dtype gives (b for float32
            # and float64, a for float16), as the code generators do.
            pick = np.minimum if is_min else np.maximum
            dt = e.dtype.numpy()
            return E.FloatImm(e.dtype, float(pick(np.array([a.value], dt), np.array([b.value], dt))[0]))
        return e.with_fields(a=a, b=b)

    def visit_CmpOp(self, e: E.CmpOp) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        if isinstance(a, IntImm) and isinstance(b, IntImm) and a.dtype.lanes == 1:
            return IntImm("bool", numeric.fold_int(type(e).__name__, a.value, b.value, a.dtype))
        if _is_index(a) and not self._exact(a, b):
            # Wrapping arithmetic: only a difference that is exactly zero decides anything.
            d = self._canon(E.Sub(a, b))
            if isinstance(d, IntImm) and d.value == 0:
                return IntImm("bool", type(e) in (E.EQ, E.LE, E.GE))
            return e.with_fields(a=a, b=b)
        if _is_index(a):
            lo, hi = self._diff_bounds(a, b)
            t = type(e)
            verdict = None
            if t is E.LT:
                verdict = True if hi is not None and hi < 0 else False if lo is not None and lo >= 0 else None
            elif t is E.LE:
                verdict = True if hi is not None and hi <= 0 else False if lo is not None and lo > 0 else None
            elif t is E.GT:
                verdict = True if lo is not None and lo > 0 else False if hi is not None and hi <= 0 else None
            elif t is E.GE:
                verdict = True if lo is not None and lo >= 0 else False if hi is not None and hi < 0 else None
            elif t is E.EQ:
                verdict = (True if lo == hi == 0 else False
                           if (lo is not None and lo > 0) or (hi is not None and hi < 0) else None)
            elif t is E.NE:
                verdict = (False if lo == hi == 0 else True
                           if (lo is not None and lo > 0) or (hi is not None and hi < 0) else None)
            if verdict is not None:
                return IntImm("bool", verdict)
            return self._canonical_compare(type(e), a, b)
        elif isinstance(a, E.FloatImm) and isinstance(b, E.FloatImm):
            return IntImm("bool", {E.LT: a.value < b.value, E.LE: a.value <= b.value, E.GT: a.value > b.value,
                         E.GE: a.value >= b.value, E.EQ: a.value == b.value,
                         E.NE: a.value != b.value}[type(e)])
        return e.with_fields(a=a, b=b)

    def _canonical_compare(self, cls: type, a: PrimExpr, b: PrimExpr) -> PrimExpr:
        """``a op b`` as ``(terms with positive coefficients) op (the rest)`` of ``a - b``, so
        terms common to both sides cancel: ``x//8 + i < i + 16`` becomes ``x//8 < 16``."""
        terms, c = self._linear(E.Sub(a, b))
        if not all(numeric.fits(x, a.dtype) for x in (c, -c, *(abs(k) for _, k in terms.values()))):
            return cls(a, b)  # moving terms across would wrap
        pos = {k: v for k, v in terms.items() if v[1] > 0}
        neg = {k: [v[0], -v[1]] for k, v in terms.items() if v[1] < 0}
        lhs = self._build((pos, max(c, 0) if not neg and not pos else 0), a.dtype)
        rhs = self._build((neg, -c), a.dtype)
        if not pos and c > 0:
            lhs, rhs = IntImm(a.dtype, 0), self._build((neg, -c), a.dtype)
        if self.ranges and not self._exact(lhs, rhs):
            # The rearranged sides would wrap where a and b do not: INT_MAX < v is not
            # 0 < v - INT_MAX for a negative v.
            return cls(a, b)
        return cls(lhs, rhs)

    # -- logic and selection -----------------------------------------------------------
    def visit_And(self, e: E.And) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        for x, y in ((a, b), (b, a)):
            if isinstance(x, IntImm) and x.dtype.lanes == 1:
                return y if x.value else IntImm(e.dtype, 0)
        return e.with_fields(a=a, b=b)

    def visit_Or(self, e: E.Or) -> PrimExpr:
        a, b = self.visit(e.a), self.visit(e.b)
        for x, y in ((a, b), (b, a)):
            if isinstance(x, IntImm) and x.dtype.lanes == 1:
                return IntImm(e.dtype, 1) if x.value else y
        return e.with_fields(a=a, b=b)

    def visit_Not(self, e: E.Not) -> PrimExpr:
        a = self.visit(e.a)
        if isinstance(a, IntImm):
            return IntImm(e.dtype, 0 if a.value else 1)
        if isinstance(a, E.Not):
            return a.a
        return e.with_fields(a=a)

    def visit_Select(self, e: E.Select) -> PrimExpr:
        c = self.visit(e.condition)
        if isinstance(c, IntImm):
            return self.visit(e.true_value if c.value else e.false_value)
        t, f = self.visit(e.true_value), self.visit(e.false_value)
        if structural_key(t) == structural_key(f):
            return t
        return e.with_fields(condition=c, true_value=t, false_value=f)

    def visit_Let(self, e: E.Let) -> PrimExpr:
        value = self.visit(e.value)
        if isinstance(value, (IntImm, E.FloatImm, Var)):
            # A constant or a variable is inlined, as TVM's simplifier does: let x = 1 in x + 1 is 2.
            return self.visit(substitute(e.body, {e.var: value}))
        return e.with_fields(value=value, body=self.visit(e.body))

    def visit_Cast(self, e: E.Cast) -> PrimExpr:
        v = self.visit(e.value)
        if v.dtype == e.dtype:
            return v
        if isinstance(v, (IntImm, E.FloatImm)) and e.dtype.lanes == 1:
            if e.dtype.is_float:
                with np.errstate(over="ignore"):  # 1e30 -> float16 is inf, quietly (as te.cast folds it)
                    return E.FloatImm(e.dtype, float(np.array(v.value).astype(e.dtype.numpy())))
            if isinstance(v, IntImm):
                return IntImm(e.dtype, v.value != 0 if e.dtype.is_bool else v.value)
        return e.with_fields(value=v)

    def visit_Call(self, e: E.Call) -> PrimExpr:
        args = tuple(self.visit(a) for a in e.args)
        if e.name == "likely" and isinstance(args[0], IntImm):
            return args[0]
        return e.with_fields(args=args)
