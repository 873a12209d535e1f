"""TVM's ``tir.analysis`` checks over a lowered function: ``verify_gpu_code`` (do a GPU
function's kernels fit the given limits) and ``expr_deep_equal``.

``verify_gpu_code`` reads the loop IR ``tvm.lower`` returns: each outermost thread-bound loop
starts a kernel; in a kernel the threadIdx extents multiply into the threads of a block, shared
allocations add up per block and local ones per thread, and the widest vector access is compared
with its limit.  ``tvm.lower`` has already interleaved vthreads into each thread's code (their
tiles count in the local and shared sizes), so ``max_vthread`` only sees vthread loops a
hand-written function still holds.  Extents that are not constants are not counted (they are
checked when the kernel is launched).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..arith import structural_equal
from ..errors import ArgumentError
from ..te.expr import IntImm, Load, PrimExpr, Ramp
from ..te.functor import post_order_visit
from .function import PrimFunc
from .stmt import Allocate, For, ForKind, SeqStmt, Stmt, Store
from .storage_scope import is_thread_private

_LIMITS = ("max_threads_per_block", "max_shared_memory_per_block", "max_local_memory_per_block",
           "max_thread_x", "max_thread_y", "max_thread_z", "max_vthread", "max_vector_bytes", "max_kernels")


@dataclass
class _Kernel:
    """What one kernel uses."""

    threads: dict[str, int] = field(default_factory=dict)  # threadIdx.x/y/z -> extent
    vthreads: int = 1
    shared_bytes: int = 0
    local_bytes: int = 0
    vector_bytes: int = 0


def verify_gpu_code(func: Any, constraints: Mapping[str, int]) -> bool:
    """Whether every kernel of ``func`` (what ``tvm.lower`` returns for a GPU schedule) fits
    ``constraints`` (TVM's keys: max_threads_per_block, max_shared_memory_per_block,
    max_local_memory_per_block, max_thread_x/y/z, max_vthread, max_vector_bytes)."""
    body = _body(func)
    unknown = set(constraints) - set(_LIMITS)
    if unknown:
        raise ArgumentError(f"verify_gpu_code: unknown constraint(s) {sorted(unknown)}; known: {', '.join(_LIMITS)}")
    kernels = [_measure(k) for k in _kernels(body)]
    limit = {k: int(v) for k, v in constraints.items()}

    def fits(name: str, value: int) -> bool:
        return name not in limit or value <= limit[name]
    for k in kernels:
        per_block = 1
        for tag, extent in k.threads.items():
            per_block *= extent
            if not fits(f"max_thread_{tag[-1]}", extent):
                return False
        checks = [("max_threads_per_block", per_block), ("max_shared_memory_per_block", k.shared_bytes),
                  ("max_local_memory_per_block", k.local_bytes), ("max_vthread", k.vthreads),
                  ("max_vector_bytes", k.vector_bytes)]
        if not all(fits(name, value) for name, value in checks):
            return False
    return fits("max_kernels", len(kernels))


def expr_deep_equal(lhs: Any, rhs: Any) -> bool:
    """Whether two expressions are the same tree (TVM's ``expr_deep_equal``)."""
    return bool(structural_equal(lhs, rhs))


def _body(func: Any) -> Stmt:
    if isinstance(func, PrimFunc):
        return func.body
    if isinstance(func, Stmt):
        return func
    inner = getattr(func, "functions", None)  # an IRModule of one function
    if inner:
        (only,) = list(inner.values()) if isinstance(inner, Mapping) else list(inner)
        return only.body
    raise ArgumentError(f"verify_gpu_code expects a lowered function (tvm.lower(...)), got {func!r}")


def _kernels(stmt: Stmt) -> list[Stmt]:
    """The outermost thread-bound loops: each begins a kernel."""
    found: list[Stmt] = []

    def walk(s: Any) -> None:
        if isinstance(s, For) and s.kind is ForKind.THREAD_BINDING:
            found.append(s)
            return
        if isinstance(s, SeqStmt):
            for child in s.seq:
                walk(child)
            return
        for name in getattr(s, "_children", ()):
            child = getattr(s, name, None)
            if isinstance(child, Stmt):
                walk(child)
    walk(stmt)
    return found


def _measure(kernel: Stmt) -> _Kernel:
    k = _Kernel()

    def visit(node: Any) -> None:
        if isinstance(node, For) and node.kind is ForKind.THREAD_BINDING and isinstance(node.extent, IntImm):
            tag = node.thread_tag
            if tag.startswith("threadIdx."):
                k.threads[tag] = max(k.threads.get(tag, 1), node.extent.value)
            elif tag.startswith("vthread"):
                k.vthreads *= node.extent.value
        elif isinstance(node, Allocate) and isinstance(node.extent, IntImm):
            nbytes = node.extent.value * node.dtype.bits * node.dtype.lanes // 8
            if node.scope == "shared":
                k.shared_bytes += nbytes
            elif is_thread_private(node.scope):  # local arrays and tensor-core fragments
                k.local_bytes += nbytes
        elif isinstance(node, (Load, Store)) and isinstance(node.index, Ramp):
            value = node if isinstance(node, Load) else node.value
            k.vector_bytes = max(k.vector_bytes, _bytes(value))
    post_order_visit(kernel, visit)
    return k


def _bytes(e: PrimExpr) -> int:
    return e.dtype.bits * e.dtype.lanes // 8


__all__ = ["expr_deep_equal", "verify_gpu_code"]
