"""Loop-IR statement nodes (immutable), built on the expression nodes of tensorlang.te.

Two levels share these classes: before storage flattening a body uses ``Realize``/``Provide``
and ``TensorRead`` (multi-dimensional tensors); after it, ``Allocate``/``Store`` and ``Load``
on flat buffers, with every index a single integer (or a vector of them).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from ..te.dtype import DType, as_dtype
from ..te.expr import IntImm, Node, PrimExpr, Var, const
from ..te.tensor import Range


class Stmt(Node):
    """Base of statements."""

    __slots__ = ()

    def __str__(self) -> str:
        from .printer import stmt_str  # the printer imports this module
        return stmt_str(self)

    __repr__ = __str__


class ForKind(enum.Enum):
    """How a loop runs."""

    SERIAL = "for"
    PARALLEL = "parallel"
    VECTORIZED = "vectorized"
    UNROLLED = "unrolled"
    THREAD_BINDING = "launch_thread"


class For(Stmt):
    """``for loop_var in [min, min + extent): body``; ``thread_tag`` names the GPU index a
    THREAD_BINDING loop is bound to; ``annotations`` holds pragma (key, value) pairs."""

    __slots__ = ("loop_var", "min", "extent", "kind", "body", "thread_tag", "annotations")
    _params = ("loop_var", "min", "extent", "kind", "body", "thread_tag", "annotations")
    _children = ("min", "extent", "body")

    def __init__(self, loop_var: Var, min: PrimExpr, extent: PrimExpr, kind: ForKind,  # noqa: A002
                 body: Stmt, thread_tag: str = "", annotations: tuple = ()):
        # TVM code writes For(v, 0, 8, ...): plain ints become constants of the loop variable's type
        min, extent = (x if isinstance(x, PrimExpr) else const(x, loop_var.dtype) for x in (min, extent))  # noqa: A001
        self._init(loop_var=loop_var, min=min, extent=extent, kind=kind, body=body,
                   thread_tag=thread_tag, annotations=tuple(annotations))


class Store(Stmt):
    """``buffer[index] = value`` on a flat buffer; vector ``index``/``value`` after
    vectorization, with lanes masked off by ``predicate`` (a bool vector) when given."""

    __slots__ = ("buffer", "value", "index", "predicate")
    _params = ("buffer", "value", "index", "predicate")
    _children = ("value", "index", "predicate")

    def __init__(self, buffer: Var, value: PrimExpr, index: PrimExpr, predicate: PrimExpr | None = None):
        self._init(buffer=buffer, value=value, index=index, predicate=predicate)

    @property
    def indices(self) -> tuple[PrimExpr]:
        """TVM's ``BufferStore.indices``: the flat index, as a one-element tuple."""
        return (self.index,)

    @property
    def buffer_var(self) -> Var:
        """TVM's ``Store.buffer_var`` (before BufferStore): the buffer's data variable."""
        return self.buffer


class Allocate(Stmt):
    """A buffer of ``extent`` elements of ``dtype`` in storage ``scope``, live within ``body``."""

    __slots__ = ("buffer", "dtype", "extent", "scope", "body")
    _params = ("buffer", "dtype", "extent", "scope", "body")
    _children = ("extent", "body")

    def __init__(self, buffer: Var, dtype: str | DType, extent: PrimExpr, scope: str, body: Stmt):
        self._init(buffer=buffer, dtype=as_dtype(dtype), extent=extent, scope=scope, body=body)

    @property
    def extents(self) -> tuple[PrimExpr, ...]:
        """TVM's view: the (flat) allocation's extents."""
        return (self.extent,)


class LetStmt(Stmt):
    """Bind ``var`` to ``value`` in ``body``."""

    __slots__ = ("var", "value", "body")
    _params = ("var", "value", "body")
    _children = ("value", "body")

    def __init__(self, var: Var, value: PrimExpr, body: Stmt):
        self._init(var=var, value=value, body=body)


class IfThenElse(Stmt):
    """Run ``then_case`` when ``condition`` holds, else ``else_case`` (may be None)."""

    __slots__ = ("condition", "then_case", "else_case")
    _params = ("condition", "then_case", "else_case")
    _children = ("condition", "then_case", "else_case")

    def __init__(self, condition: PrimExpr, then_case: Stmt, else_case: Stmt | None = None):
        self._init(condition=condition, then_case=then_case, else_case=else_case)


