"""pipeline_rows: guarantees that a serial row loop annotated ``pragma_pipeline_rows`` computes what
it computed before, with each row's output pass run one iteration later, fused with the next
row's prefetching loop, so that its streaming stores overlap that row's arithmetic.

A row softmax has three passes over a row held in cache (max; exp and sum; normalize and store),
and on one core its stores to memory then all happen in the last pass, while nothing is stored
during the others: the core's memory traffic comes in bursts, not at the copy rate.  Software
pipelining by one row interleaves the two ::

    for r in [0, N):                      A(0)                        (prologue)
        A(r)                              for r in [1, N):
        B(r)               becomes            A'(r) with B(r - 1)'s main loop fused into
                                                    A(r)'s prefetching loop
                                          B(N - 1)                    (epilogue)

Applies when the loop's body is a sequence of statements (allocations anywhere along it) that
splits into ``A``, which writes only buffers allocated in the row, and ``B``, the statements
after ``A``'s last, which write none of them and whose writes ``A`` does not read; ``A`` holds
one serial loop ``P`` annotated ``pragma_prefetch`` of constant extent, and ``B`` (under the
streaming rewrite's lets) holds one serial loop ``V``, the streaming loop when there is one,
else its only loop.  The row's buffers that ``B`` reads
get two copies, row ``r`` using copy ``r % 2``, the second starting ``COPY_GAP_BYTES`` past the
first one's end; the fused loop runs ``P``'s and ``V``'s bodies
side by side for their common trip count, then each loop's rest.  Stores in the fused loop
stream only into ``V``'s buffers (annotation ``tl.nontemporal_only``).  Anything else, or a
loop of fewer than two rows, is left as it is: the pragma is a hint.
"""

from __future__ import annotations

from typing import Any

from ...arith import simplify
from ...te import expr as E
from ...te.expr import IntImm, PrimExpr, Var
from ...te.functor import Mutator, Visitor, substitute
from ..stmt import Allocate, Evaluate, For, ForKind, LetStmt, SeqStmt, Stmt, Store, seq
from .remove_no_op import remove_no_op
from .simplify import simplify_stmt
from .streaming_stores import ANNOTATION_KEY as STREAM_KEY

PRAGMA_KEY = "pragma_pipeline_rows"
PREFETCH_KEY = "pragma_prefetch"  # the loop annotation of pragma(axis, "prefetch", elements); codegen reads it too
STREAM_ONLY_KEY = "tl.nontemporal_only"  # value: the buffer Vars whose stores may stream in this loop
# The fused loop stores row r's copy at position j while it loads row r - 1's copy at j.  Copies
# exactly a multiple of 4 KiB apart put those two addresses on the same low 12 bits, which the
# core takes for a store the load depends on (4K aliasing) and stalls every load: with a
# 16 KiB row, a softmax whose two loops ran at the same vector width took 1.5x as long
# (15.4 ms against 9.5-10.4 ms with any gap of 64 to 4160 bytes, one thread, Zen 3).
COPY_GAP_BYTES = 256


def pipeline_rows(stmt: Stmt) -> Stmt:
    """Pipeline every annotated row loop of ``stmt`` that has the shape above."""
    return _Rewriter().visit(stmt)


class _Rewriter(Mutator):
    def visit_For(self, op: For) -> Stmt:
        op = self.generic_visit(op)
        if dict(op.annotations).get(PRAGMA_KEY) and op.kind is ForKind.SERIAL:
            out = _pipeline(op)
            if out is not None:
                return out
        return op


class _Uses(Visitor):
    """Buffers stored to and loaded from (a handle passed to a call counts as a load)."""

    def __init__(self) -> None:
        super().__init__()
        self.stores: set[Var] = set()
        self.loads: set[Var] = set()

    def visit_Store(self, s: Store) -> None:
        self.stores.add(s.buffer)
        self.generic_visit(s)

    def visit_Load(self, e: E.Load) -> None:
        self.loads.add(e.buffer)
        self.generic_visit(e)

    def visit_Var(self, v: Var) -> None:
        if v.dtype.is_handle:
            self.loads.add(v)


def _uses(*stmts: Stmt) -> _Uses:
    u = _Uses()
    for s in stmts:
        u.visit(s)
    return u


def _flatten(s: Stmt, allocs: list[Allocate], stmts: list[Stmt]) -> None:
    """The row body as its allocations and its other statements, in order.  Buffers are distinct
    Vars, so declaring them all first changes no statement's meaning."""
    if isinstance(s, Allocate):
        allocs.append(s)
        _flatten(s.body, allocs, stmts)
    elif isinstance(s, SeqStmt):
        for child in s.seq:
            _flatten(child, allocs, stmts)
    else:
        stmts.append(s)


class _Offset(Mutator):
    """Accesses of the double-buffered buffers moved to one copy: index + ``offset[buffer]``."""

    def __init__(self, offsets: dict[Var, PrimExpr]):
        super().__init__()
        self.offsets = offsets

    def _index(self, buffer: Var, index: PrimExpr) -> PrimExpr:
        off = self.offsets[buffer]
        if isinstance(index, E.Ramp):
            return E.Ramp(index.base + off, index.stride, index.lanes)
        if index.dtype.lanes > 1:
            return index + E.Broadcast(off, index.dtype.lanes)
        return index + off

    def visit_Load(self, e: E.Load) -> PrimExpr:
        e = self.generic_visit(e)
        if e.buffer in self.offsets:
            return E.Load(e.dtype, e.buffer, self._index(e.buffer, e.index), e.predicate)
        return e

    def visit_Store(self, s: Store) -> Stmt:
        s = self.generic_visit(s)
        if s.buffer in self.offsets:
            return Store(s.buffer, s.value, self._index(s.buffer, s.index), s.predicate)
        return s


