"""TVM's ``tir.transform``: passes over the functions of a lowered module.

User-written passes: ``@tir.transform.prim_func_pass(opt_level=0)`` turns ``f(func, mod, ctx)
-> func`` (or a class with ``transform_function``) into a pass; ``PassContext(config=
{"tir.add_lower_pass": [(phase, pass), ...]})`` runs passes inside lowering at TVM's four
phases (``PHASES``).

TVM's built-in passes, each a ``PrimFuncPass`` made by a constructor of TVM's name and running
tensorlang's own pass (``ir.passes``) on the function's body: ``Simplify()``, ``RemoveNoOp()``,
``UnrollLoop()``, ``VectorizeLoop(enable_vectorize=True)``, ``LoopPartition()``,
``InjectVirtualThread()``. Call one on what ``tvm.lower`` returns (``Simplify()(mod)`` is a new
module), list it in ``tvm.transform.Sequential([...])``, or in ``tir.add_lower_pass``. TVM
passes tensorlang has no counterpart for (``UNSUPPORTED``: ``StorageRewrite``,
``NarrowDataType``, ...) are constructors that raise a LoweringError naming the pass and what to
do instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import LoweringError
from ..te.functor import Mutator, post_order_visit
from .function import PrimFunc
from .passes.inject_virtual_thread import inject_virtual_threads
from .passes.loop_partition import partition_loops
from .passes.remove_no_op import remove_no_op
from .passes.simplify import simplify_stmt
from .passes.unroll_loops import unroll_loops, unroll_options
from .passes.vectorize_loops import vectorize_loops
from .stmt import For, ForKind, Stmt
from .transform import Pass, PassContext, register_pass

# After which lowering step each of TVM's phases runs (the first step of that name in
# lowering.pipeline; None: after the last step): 0 on flat buffers, 1 once their indices are
# simplified (before partitioning, unrolling and vectorizing, so VECTORIZED and UNROLLED loops
# a pass makes are honoured), 2 after vectorizing, 3 at the end.
PHASES: dict[int, str | None] = {0: "storage_flatten", 1: "simplify", 2: "vectorize_loops", 3: None}


class PrimFuncPass(Pass):
    """A pass over PrimFuncs: ``pass_(func)`` (or an IRModule-like ``lower`` result) -> func;
    ``fn(func, mod, ctx)`` returns the new function (None: unchanged)."""

    def __init__(self, fn: Callable[[PrimFunc, Any, Any], PrimFunc], opt_level: int = 0, name: str = "",
                 required: Sequence[str] = (), traceable: bool = False):
        super().__init__(opt_level, name or getattr(fn, "__name__", "prim_func_pass"), required, traceable)
        self.fn = fn

    def _run(self, mod: PrimFunc, ctx: PassContext) -> PrimFunc | None:
        # The module holds one function, so it is both the function and the module.
        out = self.fn(mod, mod, ctx)
        if out is not None and not isinstance(out, PrimFunc):
            raise LoweringError(f"pass {self.name} returned {type(out).__name__}, not a PrimFunc "
                                "(return f, or f.with_body(new_body))")
        return out

    def __repr__(self) -> str:
        return f"PrimFuncPass({self.name}, opt_level={self.opt_level})"


def prim_func_pass(pass_func: Any = None, opt_level: int | None = None, name: str | None = None,
                   required: Sequence[str] | None = None, traceable: bool = False) -> Any:
    """``@prim_func_pass(opt_level=0)`` on ``f(func, mod, ctx)`` or on a class whose instances
    have ``transform_function(func, mod, ctx)``; or ``prim_func_pass(f, opt_level=0)``."""
    if opt_level is None:
        raise LoweringError("prim_func_pass needs opt_level= (as TVM's does)")

    def create(fn: Any) -> Any:
        if isinstance(fn, type):
            def make(*args: Any, **kwargs: Any) -> PrimFuncPass:
                inst = fn(*args, **kwargs)
                return PrimFuncPass(inst.transform_function, opt_level, name or fn.__name__, required or (),
                                    traceable)
            return make
        if not callable(fn):
            raise LoweringError(f"prim_func_pass: {fn!r} is not a function or a class")
        return PrimFuncPass(fn, opt_level, name or getattr(fn, "__name__", ""), required or (), traceable)
    return create(pass_func) if pass_func is not None else create


# -- TVM's built-in tir passes, on tensorlang's ----------------------------------------------

def _binds_threads(body: Stmt) -> bool:
    """Whether the function is a GPU kernel (a loop bound to a thread index): partitioning and
    unrolling then do what lowering does for CUDA."""
    kinds: set[ForKind] = set()
    post_order_visit(body, lambda n: kinds.add(n.kind) if isinstance(n, For) else None)
    return ForKind.THREAD_BINDING in kinds


def _body_pass(name: str, rewrite: Callable[[Stmt, bool], Stmt]) -> PrimFuncPass:
    """The pass ``name`` (TVM's opt_level 0): ``rewrite(body, gpu)`` on the function's body."""
    def run(func: PrimFunc, mod: Any, ctx: Any) -> PrimFunc:
        body = rewrite(func.body, _binds_threads(func.body))
        return func if body is func.body else func.with_body(body)
    run.__name__ = name
    return PrimFuncPass(run, 0, name)


def Apply(ftransform: Any) -> PrimFuncPass:  # noqa: N802 - TVM's constructor names
    """``tir.transform.Apply(ftransform)``: a pass that replaces each function by
    ``ftransform(func)`` (a PrimFunc)."""
    if not callable(ftransform):
        raise LoweringError(f"tir.transform.Apply needs a function PrimFunc -> PrimFunc, got {ftransform!r}")

    def run(func: PrimFunc, mod: Any, ctx: Any) -> PrimFunc:
        out = ftransform(func)
        if not isinstance(out, PrimFunc):
            raise LoweringError(f"tir.transform.Apply: the function returned {type(out).__name__}, not a PrimFunc")
        return out
    return PrimFuncPass(run, 0, "tir.Apply")


def Simplify() -> PrimFuncPass:  # noqa: N802 - TVM's constructor names
    """``tir.Simplify``: every expression simplified knowing the enclosing loops' ranges
    (``ir.passes.simplify.simplify_stmt``); guards that always hold become True."""
    return _body_pass("tir.Simplify", lambda s, gpu: simplify_stmt(s))


def RemoveNoOp() -> PrimFuncPass:  # noqa: N802
    """``tir.RemoveNoOp``: drops statements without effect, decided branches and empty loops, and
    inlines loops of one iteration (``ir.passes.remove_no_op``)."""
    return _body_pass("tir.RemoveNoOp", lambda s, gpu: remove_no_op(s))


def UnrollLoop() -> PrimFuncPass:  # noqa: N802
    """``tir.UnrollLoop``: loops of kind UNROLLED or annotated ``pragma_unroll`` with a constant
    extent become copies of their body (``ir.passes.unroll_loops``; an annotated
    ``pragma_auto_unroll_max_step`` is honoured; in GPU kernels auto-unrolled loops may stay
    ``#pragma unroll``, as lowering for CUDA leaves them); the PassContext config
    ``tir.UnrollLoop`` (auto_max_step, explicit_unroll) applies, as in TVM."""
    return _body_pass("tir.UnrollLoop", lambda s, gpu: unroll_loops(
        s, as_pragma=gpu, **unroll_options(PassContext.current().config.get("tir.UnrollLoop"))))


class _Serialize(Mutator):
    def visit_For(self, op: For) -> Stmt:
        out = self.generic_visit(op)
        return out.with_fields(kind=ForKind.SERIAL) if out.kind is ForKind.VECTORIZED else out


def VectorizeLoop(enable_vectorize: bool = True) -> PrimFuncPass:  # noqa: N802
    """``tir.VectorizeLoop``: VECTORIZED loops of constant extent become vector code
    (``ir.passes.vectorize_loops``); with ``enable_vectorize=False`` they become serial loops."""
    if enable_vectorize:
        return _body_pass("tir.VectorizeLoop", lambda s, gpu: vectorize_loops(s))
    return _body_pass("tir.VectorizeLoop", lambda s, gpu: serialize_vectorized(s))


def serialize_vectorized(stmt: Stmt) -> Stmt:
    """``stmt`` with every VECTORIZED loop a serial one (TVM's VectorizeLoop(False), as
    PassContext config ``tir.disable_vectorize`` asks of lowering)."""
    return _Serialize().visit(stmt)


def LoopPartition() -> PrimFuncPass:  # noqa: N802
    """``tir.LoopPartition``: loops split where their linear guards stop varying
    (``ir.passes.loop_partition``; constant and symbolic bounds alike, as TVM with
    ``partition_const_loop``; in GPU kernels only innermost loops, as lowering for CUDA)."""
    return _body_pass("tir.LoopPartition", lambda s, gpu: partition_loops(s, copy_nests=not gpu))


def InjectVirtualThread() -> PrimFuncPass:  # noqa: N802
    """``tir.InjectVirtualThread``: each vthread loop's statements interleaved
    (``ir.passes.inject_virtual_thread``; lowering already did it for ``tvm.lower``'s result)."""
    return _body_pass("tir.InjectVirtualThread", lambda s, gpu: inject_virtual_threads(s))


SUPPORTED: dict[str, Callable[[], PrimFuncPass]] = {
    "tir.Simplify": Simplify, "tir.RemoveNoOp": RemoveNoOp, "tir.UnrollLoop": UnrollLoop,
    "tir.VectorizeLoop": VectorizeLoop, "tir.LoopPartition": LoopPartition,
    "tir.InjectVirtualThread": InjectVirtualThread,
}
for _name, _make in SUPPORTED.items():
    register_pass(_name, _make)

_BUILD = "tvm.build does it for its target when it compiles the module; leave it out"

# TVM 0.12 tir passes without a tensorlang counterpart: what to do instead.
UNSUPPORTED: dict[str, str] = {
    "StorageRewrite": "tensorlang does not merge or reuse allocations after lowering (each Allocate keeps "
                      "its own storage); leave it out: the module builds as it is",
    "NarrowDataType": "tensorlang picks index types while lowering (int32, or int64 where a buffer's offsets "
                      "can pass 2**31-1) and has no pass that narrows them afterwards; leave it out",
    "StorageFlatten": "tvm.lower's result is already flat (lowering flattens storage); leave it out",
    "InjectDoubleBuffer": "ask for it in the schedule, s[T].double_buffer(), which lowering for CUDA applies",
    "ThreadSync": "lowering inserts the shared-memory barriers of CUDA schedules itself; leave it out",
    "InjectPrefetch": "tensorlang has no prefetch injection; use s[T].pragma(axis, 'prefetch') on the CPU",
    "HoistIfThenElse": "tensorlang has no guard hoisting; LoopPartition() splits loops where their guards "
                       "stop varying instead",
    "CommonSubexprElimTIR": "tensorlang has no CSE pass; the backend compiler (LLVM, NVRTC) eliminates common "
                            "subexpressions; leave it out",
    "InstrumentBoundCheckers": "build with bounds checks instead: target 'llvm -bounds-check'",
    "LowerIntrin": _BUILD,
    "LowerTVMBuiltin": _BUILD,
    "MakePackedAPI": _BUILD,
    "SplitHostDevice": _BUILD,
    "LowerThreadAllreduce": "lowering emits cross-thread reductions itself; leave it out",
}


def _unsupported(name: str, advice: str) -> Callable[..., PrimFuncPass]:
    def make(*_args: Any, **_kwargs: Any) -> PrimFuncPass:
        raise LoweringError(f"tir.transform.{name}: tensorlang has no such pass: {advice}")
    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"TVM's tir.{name}: not available in tensorlang ({advice})."
    return make


for _name, _advice in UNSUPPORTED.items():
    globals()[_name] = _unsupported(_name, _advice)
del _name, _make, _advice


def lower_passes(config: dict[str, Any]) -> dict[str | None, list[Any]]:
    """The ``tir.add_lower_pass`` entries of a PassContext config, by the step they follow."""
    entries = config.get("tir.add_lower_pass") or []
    out: dict[str | None, list[Any]] = {}
    for entry in entries:
        try:
            phase, pass_ = entry
        except (TypeError, ValueError):
            raise LoweringError(f"tir.add_lower_pass entries are (phase, pass) pairs, got {entry!r}") from None
        if phase not in PHASES:
            raise LoweringError(f"tir.add_lower_pass: phase {phase!r} is not one of 0, 1, 2, 3")
        if not callable(pass_):
            raise LoweringError(f"tir.add_lower_pass: {pass_!r} is not a pass")
        out.setdefault(PHASES[phase], []).append(pass_)
    return out


def run_user_pass(pass_: Any, stmt: Stmt, params: Sequence[Any], name: str) -> Stmt:
    """Apply a user pass to the body being lowered, as a PrimFunc of the function's parameters."""
    func = PrimFunc(name, params, stmt)
    out = pass_(func)
    body = out.body if isinstance(out, PrimFunc) else out
    if not isinstance(body, Stmt):
        raise LoweringError(f"lower pass {pass_!r} returned {type(out).__name__}, not a PrimFunc")
    return body
