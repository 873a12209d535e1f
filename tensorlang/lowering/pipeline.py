"""Lowering: a schedule and its arguments to a PrimFunc, through the ordered steps of PIPELINE.

Before the steps: inline compute_inline stages into their consumers (effective_bodies), then
infer regions and loop extents (infer_bound; it needs the inlined bodies, as reads move).
PIPELINE then lists every pass in order, why it sits there and the invariants it establishes.

TENSORLANG_DEBUG_IR=1 prints each step's time and the IR after it ("(unchanged)" when the
step returned its input); TENSORLANG_VERIFY_IR=1 checks, after each step, every invariant
established so far (ir.verify); TENSORLANG_VERIFY_IR=last checks all of them once, after the
last step (what the test suite does: a tenth of the cost, without naming the step at fault).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import LoweringError
from ..ir.function import INPUT_PARAMS, Buffer, PrimFunc
from ..ir.passes.double_buffer import inject_double_buffer
from ..ir.passes.hoist_shared import hoist_shared_allocations
from ..ir.passes.inject_virtual_thread import inject_virtual_threads
from ..ir.passes.interchange_reductions import interchange_reductions
from ..ir.passes.loop_partition import partition_loops
from ..ir.passes.pipeline_rows import pipeline_rows
from ..ir.passes.remove_no_op import remove_no_op
from ..ir.passes.simplify import simplify_stmt
from ..ir.passes.storage_flatten import storage_flatten
from ..ir.passes.storage_sync import storage_sync
from ..ir.passes.streaming_stores import streaming_stores
from ..ir.passes.unroll_loops import unroll_loops, unroll_options
from ..ir.passes.vectorize_loops import vectorize_loops
from ..ir.stmt import Allocate, For, LetStmt, Stmt
from ..ir.user_passes import lower_passes, run_user_pass, serialize_vectorized
from ..ir.verify import verify
from ..schedule.bound import infer_bound
from ..schedule.inline import effective_bodies
from ..schedule.read_bounds import check_reads_in_bounds, checked_reads, symbolic_read_checks
from ..schedule.schedule import Schedule
from ..te.expr import IntImm, Var
from ..te.functor import free_vars, post_order_visit
from ..te.scan import ScanOp
from ..te.tensor import PlaceholderOp, Tensor
from ..transform import PassContext
from .call_checks import call_checks
from .empty_reductions import empty_reduction_checks
from .launch_extents import KernelExtents, launch_extents
from .schedule_ops import schedule_ops


def _bind_args(sch: Schedule, args: Sequence[Any]) -> tuple[list[Buffer | Var], dict[Tensor, Buffer]]:
    params: list[Buffer | Var] = []
    tensors: dict[Tensor, Buffer] = {}
    if isinstance(args, (set, frozenset)):
        raise LoweringError("the argument list must be a list or tuple, in the order the function takes them; "
                            f"got a {type(args).__name__}, which has no order")
    for n, a in enumerate(args):
        if isinstance(a, Tensor):
            cur = sch.current_tensor(a) if not isinstance(a.op, PlaceholderOp) or a.op in sch.stage_map else a
            if cur in tensors:
                raise LoweringError(f"argument {n} ({a.name}) appears twice in the argument list")
            if not isinstance(cur.op, PlaceholderOp) and sch[cur].attach_type == "inline":
                # As in TVM, the argument stays (ported code passes it), but nothing is written to it.
                warnings.warn(f"argument {n} ({a.name}): stage {cur.op.name} is computed inline "
                              "(compute_inline), so this argument's array is never written; compute the stage "
                              "at root to get its values, or drop it from the argument list", stacklevel=4)
            # transform_layout stores the tensor (and so takes the argument) in its new layout
            st = sch.stage_map.get(cur)
            buf = Buffer(a.name, a.dtype, cur.shape if st is not None and st.layout_transforms else a.shape)
            tensors[cur] = buf
            tensors[a] = buf
            params.append(buf)
        elif isinstance(a, Var):
            params.append(a)
        else:
            raise LoweringError(f"argument {n} must be a tensor or a te.var, got {a!r}")
    for op in sch.outputs:
        outs = [op.output(i) for i in range(op.num_outputs)]
        if not any(t in tensors for t in outs):
            # As TVM does, compute it into a temporary; tell the user, who probably forgot it.
            # (Passing some outputs of a multi-output stage, such as topk's values without its
            # indices, is a choice, not an oversight.)
            for t in outs:
                warnings.warn(f"output tensor {t.name} of the schedule is not in the argument list: "
                              "it is computed into a temporary buffer and dropped", stacklevel=4)
    return params, tensors


def _shape_params(params: list[Buffer | Var], body: Stmt) -> list[Var]:
    """Shape variables the caller does not pass: bound at call time from array shapes."""
    given = {p for p in params if isinstance(p, Var)}
    bare: list[Var] = []
    in_expr: set[Var] = set()
    for b in params:
        if not isinstance(b, Buffer):
            continue
        for d in b.shape:
            if isinstance(d, Var):
                if d not in given and d not in bare:
                    bare.append(d)
            else:
                in_expr |= free_vars(d)
    for v in in_expr:
        if v not in given and v not in bare:
            raise LoweringError(f"cannot infer shape variable {v.name} from the argument shapes (it only appears "
                                f"inside expressions); pass {v.name} in the argument list")
    return bare


def _check_bound(body: Stmt, params: list[Buffer | Var]) -> None:
    defined = {p for p in params if isinstance(p, Var)}
    defined |= {p.data for p in params if isinstance(p, Buffer)}

    def fn(n: Any) -> None:
        if isinstance(n, For):
            defined.add(n.loop_var)
        elif isinstance(n, LetStmt):
            defined.add(n.var)
        elif isinstance(n, Allocate):
            defined.add(n.buffer)
        elif hasattr(n, "var") and isinstance(getattr(n, "var"), Var):
            defined.add(n.var)
    post_order_visit(body, fn)
    unbound = [v for v in free_vars(body) if v not in defined and not v.dtype.is_handle]
    if unbound:
        names = ", ".join(sorted({v.name for v in unbound}))
        raise LoweringError(f"variable(s) {names} are used but never bound: pass them in the argument list "
                            "or use them in a tensor shape")


@dataclass(frozen=True)
class Step:
    """One pass of the pipeline: ``run(stmt, context)`` (``stmt`` is None for the first step),
    after which every invariant in ``establishes`` holds for the rest of the pipeline."""

    name: str
    run: Callable[[Any, _Context], Stmt]
    establishes: tuple[str, ...]
    why: str
    only_for: str | None = None  # a target kind, when the step runs only for it


@dataclass(frozen=True)
class _Context:
    sch: Schedule
    bodies: Any
    bounds: Any
    tensors: dict[Tensor, Buffer]
    aliases: dict[Tensor, Tensor]  # tensors stored in another tensor's buffer (scan states)
    aligns: dict[Tensor, Any]  # storage_align of realized tensors
    target_kind: str
    buffers: dict[Tensor, Var] = field(default_factory=dict)  # filled by storage_flatten
    params: list[Any] = field(default_factory=list)  # the function's parameters (for user passes)
    # PassContext "tir.add_lower_pass": user passes by the step they follow (None: the last)
    user_passes: dict[str | None, list[Any]] = field(default_factory=dict)

    def argument_bytes(self) -> dict[Var, int | None]:
        """The argument buffers' data Vars and sizes in bytes (None when a dimension is symbolic)."""
        out: dict[Var, int | None] = {}
        for buf in self.tensors.values():
            size: int | None = buf.dtype.bytes
            for d in buf.shape:
                size = size * d.value if size is not None and isinstance(d, IntImm) else None
            out[buf.data] = size
        return out

    def double_buffered(self) -> set[Var]:
        """The flat buffers of the stages the schedule asked to double-buffer."""
        return {self.buffers[st.op.output(i)] for st in self.sch.stages if st.double_buffered and st in self.bodies
                for i in range(st.op.num_outputs) if st.op.output(i) in self.buffers}


