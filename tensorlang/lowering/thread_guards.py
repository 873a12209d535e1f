"""A thread loop shorter than its kernel's launch is guarded around its own statements, never around a barrier.

Guarantees: in each GPU kernel, a loop bound to threadIdx.x/y/z whose constant extent ``n`` is
below the kernel's (the largest constant extent any loop binds to that index) and whose body
holds a barrier or another loop bound to the same index (a cooperative shared-memory load
that needs more threads: a conv's output stage with 4 threads along x fetching its window
with 8) runs over the whole launch extent instead, with ``index < n`` guarding only the
statements of its body that hold neither: every thread of the block reaches every barrier and
the inner loop's threads, as TVM's kernels have them.  The threads past ``n`` evaluate only
what the guards leave outside (loop bounds, allocations, branch conditions, let values, the
inner thread loops), so a loop is left as it was (and the CUDA backend reports its barrier)
when any of those depends on its index, when a let there reads memory, or when its body holds
a warp shuffle.  The result computes exactly what the input computes.
"""

from __future__ import annotations

from typing import Any

from ..arith import simplify
from ..ir.function import PrimFunc
from ..ir.passes.storage_sync import contains_barrier, is_barrier
from ..ir.stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, seq
from ..ir.warp import is_shuffle
from ..te import expr as E
from ..te.expr import IntImm, Var
from ..te.functor import Mutator, contains, free_vars, post_order_visit


def _is_thread_loop(s: Any, tag: str | None = None) -> bool:
    return (isinstance(s, For) and s.kind is ForKind.THREAD_BINDING and s.thread_tag.startswith("threadIdx")
            and (tag is None or s.thread_tag == tag))


class _CannotSink(Exception):
    """A statement the threads past the loop's extent would run depends on its index."""


class _Sink:
    """The body of one widened loop: statements holding no barrier and no loop bound to ``tag``
    guarded by ``cond``; ``tainted`` are the variables whose values are out of range there."""

    def __init__(self, tag: str, var: Var, cond: E.PrimExpr) -> None:
        self.tag, self.cond, self.tainted = tag, cond, {var}

    def needs_all_threads(self, s: Stmt) -> bool:
        return contains_barrier(s) or contains(s, lambda n: _is_thread_loop(n, self.tag))

    def _unguarded(self, *exprs: Any) -> None:
        for e in exprs:
            if e is not None and free_vars(e) & self.tainted:
                raise _CannotSink

    def sink(self, s: Stmt) -> Stmt:
        if isinstance(s, Evaluate) and is_barrier(s):
            return s
        if not self.needs_all_threads(s):
            return IfThenElse(self.cond, s)
        if isinstance(s, SeqStmt):
            out: list[Stmt] = []
            run: list[Stmt] = []  # consecutive statements under one guard
            for x in s.seq:
                if self.needs_all_threads(x):
                    if run:
                        out.append(IfThenElse(self.cond, seq(*run)))
                        run = []
                    out.append(self.sink(x))
                else:
                    run.append(x)
            if run:
                out.append(IfThenElse(self.cond, seq(*run)))
            return seq(*out)
        if _is_thread_loop(s, self.tag):
            # The inner cooperative load: every thread runs it as it is (with its own guard).
            self._unguarded(s)
            return s
        if isinstance(s, For):
            self._unguarded(s.min, s.extent)
            return s.with_fields(body=self.sink(s.body))
        if isinstance(s, Allocate):
            self._unguarded(s.extent)
            return s.with_fields(body=self.sink(s.body))
        if isinstance(s, IfThenElse):
            self._unguarded(s.condition)
            other = self.sink(s.else_case) if s.else_case is not None else None
            return s.with_fields(then_case=self.sink(s.then_case), else_case=other)
        if isinstance(s, LetStmt):
            if free_vars(s.value) & self.tainted:
                # Out-of-range threads compute the value too: harmless arithmetic, not a read.
                if contains(s.value, lambda n: isinstance(n, E.Load)):
                    raise _CannotSink
                self.tainted.add(s.var)
            return s.with_fields(body=self.sink(s.body))
        raise _CannotSink  # a barrier inside anything else: leave the loop alone


class _Widen(Mutator):
    def __init__(self, dims: dict[str, int]) -> None:
        super().__init__()
        self.dims = dims

    def visit_For(self, node: For) -> Stmt:
        node = self.generic_visit(node)
        if not _is_thread_loop(node) or not isinstance(node.extent, IntImm):
            return node
        dim = self.dims.get(node.thread_tag, 0)
        if node.extent.value >= dim or contains(node.body, is_shuffle):
            return node
        end = node.extent if isinstance(node.min, IntImm) and node.min.value == 0 else simplify(node.min + node.extent)
        sink = _Sink(node.thread_tag, node.loop_var, E.LT(node.loop_var, end))
        if not sink.needs_all_threads(node.body):
            return node  # the backends guard the whole loop
        try:
            body = sink.sink(node.body)
        except _CannotSink:
            return node
        return node.with_fields(extent=IntImm(node.extent.dtype, dim), body=body)


def _launch_dims(kernel: Stmt) -> dict[str, int] | None:
    """The largest extent bound to each threadIdx tag in ``kernel``; None when one is not a constant."""
    dims: dict[str, int] = {}
    symbolic: list[bool] = []

    def fn(n: Any) -> None:
        if _is_thread_loop(n):
            if isinstance(n.extent, IntImm):
                dims[n.thread_tag] = max(dims.get(n.thread_tag, 0), n.extent.value)
            else:
                symbolic.append(True)
    post_order_visit(kernel, fn)
    return None if symbolic else dims


class _Kernels(Mutator):
    def visit_For(self, node: For) -> Stmt:
        if node.kind is not ForKind.THREAD_BINDING:
            return self.generic_visit(node)
        dims = _launch_dims(node)  # a kernel: the outermost loop bound to a GPU index
        return node if dims is None else _Widen(dims).visit(node)


def guard_short_thread_loops(func: PrimFunc) -> PrimFunc:
    """``func`` with its short thread loops widened and guarded inside (module docstring)."""
    body = _Kernels().visit(func.body)
    return func if body is func.body else func.with_body(body)
