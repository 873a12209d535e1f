"""Double buffering of shared buffers filled inside a loop (``Stage.double_buffer``).

Guarantees: for a serial loop whose body allocates a double-buffered shared buffer, fills it
(the fetch: statements before the body's first barrier that write it) and then reads it (the
compute), the buffer gets two halves; the fetch of iteration 0 runs before the loop and each
iteration starts with one barrier, then fetches the next iteration into the other half (as
``cp_async`` copies where a fetch is a plain copy from global memory, committed as one group
and waited for before the barrier), then computes on its own half.  One barrier per iteration
replaces the two of the single-buffered loop.  Other shared buffers the loop fills (not
double-buffered) are filled after that barrier, as before, and keep a barrier between their fill
and the compute.  Runs after ``storage_sync`` (on its barriers).
"""

from __future__ import annotations

from ...errors import LoweringError
from ...te import expr as E
from ...te.expr import Load, PrimExpr, Var
from ...te.extern import ACCESS_PTR
from ...te.functor import Mutator, contains, post_order_visit, substitute
from ..async_copy import commit, cp_async, wait
from ..stmt import Allocate, For, ForKind, IfThenElse, SeqStmt, Stmt, Store, seq
from .simplify import simplify_stmt
from .storage_sync import barrier, buffer_accesses, is_barrier


def _peel(s: Stmt) -> tuple[list[Allocate], list[Stmt]]:
    """The Allocates wrapping a loop body (outermost first) and its flat statement list."""
    allocs: list[Allocate] = []
    stmts: list[Stmt] = []
    node: Stmt | None = s
    while node is not None:
        if isinstance(node, Allocate):
            allocs.append(node)
            node = node.body
        elif isinstance(node, SeqStmt):
            items = list(node.seq)
            while len(items) > 1 and is_barrier(items[-1]) and isinstance(items[-2], (Allocate, SeqStmt)):
                items.pop()  # storage_sync's end-of-iteration barrier: the new loop has its own
            *head, last = items
            stmts.extend(head)
            # A trailing Allocate wraps the rest of the body, unless an earlier statement allocates
            # the same buffer (unrolled copies of one allocation): hoisting the last copy around
            # all of them would nest the buffer inside itself.
            node = last if isinstance(last, Allocate) and not _allocates(head, last.buffer) else None
            if node is None:
                stmts.append(last)
        else:
            stmts.append(node)
            node = None
    return allocs, stmts


def _allocates(stmts: list[Stmt], buffer: Var) -> bool:
    """Whether any of ``stmts`` allocates ``buffer``."""
    return any(contains(s, lambda n: isinstance(n, Allocate) and n.buffer is buffer) for s in stmts)


def _stored(stmts: list[Stmt]) -> set[Var]:
    """The buffers ``stmts`` store to (directly or through a pointer handed to other code)."""
    found: set[Var] = set()

    def fn(n: object) -> None:
        if isinstance(n, Store):
            found.add(n.buffer)
        elif isinstance(n, E.Call) and n.name == ACCESS_PTR and n.args and isinstance(n.args[0], Var):
            found.add(n.args[0])
    for s in stmts:
        post_order_visit(s, fn)
    return found


class _Half(Mutator):
    """Accesses of double-buffered buffers moved to half ``offset`` (and fetch stores made async)."""

    def __init__(self, extents: dict[Var, PrimExpr], half: PrimExpr, asynchronous: bool = False):
        super().__init__()
        self.extents, self.half, self.asynchronous = extents, half, asynchronous

    def _shift(self, buf: Var, index: PrimExpr) -> PrimExpr:
        offset = self.half * self.extents[buf]
        if isinstance(index, E.Ramp):
            return E.Ramp(index.base + offset, index.stride, index.lanes)
        if index.dtype.lanes > 1:
            return index + E.Broadcast(offset, index.dtype.lanes)
        return index + offset

    def visit_Load(self, node: Load) -> PrimExpr:
        node = self.generic_visit(node)
        if node.buffer not in self.extents:
            return node
        return Load(node.dtype, node.buffer, self._shift(node.buffer, node.index), node.predicate)

    def visit_Call(self, node: E.Call) -> PrimExpr:
        node = self.generic_visit(node)
        if node.name != ACCESS_PTR or node.args[0] not in self.extents:
            return node
        # A pointer handed to other code (a tensor-core load) points into the same half.
        buf, offset, *rest = node.args
        return node.with_fields(args=(buf, offset + self.half * self.extents[buf], *rest))

    def visit_Store(self, node: Store) -> Stmt:
        node = self.generic_visit(node)
        if node.buffer not in self.extents:
            return node
        index = self._shift(node.buffer, node.index)
        v = node.value
        if self.asynchronous and node.predicate is None and isinstance(v, Load) and v.buffer not in self.extents \
                and v.predicate is None:
            return cp_async(Load(v.dtype, node.buffer, index), v)
        return Store(node.buffer, v, index, node.predicate)


