"""Virtual threads: push each vthread loop inward so the virtual threads' statements interleave.

Guarantees: a loop annotated ``virtual_thread`` (a loop bound to ``vthread``/``cthread``) is
replaced by its body in which every statement that depends on the virtual thread index (it
mentions it, or reads a buffer or let value that does) runs once per virtual thread in an
unrolled loop of its own, as deep as possible: a serial or thread loop, branch, allocation or
let whose own bounds do not depend on it is kept once and the virtual threads run inside it,
so ``for k: C[v] += A[k] * B[v, k]`` interleaves the virtual threads at every ``k`` instead of
running one virtual thread's whole nest after another.  Statements that do not depend on the
index (a shared-memory fetch covering every virtual thread, a barrier) run once.  A buffer
allocated inside the loop and written with values that depend on the index gets one copy per
virtual thread (its size times the count, indexed ``i + v * size``).  Virtual threads are
independent like threads, so any interleaving computes what one after another did.
"""

from __future__ import annotations

from typing import Any

from ...te import expr as E
from ...te.expr import IntImm, PrimExpr, Var
from ...te.extern import ACCESS_PTR
from ...te.functor import Mutator, post_order_visit, substitute
from ..stmt import Allocate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, Store, seq
from ..storage_scope import WMMA_SCOPES
from ..wmma import MMA, STORE, WMMA_CALLS, fragment_of

VIRTUAL_THREAD = "virtual_thread"  # the For annotation that marks a vthread/cthread loop


def _names(node: Any) -> set[Var]:
    """Every variable the tree mentions, buffers of loads and stores included."""
    out: set[Var] = set()

    def fn(n: Any) -> None:
        if isinstance(n, Var):
            out.add(n)
        elif isinstance(n, (E.Load, Store)):
            out.add(n.buffer)
    post_order_visit(node, fn)
    if isinstance(node, Store):
        out.add(node.buffer)
    return out


def _touched(body: Stmt, v: Var) -> set[Var]:
    """``v`` and the buffers and let variables whose contents depend on it (a fixpoint)."""
    stores: list[tuple[Var, set[Var]]] = []
    lets: list[tuple[Var, set[Var]]] = []

    def fn(n: Any) -> None:
        if isinstance(n, Store):
            stores.append((n.buffer, _names(n.value) | _names(n.index)
                           | (_names(n.predicate) if n.predicate is not None else set())))
        elif isinstance(n, E.Call) and n.name in WMMA_CALLS:
            # A tensor-core call writes its destination fragment (a store, the memory it points to).
            dest = n.args[5].args[0] if n.name == STORE and isinstance(n.args[5], E.Call) else n.args[0]
            if isinstance(dest, Var):
                stores.append((dest, _names(n)))
        elif isinstance(n, LetStmt):
            lets.append((n.var, _names(n.value)))
        elif isinstance(n, For):
            lets.append((n.loop_var, _names(n.min) | _names(n.extent)))
    post_order_visit(body, fn)
    touched = {v}
    changed = True
    while changed:
        changed = False
        for target, uses in stores + lets:
            if target not in touched and uses & touched:
                touched.add(target)
                changed = True
    return touched


class _Expand(Mutator):
    """Accesses of ``buf`` (``size`` elements a virtual thread) go to virtual thread ``v``'s copy."""

    def __init__(self, buf: Var, size: PrimExpr, v: Var, fragment: int | None = None):
        super().__init__()
        self.buf, self.offset = buf, v * size
        # A tensor-core fragment buffer: its calls index whole fragments of ``fragment`` elements.
        self.fragments = v * (size // fragment) if fragment else None

    def visit_Load(self, node: E.Load) -> PrimExpr:
        node = self.generic_visit(node)
        return node.with_fields(index=node.index + self.offset) if node.buffer is self.buf else node

    def visit_Store(self, node: Store) -> Stmt:
        node = self.generic_visit(node)
        return node.with_fields(index=node.index + self.offset) if node.buffer is self.buf else node

    def visit_Call(self, node: E.Call) -> PrimExpr:
        node = self.generic_visit(node)
        if node.name in WMMA_CALLS and self.fragments is not None:
            args = list(node.args)
            for k in ((0, 2, 4, 6) if node.name == MMA else (0,)):
                if args[k] is self.buf:
                    index = k + 1 if node.name == MMA else 4
                    args[index] = args[index] + self.fragments
            return node.with_fields(args=tuple(args))
        if node.name != ACCESS_PTR or node.args[0] is not self.buf:
            return node
        buf, offset, *rest = node.args  # a pointer handed to other code: into the same copy
        return node.with_fields(args=(buf, offset + self.offset, *rest))


class _Push:
    def __init__(self, loop: For):
        self.loop = loop
        self.v, self.count = loop.loop_var, loop.extent
        self.touched = _touched(loop.body, self.v)

    def depends(self, node: Any) -> bool:
        return bool(_names(node) & self.touched)

    def each(self, s: Stmt) -> Stmt:
        """``s`` run for every virtual thread: an unrolled loop over them."""
        return For(self.v, self.loop.min, self.count, ForKind.UNROLLED, s)

    def push(self, s: Stmt) -> Stmt:
        if not self.depends(s):
            return s  # the same for every virtual thread: once
        if isinstance(s, SeqStmt):
            return seq(*[self.push(c) for c in s.seq])
        if isinstance(s, For) and not (self.depends(s.min) or self.depends(s.extent)) and \
                s.kind in (ForKind.SERIAL, ForKind.UNROLLED, ForKind.THREAD_BINDING):
            return s.with_fields(body=self.push(s.body))
        if isinstance(s, IfThenElse) and not self.depends(s.condition):
            return s.with_fields(then_case=self.push(s.then_case),
                                 else_case=None if s.else_case is None else self.push(s.else_case))
        if isinstance(s, LetStmt) and not self.depends(s.value):
            return s.with_fields(body=self.push(s.body))
        if isinstance(s, Allocate) and not self.depends(s.extent):
            body = s.body
            if s.buffer in self.touched:  # one copy per virtual thread
                fragment = fragment_of(s).size if s.scope in WMMA_SCOPES else None
                body = _Expand(s.buffer, s.extent, self.v, fragment).visit(body)
                return Allocate(s.buffer, s.dtype, s.extent * self.count, s.scope, self.push(body))
            return s.with_fields(body=self.push(body))
        return self.each(s)


class _Inject(Mutator):
    def visit_For(self, node: For) -> Stmt:
        node = self.generic_visit(node)  # inner virtual threads first
        if not any(k == VIRTUAL_THREAD for k, _ in node.annotations):
            return node
        if not (isinstance(node.min, IntImm) and node.min.value == 0):
            node = node.with_fields(body=substitute(node.body, {node.loop_var: node.loop_var + node.min}),
                                    min=IntImm(node.min.dtype, 0))
        return _Push(node).push(node.body)


def inject_virtual_threads(stmt: Stmt) -> Stmt:
    """Interleave the virtual threads of every vthread loop (module docstring)."""
    return _Inject().visit(stmt)

