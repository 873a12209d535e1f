"""GPU emulation: rewrite kernels (blockIdx/threadIdx loops, shared and local memory,
barriers) into plain CPU loops with the same results.

Guarantees: blocks become loops (the outermost one parallel; a blockIdx loop below other code
becomes a loop around the block's code, which a GPU runs in every block along it); within a block, the code
between two barriers runs for every thread in a loop over the thread indices before any
thread passes the barrier (the thread loops are split at each barrier); shared buffers are
allocated once per block; local buffers and let-bound values that live across a barrier get
one copy per thread; a warp shuffle is an exchange through shared memory between two barriers.
Memory a GPU leaves uninitialized holds garbage, as it would on the GPU, so a kernel that reads
it before writing it computes something else: every local (and warp) buffer starts as NaN (floats)
or bytes 0xA5 (integers; True for bool) in every thread, every shared buffer does so once per
block, before any thread runs (reusing one CPU array across the threads a loop runs would hand
a thread the previous thread's values).
A loop bound to a GPU index inside another bound to the same index runs on that index (the
GPU has one). A barrier (or shuffle) under thread-dependent control flow is rejected with a
LoweringError, as it would deadlock on a GPU.
"""

from __future__ import annotations

from typing import Any

from ...errors import LoweringError
from ...te import expr as E
from ...te.dtype import HANDLE, DType
from ...te.expr import IntImm, PrimExpr, Var
from ...te.functor import Mutator, free_vars, post_order_visit, substitute
from ..async_copy import CP_ASYNC, as_plain_copy, async_call
from ..stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, Store, no_op, seq
from ..warp import SHFL_DOWN, is_shuffle
from .storage_sync import barrier, contains_barrier, is_barrier

# Annotation of the serial loop that runs a block's threads one after another. The LLVM backend
# keeps it a loop: fully unrolled, its copies let LLVM vectorize the block loop around it across
# blocks, which took 20 s of LLVM time for one int8 kernel of 16-thread blocks.
EMULATED_THREADS_KEY = "tl.emulated_threads"

_ORDER = ("threadIdx.z", "threadIdx.y", "threadIdx.x")


def _thread_dims(body: Stmt) -> dict[str, int]:
    dims: dict[str, int] = {}

    def fn(n: Any) -> None:
        if isinstance(n, For) and n.kind == ForKind.THREAD_BINDING and n.thread_tag.startswith("threadIdx"):
            if not isinstance(n.extent, IntImm):
                raise LoweringError(f"loop {n.loop_var.name} bound to {n.thread_tag} has the non-constant extent "
                                    f"{n.extent}; thread extents must be constants")
            dims[n.thread_tag] = max(dims.get(n.thread_tag, 0), n.extent.value)
    post_order_visit(body, fn)
    return dims


class _BindIndices(Mutator):
    """Inside one thread's (or block's) code: a loop bound to one of the GPU indices in ``ivars`` is
    that index, guarded when its extent is short of the dimension (``dims``: a thread count, or a
    block extent, which may be symbolic)."""

    def __init__(self, ivars: dict[str, Var], dims: dict[str, int] | dict[str, PrimExpr]):
        super().__init__()
        self.ivars, self.dims = ivars, dims

    def visit_For(self, node: For) -> Stmt:
        if node.kind == ForKind.THREAD_BINDING and node.thread_tag in self.ivars:
            v = self.ivars[node.thread_tag]
            body = self.visit(substitute(node.body, {node.loop_var: v}))
            dim = self.dims[node.thread_tag]
            dim_value = dim.value if isinstance(dim, IntImm) else dim
            if node.extent is dim or (isinstance(node.extent, IntImm) and node.extent.value == dim_value):
                return body
            return IfThenElse(v < node.extent, body)
        return self.generic_visit(node)


