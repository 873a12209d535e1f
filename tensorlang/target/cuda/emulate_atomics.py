"""Atomic adds emulated as read-add-writes that no two emulated threads ever interleave.

Guarantees: ``emulate_with_atomics(stmt, name, emulate)`` runs ``emulate`` (the GPU emulation
pass) on ``stmt`` with every ``tir.atomic_add(address_of(buf[i]), v)`` first replaced by a read
of a one-element local buffer ``old``, after ``old[0] = buf[i]; buf[i] = old[0] + v``: the value
CUDA's atomicAdd returns, and its effect.  Emulation runs a block's threads one after another
between barriers (never inside a statement), so a thread's read and write stay together whatever
order the threads run in; the blocks of a kernel with atomic adds, which emulation would run in
parallel CPU threads, run one after another.  ``old`` being a local buffer (not a let), it gets
one copy per thread when the returned value is used after a barrier.  An atomic add on one side
of a Select, ``&&``, ``||`` or ``if_then_else`` only (hoisting it out would run it on both paths)
is a LoweringError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import LoweringError
from ...ir import stmt as S
from ...te import expr as E
from ...te.dtype import HANDLE, DType
from ...te.functor import Mutator, post_order_visit
from .codegen import ATOMIC_ADD, atomic_add_target


def _has(node: Any, pred: Callable[[Any], bool]) -> bool:
    found = False

    def fn(n: Any) -> None:
        nonlocal found
        found = found or pred(n)
    post_order_visit(node, fn)
    return found


def _is_atomic(n: Any) -> bool:
    return isinstance(n, E.Call) and n.name == ATOMIC_ADD


class _AtomicValues(Mutator):
    """In one statement's own expressions: each atomic add becomes a read of its ``old`` buffer;
    ``pre`` collects the statements that fill it, in evaluation order (arguments, inner atomic
    adds included, first)."""

    def __init__(self, where: str):
        super().__init__()
        self.where = where
        self.pre: list[tuple[E.Var, DType, list[S.Stmt]]] = []  # (old buffer, dtype, statements)

    def _one_side(self, node: Any, what: str) -> Any:
        if _has(node, _is_atomic):
            raise LoweringError(f"{self.where}: an atomic_add under {what} ('{node}') cannot be emulated: it "
                                "would run whichever side is chosen; compute it in an IfThenElse statement")
        return node

    def visit_Select(self, node: E.Select) -> Any:
        return self._one_side(node, "a Select")

    def visit_And(self, node: E.And) -> Any:
        return self._one_side(node, "&&") if node.dtype.is_bool else self.generic_visit(node)

    def visit_Or(self, node: E.Or) -> Any:
        return self._one_side(node, "||") if node.dtype.is_bool else self.generic_visit(node)

    def visit_Call(self, node: E.Call) -> Any:
        if node.name == "if_then_else":
            return self._one_side(node, "if_then_else")
        node = self.generic_visit(node)
        if node.name != ATOMIC_ADD:
            return node
        target = atomic_add_target(node, self.where)
        old = E.Var(f"{target.buffer.name}.old", HANDLE)
        zero = E.const(0)
        was = E.Load(node.dtype, old, zero)
        self.pre.append((old, node.dtype, [S.Store(old, target, zero),
                                           S.Store(target.buffer, was + node.args[1], target.index)]))
        return was


class _PlainUpdates(Mutator):
    """Every statement whose own expressions hold atomic adds, after the updates they make."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.olds: set[E.Var] = set()

    def generic_visit(self, node: Any, *extra: Any) -> Any:
        if not isinstance(node, S.Stmt):
            return node  # rewritten by the statement that owns the expression
        values = _AtomicValues(self.name)
        changes: dict[str, Any] = {}
        for field in getattr(node, "_children", ()):
            value = getattr(node, field)
            parts = value if isinstance(value, tuple) else (value,)
            new = tuple(self.visit(v) if isinstance(v, S.Stmt) else values.visit(v) if v is not None else v
                        for v in parts)
            if any(a is not b for a, b in zip(new, parts)):
                changes[field] = new if isinstance(value, tuple) else new[0]
        out = node.with_fields(**changes) if changes else node
        if not values.pre:
            return out
        body = S.seq(*[st for _, _, sts in values.pre for st in sts], out)
        for old, dtype, _ in reversed(values.pre):
            self.olds.add(old)
            body = S.Allocate(old, dtype, E.const(1), "local", body)
        return body


class _SerialBlocks(Mutator):
    """The parallel block loops of the kernels with atomic adds (found by their ``old``
    buffers), made serial."""

    def __init__(self, olds: set[E.Var]):
        super().__init__()
        self.olds = olds

    def _is_old(self, n: Any) -> bool:
        return isinstance(n, S.Allocate) and n.buffer in self.olds

    def visit_For(self, node: S.For) -> Any:
        if node.kind is S.ForKind.PARALLEL and _has(node, self._is_old):
            return node.with_fields(kind=S.ForKind.SERIAL)
        return self.generic_visit(node)


def emulate_with_atomics(stmt: S.Stmt, name: str, emulate: Callable[[S.Stmt], S.Stmt]) -> S.Stmt:
    """``emulate(stmt)`` with its atomic adds as plain updates no two threads interleave (module
    docstring); ``name`` (the function's) prefixes errors."""
    if not _has(stmt, _is_atomic):
        return emulate(stmt)
    plain = _PlainUpdates(name)
    return _SerialBlocks(plain.olds).visit(emulate(plain.visit(stmt)))
