"""Loop partitioning: split a loop where its guards stop varying.

Guarantees: a serial or parallel loop whose body holds conditions that are linear in its
variable (split tails ``xo*16 + xi < n``, padding checks ``y + ry >= 1``) is split into a
prefix, a main range and a tail; in the main range those conditions are replaced by True
(they hold for every iteration there, whatever the inner loops do), so its body has no
guards and vectorizes without masks.  When the loop's range and every bound are constants,
the loop is cut at each bound instead, and in each range every condition that holds (or
fails) throughout is replaced by True (or False): a column tile that straddles the left
padding and one that straddles the right become single iterations whose guards fold.  A
prefix or tail made by one condition that fails there for every inner iteration (the padding
rows of a window) gets False for it.  The main range's inner loops are partitioned in turn,
and every range's while the nest has at most ``_MAX_COPIES`` copies.  The result computes
exactly what the input computes.  With ``copy_nests=False`` (GPU kernels) a loop whose body
holds another serial, parallel or unrolled loop is not partitioned (its inner loops may be):
the copies of a whole nest, unrolled later, multiplied a kernel's code (a conv2d whose
reduction loops carry padding guards became five copies of 800 lines of CUDA C) while a GPU
runs a guard that is uniform across threads almost for free.  A loop whose body holds a barrier
or a warp shuffle is never cut at a bound that depends on a thread index (threadIdx, vthread):
its trip count would differ between the threads of a block, which must all reach every barrier.
"""

from __future__ import annotations

from typing import Any

from ...arith import Interval, affine_in, relax, simplify, structural_key
from ...te import expr as E
from ...te.expr import IntImm, PrimExpr, Var
from ...te.functor import Mutator, Visitor, contains, free_vars
from ..stmt import For, ForKind, IfThenElse, LetStmt, Stmt, seq
from ..warp import SHUFFLES
from .simplify import simplify_stmt
from .storage_sync import BARRIER

_PARTITIONABLE = (ForKind.SERIAL, ForKind.PARALLEL)


def _conjuncts(c: PrimExpr) -> list[PrimExpr]:
    if isinstance(c, E.And):
        return _conjuncts(c.a) + _conjuncts(c.b)
    return [c]


