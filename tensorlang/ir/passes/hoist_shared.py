"""Hoisting of shared-memory allocations to the top of each GPU block.

Guarantees: every ``shared`` Allocate of constant size inside a kernel is declared once, at
the top of its block's code (inside the kernel's blockIdx loops, around everything else), with
the largest extent any copy of it had: loop partitioning, unrolling and double buffering copy
loop bodies, and each copy of one buffer (the same Var) used to be a separate ``__shared__``
array, counted again against the block's shared-memory limit.  The storage is the same for
every iteration and every copy, as it is on a GPU, where a block's shared arrays live for
the whole block; the barriers storage_sync placed order the copies' accesses as before.
"""

from __future__ import annotations

from typing import Any

from ...te.dtype import DType
from ...te.expr import IntImm, Var
from ...te.functor import Mutator
from ..stmt import Allocate, For, ForKind, Stmt


def _is_block_loop(s: Any) -> bool:
    return isinstance(s, For) and s.kind == ForKind.THREAD_BINDING and s.thread_tag.startswith("blockIdx")


class _Collect(Mutator):
    """Remove the shared Allocates of constant size, remembering each buffer once."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[Var, tuple[DType, int]] = {}

    def visit_Allocate(self, node: Allocate) -> Stmt:
        if node.scope != "shared" or not isinstance(node.extent, IntImm):
            return self.generic_visit(node)
        dtype, extent = self.found.get(node.buffer, (node.dtype, 0))
        self.found[node.buffer] = (dtype, max(extent, node.extent.value))  # in program order
        return self.visit(node.body)


class _Hoist(Mutator):
    def visit_For(self, node: For) -> Stmt:
        if node.kind != ForKind.THREAD_BINDING:
            return self.generic_visit(node)
        # The kernel's root: descend through its blockIdx loops to the block's code.
        loops: list[For] = []
        inner: Stmt = node
        while _is_block_loop(inner):
            loops.append(inner)  # type: ignore[arg-type]
            inner = inner.body  # type: ignore[attr-defined]
        collect = _Collect()
        body = collect.visit(inner)
        for buf, (dtype, extent) in reversed(list(collect.found.items())):
            body = Allocate(buf, dtype, IntImm("int32", extent), "shared", body)
        for loop in reversed(loops):
            body = loop.with_fields(body=body)
        return body


def hoist_shared_allocations(stmt: Stmt) -> Stmt:
    """Declare each kernel's shared buffers once, at the top of its blocks (module docstring)."""
    return _Hoist().visit(stmt)
