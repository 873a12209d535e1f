"""Where a guarded read runs, as lowering can tell: each loop variable's constant range plus
linear constraints over several of them (``i + j < n``, ``2*y + ky >= pad``), from guards that
are conjunctions, disjunctions and negations of comparisons between integer expressions linear
in the loop variables (constants times variables, plus a constant).

Guarantees: ``narrow(cond, holds, path)`` returns paths whose union holds every point of
``path`` where ``cond`` evaluates to ``holds`` (points may be kept that the guard excludes,
never dropped), or None when the guard is not understood (data-dependent, nonlinear, or more
than MAX_PATHS alternatives); ``index_bounds`` bounds a linear index at every point of a path;
``feasible_points`` enumerates exactly the points of a small path that meet its constraints.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from ..te import expr as E

Ranges = dict[E.Var, tuple[int, int]]  # a variable's smallest and largest value
Coefs = tuple[tuple[E.Var, int], ...]  # nonzero coefficients, in a fixed variable order
MAX_PATHS = 16  # alternatives a guard may split into (each != and each "or" adds some)


@dataclass(frozen=True)
class Linear:
    """``sum(c * v for v, c in coefs) + const``."""

    coefs: Coefs
    const: int

    def value(self, point: dict[E.Var, int]) -> int:
        return sum(c * point[v] for v, c in self.coefs) + self.const

    def bounds(self, ranges: Ranges) -> tuple[int, int]:
        lo = hi = self.const
        for v, c in self.coefs:
            a, b = c * ranges[v][0], c * ranges[v][1]
            lo, hi = lo + min(a, b), hi + max(a, b)
        return lo, hi


@dataclass(frozen=True)
class Constraint:
    """``lo <= sum(c * v) <= hi`` (coefficients with no common factor, the first positive)."""

    coefs: Coefs
    lo: int
    hi: int

    def holds(self, point: dict[E.Var, int]) -> bool:
        return self.lo <= Linear(self.coefs, 0).value(point) <= self.hi


@dataclass(frozen=True)
class Path:
    """The points a read may run at: every variable in its range, every constraint met."""

    ranges: Ranges
    constraints: tuple[Constraint, ...] = ()


def linear(e: E.PrimExpr) -> Linear | None:
    """``e`` as a linear form of integer variables, or None (a float, a division, a call...)."""
    terms: dict[E.Var, int] = {}
    const = 0
    stack: list[tuple[E.PrimExpr, int]] = [(e, 1)]
    while stack:
        node, scale = stack.pop()
        if not node.dtype.is_signed or node.dtype.bits < 32 or node.dtype.lanes != 1:
            return None  # unsigned and narrow arithmetic wrap: not the integers' linear algebra
        if isinstance(node, E.IntImm):
            const += scale * node.value
        elif isinstance(node, E.Var):
            terms[node] = terms.get(node, 0) + scale
        elif isinstance(node, (E.Add, E.Sub)):
            stack += [(node.a, scale), (node.b, scale if isinstance(node, E.Add) else -scale)]
        elif isinstance(node, E.Mul):
            a, b = linear(node.a), linear(node.b)
            if a is None or b is None or (a.coefs and b.coefs):
                return None
            form, factor = (a, b.const) if not b.coefs else (b, a.const)
            for v, c in form.coefs:
                terms[v] = terms.get(v, 0) + scale * factor * c
            const += scale * factor * form.const
        elif isinstance(node, E.Cast) and node.value.dtype.is_signed and node.dtype.bits >= node.value.dtype.bits:
            stack.append((node.value, scale))  # widening: the value is unchanged
        else:
            return None
    ordered = sorted(((v, c) for v, c in terms.items() if c), key=lambda vc: (vc[0].name, id(vc[0])))
    return Linear(tuple(ordered), const)


_NEGATE = {E.LT: E.GE, E.LE: E.GT, E.GT: E.LE, E.GE: E.LT, E.EQ: E.NE, E.NE: E.EQ}


def narrow(cond: E.PrimExpr, holds: bool, path: Path) -> list[Path] | None:
    """The paths covering the points of ``path`` where ``cond`` is ``holds`` (module docstring)."""
    out = _narrow(cond, holds, path)
    return out if out is None or len(out) <= MAX_PATHS else None


def _narrow(cond: E.PrimExpr, holds: bool, path: Path) -> list[Path] | None:
    if isinstance(cond, E.IntImm):
        return [path] if bool(cond.value) == holds else []
    if isinstance(cond, E.Not):
        return _narrow(cond.a, not holds, path)
    if isinstance(cond, E.Call) and cond.name == "likely" and len(cond.args) == 1:
        return _narrow(cond.args[0], holds, path)
    if isinstance(cond, (E.And, E.Or)):
        if isinstance(cond, E.And) == holds:  # both parts take ``holds``: one after the other
            first = _narrow(cond.a, holds, path)
            if first is None:
                return None
            out: list[Path] = []
            for p in first:
                more = _narrow(cond.b, holds, p)
                if more is None or len(out) + len(more) > MAX_PATHS:
                    return None
                out += more
            return out
        a, b = _narrow(cond.a, holds, path), _narrow(cond.b, holds, path)  # either part does
        return None if a is None or b is None or len(a) + len(b) > MAX_PATHS else a + b
    op = type(cond) if holds else _NEGATE.get(type(cond))
    if op is None or not isinstance(cond, E.CmpOp):
        return None
    a, b = linear(cond.a), linear(cond.b)
    if a is None or b is None:
        return None
    diff = _combine(a, b, -1)  # cond is: diff op 0
    if any(v not in path.ranges for v, _ in diff.coefs):
        return None
    k = -diff.const  # sum(coefs) op k
    if op is E.NE:
        return _constrained(path, diff.coefs, None, k - 1) + _constrained(path, diff.coefs, k + 1, None)
    lo, hi = {E.LT: (None, k - 1), E.LE: (None, k), E.GT: (k + 1, None), E.GE: (k, None), E.EQ: (k, k)}[op]
    return _constrained(path, diff.coefs, lo, hi)


def _combine(a: Linear, b: Linear, scale: int) -> Linear:
    """``a + scale * b``."""
    terms = dict(a.coefs)
    for v, c in b.coefs:
        terms[v] = terms.get(v, 0) + scale * c
    ordered = sorted(((v, c) for v, c in terms.items() if c), key=lambda vc: (vc[0].name, id(vc[0])))
    return Linear(tuple(ordered), a.const + scale * b.const)


def _constrained(path: Path, coefs: Coefs, lo: int | None, hi: int | None) -> list[Path]:
    """``path`` where ``lo <= sum(coefs) <= hi`` (None: unbounded): [] when no point is left."""
    if not coefs:
        return [path] if (lo is None or lo <= 0) and (hi is None or 0 <= hi) else []
    if coefs[0][1] < 0:  # the first coefficient positive: negate the form and its bounds
        coefs = tuple((v, -c) for v, c in coefs)
        lo, hi = (None if hi is None else -hi), (None if lo is None else -lo)
    g = math.gcd(*(c for _, c in coefs))  # integer points only: g*x <= hi means x <= floor(hi/g)
    coefs = tuple((v, c // g) for v, c in coefs)
    lo = None if lo is None else _ceil(lo, g)
    hi = None if hi is None else _floor(hi, g)
    form = Linear(coefs, 0)
    box_lo, box_hi = form.bounds(path.ranges)
    lo = box_lo if lo is None else max(lo, box_lo)
    hi = box_hi if hi is None else min(hi, box_hi)
    if lo > hi:
        return []
    if (lo, hi) == (box_lo, box_hi):
        return [path]  # every point of the path meets it
    ranges = dict(path.ranges)
    for v, c in coefs:  # each variable's share: c*v lies in [lo, hi] minus the others' range
        rest = Linear(tuple(x for x in coefs if x[0] is not v), 0).bounds(path.ranges)
        vlo, vhi = lo - rest[1], hi - rest[0]  # c*v in [vlo, vhi]; dividing by c < 0 swaps ends
        vlo, vhi = (_ceil(vlo, c), _floor(vhi, c)) if c > 0 else (_ceil(vhi, c), _floor(vlo, c))
        first, last = max(ranges[v][0], vlo), min(ranges[v][1], vhi)
        if first > last:
            return []
        ranges[v] = (first, last)
    if len(coefs) == 1:
        return [Path(ranges, path.constraints)]  # the range says it all
    kept = []
    for con in path.constraints:
        if con.coefs == coefs:
            lo, hi = max(lo, con.lo), min(hi, con.hi)
        else:
            kept.append(con)
    if lo > hi:
        return []
    return [Path(ranges, (*kept, Constraint(coefs, lo, hi)))]


def _ceil(a: int, b: int) -> int:
    """ceil(a / b) of integers, for either sign of b."""
    return -((-a) // b)


def _floor(a: int, b: int) -> int:
    return a // b


def index_bounds(idx: Linear, path: Path) -> tuple[int, int]:
    """Bounds of ``idx`` at every point of ``path``: its range over the variables' ranges,
    tightened by each constraint it contains a multiple of (``i + j - 1`` under ``i + j <= n``)."""
    lo, hi = idx.bounds(path.ranges)
    mine = dict(idx.coefs)
    for con in path.constraints:
        v, c = con.coefs[0]
        if mine.get(v, 0) % c:
            continue
        k = mine.get(v, 0) // c
        if k == 0:
            continue
        rest = _combine(idx, Linear(con.coefs, 0), -k)
        if any(v not in path.ranges for v, _ in rest.coefs):
            continue
        rlo, rhi = rest.bounds(path.ranges)
        a, b = k * con.lo, k * con.hi
        lo, hi = max(lo, min(a, b) + rlo), min(hi, max(a, b) + rhi)
    return lo, hi


def feasible_points(names: list[E.Var], path: Path, limit: int) -> Iterator[dict[E.Var, int]] | None:
    """Every point of ``names`` (plus the variables constraints tie them to) that meets the
    path's constraints; None when there are more than ``limit`` candidates to look at."""
    wanted = list(names)
    grew = True
    while grew:  # the constraints that share a variable with the wanted ones bring theirs
        grew = False
        for con in path.constraints:
            vs = [v for v, _ in con.coefs]
            if any(v in wanted for v in vs) and any(v not in wanted for v in vs):
                wanted += [v for v in vs if v not in wanted]
                grew = True
    if any(v not in path.ranges for v in wanted):
        return None
    axes = [range(path.ranges[v][0], path.ranges[v][1] + 1) for v in wanted]
    if math.prod(len(a) for a in axes) > limit:
        return None
    cons = [c for c in path.constraints if all(v in wanted for v, _ in c.coefs)]

    def points() -> Iterator[dict[E.Var, int]]:
        for values in itertools.product(*axes):
            point = dict(zip(wanted, values))
            if all(c.holds(point) for c in cons):
                yield point
    return points()
