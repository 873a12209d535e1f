"""Splitting a big function body into pieces that the code generator emits as functions of their own.

Guarantees: ``split(body)`` is None for a body of at most ``THRESHOLD`` nodes of root code (it is
emitted as one function, exactly as before); else it is an equivalent body in which runs of
consecutive root statements (loop nests, in program order) sit in ``Piece`` nodes of at most
``BUDGET`` nodes each (or of one statement, when that alone is bigger), under the allocations and
lets they share.  Every statement runs in its original order; an allocation or let moves only
earlier (never past another one), and only when its size or value reads no memory and, for a heap
buffer, when its scope already ran to the end of the body (so it is freed where it was).
Why: LLVM's optimizer and code generator take time superlinear in a function's size, so a few
hundred root loop nests in one function (the gradient of a deep network) cost seconds, while the
same nests in small functions cost a fraction of that.
"""

from __future__ import annotations

from collections.abc import Callable

from ...ir import stmt as S
from ...te import expr as E
from ...te.functor import children

# Nodes (statements and expressions) of root code, outside parallel loop bodies.  Common kernels
# of a few stages have under 300 and stay one function; a tanh MLP's gradient has about 240 per
# layer, and LLVM's time on one function grows about quadratically from a few layers on
# (float64, 4 x 16: 0.5 s for 5 layers, 1.4 s for 10, 4.4 s for 20, 11 s for 40; outlined,
# 0.1 s per layer).
THRESHOLD = 1000
# Root code per piece: a few small loop nests (LLVM fully unrolls and vectorizes constant-extent
# nests, so a nest of 30 nodes can become thousands of instructions).
BUDGET = 200


class Piece(S.Stmt):
    """Statements that run as one outlined function: it receives the buffers and scalars it uses
    as arguments and returns a status, which the caller returns when it is not 0."""

    __slots__ = ("body",)
    PRIVATE_TO = "llvm"  # made by the LLVM code generator for itself; no other walker meets it
    _params = ("body",)
    _children = ("body",)

    def __init__(self, body: S.Stmt):
        self._init(body=body)


def split(body: S.Stmt, on_stack: Callable[[S.Allocate], bool]) -> S.Stmt | None:
    """``body`` with its root statements grouped into Pieces, or None when it is small (see the
    module docstring); ``on_stack(alloc)`` says whether the code generator puts an allocation on
    the stack (alive for the whole call already, so it can be hoisted whatever follows it)."""
    threshold, budget = THRESHOLD, BUDGET  # read at each call: tests lower them
    binders, leaves = _flatten(body, on_stack)
    if len(leaves) < 2:
        return None
    sizes = []
    total = 0
    for leaf in leaves:
        sizes.append(_size(leaf, max(budget, threshold - total) + 1))
        total += sizes[-1]
    if total <= threshold:
        return None
    groups: list[list[S.Stmt]] = [[]]
    filled = 0
    for leaf, size in zip(leaves, sizes):
        if groups[-1] and filled + size > budget:
            groups.append([])
            filled = 0
        groups[-1].append(leaf)
        filled += size
    out = S.seq(*(Piece(S.seq(*group)) for group in groups))
    for binder in reversed(binders):
        out = binder.with_fields(body=out)
    return out


def _flatten(body: S.Stmt, on_stack: Callable[[S.Allocate], bool]) -> tuple[list[S.Stmt], list[S.Stmt]]:
    """The allocations and lets that can open at the start (outermost first), and the root
    statements left under them, in program order (iteratively: chains run hundreds deep)."""
    binders: list[S.Stmt] = []
    leaves: list[S.Stmt] = []
    todo = [body]  # what is left to run, next last
    while todo:
        s = todo.pop()
        if isinstance(s, S.SeqStmt):
            todo.extend(reversed(s.seq))
        elif isinstance(s, (S.Allocate, S.LetStmt)) and _hoistable(s, on_stack, runs_to_end=not todo):
            binders.append(s)
            todo.append(s.body)
        elif not S.is_no_op(s):
            leaves.append(s)
    return binders, leaves


def _hoistable(s: S.Allocate | S.LetStmt, on_stack: Callable[[S.Allocate], bool], runs_to_end: bool) -> bool:
    value = s.extent if isinstance(s, S.Allocate) else s.value
    if _reads_memory(value):
        return False  # its value may depend on what earlier statements wrote
    # A heap buffer opened earlier must not be freed later: only one freed at the end anyway moves.
    return not isinstance(s, S.Allocate) or runs_to_end or on_stack(s)


def _reads_memory(e: E.PrimExpr) -> bool:
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, (E.Load, E.Call)):
            return True
        stack.extend(children(n))
    return False


def _size(s: S.Stmt, cap: int) -> int:
    """Nodes of root code in ``s``, counting up to ``cap``; a parallel loop's body does not count
    (it is outlined into a worker of its own)."""
    count = 0
    stack: list = [s]
    while stack and count < cap:
        n = stack.pop()
        count += 1
        if isinstance(n, S.For) and n.kind is S.ForKind.PARALLEL:
            stack.extend((n.min, n.extent))
        else:
            stack.extend(children(n))
    return count
