"""Loop partitioning: split a loop where its guards stop varying.

Guarantees: a serial or parallel loop whose body holds conditions that are linear in its
variable (split tails ``xo*16 + xi < n``, padding checks ``y + ry >= 1``) is split into a
prefix, a main range and a tail; in the main range those conditions are replaced by True
(they hold for every iteration there, whatever the inner loops do), so its body has no
guards and vectorizes without masks.  Prefix and tail keep the original body.  The result
computes exactly what the input computes.  With ``copy_nests=False`` (GPU kernels) a loop
whose body holds another serial, parallel or unrolled loop is not partitioned (its inner
loops may be): the copies of a whole nest, unrolled later, multiplied a kernel's code (a
conv2d whose reduction loops carry padding guards became five copies of 800 lines of CUDA C)
while a GPU runs a guard that is uniform across threads almost for free.
"""

from __future__ import annotations

from typing import Any

from ...arith import Interval, affine_in, relax, simplify, structural_key
from ...te import expr as E
from ...te.expr import IntImm, PrimExpr, Var
from ...te.functor import Mutator, Visitor, free_vars
from ..stmt import For, ForKind, IfThenElse, Stmt, seq
from .simplify import simplify_stmt

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


class _ReplaceTrue(Mutator):
    def __init__(self, keys: set) -> None:
        super().__init__()
        self.keys = keys

    def visit_CmpOp(self, node: E.CmpOp) -> PrimExpr:
        if structural_key(node) in self.keys:
            return IntImm("bool", 1)
        return self.generic_visit(node)


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


def _holds_loop(s: Stmt) -> bool:
    """Whether a serial, parallel or unrolled loop sits inside ``s``."""
    finder = _FindLoop()
    finder.visit(s)
    return finder.found


class _Partition(Mutator):
    def __init__(self, copy_nests: bool = True) -> None:
        super().__init__()
        self.depth = 0
        self.copy_nests = copy_nests

    def visit_For(self, node: For) -> Stmt:
        if node.kind not in _PARTITIONABLE or (isinstance(node.extent, IntImm) and node.extent.value <= 1):
            return self.generic_visit(node)
        if not self.copy_nests and _holds_loop(node.body):
            return self.generic_visit(node)
        collector = _Conditions()
        collector.visit(node.body)
        los: list[PrimExpr] = []
        his: list[PrimExpr] = []
        proven: set = set()
        for cond, inner in collector.found:
            got = _bound_for(cond, node.loop_var, inner)
            if got is None:
                continue
            (los if got[0] == "lo" else his).append(got[1])
            proven.add(structural_key(cond))
        if not proven:
            return self.generic_visit(node)
        start, end = node.min, simplify(node.min + node.extent)
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
        main_body = simplify_guards(_ReplaceTrue(proven).visit(node.body))
        main_body = self.visit(main_body)  # inner loops of the main range may partition further
        parts = []
        for a, b, body in ((start, lo, node.body), (lo, hi, main_body), (hi, end, node.body)):
            ext = simplify(b - a)
            if isinstance(ext, IntImm) and ext.value <= 0:
                continue
            parts.append(For(node.loop_var, a, ext, node.kind, body, node.thread_tag, node.annotations))
        return seq(*parts)


def simplify_guards(stmt: Stmt) -> Stmt:
    return simplify_stmt(stmt)


def partition_loops(stmt: Stmt, copy_nests: bool = True) -> Stmt:
    """Partition loops around the conditions linear in their variables (module docstring)."""
    return _Partition(copy_nests).visit(stmt)