def _single_loop(parts: list[Stmt], want: Any) -> int | None:
    """The index of the one serial loop of ``parts`` that ``want(loop)`` accepts, else None."""
    found = [i for i, p in enumerate(parts) if isinstance(p, For) and p.kind is ForKind.SERIAL and want(p)]
    return found[0] if len(found) == 1 else None


def _pipeline(loop: For) -> Stmt | None:
    if not (isinstance(loop.extent, IntImm) and loop.extent.value >= 2):
        return None
    allocs: list[Allocate] = []
    stmts: list[Stmt] = []
    _flatten(loop.body, allocs, stmts)
    local = {a.buffer for a in allocs}
    # B: the statements after the last one that writes a buffer of the row.
    cut = max((i for i, st in enumerate(stmts) if _uses(st).stores & local), default=-1) + 1
    if cut == 0 or cut == len(stmts):
        return None
    a_stmts, b_stmts = stmts[:cut], stmts[cut:]
    ua, ub = _uses(*a_stmts), _uses(*b_stmts)
    if not ua.stores <= local or ua.loads & ub.stores:
        return None
    doubled = ub.loads & local
    sizes = {a.buffer: a.extent for a in allocs}
    if not all(isinstance(sizes[v], IntImm) for v in doubled):
        return None
    strides = {a.buffer: sizes[a.buffer].value + max(1, COPY_GAP_BYTES // a.dtype.bytes)
               for a in allocs if a.buffer in doubled}
    p_at = _single_loop(a_stmts, lambda f: PREFETCH_KEY in dict(f.annotations) and isinstance(f.extent, IntImm))
    lets: list[tuple[Var, PrimExpr]] = []
    parts = b_stmts
    if len(b_stmts) == 1:  # the streaming rewrite's lets (head, whole vectors) around its loops
        core = b_stmts[0]
        while isinstance(core, LetStmt):
            lets.append((core.var, core.value))
            core = core.body
        parts = list(core.seq) if isinstance(core, SeqStmt) else [core]
        # The lets move above the next row's statements, where only the row's own copy of a
        # buffer would be seen: they may read no buffer of the row.
        if any(_uses(Evaluate(value)).loads & local for _, value in lets):
            return None
    v_at = _single_loop(parts, lambda f: STREAM_KEY in dict(f.annotations))
    if v_at is None:
        v_at = _single_loop(parts, lambda f: True)
    if p_at is None or v_at is None:
        return None

    r, m0, n = loop.loop_var, loop.min, loop.extent.value

    def row(stmts_: list[Stmt], at: PrimExpr) -> list[Stmt]:
        """``stmts_`` for row ``at``, on that row's copy of the double-buffered buffers."""
        parity = E.FloorMod(at - m0, E.const(2, at.dtype))
        offsets = {v: parity * E.const(strides[v], parity.dtype) for v in doubled}
        mover = _Offset(offsets)
        return [mover.visit(substitute(s, {r: at})) for s in stmts_]

    def with_lets(at: PrimExpr, body: Stmt) -> Stmt:
        for var, value in reversed(lets):
            body = LetStmt(var, substitute(value, {r: at}), body)
        return body

    first, last = m0, simplify(m0 + (n - 1))
    prologue = seq(*row(a_stmts, first))
    epilogue = with_lets(last, seq(*row(parts, last)))

    r2 = Var(r.name + ".pipe", r.dtype)
    a_now = row(a_stmts, r2)
    b_prev = row(parts, r2 - 1)
    p, v = a_now[p_at], b_prev[v_at]
    k = Var(p.loop_var.name + ".fused", p.loop_var.dtype)
    common = E.Min(p.extent, E.Cast(p.extent.dtype, v.extent) if v.extent.dtype != p.extent.dtype else v.extent)
    fused_body = seq(substitute(p.body, {p.loop_var: p.min + k}),
                     substitute(v.body, {v.loop_var: v.min + E.Cast(v.loop_var.dtype, k)
                                         if v.loop_var.dtype != k.dtype else v.min + k}))
    streamed = tuple(sorted(_uses(v.body).stores, key=lambda x: x.name))
    annotations = tuple(a for a in p.annotations if a[0] != STREAM_KEY) + tuple(
        a for a in v.annotations if a[0] == STREAM_KEY)
    if any(a[0] == STREAM_KEY for a in annotations):
        annotations += ((STREAM_ONLY_KEY, streamed),)
    fused = For(k, E.const(0, k.dtype), common, ForKind.SERIAL, fused_body, annotations=annotations)
    rest_p = For(p.loop_var, p.min + common, p.extent - common, p.kind, p.body, p.thread_tag, p.annotations)
    common_v = E.Cast(v.extent.dtype, common) if common.dtype != v.extent.dtype else common
    rest_v = For(v.loop_var, v.min + common_v, v.extent - common_v, v.kind, v.body, v.thread_tag, v.annotations)
    steady_body = seq(*a_now[:p_at], *b_prev[:v_at], fused, rest_p, rest_v, *b_prev[v_at + 1:], *a_now[p_at + 1:])
    steady = For(r2, simplify(m0 + 1), E.const(n - 1, r.dtype), ForKind.SERIAL,
                 with_lets(r2 - 1, steady_body), annotations=tuple(a for a in loop.annotations if a[0] != PRAGMA_KEY))
    out: Stmt = seq(prologue, steady, epilogue)
    for a in reversed(allocs):
        extent = a.extent + strides[a.buffer] if a.buffer in doubled else a.extent
        out = Allocate(a.buffer, a.dtype, simplify(extent), a.scope, out)
    return remove_no_op(simplify_stmt(out))
