"""streaming_stores: guarantees that a chosen contiguous vector store loop writes whole aligned vectors
with non-temporal (streaming) stores, its unaligned head and its tail as scalar loops, computing exactly
what the input computes.

A streaming store skips the cache: the line is not read before it is written (an ordinary store
reads it first, a third of a vector add's memory traffic) and does not evict data that will be
used again.  It pays for outputs larger than the caches that are written once and not read back
soon; for anything that fits in cache it loses, because the consumer then reads from memory.

Chosen loops: a loop ``o`` whose body is exactly a VECTORIZED loop ``i`` (constant extent L, L
elements a power of two of at least 16 bytes) whose body holds one Store and no loop or binding,
and where every use of ``o`` and ``i`` is through ``o*L + i`` (the loops sweep one contiguous
range).  The store's buffer is either forced by a ``nontemporal`` pragma on an enclosing axis
(``s[C].pragma(axis, "nontemporal")``; a false value forbids it) or chosen automatically: an
argument buffer that nothing reads, stored by this one Store, of at least ``min_bytes``.

The rewrite, with ``h`` the elements before the first aligned address (known only at run time:
numpy aligns large arrays to 16 bytes, views to their element) ::

    for e in [0, h): body(e)                                   # scalar head
    for q in [0, (n - h) / L):  (the kind of o, annotated ("tl.nontemporal", align))
        vectorized i in [0, L): body(h + q*L + i)              # aligned streaming stores
    for e in [h + L*((n - h) / L), n): body(e)                 # scalar tail

Code generation turns the unmasked contiguous stores under a ``tl.nontemporal`` loop into aligned
non-temporal stores and fences after the loop (in each worker, for a parallel one).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from ...arith import simplify
from ...te import expr as E
from ...te.expr import IntImm, PrimExpr, Var
from ...te.functor import Mutator, Visitor, post_order_visit, substitute
from ..stmt import Allocate, For, ForKind, IfThenElse, LetStmt, Stmt, Store, seq

PRAGMA_KEY = "pragma_nontemporal"
ANNOTATION_KEY = "tl.nontemporal"  # value: the byte alignment code generation may assume
# (buffer, index, align, element bytes) -> the elements from buffer[index] to the next ``align``-byte
# boundary; the largest value of its type when the address is not even element-aligned.
GAP_INTRINSIC = "tl.nontemporal_gap"
_MAX_ALIGN = 64  # one cache line, one zmm register
_MIN_RUN_BYTES = 4096  # a constant run shorter than this gains nothing to pay for its scalar head and tail


@functools.cache
def default_min_bytes() -> int:
    """Outputs at least this large stream automatically: the last-level cache of this machine
    (``TENSORLANG_STREAMING_MIN_BYTES`` overrides; 32 MiB when sysfs does not say)."""
    env = os.environ.get("TENSORLANG_STREAMING_MIN_BYTES")
    if env:
        return int(env)
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in os.listdir(base):
            try:
                with open(os.path.join(base, entry, "size")) as f:
                    text = f.read().strip()
            except OSError:
                continue
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
            digits = text.rstrip("KMG")
            if digits.isdigit():
                best = max(best, int(digits) * scale)
    except OSError:
        pass
    return best or 32 << 20


def streaming_stores(stmt: Stmt, buffer_bytes: Mapping[Var, int | None], min_bytes: int | None = None) -> Stmt:
    """Rewrite the chosen store loops of ``stmt`` (see the module docstring). ``buffer_bytes``:
    the argument buffers' data Vars and their sizes in bytes (None when not constant);
    ``min_bytes``: the automatic threshold (default ``default_min_bytes()``)."""
    uses = _BufferUses()
    uses.visit(stmt)
    threshold = default_min_bytes() if min_bytes is None else min_bytes
    auto = {v for v, n in buffer_bytes.items()
            if n is not None and n >= threshold and uses.stores.get(v, 0) == 1 and v not in uses.other}
    return _Rewriter(auto).visit(stmt)


class _BufferUses(Visitor):
    """Per buffer Var: how many Store statements write it; which buffers are used any other way."""

    def __init__(self) -> None:
        super().__init__()
        self.stores: dict[Var, int] = {}
        self.other: set[Var] = set()

    def visit_Store(self, s: Store) -> None:
        self.stores[s.buffer] = self.stores.get(s.buffer, 0) + 1
        self.generic_visit(s)

    def visit_Load(self, e: E.Load) -> None:
        self.other.add(e.buffer)
        self.generic_visit(e)

    def visit_Var(self, v: Var) -> None:  # a handle passed to a call, an address taken
        if v.dtype.is_handle:
            self.other.add(v)


class _Rewriter(Mutator):
    def __init__(self, auto: set[Var]):
        super().__init__()
        self.auto = auto
        self.forced: bool | None = None  # the innermost enclosing pragma's value

    def visit_For(self, op: For) -> Stmt:
        saved = self.forced
        pragma = dict(op.annotations).get(PRAGMA_KEY)
        if pragma is not None:
            self.forced = bool(pragma)
        try:
            inner = op.body
            if isinstance(inner, For) and inner.kind is ForKind.VECTORIZED and op.kind in (
                    ForKind.SERIAL, ForKind.PARALLEL):
                inner_pragma = dict(inner.annotations).get(PRAGMA_KEY)
                forced = self.forced if inner_pragma is None else bool(inner_pragma)
                out = _stream(op, inner, self.auto, forced)
                if out is not None:
                    return out
            return self.generic_visit(op)
        finally:
            self.forced = saved


def _stream(outer: For, inner: For, auto: set[Var], forced: bool | None) -> Stmt | None:
    """The rewrite of ``outer`` (whose body is the vector loop ``inner``), or None when it does not apply."""
    if forced is False or not (isinstance(inner.extent, IntImm) and isinstance(inner.min, IntImm)
                               and inner.min.value == 0):
        return None
    lanes = inner.extent.value
    stores: list[Store] = []
    bad = False

    def look(n: Any) -> None:
        nonlocal bad
        if isinstance(n, Store):
            stores.append(n)
        elif isinstance(n, (For, LetStmt, Allocate, E.Let)):
            bad = True
        elif isinstance(n, IfThenElse) and _mentions(n.condition, outer.loop_var, inner.loop_var):
            bad = True  # a guard that varies across the lanes masks the store, and masked stores never stream
    post_order_visit(inner.body, look)
    if bad or len(stores) != 1:
        return None
    store = stores[0]
    elem = store.value.dtype
    nbytes = lanes * elem.bytes
    if elem.lanes != 1 or elem.is_bool or nbytes < 16 or (nbytes & (nbytes - 1) and nbytes % _MAX_ALIGN):
        return None
    if not forced and store.buffer not in auto:
        return None
    o, i = outer.loop_var, inner.loop_var
    if not _swept_together(inner.body, o, i, lanes):
        return None
    dt = o.dtype
    total = simplify(E.cast(outer.extent, dt) * lanes)
    if isinstance(total, IntImm) and total.value * elem.bytes < (nbytes * 4 if forced else _MIN_RUN_BYTES):
        return None
    align = min(nbytes, _MAX_ALIGN)
    start = E.cast(outer.min, dt)

    def at(e: PrimExpr) -> Stmt:
        return substitute(inner.body, {o: start, i: E.cast(e, i.dtype)})

    first = substitute(store.index, {o: start, i: E.const(0, i.dtype)})
    head, nvec = Var(f"{o.name}.head", dt), Var(f"{o.name}.vectors", dt)
    e_head, e_tail, q = Var(f"{o.name}.e", dt), Var(f"{o.name}.e", dt), Var(f"{o.name}.q", dt)
    i_new = Var(i.name, i.dtype)
    gap = E.Call(dt, GAP_INTRINSIC, [store.buffer, E.cast(first, dt), E.const(align, dt),
                                     E.const(elem.bytes, dt)])
    vector_loop = For(i_new, E.const(0, i.dtype), inner.extent, ForKind.VECTORIZED,
                      at(head + q * lanes + E.cast(i_new, dt)), inner.thread_tag,
                      tuple(a for a in inner.annotations if a[0] != PRAGMA_KEY))
    annotations = tuple(a for a in outer.annotations if a[0] != PRAGMA_KEY) + ((ANNOTATION_KEY, align),)
    done = head + nvec * lanes
    body = seq(
        For(e_head, E.const(0, dt), head, ForKind.SERIAL, at(e_head)),
        For(q, E.const(0, dt), nvec, outer.kind, vector_loop, outer.thread_tag, annotations),
        For(e_tail, done, total - done, ForKind.SERIAL, at(e_tail)))
    return LetStmt(head, E.min_(gap, total), LetStmt(nvec, E.FloorDiv(total - head, E.const(lanes, dt)), body))


def _swept_together(body: Stmt, o: Var, i: Var, lanes: int) -> bool:
    """Whether every use of ``o`` and ``i`` in ``body`` is an integer expression linear in
    ``o*lanes + i`` (so that the two loops together sweep one range, in order)."""
    check = _SweptTogether(o, i, lanes)
    check.visit(body)
    return check.ok


class _SweptTogether(Visitor):
    """Top down: the outermost integer expressions that are linear in ``o`` and ``i`` must weigh
    them ``lanes`` to 1; a use of either anywhere else fails."""

    def __init__(self, o: Var, i: Var, lanes: int):
        super().__init__()
        self.o, self.i, self.lanes = o, i, lanes
        self.ok = True

    def generic_visit(self, node: Any) -> None:
        if not self.ok:
            return
        if isinstance(node, PrimExpr) and node.dtype.is_int and node.dtype.lanes == 1:
            lin = _linear(node, self.o, self.i)
            if lin is not None:
                self.ok = lin[0] == lin[1] * self.lanes
                return
        if node is self.o or node is self.i:
            self.ok = False
            return
        super().generic_visit(node)

    visit_Var = generic_visit


def _linear(e: PrimExpr, o: Var, i: Var) -> tuple[int, int] | None:
    """(coefficient of ``o``, coefficient of ``i``) when ``e`` is linear in them, else None."""
    if e is o:
        return (1, 0)
    if e is i:
        return (0, 1)
    if isinstance(e, (E.Add, E.Sub)):
        a, b = _linear(e.a, o, i), _linear(e.b, o, i)
        if a is None or b is None:
            return None
        sign = 1 if isinstance(e, E.Add) else -1
        return (a[0] + sign * b[0], a[1] + sign * b[1])
    if isinstance(e, E.Mul):
        for x, y in ((e.a, e.b), (e.b, e.a)):
            if isinstance(y, IntImm):
                a = _linear(x, o, i)
                return None if a is None else (a[0] * y.value, a[1] * y.value)
        return None if _mentions(e, o, i) else (0, 0)
    if isinstance(e, E.Cast) and e.dtype.is_int and e.value.dtype.is_int and e.dtype.bits >= e.value.dtype.bits:
        return _linear(e.value, o, i)
    return None if _mentions(e, o, i) else (0, 0)


def _mentions(e: Any, o: Var, i: Var) -> bool:
    found = False

    def look(n: Any) -> None:
        nonlocal found
        if n is o or n is i:
            found = True
    post_order_visit(e, look)
    return found

