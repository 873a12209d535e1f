"""Checkers for the invariants the lowering passes establish, by name.

Guarantees: ``verify(stmt, invariants, where)`` walks ``stmt`` once and raises a LoweringError
naming the first broken invariant, the node that breaks it and ``where`` (the pass after which
it was checked); it never changes the IR. The lowering pipeline (``tensorlang.lowering``) names
these invariants in its steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import LoweringError
from ..te import expr as E
from ..te.functor import Visitor, post_order_visit
from . import stmt as S

# Node classes that only exist before storage flattening: no code generator accepts them.
UNFLATTENED: tuple[type, ...] = (S.Provide, S.Realize, S.BufferBind, S.BufferRegionBind, E.TensorRead,
                                 E.Reduce)
# Node classes that only appear as arguments of a Call, which the call's own handler reads.
CALL_ARGUMENTS_ONLY: tuple[type, ...] = (E.StringImm,)
# What every tree walker that runs lowered IR (code generators, interpreter) refuses to visit.
NOT_EXECUTABLE: tuple[type, ...] = UNFLATTENED + CALL_ARGUMENTS_ONLY


def _lanes_match(node: Any) -> str | None:
    if isinstance(node, S.Store):
        lanes = node.value.dtype.lanes
        if node.index.dtype.lanes != lanes:
            return f"a {lanes}-lane value is stored at a {node.index.dtype.lanes}-lane index"
        return _predicate_problem(node.predicate, lanes)
    if isinstance(node, E.Load):
        if node.index.dtype.lanes != node.dtype.lanes:
            return f"a {node.dtype.lanes}-lane load has a {node.index.dtype.lanes}-lane index"
        return _predicate_problem(node.predicate, node.dtype.lanes)
    return None


def _predicate_problem(predicate: E.PrimExpr | None, lanes: int) -> str | None:
    if predicate is not None and (not predicate.dtype.is_bool or predicate.dtype.lanes != lanes):
        return f"the predicate is {predicate.dtype}, not a {lanes}-lane bool"
    return None


def _flat(node: Any) -> str | None:
    if isinstance(node, UNFLATTENED):
        return f"{type(node).__name__} remains after storage flattening"
    return None


def _no_loop_kind(kind: S.ForKind) -> Callable[[Any], str | None]:
    def check(node: Any) -> str | None:
        if isinstance(node, S.For) and node.kind is kind:
            return f"loop {node.loop_var.name} is still {kind.name}"
        return None
    return check


def _no_trivial_loops(node: Any) -> str | None:
    if (isinstance(node, S.For) and isinstance(node.extent, E.IntImm) and node.extent.value <= 1
            and node.kind is not S.ForKind.THREAD_BINDING):
        return f"loop {node.loop_var.name} has constant extent {node.extent.value}"
    return None


def _no_nested_allocation(stmt: S.Stmt) -> str | None:
    # A buffer allocated again inside its own allocation: code generators map a buffer to one
    # address at a time, and the inner one would leave the outer's accesses after it pointing at
    # memory out of scope.  One walk, the open allocations kept on the way down.
    problem: list[str] = []

    class _Walk(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.open: set[Any] = set()

        def visit_Allocate(self, node: S.Allocate) -> None:
            if node.buffer in self.open:
                problem.append(f"buffer {node.buffer.name} is allocated again inside its own allocation")
                return
            self.open.add(node.buffer)
            self.generic_visit(node)
            self.open.discard(node.buffer)

        def visit_PrimExpr(self, node: E.PrimExpr) -> None:
            pass  # an expression holds no statement, so no Allocate: its subtree is not walked

    _Walk().visit(stmt)
    return problem[0] if problem else None


# name -> (the node classes it looks at, a check of one such node: what is wrong, or None).
# verify skips nodes of every other class (a third of a verification's time).
INVARIANTS: dict[str, tuple[tuple[type, ...], Callable[[Any], str | None]]] = {
    "lanes_match": ((S.Store, E.Load), _lanes_match),  # every index, value and predicate agree on lanes
    "flat": (UNFLATTENED, _flat),                       # flat buffers only (Allocate/Store/Load)
    "no_unrolled_loops": ((S.For,), _no_loop_kind(S.ForKind.UNROLLED)),
    "no_vectorized_loops": ((S.For,), _no_loop_kind(S.ForKind.VECTORIZED)),
    "no_trivial_loops": ((S.For,), _no_trivial_loops),  # no loop of constant extent 0 or 1 (GPU bindings aside)
}

# name -> a check of a whole statement (one that needs what encloses a node): what is wrong, or None.
TREE_INVARIANTS: dict[str, Callable[[S.Stmt], str | None]] = {
    "no_nested_allocation": _no_nested_allocation,  # no buffer allocated inside its own allocation
}


def verify(stmt: S.Stmt, invariants: Iterable[str], where: str) -> None:
    """Check ``invariants`` (names in INVARIANTS, checked on every node of ``stmt`` in one walk,
    or in TREE_INVARIANTS, each one walk of its own)."""
    invariants = list(invariants)  # read twice
    for name in invariants:
        if name in TREE_INVARIANTS:
            problem = TREE_INVARIANTS[name](stmt)
            if problem is not None:
                raise LoweringError(f"IR verification failed after {where}: invariant '{name}' is broken: {problem}")
    checks = [(name, *INVARIANTS[name]) for name in invariants if name not in TREE_INVARIANTS]
    if not checks:
        return
    watched = tuple({cls for _, classes, _ in checks for cls in classes})

    def visit(node: Any) -> None:
        if not isinstance(node, watched):
            return
        for name, classes, check in checks:
            problem = check(node) if isinstance(node, classes) else None
            if problem is not None:
                raise LoweringError(f"IR verification failed after {where}: invariant '{name}' is broken: "
                                    f"{problem} (in: {str(node)[:200]})")
    post_order_visit(stmt, visit)