class _Conditions(Visitor):
    """Collect (condition, ranges of the loops between the partitioned loop and it)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: dict[Var, Interval] = {}
        self.found: list[tuple[PrimExpr, dict[Var, Interval]]] = []

    def visit_For(self, node: For) -> None:
        self.inner[node.loop_var] = Interval(node.min, simplify(node.min + node.extent - 1))
        self.visit(node.body)
        del self.inner[node.loop_var]

    def visit_LetStmt(self, node: Any) -> None:
        # A variable bound inside the loop cannot appear in the loop's bounds: leave it unbounded.
        self.inner[node.var] = Interval(None, None)
        self.generic_visit(node)

    def visit_Let(self, node: E.Let) -> None:
        # The same for a let inside an expression (te's CSE binds shared subexpressions so): a
        # cut at a bound naming it would use the variable outside its scope.
        self.visit(node.value)
        self.inner[node.var] = Interval(None, None)
        self.visit(node.body)

    def _add(self, cond: PrimExpr) -> None:
        if cond.dtype.lanes != 1:
            return
        for c in _conjuncts(cond):
            self.found.append((c, dict(self.inner)))

    def visit_IfThenElse(self, node: IfThenElse) -> None:
        self._add(node.condition)
        self.generic_visit(node)

    def visit_Select(self, node: E.Select) -> None:
        self._add(node.condition)
        self.generic_visit(node)


def _as_negative(c: PrimExpr) -> PrimExpr | None:
    """``d`` such that the condition is ``d < 0`` (integers), or None."""
    if not isinstance(c, E.CmpOp) or not (c.a.dtype.is_int and c.a.dtype.lanes == 1):
        return None
    if isinstance(c, E.LT):
        return c.a - c.b
    if isinstance(c, E.LE):
        return c.a - c.b - 1
    if isinstance(c, E.GT):
        return c.b - c.a
    if isinstance(c, E.GE):
        return c.b - c.a - 1
    return None


def _bound_for(c: PrimExpr, v: Var, inner: dict[Var, Interval]) -> tuple[str, PrimExpr] | None:
    """("hi", h): c holds for all inner values when v < h; ("lo", l): when v >= l."""
    d = _as_negative(c)
    if d is None or v not in free_vars(d):
        return None
    got = affine_in(d, v)
    if got is None:
        return None
    a_value, d0 = got
    a = E.const(a_value, d.dtype)
    _, hi = relax(d0, inner)  # the largest value the rest takes over the inner loops
    # An inner loop whose extent depends on v (a triangular reduction) gives a bound in v itself.
    if hi is None or any(x in inner or x is v for x in free_vars(hi)):
        return None
    if a.value > 0:   # a*v + hi < 0  <=>  v < floordiv(-hi - 1, a) + 1
        return "hi", simplify(E.FloorDiv(-hi - 1, a) + 1)
    return "lo", simplify(E.FloorDiv(hi, -a) + 1)  # -|a|*v + hi < 0  <=>  v >= hi // |a| + 1


class _Decide(Mutator):
    """Replace the conditions ``true`` (structural keys) by True and ``false`` by False."""

    def __init__(self, true: set, false: set = frozenset()) -> None:
        super().__init__()
        self.true, self.false = true, false

    def visit_CmpOp(self, node: E.CmpOp) -> PrimExpr:
        key = structural_key(node)
        if key in self.true:
            return IntImm("bool", 1)
        if key in self.false:
            return IntImm("bool", 0)
        return self.generic_visit(node)


_NEGATED = {E.LT: E.GE, E.LE: E.GT, E.GT: E.LE, E.GE: E.LT}


def _negate(c: PrimExpr) -> PrimExpr | None:
    kind = _NEGATED.get(type(c))
    return kind(c.a, c.b) if kind is not None else None


class _Bounds:
    """Per condition (by structural key): where it holds for every inner iteration ("lo" l:
    v >= l; "hi" h: v < h) and where it fails for every one, over all the places it appears;
    a condition with a place that gives no bound is left alone."""

    def __init__(self, v: Var, found: list[tuple[PrimExpr, dict[Var, Interval]]],
                 varying: frozenset[Var] = frozenset()) -> None:
        self.true: dict[Any, list[tuple[str, PrimExpr]]] = {}
        self.false: dict[Any, list[tuple[str, PrimExpr]]] = {}
        unbounded, never_false = set(), set()
        for cond, inner in found:
            key = structural_key(cond)
            got = _bound_for(cond, v, inner)
            # A bound naming a variable of ``varying`` (a thread index around a barrier) is no cut.
            if got is None or varying & free_vars(got[1]):
                unbounded.add(key)
                continue
            self.true.setdefault(key, []).append(got)
            neg = _negate(cond)
            fails = _bound_for(neg, v, inner) if neg is not None else None
            if fails is None:
                never_false.add(key)
            else:
                self.false.setdefault(key, []).append(fails)
        for key in unbounded:
            self.true.pop(key, None)
        self.false = {k: sides for k, sides in self.false.items() if k in self.true and k not in never_false}

    def all_bounds(self) -> list[PrimExpr]:
        return [b for sides in (*self.true.values(), *self.false.values()) for _, b in sides]

    @staticmethod
    def _holds(sides: list[tuple[str, PrimExpr]], a: int, b: int) -> bool:
        return all(a >= bound.value if side == "lo" else b <= bound.value for side, bound in sides)

    def decided_on(self, a: int, b: int) -> tuple[set, set]:
        """(conditions true on all of [a, b), conditions false on all of it); constant bounds."""
        true = {k for k, sides in self.true.items() if self._holds(sides, a, b)}
        false = {k for k, sides in self.false.items() if self._holds(sides, a, b)}
        return true, false


_NESTED = (ForKind.SERIAL, ForKind.PARALLEL, ForKind.UNROLLED)


class _FindLoop(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_For(self, node: For) -> None:
        self.found = self.found or node.kind in _NESTED
        if not self.found:
            self.visit(node.body)

    def visit_PrimExpr(self, node: Any) -> None:  # expressions hold no loops
        return None


def _holds_sync(s: Stmt) -> bool:
    """Whether a barrier or a warp shuffle sits inside ``s``."""
    return contains(s, lambda n: isinstance(n, E.Call) and (n.name == BARRIER or n.name in SHUFFLES))


def _is_thread_tag(tag: str | None) -> bool:
    return bool(tag) and tag.startswith(("threadIdx", "vthread", "cthread"))


def _holds_loop(s: Stmt) -> bool:
    """Whether a serial, parallel or unrolled loop sits inside ``s``."""
    finder = _FindLoop()
    finder.visit(s)
    return finder.found


class _Partition(Mutator):
    def __init__(self, copy_nests: bool = True) -> None:
        super().__init__()
        self.copy_nests = copy_nests
        self.copies = 1  # how many copies of the current nest the enclosing partitions made (and visit)
        self.threads: set[Var] = set()  # thread indices in scope, and the lets computed from them

    def visit_LetStmt(self, node: LetStmt) -> Stmt:
        if self.threads & free_vars(node.value):
            self.threads.add(node.var)
        return self.generic_visit(node)

    def visit_For(self, node: For) -> Stmt:
        if node.kind == ForKind.THREAD_BINDING and _is_thread_tag(node.thread_tag):
            self.threads.add(node.loop_var)
        if node.kind not in _PARTITIONABLE or (isinstance(node.extent, IntImm) and node.extent.value <= 1):
            return self.generic_visit(node)
        if not self.copy_nests and _holds_loop(node.body):
            return self.generic_visit(node)
        collector = _Conditions()
        collector.visit(node.body)
        # Around a barrier, every thread of a block must run the same iterations.
        varying = frozenset(self.threads) if self.threads and _holds_sync(node.body) else frozenset()
        bounds = _Bounds(node.loop_var, collector.found, varying)
        if not bounds.true:
            return self.generic_visit(node)
        start, end = node.min, simplify(node.min + node.extent)
        cuts = _constant_cuts(start, end, bounds.all_bounds())
        if cuts is not None:
            ranges = []
            for a, b in zip(cuts, cuts[1:]):
                true, false = bounds.decided_on(a, b)
                if len(true) + len(false) < len(bounds.true) and b - a <= _PEEL:
                    # A short border range with guards left: one iteration at a time, where they fold.
                    ranges += [(i, i + 1, true, false) for i in range(a, b)]
                else:
                    ranges.append((a, b, true, false))
            # The range with the most guards gone (the longest of those) is the main one; the
            # others' inner loops are partitioned too only while the copies of the nest that
            # this makes stay few (each level visited in every range multiplies them).
            main = max(range(len(ranges)), key=lambda i: (len(ranges[i][2]), ranges[i][1] - ranges[i][0]))
            every = self.copies * len(ranges) <= _MAX_COPIES
            saved = self.copies
            self.copies = saved * len(ranges) if every else saved
            try:
                return seq(*(self._segment(node, a, b, true, false, every or i == main)
                             for i, (a, b, true, false) in enumerate(ranges)))
            finally:
                self.copies = saved
        # Each bound once: ten accesses guarded by one condition give it ten times.
        los = _distinct([bd for sides in bounds.true.values() for side, bd in sides if side == "lo"])
        his = _distinct([bd for sides in bounds.true.values() for side, bd in sides if side == "hi"])
        lo = start
        if los:
            for b in los:
                lo = simplify(E.max_(lo, b))
            lo = simplify(E.min_(lo, end))
        hi = end
        if his:
            for b in his:
                hi = simplify(E.min_(hi, b))
            hi = simplify(E.max_(hi, lo))
        main_body = simplify_guards(_Decide(set(bounds.true)).visit(node.body))
        main_body = self.visit(main_body)  # inner loops of the main range may partition further
        parts = []
        for a, b, body in ((start, lo, _border(node.body, bounds, los, "lo")), (lo, hi, main_body),
                           (hi, end, _border(node.body, bounds, his, "hi"))):
            ext = simplify(b - a)
            if isinstance(ext, IntImm) and ext.value <= 0:
                continue
            parts.append(For(node.loop_var, a, ext, node.kind, body, node.thread_tag, node.annotations))
        return seq(*parts)

    def _segment(self, node: For, a: int, b: int, true: set, false: set, inner: bool) -> Stmt:
        """The loop over [a, b) with the conditions decided there replaced by True or False, its
        inner loops partitioned in turn when ``inner``."""
        body = simplify_guards(_Decide(true, false).visit(node.body)) if true or false else node.body
        if inner:
            body = self.visit(body)
        return For(node.loop_var, IntImm(node.min.dtype, a), IntImm(node.extent.dtype, b - a), node.kind, body,
                   node.thread_tag, node.annotations)


# More segments than this (distinct constant bounds) and the loop falls back to three ranges.
_MAX_SEGMENTS = 6
# A constant range this short whose guards are not all decided is peeled into single iterations.
_PEEL = 2
# Every range of a constant loop has its inner loops partitioned while the nest has at most
# this many copies (a conv2d's first, interior and last column tiles: three); beyond, only the
# main range's, as with a symbolic loop.  Visiting every range at every level multiplied a
# tiled conv2d's code by 3.5 and its build time by 3 (5 s).
_MAX_COPIES = 4


def _constant_cuts(start: PrimExpr, end: PrimExpr, bounds: list[PrimExpr]) -> list[int] | None:
    """With a constant range and constant bounds: the range's ends and the bounds inside it, in
    order; each range between consecutive cuts then has every condition decided or undecided
    throughout.  A border range of its own per bound (not one prefix holding them all) lets a
    tile that straddles the left padding and one that straddles the right each be a single
    iteration, whose guards fold to constants once the loop variable does.  None when a bound
    is symbolic or there would be too many ranges."""
    if not (isinstance(start, IntImm) and isinstance(end, IntImm)):
        return None
    if not all(isinstance(bound, IntImm) for bound in bounds):
        return None
    s, e = start.value, end.value
    cuts = sorted({bound.value for bound in bounds if s < bound.value < e} | {s, e})
    return cuts if len(cuts) - 1 <= _MAX_SEGMENTS else None


def _border(body: Stmt, bounds: _Bounds, limits: list[PrimExpr], side: str) -> Stmt:
    """The body of the prefix (``side`` "lo": v below the largest of the lower bounds ``limits``)
    or of the tail ("hi"): when one condition alone makes that border, and it fails for every
    inner iteration exactly where it does not hold (a padding row read by a window row: ``y +
    ry >= 1``), it is False there, so the padding reads become zeros instead of selects."""
    keys = [k for k, sides in bounds.true.items() if any(s == side for s, _ in sides)]
    if len(keys) != 1 or len(limits) != 1:
        return body
    key = keys[0]
    flip = "hi" if side == "lo" else "lo"
    fails = bounds.false.get(key, [])
    if not fails or not all(s == flip and _is_zero(simplify(b - limits[0])) for s, b in fails):
        return body
    return simplify_guards(_Decide(set(), {key}).visit(body))


def _distinct(exprs: list[PrimExpr]) -> list[PrimExpr]:
    """``exprs`` without structural repeats, in order."""
    seen: dict[Any, PrimExpr] = {}
    for x in exprs:
        seen.setdefault(structural_key(x), x)
    return list(seen.values())


def _is_zero(e: PrimExpr) -> bool:
    return isinstance(e, IntImm) and e.value == 0


def simplify_guards(stmt: Stmt) -> Stmt:
    return simplify_stmt(stmt)


def partition_loops(stmt: Stmt, copy_nests: bool = True) -> Stmt:
    """Partition loops around the conditions linear in their variables (module docstring)."""
    return _Partition(copy_nests).visit(stmt)

