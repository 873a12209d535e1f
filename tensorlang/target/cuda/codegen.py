"""CUDA C generation for a lowered GPU PrimFunc: the host plan (kernels in launch order, their
parameters and launch dimensions, device buffers) and one readable CUDA C translation unit.

Guarantees:
- ``split_kernels`` accepts exactly the lowered GPU IR contract: at the top level only global
  ``Allocate``s, sequences, no-ops and kernel roots (loops bound to blockIdx/threadIdx); anything
  else is a BuildError naming the statement. Each kernel lists the buffers and scalars it reads,
  in a fixed order (function buffers, device buffers, then scalars in parameter order).
- The launch dimension of a tag is the largest extent bound to it in the kernel; a loop with a
  smaller extent runs under ``if (tag < extent)``. blockIdx extents may use scalar parameters
  (evaluated at launch); threadIdx extents must be constants.
- ``render_cuda`` emits code with the semantics of the CPU backend: Python floor division and
  modulo on signed integers, only the chosen side of a Select evaluated when a side loads
  memory, float16 arithmetic done in float32 and rounded after every operation, bool stored as
  one byte holding 0 or 1, integers of fewer than 32 bits wrapped after every operation.
- A contiguous vector access of 32- or 64-bit elements becomes 8- or 16-byte loads/stores only
  when its base index is provably a multiple of the vector width; ``Kernel.vector_align`` tells
  the runtime which device pointers must be aligned for that.
"""

from __future__ import annotations

import contextlib
import math
import re
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...arith import Interval, can_prove, structural_equal
from ...errors import BuildError
from ...ir import stmt as S
from ...ir.async_copy import CP_ASYNC_COMMIT, CP_ASYNC_WAIT, as_plain_copy, async_call
from ...ir.function import PrimFunc
from ...ir.passes.bounds_check import CHECK
from ...ir.passes.bounds_check import unwrap as unwrap_checked
from ...ir.storage_scope import WMMA_SCOPES, is_thread_private
from ...ir.verify import NOT_EXECUTABLE
from ...ir.warp import SHFL_DOWN, SHUFFLES, WARP_SIZE
from ...ir.wmma import WMMA_CALLS, fragments, uses_wmma, wmma_call
from ...te import expr as E
from ...te.dtype import DType, as_dtype
from ...te.extern import ACCESS_PTR, DTYPES, access_mask
from ...te.functor import Visitor, children, contains, free_vars, post_order_visit
from ...te.intrin import OPAQUE
from . import wmma as cuda_wmma

BLOCK_TAGS = ("blockIdx.x", "blockIdx.y", "blockIdx.z")
THREAD_TAGS = ("threadIdx.x", "threadIdx.y", "threadIdx.z")
BARRIER = "tl.syncthreads"
# TVM's tir.atomic_add(tir.address_of(buf[i]), value): adds value to buf[i] atomically and
# returns the old value (CUDA's atomicAdd); the element types atomicAdd has on every sm_60+ GPU.
ATOMIC_ADD, ADDRESS_OF = "atomic_add", "address_of"
ATOMIC_ADD_DTYPES = ("int32", "uint32", "float32", "float64")

# te intrinsic -> (float32 function, float64 function); float16 goes through float32.
MATH_FUNCTIONS: dict[str, tuple[str, str]] = {
    "exp": ("expf", "exp"), "exp2": ("exp2f", "exp2"), "exp10": ("exp10f", "exp10"),
    "log": ("logf", "log"), "log2": ("log2f", "log2"), "log10": ("log10f", "log10"),
    "sqrt": ("sqrtf", "sqrt"), "tanh": ("tanhf", "tanh"), "erf": ("erff", "erf"),
    "floor": ("floorf", "floor"), "ceil": ("ceilf", "ceil"), "round": ("rintf", "rint"),  # ties to even
    "trunc": ("truncf", "trunc"), "sin": ("sinf", "sin"), "cos": ("cosf", "cos"), "tan": ("tanf", "tan"),
    "fabs": ("fabsf", "fabs"), "pow": ("powf", "pow"), "sinh": ("sinhf", "sinh"), "cosh": ("coshf", "cosh"),
    "asin": ("asinf", "asin"), "acos": ("acosf", "acos"), "atan": ("atanf", "atan"), "asinh": ("asinhf", "asinh"),
    "acosh": ("acoshf", "acosh"), "atanh": ("atanhf", "atanh"), "log1p": ("log1pf", "log1p"),
    "expm1": ("expm1f", "expm1"), "atan2": ("atan2f", "atan2"), "hypot": ("hypotf", "hypot"),
    "copysign": ("copysignf", "copysign"), "nextafter": ("nextafterf", "nextafter"),
    "ldexp": ("ldexpf", "ldexp"),  # (float, int32 exponent)
}
_ARITY = {"pow": 2, "atan2": 2, "hypot": 2, "copysign": 2, "nextafter": 2, "ldexp": 2}

_C_TYPES = {
    "bool": "bool", "int8": "signed char", "uint8": "unsigned char", "int16": "short",
    "uint16": "unsigned short", "int32": "int", "uint32": "unsigned int", "int64": "long long",
    "uint64": "unsigned long long", "float16": "half", "float32": "float", "float64": "double",
}
# (element dtype, lanes) -> CUDA vector type of one aligned 8- or 16-byte access.
_VECTOR_TYPES = {
    ("float32", 4): "float4", ("float32", 2): "float2", ("int32", 4): "int4", ("int32", 2): "int2",
    ("uint32", 4): "uint4", ("uint32", 2): "uint2", ("float64", 2): "double2",
    ("int64", 2): "longlong2", ("uint64", 2): "ulonglong2",
}
_COMPONENTS = "xyzw"
_FLOAT32 = DType("float", 32)
_CMP = {E.EQ: "==", E.NE: "!=", E.LT: "<", E.LE: "<=", E.GT: ">", E.GE: ">="}
# The C operator of each node on bools (numpy's bool arithmetic: + is or, - is xor, * is and) and on numbers.
_BOOL_OR_NUMBER = {E.Add: ("||", "+"), E.Sub: ("!=", "-"), E.Mul: ("&&", "*"), E.And: ("&&", "&"), E.Or: ("||", "|")}

_RESERVED = frozenset("""
    alignas alignof and asm auto bool break case catch char class const constexpr continue default
    delete do double else enum explicit extern false float for friend goto if inline int long
    mutable namespace new noexcept not nullptr operator or private protected public register
    return short signed sizeof static struct switch template this throw true try typedef typeid
    typename union unsigned using virtual void volatile while xor
    threadIdx blockIdx blockDim gridDim warpSize half min max main
""".split())


# --- the host plan ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)  # IR nodes inside: identity, not ==
class KernelParam:
    """One kernel parameter: a buffer (``var`` is its handle, ``dtype`` its element type) or a
    scalar (``var`` is the function's scalar parameter)."""

    var: E.Var
    dtype: DType
    is_buffer: bool
    written: bool = False

    @property
    def name(self) -> str:
        return self.var.name


@dataclass(frozen=True, eq=False)  # IR nodes inside: identity, not ==
class Kernel:
    """One ``__global__`` function: its root loop, parameters and launch dimensions.

    ``grid`` holds the blockIdx.x/y/z extents (expressions over the function's scalar
    parameters, 1 when unused), ``block`` the threadIdx.x/y/z extents (constants once valid),
    ``shared_bytes`` the static shared memory, ``vector_align`` (buffer handle, bytes) for each
    parameter buffer accessed with aligned 8/16-byte vectors, ``checked`` the names of the
    buffers whose accesses are bounds-checked (``-bounds-check``: the kernel then takes the
    status buffer as its last parameter)."""

    name: str
    body: S.For
    params: tuple[KernelParam, ...]
    grid: tuple[E.PrimExpr, E.PrimExpr, E.PrimExpr]
    block: tuple[E.PrimExpr, E.PrimExpr, E.PrimExpr]
    shared_bytes: int
    vector_align: tuple[tuple[E.Var, int], ...] = ()
    checked: frozenset[str] = frozenset()

    def block_dims(self) -> tuple[int, int, int]:
        """The threadIdx launch dimensions; BuildError when one is not a constant."""
        dims = []
        for tag, ext in zip(THREAD_TAGS, self.block):
            if not isinstance(ext, E.IntImm):
                raise BuildError(f"kernel {self.name}: the extent '{ext}' bound to {tag} is not a constant; "
                                 "threadIdx extents must be known when the kernel is compiled")
            dims.append(ext.value)
        return dims[0], dims[1], dims[2]

    @property
    def threads_per_block(self) -> int:
        x, y, z = self.block_dims()
        return x * y * z


@dataclass(frozen=True, eq=False)  # IR nodes inside: identity, not ==
class GlobalBuffer:
    """A device buffer the host allocates for the whole call: ``extent`` elements of ``dtype``
    (an expression over the function's scalar parameters)."""

    var: E.Var
    dtype: DType
    extent: E.PrimExpr

    @property
    def name(self) -> str:
        return self.var.name


@dataclass(frozen=True, eq=False)  # IR nodes inside: identity, not ==
class HostPlan:
    """What the host does for one call: allocate ``buffers``, launch ``kernels`` in order."""

    func: PrimFunc
    kernels: tuple[Kernel, ...]
    buffers: tuple[GlobalBuffer, ...]

    @property
    def checked_names(self) -> tuple[str, ...]:
        """The names of every bounds-checked buffer, in the order whose positions the status
        buffer records (BOUNDS_STATUS)."""
        return tuple(sorted(set().union(*(k.checked for k in self.kernels))))


