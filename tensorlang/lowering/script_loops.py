"""A hybrid script stage's schedule applied to the script's own loops (TVM schedules a
``HybridOp``'s loops: its ``axis``).

Guarantees: a split loop becomes an outer and an inner loop (with a guard where the factor does
not divide the extent); two fused loops, the inner directly in the outer, become one; the loops
of a nest in which each is directly in the other (or under a split's guard, which moves inside
them all) run in the stage's leaf order; a leaf loop takes
its annotation (parallel, vectorize, unroll, a thread binding, pragmas). The script computes what
it did before. What its loops cannot take (fusing or reordering loops with statements between
them, reordering loops whose bounds depend on each other) is a LoweringError naming the loops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..arith import can_prove, simplify
from ..errors import LoweringError
from ..ir.stmt import For, ForKind, IfThenElse, Stmt
from ..schedule.bound import Bounds
from ..schedule.relations import Fuse, Split
from ..schedule.schedule import Stage
from ..te import expr as E
from ..te.expr import Var
from ..te.functor import Mutator, free_vars, substitute
from ..te.intrin import floordiv, floormod
from .loop_kind import loop_kind


def schedule_script_loops(st: Stage, bounds: Bounds, body: Stmt) -> Stmt:
    """``body`` (the script's statement) with ``st``'s splits, fuses, order and annotations."""
    if not st.relations and not st.iter_var_attrs and list(st.leaf_iter_vars) == list(st.op.axis):
        return body
    where = f"stage {st.op.name}"
    for rel in st.relations:
        if isinstance(rel, Split):
            body = _replace(body, rel.parent.var, lambda loop, rel=rel: _split(loop, rel, bounds), where)
        elif isinstance(rel, Fuse):
            body = _replace(body, rel.outer.var, lambda loop, rel=rel: _fuse(loop, rel, where), where)
        else:
            raise LoweringError(f"{where}: fuse() of no axes does not apply to a hybrid script's loops")
    body = _Reorder(st, where).visit(body)
    return _Annotate(st, where).visit(body)


def _replace(body: Stmt, var: Var, fn: Callable[[For], Stmt], where: str) -> Stmt:
    rep = _ReplaceLoop(var, fn)
    out = rep.visit(body)
    if not rep.found:
        raise LoweringError(f"{where}: loop {var.name} is not in the script (a loop the script "
                            "runs inside a condition it cannot see, or removed by an earlier primitive)")
    return out


class _ReplaceLoop(Mutator):
    def __init__(self, var: Var, fn: Callable[[For], Stmt]):
        super().__init__()
        self.var, self.fn, self.found = var, fn, False

    def visit_For(self, node: For) -> Stmt:
        if node.loop_var is self.var:
            self.found = True
            return self.fn(node)
        return self.generic_visit(node)


def _split(loop: For, rel: Split, bounds: Bounds) -> Stmt:
    outer_ext = bounds.ranges[rel.outer].extent
    inner_ext = bounds.ranges[rel.inner].extent
    dt = loop.loop_var.dtype
    offset = E.cast(rel.outer.var, dt) * E.cast(inner_ext, dt) + E.cast(rel.inner.var, dt)
    body = substitute(loop.body, {loop.loop_var: simplify(loop.min + offset)})
    if not can_prove(E.cast(outer_ext, dt) * E.cast(inner_ext, dt) <= loop.extent):
        body = IfThenElse(E.Call("bool", "likely", [offset < loop.extent]), body)
    inner = For(rel.inner.var, E.const(0, rel.inner.var.dtype), inner_ext, ForKind.SERIAL, body)
    return For(rel.outer.var, E.const(0, rel.outer.var.dtype), outer_ext, ForKind.SERIAL, inner)


def _fuse(loop: For, rel: Fuse, where: str) -> Stmt:
    inner = loop.body
    if not (isinstance(inner, For) and inner.loop_var is rel.inner.var):
        raise LoweringError(f"{where}: cannot fuse loops {rel.outer.name} and {rel.inner.name}: {rel.inner.name} "
                            f"must be the whole body of {rel.outer.name}")
    if (free_vars(inner.min) | free_vars(inner.extent)) & {loop.loop_var}:
        raise LoweringError(f"{where}: cannot fuse loops {rel.outer.name} and {rel.inner.name}: the range of "
                            f"{rel.inner.name} depends on {rel.outer.name}")
    f = rel.fused.var
    dt = f.dtype
    extent = simplify(E.cast(loop.extent, dt) * E.cast(inner.extent, dt))
    inner_ext = E.cast(inner.extent, dt)
    outer_value = loop.min + E.cast(floordiv(f, inner_ext), loop.loop_var.dtype)
    inner_value = inner.min + E.cast(floormod(f, inner_ext), inner.loop_var.dtype)
    body = substitute(inner.body, {loop.loop_var: simplify(outer_value), inner.loop_var: simplify(inner_value)})
    return For(f, E.const(0, dt), extent, ForKind.SERIAL, body)


class _Reorder(Mutator):
    """Nests whose loops are each directly in the other, in the stage's leaf order."""

    def __init__(self, st: Stage, where: str):
        super().__init__()
        self.position = {iv.var: k for k, iv in enumerate(st.leaf_iter_vars)}
        self.names = {iv.var: iv.name for iv in st.leaf_iter_vars}
        self.where = where
        self.enclosing: list[Var] = []

    def visit_For(self, node: For) -> Stmt:
        if node.loop_var not in self.position:
            return self.generic_visit(node)
        chain = [node]
        guards = []  # an imperfect split's guard between two loops: it moves inside all of them
        while True:
            inner = chain[-1].body
            while isinstance(inner, IfThenElse) and inner.else_case is None and isinstance(inner.then_case, For) \
                    and inner.then_case.loop_var in self.position:
                guards.append(inner.condition)
                inner = inner.then_case
            if not (isinstance(inner, For) and inner.loop_var in self.position):
                break
            chain.append(inner)
        order = sorted(chain, key=lambda loop: self.position[loop.loop_var])
        if order != chain:
            own = {loop.loop_var for loop in chain}
            for loop in chain:
                if (free_vars(loop.min) | free_vars(loop.extent)) & own:
                    raise LoweringError(f"{self.where}: cannot reorder loop {self.names[loop.loop_var]}: its range "
                                        f"({loop.min}, {loop.extent}) depends on the loops it would change places "
                                        "with")
        for loop in order:
            self._check_inside(loop.loop_var)
        self.enclosing.extend(loop.loop_var for loop in order)
        try:
            body = self.visit(chain[-1].body)
        finally:
            del self.enclosing[len(self.enclosing) - len(order):]
        for cond in reversed(guards):
            body = IfThenElse(cond, body)
        for loop in reversed(order):
            body = loop.with_fields(body=body)
        return body

    def _check_inside(self, var: Var) -> None:
        for outer in self.enclosing:
            if self.position[outer] > self.position[var]:
                raise LoweringError(f"{self.where}: cannot put loop {self.names[var]} outside loop "
                                    f"{self.names[outer]}: there are statements between them in the script")


class _Annotate(Mutator):
    """Leaf loops with their kind, thread binding and pragmas."""

    def __init__(self, st: Stage, where: str):
        super().__init__()
        self.st, self.where = st, where
        self.leaves = {iv.var: iv for iv in st.leaf_iter_vars}

    def visit_For(self, node: For) -> Any:
        node = self.generic_visit(node)
        iv = self.leaves.get(node.loop_var)
        if iv is None or iv not in self.st.iter_var_attrs:
            return node
        kind, tag, ann = loop_kind(self.st, iv)
        if kind == ForKind.VECTORIZED and not isinstance(simplify(node.extent), E.IntImm):
            raise LoweringError(f"{self.where}: cannot vectorize loop {iv.name}: its extent {node.extent} is not a "
                                "constant; split it by a constant factor and vectorize the inner part")
        if kind == ForKind.THREAD_BINDING and not (isinstance(node.min, E.IntImm) and node.min.value == 0):
            node = node.with_fields(body=substitute(node.body, {node.loop_var: node.loop_var + node.min}),
                                    min=E.const(0, node.loop_var.dtype))
        return node.with_fields(kind=kind, thread_tag=tag, annotations=tuple(node.annotations) + ann)