class _PerThread(Mutator):
    """Give a local buffer one slice per thread: index + tid * extent."""

    def __init__(self, buf: Var, offset: PrimExpr):
        super().__init__()
        self.buf, self.offset = buf, offset

    def _shift(self, index: PrimExpr) -> PrimExpr:
        if isinstance(index, E.Ramp):
            return E.Ramp(index.base + self.offset, index.stride, index.lanes)
        if index.dtype.lanes > 1:
            return index + E.Broadcast(self.offset, index.dtype.lanes)
        return index + self.offset

    def visit_Load(self, node: E.Load) -> PrimExpr:
        node = self.generic_visit(node)
        if node.buffer is not self.buf:
            return node
        return E.Load(node.dtype, node.buffer, self._shift(node.index), node.predicate)

    def visit_Store(self, node: Store) -> Stmt:
        node = self.generic_visit(node)
        if node.buffer is not self.buf:
            return node
        return Store(node.buffer, node.value, self._shift(node.index), node.predicate)


def _garbage(dtype: DType) -> PrimExpr | None:
    """What an uninitialized element of ``dtype`` holds (module docstring); None: left as is."""
    if dtype.is_float:
        return E.const(float("nan"), dtype)
    if dtype.is_int:
        pattern = int.from_bytes(b"\xa5" * (dtype.bits // 8), "little")
        if dtype.is_signed and pattern >= 1 << (dtype.bits - 1):
            pattern -= 1 << dtype.bits
        return E.const(pattern, dtype)
    if dtype.is_bool:
        return E.const(True, dtype)
    return None


def _poisoned(s: Allocate, count: PrimExpr, guard: PrimExpr | None = None) -> Allocate:
    """``s`` whose first ``count`` elements are garbage before its body runs (only when
    ``guard`` holds: the first thread of a block, for memory the block shares)."""
    elem = s.dtype.element_of()
    value = _garbage(elem)
    if value is None:
        return s
    k = Var(f"emu.{s.buffer.name}.k", count.dtype)
    fill: Stmt = For(k, E.const(0, count.dtype), count, ForKind.SERIAL, Store(s.buffer, value, k))
    if guard is not None:
        fill = IfThenElse(guard, fill)
    return s.with_fields(body=seq(fill, s.body))


def _elements(s: Allocate) -> PrimExpr:
    """The element count of ``s`` (a vector dtype's allocation holds ``lanes`` per entry)."""
    return s.extent if s.dtype.lanes == 1 else s.extent * E.const(s.dtype.lanes, s.extent.dtype)


class _Poison(Mutator):
    """In one thread's barrier-free code: local (and warp) buffers start as garbage in each
    thread; shared buffers once per block, in its first thread (which runs first)."""

    def __init__(self, first_thread: PrimExpr):
        super().__init__()
        self.first_thread = first_thread

    def visit_Allocate(self, node: Allocate) -> Stmt:
        node = self.generic_visit(node)
        if node.scope == "local":
            return _poisoned(node, _elements(node))
        if node.scope in ("shared", "warp"):
            return _poisoned(node, _elements(node), self.first_thread)
        return node


class _Shuffles(Mutator):
    """Turn each ``x = shuffle(v, ...)`` into an exchange through shared memory between
    barriers: every thread publishes ``v``, then reads the lane it names; asynchronous copies
    become plain copies (their commit and wait, nothing)."""

    def visit_Evaluate(self, node: Evaluate) -> Stmt:
        kind = async_call(node)
        if kind == CP_ASYNC:
            return as_plain_copy(node)
        return no_op() if kind else node

    def __init__(self, block: _Block):
        super().__init__()
        self.block = block
        self.exchanges: list[tuple[Var, Any]] = []

    def visit_Store(self, node: Store) -> Stmt:
        v = node.value
        if not is_shuffle(v):
            return self.generic_visit(node)
        value, k, width = v.args
        tid = self.block.tid()
        xchg = Var(f"emu.xchg{len(self.exchanges)}", HANDLE)
        self.exchanges.append((xchg, value.dtype))
        w = width.value
        if v.name == SHFL_DOWN:
            last = E.const(self.block.nthreads - 1)
            src = E.Min(tid + k, last)  # clamped: a lane past its segment keeps its own value
            got: PrimExpr = E.Select(E.FloorMod(tid, E.const(w)) + k < width, E.Load(value.dtype, xchg, src), value)
        else:
            got = E.Load(value.dtype, xchg, tid - E.FloorMod(tid, E.const(w)) + k)
        return seq(Store(xchg, value, tid), barrier(), Store(node.buffer, got, node.index, node.predicate), barrier())

    def wrap(self, body: Stmt) -> Stmt:
        for xchg, dtype in reversed(self.exchanges):
            body = Allocate(xchg, dtype, E.const(self.block.nthreads), "shared", body)
        return body


class _Block:
    """Emulate one block's body."""

    def __init__(self, body: Stmt, kernel: str):
        self.kernel = kernel
        self.dims = _thread_dims(body)
        self.tvars = {tag: Var(f"emu.{tag}") for tag in self.dims}
        self.nthreads = 1
        self._barriers: dict[int, tuple[Stmt, bool]] = {}  # contains_barrier's memo
        for d in self.dims.values():
            self.nthreads *= d

    def emulate(self, body: Stmt) -> Stmt:
        """The block's body as CPU loops (warp shuffles become exchanges between barriers)."""
        shuffles = _Shuffles(self)
        body = shuffles.visit(body)
        return shuffles.wrap(self.fission(body))

    def tid(self) -> PrimExpr:
        out: PrimExpr = E.const(0)
        for tag in _ORDER:
            if tag in self.tvars:
                out = out * self.dims[tag] + self.tvars[tag]
        return out

    def threads(self, s: Stmt) -> Stmt:
        """Run a barrier-free statement for every thread of the block."""
        body = _BindIndices(self.tvars, self.dims).visit(_Poison(self.tid().equal(0)).visit(s))
        for tag in reversed(_ORDER):
            if tag in self.tvars:
                body = For(self.tvars[tag], E.const(0), E.const(self.dims[tag]), ForKind.SERIAL, body,
                           annotations=((EMULATED_THREADS_KEY, 1),))
        return body

    def _uniform(self, e: PrimExpr, what: str) -> None:
        if free_vars(e) & set(self.tvars.values()):
            raise LoweringError(f"kernel {self.kernel}: a barrier sits under {what} that depends on the thread "
                                f"index ('{e}'); every thread of a block must reach the same barriers")

    def fission(self, s: Stmt) -> Stmt:
        if not contains_barrier(s, self._barriers):
            return self.threads(s)
        if is_barrier(s):
            return no_op()
        if isinstance(s, SeqStmt):
            out: list[Stmt] = []
            group: list[Stmt] = []
            for child in s.seq:
                if contains_barrier(child, self._barriers):
                    if group:
                        out.append(self.threads(seq(*group)))
                        group = []
                    out.append(self.fission(child))
                else:
                    group.append(child)
            if group:
                out.append(self.threads(seq(*group)))
            return seq(*out)
        if isinstance(s, For) and s.kind == ForKind.THREAD_BINDING and s.thread_tag in self.tvars:
            if not (isinstance(s.extent, IntImm) and s.extent.value == self.dims[s.thread_tag]):
                raise LoweringError(f"kernel {self.kernel}: a barrier sits inside loop {s.loop_var.name}, bound to "
                                    f"{s.thread_tag} with extent {s.extent} < {self.dims[s.thread_tag]} threads: "
                                    "only some threads would reach it")
            return self.fission(substitute(s.body, {s.loop_var: self.tvars[s.thread_tag]}))
        if isinstance(s, For):
            self._uniform(s.min, "a loop bound")
            self._uniform(s.extent, "a loop bound")
            kind = ForKind.SERIAL if s.kind != ForKind.THREAD_BINDING else ForKind.SERIAL
            return For(s.loop_var, s.min, s.extent, kind, self.fission(s.body))
        if isinstance(s, IfThenElse):
            self._uniform(s.condition, "a condition")
            other = self.fission(s.else_case) if s.else_case is not None else None
            return IfThenElse(s.condition, self.fission(s.then_case), other)
        if isinstance(s, LetStmt):
            # Values are pure: recompute them in every segment that uses them.
            return self.fission(substitute(s.body, {s.var: s.value}))
        if isinstance(s, Allocate):
            if s.scope in ("local", "warp") and self.nthreads > 1:
                if not isinstance(s.extent, IntImm):
                    raise LoweringError(f"kernel {self.kernel}: local buffer {s.buffer.name} needs a constant size")
                body = _PerThread(s.buffer, self.tid() * s.extent.value).visit(s.body)
                every = Allocate(s.buffer, s.dtype, E.const(s.extent.value * self.nthreads), s.scope,
                                 self.fission(body))
                return _poisoned(every, _elements(every))  # every thread's copy, before any runs
            out = Allocate(s.buffer, s.dtype, s.extent, s.scope, self.fission(s.body))
            return _poisoned(out, _elements(out)) if s.scope in ("local", "warp", "shared") else out
        raise LoweringError(f"kernel {self.kernel}: cannot emulate a barrier inside {type(s).__name__}")


def _nested_blocks(body: Stmt, kernel: str) -> dict[str, PrimExpr]:
    """The blockIdx dimensions launched by loops inside ``body`` and their extents."""
    dims: dict[str, PrimExpr] = {}

    def fn(n: Any) -> None:
        if isinstance(n, For) and n.kind == ForKind.THREAD_BINDING and n.thread_tag.startswith("blockIdx"):
            old = dims.get(n.thread_tag)
            if old is None or (isinstance(old, IntImm) and isinstance(n.extent, IntImm) and n.extent.value > old.value):
                dims[n.thread_tag] = n.extent
            elif not (isinstance(old, IntImm) and isinstance(n.extent, IntImm)) and old is not n.extent:
                raise LoweringError(f"{kernel}: {n.thread_tag} is launched with two symbolic extents ({old} and "
                                    f"{n.extent}); give them one extent")
    post_order_visit(body, fn)
    return dims


class _OneBlockIndex(Mutator):
    """A loop bound to a blockIdx inside a loop bound to the same blockIdx is that loop's index
    (a GPU has one ``blockIdx.x``; the CUDA code reads it for both, guarded by the inner extent),
    not a loop of its own: emulation computes what the GPU does."""

    def __init__(self) -> None:
        super().__init__()
        self.enclosing: dict[str, For] = {}

    def visit_For(self, node: For) -> Stmt:
        tag = node.thread_tag
        if node.kind != ForKind.THREAD_BINDING or not tag.startswith("blockIdx"):
            return self.generic_visit(node)
        outer = self.enclosing.get(tag)
        if outer is not None:
            index = outer.loop_var if outer.loop_var.dtype == node.loop_var.dtype \
                else E.cast(outer.loop_var, node.loop_var.dtype)
            body = self.visit(substitute(node.body, {node.loop_var: index}))
            if node.extent is outer.extent or (isinstance(node.extent, IntImm) and isinstance(outer.extent, IntImm)
                                               and node.extent.value >= outer.extent.value):
                return body
            return IfThenElse(index < node.extent, body)
        self.enclosing[tag] = node
        try:
            return self.generic_visit(node)
        finally:
            del self.enclosing[tag]


class _Kernels(Mutator):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.depth = 0

    def visit_For(self, node: For) -> Stmt:
        if node.kind == ForKind.THREAD_BINDING and node.thread_tag.startswith("blockIdx"):
            outermost = self.depth == 0
            self.depth += 1
            try:
                inner = node.body
                if isinstance(inner, For) and inner.kind == ForKind.THREAD_BINDING \
                        and inner.thread_tag.startswith("blockIdx"):
                    body = self.visit(inner)
                else:
                    name = f"kernel{self.count}"
                    nested = _nested_blocks(inner, name)
                    bvars = {tag: Var(tag.replace("blockIdx.", "b"), "int32") for tag in nested}
                    if nested:  # blockIdx loops below other code: loops around the block's code
                        inner = _BindIndices(bvars, nested).visit(inner)
                    block = _Block(inner, name)
                    body = block.emulate(inner)
                    for tag in sorted(nested, reverse=True):
                        body = For(bvars[tag], E.const(0), nested[tag], ForKind.SERIAL, body)
            finally:
                self.depth -= 1
            if outermost:
                self.count += 1
            return For(node.loop_var, node.min, node.extent, ForKind.PARALLEL if outermost else ForKind.SERIAL,
                       body)
        if node.kind == ForKind.THREAD_BINDING:  # a kernel launched with threads but no blocks
            block = _Block(node, f"kernel{self.count}")
            self.count += 1
            return block.emulate(node)
        return self.generic_visit(node)

    def visit_Evaluate(self, node: Evaluate) -> Stmt:
        return no_op() if is_barrier(node) else node


def emulate_gpu(stmt: Stmt) -> Stmt:
    """CPU loops that compute what the GPU kernels of ``stmt`` compute (module docstring)."""
    return _Kernels().visit(_OneBlockIndex().visit(stmt))