def c_identifier(name: str) -> str:
    """``name`` made a valid C identifier (non-alphanumerics become '_')."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", name) or "v"
    return "v" + out if out[0].isdigit() else out


def _excerpt(s: S.Stmt, limit: int = 12) -> str:
    lines = str(s).splitlines()
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return "\n".join("    " + line for line in lines)


def _launches(s: S.Stmt) -> bool:
    """Whether a loop bound to blockIdx/threadIdx (a kernel) sits inside ``s``."""
    return contains(s, lambda n: isinstance(n, S.For) and n.kind is S.ForKind.THREAD_BINDING)


def split_kernels(func: PrimFunc, allow_host_loops: bool = False) -> HostPlan:
    """Cut the body of a lowered GPU function into kernels and host-allocated device buffers.
    ``allow_host_loops``: serial loops around kernels (a ``te.scan``'s time loop) are walked
    into, their variables passed to the kernels (CPU emulation runs such loops as they are)."""
    buffer_dtypes: dict[E.Var, DType] = {b.data: b.dtype for b in func.buffers}
    scalars = [p for p in func.params if isinstance(p, E.Var)]
    kernels: list[Kernel] = []
    buffers: list[GlobalBuffer] = []
    base = c_identifier(func.name)

    def walk(s: S.Stmt) -> None:
        if isinstance(s, S.SeqStmt):
            for x in s.seq:
                walk(x)
        elif isinstance(s, S.Allocate) and s.scope == "global":
            extent = s.extent if s.dtype.lanes == 1 else E.Mul(s.extent, E.IntImm(s.extent.dtype, s.dtype.lanes))
            _check_host_expr(extent, scalars, f"{func.name}: the size of device buffer {s.buffer.name}")
            elem = s.dtype.element_of()
            buffers.append(GlobalBuffer(s.buffer, elem, extent))
            buffer_dtypes[s.buffer] = elem
            walk(s.body)
        elif isinstance(s, S.For) and s.kind is S.ForKind.THREAD_BINDING:
            kernels.append(_make_kernel(func, s, f"{base}_kernel{len(kernels)}", buffer_dtypes, scalars))
        elif allow_host_loops and isinstance(s, S.For) and s.kind is S.ForKind.SERIAL:
            scalars.append(s.loop_var)
            walk(s.body)
        elif allow_host_loops and isinstance(s, S.IfThenElse):
            walk(s.then_case)  # a host-side guard of a host loop (loop partitioning leaves them)
            if s.else_case is not None:
                walk(s.else_case)
        elif isinstance(s, S.Allocate):
            raise BuildError(f"{func.name}: buffer {s.buffer.name} of scope '{s.scope}' is allocated outside "
                             "any kernel; shared and local buffers belong inside a blockIdx/threadIdx loop")
        elif S.is_no_op(s):
            pass
        elif not allow_host_loops and isinstance(s, S.For) and s.kind is S.ForKind.SERIAL and _launches(s):
            # A serial loop around kernels: a te.scan's time steps, one launch each.
            raise BuildError(f"{func.name}: the serial loop {s.loop_var.name} runs GPU kernels once per iteration "
                             "(a te.scan's time loop); such host loops run under 'cuda -emulate' only, for now. "
                             f"The loop:\n{_excerpt(s)}")
        elif _packed_call(s) is not None:
            raise BuildError(f"{func.name}: the code calls the host function '{_packed_call(s)}' (call_packed: "
                             "a Python function, such as the numpy one behind topi's sort, argsort, topk or "
                             "unique), which runs on the CPU only: build this stage for 'llvm'. The statement:\n"
                             f"{_excerpt(s)}")
        else:
            # As TVM (VerifyMemory), refuse host code touching memory; code without loops is most
            # likely a 0-d stage, which has no axis of its own to bind.
            hint = "" if _has_loop(s) else (
                " A stage without axes (a 0-d output) gets one from fuse(): bind "
                "s[T].fuse() to blockIdx.x, as TVM's schedules do.")
            raise BuildError(f"{func.name}: stage code outside any blockIdx/threadIdx loop: did you forget to "
                             f"bind?{hint} The statement:\n{_excerpt(s)}")

    walk(func.body)
    return HostPlan(func, tuple(kernels), tuple(buffers))


def _packed_call(s: S.Stmt) -> str | None:
    """The name of a host function ``s`` calls through call_packed, if it calls one."""
    names: list[str] = []

    def fn(n: Any) -> None:
        if isinstance(n, E.Call) and n.name == "tvm_call_packed" and n.args and isinstance(n.args[0], E.StringImm):
            names.append(n.args[0].value)
    post_order_visit(s, fn)
    return names[0] if names else None


def _has_loop(s: S.Stmt) -> bool:
    found = False

    def fn(n: Any) -> None:
        nonlocal found
        found = found or isinstance(n, S.For)
    post_order_visit(s, fn)
    return found


def _check_host_expr(e: E.PrimExpr, scalars: list[E.Var], what: str) -> None:
    unknown = [v for v in free_vars(e) if v not in scalars]
    if unknown:
        raise BuildError(f"{what} is '{e}', which depends on {', '.join(sorted(v.name for v in unknown))}: "
                         "the host can only evaluate expressions of the function's scalar parameters")


def atomic_add_target(e: E.Call, where: str) -> E.Load:
    """The element ``tir.atomic_add`` call ``e`` adds to: its address must be
    ``address_of(buf[i])`` of a scalar element of the call's own type, one of
    ATOMIC_ADD_DTYPES, and the value of that type too (BuildError naming ``where`` otherwise)."""
    if len(e.args) != 2:
        raise BuildError(f"{where}: atomic_add takes (address, value), got {len(e.args)} argument(s)")
    address, value = e.args
    target = address.args[0] if isinstance(address, E.Call) and address.name == ADDRESS_OF \
        and len(address.args) == 1 else None
    if not isinstance(target, E.Load) or target.dtype.lanes != 1 or target.predicate is not None:
        raise BuildError(f"{where}: atomic_add needs the address of one buffer element, "
                         f"tir.call_intrin('handle', 'tir.address_of', buf[i]); got '{address}'")
    dt = str(e.dtype)
    if dt not in ATOMIC_ADD_DTYPES:
        raise BuildError(f"{where}: atomic_add of {dt}: CUDA's atomicAdd is available for "
                         f"{', '.join(ATOMIC_ADD_DTYPES)}")
    if target.dtype != e.dtype or value.dtype != e.dtype:
        raise BuildError(f"{where}: atomic_add of {dt} adds a {value.dtype} value to a {target.dtype} element; "
                         "the call, the element and the value must have one type (cast the value)")
    return target


class _KernelScan(Visitor):
    """Everything split_kernels needs from one kernel: thread loops, buffers, bound variables."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.extents: dict[str, list[E.PrimExpr]] = {}
        self.bound: set[E.Var] = set()
        self.used: dict[E.Var, None] = {}
        self.buffers: dict[E.Var, None] = {}
        self.written: set[E.Var] = set()
        self.shared_bytes = 0
        self.lets: dict[E.Var, E.PrimExpr] = {}
        self.bindings: dict[E.Var, int] = {}  # how often each variable is bound (any way)
        self.accesses: list[tuple[E.Var, DType, E.PrimExpr, E.PrimExpr | None]] = []
        # Thread-dependent control flow around each barrier: every thread must reach a barrier.
        self.thread_vars: set[E.Var] = set()
        self._context: list[tuple[str, Any, Any]] = []  # ("thread", tag, extent) or ("cond", what, expr)
        # (what, context) of every barrier and warp shuffle: all threads must reach both.
        self.barriers: list[tuple[str, list[tuple[str, Any, Any]]]] = []
        # The same for warp-wide operations, which whole warps may skip together.
        self.warp_ops: list[tuple[str, list[tuple[str, Any, Any]]]] = []
        self.thread_loops: list[tuple[E.Var, str, E.PrimExpr]] = []
        self.checked: set[str] = set()  # the buffers whose accesses -bounds-check wraps

    def _thread_dependent(self, *exprs: E.PrimExpr | None) -> bool:
        return any(e is not None and free_vars(e) & self.thread_vars for e in exprs)

    @contextlib.contextmanager
    def _within(self, entry: tuple[str, Any, Any] | None) -> Iterator[None]:
        if entry is not None:
            self._context.append(entry)
        try:
            yield
        finally:
            if entry is not None:
                self._context.pop()

    def _bind(self, v: E.Var) -> None:
        self.bound.add(v)
        self.bindings[v] = self.bindings.get(v, 0) + 1

    def known_lets(self) -> dict[E.Var, E.PrimExpr]:
        """LetStmt values of variables bound exactly once: facts about them hold everywhere."""
        return {v: e for v, e in self.lets.items() if self.bindings[v] == 1}

    def visit_For(self, s: S.For) -> None:
        self._bind(s.loop_var)
        if s.kind is not S.ForKind.THREAD_BINDING:
            entry = None
            if self._thread_dependent(s.min, s.extent):
                self.thread_vars.add(s.loop_var)
                entry = ("cond", f"the bounds of loop {s.loop_var.name}", s.min + s.extent)
            with self._within(entry):
                self.generic_visit(s)
            return
        tag = s.thread_tag
        if tag not in BLOCK_TAGS + THREAD_TAGS:
            raise BuildError(f"kernel {self.name}: loop {s.loop_var.name} is bound to '{tag}'; "
                             f"the CUDA backend knows {', '.join(BLOCK_TAGS + THREAD_TAGS)}")
        # Nested loops may bind the same tag (a shared-memory fetch attached inside the compute's
        # thread loops): each is the same hardware index.
        self.extents.setdefault(tag, []).append(s.extent)
        entry = None
        if tag in THREAD_TAGS:
            self.thread_vars.add(s.loop_var)
            self.thread_loops.append((s.loop_var, tag, s.min))
            entry = ("thread", tag, s.extent)
        with self._within(entry):
            self.generic_visit(s)

    def visit_IfThenElse(self, s: S.IfThenElse) -> None:
        self.visit(s.condition)
        entry = ("cond", "the condition", s.condition) if self._thread_dependent(s.condition) else None
        with self._within(entry):
            self.visit(s.then_case)
            if s.else_case is not None:
                self.visit(s.else_case)

    def visit_Evaluate(self, s: S.Evaluate) -> None:
        if isinstance(s.value, E.Call) and s.value.name == BARRIER:
            self.barriers.append((f"a barrier ({BARRIER})", list(self._context)))
        self.generic_visit(s)

    def visit_Call(self, e: E.Call) -> None:
        if e.name == CHECK:
            self.checked.add(e.args[2].value)
        if e.name in SHUFFLES:
            # Every lane of the mask must execute a __shfl_*_sync; a guard that leaves some out hangs.
            self.barriers.append(("a warp shuffle (of a cross-thread reduction)", list(self._context)))
        if e.name == ATOMIC_ADD:
            # The element it adds to is written (not a const parameter, copied back to the host).
            self.written.add(atomic_add_target(e, f"kernel {self.name}").buffer)
        if e.name in WMMA_CALLS:  # warp-wide: every lane of the warp must take part
            self.warp_ops.append((f"a tensor-core operation ({e.name})", list(self._context)))
        if e.name == ACCESS_PTR and e.args and isinstance(e.args[0], E.Var):
            self.buffers[e.args[0]] = None  # a pointer into it; a write mask (access_ptr("w")) writes it
            if access_mask(e) & 2:
                self.written.add(e.args[0])
        self.generic_visit(e)

    def visit_LetStmt(self, s: S.LetStmt) -> None:
        self.lets[s.var] = s.value
        self._bind(s.var)
        if self._thread_dependent(s.value):
            self.thread_vars.add(s.var)
        self.generic_visit(s)

    def visit_Let(self, e: E.Let) -> None:
        self._bind(e.var)
        self.generic_visit(e)

    def visit_Allocate(self, s: S.Allocate) -> None:
        name = s.buffer.name
        if s.scope not in ("shared", "local", *WMMA_SCOPES):
            raise BuildError(f"kernel {self.name}: buffer {name} has scope '{s.scope}' inside a kernel; "
                             "only 'shared', 'local' and tensor-core fragment (wmma.*) buffers can be allocated "
                             "there (global ones at the top)")
        if not isinstance(s.extent, E.IntImm):
            raise BuildError(f"kernel {self.name}: {s.scope} buffer {name} has the non-constant size '{s.extent}'")
        if s.scope == "shared":
            # Each array is declared __align__(16); count the padding too.
            self.shared_bytes += -(-s.extent.value * s.dtype.bytes // 16) * 16
        self._bind(s.buffer)
        self.generic_visit(s)

    def visit_Load(self, e: E.Load) -> None:
        self.buffers[e.buffer] = None
        self.accesses.append((e.buffer, e.dtype, unwrap_checked(e.index)[0], e.predicate))
        self.generic_visit(e)

    def visit_Store(self, s: S.Store) -> None:
        self.buffers[s.buffer] = None
        self.written.add(s.buffer)
        self.accesses.append((s.buffer, s.value.dtype, unwrap_checked(s.index)[0], s.predicate))
        self.generic_visit(s)

    def visit_Var(self, v: E.Var) -> None:
        self.used[v] = None


def _launch_extent(exts: list[E.PrimExpr]) -> E.PrimExpr:
    """The largest of the extents bound to one tag (constant when all are)."""
    unique: list[E.PrimExpr] = []
    for e in exts:
        if not any(structural_equal(e, u) for u in unique):
            unique.append(e)
    consts = [e.value for e in unique if isinstance(e, E.IntImm)]
    rest = [e for e in unique if not isinstance(e, E.IntImm)]
    out: E.PrimExpr | None = E.IntImm(unique[0].dtype, max(consts)) if consts else None
    for e in rest:
        out = e if out is None else E.max_(out, e)
    assert out is not None
    return out


def _check_warp_ops(scan: _KernelScan, launch: dict[str, E.PrimExpr], ranges: dict[E.Var, Interval],
                    name: str) -> None:
    """Every lane of a warp reaches each warp-wide operation: a guard or condition may depend on
    threadIdx.y/z only (whole warps then skip it together, when blockDim.x is whole warps)."""
    x = launch["threadIdx.x"]
    whole_warps = isinstance(x, E.IntImm) and x.value % WARP_SIZE == 0
    row_vars = {v for v, tag, _ in scan.thread_loops if tag != "threadIdx.x"}
    for op, context in scan.warp_ops:
        for kind, what, expr in context:
            if kind == "thread":
                if _same(expr, launch[what]) or (whole_warps and what != "threadIdx.x"):
                    continue
                what, expr = f"the guard {what} <", expr
            elif kind != "cond" or (expr.dtype.is_bool and can_prove(expr, ranges)) or \
                    (whole_warps and free_vars(expr) & scan.thread_vars <= row_vars):
                continue
            raise BuildError(f"kernel {name}: {op} sits under {what} '{expr}', which splits a warp (it depends "
                             "on threadIdx.x, or blockDim.x is not whole warps of 32): every lane of a warp must "
                             "take part in it")


def _make_kernel(func: PrimFunc, root: S.For, name: str, buffer_dtypes: dict[E.Var, DType],
                 scalars: list[E.Var]) -> Kernel:
    scan = _KernelScan(name)
    scan.visit(root)
    grid: list[E.PrimExpr] = []
    for tag in BLOCK_TAGS:
        exts = scan.extents.get(tag)
        ext = _launch_extent(exts) if exts else E.IntImm("int32", 1)
        _check_host_expr(ext, scalars, f"kernel {name}: the extent bound to {tag}")
        grid.append(ext)
    block = [_launch_extent(scan.extents[t]) if t in scan.extents else E.IntImm("int32", 1) for t in THREAD_TAGS]
    launch = dict(zip(THREAD_TAGS, block))
    # Thread indices range over their launch dimension: conditions true for all of them are uniform.
    ranges = {v: Interval.from_range(lo, launch[tag]) for v, tag, lo in scan.thread_loops
              if isinstance(launch[tag], E.IntImm) and scan.bindings.get(v) == 1}
    for sync, context in scan.barriers:
        for kind, what, expr in context:
            if kind == "thread" and not _same(expr, launch[what]):
                what, expr = f"the guard {what} <", expr
            elif kind != "cond" or (expr.dtype.is_bool and can_prove(expr, ranges)):
                continue
            raise BuildError(f"kernel {name}: {sync} sits under {what} '{expr}', which depends "
                             "on the thread index; every thread of a block must reach the same barriers "
                             "and shuffles (a GPU would hang or compute garbage)")
    _check_warp_ops(scan, launch, ranges, name)

    for v in scan.buffers:
        if v not in scan.bound and v not in buffer_dtypes:
            raise BuildError(f"kernel {name}: buffer {v.name} is neither a parameter of {func.name} nor "
                             "allocated (a global Allocate around the kernel, or shared/local inside it)")
    unbound = [v for v in scan.used if v not in scan.bound and v not in scalars and v not in buffer_dtypes]
    if unbound:
        raise BuildError(f"kernel {name}: variable {unbound[0].name} is used but never bound (not a scalar "
                         f"parameter of {func.name}, a loop variable, a let or an allocation)")
    used_buffers = [v for v in buffer_dtypes if v in scan.buffers]  # function buffers first, then device ones
    params = [KernelParam(v, buffer_dtypes[v], True, v in scan.written) for v in used_buffers]
    params += [KernelParam(v, v.dtype, False) for v in scalars if v in scan.used]

    lets = scan.known_lets()
    align: dict[E.Var, int] = {}
    for buf, dtype, index, pred in scan.accesses:
        if buf in buffer_dtypes:
            chunk = vector_chunk(dtype, index, pred, buffer_dtypes[buf], lets)
            if chunk:
                align[buf] = max(align.get(buf, 0), chunk * dtype.element_of().bytes)
    return Kernel(name, root, tuple(params), (grid[0], grid[1], grid[2]), (block[0], block[1], block[2]),
                  scan.shared_bytes, tuple(align.items()), frozenset(scan.checked))


# --- vector accesses ------------------------------------------------------------------------

def _divisible(e: E.PrimExpr, k: int, lets: dict[E.Var, E.PrimExpr], depth: int = 0) -> bool:
    """Whether ``e`` is a multiple of ``k`` by construction (a deliberately simple test)."""
    if depth > 32:
        return False
    if isinstance(e, E.IntImm):
        return e.value % k == 0
    if isinstance(e, E.Var):
        value = lets.get(e)
        return value is not None and _divisible(value, k, lets, depth + 1)
    if isinstance(e, (E.Add, E.Sub, E.Min, E.Max)):
        return _divisible(e.a, k, lets, depth + 1) and _divisible(e.b, k, lets, depth + 1)
    if isinstance(e, E.Mul):
        return _divisible(e.a, k, lets, depth + 1) or _divisible(e.b, k, lets, depth + 1)
    if isinstance(e, E.Cast) and e.dtype.is_int and e.value.dtype.is_int:
        return _divisible(e.value, k, lets, depth + 1)
    if isinstance(e, (E.FloorMod, E.Mod)) and isinstance(e.b, E.IntImm) and e.b.value % k == 0:
        return _divisible(e.a, k, lets, depth + 1)  # a - q*b: both multiples of k
    return False


def _vector_candidate(dtype: DType, index: E.PrimExpr, buffer_dtype: DType) -> int:
    """Lanes per vector access (4 or 2) a contiguous access of 32/64-bit ``dtype`` would use
    if aligned and unmasked, else 0 (never a vector: 8/16-bit, bool, strided, one lane)."""
    lanes = dtype.lanes
    elem = dtype.element_of()
    if lanes < 2 or elem != buffer_dtype:
        return 0
    if not (isinstance(index, E.Ramp) and isinstance(index.stride, E.IntImm) and index.stride.value == 1):
        return 0
    if elem.bits == 32 and not elem.is_bool:
        chunk = 4 if lanes % 4 == 0 else 2 if lanes % 2 == 0 else 0
    elif elem.bits == 64:
        chunk = 2 if lanes % 2 == 0 else 0
    else:
        return 0
    return chunk if chunk and (str(elem), chunk) in _VECTOR_TYPES else 0


def vector_chunk(dtype: DType, index: E.PrimExpr, predicate: E.PrimExpr | None, buffer_dtype: DType,
                 lets: dict[E.Var, E.PrimExpr]) -> int:
    """Lanes per aligned vector access (4 or 2) for a load/store of ``dtype`` at ``index``, or 0
    when it must be done lane by lane: it is masked, not contiguous, of 8/16-bit or bool
    elements, or its base index is not provably a multiple of the vector width."""
    chunk = _vector_candidate(dtype, index, buffer_dtype)
    if chunk and (predicate is None or uniform(predicate)) and _divisible(index.base, chunk, lets):  # type: ignore[attr-defined]
        return chunk
    return 0


def uniform(predicate: E.PrimExpr) -> bool:
    """Whether a vector access's mask is the same for every lane (a broadcast condition, such as
    a padding guard that does not depend on the vectorized axis): the access is then one
    vector access under one scalar ``if``."""
    if isinstance(predicate, E.Broadcast):
        return True
    if isinstance(predicate, (E.And, E.Or)):
        return uniform(predicate.a) and uniform(predicate.b)
    if isinstance(predicate, E.Not):
        return uniform(predicate.a)
    return False


def vector_fallback(dtype: DType, index: E.PrimExpr, predicate: E.PrimExpr | None, buffer_dtype: DType,
                    lets: dict[E.Var, E.PrimExpr]) -> str | None:
    """Why a contiguous 32/64-bit vector access goes lane by lane although its width allows a
    vector (masked, or alignment not provable); None when it is a vector or could never be."""
    chunk = _vector_candidate(dtype, index, buffer_dtype)
    if not chunk:
        return None
    if predicate is not None and not uniform(predicate):
        return (f"its lanes are masked one by one by the guard '{predicate}' (a split that does not divide its "
                "extent, or a condition on the vectorized axis)")
    base = index.base  # type: ignore[attr-defined]
    if not _divisible(base, chunk, lets):
        nbytes = chunk * dtype.element_of().bytes
        return (f"its first index '{base}' is not provably a multiple of {chunk} elements ({nbytes}-byte "
                "alignment); make the extents and offsets of the vectorized axis multiples of it")
    return None


# --- C spelling of types and constants -------------------------------------------------------

def c_type(dt: DType, memory: bool = False) -> str:
    """The C type of one element of ``dt``; bool is ``unsigned char`` in memory."""
    if dt.is_handle:
        raise BuildError("a handle has no CUDA C value type")
    elem = dt.element_of()
    if memory and elem.is_bool:
        return "unsigned char"
    return _C_TYPES[str(elem)]


def float_literal(value: float, dt: DType) -> str:
    """An exact C spelling of ``value`` rounded to ``dt`` (float16 through an exact float)."""
    bits = dt.bits
    if bits == 16:
        h = np.float16(value)
        if not np.isfinite(h):
            return f"tl_bits_half({int(h.view(np.uint16)):#06x})"
        return f"tl_f2h({float_literal(float(h), _FLOAT32)})"
    if bits == 32:
        f = np.float32(value)
        if not np.isfinite(f):
            return f"__int_as_float((int){struct.unpack('<I', struct.pack('<f', f))[0]:#010x}u)"
        text = str(f)
        if "e" not in text and "." not in text:
            text += ".0"
        text += "f"
    else:
        if not math.isfinite(value):
            return f"__longlong_as_double((long long){struct.unpack('<Q', struct.pack('<d', value))[0]:#018x}ull)"
        text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


def int_literal(value: int, dt: DType) -> str:
    """A C constant of exactly the C type of ``dt``."""
    name = str(dt.element_of())
    if name == "bool":
        return "true" if value else "false"
    if name == "int32":
        return "(-2147483647 - 1)" if value == -2**31 else (f"({value})" if value < 0 else str(value))
    if name == "int64":
        return "(-9223372036854775807LL - 1LL)" if value == -2**63 else (
            f"({value}LL)" if value < 0 else f"{value}LL")
    if name == "uint32":
        return f"{value}u"
    if name == "uint64":
        return f"{value}ull"
    return f"(({_C_TYPES[name]}){value})" if value >= 0 else f"(({_C_TYPES[name]})({value}))"


def _zero(dt: DType) -> str:
    elem = dt.element_of()
    return float_literal(0.0, elem) if elem.is_float else int_literal(0, elem)


# --- the preamble -----------------------------------------------------------------------------

_HALF_PREAMBLE = r"""// float16: cuda_fp16.h when the compiler finds it, else a two-byte stand-in. Either way half
// values are converted with PTX cvt instructions and computed in float32.
#if __has_include(<cuda_fp16.h>)
#include <cuda_fp16.h>
__device__ __forceinline__ unsigned short tl_half_bits(half h) { return __half_as_ushort(h); }
__device__ __forceinline__ half tl_bits_half(unsigned short x) { return __ushort_as_half(x); }
#else
struct __align__(2) half { unsigned short bits; };
__device__ __forceinline__ unsigned short tl_half_bits(half h) { return h.bits; }
__device__ __forceinline__ half tl_bits_half(unsigned short x) { half h; h.bits = x; return h; }
#endif
__device__ __forceinline__ float tl_h2f(half h) {
  float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(tl_half_bits(h))); return f;
}
__device__ __forceinline__ half tl_f2h(float f) {
  unsigned short x; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(x) : "f"(f)); return tl_bits_half(x);
}
__device__ __forceinline__ half tl_d2h(double d) {
  unsigned short x; asm("cvt.rn.f16.f64 %0, %1;" : "=h"(x) : "d"(d)); return tl_bits_half(x);
}
// The next half after x towards y, on the bits (nextafterf steps by a float32 ulp, which
// rounds back to x).
__device__ __forceinline__ half tl_nextafter_h(half x, half y) {
  float fx = tl_h2f(x), fy = tl_h2f(y);
  if (fx != fx || fy != fy) return tl_f2h(fx + fy);
  if (fx == fy) return x;  // numpy's half nextafter: x (C's float/double ones return y)
  if (fx == 0.0f) return tl_bits_half((unsigned short)((tl_half_bits(y) & 0x8000u) | 1u));
  unsigned short b = tl_half_bits(x);
  return tl_bits_half((unsigned short)(((fy > fx) != (fx < 0.0f)) ? b + 1 : b - 1));
}"""

_HELPERS = {
    "bitcast": r"""// reinterpret (numpy's view): the bits of one type read as another of the same size.
template <typename T, typename F> __device__ __forceinline__ T tl_bitcast(F f) {
  static_assert(sizeof(T) == sizeof(F), "reinterpret needs types of one size");
  union { F f; T t; } u;
  u.f = f;
  return u.t;
}""",
    "floordiv": r"""// tensorlang.te.numeric (numpy's semantics): integer quotients floor (truncate for
// truncdiv), a zero divisor gives 0 and INT_MIN / -1 wraps, so no division traps.
template <typename T> __device__ __forceinline__ bool tl_minus_one(T b) { return (T)-1 < (T)0 && b == (T)-1; }
template <typename T> __device__ __forceinline__ T tl_truncdiv(T a, T b) {
  if (b == 0) return 0;
  if (tl_minus_one(b)) return (T)(0ull - (unsigned long long)a);
  return a / b;
}
template <typename T> __device__ __forceinline__ T tl_truncmod(T a, T b) {
  return (b == 0 || tl_minus_one(b)) ? (T)0 : (T)(a % b);
}
template <typename T> __device__ __forceinline__ T tl_floordiv(T a, T b) {
  if (b == 0) return 0;
  if (tl_minus_one(b)) return (T)(0ull - (unsigned long long)a);
  T q = a / b, r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}
template <typename T> __device__ __forceinline__ T tl_floormod(T a, T b) {
  if (b == 0 || tl_minus_one(b)) return 0;
  T r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
// numpy's float floor_divide and remainder, from fmod: 1.0 // 0.1 == 9.
template <typename T> __device__ __forceinline__ T tl_float_floordiv(T a, T b) {
  T mod = fmod(a, b);
  if (b == T(0)) return a / b;
  T div = (a - mod) / b;
  if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
  if (div == T(0)) return copysign(T(0), a / b);
  T fl = floor(div);
  return div - fl > T(0.5) ? fl + T(1) : fl;
}
template <typename T> __device__ __forceinline__ T tl_float_floormod(T a, T b) {
  T mod = fmod(a, b);
  if (b == T(0)) return mod;
  if (mod == T(0)) return copysign(T(0), b);
  return (b < T(0)) != (mod < T(0)) ? mod + b : mod;
}
__device__ __forceinline__ float tl_floordiv(float a, float b) { return tl_float_floordiv(a, b); }
__device__ __forceinline__ double tl_floordiv(double a, double b) { return tl_float_floordiv(a, b); }
__device__ __forceinline__ float tl_floormod(float a, float b) { return tl_float_floormod(a, b); }
__device__ __forceinline__ double tl_floormod(double a, double b) { return tl_float_floormod(a, b); }""",
    "f2i": r"""// numpy's float -> int conversions on x86 (C casts: cvttss2si/cvttsd2si), as tensorlang's LLVM
// backend emits them, not CUDA's saturating ones: truncation toward zero in range; NaN and
// out-of-range values give INT_MIN of the conversion's width. Narrower ints, and uint32,
// wrap the int32 (int64) result; uint64 converts values from 2**63 up with an offset.
template <typename T> __device__ __forceinline__ int tl_f2i32(T x) {
  return (x >= T(-2147483648.0) && x < T(2147483648.0)) ? (int)x : (-2147483647 - 1);
}
template <typename T> __device__ __forceinline__ long long tl_f2i64(T x) {
  return (x >= T(-9223372036854775808.0) && x < T(9223372036854775808.0)) ? (long long)x
                                                                        : (-9223372036854775807LL - 1LL);
}
template <typename T> __device__ __forceinline__ unsigned long long tl_f2u64(T x) {
  if (x >= T(9223372036854775808.0))
    return (unsigned long long)tl_f2i64(x - T(9223372036854775808.0)) ^ 0x8000000000000000ull;
  return (unsigned long long)tl_f2i64(x);
}""",
    "bounds": r"""// Bounds checks (every access with -bounds-check; else the reads lowering could not prove inside
// their tensor): an access to elements [i, i + count) outside [0, n) records (1, the first
// index outside, n, buffer number * 2 + 1 for a write) in the status buffer, which the runtime
// reads after the call and turns into a BoundsError (the first failing access wins), and goes
// to element 0 instead, which every buffer has.
__device__ __forceinline__ long long tl_checked(long long i, long long count, long long n, long long what,
                                                unsigned long long* status) {
  if (i >= 0 && i <= n - count) return i;
  if (atomicCAS(status, 0ull, 1ull) == 0ull) {
    status[1] = (unsigned long long)(i < 0 ? i : (i > n ? i : n));
    status[2] = (unsigned long long)n;
    status[3] = (unsigned long long)what;
  }
  return 0;
}""",
    "minmax": r"""// numpy.minimum/maximum: NaN on either side propagates (a != a only for NaN); a tie gives b
// (maximum(-0.0, 0.0) is 0.0), except in numpy's float16 loops (tl_min16/tl_max16), which give a.
template <typename T> __device__ __forceinline__ T tl_min(T a, T b) { return (a < b || a != a) ? a : b; }
template <typename T> __device__ __forceinline__ T tl_max(T a, T b) { return (a > b || a != a) ? a : b; }
template <typename T> __device__ __forceinline__ T tl_min16(T a, T b) { return (a <= b || a != a) ? a : b; }
template <typename T> __device__ __forceinline__ T tl_max16(T a, T b) { return (a >= b || a != a) ? a : b; }""",
    "shift": r"""// numpy's left_shift/right_shift: a count outside [0, bits) (negative ones included) shifts
// everything out instead of being undefined; the left shift wraps, in unsigned arithmetic.
template <typename T> __device__ __forceinline__ T tl_shl(T a, T b) {
  return (unsigned long long)b < sizeof(T) * 8 ? (T)((unsigned long long)a << b) : (T)0;
}
template <typename T> __device__ __forceinline__ T tl_shr(T a, T b) {
  return (unsigned long long)b < sizeof(T) * 8 ? (T)(a >> b) : (T)(a < (T)0 ? -1 : 0);
}""",
}


def _safe_divisor(e: E.PrimExpr) -> bool:
    """A constant divisor that can neither be 0 nor -1 (the cases te.numeric defines apart)."""
    if isinstance(e, E.Broadcast):
        e = e.value
    return isinstance(e, E.IntImm) and e.value not in (0, -1)


_HALF_USE = re.compile(r"\b(half|tl_h2f|tl_f2h|tl_d2h|tl_bits_half|tl_half_bits|tl_nextafter_h)\b")


def render_cuda(plan: HostPlan, arch: str = "sm_90") -> str:
    """The CUDA C translation unit holding every kernel of ``plan`` for ``arch`` (asynchronous
    copies are cp.async from sm_80 on, plain copies before)."""
    used: set[str] = set()
    major = int(arch[3:].rstrip("af")[:-1]) if arch.startswith("sm_") else 9
    warned: set[str] = set()
    checked = {name: k for k, name in enumerate(plan.checked_names)}
    bodies = [_KernelRenderer(k, used, async_copies=major >= 8, warned=warned, checked=checked, major=major).render()
              for k in plan.kernels]
    head = [f"// Generated by tensorlang from '{plan.func.name}': {len(plan.kernels)} kernel(s), "
            "launched in this order.", ""]
    if "wmma" in used:
        head += [cuda_wmma.PREAMBLE, ""]
    # Any float16 in the code (a helper call or the type; a float16 constant folded into float
    # math names only the helpers) needs the preamble that defines them.
    if "half" in used or any(_HALF_USE.search(b) for b in bodies):
        head += [_HALF_PREAMBLE, ""]
    for key in ("bitcast", "floordiv", "minmax", "shift", "f2i", "bounds"):
        if key in used:
            head += [_HELPERS[key], ""]
    return "\n".join(head + ["\n\n".join(bodies), ""])


# --- one kernel ----------------------------------------------------------------------------------

# The status buffer parameter of bounds-checked kernels, and what a check needs: the buffer's
# element count, its name and whether the access writes.
_STATUS = "tl_oob_status"
_Check = tuple[E.PrimExpr, str, bool]


@dataclass
class _BufferRef:
    cname: str
    dtype: DType  # element type as declared
    space: str    # "global", "shared" or "local"


class _KernelRenderer(Visitor):
    """Renders one kernel. Statement methods ``visit_<Class>(s)`` emit C lines; expression
    methods ``visit_<Class>(e, lane)`` return a C expression of exactly the C type of the (lane
    of the) expression's dtype; they may first emit statements (lets, selects that must
    branch, vector loads) into the current block."""

    REJECTED = NOT_EXECUTABLE  # generic_visit refuses these (and any other node class it lacks)

    def __init__(self, kernel: Kernel, used: set[str], async_copies: bool = True,
                 warned: set[str] | None = None, checked: dict[str, int] | None = None, major: int = 9):
        super().__init__()
        self.k = kernel
        self.major = major  # of the architecture: what atomicAdd supports
        self.checked = checked or {}  # bounds-checked buffer name -> its number in the status
        self.warned = warned if warned is not None else set()  # stages already warned about
        self.used = used
        self.async_copies = async_copies
        self.lines: list[str] = []
        self.depth = 1
        self.taken: set[str] = set(_RESERVED)
        self.bound: dict[tuple[E.Var, int | None], str] = {}
        self.buffers: dict[E.Var, _BufferRef] = {}
        self.nonneg: dict[E.Var, int] = {}
        # Constant bounds of loop, thread and let variables, innermost binding last.
        self.var_bounds: dict[E.Var, list[tuple[int, int]]] = {}
        # > 0 while rendering a memory index or loop bound: signed arithmetic stays plain C there
        # (lowering picks index dtypes wide enough for every buffer); value arithmetic wraps.
        self.in_index = 0
        self.launch = dict(zip(BLOCK_TAGS + THREAD_TAGS, kernel.grid + kernel.block))
        scan = _KernelScan(kernel.name)
        scan.visit(kernel.body)
        self.lets = scan.known_lets()
        # Tensor-core fragment buffers, with the shapes their calls give them.
        self.frags = fragments(kernel.body) if uses_wmma(kernel.body) else {}
        if self.frags:
            self.used.add("wmma")
        self.loaded_in: dict[int, set[E.Var]] = {}
        # Vector loads hoisted in the statement being rendered, innermost C block last.
        self.hoisted: list[dict[tuple[int, int], str]] = [{}]
        self._fault_cache: dict[int, bool] = {}
        # (id(predicate), lane) known to hold here: a masked store's own mask, for its loads.
        self.known_true: set[tuple[int, int | None]] = set()

    # -- output --

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    @contextlib.contextmanager
    def block(self, head: str) -> Iterator[None]:
        """``head {`` ... ``}``: a C block with its own scope of hoisted loads."""
        self.line(head + " {")
        self.depth += 1
        saved = self.hoisted
        self.hoisted = [*saved, {}]
        try:
            yield
        finally:
            self.hoisted = saved  # statements inside reset the stack; restore the outer one
            self.depth -= 1
            self.line("}")

    def fresh(self, hint: str) -> str:
        base = c_identifier(hint)
        if base.startswith(("tl_", "__")):
            base = "v" + base
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    @contextlib.contextmanager
    def bind(self, var: E.Var, cname: str, lane: int | None = None, nonneg: bool = False,
             bounds: tuple[int, int] | None = None) -> Iterator[None]:
        key = (var, lane)
        old = self.bound.get(key)
        self.bound[key] = cname
        if nonneg:
            self.nonneg[var] = self.nonneg.get(var, 0) + 1
        if bounds is not None:
            self.var_bounds.setdefault(var, []).append(bounds)
        try:
            yield
        finally:
            if bounds is not None:
                self.var_bounds[var].pop()
            if old is None:
                del self.bound[key]
            else:
                self.bound[key] = old
            if nonneg:
                self.nonneg[var] -= 1

    def ctype(self, dt: DType, memory: bool = False) -> str:
        out = c_type(dt, memory)
        if out == "half":
            self.used.add("half")
        return out

    # -- the kernel --

    def render(self) -> str:
        k = self.k
        threads = k.threads_per_block
        params = []
        for p in k.params:
            cname = self.fresh(p.name)
            if p.is_buffer:
                const = "" if p.written else "const "
                params.append(f"{const}{self.ctype(p.dtype, memory=True)}* __restrict__ {cname}")
                self.buffers[p.var] = _BufferRef(cname, p.dtype, "global")
            else:
                params.append(f"{self.ctype(p.dtype)} {cname}")
                self.bound[(p.var, None)] = cname
        if k.checked:
            self.used.add("bounds")
            params.append(f"unsigned long long* __restrict__ {_STATUS}")
        bounds = f"{threads}"
        budget = _max_registers(k.body)
        if budget:
            # Registers per thread are capped by (threads, blocks per SM): ask for as many blocks
            # as fit the budget in a 64K-register SM.
            bounds += f", {max(1, 65536 // (budget * threads))}"
        head = f'extern "C" __global__ void __launch_bounds__({bounds}) {k.name}({", ".join(params)}) {{'
        self.stmt(k.body)
        return "\n".join([head, *self.lines, "}"])

    # -- statements --

    def stmt(self, s: S.Stmt) -> None:
        self.hoisted = [{}]  # a load hoisted for one statement may be stale in the next
        self.visit(s)

    def generic_visit(self, node: Any, *extra: Any) -> Any:
        what = type(node).__name__ if isinstance(node, S.Stmt) else f"{type(node).__name__} '{node}'"
        raise BuildError(f"kernel {self.k.name}: {what} cannot reach CUDA code generation; "
                         "it must be lowered away first")

    def visit_SeqStmt(self, s: S.SeqStmt) -> None:
        for x in s.seq:
            self.stmt(x)

    def visit_IfThenElse(self, s: S.IfThenElse) -> None:
        if s.condition.dtype.lanes != 1:
            raise BuildError(f"kernel {self.k.name}: if condition must be a scalar bool, got {s.condition.dtype}")
        with self.block(f"if ({_strip(self.guard_expr(s.condition))})"):
            self.stmt(s.then_case)
        if s.else_case is not None and not S.is_no_op(s.else_case):
            self.lines[-1] += " else {"
            self.depth += 1
            self.stmt(s.else_case)
            self.depth -= 1
            self.line("}")

    def visit_For(self, s: S.For) -> None:
        var = s.loop_var
        ct = self.ctype(var.dtype)
        if s.kind is S.ForKind.THREAD_BINDING:
            tag = s.thread_tag
            hw = f"(({ct}){tag})"
            value = hw if _is_zero(s.min) else f"({hw} + {self.index_expr(s.min)})"
            nonneg = self._nonneg(s.min)
            bounds = self._loop_bounds(s.min, s.extent)
            if _same(s.extent, self.launch[tag]):
                cname = self.fresh(var.name)
                self.line(f"{ct} {cname} = {_strip(value)};")
                with self.bind(var, cname, nonneg=nonneg, bounds=bounds):
                    self.stmt(s.body)
                return
            # The launch dimension is larger (another loop binds the same tag further): skip.
            with self.block(f"if ({hw} < {_strip(self.index_expr(s.extent))})"):
                cname = self.fresh(var.name)
                self.line(f"{ct} {cname} = {_strip(value)};")
                with self.bind(var, cname, nonneg=nonneg, bounds=bounds):
                    self.stmt(s.body)
            return
        lo = self.index_expr(s.min)
        ext = self.index_expr(s.extent)
        end = ext if lo in ("0", "0LL") else f"{lo} + {ext}"
        cname = self.fresh(var.name)
        annotations = dict(s.annotations)
        if s.kind is S.ForKind.UNROLLED or annotations.get("pragma_unroll"):
            self.line("#pragma unroll")
        elif annotations.get("pragma_unroll_factor"):
            self.line(f"#pragma unroll {int(annotations['pragma_unroll_factor'])}")
        with self.block(f"for ({ct} {cname} = {lo}; {cname} < {end}; ++{cname})"):
            with self.bind(var, cname, nonneg=self._nonneg(s.min), bounds=self._loop_bounds(s.min, s.extent)):
                self.stmt(s.body)

    def visit_LetStmt(self, s: S.LetStmt) -> None:
        dt = s.var.dtype
        ct = self.ctype(dt)
        cname = self.fresh(s.var.name)
        if dt.lanes == 1:
            self.line(f"const {ct} {cname} = {_strip(self.expr(s.value))};")
            with self.bind(s.var, cname, nonneg=self._nonneg(s.value), bounds=self._int_bounds(s.value)):
                self.stmt(s.body)
            return
        values = [_strip(self.expr(s.value, k)) for k in range(dt.lanes)]
        self.line(f"const {ct} {cname}[{dt.lanes}] = {{{', '.join(values)}}};")
        with contextlib.ExitStack() as stack:
            for k in range(dt.lanes):
                stack.enter_context(self.bind(s.var, f"{cname}[{k}]", k))
            self.stmt(s.body)

    def visit_Allocate(self, s: S.Allocate) -> None:
        if s.scope in WMMA_SCOPES and isinstance(s.extent, E.IntImm) and s.buffer in self.frags:
            cname = self.fresh(s.buffer.name)
            self.line(cuda_wmma.fragment_decl(self.frags[s.buffer], cname, s.extent.value))
            old = self.buffers.get(s.buffer)
            self.buffers[s.buffer] = _BufferRef(cname, s.dtype.element_of(), s.scope)
            self.stmt(s.body)
            if old is not None:
                self.buffers[s.buffer] = old
            return
        if s.scope not in ("shared", "local") or not isinstance(s.extent, E.IntImm):
            raise BuildError(f"kernel {self.k.name}: cannot allocate {s.buffer.name} ({s.scope}, {s.extent}) "
                             "inside a kernel")
        elem = s.dtype.element_of()
        count = max(1, s.extent.value * s.dtype.lanes)
        cname = self.fresh(s.buffer.name)
        prefix = "__shared__ " if s.scope == "shared" else ""
        # 16-byte alignment lets float4-style accesses reach these arrays too.
        self.line(f"{prefix}__align__(16) {self.ctype(elem, memory=True)} {cname}[{count}];")
        old = self.buffers.get(s.buffer)
        self.buffers[s.buffer] = _BufferRef(cname, elem, s.scope)
        self.stmt(s.body)
        if old is not None:
            self.buffers[s.buffer] = old

    def visit_Evaluate(self, s: S.Evaluate) -> None:
        v = s.value
        if isinstance(v, (E.IntImm, E.FloatImm)):
            return
        if isinstance(v, E.Call) and v.name == BARRIER:
            self.line("__syncthreads();")
            return
        if async_call(s):
            self.s_async(s)
            return
        call = wmma_call(s)
        if call is not None:
            self.line(cuda_wmma.render_call(call, self.frags, lambda b: self._buffer(b).cname,
                                            lambda e: _strip(self.expr(e)), self.k.name))
            return
        self.line(f"(void){self.expr(v)};")

    def s_async(self, s: S.Evaluate) -> None:
        """cp.async copies global -> shared (16 bytes at once where both sides are aligned
        vectors, else 4 or 8 bytes a lane), their commit and wait; plain copies before sm_80."""
        kind = async_call(s)
        if kind == CP_ASYNC_COMMIT:
            if self.async_copies:
                self.line('asm volatile("cp.async.commit_group;\\n" ::);')
            return
        if kind == CP_ASYNC_WAIT:
            if self.async_copies:
                self.line('asm volatile("cp.async.wait_group 0;\\n" ::: "memory");')
            return
        dst, src = s.value.args
        dindex, dcheck = self._unwrap(dst.index, write=True)
        sindex, scheck = self._unwrap(src.index, write=False)
        dst, src = dst.with_fields(index=dindex), src.with_fields(index=sindex)
        dref, sref = self._buffer(dst.buffer), self._buffer(src.buffer)
        elem = dst.dtype.element_of()
        size = elem.bits // 8
        lanes = dst.dtype.lanes
        plain = (not self.async_copies or dref.space != "shared" or sref.space != "global" or elem.is_bool
                 or size not in (4, 8) or elem != dref.dtype or src.dtype.element_of() != sref.dtype)
        if plain:
            self.stmt(as_plain_copy(s))  # its Load and Store keep their checks
            return
        if lanes > 1:
            self._warn_scalar_fallback(dst.buffer.name, [("async copy to", dst.buffer, dst.dtype, dst.index, None),
                                                         ("async copy from", src.buffer, src.dtype, src.index, None)])
        if lanes * size == 16 and vector_chunk(dst.dtype, dst.index, None, dref.dtype, self.lets) \
                and vector_chunk(src.dtype, src.index, None, sref.dtype, self.lets):
            pieces = [(dst.index.base, src.index.base, None, 16)]  # type: ignore[attr-defined]
        else:
            pieces = [(dst.index, src.index, k if lanes > 1 else None, size) for k in range(lanes)]
        for di, si, lane, nbytes in pieces:
            count = nbytes // size
            if count > 1:  # the whole 16-byte piece, checked at once
                d = f"{dref.cname}[{self._checked(_strip(self.index_expr(di)), count, dcheck)}]"
                g = f"{sref.cname}[{self._checked(_strip(self.index_expr(si)), count, scheck)}]"
            else:
                d = self._element(dref, elem, di, lane if di.dtype.lanes > 1 else None, dcheck)
                g = self._element(sref, elem, si, lane if si.dtype.lanes > 1 else None, scheck)
            cache = "cg" if nbytes == 16 else "ca"
            self.line(f'asm volatile("cp.async.{cache}.shared.global [%0], [%1], {nbytes};\\n" :: '
                      f'"r"((unsigned)__cvta_generic_to_shared(&{d})), "l"(&{g}));')

    def _warn_scalar_fallback(self, stage: str, accesses: list[tuple[str, E.Var, DType, E.PrimExpr,
                                                                        E.PrimExpr | None]]) -> None:
        """Warn, once per stage, when a vectorized global/shared access goes lane by lane."""
        if stage in self.warned:
            return
        for kind, buf, dtype, index, pred in accesses:
            ref = self._buffer(buf)
            if ref.space == "local":
                continue
            why = vector_fallback(dtype, index, pred, ref.dtype, self.lets)
            if why is not None:
                self.warned.add(stage)
                warnings.warn(f"stage {stage}: the {dtype.lanes}-lane vector {kind} {buf.name} falls back to "
                              f"{dtype.lanes} scalar accesses in kernel {self.k.name}: {why}", stacklevel=2)
                return

    def _vector_accesses(self, s: S.Store) -> list[tuple[str, E.Var, DType, E.PrimExpr, E.PrimExpr | None]]:
        found: list[tuple[str, E.Var, DType, E.PrimExpr, E.PrimExpr | None]] = [
            ("store to", s.buffer, s.value.dtype, s.index, s.predicate)]

        def fn(n: Any) -> None:
            if isinstance(n, E.Load) and n.dtype.lanes > 1:
                found.append(("load from", n.buffer, n.dtype, n.index, n.predicate))
        post_order_visit(s.value, fn)
        return found

    def visit_Store(self, s: S.Store) -> None:
        ref = self._buffer(s.buffer)
        index, check = self._unwrap(s.index, write=True)
        s = s.with_fields(index=index)
        lanes = s.value.dtype.lanes
        if lanes > 1:
            self._warn_scalar_fallback(s.buffer.name, self._vector_accesses(s))
        if s.index.dtype.lanes != lanes:
            raise BuildError(f"kernel {self.k.name}: store to {s.buffer.name} of a {lanes}-lane value at a "
                             f"{s.index.dtype.lanes}-lane index")
        elem = s.value.dtype.element_of()
        if elem != ref.dtype:  # as in the LLVM generator: storing another type would write foreign bits
            raise BuildError(f"kernel {self.k.name}: store to {s.buffer.name}: a {elem} value into a {ref.dtype} "
                             f"buffer ({s.value}); the IR must convert it first")
        if lanes == 1:
            if s.predicate is None:
                self.line(f"{self._element(ref, elem, s.index, None, check)} = {_strip(self.expr(s.value))};")
            else:
                with self.block(f"if ({_strip(self.guard_expr(s.predicate))})"), self.assume(s.predicate, None):
                    self.line(f"{self._element(ref, elem, s.index, None, check)} = {_strip(self.expr(s.value))};")
            return
        chunk = vector_chunk(s.value.dtype, s.index, s.predicate, ref.dtype, self.lets)
        # All lanes are read before any lane is written when the value reads this buffer (one
        # vector store of all lanes already does that).
        reads_self = s.buffer in self._loaded_buffers(s.value) and chunk != lanes
        if chunk and s.predicate is not None and not reads_self and check is None:
            # one mask for all lanes: whole vector stores under one scalar if
            with self.block(f"if ({_strip(self.guard_expr(s.predicate, 0))})"), self.assume(s.predicate, None):
                self.visit_Store(s.with_fields(predicate=None))
            return
        masks: list[str | None] = [None] * lanes
        if s.predicate is not None:
            for k in range(lanes):
                masks[k] = self._materialize("mask", self.guard_expr(s.predicate, k), "bool")
        values: list[str | None] = [None] * lanes
        if reads_self:
            ct = self.ctype(elem)
            for k in range(lanes):
                if masks[k] is None:
                    values[k] = self._materialize("lane", self.expr(s.value, k), ct)
                else:
                    def lane_value(k: int = k) -> str:
                        with self.assume(s.predicate, k):
                            return self.expr(s.value, k)
                    values[k] = self._branch_value(masks[k], elem, lane_value, lambda: _zero(elem))
        if chunk:
            assert isinstance(s.index, E.Ramp)
            vt = _VECTOR_TYPES[(str(elem), chunk)]
            base = self.index_expr(s.index.base)
            for c in range(0, lanes, chunk):
                parts = [values[k] or _strip(self.expr(s.value, k)) for k in range(c, c + chunk)]
                whole = _whole_vector(parts)
                rhs = whole if whole else f"make_{vt}({', '.join(parts)})"
                at = self._checked(_offset(base, c, s.index.base.dtype), chunk, check)
                self.line(f"*({vt}*)({_address(ref.cname, at)}) = {rhs};")
            return
        for k in range(lanes):
            def store(k: int = k) -> None:
                value = values[k] or _strip(self.expr(s.value, k))
                self.line(f"{self._element(ref, elem, s.index, k, check)} = {value};")
            if masks[k] is None:
                store()
                continue
            with self.block(f"if ({masks[k]})"), self.assume(s.predicate, k):
                store()

    # -- helpers for memory --

    @contextlib.contextmanager
    def assume(self, predicate: E.PrimExpr | None, lane: int | None) -> Iterator[None]:
        """Inside a branch taken when ``predicate`` (at ``lane``) holds: loads masked by that very
        predicate need no test of their own."""
        key = (id(predicate), lane)
        fresh = key not in self.known_true
        self.known_true.add(key)
        try:
            yield
        finally:
            if fresh:
                self.known_true.discard(key)

    def _buffer(self, var: E.Var) -> _BufferRef:
        ref = self.buffers.get(var)
        if ref is None:
            raise BuildError(f"kernel {self.k.name}: buffer {var.name} is not in scope")
        return ref

    def _element(self, ref: _BufferRef, elem: DType, index: E.PrimExpr, lane: int | None,
                 check: _Check | None = None) -> str:
        """The lvalue ``buffer[index]`` (reinterpreted when accessed as another type), through
        ``check`` when the access is bounds-checked."""
        base = ref.cname
        if elem != ref.dtype:
            base = f"(({self.ctype(elem, memory=True)}*){base})"
        return f"{base}[{self._checked(_strip(self.index_expr(index, lane)), 1, check)}]"

    def _checked(self, index: str, count: int, check: _Check | None) -> str:
        """``index`` (the first of ``count`` elements) through tl_checked when ``check`` is set."""
        if check is None:
            return index
        size, name, write = check
        what = self.checked[name] * 2 + int(write)
        return f"tl_checked({index}, {count}, {_strip(self.index_expr(size))}, {what}, {_STATUS})"

    def _unwrap(self, index: E.PrimExpr, write: bool) -> tuple[E.PrimExpr, _Check | None]:
        """An access's index without its -bounds-check wrapper, and the check to make."""
        index, size, name = unwrap_checked(index)
        return index, (None if size is None else (size, name, write))

    def _loaded_buffers(self, e: E.PrimExpr) -> set[E.Var]:
        key = id(e)
        found = self.loaded_in.get(key)
        if found is None:
            found = set()

            class _Loads(Visitor):
                def visit_Load(self, x: E.Load) -> None:
                    found.add(x.buffer)
                    self.generic_visit(x)
            _Loads().visit(e)
            self.loaded_in[key] = found
        return found

    def _materialize(self, hint: str, value: str, ct: str) -> str:
        """``value`` itself when it is a plain name or constant, else a new const variable."""
        value = _strip(value)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?|\(?-?[0-9.]+[a-zA-Z]*\)?|true|false", value):
            return value
        name = self.fresh(hint)
        self.line(f"const {ct} {name} = {value};")
        return name

    def _branch_value(self, cond: str, dt: DType, then_fn: Callable[[], str], else_fn: Callable[[], str]) -> str:
        """A variable holding ``then_fn()`` if ``cond`` else ``else_fn()``, each side evaluated only
        on its own path (and its statements emitted inside its own branch)."""
        name = self.fresh("sel")
        self.line(f"{self.ctype(dt)} {name};")
        with self.block(f"if ({_strip(cond)})"):
            self.line(f"{name} = {_strip(then_fn())};")
        self.lines[-1] += " else {"
        self.depth += 1
        saved = self.hoisted
        self.hoisted = [*saved, {}]
        self.line(f"{name} = {_strip(else_fn())};")
        self.hoisted = saved
        self.depth -= 1
        self.line("}")
        return name

    def _uniform_select(self, e: E.Select) -> list[str]:
        """Every lane of a vector select whose condition is the same for all lanes, under one
        ``if``: its sides' vector loads are then read once each, not once per lane."""
        key = (id(e), "lanes")
        names = next((scope[key] for scope in reversed(self.hoisted) if key in scope), None)
        if names is not None:
            return names
        elem = e.dtype.element_of()
        names = [self.fresh("sel") for _ in range(e.dtype.lanes)]
        self.line(f"{self.ctype(elem)} {', '.join(names)};")
        with self.block(f"if ({_strip(self.expr(e.condition, 0))})"):
            for k, name in enumerate(names):
                self.line(f"{name} = {_strip(self.expr(e.true_value, k))};")
        self.lines[-1] += " else {"
        self.depth += 1
        saved = self.hoisted
        self.hoisted = [*saved, {}]
        for k, name in enumerate(names):
            self.line(f"{name} = {_strip(self.expr(e.false_value, k))};")
        self.hoisted = saved
        self.depth -= 1
        self.line("}")
        self.hoisted[-1][key] = names
        return names

    def may_fault(self, e: Any) -> bool:
        """Whether evaluating ``e`` reads memory (an index may be out of bounds when unchosen).
        Integer division by zero does not trap on a GPU, so only loads count."""
        key = id(e)
        hit = self._fault_cache.get(key)
        if hit is None:
            hit = isinstance(e, E.Load) or any(self.may_fault(c) for c in children(e))
            self._fault_cache[key] = hit
        return hit

    def _nonneg(self, e: E.PrimExpr, depth: int = 0) -> bool:
        """Whether an integer expression is provably >= 0 (loop and thread indices from a
        non-negative start, constants, and sums/products/quotients of those)."""
        if depth > 32:
            return False
        if e.dtype.kind == "uint":
            return True
        if isinstance(e, E.IntImm):
            return e.value >= 0
        if isinstance(e, E.Var):
            if self.nonneg.get(e, 0) > 0:
                return True
            value = self.lets.get(e)
            return value is not None and self._nonneg(value, depth + 1)
        if isinstance(e, (E.Add, E.Mul, E.Div, E.Mod, E.FloorDiv, E.FloorMod, E.Min)):
            return self._nonneg(e.a, depth + 1) and self._nonneg(e.b, depth + 1)
        if isinstance(e, E.Max):
            return self._nonneg(e.a, depth + 1) or self._nonneg(e.b, depth + 1)
        if isinstance(e, E.Cast) and e.dtype.is_int and e.value.dtype.is_int and e.dtype.bits >= e.value.dtype.bits:
            return self._nonneg(e.value, depth + 1)
        return False

    # -- expressions --

    def expr(self, e: E.PrimExpr, lane: int | None = None) -> str:
        if e.dtype.lanes > 1 and lane is None:
            raise BuildError(f"kernel {self.k.name}: the vector expression '{e}' ({e.dtype}) appears where "
                             "a scalar is needed")
        if e.dtype.lanes == 1:
            lane = None
        return self.visit(e, lane)

    def visit_Var(self, v: E.Var, lane: int | None) -> str:
        name = self.bound.get((v, lane))
        if name is None:
            what = "a buffer handle used as a value" if v.dtype.is_handle else "used but never bound"
            raise BuildError(f"kernel {self.k.name}: variable '{v.name}' is {what}")
        return name

    def visit_IntImm(self, e: E.IntImm, lane: int | None) -> str:
        return int_literal(e.value, e.dtype)

    def visit_FloatImm(self, e: E.FloatImm, lane: int | None) -> str:
        if e.dtype.bits == 16:
            self.used.add("half")
        return float_literal(e.value, e.dtype)

    def visit_Cast(self, e: E.Cast, lane: int | None) -> str:
        src, dst = e.value.dtype.element_of(), e.dtype.element_of()
        vlane = lane if e.value.dtype.lanes > 1 else None
        if src.is_handle or dst.is_handle:
            raise BuildError(f"kernel {self.k.name}: cannot cast {src} to {dst}")
        if src == dst:
            return self.expr(e.value, vlane)
        if src.is_float and src.bits == 16:
            as_float = self.as_float(e.value, vlane)
            if dst.is_bool:
                return f"({as_float} != 0.0f)"
            if dst.is_int:
                return self._float_to_int(_strip(as_float), dst)
            return as_float if dst == _FLOAT32 else f"(({self.ctype(dst)}){as_float})"
        x = self.expr(e.value, vlane)
        if src.is_float and dst.is_int:
            return self._float_to_int(_strip(x), dst)
        if dst.is_float and dst.bits == 16:
            self.used.add("half")
            if src.is_float:
                return f"tl_f2h({_strip(x)})" if src.bits == 32 else f"tl_d2h({_strip(x)})"
            return f"tl_d2h((double){x})"  # ints are exact in double: one rounding, like LLVM's
        if dst.is_bool:
            return f"({x} != {_zero(src)})"
        return f"(({self.ctype(dst)}){x})"

    def _float_to_int(self, x: str, dst: DType) -> str:
        """numpy's float -> int conversion on x86, as the LLVM backend emits it (see "f2i" in
        _HELPERS), not CUDA's saturating cast: int32 and narrower through tl_f2i32, uint32
        and int64 through tl_f2i64, uint64 through tl_f2u64."""
        self.used.add("f2i")
        if dst.bits < 32 or (dst.bits == 32 and dst.is_signed):
            inner = f"tl_f2i32({x})"
        elif dst.bits == 32 or dst.is_signed:
            inner = f"tl_f2i64({x})"
        else:
            return f"tl_f2u64({x})"
        return inner if (dst.bits == 32 and dst.is_signed) or dst.bits == 64 else f"(({self.ctype(dst)}){inner})"

    def as_float(self, e: E.PrimExpr, lane: int | None) -> str:
        """A float16 expression as a float32 value (constants directly: they are exact)."""
        if isinstance(e, E.FloatImm):
            return float_literal(float(np.float16(e.value)), _FLOAT32)
        return f"tl_h2f({_strip(self.expr(e, lane))})"

    def _binary(self, e: E.BinaryOp, lane: int | None, op: str) -> str:
        dt = e.a.dtype.element_of()
        if dt.is_float and dt.bits == 16:
            return f"tl_f2h({self.as_float(e.a, lane)} {op} {self.as_float(e.b, lane)})"
        a, b = self.expr(e.a, lane), self.expr(e.b, lane)
        if op in "+-*" and dt.is_signed and dt.bits >= 32 and not self.in_index and not self._fits(e, dt):
            # Signed overflow is undefined in C: compute in unsigned (it wraps) and cast back,
            # so the value wraps around as numpy's does.
            u = "unsigned" if dt.bits == 32 else "unsigned long long"
            return f"(({self.ctype(dt)})(({u}){a} {op} ({u}){b}))"
        return _wrap_narrow(f"({a} {op} {b})", dt)

    def index_expr(self, e: E.PrimExpr, lane: int | None = None) -> str:
        """``e`` as a memory index or loop bound: plain signed arithmetic (see ``in_index``)."""
        self.in_index += 1
        try:
            return self.expr(e, lane)
        finally:
            self.in_index -= 1

    def guard_expr(self, e: E.PrimExpr, lane: int | None = None) -> str:
        """A branch condition or access mask: lowering's bounds checks compare indices with
        extents, so a data-free one is index arithmetic; one that reads data is a value."""
        return self.index_expr(e, lane) if _data_free(e) else self.expr(e, lane)

    def _loop_bounds(self, lo: E.PrimExpr, extent: E.PrimExpr) -> tuple[int, int] | None:
        a, b = self._int_bounds(lo), self._int_bounds(extent)
        return None if a is None or b is None else (a[0], a[1] + b[1] - 1)

    def _fits(self, e: E.PrimExpr, dt: DType) -> bool:
        """Whether ``e`` provably stays within ``dt`` (constant bounds of its variables)."""
        got = self._int_bounds(e)
        lo, hi = -(1 << (dt.bits - 1)), (1 << (dt.bits - 1)) - 1
        return got is not None and lo <= got[0] and got[1] <= hi

    def _int_bounds(self, e: E.PrimExpr, depth: int = 0) -> tuple[int, int] | None:
        """Constant bounds of data-free integer arithmetic (exact integers, no wrap), or None."""
        if depth > 24 or not e.dtype.is_int or e.dtype.lanes != 1:
            return None
        if isinstance(e, E.IntImm):
            return e.value, e.value
        if isinstance(e, E.Var):
            stack = self.var_bounds.get(e)
            return stack[-1] if stack else None
        if isinstance(e, E.Cast):
            inner = self._int_bounds(e.value, depth + 1) if e.value.dtype.is_int else None
            lo, hi = -(1 << (e.dtype.bits - 1)), (1 << (e.dtype.bits - 1)) - 1
            return inner if inner is not None and lo <= inner[0] and inner[1] <= hi else None
        if not isinstance(e, (E.Add, E.Sub, E.Mul, E.Min, E.Max, E.FloorDiv, E.FloorMod)):
            return None
        a, b = self._int_bounds(e.a, depth + 1), self._int_bounds(e.b, depth + 1)
        if a is None or b is None:
            return None
        if isinstance(e, E.Add):
            return a[0] + b[0], a[1] + b[1]
        if isinstance(e, E.Sub):
            return a[0] - b[1], a[1] - b[0]
        if isinstance(e, E.Mul):
            corners = [x * y for x in a for y in b]
            return min(corners), max(corners)
        if isinstance(e, E.Min):
            return min(a[0], b[0]), min(a[1], b[1])
        if isinstance(e, E.Max):
            return max(a[0], b[0]), max(a[1], b[1])
        if b[0] <= 0:  # floordiv/floormod by a possibly non-positive divisor: not bounded here
            return None
        if isinstance(e, E.FloorDiv):
            return min(a[0] // b[0], a[0] // b[1]), max(a[1] // b[0], a[1] // b[1])
        return 0, b[1] - 1

    def _bool_or_number(self, e: E.BinaryOp, lane: int | None) -> str:
        on_bool, on_number = _BOOL_OR_NUMBER[type(e)]
        if e.dtype.is_bool:
            return f"({self.expr(e.a, lane)} {on_bool} {self.expr(e.b, lane)})"
        return self._binary(e, lane, on_number)

    visit_Add = visit_Sub = visit_Mul = visit_And = visit_Or = _bool_or_number

    def visit_Div(self, e: E.Div, lane: int | None) -> str:
        if e.dtype.is_int and not _safe_divisor(e.b):
            return self._int_helper(e, lane, "tl_truncdiv")
        return self._binary(e, lane, "/")

    def visit_Mod(self, e: E.Mod, lane: int | None) -> str:
        dt = e.a.dtype.element_of()
        if dt.is_float:
            return self._float_call("fmodf" if dt.bits != 64 else "fmod", [e.a, e.b], dt, lane)
        if not _safe_divisor(e.b):
            return self._int_helper(e, lane, "tl_truncmod")
        return self._binary(e, lane, "%")

    def _int_helper(self, e: E.BinaryOp, lane: int | None, helper: str) -> str:
        self.used.add("floordiv")
        a, b = _strip(self.expr(e.a, lane)), _strip(self.expr(e.b, lane))
        return _wrap_narrow(f"{helper}({a}, {b})", e.a.dtype.element_of())

    def _floor(self, e: E.BinaryOp, lane: int | None, op: str, helper: str) -> str:
        dt = e.a.dtype.element_of()
        if dt.is_int and _safe_divisor(e.b) and (dt.kind == "uint" or (self._nonneg(e.a) and self._nonneg(e.b))):
            return self._binary(e, lane, op)  # truncation and flooring agree here
        self.used.add("floordiv")
        if dt.is_float:
            return self._float_call(helper, [e.a, e.b], dt, lane)
        a, b = _strip(self.expr(e.a, lane)), _strip(self.expr(e.b, lane))
        return _wrap_narrow(f"{helper}({a}, {b})", dt)

    def visit_BitwiseAnd(self, e: E.BitwiseAnd, lane: int | None) -> str:
        return self._binary(e, lane, "&")

    def visit_BitwiseOr(self, e: E.BitwiseOr, lane: int | None) -> str:
        return self._binary(e, lane, "|")

    def visit_BitwiseXor(self, e: E.BitwiseXor, lane: int | None) -> str:
        return self._binary(e, lane, "^")

    def _shift(self, e: E.BinaryOp, lane: int | None, helper: str) -> str:
        self.used.add("shift")
        dt = e.a.dtype.element_of()
        ct = self.ctype(dt)
        return f"{helper}(({ct}){self.expr(e.a, lane)}, ({ct}){self.expr(e.b, lane)})"

    def visit_ShiftLeft(self, e: E.ShiftLeft, lane: int | None) -> str:
        return self._shift(e, lane, "tl_shl")

    def visit_ShiftRight(self, e: E.ShiftRight, lane: int | None) -> str:
        return self._shift(e, lane, "tl_shr")

    def visit_FloorDiv(self, e: E.FloorDiv, lane: int | None) -> str:
        return self._floor(e, lane, "/", "tl_floordiv")

    def visit_FloorMod(self, e: E.FloorMod, lane: int | None) -> str:
        return self._floor(e, lane, "%", "tl_floormod")

    def _min_max(self, e: E.BinaryOp, lane: int | None, is_min: bool) -> str:
        dt = e.a.dtype.element_of()
        if dt.is_bool:
            return f"({self.expr(e.a, lane)} {'&&' if is_min else '||'} {self.expr(e.b, lane)})"
        self.used.add("minmax")
        fn = "tl_min" if is_min else "tl_max"
        if dt.is_float:
            return self._float_call(fn + ("16" if dt.bits == 16 else ""), [e.a, e.b], dt, lane)
        return f"{fn}({_strip(self.expr(e.a, lane))}, {_strip(self.expr(e.b, lane))})"

    def visit_Min(self, e: E.Min, lane: int | None) -> str:
        return self._min_max(e, lane, True)

    def visit_Max(self, e: E.Max, lane: int | None) -> str:
        return self._min_max(e, lane, False)

    def visit_CmpOp(self, e: E.CmpOp, lane: int | None) -> str:
        dt = e.a.dtype.element_of()
        if dt.is_float and dt.bits == 16:
            a, b = self.as_float(e.a, lane), self.as_float(e.b, lane)
        else:
            a, b = self.expr(e.a, lane), self.expr(e.b, lane)
        return f"({a} {_CMP[type(e)]} {b})"

    def visit_Not(self, e: E.Not, lane: int | None) -> str:
        x = self.expr(e.a, lane)
        if e.dtype.is_bool:
            return f"(!{x})"
        return _wrap_narrow(f"(~{x})", e.dtype.element_of())

    def visit_Select(self, e: E.Select, lane: int | None) -> str:
        if lane is not None and e.dtype.lanes > 1 and uniform(e.condition) and \
                (self.may_fault(e.true_value) or self.may_fault(e.false_value)):
            return self._uniform_select(e)[lane]
        cond = self.expr(e.condition, lane if e.condition.dtype.lanes > 1 else None)
        if not (self.may_fault(e.true_value) or self.may_fault(e.false_value)):
            return f"({cond} ? {self.expr(e.true_value, lane)} : {self.expr(e.false_value, lane)})"
        return self._branch_value(cond, e.dtype.element_of(), lambda: self.expr(e.true_value, lane),
                                  lambda: self.expr(e.false_value, lane))

    def _float_call(self, fn: str, args: list[E.PrimExpr], dt: DType, lane: int | None) -> str:
        """``fn(args)``; float16 arguments go through float32 and the result is rounded back."""
        if dt.bits == 16:
            wide = [self.as_float(a, lane) if a.dtype.is_float else _strip(self.expr(a, lane)) for a in args]
            return f"tl_f2h({fn}({', '.join(wide)}))"
        return f"{fn}({', '.join(_strip(self.expr(a, lane)) for a in args)})"

    def visit_Call(self, e: E.Call, lane: int | None) -> str:
        name = e.name
        if name == "likely":
            return self.expr(e.args[0], lane)
        if name == CHECK:  # one dimension of a read lowering could not prove inside its tensor
            index, size, what = e.args
            idx = _strip(self.index_expr(index, lane if index.dtype.lanes > 1 else None))
            return f"(({self.ctype(index.dtype)}){self._checked(idx, 1, (size, what.value, False))})"
        if name == BARRIER:
            raise BuildError(f"kernel {self.k.name}: {BARRIER} is a statement (Evaluate), not a value")
        if name in SHUFFLES:
            return self._shuffle(e, lane)
        if name == ATOMIC_ADD:
            return self._atomic_add(e)
        if name == ACCESS_PTR:
            return self._access_ptr(e)
        if name == OPAQUE:  # a value not to be folded on the CPU; NVRTC's folding costs nothing here
            return self.expr(e.args[0], lane)
        if name == "reinterpret":
            src, dst = e.args[0].dtype.element_of(), e.dtype.element_of()
            if src.bits != dst.bits:
                raise BuildError(f"reinterpret of {src} as {dst}: the sizes differ")
            self.used.add("bitcast")
            return f"tl_bitcast<{self.ctype(dst)}, {self.ctype(src)}>({_strip(self.expr(e.args[0], lane))})"
        if name in ("call_extern", "call_pure_extern"):
            # A device function by name (CUDA's math library: __expf, logf ...).
            args = ", ".join(_strip(self.expr(a, lane if a.dtype.lanes > 1 else None)) for a in e.args[1:])
            return f"{e.args[0].value}({args})"
        fns = MATH_FUNCTIONS.get(name)
        if fns is None:
            raise BuildError(f"kernel {self.k.name}: unknown intrinsic '{name}'; known: likely, {BARRIER}, "
                             f"{ATOMIC_ADD}, {', '.join(sorted(MATH_FUNCTIONS))}")
        if not e.dtype.is_float:
            raise BuildError(f"intrinsic '{name}' expects float arguments, got {e.dtype}")
        if len(e.args) != _ARITY.get(name, 1):
            raise BuildError(f"intrinsic '{name}' takes {_ARITY.get(name, 1)} argument(s), got {len(e.args)}")
        dt = e.dtype.element_of()
        if name == "nextafter" and dt.bits == 16:
            return f"tl_nextafter_h({', '.join(_strip(self.expr(a, lane)) for a in e.args)})"
        return self._float_call(fns[1] if dt.bits == 64 else fns[0], list(e.args), dt, lane)

    def _access_ptr(self, e: E.Call) -> str:
        """A buffer's access_ptr: a pointer ``offset`` elements (of its dtype) into it."""
        buf, offset, code = e.args[:3]
        if not isinstance(buf, E.Var) or not isinstance(code, E.IntImm):
            raise BuildError(f"kernel {self.k.name}: cannot take the address '{e}'")
        ref = self._buffer(buf)
        if is_thread_private(ref.space) and ref.space != "local":
            raise BuildError(f"kernel {self.k.name}: a tensor-core fragment ({buf.name}) has no address; "
                             "pass it to the wmma calls as the buffer itself")
        elem = self.ctype(as_dtype(DTYPES[code.value]), memory=True)
        self.in_index += 1
        try:
            off = _strip(self.expr(offset))
        finally:
            self.in_index -= 1
        return f"(({elem}*){ref.cname} + ({off}))"

    def _atomic_add(self, e: E.Call) -> str:
        """``atomicAdd(&buf[i], value)``: the old value of buf[i], which gets ``value`` added."""
        target = atomic_add_target(e, f"kernel {self.k.name}")
        if e.dtype.bits == 64 and self.major < 6:
            raise BuildError(f"kernel {self.k.name}: atomic_add of float64 needs sm_60 or later")
        ref = self._buffer(target.buffer)
        index, check = self._unwrap(target.index, write=True)
        # The value first: it may emit statements (lets, loads) that must precede the call.
        value = _strip(self.expr(e.args[1]))
        return f"atomicAdd(&{self._element(ref, target.dtype, index, None, check)}, {value})"

    def _shuffle(self, e: E.Call, lane: int | None) -> str:
        """A warp shuffle (ir.warp) as __shfl_*_sync over the lanes the block has."""
        value, k, width = e.args
        threads = self.k.threads_per_block
        # Every lane of a full warp takes part; a block smaller than a warp has only its lanes.
        mask = "0xffffffffu" if threads % 32 == 0 else (f"{(1 << threads) - 1:#x}u" if threads < 32
                                                        else "__activemask()")
        fn = "__shfl_down_sync" if e.name == SHFL_DOWN else "__shfl_sync"
        dt = e.dtype.element_of()
        v = _strip(self.expr(value, lane))
        args = f"{_strip(self.expr(k, lane))}, {_strip(self.expr(width, lane))}"
        if dt.bits in (32, 64) and (dt.is_float or dt.is_int or dt.is_uint):
            return f"{fn}({mask}, {v}, {args})"
        if dt.is_float and dt.bits == 16:
            return f"__ushort_as_half({fn}({mask}, __half_as_ushort({v}), {args}))"
        # Narrow integers and bools travel as int.
        return f"(({self.ctype(dt)}){fn}({mask}, (int)({v}), {args}))"

    def visit_Let(self, e: E.Let, lane: int | None) -> str:
        vlane = lane if e.var.dtype.lanes > 1 else None
        cname = self.fresh(e.var.name)
        self.line(f"const {self.ctype(e.var.dtype)} {cname} = {_strip(self.expr(e.value, vlane))};")
        with self.bind(e.var, cname, vlane, nonneg=e.var.dtype.is_int and self._nonneg(e.value)):
            return self.expr(e.body, lane)

    def visit_Ramp(self, e: E.Ramp, lane: int | None) -> str:
        assert lane is not None
        base = self.expr(e.base)
        if lane == 0:
            return base
        if isinstance(e.stride, E.IntImm):
            return _offset(base, e.stride.value * lane, e.base.dtype)
        step = _wrap_narrow(f"({self.expr(e.stride)} * {int_literal(lane, e.base.dtype)})", e.base.dtype)
        return _wrap_narrow(f"({base} + {step})", e.base.dtype)

    def visit_Broadcast(self, e: E.Broadcast, lane: int | None) -> str:
        if isinstance(e.value, (E.Var, E.IntImm, E.FloatImm)):
            return self.expr(e.value)
        # Computed once for all lanes (a load or let inside it included).
        key = (id(e), -1)
        name = next((scope[key] for scope in reversed(self.hoisted) if key in scope), None)
        if name is None:
            value = _strip(self.expr(e.value))
            name = self.fresh("bcast")
            self.line(f"const {self.ctype(e.value.dtype)} {name} = {value};")
            self.hoisted[-1][key] = name
        return name

    def visit_Load(self, e: E.Load, lane: int | None) -> str:
        ref = self._buffer(e.buffer)
        index, check = self._unwrap(e.index, write=False)
        if check is not None:
            e = e.with_fields(index=index)
        elem = e.dtype.element_of()
        lanes = e.dtype.lanes
        if e.index.dtype.lanes != lanes:
            raise BuildError(f"kernel {self.k.name}: load of {e.buffer.name}: {lanes}-lane value with a "
                             f"{e.index.dtype.lanes}-lane index")

        def read() -> str:
            text = self._element(ref, elem, e.index, lane, check)
            return f"({text} != 0)" if elem.is_bool else text

        chunk = vector_chunk(e.dtype, e.index, e.predicate, ref.dtype, self.lets)
        if chunk and lane is not None:
            assert isinstance(e.index, E.Ramp)
            c = lane - lane % chunk
            key = (id(e), c)
            name = next((scope[key] for scope in reversed(self.hoisted) if key in scope), None)
            if name is None:
                vt = _VECTOR_TYPES[(str(elem), chunk)]
                name = self.fresh(f"{e.buffer.name}_v")
                at = self._checked(_offset(self.index_expr(e.index.base), c, e.index.base.dtype), chunk, check)
                addr = _address(ref.cname, at)
                value = f"*(const {vt}*)({addr})"
                if e.predicate is not None and (id(e.predicate), None) not in self.known_true:
                    # one mask for all lanes: the vector is read only where it holds, else zeros
                    zeros = ", ".join([_zero(elem)] * chunk)
                    value = f"({_strip(self.guard_expr(e.predicate, 0))} ? {value} : make_{vt}({zeros}))"
                self.line(f"const {vt} {name} = {value};")
                self.hoisted[-1][key] = name
            return f"{name}.{_COMPONENTS[lane % chunk]}"
        plane = lane if e.predicate is not None and e.predicate.dtype.lanes > 1 else None
        if e.predicate is None or (id(e.predicate), plane) in self.known_true:
            return read()
        pred = self.guard_expr(e.predicate, plane)
        return self._branch_value(pred, elem, read, lambda: _zero(elem))


# --- small text helpers ------------------------------------------------------------------------


def _strip(text: str) -> str:
    """``text`` without one pair of outer parentheses that enclose all of it."""
    if len(text) < 2 or text[0] != "(" or text[-1] != ")":
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def _data_free(e: E.PrimExpr) -> bool:
    """Whether ``e`` reads no memory and calls nothing (arithmetic of variables and constants)."""
    found = False

    def fn(n: Any) -> None:
        nonlocal found
        found = found or isinstance(n, (E.Load, E.Call))
    post_order_visit(e, fn)
    return not found


def _wrap_narrow(text: str, dt: DType) -> str:
    """C computes in int below 32 bits; wrap the result back to the IR's type."""
    if dt.is_int and dt.bits < 32:
        return f"(({_C_TYPES[str(dt)]}){text})"
    return text


def _offset(base: str, k: int, dt: DType) -> str:
    if k == 0:
        return base
    return _wrap_narrow(f"({base} + {int_literal(k, dt)})", dt)


def _max_registers(body: S.Stmt) -> int:
    """The smallest ``max_registers`` pragma on a loop of the kernel (0: none)."""
    found: list[int] = []

    def fn(n: Any) -> None:
        if isinstance(n, S.For):
            v = dict(n.annotations).get("pragma_max_registers", 0)
            if v:
                found.append(int(v))
    post_order_visit(body, fn)
    return min(found) if found else 0


def _address(pointer: str, offset: str) -> str:
    return pointer if offset in ("0", "0LL") else f"{pointer} + {_strip(offset)}"


def _whole_vector(parts: list[str]) -> str | None:
    """``v`` when ``parts`` are exactly ``v.x, v.y, ...`` of one hoisted vector, else None."""
    names = {p.rsplit(".", 1)[0] for p in parts}
    if len(names) == 1 and all(p.endswith("." + _COMPONENTS[i]) for i, p in enumerate(parts)):
        name = names.pop()
        return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else None
    return None


def _is_zero(e: E.PrimExpr) -> bool:
    return isinstance(e, E.IntImm) and e.value == 0


def _same(a: E.PrimExpr, b: E.PrimExpr) -> bool:
    if isinstance(a, E.IntImm) and isinstance(b, E.IntImm):
        return a.value == b.value
    return structural_equal(a, b)