# The order is the specification: each step says why it sits where it does, and names the
# invariants (ir.verify.INVARIANTS) it establishes; they are checked after every later step
# when TENSORLANG_VERIFY_IR=1 (after the last one with =last, as in the tests).
PIPELINE: tuple[Step, ...] = (
    Step("schedule_ops", lambda _, c: schedule_ops(c.sch, c.bodies, c.bounds, set(c.tensors)), ("lanes_match",),
         "loop nests with Realize/Provide; needs the bounds inferred from the inlined bodies"),
    Step("storage_flatten", lambda s, c: storage_flatten(s, c.tensors, c.aliases, c.aligns, c.buffers),
         ("flat", "no_nested_allocation"),
         "flat buffers; needs every tensor realized or an argument"),
    Step("inject_virtual_threads", lambda s, c: inject_virtual_threads(s), (),
         "interleave virtual threads; on flat buffers (a per-thread copy is one Allocate), before "
         "partitioning and unrolling copy the loops it moves"),
    Step("simplify", lambda s, c: simplify_stmt(s), (),
         "fold index arithmetic and guards that the loop ranges decide"),
    Step("partition_loops", lambda s, c: partition_loops(s, copy_nests=c.target_kind != "cuda"), (),
         "split loops where linear guards stop varying; before unroll/vectorize so those see no guards "
         "(for CUDA, only loops without inner loops: copies of whole nests multiplied the kernels' code)"),
    Step("unroll_loops", lambda s, c: unroll_loops(s, as_pragma=c.target_kind == "cuda", **unroll_options(
        PassContext.current().config.get("tir.UnrollLoop"))),
         ("no_unrolled_loops",),
         "copies of unrolled bodies; before vectorizing, so vector loops in them are vectorized in every copy "
         "(for CUDA, what auto-unrolling picks becomes a pragma: NVRTC unrolls it)"),
    Step("interchange_reductions", lambda s, c: interchange_reductions(s), (),
         "a spatial loop moved inside the reduction loops of its default schedule where that makes the inner "
         "accesses contiguous; after unrolling, on the final serial loops, before vectorizing", only_for="llvm"),
    Step("streaming_stores", lambda s, c: streaming_stores(s, c.argument_bytes()), (),
         "aligned non-temporal stores for large written-once outputs (or a nontemporal pragma); after unrolling, "
         "so it sees the final loops, before vectorizing, so the head and tail stay scalar", only_for="llvm"),
    Step("vectorize_loops", lambda s, c: serialize_vectorized(s) if PassContext.current().config.get(
        "tir.disable_vectorize") else vectorize_loops(s), ("no_vectorized_loops",),
         "vector lanes replace VECTORIZED loops (serial loops under PassContext config tir.disable_vectorize)"),
    Step("remove_no_op", lambda s, c: remove_no_op(s), (),
         "drop empty loops and decided branches; inline extent-1 loops"),
    Step("simplify", lambda s, c: simplify_stmt(s), (),
         "fold the constants the last three passes exposed"),
    Step("remove_no_op", lambda s, c: remove_no_op(s), ("no_trivial_loops",),
         "drop the loops and branches the second simplify decided"),
    Step("pipeline_rows", lambda s, c: pipeline_rows(s), (),
         "a row's output pass one row later, fused with the next row's prefetching loop (pragma "
         "pipeline_rows); last for the CPU, on the final loops and their streaming stores", only_for="llvm"),
    Step("storage_sync", lambda s, c: storage_sync(s), (),
         "barriers where threads share memory; after every pass that could move or drop them", only_for="cuda"),
    Step("inject_double_buffer", lambda s, c: inject_double_buffer(s, c.double_buffered()), (),
         "two halves for double-buffered shared stages, one barrier per iteration (on storage_sync's barriers)",
         only_for="cuda"),
    Step("hoist_shared_allocations", lambda s, c: hoist_shared_allocations(s), (),
         "each shared buffer declared once at the top of its block; last, as partitioning, unrolling and double "
         "buffering copy the loops that hold them (double buffering finds them in its loop)", only_for="cuda"),
)


