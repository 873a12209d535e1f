"""A builder for small hand-written loop nests (TVM's ``tir.ir_builder``): ``for_range``,
``if_scope``/``else_scope``, ``allocate``, ``buffer_ptr``, ``pointer`` and ``emit``; ``get()``
returns the statement, the body of a ``te.extern`` or of a ``tir.PrimFunc``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..errors import ExprError
from ..te.dtype import HANDLE, INT32, as_dtype
from ..te.expr import IntImm, Load, PrimExpr, Ramp, Var, const, convert
from .stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, Stmt, Store, seq

_KINDS = {"serial": ForKind.SERIAL, "parallel": ForKind.PARALLEL, "vectorize": ForKind.VECTORIZED,
          "unroll": ForKind.UNROLLED}


def _integer(value: Any, what: str) -> PrimExpr:
    """``value`` as an integer expression; a loop bound or an index of another type is refused
    here, where it is written, rather than failing (or rounding) in code generation."""
    expr = convert(value)
    if not expr.dtype.is_int:
        raise ExprError(f"ir_builder: {what} must be an integer, got {value!r} of type {expr.dtype}")
    return expr


class BufferPtr:
    """Flat element access to a buffer handle (TVM's ``BufferVar``): ``ptr[i]`` reads,
    ``ptr[i] = v`` emits a store, ``asobject()`` is the handle Var, which is also what the
    pointer converts to as a call argument.  For a vector ``dtype`` such as ``"uint8x8"``,
    element ``i`` is the lanes starting at scalar element ``i * 8``, as in TVM."""

    def __init__(self, builder: IRBuilder, data: Var, dtype: Any, shape: tuple = (), buffer: Any = None):
        self._builder, self.data, self.dtype, self.shape = builder, data, as_dtype(dtype), shape
        # The declared buffer behind it (a tensorize or extern binding): its element offset and
        # strides place the elements, as TVM's BufferLoad/BufferStore on the buffer do.
        self._buffer = buffer

    def _index(self, index: Any) -> PrimExpr:
        buf = self._buffer
        if buf is not None and self.dtype.lanes == 1:
            if isinstance(index, tuple) and tuple(self.shape) == tuple(buf.shape):
                return buf.offset_of(list(index))  # strides and element offset applied
            offset = buf.elem_offset
            if not (isinstance(offset, IntImm) and offset.value == 0):
                return self._flat(index) + offset  # a flat index counts from the buffer's first element
        return self._flat(index)

    def _flat(self, index: Any) -> PrimExpr:
        if isinstance(index, tuple):
            if len(index) != len(self.shape):
                raise ExprError(f"buffer {self.data.name}: {len(index)} indices for {len(self.shape)} dimensions")
            flat: Any = index[0]
            for d, i in zip(self.shape[1:], index[1:]):
                flat = flat * d + i
            index = flat
        index = _integer(index, f"an index of buffer {self.data.name}")
        lanes = self.dtype.lanes
        if lanes > 1 and index.dtype.lanes == 1:
            # Loads and stores address scalar elements: a vector element is a ramp over its lanes.
            index = Ramp(index * lanes, const(1, index.dtype), lanes)
        return index

    def __getitem__(self, index: Any) -> PrimExpr:
        return Load(self.dtype.element_of(), self.data, self._index(index))

    def __setitem__(self, index: Any, value: Any) -> None:
        value = convert(value)
        if value.dtype != self.dtype:
            value = value.astype(str(self.dtype))
        self._builder.emit(Store(self.data, value, self._index(index)))

    def asobject(self) -> Var:
        """The handle Var (TVM 0.8's ``BufferVar.asobject``)."""
        return self.data

    def __repr__(self) -> str:
        return f"BufferVar({self.data.name}, {self.dtype})"


# TVM's name for what ``allocate``, ``buffer_ptr`` and ``pointer`` return.
BufferVar = BufferPtr


class IRBuilder:
    """Collects statements; scopes nest through ``with`` blocks."""

    def __init__(self) -> None:
        self._stack: list[list[Any]] = [[]]

    def emit(self, stmt: Any) -> None:
        """Append a statement (an expression is evaluated for its effect, e.g. a call)."""
        if isinstance(stmt, PrimExpr):
            stmt = Evaluate(stmt)
        self._stack[-1].append(stmt)

    def _pop(self) -> Stmt:
        body = self._stack.pop()
        out: Stmt | None = None
        # Wrappers (allocate, let) recorded as callables take the statements after them.
        for item in reversed(body):
            if callable(item) and not isinstance(item, Stmt):
                out = item(out if out is not None else seq())
            else:
                out = item if out is None else seq(item, out)
        return out if out is not None else seq()

    @contextlib.contextmanager
    def for_range(self, begin: Any, end: Any, name: str = "i", dtype: str = "int32",
                  kind: str = "serial") -> Iterator[Var]:
        """``with ib.for_range(0, n, name="i") as i:`` a loop over [begin, end)."""
        if kind not in _KINDS:
            raise ExprError(f"for_range kind '{kind}' is not one of {', '.join(_KINDS)}")
        if not as_dtype(dtype).is_int:
            raise ExprError(f"ir_builder.for_range: loop variable '{name}' must have an integer dtype, got {dtype}")
        lo = _integer(begin, f"for_range '{name}': the begin")
        hi = _integer(end, f"for_range '{name}': the end")
        var = Var(name, as_dtype(dtype))
        self._stack.append([])
        yield var
        body = self._pop()
        self.emit(For(var, lo, hi - lo, _KINDS[kind], body))

    def while_loop(self, condition: Any) -> Any:
        """TVM's ``ib.while_loop(cond)``: refused, naming the way around.  The IR here has no
        while statement (TVM's ``tir.While``); a bounded ``for_range`` whose body is guarded by
        an ``if_scope`` on the condition computes the same when an iteration bound is known."""
        raise ExprError(f"ir_builder.while_loop({condition!r}): while loops are not supported (no tir.While "
                        "here); write a for_range over an upper bound of the iteration count with the body in "
                        "ib.if_scope(<condition>)")

    @contextlib.contextmanager
    def if_scope(self, cond: Any) -> Iterator[None]:
        """``with ib.if_scope(cond):`` statements run when ``cond`` holds: a bool, or an
        integer (true when nonzero, as in C); a float or a handle is refused."""
        test = convert(cond)
        if not (test.dtype.is_bool or test.dtype.is_int) or test.dtype.lanes != 1:
            raise ExprError(f"ir_builder.if_scope: the condition must be a scalar bool (or integer), got {cond!r} "
                            f"of type {test.dtype}; compare it, e.g. x != 0")
        if test.dtype.is_int:
            test = test != 0  # code generation branches on a bool
        self._stack.append([])
        yield
        self.emit(IfThenElse(test, self._pop()))

    @contextlib.contextmanager
    def else_scope(self) -> Iterator[None]:
        """Right after an ``if_scope``: statements run when its condition fails."""
        prev = self._stack[-1][-1] if self._stack[-1] else None
        if not isinstance(prev, IfThenElse) or prev.else_case is not None:
            raise ExprError("else_scope must follow an if_scope")
        self._stack.append([])
        yield
        other = self._pop()
        self._stack[-1][-1] = prev.with_fields(else_case=other)

    @contextlib.contextmanager
    def new_scope(self) -> Iterator[None]:
        self._stack.append([])
        yield
        self.emit(self._pop())

    def allocate(self, dtype: str, shape: Any, name: str = "buf", scope: str = "global") -> BufferPtr:
        """Scratch storage for the statements that follow, as a BufferPtr."""
        given = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        dims = tuple(_integer(d, f"allocate '{name}': a dimension") for d in given)
        for d in dims:
            if isinstance(d, IntImm) and d.value < 0:
                raise ExprError(f"ir_builder.allocate '{name}': dimension {d.value} of the shape {given} is negative")
        size: Any = 1
        for d in dims:
            size = size * d
        var = Var(name, HANDLE)
        self._stack[-1].append(lambda body: Allocate(var, as_dtype(dtype), convert(size), scope, body))
        return BufferPtr(self, var, dtype, dims)

    def scope_attr(self, node: Any, attr_key: str, value: Any) -> None:
        """TVM's attribute scope over the statements that follow.  ``"thread_extent"`` on a
        ``te.thread_axis`` launches that GPU index over ``[0, value)`` (a thread-bound loop, as a
        schedule's ``bind`` makes); other keys (pragmas, storage scopes) carry no meaning here and
        are refused, so a kernel never silently loses one."""
        if attr_key != "thread_extent":
            raise ExprError(f"ir_builder.scope_attr: only 'thread_extent' is supported, got '{attr_key}'")
        var, tag = getattr(node, "var", None), getattr(node, "thread_tag", "")
        if not isinstance(var, Var) or not tag:
            raise ExprError(f"ir_builder.scope_attr(..., 'thread_extent', ...) takes a te.thread_axis, got {node!r}")
        extent = convert(value)

        def launch(body: Stmt) -> Stmt:
            # TVM's launch attributes may come in any order; kernels here have their block
            # indices outside their thread indices, so a thread index goes inside block loops.
            if tag.startswith("threadIdx") and isinstance(body, For) and body.kind is ForKind.THREAD_BINDING \
                    and body.thread_tag.startswith("blockIdx"):
                return body.with_fields(body=launch(body.body))
            return For(var, convert(0), extent, ForKind.THREAD_BINDING, body, thread_tag=tag)
        self._stack[-1].append(launch)

    def likely(self, expr: Any) -> PrimExpr:
        """TVM's ``ib.likely``: the condition itself (a hint only)."""
        return convert(expr)

    def let(self, var_name: str, value: Any) -> Var:
        """A variable bound to ``value`` for the statements that follow."""
        value = convert(value)
        var = Var(var_name, value.dtype)
        self._stack[-1].append(lambda body: LetStmt(var, value, body))
        return var

    def buffer_ptr(self, buf: Any, shape: Any = None) -> BufferPtr:
        """Element access to a ``te.extern`` buffer (``ins[k]``/``outs[k]``) or a handle."""
        data = getattr(buf, "data", buf)
        dims = tuple(shape) if shape is not None else tuple(getattr(buf, "shape", ()))
        declared = buf if callable(getattr(buf, "offset_of", None)) else None
        return BufferPtr(self, data, getattr(buf, "dtype", "float32"), dims, declared)

    def pointer(self, content_type: str, name: str = "ptr", scope: str = "") -> BufferPtr:
        """TVM's ``ib.pointer``: a fresh handle to elements of ``content_type``, as a BufferPtr
        (index it, or pass it as a ``tir.PrimFunc`` parameter: an array of any length).
        ``scope`` is accepted and unused: where memory lives is decided where it is allocated,
        and a pointer allocates nothing."""
        return BufferPtr(self, Var(name, HANDLE), content_type)

    def get(self) -> Stmt:
        """The statement built so far."""
        if len(self._stack) != 1:
            raise ExprError("ir_builder.get() inside an open scope")
        stmt = self._pop()
        self._stack.append([])
        return stmt


def create() -> IRBuilder:
    """A new IRBuilder."""
    return IRBuilder()


__all__ = ["IRBuilder", "BufferPtr", "BufferVar", "create", "INT32"]
