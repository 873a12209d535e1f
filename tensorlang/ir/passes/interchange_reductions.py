"""interchange_reductions: guarantees that a serial spatial loop whose body is the init and the
serial reduction loops of one reduction is moved inside those reduction loops when that turns a
strided inner access into a contiguous one, computing bit for bit what the input computes.

The default schedule of a reduction (``te.create_schedule`` without primitives) puts its
reduction loops innermost::

    for n:                                  for n:
      C[f(n)] = init                          C[f(n)] = init
      for k1: for k2: ...                =>   for k1: for k2: ...
        C[f(n)] = C[f(n)] op g(k, n)            for n': C[f(n')] = C[f(n')] op g(k, n')

For ``sum(A, axis=0)`` or a default matmul the inner loop then strides through memory by a row
per iteration (20x and 250x numpy's time on a 2048x2048 column sum and a 1024^3 matmul); after the
rewrite it walks rows contiguously, and LLVM vectorizes it.

Legal because the iterations of ``n`` are independent: every buffer the loop writes is only
accessed at one index, linear in ``n`` with a non-zero constant coefficient (so distinct ``n``
touch distinct elements) and free of the reduction variables; every other buffer is only read.
Each element still accumulates its terms in the same order of the reduction variables, so
floating-point results are unchanged.  The body may hold only Stores, after scalar LetStmts (argmax's
pair), with no calls with effects and no checks; the reduction loops' bounds may not depend on ``n``.

Chosen when it pays: the reduction has more than 16 iterations (``_UNROLLED``), and of the
accesses in the innermost body, fewer are "strided" (a stride along the inner loop that is
neither 0 nor +-1) with ``n`` innermost than with the reduction loop innermost; on a tie, when
the innermost reduction loop has at most 8 iterations (a convolution window's row) and every
access is contiguous or invariant along ``n`` (``_short_inner``).  Only plain serial loops
without annotations are touched: a schedule that vectorizes, parallelizes or annotates these
loops keeps its order, and so does one that already put a spatial loop inside a reduction loop
(the init is then no longer next to the reduction loops).
"""

from __future__ import annotations

import math
from typing import Any

from ...arith.analyzer import detect_linear_equation
from ...te import expr as E
from ...te.expr import IntImm, Var
from ...te.functor import Mutator, free_vars, post_order_visit, substitute
from ..stmt import For, ForKind, LetStmt, SeqStmt, Stmt, Store, seq
from ..structural_equal import structural_equal

# A reduction of at most this many iterations (all constant) is left alone: LLVM unrolls it
# completely and vectorizes the loop over n itself, with the accumulator in a register; moving n
# inside made a 16x1000000 column sum 1.6x slower (and 4 rows 2.3x), 32 rows break even.
_UNROLLED = 16
_SHORT = 8  # a reduction loop this short, or shorter, loses to a vector loop over n (see _short_inner)

# Calls without effects that may appear in a moved body (names as Call.name, "tir." stripped).
_PURE_CALLS = frozenset({
    "exp", "exp2", "exp10", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "cbrt", "tanh",
    "sigmoid", "fabs", "abs", "floor", "ceil", "round", "trunc", "nearbyint", "pow", "erf", "sin", "cos",
    "tan", "sinh", "cosh", "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "fmod", "hypot",
    "isnan", "isinf", "isfinite", "copysign", "fma", "popcount", "clz", "ldexp", "nextafter", "likely",
})


def interchange_reductions(stmt: Stmt) -> Stmt:
    """Apply the rewrite of the module docstring wherever it is legal and pays."""
    bound_handles: list[Any] = []
    post_order_visit(stmt, lambda x: bound_handles.append(x) if isinstance(x, (LetStmt, E.Let))
                     and x.var.dtype.is_handle else None)
    if bound_handles:  # a handle bound to an address may alias a buffer the loop writes
        return stmt
    return _Interchange().visit(stmt)


class _Interchange(Mutator):
    def visit_For(self, op: For) -> Stmt:
        out = _rewrite(op)
        if out is not None:
            return out
        return self.generic_visit(op)


def _plain(loop: Any) -> bool:
    return isinstance(loop, For) and loop.kind is ForKind.SERIAL and not loop.annotations and not loop.thread_tag


