"""LLVM IR generation for one lowered PrimFunc, built with llvmlite.ir.

Guarantees: ``codegen_llvm`` returns a complete LLVM module as text, holding
- the entry function (named after the PrimFunc unless told otherwise): buffer parameters become ``noalias``
  pointers, Var parameters scalars (float16 travels as its 16-bit pattern, since C callers such
  as ctypes have no half type); it returns 0, or ERR_OUT_OF_MEMORY when a heap allocation failed;
  every error return (this one, a failed bounds check, callee or parallel worker) first frees
  the heap buffers live at that point, so a failing call leaks nothing;
- one outlined worker per top-level parallel loop, and the thread launcher they share;
- when the body is big (outline.split), its root loop nests in internal noinline functions that
  the entry function calls in order, passing the buffers and scalars each uses; the entry
  function returns the first nonzero status one of them returns, after the same frees;
- the ``__tl_num_threads`` global the runtime sets (0 means "ask get_nprocs()");
- when asked, the metadata string that an exported library carries;
- for indices wrapped by ir.passes.bounds_check (``-bounds-check``), a check of every enabled
  lane before the access: a failing one records buffer, index and size in the ``__tl_oob_*``
  globals and returns ERR_OUT_OF_BOUNDS.
Only the chosen side of a Select is evaluated when a side could fault (a load, an integer
division), so guarded out-of-bounds reads are safe. Float math keeps IEEE semantics unless the
target says -fast-math.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import llvmlite.ir as ir

from ...arith.interval import Interval
from ...arith.simplify import const_bound
from ...errors import BuildError
from ...ir import stmt as S
from ...ir.function import Buffer, PrimFunc
from ...ir.passes import pipeline_rows, streaming_stores
from ...ir.passes.bounds_check import CHECK
from ...ir.passes.bounds_check import unwrap as unwrap_checked
from ...ir.passes.emulate_gpu import EMULATED_THREADS_KEY
from ...ir.verify import NOT_EXECUTABLE
from ...te import expr as E
from ...te.dtype import DType, as_dtype
from ...te.extern import DTYPES, TRACE
from ...te.functor import Visitor, children
from ...te.intrin import OPAQUE
from .. import packed
from ..abi import (
    ERR_OUT_OF_BOUNDS,
    ERR_OUT_OF_MEMORY,
    METADATA_SYMBOL,
    NUM_THREADS_SYMBOL,
    OOB_GLOBALS,
    PARALLEL_MIN_WORK_SYMBOL,
)
from . import loop_metadata, outline, threadpool, transpose, vecmath
from .target import LLVMTarget
from .work_estimate import DEFAULT_MIN_PARALLEL_WORK, work_per_iteration


class _FunctionPointerLoad(ir.instructions.LoadInstr):
    """A load of a function pointer that llvmlite can call (opaque pointers carry no signature)."""

    def __init__(self, parent: ir.Block, ptr: ir.Value, fnty: ir.FunctionType, name: str):
        super().__init__(parent, ptr, name, typ=PTR)
        self._fnty = fnty

    @property
    def function_type(self) -> ir.FunctionType:
        return self._fnty


STACK_ALLOC_LIMIT = 256 * 1024  # bytes; larger or dynamic Allocates go to the heap
_ALLOC_ALIGN = 64  # one cache line, and one zmm register
_CACHE_LINE = 64
PREFETCH_KEY = pipeline_rows.PREFETCH_KEY  # loop annotation of `pragma(iv, "prefetch", elements)`

I1, I8, I16, I32, I64 = (ir.IntType(n) for n in (1, 8, 16, 32, 64))
PTR = ir.PointerType()
# A worker runs iterations [begin, end) of one parallel loop: (closure, begin, end) -> status.
_WORKER_TYPE = ir.FunctionType(I32, [PTR, I64, I64])

# te intrinsic name -> LLVM intrinsic base name.
_LLVM_MATH = {
    "exp": "llvm.exp", "exp2": "llvm.exp2", "log": "llvm.log", "log2": "llvm.log2",
    "log10": "llvm.log10", "sqrt": "llvm.sqrt", "floor": "llvm.floor", "ceil": "llvm.ceil",
    "round": "llvm.roundeven", "trunc": "llvm.trunc", "sin": "llvm.sin", "cos": "llvm.cos",
    "fabs": "llvm.fabs", "pow": "llvm.pow", "copysign": "llvm.copysign",
}
# Exact in float16 itself (no rounding, or a single correctly rounded one).
_EXACT_IN_HALF = frozenset({"floor", "ceil", "round", "trunc", "fabs", "copysign"})
# te intrinsic name -> (float32 libm symbol, float64 libm symbol).
_LIBM = {"tanh": ("tanhf", "tanh"), "erf": ("erff", "erf"), "tan": ("tanf", "tan"), "sinh": ("sinhf", "sinh"),
         "cosh": ("coshf", "cosh"), "asin": ("asinf", "asin"), "acos": ("acosf", "acos"), "atan": ("atanf", "atan"),
         "asinh": ("asinhf", "asinh"), "acosh": ("acoshf", "acosh"), "atanh": ("atanhf", "atanh"),
         "log1p": ("log1pf", "log1p"), "expm1": ("expm1f", "expm1"), "atan2": ("atan2f", "atan2"),
         "hypot": ("hypotf", "hypot"), "nextafter": ("nextafterf", "nextafter")}
# The float intrinsics by name (te's math functions); any other name is unknown to the codegen.
_FLOAT_INTRINSICS = frozenset({*_LLVM_MATH, *_LIBM, *vecmath.FUNCTIONS, "ldexp", "exp10"})
_CMP_OPS = {E.EQ: "==", E.NE: "!=", E.LT: "<", E.LE: "<=", E.GT: ">", E.GE: ">="}
# The instruction of each node on floats, on bools (numpy's bool arithmetic: + is or, - is xor,
# * is and) and on integers.
_B = ir.IRBuilder
_ARITH = {E.Add: (_B.fadd, _B.or_, _B.add), E.Sub: (_B.fsub, _B.xor, _B.sub), E.Mul: (_B.fmul, _B.and_, _B.mul)}


def codegen_llvm(func: PrimFunc, target: LLVMTarget, *, metadata: str | None = None,
                 symbol: str | None = None) -> str:
    """LLVM IR text for ``func``, its entry function named ``symbol`` (default: the function's
    name); see the module docstring for what the module holds."""
    return _ModuleEmitter(func, target).emit(metadata, symbol or func.name)


# --- types and constants ------------------------------------------------------------------

def llvm_type(dt: DType, in_memory: bool = False) -> ir.Type:
    """The LLVM type of a value of ``dt``; bool is i1 in registers and i8 in memory."""
    if dt.kind == "handle":
        elem: ir.Type = PTR
    elif dt.kind == "bool":
        elem = I8 if in_memory else I1
    elif dt.kind in ("int", "uint"):
        elem = ir.IntType(dt.bits)
    else:
        elem = {16: ir.HalfType(), 32: ir.FloatType(), 64: ir.DoubleType()}[dt.bits]
    return elem if dt.lanes == 1 else ir.VectorType(elem, dt.lanes)


def param_type(dt: DType) -> ir.Type:
    """The ABI type of a scalar parameter: float16 is passed as its bits in an i16."""
    return I16 if dt.is_float and dt.bits == 16 else llvm_type(dt)


def _mangle(ty: ir.Type) -> str:
    """The type suffix of an overloaded intrinsic name (f32, v16f32, v8i1, p0)."""
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_mangle(ty.element)}"
    if isinstance(ty, ir.IntType):
        return f"i{ty.width}"
    if isinstance(ty, ir.PointerType):
        return "p0"
    return {ir.HalfType: "f16", ir.FloatType: "f32", ir.DoubleType: "f64"}[type(ty)]


def _const(ty: ir.Type, value: Any) -> ir.Constant:
    """A scalar constant, or the splat of it when ``ty`` is a vector."""
    if isinstance(ty, ir.VectorType):
        return ir.Constant(ty, [_const(ty.element, value)] * ty.count)
    if isinstance(ty, ir.IntType):
        value = int(value) & ((1 << ty.width) - 1)  # LLVM reads the bit pattern
        if ty.width > 1 and value >= 1 << (ty.width - 1):
            value -= 1 << ty.width
    return ir.Constant(ty, value)


def _lanes(ty: ir.Type) -> int:
    return ty.count if isinstance(ty, ir.VectorType) else 1


def _is_contiguous(index: E.PrimExpr) -> bool:
    return (isinstance(index, E.Ramp) and isinstance(index.stride, E.IntImm)
            and index.stride.value == 1)


_CMP = {E.LT: lambda x, y: x < y, E.LE: lambda x, y: x <= y, E.GT: lambda x, y: x > y,
        E.GE: lambda x, y: x >= y, E.EQ: lambda x, y: x == y, E.NE: lambda x, y: x != y}


def _constant_lanes(e: E.PrimExpr, lanes: int) -> list[int] | None:
    """The value of each lane of ``e`` when it is known at compile time (a guarded tail's
    ``ramp(16, 1, 4) < x4(17)``), else None."""
    if isinstance(e, E.IntImm):
        return [e.value] * lanes
    if isinstance(e, E.Broadcast):
        v = _constant_lanes(e.value, 1)
        return None if v is None else v * lanes
    if isinstance(e, E.Ramp) and isinstance(e.base, E.IntImm) and isinstance(e.stride, E.IntImm):
        return [e.base.value + k * e.stride.value for k in range(lanes)]
    if type(e) in _CMP or isinstance(e, (E.And, E.Or)):
        a, b = _constant_lanes(e.a, lanes), _constant_lanes(e.b, lanes)
        if a is None or b is None:
            return None
        op = _CMP.get(type(e)) or ((lambda x, y: x and y) if isinstance(e, E.And) else (lambda x, y: x or y))
        return [int(bool(op(x, y))) for x, y in zip(a, b)]
    if isinstance(e, E.Not):
        a = _constant_lanes(e.a, lanes)
        return None if a is None else [int(not x) for x in a]
    return None


def _is_safe_divisor(e: E.PrimExpr) -> bool:
    """A constant divisor that can neither trap (0) nor overflow (-1 with INT_MIN)."""
    if isinstance(e, E.Broadcast):
        e = e.value
    return isinstance(e, E.IntImm) and e.value not in (0, -1)


@contextlib.contextmanager
def _for_range(b: ir.IRBuilder, lo: ir.Value, hi: ir.Value, name: str,
               signed: bool = True, loop_md: ir.MDValue | None = None) -> Iterator[ir.Value]:
    """Emit ``for (i = lo; i < hi; ++i)`` and yield ``i`` with the builder in the loop body;
    ``loop_md`` (a loop ID, see ``_ModuleEmitter.loop_id``) goes on the back edge."""
    fn = b.function
    pre = b.block
    header = fn.append_basic_block(f"{name}.header")
    body = fn.append_basic_block(f"{name}.body")
    exit_ = fn.append_basic_block(f"{name}.exit")
    b.branch(header)
    b.position_at_end(header)
    i = b.phi(lo.type, name=name)
    i.add_incoming(lo, pre)
    cmp = b.icmp_signed("<", i, hi) if signed else b.icmp_unsigned("<", i, hi)
    b.cbranch(cmp, body, exit_)
    b.position_at_end(body)
    yield i
    # The body may have opened blocks of its own; the back edge leaves from the last one.
    nxt = b.add(i, _const(i.type, 1), name=f"{name}.next", flags=("nsw",) if signed else ())
    i.add_incoming(nxt, b.block)
    latch = b.branch(header)
    if loop_md is not None:
        latch.set_metadata("llvm.loop", loop_md)
    b.position_at_end(exit_)


class _UsedVars(Visitor):
    """Every Var a statement reads, buffers of loads and stores included, in first-use order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[E.Var, None] = {}

    def visit_Var(self, v: E.Var) -> None:
        self.found[v] = None

    def visit_Load(self, e: E.Load) -> None:
        self.found[e.buffer] = None
        self.generic_visit(e)

    def visit_Store(self, s: S.Store) -> None:
        self.found[s.buffer] = None
        self.generic_visit(s)