class SeqStmt(Stmt):
    """Statements run in order. Never nested directly and never of length < 2 (use ``seq``)."""

    __slots__ = ("seq",)
    _params = ("seq",)
    _children = ("seq",)

    def __init__(self, seq: Iterable[Stmt]):
        self._init(seq=tuple(seq))

    # TVM's SeqStmt reads as a sequence: stmt[0], len(stmt)
    def __getitem__(self, index: int | slice) -> Any:
        return self.seq[index]

    def __len__(self) -> int:
        return len(self.seq)


class Evaluate(Stmt):
    """Evaluate an expression for its effect (a call such as a barrier); ``Evaluate(0)`` is a no-op."""

    __slots__ = ("value",)
    _params = ("value",)
    _children = ("value",)

    def __init__(self, value: PrimExpr):
        self._init(value=value)


class Provide(Stmt):
    """``tensor[indices] = value`` before storage flattening."""

    __slots__ = ("tensor", "value", "indices")
    _params = ("tensor", "value", "indices")
    _children = ("value", "indices")

    def __init__(self, tensor: Any, value: PrimExpr, indices: Iterable[PrimExpr]):
        self._init(tensor=tensor, value=value, indices=tuple(indices))


class BufferBind(Stmt):
    """Inside ``body``, the handle ``var`` (an extern function's buffer) is the storage of
    ``tensor`` (before storage flattening, which replaces ``var`` by that storage)."""

    __slots__ = ("var", "tensor", "body")
    _params = ("var", "tensor", "body")
    _children = ("body",)

    def __init__(self, var: Var, tensor: Any, body: Stmt):
        self._init(var=var, tensor=tensor, body=body)


class BufferRegionBind(Stmt):
    """Inside ``body``, ``buffer`` (a declared buffer of a tensor intrinsic) views the region
    [mins, mins + extents) of ``tensor``: storage flattening binds its data, element offset and
    strides to that region of the tensor's storage."""

    __slots__ = ("buffer", "tensor", "mins", "extents", "body")
    _params = ("buffer", "tensor", "mins", "extents", "body")
    _children = ("mins", "extents", "body")

    def __init__(self, buffer: Any, tensor: Any, mins: Iterable[PrimExpr], extents: Iterable[PrimExpr], body: Stmt):
        self._init(buffer=buffer, tensor=tensor, mins=tuple(mins), extents=tuple(extents), body=body)


class Realize(Stmt):
    """Storage for the region [mins, mins + extents) of ``tensor``, live within ``body``
    (before storage flattening)."""

    __slots__ = ("tensor", "mins", "extents", "scope", "body")
    _params = ("tensor", "mins", "extents", "scope", "body")
    _children = ("mins", "extents", "body")

    def __init__(self, tensor: Any, mins: Iterable[PrimExpr], extents: Iterable[PrimExpr],
                 scope: str, body: Stmt):
        self._init(tensor=tensor, mins=tuple(mins), extents=tuple(extents), scope=scope, body=body)

    @property
    def producer(self) -> Any:
        """TVM's ``ProducerRealize.producer``: the tensor realized."""
        return self.tensor

    @property
    def bounds(self) -> tuple[Any, ...]:
        """TVM's ``ProducerRealize.bounds``: one Range(min, extent) per dimension."""
        return tuple(Range(m, e) for m, e in zip(self.mins, self.extents))

    @property
    def node(self) -> Any:
        """The operation whose output is realized: TVM's ScheduleOps wraps each realize in a
        ``realize_scope`` AttrStmt whose ``node`` is that operation (ported code reads
        ``stmt.node``); here the Realize carries its scope itself and answers for that attr."""
        return self.tensor.op


def no_op() -> Evaluate:
    return Evaluate(IntImm("int32", 0))


def is_no_op(s: Stmt | None) -> bool:
    return s is None or (isinstance(s, Evaluate) and isinstance(s.value, IntImm))


def seq(*stmts: Stmt | None) -> Stmt:
    """Concatenate statements, flattening nested sequences and dropping no-ops."""
    flat: list[Stmt] = []
    for s in stmts:
        if s is None or is_no_op(s):
            continue
        if isinstance(s, SeqStmt):
            flat.extend(s.seq)
        else:
            flat.append(s)
    if not flat:
        return no_op()
    return flat[0] if len(flat) == 1 else SeqStmt(flat)


# What the ir package re-exports (BufferBind is internal: storage_flatten removes it).
__all__ = ["Allocate", "Evaluate", "For", "ForKind", "IfThenElse", "LetStmt", "Provide", "Realize", "SeqStmt", "Stmt",
           "Store", "is_no_op", "no_op", "seq"]