Profile = Callable[[str, float], None]  # (step name, seconds), called after each step


def _timed(profile: Profile | None, name: str, fn: Callable[[], Any]) -> Any:
    if profile is None:
        return fn()
    start = time.perf_counter()
    out = fn()
    profile(name, time.perf_counter() - start)
    return out


def _run_pipeline(ctx: _Context, profile: Profile | None = None, until: str | None = None,
                  check_ir: bool = True) -> Stmt:
    debug = bool(os.environ.get("TENSORLANG_DEBUG_IR"))
    mode = os.environ.get("TENSORLANG_VERIFY_IR", "") if check_ir else ""
    check = bool(mode) and mode != "last"
    established: list[str] = []
    stmt: Any = None
    last = _step_index(until) if until is not None else len(PIPELINE) - 1
    pending = dict(ctx.user_passes)
    steps = [step for step in PIPELINE[:last + 1] if step.only_for is None or step.only_for == ctx.target_kind]
    for step in steps:
        start = time.perf_counter()
        out = step.run(stmt, ctx)
        if profile is not None:
            profile(step.name, time.perf_counter() - start)
        if debug:
            ms = (time.perf_counter() - start) * 1e3
            text = "(unchanged)" if out is stmt else f"\n{out}\n"
            print(f"// {step.name} ({ms:.2f} ms) {text}", file=sys.stderr)
        established += step.establishes
        if check or (mode == "last" and step is steps[-1]):
            verify(out, established, step.name if check else f"{step.name} (TENSORLANG_VERIFY_IR=1 checks after each "
                                                              "step)")
        stmt = out
        for user_pass in pending.pop(step.name, []):
            stmt = run_user_pass(user_pass, stmt, ctx.params, ctx.sch.outputs[0].name)
    if until is None:
        for user_pass in pending.pop(None, []):
            stmt = run_user_pass(user_pass, stmt, ctx.params, ctx.sch.outputs[0].name)
    return stmt


