"""Barrier insertion for GPU shared memory.

Guarantees: inside a kernel, a ``tl.syncthreads`` barrier separates a statement that writes a
shared buffer from a later statement of the same sequence that reads it (read after write),
and a statement that reads it from a later one that writes it (write after read); two writes
need none (each element of a stage is written by one thread).  A serial loop whose body both
writes and reads a shared buffer ends its body with a barrier, so the next iteration's writes
wait for this iteration's reads.  Every barrier sits where all threads of the block reach it:
a loop bound to ``threadIdx`` with the block's full extent is each thread's own code (a
barrier in it is reached by all), but where one is needed inside thread-dependent control
flow (a ``threadIdx`` loop shorter than the block, a condition on the thread index) that
construct is split at the barrier instead -- ``if c {A; B}`` becomes ``if c {A}; barrier;
if c {B}``, which computes the same.  A barrier that cannot be lifted that way (under a loop
whose bounds depend on the thread index, or a condition that reads memory) stays where it is
and the CUDA backend rejects the kernel with a message.
"""

from __future__ import annotations

from typing import Any

from ...arith import structural_key
from ...te.expr import Call, IntImm, Load, PrimExpr, Var
from ...te.extern import ACCESS_PTR, access_mask
from ...te.functor import Mutator, free_vars, post_order_visit, substitute
from ..stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, Store, seq

BARRIER = "tl.syncthreads"


def barrier() -> Evaluate:
    """The block-wide barrier statement."""
    return Evaluate(Call("int32", BARRIER, ()))


def is_barrier(s: Any) -> bool:
    return isinstance(s, Evaluate) and isinstance(s.value, Call) and s.value.name == BARRIER


def contains_barrier(s: Stmt, memo: dict[int, tuple[Stmt, bool]] | None = None) -> bool:
    """Whether a barrier sits anywhere in ``s``; walks statements only (a barrier is one), and
    ``memo`` (node id -> (node, answer)) spares the walks of subtrees asked about before."""
    if memo is not None:
        hit = memo.get(id(s))
        if hit is not None and hit[0] is s:
            return hit[1]
    if isinstance(s, Evaluate):
        found = is_barrier(s)
    elif isinstance(s, SeqStmt):
        found = any(contains_barrier(c, memo) for c in s.seq)
    elif isinstance(s, IfThenElse):
        found = contains_barrier(s.then_case, memo) or (s.else_case is not None
                                                        and contains_barrier(s.else_case, memo))
    elif isinstance(s, Store):
        found = False
    else:  # For, LetStmt, Allocate and any other statement around a body
        body = getattr(s, "body", None)
        found = body is not None and contains_barrier(body, memo)
    if memo is not None:
        memo[id(s)] = (s, found)
    return found


def buffer_accesses(s: Stmt, bufs: set[Var]) -> tuple[set[Var], set[Var]]:
    """(the buffers of ``bufs`` that ``s`` loads from, those it stores to)."""
    reads: set[Var] = set()
    writes: set[Var] = set()

    def fn(n: Any) -> None:
        if isinstance(n, Load) and n.buffer in bufs:
            reads.add(n.buffer)
        elif isinstance(n, Store) and n.buffer in bufs:
            writes.add(n.buffer)
        elif _is_pointer(n, bufs):  # code given a pointer reads and/or writes through it
            mask = access_mask(n)
            if mask & 1:
                reads.add(n.args[0])
            if mask & 2:
                writes.add(n.args[0])
    post_order_visit(s, fn)
    return reads, writes


def _is_pointer(n: Any, bufs: set[Var]) -> bool:
    return isinstance(n, Call) and n.name == ACCESS_PTR and bool(n.args) and n.args[0] in bufs


def _has_load(e: PrimExpr) -> bool:
    found = False

    def fn(n: Any) -> None:
        nonlocal found
        found = found or isinstance(n, (Load, Call))
    post_order_visit(e, fn)
    return found


def _launch(root: For) -> dict[str, Any]:
    """Each threadIdx tag of the kernel under ``root``: its launch extent (an int: the largest
    constant extent bound to it), or the structural key of its one symbolic extent (None when
    several differ: no loop of that tag is then known to span the block)."""
    exts: dict[str, list[PrimExpr]] = {}

    def fn(n: Any) -> None:
        if isinstance(n, For) and n.kind == ForKind.THREAD_BINDING and n.thread_tag.startswith("threadIdx"):
            exts.setdefault(n.thread_tag, []).append(n.extent)
    post_order_visit(root, fn)
    out: dict[str, Any] = {}
    for tag, es in exts.items():
        if all(isinstance(e, IntImm) for e in es):
            out[tag] = max(e.value for e in es)
        else:
            keys = {structural_key(e) for e in es}
            out[tag] = ("sym", next(iter(keys))) if len(keys) == 1 else None
    return out


