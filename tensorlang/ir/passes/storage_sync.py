"""Barrier insertion for GPU shared memory.

Guarantees: inside a kernel, between a statement that writes a shared buffer and a later
statement of the same sequence that reads or writes it (and between a read and a later
write), a ``tl.syncthreads`` barrier is inserted; a serial loop whose body both writes and
reads a shared buffer ends its body with a barrier, so the next iteration's writes wait for
this iteration's reads.  Barriers are placed only in sequences and loops that every thread of
the block runs (outside thread-bound loops).
"""

from __future__ import annotations

from typing import Any

from ...te.expr import Call, Load, Var
from ...te.functor import Mutator, post_order_visit
from ..stmt import Allocate, Evaluate, For, ForKind, SeqStmt, Stmt, Store, seq

BARRIER = "tl.syncthreads"


def barrier() -> Evaluate:
    """The block-wide barrier statement."""
    return Evaluate(Call("int32", BARRIER, ()))


def is_barrier(s: Any) -> bool:
    return isinstance(s, Evaluate) and isinstance(s.value, Call) and s.value.name == BARRIER


def buffer_accesses(s: Stmt, bufs: set[Var]) -> tuple[set[Var], set[Var]]:
    """(the buffers of ``bufs`` that ``s`` loads from, those it stores to)."""
    reads: set[Var] = set()
    writes: set[Var] = set()

    def fn(n: Any) -> None:
        if isinstance(n, Load) and n.buffer in bufs:
            reads.add(n.buffer)
        elif isinstance(n, Store) and n.buffer in bufs:
            writes.add(n.buffer)
    post_order_visit(s, fn)
    return reads, writes


class _Sync(Mutator):
    def __init__(self, shared: set) -> None:
        super().__init__()
        self.shared = shared

    def visit_SeqStmt(self, node: SeqStmt) -> Stmt:
        return self._sequence(list(node.seq), set(), set())[0]

    def _sequence(self, children: list[Stmt], pend_r: set, pend_w: set) -> tuple[Stmt, set, set]:
        """Barriers for one sequence that starts with ``pend_r``/``pend_w`` unsynchronized
        accesses.  An Allocate is transparent: its body continues the sequence, so a fetch
        into one buffer followed by a fetch into the next one needs no barrier between them."""
        out: list[Stmt] = []
        for child in children:
            if isinstance(child, Allocate):
                inner = list(child.body.seq) if isinstance(child.body, SeqStmt) else [child.body]
                body, pend_r, pend_w = self._sequence(inner, pend_r, pend_w)
                out.append(Allocate(child.buffer, child.dtype, child.extent, child.scope, body))
                continue
            child = self.visit(child)
            if is_barrier(child):
                pend_r, pend_w = set(), set()
                out.append(child)
                continue
            r, w = buffer_accesses(child, self.shared)
            if (pend_w & (r | w)) or (pend_r & w):
                out.append(barrier())
                pend_r, pend_w = set(), set()
            out.append(child)
            pend_r = pend_r | r
            pend_w = pend_w | w
        return seq(*out), pend_r, pend_w

    def visit_Allocate(self, node: Allocate) -> Stmt:
        return self._sequence([node], set(), set())[0]

    def visit_For(self, node: For) -> Stmt:
        body = self.visit(node.body)
        if node.kind != ForKind.THREAD_BINDING:
            r, w = buffer_accesses(body, self.shared)
            if r & w:
                body = seq(body, barrier())
        return node.with_fields(body=body)


def storage_sync(stmt: Stmt) -> Stmt:
    """Insert the barriers shared memory needs (see the module docstring)."""
    shared: set = set()
    post_order_visit(stmt, lambda n: shared.add(n.buffer) if isinstance(n, Allocate) and n.scope == "shared"
                     else None)
    if not shared:
        return stmt
    return _Sync(shared).visit(stmt)