def _rewrite(outer: For) -> Stmt | None:
    if not _plain(outer) or (isinstance(outer.extent, IntImm) and outer.extent.value < 2):
        return None
    body = outer.body
    parts = list(body.seq) if isinstance(body, SeqStmt) else [body]
    if len(parts) < 2 or not _plain(parts[-1]) or not all(isinstance(p, Store) for p in parts[:-1]):
        return None
    inits: list[Store] = parts[:-1]
    # the perfect nest of reduction loops, and the stores at its bottom
    red: list[For] = []
    inner: Any = parts[-1]
    while _plain(inner):
        red.append(inner)
        inner = inner.body
    lets: list[LetStmt] = []  # per-iteration bindings (argmax's pair of values)
    bottom: Any = inner
    while isinstance(bottom, LetStmt):
        lets.append(bottom)
        bottom = bottom.body
    updates = list(bottom.seq) if isinstance(bottom, SeqStmt) else [bottom]
    if not all(isinstance(u, Store) for u in updates) or any(lt.var.dtype.is_handle for lt in lets):
        return None
    n = outer.loop_var
    kvars = {k.loop_var for k in red}
    if any(n in free_vars(k.min) or n in free_vars(k.extent) for k in red):
        return None
    if all(isinstance(k.extent, IntImm) for k in red) and math.prod(k.extent.value for k in red) <= _UNROLLED:
        return None  # LLVM unrolls so short a reduction and vectorizes the loop over n as it is
    stores = [*inits, *updates]
    written = {s.buffer for s in stores}
    accesses: list[tuple[Var, E.PrimExpr]] = []  # (buffer, index) of every load and store in the loop
    ok = True

    def collect(node: Any) -> None:
        nonlocal ok
        if isinstance(node, E.Load):
            if node.predicate is not None or node.dtype.lanes != 1:
                ok = False
            accesses.append((node.buffer, node.index))
        elif isinstance(node, E.Call):
            if node.name.removeprefix("tir.") not in _PURE_CALLS:
                ok = False
        elif isinstance(node, (E.Let, E.Ramp, E.Broadcast)):
            ok = False

    for s in stores:
        if s.predicate is not None or s.value.dtype.lanes != 1:
            return None
        accesses.append((s.buffer, s.index))
        post_order_visit(s.value, collect)
        post_order_visit(s.index, collect)
    for lt in lets:
        post_order_visit(lt.value, collect)
    if not ok:
        return None
    # each written buffer: one index, linear in n with a non-zero constant coefficient, free of k
    for buf in written:
        idxs = [i for b, i in accesses if b is buf]
        first = idxs[0]
        if any(not structural_equal(first, i) for i in idxs[1:]) or kvars & free_vars(first):
            return None
        coeff = _stride(first, n)
        if coeff is None or coeff == 0:
            return None
    # a handle read as a value (an address passed on) could let the body reach a written buffer
    handles: set[Var] = set()
    for v in [*(s.value for s in stores), *(lt.value for lt in lets)]:
        post_order_visit(v, lambda x: handles.add(x) if isinstance(x, Var) and x.dtype.is_handle else None)
    if handles & written:
        return None
    k_inner = red[-1].loop_var if red else None
    if k_inner is None:
        return None
    inner_acc = [(b, i) for s in updates for b, i in _accesses(s.value, s)]
    inner_acc += [(b, i) for lt in lets for b, i in _accesses(lt.value)]
    before = sum(_strided(i, k_inner) for _, i in inner_acc)
    after = sum(_strided(i, n) for _, i in inner_acc)
    if after > before or (after == before and not _short_inner(outer, red, inner_acc)):
        return None
    # rebuild: init loop, then the reduction nest with a copy of n innermost
    n2 = Var(n.name, n.dtype)
    new_inner: Stmt = For(n2, outer.min, outer.extent, ForKind.SERIAL, substitute(inner, {n: n2}))
    for k in reversed(red):
        new_inner = For(k.loop_var, k.min, k.extent, k.kind, new_inner, k.thread_tag, k.annotations)
    init_loop = For(n, outer.min, outer.extent, ForKind.SERIAL, seq(*inits))
    return seq(init_loop, new_inner)


def _short_inner(outer: For, red: list[For], acc: list[tuple[Var, E.PrimExpr]]) -> bool:
    """Ties go to ``n`` innermost when the innermost reduction loop is too short to pay for a
    loop (a window's row) and every access is contiguous or invariant along ``n``, some
    contiguous, over at least a vector's worth of iterations: LLVM vectorizes that loop, while a
    floating-point reduction stays one scalar chain (17x on a default conv2d of 32x28x28, 3x3
    window; 1.6-1.8x on a depthwise 5x5 or 7x7; a depthwise 3x3 is short enough for _UNROLLED)."""
    n, k = outer.loop_var, red[-1]
    if not (isinstance(k.extent, IntImm) and k.extent.value <= _SHORT):
        return False
    if isinstance(outer.extent, IntImm) and outer.extent.value < _SHORT:
        return False
    strides = [_stride(i, n) for _, i in acc]
    return all(s is not None and abs(s) <= 1 for s in strides) and any(s is not None and abs(s) == 1 for s in strides)


def _accesses(value: E.PrimExpr, store: Store | None = None) -> list[tuple[Var, E.PrimExpr]]:
    out = [] if store is None else [(store.buffer, store.index)]
    post_order_visit(value, lambda x: out.append((x.buffer, x.index)) if isinstance(x, E.Load) else None)
    return out


def _stride(index: E.PrimExpr, v: Var) -> int | None:
    """The constant coefficient of ``v`` in ``index``; None when not linear with a constant one."""
    if v not in free_vars(index):
        return 0
    coeffs = detect_linear_equation(index, [v])
    if not coeffs or not isinstance(coeffs[0], IntImm):
        return None
    return coeffs[0].value


def _strided(index: E.PrimExpr, v: Var) -> int:
    stride = _stride(index, v)
    return int(stride is None or abs(stride) > 1)