def _expr_reads(e: Any, bufs: set[Var]) -> set[Var]:
    reads: set[Var] = set()
    if e is not None:
        def fn(n: Any) -> None:
            if isinstance(n, Load) and n.buffer in bufs:
                reads.add(n.buffer)
            elif _is_pointer(n, bufs) and access_mask(n) & 1:
                reads.add(n.args[0])
        post_order_visit(e, fn)
    return reads


class _Accesses:
    """buffer_accesses composed from the statements' children and remembered per node, so
    asking about every loop of a deep nest walks each expression once."""

    def __init__(self, bufs: set[Var]) -> None:
        self.bufs = bufs
        self.memo: dict[int, tuple[Stmt, tuple[frozenset, frozenset]]] = {}

    def __call__(self, s: Stmt) -> tuple[frozenset, frozenset]:
        hit = self.memo.get(id(s))
        if hit is not None and hit[0] is s:
            return hit[1]
        if isinstance(s, SeqStmt):
            parts = [self(c) for c in s.seq]
            out = (frozenset().union(*(p[0] for p in parts)), frozenset().union(*(p[1] for p in parts)))
        elif isinstance(s, IfThenElse):
            r, w = self(s.then_case)
            if s.else_case is not None:
                r2, w2 = self(s.else_case)
                r, w = r | r2, w | w2
            out = (r | _expr_reads(s.condition, self.bufs), w)
        elif isinstance(s, (For, LetStmt, Allocate)):
            r, w = self(s.body)
            exprs = (s.min, s.extent) if isinstance(s, For) else (s.value,) if isinstance(s, LetStmt) else (s.extent,)
            out = (r.union(*(_expr_reads(e, self.bufs) for e in exprs)), w)
        else:
            r0, w0 = buffer_accesses(s, self.bufs)
            out = (frozenset(r0), frozenset(w0))
        self.memo[id(s)] = (s, out)
        return out