class _DoubleBuffer(Mutator):
    def __init__(self, buffers: set[Var]):
        super().__init__()
        self.buffers = buffers

    def visit_For(self, node: For) -> Stmt:
        if node.kind in (ForKind.THREAD_BINDING, ForKind.VECTORIZED, ForKind.PARALLEL):
            return self.generic_visit(node)
        allocs, stmts = _peel(node.body)
        mine = [a for a in allocs if a.buffer in self.buffers and a.scope == "shared"]
        if not mine:
            return self.generic_visit(node)
        # The doubled buffers move out of the loop; the loop's other allocations (a shared buffer
        # of the same loop that is not double-buffered) stay inside it, around the new body.
        inner_allocs = [a for a in allocs if a not in mine]
        bufs = {a.buffer for a in mine}
        first = next((i for i, s in enumerate(stmts) if is_barrier(s)), len(stmts))
        fetch = [s for s in stmts[:first] if buffer_accesses(s, bufs)[1]]
        prefix = [s for s in stmts[:first] if not buffer_accesses(s, bufs)[1]]
        compute = [s for s in stmts[first + 1:]]
        while compute and is_barrier(compute[-1]):
            compute.pop()
        if not fetch or any(buffer_accesses(s, bufs)[0] for s in fetch):
            names = ", ".join(a.buffer.name for a in mine)
            raise LoweringError(f"cannot double-buffer {names} in loop {node.loop_var.name}: it must be filled "
                                "(computed at that loop) before it is read, by statements that do not read it")
        inner = {a.buffer for a in inner_allocs}
        if any(buffer_accesses(s, inner)[0] for s in fetch):
            names = ", ".join(a.buffer.name for a in mine)
            raise LoweringError(f"cannot double-buffer {names} in loop {node.loop_var.name}: its fill reads a "
                                "buffer allocated inside that loop, which the fill of the first iteration, moved "
                                "before the loop, cannot see")
        extents = {a.buffer: a.extent for a in mine}
        k, lo, ext = node.loop_var, node.min, node.extent
        rel = k - lo
        fetch_body = seq(*fetch)
        prologue = _Half(extents, E.const(0), asynchronous=True).visit(substitute(fetch_body, {k: lo}))
        ahead = _Half(extents, E.FloorMod(rel + 1, E.const(2)), asynchronous=True).visit(
            substitute(fetch_body, {k: k + 1}))
        # The rest of the fill (buffers not double-buffered) stays in the iteration, after its
        # barrier; the compute reading what it wrote needs the barrier that followed it.
        written = _stored(prefix)
        if written and any(buffer_accesses(s, written)[0] for s in compute):
            prefix.append(barrier())
        work = seq(*prefix, *compute)
        work = _Half(extents, E.FloorMod(rel, E.const(2))).visit(self.visit(work))
        prologue, ahead, work = (simplify_stmt(x) for x in (prologue, ahead, work))
        body = seq(wait(), barrier(), IfThenElse(k + 1 < lo + ext, ahead), commit(), work)
        for a in reversed(inner_allocs):
            body = Allocate(a.buffer, a.dtype, a.extent, a.scope, body)
        loop = For(k, lo, ext, node.kind, body, node.thread_tag, node.annotations)
        out: Stmt = seq(IfThenElse(ext > 0, prologue) if not isinstance(ext, E.IntImm) else prologue, commit(), loop)
        for a in reversed(mine):
            out = Allocate(a.buffer, a.dtype, a.extent * 2, a.scope, out)
        return out


def inject_double_buffer(stmt: Stmt, buffers: set[Var]) -> Stmt:
    """Double-buffer ``buffers`` in the loops that fill them (module docstring).  A buffer that
    no loop refills (computed at root, or its loop has a single iteration and was removed)
    stays single: there is nothing to overlap."""
    if not buffers:
        return stmt
    return _DoubleBuffer(buffers).visit(stmt)
