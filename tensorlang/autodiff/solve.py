"""Inverting a tensor read: which loop points of a computation read element ``x`` of a tensor.

A computation reads ``X[g_0(v), ..., g_n(v)]`` at the points ``v`` of its loops (its axes and
reduce axes).  Its adjoint needs the opposite view: for an element ``x`` of ``X``, the points
with ``g(v) == x``.  ``invert_read`` turns the read into equations and solves them one by one:

- consecutive dimensions that unravel one flat position (``X[L // 4 % 3, L % 4]``, a reshape)
  become the one equation ``L == ravel(x)``, when ``L`` provably stays inside those dimensions;
- an equation whose loop variables are the digits of a mixed radix (``4*i + j`` with ``j`` in
  [0, 4), ``2*k + r`` with ``r`` in [0, 2)) is solved for all of them at once;
- otherwise one loop variable is solved from it where it is affine (``h*stride + r*dilation``
  solves for ``h``, with a divisibility condition), the others staying free;
- an equation that is affine in no loop variable (``I[k]``, ``min(j + k, 9)``, ``i*j % n``) is
  kept as a condition over the free variables: its points are searched, not computed.

Guarantee: the points ``v`` with ``g(v) == x`` and ``v`` in its domain are exactly
``{solution(free) : free in the free variables' domains, all conditions hold}``, one each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..arith.interval import Interval
from ..arith.simplify import affine_in, const_bound, simplify
from ..arith.structural import structural_key
from ..te import expr as E
from ..te import intrin
from ..te.flat_index import ravel
from ..te.functor import free_vars, substitute


@dataclass(frozen=True)
class Domain:
    """A loop variable and its range ``[lo, lo + extent)``."""

    var: E.Var
    lo: E.PrimExpr
    extent: E.PrimExpr


@dataclass(frozen=True)
class Inverse:
    """The loop points that read element ``x``: solved variables as expressions of ``x`` and
    the free variables, the conditions they must meet, and the free variables (in loop order)."""

    solution: dict[E.Var, E.PrimExpr]
    conditions: tuple[E.PrimExpr, ...]
    free: tuple[Domain, ...]
    unsolved: int = 0  # equations kept as conditions: their points are searched, not computed


def _const(e: E.PrimExpr) -> int | None:
    return e.value if isinstance(e, E.IntImm) else None


def _size(d: Domain) -> float:
    ext = _const(d.extent)
    return float("inf") if ext is None else float(ext)


def _like(e: E.PrimExpr, dtype: E.DType) -> E.PrimExpr:
    return e if e.dtype == dtype else E.cast(e, dtype)


def _unravel_group(indices: Sequence[E.PrimExpr], shape: Sequence[E.PrimExpr], end: int,
                   ranges: dict[E.Var, Interval]) -> tuple[int, E.PrimExpr] | None:
    """``(start, L)`` when ``indices[start:end+1]`` unravel the flat position ``L`` over
    ``shape[start:end+1]`` (the first of them with or without its ``%``) and ``L`` provably lies
    in [0, size of those dimensions); the longest such run, or None."""
    last = indices[end]
    if not isinstance(last, E.FloorMod) or structural_key(last.b) != structural_key(E.convert(shape[end])):
        return None
    flat = last.a
    lo, hi = const_bound(flat, ranges)
    expect, cur, best = [], flat, None
    for d in range(end, -1, -1):
        n = E.convert(shape[d])
        key = structural_key(indices[d])
        if d < end and key == structural_key(cur):  # the run's first dimension, without a %
            best = (d, [cur] + expect)
            break
        if key != structural_key(cur % n):
            break
        expect.insert(0, cur % n)
        best = (d, list(expect))
        cur = cur // n
    if best is None:
        return None
    start = best[0]
    size = 1
    for d in range(start, end + 1):
        c = _const(E.convert(shape[d]))
        if c is None:
            return None
        size *= c
    if lo is None or hi is None or lo < 0 or hi >= size:
        return None  # L could wrap around the dimensions: the % would fold several L onto one x
    return start, flat


def _equations(indices: Sequence[E.PrimExpr], x: Sequence[E.Var], shape: Sequence[E.PrimExpr] | None,
               ranges: dict[E.Var, Interval]) -> list[tuple[E.PrimExpr, E.PrimExpr]]:
    """``lhs == rhs`` pairs, equivalent to ``indices == x`` (unravelled runs merged)."""
    eqs: list[tuple[E.PrimExpr, E.PrimExpr]] = []
    d = len(indices) - 1
    while d >= 0:
        group = _unravel_group(indices, shape, d, ranges) if shape is not None else None
        if group is not None and group[0] < d:
            start, flat = group
            eqs.append((flat, simplify(ravel([_like(v, flat.dtype) for v in x[start:d + 1]], shape[start:d + 1]))))
            d = start - 1
            continue
        eqs.append((indices[d], x[d]))
        d -= 1
    return eqs[::-1]


def _mixed_radix(e: E.PrimExpr, rhs: E.PrimExpr, doms: dict[E.Var, Domain]
                 ) -> tuple[dict[E.Var, E.PrimExpr], E.PrimExpr] | None:
    """Solve ``e == rhs`` for every variable of ``e`` when they are the digits of a mixed radix:
    ``e = v_0 + n_0*v_1 + n_0*n_1*v_2 ...`` with each ``v_k`` in [0, n_k); the solution and
    the condition that ``rhs`` has such a representation."""
    vs = free_vars(e)
    if len(vs) < 2 or not all(v in doms for v in vs):
        return None
    terms = []
    for v in vs:
        form, d = affine_in(e, v), doms[v]
        if form is None or _const(d.lo) != 0 or _const(d.extent) is None:
            return None
        terms.append((form[0], v, _const(d.extent)))
    if _const(simplify(substitute(e, {v: E.const(0, v.dtype) for v in vs}))) != 0:
        return None
    terms.sort(key=lambda t: t[0])
    scale, solution = 1, {}
    for n, (coef, v, ext) in enumerate(terms):
        if coef != scale:
            return None
        q = rhs if coef == 1 else intrin.floordiv(rhs, E.const(coef, rhs.dtype))
        solution[v] = simplify(q if n == len(terms) - 1 else intrin.floormod(q, E.const(ext, rhs.dtype)))
        scale *= ext
    top = solution[terms[-1][1]]
    return solution, E.all_(top >= 0, top < E.const(terms[-1][2], top.dtype))


def invert_read(indices: Sequence[E.PrimExpr], x: Sequence[E.Var], loops: Sequence[Domain],
                shape: Sequence[E.PrimExpr] | None = None) -> Inverse:
    """The loop points of ``loops`` where ``indices == x`` (module docstring); ``shape`` is the
    read tensor's (it lets unravelled dimensions be merged)."""
    doms = {d.var: d for d in loops}
    ranges = {d.var: Interval(d.lo, simplify(d.lo + d.extent - 1)) for d in loops}
    solution: dict[E.Var, E.PrimExpr] = {}
    conditions: list[E.PrimExpr] = []
    unsolved = 0

    def bind(found: dict[E.Var, E.PrimExpr]) -> None:
        for k in list(solution):
            solution[k] = simplify(substitute(solution[k], found))
        conditions[:] = [substitute(c, found) for c in conditions]
        solution.update(found)

    for lhs, rhs in _equations(indices, x, shape, ranges):
        e = simplify(substitute(lhs, solution))
        rhs = _like(rhs, e.dtype)
        mixed = _mixed_radix(e, rhs, {v: d for v, d in doms.items() if v not in solution})
        if mixed is not None:
            conditions.append(mixed[1])
            bind(mixed[0])
            continue
        best = None
        for v in sorted((u for u in free_vars(e) if u in doms and u not in solution), key=lambda u: u.name):
            form = affine_in(e, v)
            if form is not None:
                rank = (_size(doms[v]), abs(form[0]) == 1)
                if best is None or rank > best[0]:
                    best = (rank, v, form)
        if best is None:
            unsolved += 1
            conditions.append(E.EQ(e, rhs))
            continue
        _, v, (a, rest) = best
        target = rhs - rest
        if a == 1:
            value = target
        elif a == -1:
            value = -target
        else:
            step = E.const(a, e.dtype)
            conditions.append(E.EQ(intrin.floormod(target, step), E.const(0, e.dtype)))
            value = intrin.floordiv(target, step)
        value = simplify(value)
        dom = doms[v]
        conditions.append(E.all_(value >= dom.lo, value < dom.lo + dom.extent))
        bind({v: value})
    free = tuple(d for d in loops if d.var not in solution)
    return Inverse(solution, tuple(conditions), free, unsolved)