class _Sync(Mutator):
    def __init__(self, shared: set) -> None:
        super().__init__()
        self.shared = shared
        self.accesses = _Accesses(shared)
        self.barriers: dict[int, tuple[Stmt, bool]] = {}  # contains_barrier's memo
        self.launch: dict[str, Any] | None = None  # of the kernel being visited
        self.thread_vars: set[Var] = set()  # variables whose value depends on the thread index

    # -- sequences -------------------------------------------------------------------------
    def visit_SeqStmt(self, node: SeqStmt) -> Stmt:
        return self._sequence(list(node.seq), set(), set())[0]

    def _sequence(self, children: list[Stmt], pend_r: set, pend_w: set) -> tuple[Stmt, set, set]:
        """Barriers for one sequence that starts with ``pend_r``/``pend_w`` unsynchronized
        accesses.  An Allocate is transparent: its body continues the sequence, so a fetch
        into one buffer followed by a fetch into the next one needs no barrier between them.
        A child that comes back as a sequence with barriers (a divergent construct split at
        its barriers) continues this sequence piece by piece."""
        out: list[Stmt] = []
        for child in children:
            if isinstance(child, Allocate):
                inner = list(child.body.seq) if isinstance(child.body, SeqStmt) else [child.body]
                body, pend_r, pend_w = self._sequence(inner, pend_r, pend_w)
                out.append(Allocate(child.buffer, child.dtype, child.extent, child.scope, body))
                continue
            child = self.visit(child)
            for piece in (child.seq if isinstance(child, SeqStmt) else (child,)):
                if is_barrier(piece):
                    pend_r, pend_w = set(), set()
                    out.append(piece)
                    continue
                r, w = self.accesses(piece)
                if (pend_w & r) or (pend_r & w):
                    out.append(barrier())
                    pend_r, pend_w = set(), set()
                out.append(piece)
                pend_r = pend_r | r
                pend_w = pend_w | w
        return seq(*out), pend_r, pend_w

    def visit_Allocate(self, node: Allocate) -> Stmt:
        return self._sequence([node], set(), set())[0]

    # -- loops, conditions and lets ----------------------------------------------------------
    def visit_For(self, node: For) -> Stmt:
        if node.kind == ForKind.THREAD_BINDING:
            return self._thread_loop(node)
        if self._depends(node.min, node.extent):
            self.thread_vars.add(node.loop_var)
        body = self.visit(node.body)
        r, w = self.accesses(body)
        if r & w:
            body = seq(body, barrier())
        return node.with_fields(body=body)

    def _thread_loop(self, node: For) -> Stmt:
        outermost = self.launch is None
        if outermost:
            self.launch = _launch(node)
        try:
            tag = node.thread_tag
            if not tag.startswith("threadIdx"):
                return node.with_fields(body=self.visit(node.body))
            self.thread_vars.add(node.loop_var)
            body = self.visit(node.body)
            launch = self.launch.get(tag)
            full = (launch == node.extent.value if isinstance(node.extent, IntImm)
                    else launch == ("sym", structural_key(node.extent)))
            if full:  # every thread runs the body once: it is the thread's own code
                return node.with_fields(body=body)
            # Threads past the extent skip the body: split it at its barriers.
            return self._lift(body, lambda part, first: _rebind_loop(node, part, first)) or node.with_fields(body=body)
        finally:
            if outermost:
                self.launch = None

    def visit_IfThenElse(self, node: IfThenElse) -> Stmt:
        out = self.generic_visit(node)
        if not self._depends(node.condition) or out.else_case is not None or _has_load(node.condition):
            return out
        return self._lift(out.then_case, lambda part, first: IfThenElse(node.condition, part)) or out

    def visit_LetStmt(self, node: LetStmt) -> Stmt:
        if self._depends(node.value):
            self.thread_vars.add(node.var)
        return self.generic_visit(node)

    def _depends(self, *exprs: PrimExpr) -> bool:
        return any(free_vars(e) & self.thread_vars for e in exprs)

    def _lift(self, body: Stmt, wrap: Any) -> Stmt | None:
        """``wrap`` (a divergent construct) applied to each barrier-free part of ``body``, the
        parts separated by barriers at this level; None when ``body`` has no barrier or one
        that cannot be lifted (inside a loop, a condition or an allocation of ``body``)."""
        parts = _parts(body, self.barriers)
        if parts is None or len(parts) == 1:
            return None
        pieces: list[Stmt] = []
        for i, part in enumerate(parts):
            if i:
                pieces.append(barrier())
            pieces.append(wrap(part, i == 0))
        return seq(*pieces)


def _rebind_loop(node: For, body: Stmt, first: bool) -> For:
    """``node`` around ``body``; a copy after the first binds a fresh variable (each loop
    variable is bound once)."""
    if first:
        return node.with_fields(body=body)
    var = Var(node.loop_var.name, node.loop_var.dtype)
    return node.with_fields(loop_var=var, body=substitute(body, {node.loop_var: var}))


def _parts(s: Stmt, memo: dict[int, tuple[Stmt, bool]]) -> list[Stmt] | None:
    """``s`` as barrier-free parts that, run one after another with a barrier between each
    two, compute what ``s`` does; None when a barrier sits where it cannot be split out."""
    if not contains_barrier(s, memo):
        return [s]
    if is_barrier(s):
        return [seq(), seq()]
    if isinstance(s, SeqStmt):
        parts: list[list[Stmt]] = [[]]
        for child in s.seq:
            sub = _parts(child, memo)
            if sub is None:
                return None
            parts[-1].append(sub[0])
            parts.extend([x] for x in sub[1:])
        return [seq(*p) for p in parts]
    if isinstance(s, LetStmt) and not _has_load(s.value):
        sub = _parts(s.body, memo)
        if sub is None:
            return None
        # Each part that uses the value binds it again (a fresh variable: each binding is unique).
        out = []
        for i, part in enumerate(sub):
            if s.var not in free_vars(part):
                out.append(part)
                continue
            var = s.var if i == 0 else Var(s.var.name, s.var.dtype)
            out.append(LetStmt(var, s.value, part if i == 0 else substitute(part, {s.var: var})))
        return out
    return None


def storage_sync(stmt: Stmt) -> Stmt:
    """Insert the barriers shared memory needs (see the module docstring)."""
    shared: set = set()
    post_order_visit(stmt, lambda n: shared.add(n.buffer) if isinstance(n, Allocate) and n.scope == "shared"
                     else None)
    if not shared:
        return stmt
    return _Sync(shared).visit(stmt)
