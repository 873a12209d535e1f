"""Lowering: a schedule and its arguments to a PrimFunc, as one ordered list of passes.

Order and why:
  1. effective_bodies   inline compute_inline stages into their consumers
  2. infer_bound        regions and loop extents (needs inlined bodies: reads move)
  3. schedule_ops       loop nests with Realize/Provide (needs bounds)
  4. storage_flatten    flat buffers (needs every tensor realized or an argument)
  5. simplify_stmt      fold index arithmetic and guards that the loop ranges decide
  5b. partition_loops   split loops where linear guards stop varying (guard-free main
                        ranges; before unroll/vectorize so those see no guards there)
  6. unroll_loops       copies of unrolled bodies (before vectorizing, so vectorized
                        loops inside unrolled ones are vectorized in every copy)
  7. vectorize_loops    vector lanes replace VECTORIZED loops
  8. remove_no_op       drop empty loops and decided branches; inline extent-1 loops
  9. simplify_stmt      fold the constants the last three passes exposed
 10. remove_no_op       drop the branches that step 9 decided
 11. storage_sync       (GPU) barriers for shared memory
 12. inject_double_buffer (GPU) two halves for double-buffered shared stages, one barrier
                        per iteration (on storage_sync's barriers)
Set TENSORLANG_DEBUG_IR=1 to print the IR after every pass.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import LoweringError
from ..ir.function import Buffer, PrimFunc
from ..ir.passes.double_buffer import inject_double_buffer
from ..ir.passes.loop_partition import partition_loops
from ..ir.passes.remove_no_op import remove_no_op
from ..ir.passes.simplify import simplify_stmt
from ..ir.passes.storage_flatten import storage_flatten
from ..ir.passes.storage_sync import storage_sync
from ..ir.passes.unroll_loops import unroll_loops
from ..ir.passes.vectorize_loops import vectorize_loops
from ..ir.stmt import Allocate, For, LetStmt, Stmt
from ..schedule.bound import infer_bound
from ..schedule.inline import effective_bodies
from ..schedule.read_bounds import check_reads_in_bounds
from ..schedule.schedule import Schedule
from ..te.expr import Var
from ..te.functor import free_vars, post_order_visit
from ..te.scan import ScanOp
from ..te.tensor import PlaceholderOp, Tensor
from .schedule_ops import schedule_ops


def _bind_args(sch: Schedule, args: Sequence[Any]) -> tuple[list[Buffer | Var], dict[Tensor, Buffer]]:
    params: list[Buffer | Var] = []
    tensors: dict[Tensor, Buffer] = {}
    for n, a in enumerate(args):
        if isinstance(a, Tensor):
            cur = sch.current_tensor(a) if not isinstance(a.op, PlaceholderOp) else a
            if cur in tensors:
                raise LoweringError(f"argument {n} ({a.name}) appears twice in the argument list")
            buf = Buffer(a.name, a.dtype, a.shape)
            tensors[cur] = buf
            tensors[a] = buf
            params.append(buf)
        elif isinstance(a, Var):
            params.append(a)
        else:
            raise LoweringError(f"argument {n} must be a tensor or a te.var, got {a!r}")
    for op in sch.outputs:
        for i in range(op.num_outputs):
            if op.output(i) not in tensors:
                raise LoweringError(f"output tensor {op.output(i).name} of the schedule is not in the argument list")
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


def _debug(name: str, stmt: Stmt) -> None:
    if os.environ.get("TENSORLANG_DEBUG_IR"):
        print(f"// after {name}\n{stmt}\n", file=sys.stderr)


PASSES: list[tuple[str, Callable[[Stmt], Stmt]]] = [
    ("simplify", simplify_stmt),
    ("partition_loops", partition_loops),
    ("unroll_loops", unroll_loops),
    ("vectorize_loops", vectorize_loops),
    ("remove_no_op", remove_no_op),
    ("simplify", simplify_stmt),
    ("remove_no_op", remove_no_op),
]


def lower_schedule(sch: Schedule, args: Sequence[Any], name: str = "main", target_kind: str = "llvm") -> PrimFunc:
    """Lower a schedule to a PrimFunc whose parameters are ``args`` (tensors and vars);
    ``target_kind`` "cuda" adds the barriers GPU shared memory needs."""
    if not isinstance(sch, Schedule):
        raise LoweringError(f"lower expects a schedule (te.create_schedule(...)), got {sch!r}")
    params, tensors = _bind_args(sch, args)
    # As in TVM, an argument whose stage was inlined stays a (never written) parameter.
    sch.legalize_attachments()
    bodies = effective_bodies(sch)
    check_reads_in_bounds(sch, bodies)
    bounds = infer_bound(sch, bodies)
    stmt = schedule_ops(sch, bodies, bounds, set(tensors))
    _debug("schedule_ops", stmt)
    # A scan's state placeholder, init and update tensors are the scan output's storage.
    aliases = {t: st.op.output(k) for st in sch.stages if isinstance(st.op, ScanOp)
               for k, parts in enumerate(zip(st.op.state_placeholder, st.op.init, st.op.update))
               for t in (parts[0], sch.current_tensor(parts[1]), sch.current_tensor(parts[2]))}
    aligns = {st.op.output(k): st.storage_aligns for st in sch.stages if st.storage_aligns
              for k in range(st.op.num_outputs)}
    buffers: dict[Tensor, Var] = {}
    stmt = storage_flatten(stmt, tensors, aliases, aligns, buffers)
    _debug("storage_flatten", stmt)
    for pass_name, fn in PASSES:
        if fn is unroll_loops and target_kind == "cuda":
            stmt = unroll_loops(stmt, as_pragma=True)  # NVRTC unrolls what auto-unrolling picks
        else:
            stmt = fn(stmt)
        _debug(pass_name, stmt)
    if target_kind == "cuda":
        stmt = storage_sync(stmt)
        _debug("storage_sync", stmt)
        doubled = {buffers[st.op.output(i)] for st in sch.stages if st.double_buffered and st in bodies
                   for i in range(st.op.num_outputs) if st.op.output(i) in buffers}
        stmt = inject_double_buffer(stmt, doubled)
        _debug("inject_double_buffer", stmt)
    shape_vars = _shape_params(params, stmt)
    all_params = params + shape_vars
    _check_bound(stmt, all_params)
    return PrimFunc(name, all_params, stmt, user_arity=len(params))