# --- the module -------------------------------------------------------------------------

class _ModuleEmitter:
    """Module-wide state: declarations, the launcher, outlined workers, globals."""

    def __init__(self, func: PrimFunc, target: LLVMTarget):
        self.func = func
        self.target = target
        self.module = ir.Module(name=func.name)
        self.module.triple = target.triple
        self.fast_math: tuple[str, ...] = ("fast",) if target.fast_math else ()
        # Like TVM (and GCC's default), let LLVM fuse a*b+c into FMA: faster and more accurate.
        self.arith_flags: tuple[str, ...] = self.fast_math or (("contract",) if target.fp_contract else ())
        self._decls: dict[str, ir.Function] = {}
        self._launcher: ir.Function | None = None
        self._n_workers = 0
        self._n_pieces = 0
        self._loop_ids = 0  # loop IDs made by no_unroll_loop_id
        self.rolled_holders = loop_metadata.loops_holding_rolled_loops(func.body)
        # Handles known to point at their own allocation (buffer params, Allocates): only these
        # may be marked noalias in outlined bodies; a handle bound by a Let may alias another.
        self.distinct_buffers: set[E.Var] = set()
        self.param_buffers: set[E.Var] = {p.data for p in func.params if isinstance(p, Buffer)}
        # Element types of the buffers whose storage is known (parameters, then allocations as they
        # are emitted): a store of another type would write foreign bits into them.
        self.buffer_elems: dict[E.Var, DType] = {p.data: p.dtype.element_of() for p in func.params
                                                 if isinstance(p, Buffer)}
        # Elements of the buffers whose size is a constant (parameters, then stack or heap
        # allocations as they are emitted): a load proven inside them cannot fault.
        self.buffer_sizes: dict[E.Var, int] = {
            p.data: math.prod(d.value for d in p.shape) for p in func.params
            if isinstance(p, Buffer) and p.dtype.lanes == 1 and all(isinstance(d, E.IntImm) for d in p.shape)}
        # Always present, so the runtime can set it whether or not the function has parallel loops.
        self._strings: dict[str, ir.GlobalVariable] = {}
        self._packed_slot: ir.GlobalVariable | None = None
        self._oob: tuple[ir.GlobalVariable, ...] | None = None
        self.num_threads = ir.GlobalVariable(self.module, I32, NUM_THREADS_SYMBOL)
        self.num_threads.initializer = _const(I32, 0)
        self.num_threads.align = 4
        self.min_work = ir.GlobalVariable(self.module, I64, PARALLEL_MIN_WORK_SYMBOL)
        self.min_work.initializer = _const(I64, DEFAULT_MIN_PARALLEL_WORK)
        self.min_work.align = 8

    def emit(self, metadata: str | None, symbol: str) -> str:
        func = self.func
        arg_types = []
        for p in func.params:
            if isinstance(p, Buffer):
                arg_types.append(PTR)
            elif isinstance(p, E.Var):
                arg_types.append(param_type(p.dtype))
            else:
                raise BuildError(f"{func.name}: parameter {p!r} is neither a Buffer nor a Var")
        fn = ir.Function(self.module, ir.FunctionType(I32, arg_types), name=symbol)
        fn.attributes.add("nounwind")
        _name_args(fn, [p.name for p in func.params])
        em = _FunctionEmitter(self, fn, in_parallel=False)
        for p, arg in zip(func.params, fn.args):
            if isinstance(p, Buffer):
                # The runtime refuses overlapping arguments when one is written, which makes
                # noalias true; captures(none) holds because workers are joined before returning.
                arg.add_attribute("noalias")
                arg.add_attribute("captures(none)")
                em.vars[p.data] = arg
                self.distinct_buffers.add(p.data)
            elif p.dtype.is_float and p.dtype.bits == 16:
                em.vars[p] = em.b.bitcast(arg, llvm_type(p.dtype), name=p.name)
            else:
                if p.dtype.is_bool:
                    arg.add_attribute("zeroext")
                em.vars[p] = arg
        em.visit(outline.split(func.body, on_stack=_on_stack) or func.body)
        em.finish()
        if metadata is not None:
            data = bytearray(metadata.encode()) + b"\0"
            gv = ir.GlobalVariable(self.module, ir.ArrayType(I8, len(data)), METADATA_SYMBOL)
            gv.global_constant = True
            gv.initializer = ir.Constant(gv.value_type, data)
        return loop_metadata.self_referential(str(self.module))

    def no_unroll_loop_id(self) -> ir.MDValue:
        """A fresh loop ID that asks LLVM not to unroll its loop (see loop_metadata)."""
        self._loop_ids += 1
        disable = self.module.add_metadata([ir.MetaDataString(self.module, loop_metadata.UNROLL_DISABLE)])
        first = ir.MetaDataString(self.module, loop_metadata.loop_id_operands(self._loop_ids))
        return self.module.add_metadata([first, disable])

    def string_constant(self, text: str) -> ir.Value:
        """A pointer to a NUL-terminated constant copy of ``text`` (one global per text)."""
        gv = self._strings.get(text)
        if gv is None:
            data = bytearray(text.encode()) + b"\0"
            gv = ir.GlobalVariable(self.module, ir.ArrayType(I8, len(data)), f".str{len(self._strings)}")
            gv.global_constant = True
            gv.linkage = "private"
            gv.initializer = ir.Constant(gv.value_type, data)
            self._strings[text] = gv
        return gv

    def oob_globals(self) -> tuple[ir.GlobalVariable, ...]:
        """The (claim, index, size, name, write) globals a failed bounds check fills, made once."""
        if self._oob is None:
            types = {"i32": I32, "i64": I64, "ptr": PTR}
            made = []
            for name, kind in OOB_GLOBALS:
                ty = types[kind]
                gv = ir.GlobalVariable(self.module, ty, name)
                gv.initializer = ir.Constant(ty, None if kind == "ptr" else 0)
                gv.align = 8
                made.append(gv)
            self._oob = tuple(made)
        return self._oob

    def packed_call_slot(self) -> ir.GlobalVariable:
        """The pointer global through which packed calls reach the runtime's dispatcher."""
        if self._packed_slot is None:
            self._packed_slot = ir.GlobalVariable(self.module, PTR, packed.PACKED_CALL_SYMBOL)
            self._packed_slot.initializer = ir.Constant(PTR, None)
        return self._packed_slot

    def declare(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        """An external function or intrinsic, declared once per module."""
        fn = self._decls.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, args), name=name)
            self._decls[name] = fn
        return fn

    def outline(self, loop: S.For, captured: list[E.Var], values: list[ir.Value],
                ranges: dict[E.Var, Interval] | None = None) -> ir.Function:
        """A worker for ``loop``: ``(closure, begin, end)`` unpacks the captured values and calls
        a body function that takes them as parameters, so buffers keep their noalias facts
        when the body is inlined back into the worker.  ``ranges``: the constant ranges of the
        enclosing loops (for the captured ones, with the loop's own, loads proven in bounds)."""
        base = f"{self.func.name}.parallel{self._n_workers}"
        self._n_workers += 1
        types = [v.type for v in values]
        body_fn = ir.Function(self.module, ir.FunctionType(I32, [*types, I64, I64]), name=f"{base}.body")
        body_fn.linkage = "internal"
        body_fn.attributes.add("alwaysinline")
        body_fn.attributes.add("nounwind")
        _name_args(body_fn, [*(v.name for v in captured), "begin", "end"])
        em = _FunctionEmitter(self, body_fn, in_parallel=True)
        for var, arg in zip(captured, body_fn.args):
            if var in self.distinct_buffers:
                arg.add_attribute("noalias")
            em.vars[var] = arg
            if ranges and var in ranges:
                em.loop_ranges[var] = ranges[var]
        begin, end = body_fn.args[-2:]
        var_ty = llvm_type(loop.loop_var.dtype)
        lo = em.int_resize(begin, var_ty, signed=True)
        hi = em.int_resize(end, var_ty, signed=True)
        # each worker runs a part of the loop's whole range
        with em.streaming(loop), em.loop(loop.loop_var, lo, hi), em.ranged(loop):
            em.visit(loop.body)
        em.finish()

        worker = ir.Function(self.module, _WORKER_TYPE, name=base)
        worker.linkage = "internal"
        worker.attributes.add("nounwind")
        closure, w_begin, w_end = worker.args
        _name_args(worker, ["closure", "begin", "end"])
        b = ir.IRBuilder(worker.append_basic_block("entry"))
        struct = ir.LiteralStructType(types)
        unpacked = [b.load(b.gep(closure, [_const(I32, 0), _const(I32, k)], inbounds=True,
                                 source_etype=struct), typ=t, name=var.name)
                    for k, (var, t) in enumerate(zip(captured, types))]
        b.ret(b.call(body_fn, [*unpacked, w_begin, w_end]))
        return worker

    def outline_piece(self, piece: outline.Piece, captured: list[E.Var], values: list[ir.Value]) -> ir.Function:
        """A function running ``piece.body`` on the captured values, its parameters; ``noinline``,
        so LLVM optimizes it on its own (see outline)."""
        fn = ir.Function(self.module, ir.FunctionType(I32, [v.type for v in values]),
                         name=f"{self.func.name}.piece{self._n_pieces}")
        self._n_pieces += 1
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        fn.attributes.add("nounwind")
        _name_args(fn, [v.name for v in captured])
        em = _FunctionEmitter(self, fn, in_parallel=False)
        for var, arg in zip(captured, fn.args):
            if var in self.distinct_buffers:
                arg.add_attribute("noalias")
            em.vars[var] = arg
        em.visit(piece.body)
        em.finish()
        return fn

    def launcher(self) -> ir.Function:
        """``__tl_parallel_launch(worker, closure, begin, end, work) -> status``, built once
        (``work``: the estimated element operations of one iteration)."""
        if self._launcher is None:
            self._launcher = self._build_launcher()
        return self._launcher

    def _build_launcher(self) -> ir.Function:
        """Decide the thread count (``__tl_num_threads``, else the processors; at most one per
        ``__tl_parallel_min_work`` element operations of the loop's work) and hand the loop to
        the persistent pool (target/llvm/threadpool.py): no thread is created per call."""
        pool = self.declare(threadpool.SYMBOL, I32, list(threadpool.LAUNCH_TYPE.args))
        nprocs = self.declare("get_nprocs", I32, [])
        launch = ir.Function(self.module, ir.FunctionType(I32, [_WORKER_TYPE.as_pointer(), PTR, I64, I64, I64]),
                             name="__tl_parallel_launch")
        launch.linkage = "internal"
        launch.attributes.add("nounwind")
        worker, closure, lo, hi, work = launch.args
        _name_args(launch, ["worker", "closure", "begin", "end", "work"])
        b = ir.IRBuilder(launch.append_basic_block("entry"))
        # Iterations worth one thread: min_work / work (0 when one iteration is already enough).
        per = b.sdiv(b.load(self.min_work, typ=I64, name="min_work"), work, name="per_thread")
        cap = b.select(b.icmp_signed(">", per, _const(I64, 0)),
                       b.sdiv(b.sub(hi, lo), b.select(b.icmp_signed(">", per, _const(I64, 0)), per, _const(I64, 1))),
                       _const(I64, 1 << 31))
        cap = b.trunc(b.select(b.icmp_signed("<", cap, _const(I64, 1)), _const(I64, 1),
                               b.select(b.icmp_signed(">", cap, _const(I64, 1 << 30)), _const(I64, 1 << 30), cap)),
                      I32, name="cap")
        want = b.load(self.num_threads, typ=I32, name="want")
        # A branch, not a select: get_nprocs reads /sys (microseconds), so only when unset.
        with b.if_then(b.icmp_signed("<=", want, _const(I32, 0)), likely=False):
            procs = b.call(nprocs, [])
            b.ret(b.call(pool, [worker, closure, lo, hi, b.select(b.icmp_signed("<", cap, procs), cap, procs)]))
        b.ret(b.call(pool, [worker, closure, lo, hi, b.select(b.icmp_signed("<", cap, want), cap, want)]))
        return launch


