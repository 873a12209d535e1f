"""A hybrid script stage's schedule applied to the script's own loops (TVM schedules a
``HybridOp``'s loops: its ``axis``).

Guarantees: a split loop becomes an outer and an inner loop (with a guard where the factor does
not divide the extent); two fused loops of one perfect nest become one; the loops of a perfect
nest run in the stage's leaf order; a leaf loop takes its annotation (parallel, vectorize,
unroll, a thread binding, pragmas). A perfect nest is loops each directly in the other, or under
guards between them: ifs without else whose condition reads no memory (a split's guard, or the
script's own ``if i < n``), which move inside all the nest's loops when its loops change places
(the script's ifs that read memory stay where they are: the statements under them could change
what they read). The script computes what it did before. What its loops cannot take (fusing or
reordering loops with statements between them, reordering loops whose bounds depend on each
other, splitting, fusing, moving or annotating a loop the script binds itself with ``bind``,
binding a loop to a GPU index that a loop around it runs on already) is a LoweringError naming
the loops.
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
from ..te.functor import Mutator, free_vars, post_order_visit, substitute
from ..te.intrin import floordiv, floormod
from .loop_kind import loop_kind


def schedule_script_loops(st: Stage, bounds: Bounds, body: Stmt) -> Stmt:
    """``body`` (the script's statement) with ``st``'s splits, fuses, order and annotations."""
    if not st.relations and not st.iter_var_attrs and list(st.leaf_iter_vars) == list(st.op.axis):
        return body
    where = f"stage {st.op.name}"
    for rel in st.relations:
        if isinstance(rel, Split):
            body = _replace(body, rel.parent.var, lambda loop, rel=rel: _split(loop, rel, bounds, where), where)
        elif isinstance(rel, Fuse):
            body = _replace(body, (rel.outer.var, rel.inner.var), lambda loop, rel=rel: _fuse(loop, rel, where),
                            where)
        else:
            raise LoweringError(f"{where}: fuse() of no axes does not apply to a hybrid script's loops")
    body = _Reorder(st, where).visit(body)
    return _Annotate(st, where).visit(body)


def _moves_inward(s: Stmt) -> bool:
    """An if the loops of a nest may cross: no else, and a condition that reads no memory (the
    loops' statements could write what it reads) and calls out to nothing."""
    if not isinstance(s, IfThenElse) or s.else_case is not None:
        return False
    impure: list[bool] = []
    post_order_visit(s.condition, lambda n: impure.append(True) if isinstance(n, E.Load) or (
        isinstance(n, E.Call) and n.name.startswith(_CALLS_OUT) and n.name != "call_pure_extern") else None)
    return not impure


_CALLS_OUT = ("call_", "tvm_", "tl.")   # extern and packed functions, buffer intrinsics: may read memory


def _nest(loop: For, member: Callable[[Var], bool]) -> tuple[list[For], list[E.PrimExpr], Stmt]:
    """The perfect nest from ``loop`` down through loops ``member`` admits: (its loops, the
    conditions of the ifs between them, the innermost loop's body)."""
    chain, guards = [loop], []
    while True:
        inner, conds = chain[-1].body, []
        while _moves_inward(inner):
            conds.append(inner.condition)
            inner = inner.then_case
        if not (isinstance(inner, For) and member(inner.loop_var)):
            return chain, guards, chain[-1].body
        guards.extend(conds)
        chain.append(inner)


def _wrap(order: list[For], guards: list[E.PrimExpr], body: Stmt) -> Stmt:
    """The loops of ``order`` (outermost first) around ``body``, the guards inside them all."""
    for cond in reversed(guards):
        body = IfThenElse(cond, body)
    for loop in reversed(order):
        body = loop.with_fields(body=body)
    return body


def _check_script_bound(loop: For, what: str, where: str) -> None:
    """A loop the script binds (``for t in bind("threadIdx.x", n)``) is the script's launch of
    that GPU index: the schedule cannot reshape it (TVM's HybridOp does not count it as an axis)."""
    if loop.kind == ForKind.THREAD_BINDING:
        raise LoweringError(f"{where}: cannot {what}: the script binds loop {loop.loop_var.name} to "
                            f"{loop.thread_tag} itself (bind); schedule the script's other loops")


def _check_ranges(chain: list[For], order: list[For], what: str, where: str) -> None:
    """Loops that change places must not bound each other, nor be launches the script binds."""
    if order == chain:
        return
    for before, after in zip(chain, order):
        if before is not after:
            _check_script_bound(before, what, where)
            _check_script_bound(after, what, where)
    own = {loop.loop_var for loop in chain}
    for loop in chain:
        if (free_vars(loop.min) | free_vars(loop.extent)) & own:
            raise LoweringError(f"{where}: cannot {what}: the range of loop {loop.loop_var.name} ({loop.min}, "
                                f"{loop.extent}) depends on the loops it would change places with")


def _replace(body: Stmt, var: Var | tuple[Var, ...], fn: Callable[[For], Stmt], where: str) -> Stmt:
    rep = _ReplaceLoop(var, fn)
    out = rep.visit(body)
    if not rep.found:
        name = (var if isinstance(var, Var) else var[0]).name
        raise LoweringError(f"{where}: loop {name} is not in the script (a loop the script "
                            "runs inside a condition it cannot see, or removed by an earlier primitive)")
    return out


class _ReplaceLoop(Mutator):
    """The first loop of ``var`` (or of any of the vars given) replaced by ``fn(loop)``."""

    def __init__(self, var: Var | tuple[Var, ...], fn: Callable[[For], Stmt]):
        super().__init__()
        self.vars = (var,) if isinstance(var, Var) else var
        self.fn, self.found = fn, False

    def visit_For(self, node: For) -> Stmt:
        if not self.found and any(node.loop_var is v for v in self.vars):
            self.found = True
            return self.fn(node)
        return self.generic_visit(node)


def _split(loop: For, rel: Split, bounds: Bounds, where: str) -> Stmt:
    _check_script_bound(loop, f"split loop {rel.parent.name}", where)
    outer_ext = bounds.ranges[rel.outer].extent
    inner_ext = bounds.ranges[rel.inner].extent
    dt = loop.loop_var.dtype
    offset = E.cast(rel.outer.var, dt) * E.cast(inner_ext, dt) + E.cast(rel.inner.var, dt)
    body = substitute(loop.body, {loop.loop_var: simplify(loop.min + offset)})
    if not can_prove(E.cast(outer_ext, dt) * E.cast(inner_ext, dt) <= loop.extent):
        body = IfThenElse(E.Call("bool", "likely", [offset < loop.extent]), body)
    inner = For(rel.inner.var, E.const(0, rel.inner.var.dtype), inner_ext, ForKind.SERIAL, body)
    return For(rel.outer.var, E.const(0, rel.outer.var.dtype), outer_ext, ForKind.SERIAL, inner)


def _fuse(top: For, rel: Fuse, where: str) -> Stmt:
    """Fuse ``rel``'s loops, the first of which (outer or inner: a reorder may have swapped
    them) is ``top``: the loops of their nest are put in an order with the inner directly in
    the outer (the leaf order, applied last, puts the nest's loops where the schedule says)."""
    chain, guards, innermost = _nest(top, lambda v: True)
    found = {loop.loop_var: loop for loop in chain}
    if rel.inner.var not in found or rel.outer.var not in found:
        raise LoweringError(f"{where}: cannot fuse loops {rel.outer.name} and {rel.inner.name}: {rel.inner.name} "
                            f"must be the whole body of {rel.outer.name} (there are statements between them in "
                            "the script)")
    inner = found[rel.inner.var]
    order = [loop for loop in chain if loop is not inner]
    at = order.index(found[rel.outer.var]) + 1
    order[at:at] = [inner]
    _check_ranges(chain, order, f"fuse loops {rel.outer.name} and {rel.inner.name}", where)
    nest = _wrap(order, guards, innermost)
    return _ReplaceLoop(rel.outer.var, lambda loop: _fuse_pair(loop, rel, where)).visit(nest)


def _fuse_pair(loop: For, rel: Fuse, where: str) -> Stmt:
    inner = loop.body
    assert isinstance(inner, For) and inner.loop_var is rel.inner.var  # _fuse put it there
    for part in (loop, inner):
        _check_script_bound(part, f"fuse loops {rel.outer.name} and {rel.inner.name}", where)
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
    """Perfect nests whose loops are out of the stage's leaf order, in that order."""

    def __init__(self, st: Stage, where: str):
        super().__init__()
        self.position = {iv.var: k for k, iv in enumerate(st.leaf_iter_vars)}
        self.names = {iv.var: iv.name for iv in st.leaf_iter_vars}
        self.where = where
        self.enclosing: list[Var] = []

    def visit_For(self, node: For) -> Stmt:
        if node.loop_var not in self.position:
            return self.generic_visit(node)
        chain, guards, innermost = _nest(node, lambda v: v in self.position)
        order = sorted(chain, key=lambda loop: self.position[loop.loop_var])
        if order == chain:   # as written: the nest's ifs stay where the script has them
            self._check_inside(node.loop_var)
            self.enclosing.append(node.loop_var)
            try:
                return node.with_fields(body=self.visit(node.body))
            finally:
                self.enclosing.pop()
        _check_ranges(chain, order, f"reorder loop {self.names[order[0].loop_var]}", self.where)
        for loop in order:
            self._check_inside(loop.loop_var)
        self.enclosing.extend(loop.loop_var for loop in order)
        try:
            body = self.visit(innermost)
        finally:
            del self.enclosing[len(self.enclosing) - len(order):]
        return _wrap(order, guards, body)

    def _check_inside(self, var: Var) -> None:
        for outer in self.enclosing:
            if self.position[outer] > self.position[var]:
                raise LoweringError(f"{self.where}: cannot put loop {self.names[var]} outside loop "
                                    f"{self.names[outer]}: there are statements between them in the script (or "
                                    "an if whose condition reads memory)")


class _Annotate(Mutator):
    """Leaf loops with their kind, thread binding and pragmas."""

    def __init__(self, st: Stage, where: str):
        super().__init__()
        self.st, self.where = st, where
        self.leaves = {iv.var: iv for iv in st.leaf_iter_vars}
        self.launched: dict[str, str] = {}   # GPU index -> the loop around that runs on it

    def visit_For(self, node: For) -> Any:
        iv = self.leaves.get(node.loop_var)
        if iv is not None and iv in self.st.iter_var_attrs:
            _check_script_bound(node, f"annotate or bind loop {iv.name}", self.where)
            kind, tag, ann = loop_kind(self.st, iv)
            if kind == ForKind.VECTORIZED and not isinstance(simplify(node.extent), E.IntImm):
                raise LoweringError(f"{self.where}: cannot vectorize loop {iv.name}: its extent {node.extent} is "
                                    "not a constant; split it by a constant factor and vectorize the inner part")
            if kind == ForKind.THREAD_BINDING and not (isinstance(node.min, E.IntImm) and node.min.value == 0):
                node = node.with_fields(body=substitute(node.body, {node.loop_var: node.loop_var + node.min}),
                                        min=E.const(0, node.loop_var.dtype))
            node = node.with_fields(kind=kind, thread_tag=tag, annotations=tuple(node.annotations) + ann)
        tag = node.thread_tag if node.kind == ForKind.THREAD_BINDING else ""
        if tag in self.launched:
            # The kernel would read one index for both loops (the GPU runs it once).
            raise LoweringError(f"{self.where}: loop {node.loop_var.name} is bound to {tag} inside loop "
                                f"{self.launched[tag]}, which runs on {tag} already; bind it to another index")
        if tag:
            self.launched[tag] = node.loop_var.name
        try:
            return node.with_fields(body=self.visit(node.body))
        finally:
            self.launched.pop(tag, None)
