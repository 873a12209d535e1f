"""Every ``shared`` or ``local`` buffer allocated outside the GPU kernels moves into the one kernel using it.

A kernel is a loop bound to blockIdx/threadIdx reached from the host code.  Host code cannot
hold GPU shared or local memory, yet such allocations reach it: an IR-builder body (TVM's
atomic tests) allocates a ``local`` scratch before its ``scope_attr`` thread extents, and a
kernel without blockIdx loops (a 0-d output reduced by one block of threads) has its shared
buffers hoisted above its root.  The CUDA backend runs this on every function it builds
(hand-written ones never pass through lowering's pipeline).

As TVM's lowering does, the allocation moves to the top of the block's code (inside the
kernel's blockIdx loops, or inside its root loop when it has none): a ``local`` buffer then has
one copy per thread, a ``shared`` one one copy per block.  That is the same program only when
the kernel is the buffer's only user: one used by host code or by two kernels (values cannot
flow between kernels through GPU memory that lives for one launch) is a LoweringError naming
it.  An allocation no kernel uses is dropped.
"""

from __future__ import annotations

from typing import Any

from ..errors import LoweringError
from ..ir.function import PrimFunc
from ..ir.stmt import Allocate, For, ForKind, Stmt
from ..ir.storage_scope import WMMA_SCOPES
from ..te import expr as E
from ..te.functor import Mutator, children, post_order_visit

_MOVABLE = ("shared", "local", *WMMA_SCOPES)


def _is_kernel(s: Any) -> bool:
    return isinstance(s, For) and s.kind is ForKind.THREAD_BINDING


def _is_block_loop(s: Any) -> bool:
    return _is_kernel(s) and s.thread_tag.startswith("blockIdx")


def _mentions(node: Any, buf: E.Var) -> bool:
    """Whether ``node`` reads, writes or names (an address, a call argument) buffer ``buf``."""
    found = False

    def fn(n: Any) -> None:
        nonlocal found
        found = found or n is buf or (hasattr(n, "buffer") and getattr(n, "buffer") is buf)
    post_order_visit(node, fn)
    return found


def _users(s: Any, buf: E.Var, kernels: dict[int, For], host: list[Any]) -> None:
    """Collect the kernels (by identity: one kernel object may be launched from two places)
    that use ``buf`` and the host statements whose own expressions do."""
    if _is_kernel(s):
        if _mentions(s, buf):
            kernels[id(s)] = s
        return
    if getattr(s, "buffer", None) is buf:  # a Store to it, or the same buffer allocated again
        host.append(s)
        return
    for c in children(s):
        if isinstance(c, Stmt):
            _users(c, buf, kernels, host)
        elif _mentions(c, buf):
            host.append(s)


def _into(kernel: For, alloc: Allocate) -> For:
    """``kernel`` with ``alloc`` at the top of its block's code."""
    loops: list[For] = []
    inner: Stmt = kernel
    while _is_block_loop(inner):
        loops.append(inner)  # type: ignore[arg-type]
        inner = inner.body  # type: ignore[attr-defined]
    if not loops:  # threads without blocks: one block, inside the root thread loop
        loops, inner = [kernel], kernel.body
    body: Stmt = alloc.with_fields(body=inner)
    for loop in reversed(loops):
        body = loop.with_fields(body=body)
    return body  # type: ignore[return-value]


class _Replace(Mutator):
    """Replace one kernel root (by identity) wherever it is launched."""

    def __init__(self, old: For, new: For):
        super().__init__()
        self.old, self.new = old, new

    def visit_For(self, node: For) -> Stmt:
        if node is self.old:
            return self.new
        return node if _is_kernel(node) else self.generic_visit(node)


class _MoveIntoKernels(Mutator):
    def visit_For(self, node: For) -> Stmt:
        return node if _is_kernel(node) else self.generic_visit(node)  # a kernel's allocations stay

    def visit_Allocate(self, node: Allocate) -> Stmt:
        body = self.visit(node.body)
        if node.scope not in _MOVABLE:
            return node if body is node.body else node.with_fields(body=body)
        kernels: dict[int, For] = {}
        host: list[Any] = []
        _users(body, node.buffer, kernels, host)
        name = f"{node.scope} buffer {node.buffer.name}"
        if host:
            raise LoweringError(f"{name} is allocated outside any GPU kernel and used by host code there "
                                f"('{str(host[0]).splitlines()[0].strip()}'); {node.scope} memory exists only "
                                "inside a kernel: use it inside blockIdx/threadIdx loops, or allocate it 'global'")
        if len(kernels) > 1:
            raise LoweringError(f"{name} is allocated outside the GPU kernels and used by {len(kernels)} of them; "
                                f"{node.scope} memory lives for one kernel launch, so values cannot pass between "
                                "kernels through it: allocate it inside each kernel, or allocate it 'global'")
        if not kernels:
            return body
        kernel = next(iter(kernels.values()))
        return _Replace(kernel, _into(kernel, node)).visit(body)


def move_allocations_into_kernels(func: PrimFunc) -> PrimFunc:
    """``func`` with each shared/local allocation outside a kernel moved into it (module
    docstring); ``func`` itself when there is none."""
    body = _MoveIntoKernels().visit(func.body)
    return func if body is func.body else func.with_body(body)