def _on_stack(s: S.Allocate) -> bool:
    """Whether ``visit_Allocate`` puts the buffer on the stack (an alloca of the entry block)."""
    return (isinstance(s.extent, E.IntImm)
            and s.extent.value * s.dtype.lanes * s.dtype.element_of().bytes <= STACK_ALLOC_LIMIT)


def _alloca(b: ir.IRBuilder, ty: ir.Type, size: ir.Value | None = None, name: str = "") -> ir.Value:
    slot = b.alloca(ty, size=size, name=name)
    slot.type = PTR  # llvmlite types it as a typed pointer, which then refuses opaque stores
    return slot


def _name_args(fn: ir.Function, names: list[str]) -> None:
    """Name the arguments (before any block exists: labels share the argument namespace)."""
    used: set[str] = set()
    for arg, name in zip(fn.args, names):
        unique, k = name, 1
        while unique in used:
            unique, k = f"{name}.{k}", k + 1
        used.add(unique)
        arg.name = unique


# --- one LLVM function ----------------------------------------------------------------

_MISSING = object()


class _FunctionEmitter(Visitor):
    """Emits statements and expressions into one LLVM function. Expression visitors return the
    ir.Value; statement visitors return None."""

    REJECTED = NOT_EXECUTABLE  # generic_visit refuses these (and any other node class it lacks)

    def __init__(self, mod: _ModuleEmitter, fn: ir.Function, in_parallel: bool):
        super().__init__()
        self.m = mod
        self.fn = fn
        self.in_parallel = in_parallel  # a nested parallel loop runs serially
        self.vars: dict[E.Var, ir.Value] = {}
        # Lanes that are live inside the branch of a vector Select: loads and divisions of
        # that width must not touch the others.
        self.mask: ir.Value | None = None
        self._may_fault_cache: dict[int, bool] = {}
        # The constant ranges of the serial loops around the point being emitted (may_fault
        # proves loads in bounds with them).
        self.loop_ranges: dict[E.Var, Interval] = {}
        # > 0 while emitting a memory index: only index arithmetic gets LLVM's "nsw" (lowering
        # picks index dtypes wide enough for every buffer); value arithmetic wraps like numpy's.
        self._in_index = 0
        # Inside a loop that streaming_stores made: the alignment its unmasked contiguous vector
        # stores have, which lets them be non-temporal (0: ordinary stores).
        self.stream_align = 0
        # pipeline_rows fuses a streaming loop with one whose stores stay cached: the buffers that
        # may stream there (None: every unmasked contiguous store of the loop).
        self.stream_only: frozenset[E.Var] | None = None
        # Loads already emitted as rows of a register transpose (transpose.find_blocks), by id.
        self._transposed: dict[int, ir.Value] = {}
        # Heap buffers live at the point being emitted, innermost last: an error return frees
        # them first, so a failing call (a bounds check, a failed allocation or callee) leaks nothing.
        self.heap: list[ir.Value] = []
        # The lanes the vector access being emitted may touch: a CHECK inside its index checks
        # only those (the others may be a guarded tail's garbage indices).
        self.access_mask: ir.Value | None = None
        # Inside a loop with pragma prefetch: how many elements ahead its contiguous vector
        # loads of argument buffers prefetch (0: none).
        self.prefetch_ahead = 0
        # Allocas go to the entry block (where mem2reg and stack coloring expect them), ahead
        # of its jump to "body", where code starts.
        entry = fn.append_basic_block("entry")
        self.alloca_builder = ir.IRBuilder(entry)
        body = fn.append_basic_block("body")
        self.alloca_builder.position_before(self.alloca_builder.branch(body))
        self.b = ir.IRBuilder(body)

    def finish(self) -> None:
        if self.b.block.terminator is None:
            self.b.ret(_const(I32, 0))

    def error_return(self, status: ir.Value) -> None:
        """Free the live heap buffers, innermost first, and return ``status``."""
        for ptr in reversed(self.heap):
            self.free(ptr)
        self.b.ret(status)

    def free(self, ptr: ir.Value) -> None:
        self.b.call(self.m.declare("free", ir.VoidType(), [PTR]), [ptr])

    # -- helpers --

    def alloca(self, ty: ir.Type, name: str, align: int | None = None) -> ir.Value:
        slot = _alloca(self.alloca_builder, ty, name=name)
        slot.align = align
        return slot

    @contextlib.contextmanager
    def bind(self, var: E.Var, value: ir.Value) -> Iterator[None]:
        old = self.vars.get(var, _MISSING)
        self.vars[var] = value
        try:
            yield
        finally:
            if old is _MISSING:
                del self.vars[var]
            else:
                self.vars[var] = old

    @contextlib.contextmanager
    def loop(self, var: E.Var, lo: ir.Value, hi: ir.Value, loop_md: ir.MDValue | None = None) -> Iterator[None]:
        with _for_range(self.b, lo, hi, var.name, signed=var.dtype.kind != "uint", loop_md=loop_md) as i:
            with self.bind(var, i):
                yield

    def int_resize(self, v: ir.Value, ty: ir.Type, signed: bool) -> ir.Value:
        width = v.type.element.width if isinstance(v.type, ir.VectorType) else v.type.width
        new = ty.element.width if isinstance(ty, ir.VectorType) else ty.width
        if new > width:
            return self.b.sext(v, ty) if signed else self.b.zext(v, ty)
        if new < width:
            return self.b.trunc(v, ty)
        return v

    def splat(self, v: ir.Value, lanes: int) -> ir.Value:
        if isinstance(v, ir.Constant):
            return ir.Constant(ir.VectorType(v.type, lanes), [v] * lanes)
        vty = ir.VectorType(v.type, lanes)
        one = self.b.insert_element(ir.Constant(vty, ir.Undefined), v, _const(I32, 0))
        return self.b.shuffle_vector(one, ir.Constant(vty, ir.Undefined),
                                     ir.Constant(ir.VectorType(I32, lanes), [0] * lanes))

    def index64(self, e: E.PrimExpr) -> ir.Value:
        """An index (scalar or vector) widened to i64 lanes, as GEP wants it."""
        self._in_index += 1
        try:
            v = self.visit(e)
        finally:
            self._in_index -= 1
        lanes = e.dtype.lanes
        ty = I64 if lanes == 1 else ir.VectorType(I64, lanes)
        return self.int_resize(v, ty, signed=e.dtype.kind != "uint")

    def checked_size64(self, e: E.PrimExpr) -> tuple[ir.Value, ir.Value]:
        """A scalar size (an allocation's extent: products and sums of shape variables) as i64,
        and an i1 that is true where computing it in 64 bits wrapped around (n * n for n = 2**32)."""
        ops = {E.Mul: self.b.smul_with_overflow, E.Add: self.b.sadd_with_overflow,
               E.Sub: self.b.ssub_with_overflow}
        checked = ops.get(type(e))
        if checked is None:
            return self.index64(e), _const(ir.IntType(1), 0)
        a, wrapped_a = self.checked_size64(e.a)
        b, wrapped_b = self.checked_size64(e.b)
        out = checked(a, b)
        wrapped = self.b.or_(self.b.or_(wrapped_a, wrapped_b), self.b.extract_value(out, 1))
        return self.b.extract_value(out, 0), wrapped

    def call_intrinsic(self, name: str, ret: ir.Type, args: list[ir.Value],
                       fastmath: tuple[str, ...] = ()) -> ir.Value:
        fn = self.m.declare(name, ret, [a.type for a in args])
        return self.b.call(fn, args, fastmath=fastmath)

    def choose(self, cond: ir.Value, then_fn: Callable[[], ir.Value], else_fn: Callable[[], ir.Value],
               name: str = "sel") -> ir.Value:
        """``then_fn()`` if ``cond`` else ``else_fn()``, each evaluated only on its own path."""
        then_bb = self.fn.append_basic_block(f"{name}.then")
        else_bb = self.fn.append_basic_block(f"{name}.else")
        merge_bb = self.fn.append_basic_block(f"{name}.end")
        self.b.cbranch(cond, then_bb, else_bb)
        self.b.position_at_end(then_bb)
        t = then_fn()
        t_end = self.b.block
        self.b.branch(merge_bb)
        self.b.position_at_end(else_bb)
        f = else_fn()
        f_end = self.b.block
        self.b.branch(merge_bb)
        self.b.position_at_end(merge_bb)
        phi = self.b.phi(t.type, name=name)
        phi.add_incoming(t, t_end)
        phi.add_incoming(f, f_end)
        return phi

    @contextlib.contextmanager
    def masked(self, mask: ir.Value) -> Iterator[None]:
        old = self.mask
        if old is not None and _lanes(old.type) == _lanes(mask.type):
            mask = self.b.and_(old, mask)
        self.mask = mask
        try:
            yield
        finally:
            self.mask = old

    def lane_mask(self, predicate: E.PrimExpr | None, lanes: int) -> ir.Value | None:
        """The lanes a vector access may touch: its predicate and the enclosing Select mask."""
        mask = None
        if predicate is not None:
            mask = self.visit(predicate)
            if _lanes(mask.type) != lanes:
                mask = self.splat(mask, lanes)
        if self.mask is not None and _lanes(self.mask.type) == lanes:
            mask = self.mask if mask is None else self.b.and_(mask, self.mask)
        return mask

    def may_fault(self, e: Any) -> bool:
        """Whether evaluating ``e`` could trap: it loads memory."""
        key = id(e)
        hit = self._may_fault_cache.get(key)
        if hit is None:
            if isinstance(e, E.Call) and e.name == CHECK:
                hit = True  # integer division is guarded and never traps; a failed CHECK returns
            elif isinstance(e, E.Load) and not self._in_bounds(e):
                hit = True
            else:
                hit = any(self.may_fault(c) for c in children(e))
            self._may_fault_cache[key] = hit
        return hit

    def cast(self, v: ir.Value, src: DType, dst: DType) -> ir.Value:
        if dst.lanes != src.lanes:
            if src.lanes != 1:
                raise BuildError(f"cannot cast {src} to {dst}: lane counts differ")
            return self.splat(self.cast(v, src, dst.element_of()), dst.lanes)
        if src == dst:
            return v
        if src.is_handle or dst.is_handle:
            raise BuildError(f"cannot cast {src} to {dst}")
        ty = llvm_type(dst)
        if dst.is_bool:
            zero = _const(v.type, 0)
            if src.is_float:
                return self.b.fcmp_unordered("!=", v, zero)
            return self.b.icmp_unsigned("!=", v, zero)
        if src.is_bool:
            return self.b.uitofp(v, ty) if dst.is_float else self.b.zext(v, ty)
        if src.is_float and dst.is_float:
            if dst.bits > src.bits:
                return self.b.fpext(v, ty)
            return self.b.fptrunc(v, ty) if dst.bits < src.bits else v
        if src.is_float:
            return self._float_to_int(v, src, dst)
        if dst.is_float:
            return self.b.sitofp(v, ty) if src.is_signed else self.b.uitofp(v, ty)
        return self.int_resize(v, ty, signed=src.is_signed)

    def _truncate_to_int(self, v: ir.Value, bits: int) -> ir.Value:
        """x86's truncating conversion: toward zero, and INT_MIN of ``bits`` for NaN and values
        out of range (LLVM's fptosi would give poison there)."""
        lanes = _lanes(v.type)
        ity = ir.IntType(bits) if lanes == 1 else ir.VectorType(ir.IntType(bits), lanes)
        limit = float(2 ** (bits - 1))
        inside = self.b.and_(self.b.fcmp_ordered(">=", v, _const(v.type, -limit)),
                             self.b.fcmp_ordered("<", v, _const(v.type, limit)))
        return self.b.select(inside, self.b.fptosi(v, ity), _const(ity, -(2 ** (bits - 1))))

    def _float_to_int(self, v: ir.Value, src: DType, dst: DType) -> ir.Value:
        """numpy's float -> int conversion on x86 (C casts: cvttsd2si), defined for every input:
        narrower than 32 bits and int32 convert through int32, uint32 and int64 through int64
        (so -1.0 becomes 4294967295 as uint32), uint64 through int64 with the 2**63 offset;
        NaN and out-of-range values give what those instructions give (INT_MIN, wrapped)."""
        ty = llvm_type(dst)
        if src.bits < 32:
            v = self.b.fpext(v, llvm_type(DType("float", 32, src.lanes)))
        if dst.bits < 32 or (dst.bits == 32 and dst.is_signed):
            return self.int_resize(self._truncate_to_int(v, 32), ty, signed=True)
        if dst.bits == 32 or dst.is_signed:
            return self.int_resize(self._truncate_to_int(v, 64), ty, signed=True)
        big = _const(v.type, float(2 ** 63))
        high = self.b.fcmp_ordered(">=", v, big)
        low_part = self._truncate_to_int(v, 64)
        high_part = self.b.xor(self._truncate_to_int(self.b.fsub(v, big), 64), _const(ty, -(2 ** 63)))
        return self.b.select(high, high_part, low_part)

    # -- leaves --

    def visit_Var(self, v: E.Var) -> ir.Value:
        value = self.vars.get(v)
        if value is None:
            raise BuildError(f"{self.m.func.name}: variable '{v.name}' is used but never bound "
                             "(not a parameter, loop variable, let or allocation in scope)")
        return value

    def visit_IntImm(self, e: E.IntImm) -> ir.Value:
        return _const(llvm_type(e.dtype), e.value)

    def visit_FloatImm(self, e: E.FloatImm) -> ir.Value:
        return _const(llvm_type(e.dtype), e.value)

    # -- arithmetic --

    def visit_Cast(self, e: E.Cast) -> ir.Value:
        return self.cast(self.visit(e.value), e.value.dtype, e.dtype)

    def _operands(self, e: E.BinaryOp) -> tuple[ir.Value, ir.Value, DType]:
        return self.visit(e.a), self.visit(e.b), e.a.dtype

    def _nsw(self, dt: DType) -> tuple[str, ...]:
        # Only the index types lowering picks (32 or 64 bits, wide enough for every buffer):
        # narrower arithmetic a user wrote inside an index (int8(j) + 127) wraps, as in numpy.
        return ("nsw",) if dt.is_signed and dt.bits >= 32 and self._in_index else ()

    def _arith(self, e: E.BinaryOp) -> ir.Value:
        a, b, dt = self._operands(e)
        on_float, on_bool, on_int = _ARITH[type(e)]
        if dt.is_float:
            return on_float(self.b, a, b, flags=self.m.arith_flags)
        return on_bool(self.b, a, b) if dt.is_bool else on_int(self.b, a, b, flags=self._nsw(dt))

    visit_Add = visit_Sub = visit_Mul = _arith

    def _divisor(self, b: ir.Value) -> ir.Value:
        """Inside a masked vector branch, divide the dead lanes by 1 so they cannot trap."""
        if self.mask is not None and _lanes(self.mask.type) == _lanes(b.type):
            return self.b.select(self.mask, b, _const(b.type, 1))
        return b

    def visit_Div(self, e: E.Div) -> ir.Value:
        if e.dtype.is_float:
            a, b, _ = self._operands(e)
            return self.b.fdiv(a, b, flags=self.m.fast_math)
        return self._int_division(e, want_div=True, floor=False)

    def visit_Mod(self, e: E.Mod) -> ir.Value:
        if e.dtype.is_float:
            a, b, _ = self._operands(e)
            return self.b.frem(a, b, flags=self.m.fast_math)
        return self._int_division(e, want_div=False, floor=False)

    def visit_FloorDiv(self, e: E.FloorDiv) -> ir.Value:
        if e.dtype.is_float:
            return self._float_floor_divmod(e, want_div=True)
        return self._int_division(e, want_div=True, floor=True)

    def visit_FloorMod(self, e: E.FloorMod) -> ir.Value:
        if e.dtype.is_float:
            return self._float_floor_divmod(e, want_div=False)
        return self._int_division(e, want_div=False, floor=True)

    def _int_division(self, e: E.BinaryOp, want_div: bool, floor: bool) -> ir.Value:
        """Integer division with te.numeric's meaning: a zero divisor gives 0 and
        INT_MIN / -1 wraps to INT_MIN, so no divisor ever traps (SIGFPE)."""
        a, b, dt = self._operands(e)
        zero = _const(a.type, 0)
        guard = not _is_safe_divisor(e.b)
        if guard:
            is_zero = self.b.icmp_unsigned("==", b, zero)
            bad = is_zero
            if dt.is_signed:
                is_m1 = self.b.icmp_signed("==", b, _const(a.type, -1))
                bad = self.b.or_(is_zero, is_m1)
            b = self.b.select(bad, _const(a.type, 1), b)
        b = self._divisor(b)
        if not dt.is_signed:
            out = self.b.udiv(a, b) if want_div else self.b.urem(a, b)
        else:
            q, r = self.b.sdiv(a, b), self.b.srem(a, b)
            if floor:
                # C truncates toward zero; numpy floors. They differ when the remainder is
                # nonzero and has the opposite sign of the divisor.
                adjust = self.b.and_(self.b.icmp_signed("!=", r, zero),
                                     self.b.icmp_signed("<", self.b.xor(r, b), zero))
                q = self.b.sub(q, self.b.zext(adjust, a.type))
                r = self.b.select(adjust, self.b.add(r, b), r)
            out = q if want_div else r
            if guard and want_div:  # x / -1 == -x, wrapping (computed above as x / 1)
                out = self.b.select(is_m1, self.b.sub(zero, a), out)
        if guard:
            out = self.b.select(is_zero, zero, out)
        return out

    def _float_floor_divmod(self, e: E.BinaryOp, want_div: bool) -> ir.Value:
        """numpy's float floor_divide/remainder: from fmod, so 1.0 // 0.1 == 9.0; float16 is
        computed in float32 and rounded once, as numpy does."""
        a, b, dt = self._operands(e)
        narrow = dt.bits < 32
        if narrow:
            wide = ir.FloatType() if dt.lanes == 1 else ir.VectorType(ir.FloatType(), dt.lanes)
            a, b = self.b.fpext(a, wide), self.b.fpext(b, wide)
        ty = a.type
        zero, one = _const(ty, 0.0), _const(ty, 1.0)
        mod = self.b.frem(a, b)
        if want_div:
            div = self.b.fdiv(self.b.fsub(a, mod), b)
        nonzero_mod = self.b.fcmp_unordered("!=", mod, zero)
        flip = self.b.and_(nonzero_mod, self.b.icmp_unsigned(
            "!=", self.b.fcmp_ordered("<", b, zero), self.b.fcmp_ordered("<", mod, zero)))
        sign0 = self.call_intrinsic(f"llvm.copysign.{_mangle(ty)}", ty, [zero, b])
        if not want_div:
            out = self.b.select(flip, self.b.fadd(mod, b), self.b.select(nonzero_mod, mod, sign0))
            # b == 0: fmod's NaN stands
            out = self.b.select(self.b.fcmp_ordered("==", b, zero), mod, out)
        else:
            div = self.b.select(flip, self.b.fsub(div, one), div)
            fl = self.call_intrinsic(f"llvm.floor.{_mangle(ty)}", ty, [div])
            half = _const(ty, 0.5)
            fl = self.b.select(self.b.fcmp_ordered(">", self.b.fsub(div, fl), half), self.b.fadd(fl, one), fl)
            quot = self.b.fdiv(a, b)
            signed_zero = self.call_intrinsic(f"llvm.copysign.{_mangle(ty)}", ty, [zero, quot])
            out = self.b.select(self.b.fcmp_unordered("!=", div, zero), fl, signed_zero)
            out = self.b.select(self.b.fcmp_ordered("==", b, zero), quot, out)
        if narrow:
            out = self.b.fptrunc(out, llvm_type(dt))
        return out

    def _min_max(self, e: E.BinaryOp, is_min: bool) -> ir.Value:
        a, b, dt = self._operands(e)
        if dt.is_float:
            # numpy.minimum: (a < b || isnan(a)) ? a : b, so NaN on either side propagates; a tie
            # gives b (minimum(-0.0, 0.0) is 0.0) for float32/64, but a for float16, whose numpy
            # loop compares with <=.
            op = ("<" if is_min else ">") + ("=" if dt.bits == 16 else "")
            m = self.b.select(self.b.fcmp_ordered(op, a, b, flags=self.m.fast_math), a, b)
            return self.b.select(self.b.fcmp_unordered("uno", a, a, flags=self.m.fast_math), a, m)
        op = ("s" if dt.is_signed else "u") + ("min" if is_min else "max")
        return self.call_intrinsic(f"llvm.{op}.{_mangle(a.type)}", a.type, [a, b])

    def visit_Min(self, e: E.Min) -> ir.Value:
        return self._min_max(e, is_min=True)

    def visit_Max(self, e: E.Max) -> ir.Value:
        return self._min_max(e, is_min=False)

    def visit_CmpOp(self, e: E.CmpOp) -> ir.Value:
        a, b, dt = self._operands(e)
        op = _CMP_OPS[type(e)]
        if dt.is_float:
            # != is the unordered compare, so x != x finds NaN (te.isnan relies on it).
            if op == "!=":
                return self.b.fcmp_unordered(op, a, b, flags=self.m.fast_math)
            return self.b.fcmp_ordered(op, a, b, flags=self.m.fast_math)
        if dt.is_signed:
            return self.b.icmp_signed(op, a, b)
        return self.b.icmp_unsigned(op, a, b)

    def visit_And(self, e: E.And) -> ir.Value:
        a, b, _ = self._operands(e)
        return self.b.and_(a, b)

    def visit_Or(self, e: E.Or) -> ir.Value:
        a, b, _ = self._operands(e)
        return self.b.or_(a, b)

    def visit_BitwiseAnd(self, e: E.BitwiseAnd) -> ir.Value:
        a, b, _ = self._operands(e)
        return self.b.and_(a, b)

    def visit_BitwiseOr(self, e: E.BitwiseOr) -> ir.Value:
        a, b, _ = self._operands(e)
        return self.b.or_(a, b)

    def visit_BitwiseXor(self, e: E.BitwiseXor) -> ir.Value:
        a, b, _ = self._operands(e)
        return self.b.xor(a, b)

    def _shift(self, e: E.BinaryOp, left: bool) -> ir.Value:
        """numpy's shifts (``numeric.shift``): LLVM's shl/ashr by a count of ``bits`` or more is
        poison, so the count is masked into range and an out-of-range count (negative ones
        included: compared unsigned) selects what shifting everything out gives."""
        a, b, dt = self._operands(e)
        bits = dt.bits
        count = self.b.and_(b, _const(b.type, bits - 1))
        in_range = self.b.icmp_unsigned("<", b, _const(b.type, bits))
        if left:
            return self.b.select(in_range, self.b.shl(a, count), _const(a.type, 0))
        if dt.is_signed:
            return self.b.select(in_range, self.b.ashr(a, count), self.b.ashr(a, _const(a.type, bits - 1)))
        return self.b.select(in_range, self.b.lshr(a, count), _const(a.type, 0))

    def visit_ShiftLeft(self, e: E.ShiftLeft) -> ir.Value:
        return self._shift(e, left=True)

    def visit_ShiftRight(self, e: E.ShiftRight) -> ir.Value:
        return self._shift(e, left=False)

    def _in_bounds(self, e: E.Load) -> bool:
        """Whether every lane of ``e`` reads inside its buffer wherever the enclosing loops run
        (then a Select may load it whichever side it picks: a plain select, which vectorizes)."""
        size = self.m.buffer_sizes.get(e.buffer)
        elem = self.m.buffer_elems.get(e.buffer)
        if size is None or elem is None or e.predicate is not None:
            return False
        # The size counts elements of the buffer's own type; a typed view of the same storage
        # (decl_buffer(data=...) with a wider dtype) holds fewer of its elements.
        size = size * elem.bytes // e.dtype.element_of().bytes
        index, span = e.index, 0
        if isinstance(index, E.Ramp):
            if not isinstance(index.stride, E.IntImm):
                return False
            index, span = index.base, (index.lanes - 1) * index.stride.value
        elif isinstance(index, E.Broadcast):
            index = index.value
        lo, hi = const_bound(index, self.loop_ranges)
        return lo is not None and hi is not None and lo + min(span, 0) >= 0 and hi + max(span, 0) < size

    def visit_Not(self, e: E.Not) -> ir.Value:
        return self.b.not_(self.visit(e.a))

    def visit_Select(self, e: E.Select) -> ir.Value:
        cond = self.visit(e.condition)
        if not (self.may_fault(e.true_value) or self.may_fault(e.false_value)):
            return self.b.select(cond, self.visit(e.true_value), self.visit(e.false_value))
        if e.condition.dtype.lanes == 1:
            return self.choose(cond, lambda: self.visit(e.true_value),
                               lambda: self.visit(e.false_value))
        # A vector condition cannot steer a branch: evaluate each side when any lane wants it,
        # with the other lanes masked off, then blend.
        zero = _const(llvm_type(e.dtype), 0)

        def side(mask: ir.Value, value: E.PrimExpr) -> ir.Value:
            def run() -> ir.Value:
                with self.masked(mask):
                    return self.visit(value)
            return self.choose(self._any(mask), run, lambda: zero)

        t = side(cond, e.true_value)
        f = side(self.b.not_(cond), e.false_value)
        return self.b.select(cond, t, f)

    def _any(self, mask: ir.Value) -> ir.Value:
        return self.call_intrinsic(f"llvm.vector.reduce.or.{_mangle(mask.type)}", I1, [mask])

    def visit_Call(self, e: E.Call) -> ir.Value:
        name = e.name
        if name == "tvm_call_packed":
            return self._packed_call(e)
        if name == TRACE:
            return self._trace_call(e)
        if name in ("call_extern", "call_pure_extern"):
            return self._extern_call(e)
        if name == OPAQUE:
            return self._opaque(e)
        if name == "tl.address_of":
            return self._address_of(e)
        if name == "address_of" and len(e.args) == 1 and isinstance(e.args[0], E.Load):
            # TVM's tir.address_of(A[i]): the address of a loaded element
            load = e.args[0]
            elem = llvm_type(load.dtype.element_of(), in_memory=True)
            return self.b.gep(self.visit(load.buffer), [self.index64(load.index)], source_etype=elem)
        if name == streaming_stores.GAP_INTRINSIC:
            return self._alignment_gap(e)
        if name in ("call_llvm_pure_intrin", "call_llvm_intrin"):
            return self._llvm_intrin(e)
        if name == "reinterpret":
            v = self.visit(e.args[0])
            ty = llvm_type(e.dtype)
            if e.dtype.bits * e.dtype.lanes != e.args[0].dtype.bits * e.args[0].dtype.lanes:
                raise BuildError(f"reinterpret of {e.args[0].dtype} as {e.dtype}: the sizes differ")
            return self.b.bitcast(v, ty)
        if name == CHECK:  # one dimension of a read lowering could not prove inside its tensor
            index, size, what = e.args
            lanes = index.dtype.lanes
            self.check_access(index, size, what.value, self.access_mask if lanes > 1 else None, write=False)
            return self.visit(index)
        if name == "likely":
            v = self.visit(e.args[0])
            if isinstance(v.type, ir.VectorType):
                return v
            return self.call_intrinsic("llvm.expect.i1", I1, [v, _const(I1, 1)])
        if name == "prefetch":  # (address, rw, locality, cache type): a hint, returns nothing
            return self._prefetch(e)
        if name not in _FLOAT_INTRINSICS:
            raise BuildError(f"unknown intrinsic '{name}' in {self.m.func.name}; known: likely, prefetch, "
                             f"{', '.join(sorted(_FLOAT_INTRINSICS))}")
        if not e.dtype.is_float:
            raise BuildError(f"intrinsic '{name}' computes a float, but is called with type {e.dtype}")
        args = [self.visit(a) for a in e.args]
        ty = llvm_type(e.dtype)
        if name in vecmath.FUNCTIONS and e.dtype.bits in (16, 32):
            return self._vector_math(name, args[0], e.dtype)
        if name == "ldexp":  # (float, int32): te.ldexp clamps the exponent into int32
            x, k = args
            if isinstance(ty, ir.VectorType) and not isinstance(k.type, ir.VectorType):
                k = self.splat(k, ty.count)
            if e.dtype.bits == 16:  # in float32, exactly; rounding to half then happens once
                wide = ir.VectorType(ir.FloatType(), ty.count) if isinstance(ty, ir.VectorType) else ir.FloatType()
                y = self.call_intrinsic(f"llvm.ldexp.{_mangle(wide)}.{_mangle(k.type)}", wide,
                                        [self.b.fpext(x, wide), k])
                return self.b.fptrunc(y, ty)
            return self.call_intrinsic(f"llvm.ldexp.{_mangle(ty)}.{_mangle(k.type)}", ty, [x, k])
        if name in _LLVM_MATH and e.dtype.bits == 16 and name not in _EXACT_IN_HALF:
            # In float32, rounded to half once: LLVM's half math folds exp2 of an int-to-half
            # conversion into a half ldexp that x86 lowers wrongly (exp2(-3) gave NaN).
            wide = llvm_type(DType("float", 32, e.dtype.lanes))
            y = self.call_intrinsic(f"{_LLVM_MATH[name]}.{_mangle(wide)}", wide,
                                    [self.b.fpext(a, wide) for a in args], self.m.fast_math)
            return self.b.fptrunc(y, ty)
        if name in _LLVM_MATH:
            return self.call_intrinsic(f"{_LLVM_MATH[name]}.{_mangle(ty)}", ty, args, self.m.fast_math)
        if name == "exp10":
            return self._exp10(args[0], e.dtype)
        if name == "nextafter" and e.dtype.bits == 16:
            return self._nextafter_half(args[0], args[1], ty)
        return self._libm_call(_LIBM[name], args, e.dtype)

    def _prefetch(self, e: E.Call) -> ir.Value:
        """TVM's ``tir.prefetch(address, rw, locality, cache_type)`` as ``llvm.prefetch``."""
        if len(e.args) != 4 or not all(isinstance(a, E.IntImm) for a in e.args[1:]):
            raise BuildError(f"{self.m.func.name}: prefetch takes (address, rw, locality, cache type), the last "
                             f"three constants; got {len(e.args)} argument(s)")
        rw, locality, cache = (a.value for a in e.args[1:])
        if rw not in (0, 1) or locality not in range(4) or cache not in (0, 1):
            raise BuildError(f"{self.m.func.name}: prefetch rw must be 0 or 1, locality 0-3 and cache type 0 or 1; "
                             f"got {rw}, {locality}, {cache}")
        ptr = self.b.bitcast(self.visit(e.args[0]), I8.as_pointer())
        self.call_intrinsic("llvm.prefetch.p0", ir.VoidType(), [ptr, _const(I32, rw), _const(I32, locality),
                                                                _const(I32, cache)])
        return _const(llvm_type(e.dtype), 0) if not e.dtype.is_handle else ir.Constant(I8.as_pointer(), None)

    def _trace_call(self, e: E.Call) -> ir.Value:
        """TVM's ``tir.trace``: call the trace action with the values, then take the last value
        back from its argument slot (the action may have replaced it; see target.packed)."""
        if e.dtype.lanes != 1:
            raise BuildError(f"{self.m.func.name}: tir.trace of a {e.dtype} value (a vectorized loop) is not "
                             "supported; trace in a loop that is not vectorized")
        _, vals = self._packed_call(e, name_prefix=packed.TRACE_PREFIX)
        last = len(e.args) - 2
        slot = self.b.load(self.b.gep(vals, [_const(I32, 0), _const(I32, last)], inbounds=True,
                                      source_etype=ir.ArrayType(I64, last + 1)), name="trace.value", typ=I64)
        ty = llvm_type(e.dtype)
        if e.dtype.is_float:
            v = self.b.bitcast(slot, ir.DoubleType())
            return v if e.dtype.bits == 64 else self.b.fptrunc(v, ty)
        if e.dtype.is_bool:  # any nonzero number the action returns is True
            return self.b.icmp_signed("!=", slot, _const(I64, 0))
        return slot if ty.width == 64 else self.b.trunc(slot, ty)

    def _packed_call(self, e: E.Call, name_prefix: str | None = None) -> Any:
        """Call a tl.register_func'ed function through the module's packed-call slot (see
        target.packed for the argument encoding); a failure returns from this function."""
        codes: list[int] = []
        slots: list[ir.Value] = []
        for a in e.args[1:]:
            if isinstance(a, E.Call) and a.name == "tl.array":
                codes.append(packed.ARRAY)
                dims = a.args[2:]
                slots += [self.b.ptrtoint(self.visit(a.args[0]), I64), _const(I64, a.args[1].value),
                          _const(I64, len(dims))] + [self.index64(d) for d in dims]
            elif isinstance(a, E.StringImm):
                codes.append(packed.STRING)
                slots.append(self.b.ptrtoint(self.m.string_constant(a.value), I64))
            elif a.dtype.is_float:
                codes.append(packed.FLOAT)
                v = self.visit(a)
                if a.dtype.bits != 64:
                    v = self.b.fpext(v, ir.DoubleType())
                slots.append(self.b.bitcast(v, I64))
            elif a.dtype.is_handle:
                codes.append(packed.INT)
                slots.append(self.b.ptrtoint(self.visit(a), I64))
            else:
                codes.append(packed.INT)
                v = self.visit(a)
                slots.append(self.b.zext(v, I64) if a.dtype.is_bool or not a.dtype.is_signed else self.b.sext(v, I64)
                             if v.type.width < 64 else v)
        vals = self.alloca(ir.ArrayType(I64, max(len(slots), 1)), name="packed.args")
        kinds = self.alloca(ir.ArrayType(I32, max(len(codes), 1)), name="packed.codes")
        for k, v in enumerate(slots):
            self.b.store(v, self.b.gep(vals, [_const(I32, 0), _const(I32, k)], inbounds=True,
                                       source_etype=ir.ArrayType(I64, max(len(slots), 1))))
        for k, c in enumerate(codes):
            self.b.store(_const(I32, c), self.b.gep(kinds, [_const(I32, 0), _const(I32, k)], inbounds=True,
                                                    source_etype=ir.ArrayType(I32, max(len(codes), 1))))
        fn = _FunctionPointerLoad(self.b.block, self.m.packed_call_slot(), ir.FunctionType(I32, [PTR, PTR, PTR, I32]),
                                  "packed.fn")
        self.b._insert(fn)
        fname = e.args[0].value if name_prefix is None else name_prefix + e.args[0].value
        status = self.b.call(fn, [self.m.string_constant(fname), vals, kinds, _const(I32, len(codes))],
                             name="packed.status")
        self._return_on_error(status)
        return status if name_prefix is None else (status, vals)

    def _extern_call(self, e: E.Call) -> ir.Value:
        """Call the C function named by the first argument (libm, a loaded library), lane by lane."""
        name = e.args[0].value
        args = e.args[1:]
        ret = llvm_type(e.dtype.element_of())
        arg_types = [PTR if a.dtype.is_handle else llvm_type(a.dtype.element_of()) for a in args]
        fn = self.m.declare(name, ret, arg_types)
        values = [self.visit(a) for a in args]
        if e.dtype.lanes == 1:
            return self.b.call(fn, values)
        out = ir.Constant(llvm_type(e.dtype), ir.Undefined)
        for k in range(e.dtype.lanes):
            lane = _const(I32, k)
            lane_args = [self.b.extract_element(v, lane) if isinstance(v.type, ir.VectorType) else v for v in values]
            out = self.b.insert_element(out, self.b.call(fn, lane_args), lane)
        return out

    def _llvm_intrin(self, e: E.Call) -> ir.Value:
        """An LLVM intrinsic by name (``tir.call_llvm_pure_intrin``): the arguments after the
        name are the count of overloaded argument types, then the operands; an overloaded name
        gets the types of that many leading operands as its suffix."""
        name = e.args[0].value
        count = e.args[1]
        if not isinstance(count, E.IntImm):
            raise BuildError(f"{e.name} of {name}: the signature count must be a constant, got {count}")
        operands = [self.visit(a) for a in e.args[2:]]
        if count.value > len(operands):
            raise BuildError(f"{e.name} of {name}: signature count {count.value} exceeds its "
                             f"{len(operands)} operands")
        if count.value:
            name = ".".join([name, *(_mangle(v.type) for v in operands[:count.value])])
        return self.call_intrinsic(name, llvm_type(e.dtype), operands)

    def _opaque(self, e: E.Call) -> ir.Value:
        """The argument through an empty inline asm: the same value, which the optimizer cannot
        fold into what uses it (te.intrin.OPAQUE)."""
        value = self.visit(e.args[0])
        if not isinstance(value.type, ir.IntType) or value.type.width not in (8, 16, 32, 64):
            return value
        asm = ir.InlineAsm(ir.FunctionType(value.type, [value.type]), "", "=r,0")
        return self.b.call(asm, [value])

    def _address_of(self, e: E.Call) -> ir.Value:
        """A pointer ``offset`` elements into a buffer."""
        base = self.visit(e.args[0])
        elem = llvm_type(as_dtype(DTYPES[e.args[2].value]), in_memory=True)
        return self.b.gep(base, [self.index64(e.args[1])], source_etype=elem)

    def _alignment_gap(self, e: E.Call) -> ir.Value:
        """Elements from ``buffer + index`` up to the next ``align``-byte boundary; the type's
        largest value when the address is not a multiple of the element size (no boundary is
        ever reached by whole elements)."""
        base = self.visit(e.args[0])
        align, elem_bytes = e.args[2].value, e.args[3].value
        addr = self.b.ptrtoint(self.b.gep(base, [self.index64(e.args[1])], source_etype=I8 if elem_bytes == 1
                                          else ir.IntType(8 * elem_bytes)), I64)
        gap = self.b.lshr(self.b.and_(self.b.sub(_const(I64, 0), addr), _const(I64, align - 1)),
                          _const(I64, elem_bytes.bit_length() - 1))
        ty = llvm_type(e.dtype)
        odd = self.b.icmp_unsigned("!=", self.b.and_(addr, _const(I64, elem_bytes - 1)), _const(I64, 0))
        return self.b.select(odd, _const(ty, (1 << (ty.width - 1)) - 1), self.int_resize(gap, ty, signed=False))

    def stream_fence(self) -> None:
        """Order the streaming stores before anything that follows (another thread's reads
        after the join): sfence on x86, a full fence elsewhere."""
        if self.m.target.triple.startswith(("x86_64", "i686", "i386")):
            self.call_intrinsic("llvm.x86.sse.sfence", ir.VoidType(), [])
        else:
            self.b.fence("seq_cst")

    @contextlib.contextmanager
    def streaming(self, loop: S.For) -> Iterator[None]:
        """Inside ``loop``, stores may stream when streaming_stores annotated it; fence after it."""
        annotations = dict(loop.annotations)
        align = annotations.get(streaming_stores.ANNOTATION_KEY, 0)
        only = annotations.get(pipeline_rows.STREAM_ONLY_KEY)
        old, old_only = self.stream_align, self.stream_only
        self.stream_align = align
        self.stream_only = frozenset(only) if only is not None else None
        try:
            yield
        finally:
            self.stream_align, self.stream_only = old, old_only
        if align:
            self.stream_fence()

    @contextlib.contextmanager
    def prefetching(self, loop: S.For) -> Iterator[None]:
        """Inside ``loop``, loads prefetch ahead when the schedule asked (pragma prefetch)."""
        ahead = dict(loop.annotations).get(PREFETCH_KEY)
        old = self.prefetch_ahead
        if ahead is not None:
            self.prefetch_ahead = int(ahead)
        try:
            yield
        finally:
            self.prefetch_ahead = old

    def prefetch(self, base: ir.Value, index: ir.Value, mem_ty: ir.Type, nbytes: int) -> None:
        """Prefetch the ``nbytes`` from element ``index + prefetch_ahead`` of ``base`` into the
        cache, one cache line at a time (a prefetch never faults, even past the buffer)."""
        ahead = self.b.add(index, _const(I64, self.prefetch_ahead))
        ptr = self.b.gep(base, [ahead], source_etype=mem_ty)
        for offset in range(0, nbytes, _CACHE_LINE):
            line = self.b.gep(ptr, [_const(I64, offset)], source_etype=I8) if offset else ptr
            self.call_intrinsic("llvm.prefetch.p0", ir.VoidType(),
                                [line, _const(I32, 0), _const(I32, 3), _const(I32, 1)])

    def _vector_math(self, name: str, x: ir.Value, dt: DType) -> ir.Value:
        """exp/log/tanh/erf as inline polynomial code (see vecmath); float16 computes in float32."""
        avx512 = self.m.target.x86_avx512
        if dt.bits == 16:
            work = llvm_type(DType("float", 32, dt.lanes))
            return self.b.fptrunc(vecmath.call(self.b, self.m.declare, name, self.b.fpext(x, work), avx512), x.type)
        return vecmath.call(self.b, self.m.declare, name, x, avx512)

    def _exp10(self, x: ir.Value, dt: DType) -> ir.Value:
        """10**x within an ulp: float16 and float32 as exp(x * ln 10) in float64 (the product's
        rounding error, about 1e-14 relative, stays far below their ulp), float64 by libm's
        pow(10, x), as numpy computes it (the same product in float64 cost up to hundreds of ulps)."""
        ty = llvm_type(dt)
        if dt.bits == 64:
            return self._libm_call(("powf", "pow"), [_const(ty, 10.0), x], dt)
        work = llvm_type(DType("float", 64, dt.lanes))
        scaled = self.b.fmul(self.b.fpext(x, work), _const(work, math.log(10.0)))
        y = self.call_intrinsic(f"llvm.exp.{_mangle(work)}", work, [scaled])
        return self.b.fptrunc(y, ty)

    def _nextafter_half(self, x: ir.Value, y: ir.Value, ty: ir.Type) -> ir.Value:
        """The next float16 after ``x`` towards ``y``, on the bits (float32's nextafter moves by
        a float32 step, which rounds back to ``x``)."""
        b = self.b
        vec = isinstance(ty, ir.VectorType)
        ity = ir.VectorType(ir.IntType(16), ty.count) if vec else ir.IntType(16)
        zero = _const(ty, 0.0)
        xb = b.bitcast(x, ity)
        up = b.xor(b.fcmp_ordered(">", y, x), b.fcmp_ordered("<", x, zero))
        stepped = b.select(up, b.add(xb, _const(ity, 1)), b.sub(xb, _const(ity, 1)))
        # From zero: the smallest subnormal with y's sign.
        tiny = b.or_(b.and_(b.bitcast(y, ity), _const(ity, 0x8000)), _const(ity, 1))
        moved = b.bitcast(b.select(b.fcmp_ordered("==", x, zero), tiny, stepped), ty)
        # Equal arguments give x, as numpy's half nextafter does (C's float/double ones give y:
        # nextafter(0.0, -0.0) is -0.0 in float32 and +0.0 in float16).
        same = b.select(b.fcmp_ordered("==", x, y), x, moved)
        return b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), same)

    def _libm_call(self, symbols: tuple[str, str], xs: list[ir.Value], dt: DType) -> ir.Value:
        """A libm function of one or more arguments, lane by lane; float16 is computed in float32."""
        fty = ir.DoubleType() if dt.bits == 64 else ir.FloatType()
        fn = self.m.declare(symbols[1] if dt.bits == 64 else symbols[0], fty, [fty] * len(xs))
        elem = llvm_type(dt.element_of())

        def one(vs: list[ir.Value]) -> ir.Value:
            if dt.bits == 16:
                return self.b.fptrunc(self.b.call(fn, [self.b.fpext(v, ir.FloatType()) for v in vs]), elem)
            return self.b.call(fn, vs)

        if dt.lanes == 1:
            return one(xs)
        out = ir.Constant(xs[0].type, ir.Undefined)
        for k in range(dt.lanes):
            lane = _const(I32, k)
            out = self.b.insert_element(out, one([self.b.extract_element(x, lane) for x in xs]), lane)
        return out

    def visit_Let(self, e: E.Let) -> ir.Value:
        with self.bind(e.var, self.visit(e.value)):
            return self.visit(e.body)

    # -- vectors and memory --

    def visit_Broadcast(self, e: E.Broadcast) -> ir.Value:
        return self.splat(self.visit(e.value), e.lanes)

    def visit_Ramp(self, e: E.Ramp) -> ir.Value:
        dt = e.base.dtype
        base = self.splat(self.visit(e.base), e.lanes)
        stride = self.splat(self.visit(e.stride), e.lanes)
        steps = ir.Constant(base.type, [_const(base.type.element, k) for k in range(e.lanes)])
        if dt.is_float:
            return self.b.fadd(base, self.b.fmul(stride, steps, flags=self.m.fast_math),
                               flags=self.m.fast_math)
        return self.b.add(base, self.b.mul(stride, steps, flags=self._nsw(dt)), flags=self._nsw(dt))

    def _vector_pointers(self, base: ir.Value, index: E.PrimExpr, elem_ty: ir.Type) -> ir.Value:
        ptrs = self.b.gep(base, [self.index64(index)], source_etype=elem_ty)
        ptrs.type = ir.VectorType(PTR, index.dtype.lanes)  # llvmlite types a vector GEP as ptr
        return ptrs

    def _masked_intrinsic(self, name: str, ret: ir.Type, args: list[ir.Value], ptr_arg: int,
                          align: int) -> ir.Value:
        fn = self.m.declare(name, ret, [a.type for a in args])
        call = self.b.call(fn, args, arg_attrs={ptr_arg: ()})
        call.arg_attributes[ptr_arg].align = align  # LLVM 22: alignment is a pointer attribute
        return call

    def check_access(self, index: E.PrimExpr, size: E.PrimExpr, name: str, mask: ir.Value | None,
                     write: bool) -> None:
        """Return ERR_OUT_OF_BOUNDS, after recording where, when an enabled lane of ``index``
        falls outside [0, size)."""
        idx = self.index64(index)
        n = self.index64(size)
        lanes = index.dtype.lanes
        if lanes == 1:
            bad = self.b.icmp_unsigned(">=", idx, n)  # unsigned: negative indices fail too
        else:
            bad_lanes = self.b.icmp_unsigned(">=", idx, self.splat(n, lanes))
            if mask is not None:
                bad_lanes = self.b.and_(bad_lanes, mask)
            bad = self._any(bad_lanes)
        with self.b.if_then(bad, likely=False):
            if lanes > 1:  # the first failing lane
                bits = self.b.bitcast(bad_lanes, ir.IntType(lanes))
                first = self.call_intrinsic(f"llvm.cttz.i{lanes}", bits.type, [bits, _const(I1, 0)])
                idx = self.b.extract_element(idx, self.int_resize(first, I32, signed=False))
            claim, g_index, g_size, g_name, g_write = self.m.oob_globals()
            won = self.b.extract_value(self.b.cmpxchg(claim, _const(I32, 0), _const(I32, 1), "seq_cst", "seq_cst"), 1)
            with self.b.if_then(won):
                self.b.store(idx, g_index)
                self.b.store(n, g_size)
                self.b.store(self.m.string_constant(name), g_name)
                self.b.store(_const(I32, int(write)), g_write)
            self.error_return(_const(I32, ERR_OUT_OF_BOUNDS))

    def visit_Load(self, e: E.Load) -> ir.Value:
        if id(e) in self._transposed:
            return self._transposed.pop(id(e))
        index, size, name = unwrap_checked(e.index)
        if size is not None:
            e = e.with_fields(index=index)
        elem = e.dtype.element_of()
        mem_ty = llvm_type(elem, in_memory=True)
        align = elem.bytes  # numpy only guarantees element alignment
        base = self.visit(e.buffer)
        lanes = e.dtype.lanes
        if e.index.dtype.lanes != lanes:
            raise BuildError(f"load of {e.buffer.name}: {lanes}-lane value with a "
                             f"{e.index.dtype.lanes}-lane index")
        if lanes == 1:
            def load() -> ir.Value:
                if size is not None:
                    self.check_access(e.index, size, name, None, write=False)
                ptr = self.b.gep(base, [self.index64(e.index)], source_etype=mem_ty)
                return self.b.load(ptr, typ=mem_ty, align=align, name=e.buffer.name)
            if e.predicate is None:
                value = load()
            else:
                value = self.choose(self.visit(e.predicate), load, lambda: _const(mem_ty, 0), "pred")
        else:
            vty = ir.VectorType(mem_ty, lanes)
            mask = self.lane_mask(e.predicate, lanes)
            if size is not None:
                self.check_access(e.index, size, name, mask, write=False)
            outer_mask, self.access_mask = self.access_mask, mask
            zero = _const(vty, 0)
            if isinstance(e.index, E.Broadcast):
                # One address for every lane: a scalar load (when any lane is live) and a splat,
                # instead of a gather.
                def scalar() -> ir.Value:
                    ptr = self.b.gep(base, [self.index64(e.index.value)], source_etype=mem_ty)
                    return self.b.load(ptr, typ=mem_ty, align=align, name=e.buffer.name)
                if mask is None:
                    value = self.splat(scalar(), lanes)
                else:
                    live = self.call_intrinsic(f"llvm.vector.reduce.or.{_mangle(mask.type)}", I1, [mask])
                    value = self.b.select(mask, self.splat(self.choose(live, scalar, lambda: _const(mem_ty, 0),
                                                                       "bcast"), lanes), zero)
            elif _is_contiguous(e.index):
                ptr = self.b.gep(base, [self.index64(e.index.base)], source_etype=mem_ty)
                if self.prefetch_ahead and e.buffer in self.m.param_buffers:
                    self.prefetch(base, self.index64(e.index.base), mem_ty, lanes * elem.bytes)
                if mask is None:
                    value = self.b.load(ptr, typ=vty, align=align, name=e.buffer.name)
                else:
                    value = self._masked_intrinsic(f"llvm.masked.load.{_mangle(vty)}.p0", vty,
                                                   [ptr, mask, zero], 0, align)
            else:
                ptrs = self._vector_pointers(base, e.index, mem_ty)
                if mask is None:
                    mask = _const(ir.VectorType(I1, lanes), 1)
                value = self._masked_intrinsic(f"llvm.masked.gather.{_mangle(vty)}.{_mangle(ptrs.type)}",
                                               vty, [ptrs, mask, zero], 0, align)
            self.access_mask = outer_mask
        if elem.is_bool:
            return self.b.icmp_unsigned("!=", value, _const(value.type, 0))
        return value

    def visit_Store(self, s: S.Store) -> None:
        index, size, name = unwrap_checked(s.index)
        if size is not None:
            s = s.with_fields(index=index)
        vdt = s.value.dtype
        elem = vdt.element_of()
        want = self.m.buffer_elems.get(s.buffer)
        if want is not None and want != elem:
            raise BuildError(f"store to {s.buffer.name}: a {elem} value into a {want} buffer ({s.value}); "
                             "the IR must convert it first")
        mem_ty = llvm_type(elem, in_memory=True)
        align = elem.bytes
        lanes = vdt.lanes
        if s.index.dtype.lanes != lanes:
            raise BuildError(f"store to {s.buffer.name}: {lanes}-lane value with a "
                             f"{s.index.dtype.lanes}-lane index")
        base = self.visit(s.buffer)
        value = self.visit(s.value)
        if elem.is_bool:
            value = self.b.zext(value, llvm_type(vdt, in_memory=True))
        if lanes == 1:
            def store() -> None:
                if size is not None:
                    self.check_access(s.index, size, name, None, write=True)
                ptr = self.b.gep(base, [self.index64(s.index)], source_etype=mem_ty)
                self.b.store(value, ptr, align=align)
            if s.predicate is None:
                store()
            else:
                with self.b.if_then(self.visit(s.predicate)):
                    store()
            return
        mask = self.lane_mask(s.predicate, lanes)
        if size is not None:
            self.check_access(s.index, size, name, mask, write=True)
        void = ir.VoidType()
        if _is_contiguous(s.index):
            ptr = self.b.gep(base, [self.index64(s.index.base)], source_etype=mem_ty)
            known = None if s.predicate is None or self.mask is not None else _constant_lanes(s.predicate, lanes)
            if known is not None and sum(map(bool, known)) <= 1:
                # A guarded tail with one lane left: store that element alone.  LLVM's x86
                # backend (AVX-512) turns a one-lane masked store of a narrowing cast into a
                # store of the wide element (a 1-lane int32 -> int16 tail wrote 4 bytes, past
                # the end of the buffer).
                for k, on in enumerate(known):
                    if on:
                        at = self.b.gep(ptr, [_const(I64, k)], source_etype=mem_ty) if k else ptr
                        self.b.store(self.b.extract_element(value, _const(I32, k)), at, align=elem.bytes)
                return
            if (mask is None and self.stream_align and (lanes * elem.bytes) % self.stream_align == 0
                    and (self.stream_only is None or s.buffer in self.stream_only)):
                # Aligned by construction (streaming_stores); LLVM only streams aligned vectors.
                self._stream_store(value, ptr, mem_ty, self.stream_align // elem.bytes)
            elif mask is None:
                self.b.store(value, ptr, align=align)
            else:
                self._masked_intrinsic(f"llvm.masked.store.{_mangle(value.type)}.p0", void,
                                       [value, ptr, mask], 1, align)
            return
        ptrs = self._vector_pointers(base, s.index, mem_ty)
        if mask is None:
            mask = _const(ir.VectorType(I1, lanes), 1)
        self._masked_intrinsic(f"llvm.masked.scatter.{_mangle(value.type)}.{_mangle(ptrs.type)}", void,
                               [value, ptrs, mask], 1, align)

    def _stream_store(self, value: ir.Value, ptr: ir.Value, mem_ty: ir.Type, piece: int) -> None:
        """Non-temporal stores of ``value`` at the aligned ``ptr``, one aligned ``piece`` (a cache
        line) at a time in rising address order.  One wide store leaves the order of its lines
        to LLVM's legalization, which mixes them up; on Zen 5 that cut a 128-lane copy loop from
        54 to 34 GB/s, and line by line it reads 48."""
        nt = self.m.module.add_metadata([_const(I32, 1)])
        lanes = value.type.count
        if lanes <= piece:
            self.b.store(value, ptr, align=self.stream_align).set_metadata("nontemporal", nt)
            return
        for start in range(0, lanes, piece):
            lines = ir.Constant(ir.VectorType(I32, piece), [ir.Constant(I32, k) for k in range(start, start + piece)])
            part = self.b.shuffle_vector(value, value, lines)
            at = self.b.gep(ptr, [_const(I64, start)], source_etype=mem_ty) if start else ptr
            self.b.store(part, at, align=self.stream_align).set_metadata("nontemporal", nt)

    # -- statements --

    def visit_SeqStmt(self, s: S.SeqStmt) -> None:
        blocks = {blk.start: blk for blk in transpose.find_blocks(s.seq)}
        for k, x in enumerate(s.seq):
            if k in blocks:
                self._transpose_block(blocks[k])
            self.visit(x)

    def _transpose_block(self, blk: transpose.Block) -> None:
        """Emit the block's rows as contiguous loads, transposed in registers; its stores then
        take their values from ``_transposed`` instead of gathering them."""
        first = blk.loads[0]
        n, lanes = len(blk.loads), blk.lanes
        mem_ty = llvm_type(first.dtype.element_of(), in_memory=True)
        vty = ir.VectorType(mem_ty, n)
        align = first.dtype.element_of().bytes
        base = self.visit(first.buffer)
        start = self.index64(blk.base)
        mask = self.lane_mask(blk.predicate, lanes)
        rows = []
        for j in range(n):
            if j >= lanes:  # a square block for the network; these lanes are dropped after it
                rows.append(_const(vty, 0))
                continue
            ptr = self.b.gep(base, [self.b.add(start, _const(I64, j * blk.stride))], source_etype=mem_ty)
            if mask is None:
                rows.append(self.b.load(ptr, typ=vty, align=align, name=f"{first.buffer.name}.row"))
            else:
                live = self.splat(self.b.extract_element(mask, _const(I32, j)), n)
                rows.append(self._masked_intrinsic(f"llvm.masked.load.{_mangle(vty)}.p0", vty,
                                                   [ptr, live, _const(vty, 0)], 0, align))
        keep = ir.Constant(ir.VectorType(I32, lanes), list(range(lanes)))
        for ld, col in zip(blk.loads, transpose.transpose(self.b, rows)):
            if lanes < n:
                col = self.b.shuffle_vector(col, col, keep)
            self._transposed[id(ld)] = col

    def visit_Evaluate(self, s: S.Evaluate) -> None:
        if not isinstance(s.value, (E.IntImm, E.FloatImm)):
            self.visit(s.value)

    def visit_LetStmt(self, s: S.LetStmt) -> None:
        with self.bind(s.var, self.visit(s.value)):
            self.visit(s.body)

    def visit_IfThenElse(self, s: S.IfThenElse) -> None:
        if s.condition.dtype.lanes != 1:
            raise BuildError(f"if condition must be a scalar bool, got {s.condition.dtype}")
        cond = self.visit(s.condition)
        likely = True if isinstance(s.condition, E.Call) and s.condition.name == "likely" else None
        if s.else_case is None:
            with self.b.if_then(cond, likely=likely):
                self.visit(s.then_case)
            return
        with self.b.if_else(cond, likely=likely) as (then, otherwise):
            with then:
                self.visit(s.then_case)
            with otherwise:
                self.visit(s.else_case)

    def visit_For(self, s: S.For) -> None:
        if s.kind is S.ForKind.THREAD_BINDING:
            raise BuildError(f"loop '{s.loop_var.name}' is bound to GPU thread '{s.thread_tag}', "
                             "which needs a GPU target: build with target='cuda'")
        if s.kind is S.ForKind.PARALLEL and not self.in_parallel:
            self._parallel_for(s)
            return
        # Vectorized/unrolled loops that survive lowering are correct as serial loops.
        vdt = s.loop_var.dtype
        lo = self.cast(self.visit(s.min), s.min.dtype, vdt)
        extent = self.cast(self.visit(s.extent), s.extent.dtype, vdt)
        hi = self.b.add(lo, extent, name=f"{s.loop_var.name}.end", flags=self._nsw(vdt))
        rolled = id(s) in self.m.rolled_holders or EMULATED_THREADS_KEY in dict(s.annotations)
        loop_md = self.m.no_unroll_loop_id() if rolled else None
        with self.streaming(s), self.prefetching(s), self.loop(s.loop_var, lo, hi, loop_md), \
                self.ranged(s):
            self.visit(s.body)

    @contextlib.contextmanager
    def ranged(self, s: S.For) -> Iterator[None]:
        """``loop_ranges`` holds ``s``'s range (when constant) while its body is emitted."""
        var, old = s.loop_var, self.loop_ranges.get(s.loop_var)
        if isinstance(s.min, E.IntImm) and isinstance(s.extent, E.IntImm) and s.extent.value > 0:
            self.loop_ranges[var] = Interval(s.min, E.IntImm(s.min.dtype, s.min.value + s.extent.value - 1))
        else:
            self.loop_ranges.pop(var, None)
        self._may_fault_cache.clear()  # its answers depend on the ranges
        try:
            yield
        finally:
            if old is None:
                self.loop_ranges.pop(var, None)
            else:
                self.loop_ranges[var] = old
            self._may_fault_cache.clear()

    def _parallel_for(self, s: S.For) -> None:
        lo = self.index64(s.min)
        hi = self.b.add(lo, self.index64(s.extent), name=f"{s.loop_var.name}.end", flags=("nsw",))
        used = _UsedVars()
        used.visit(s.body)
        captured = [v for v in used.found if v in self.vars and v is not s.loop_var]
        values = [self.vars[v] for v in captured]
        worker = self.m.outline(s, captured, values, self.loop_ranges)
        if captured:
            struct = ir.LiteralStructType([v.type for v in values])
            closure = self.alloca(struct, name="closure")
            for k, v in enumerate(values):
                self.b.store(v, self.b.gep(closure, [_const(I32, 0), _const(I32, k)], inbounds=True,
                                           source_etype=struct))
        else:
            closure = ir.Constant(PTR, None)
        work = _const(I64, work_per_iteration(s.body))
        status = self.b.call(self.m.launcher(), [worker, closure, lo, hi, work], name="status")
        self._return_on_error(status)

    def visit_Piece(self, s: outline.Piece) -> None:
        used = _UsedVars()
        used.visit(s.body)
        captured = [v for v in used.found if v in self.vars]
        values = [self.vars[v] for v in captured]
        status = self.b.call(self.m.outline_piece(s, captured, values), values, name="status")
        self._return_on_error(status)

    def _return_on_error(self, status: ir.Value) -> None:
        with self.b.if_then(self.b.icmp_signed("!=", status, _const(I32, 0)), likely=False):
            self.error_return(status)

    def visit_Allocate(self, s: S.Allocate) -> None:
        elem = s.dtype.element_of()
        self.m.buffer_elems[s.buffer] = elem
        mem_ty = llvm_type(elem, in_memory=True)
        lanes = s.dtype.lanes
        name = s.buffer.name
        self.m.distinct_buffers.add(s.buffer)
        if isinstance(s.extent, E.IntImm) and lanes == 1:  # the smallest, should a Var be allocated twice
            self.m.buffer_sizes[s.buffer] = min(s.extent.value, self.m.buffer_sizes.get(s.buffer, s.extent.value))
        if isinstance(s.extent, E.IntImm):
            count = s.extent.value * lanes
            if count * elem.bytes <= STACK_ALLOC_LIMIT:
                ptr = self.alloca(ir.ArrayType(mem_ty, max(count, 0)), name=name, align=_ALLOC_ALIGN)
                with self.bind(s.buffer, ptr):
                    self.visit(s.body)
                return
        if isinstance(s.extent, E.IntImm) and s.extent.value * lanes * elem.bytes >= 2**63:
            raise BuildError(f"buffer {name} of {s.extent.value * lanes} {elem} elements needs "
                             f"{s.extent.value * lanes * elem.bytes} bytes, more than a 64-bit address space holds "
                             f"(in {self.m.func.name})")
        # The byte count in checked arithmetic: a size that wraps around (2**62 float32 elements
        # are 2**64 bytes, 0 after wrapping) would allocate a few bytes and write far past them.
        extent, wrapped = self.checked_size64(s.extent)
        count = self.b.smul_with_overflow(extent, _const(I64, lanes))
        total = self.b.smul_with_overflow(self.b.extract_value(count, 0), _const(I64, elem.bytes))
        nbytes = self.b.extract_value(total, 0, name=f"{name}.bytes")
        too_big = self.b.or_(self.b.or_(wrapped, self.b.or_(self.b.extract_value(count, 1),
                                                              self.b.extract_value(total, 1))),
                             self.b.icmp_signed("<", nbytes, _const(I64, 0)))
        slot = self.alloca(PTR, name=f"{name}.slot")
        memalign = self.m.declare("posix_memalign", I32, [PTR, I64, I64])
        with self.b.if_then(too_big, likely=False):
            self.error_return(_const(I32, ERR_OUT_OF_MEMORY))
        rc = self.b.call(memalign, [slot, _const(I64, _ALLOC_ALIGN), nbytes])
        with self.b.if_then(self.b.icmp_signed("!=", rc, _const(I32, 0)), likely=False):
            self.error_return(_const(I32, ERR_OUT_OF_MEMORY))
        ptr = self.b.load(slot, typ=PTR, name=name)
        self.heap.append(ptr)
        try:
            with self.bind(s.buffer, ptr):
                self.visit(s.body)
        finally:
            self.heap.pop()
        self.free(ptr)

    def generic_visit(self, node: Any) -> Any:
        raise BuildError(f"{type(node).__name__} cannot reach LLVM code generation "
                         f"(in {self.m.func.name}); it must be lowered away first")