def _step_index(name: str) -> int:
    """Index of the first step called ``name`` (LoweringError for an unknown one)."""
    for i, step in enumerate(PIPELINE):
        if step.name == name:
            return i
    raise LoweringError(f"no lowering step '{name}' (steps: {', '.join(dict.fromkeys(s.name for s in PIPELINE))})")


def lower_schedule(sch: Schedule, args: Sequence[Any], name: str = "main", target_kind: str = "llvm",
                   profile: Profile | None = None,
                   check_launch: Callable[[list[KernelExtents]], None] | None = None,
                   until: str | None = None, check_ir: bool = True) -> PrimFunc:
    """Lower a schedule to a PrimFunc whose parameters are ``args`` (tensors and vars);
    ``target_kind`` "cuda" adds the barriers GPU shared memory needs; ``profile`` is called
    with the name and seconds of every step (tools/pass_scaling.py).  ``check_launch`` (a
    backend's device-limit check) sees each kernel's thread extents and shared memory right
    after bound inference, so a config over the limits is rejected before the passes run.
    ``until`` stops after the first step of that name: the loop nest for analysis only (cost
    model features read its loops before unrolling and vectorizing copy them), never to build.
    ``check_ir=False``: no TENSORLANG_VERIFY_IR checks (a lowering for cost-model features only;
    a candidate that is measured is lowered, and checked, again when it is built)."""
    if not isinstance(sch, Schedule):
        raise LoweringError(f"lower expects a schedule (te.create_schedule(...)), got {sch!r}")
    params, tensors = _bind_args(sch, args)
    # As in TVM, an argument whose stage was inlined stays a (never written) parameter.
    sch.legalize_attachments()
    bodies = _timed(profile, "inline", lambda: effective_bodies(sch))
    empty = empty_reduction_checks(bodies)
    bounds = _timed(profile, "infer_bound", lambda: infer_bound(sch, bodies))
    unproven = _timed(profile, "check_reads_in_bounds", lambda: check_reads_in_bounds(sch, bodies, bounds))
    # Reads it could neither prove inside nor reject (data-dependent indices or guards, symbolic
    # guarded reads) are checked when they happen: a BoundsError, never garbage.
    bodies = checked_reads(bodies, unproven)
    if check_launch is not None:
        check_launch(launch_extents(sch, bounds))
    # A scan's state placeholder, init and update tensors are the scan output's storage.
    aliases = {t: st.op.output(k) for st in sch.stages if isinstance(st.op, ScanOp)
               for k, parts in enumerate(zip(st.op.state_placeholder, st.op.init, st.op.update))
               for t in (parts[0], sch.current_tensor(parts[1]), sch.current_tensor(parts[2]))}
    aligns = {st.op.output(k): st.storage_aligns for st in sch.stages if st.storage_aligns
              for k in range(st.op.num_outputs)}
    if until is not None:
        _step_index(until)
    user = lower_passes(PassContext.current().config)
    stmt = _run_pipeline(_Context(sch, bodies, bounds, tensors, aliases, aligns, target_kind, params=params,
                                  user_passes=user), profile, until, check_ir)
    shape_vars = _shape_params(params, stmt)
    all_params = params + shape_vars
    _timed(profile, "check_bound", lambda: _check_bound(stmt, all_params))
    checks = _timed(profile, "call_checks",
                    lambda: call_checks(sch, all_params, stmt, symbolic_read_checks(sch, bodies), empty))
    # Arguments that are placeholders (inputs: no stage produces them) are only read by outside
    # code handed their arrays (te.extern's inputs, topi.sort, cblas): the signature need not
    # take such an array for written (a read-only input stays callable, as in numpy).
    inputs = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor) and isinstance(a.op, PlaceholderOp)
                   and a not in aliases)
    attrs = {INPUT_PARAMS: inputs} if inputs else {}
    return PrimFunc(name, all_params, stmt, user_arity=len(params), checks=checks, attrs=attrs)
