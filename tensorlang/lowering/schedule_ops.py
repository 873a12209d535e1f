"""Turn a scheduled dataflow into a loop nest of Realize/Provide statements.

Guarantees: every computed, non-inlined stage appears once, at root or inside the loop it
was attached to; each stage's points outside its tensor's domain or its realized region
(tails of splits that do not divide) are skipped by guards; a reduction initializes its
output in a loop nest placed just outside its first reduction loop; a reduction with axes
bound to threadIdx is a cross-thread reduction (a local partial per thread, an all-reduce
across the threads, one writer); the store predicate guards every write of a stage.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..arith import can_prove, simplify
from ..errors import LoweringError
from ..ir.stmt import (
    Allocate,
    BufferBind,
    BufferRegionBind,
    Evaluate,
    For,
    ForKind,
    IfThenElse,
    LetStmt,
    Provide,
    Realize,
    Stmt,
    Store,
    seq,
)
from ..ir.storage_scope import is_thread_private
from ..schedule.bound import Bounds, data_index_map, root_values
from ..schedule.relations import Split, pass_up_index
from ..schedule.schedule import Schedule, Stage
from ..te import expr as E
from ..te.dtype import HANDLE, INT32, DType
from ..te.expr import PrimExpr, Var, convert
from ..te.extern import ExternOp, HybridOp
from ..te.functor import free_vars, substitute
from ..te.scan import ScanOp
from ..te.tensor import ComputeOp, IterVar, IterVarType, Range, Tensor
from ..te.tensor_intrin import TensorComputeOp
from .allreduce import ThreadAxis, allreduce
from .extern_bounds import check_extern_bounds
from .extern_launches import check_extern_launches
from .launch_extents import kernel_of
from .loop_kind import loop_kind
from .script_inline import Definitions, inline_into_extern, inlined_definitions
from .script_loops import schedule_script_loops
from .tensorize import tensor_compute_nest, tensorize_nest


class _Builder:
    def __init__(self, sch: Schedule, bodies: dict[Stage, tuple[PrimExpr, ...]], bounds: Bounds,
                 arg_tensors: set[Tensor]):
        self.sch, self.bodies, self.bounds = sch, bodies, bounds
        self.arg_tensors = arg_tensors
        self.attached: dict[tuple[int, IterVar], list[Stage]] = {}
        self.data_index: dict[Stage, dict[Var, PrimExpr]] = {}
        self._inlined: Definitions | None = None  # the compute_inline stages' bodies, for scripts
        for st in sch.stages:
            if st in bodies and st.attach_type == "scope":
                self.attached.setdefault((id(st.attach_stage), st.attach_ivar), []).append(st)

    # -- whole program ----------------------------------------------------------------
    def program(self) -> Stmt:
        roots = [st for st in self.sch.stages if st in self.bodies and st.attach_type != "scope"]
        stmt: Stmt | None = None
        for st in reversed(roots):
            stmt = self.realize(st, seq(self.stage_nest(st), stmt))
        stmt = stmt if stmt is not None else seq()
        # A scan's storage is also its init stages' (they write its first rows, before the scan
        # stage itself): realize it around everything.
        for st in reversed(self.sch.stages):
            if isinstance(st.op, ScanOp) and st in self.bodies:
                stmt = self.realize(st, stmt, scan_storage=True)
        return stmt

    def realize(self, st: Stage, body: Stmt, scan_storage: bool = False) -> Stmt:
        op = st.op
        if isinstance(op, ScanOp) and not scan_storage:
            return body  # realized around the whole program (program())
        for i in reversed(range(op.num_outputs)):
            t = op.output(i)
            if t in self.arg_tensors:
                continue
            if isinstance(op, ScanOp):  # each state has its own axes after the time axis
                ranges = [ax.dom for ax in op.output_axes(i)]
            elif isinstance(op, ExternOp):  # whole, each output of its own shape
                ranges = [Range(0, d) for d in t.shape]
            else:
                ranges = [self.bounds.ranges[ax] for ax in op.axis]
            mins = [r.min for r in ranges]
            exts = [r.extent for r in ranges]
            body = Realize(t, mins, exts, st.storage_scope(), body)
        return body

    # -- one stage --------------------------------------------------------------------
    def stage_nest(self, st: Stage) -> Stmt:
        op: ComputeOp = st.op
        if isinstance(op, ExternOp):
            return self.extern_nest(op, st)
        if isinstance(op, ScanOp):
            # Only the serial time loop: the update stages attached to it write the scan's
            # storage directly (storage flattening aliases them), so there is nothing to copy.
            return self.loops(st, [op.scan_axis], seq(), [])
        if st.tensorized is not None:
            return tensorize_nest(self, st)
        if isinstance(op, TensorComputeOp):
            return tensor_compute_nest(self, st)
        vals = root_values(st, self.bounds)
        vmap: dict[Var, PrimExpr] = {iv.var: vals[iv] for iv in vals}
        self.data_index[st] = data_index_map(st, vals)
        out_idx = [vals[ax] for ax in op.axis]
        dp_conds = self._bound_checks(st, op.axis, vals)
        split_dp, split_red = self._split_overruns(st)
        dp_conds += split_dp
        pred, wraps = self._store_predicate(st)
        body = self.bodies[st]
        guard: Callable[[Stmt], Stmt] = lambda stmt: stmt  # noqa: E731
        plain_pred = pred
        if wraps:  # the predicate goes in the thread loops around each store instead
            guard, pred = functools.partial(self._stored_by, pred=pred, wraps=wraps), []
        if not op.reduce_axis:
            provides = seq(*[Provide(op.output(i), substitute(b, vmap), out_idx) for i, b in enumerate(body)])
            return self.loops(st, st.leaf_iter_vars, guard(provides), dp_conds + pred)
        red_conds = self._bound_checks(st, op.reduce_axis, vals) + split_red
        red: E.Reduce = body[0]
        cond = simplify(substitute(red.condition, vmap))
        if not (isinstance(cond, E.IntImm) and cond.value):
            red_conds = red_conds + [cond]
        leaves = st.leaf_iter_vars
        p = next(i for i, iv in enumerate(leaves) if iv.iter_type == IterVarType.COMM_REDUCE)
        cross = [iv for iv in leaves[p:] if iv.iter_type == IterVarType.COMM_REDUCE
                 and self._tag(st, iv).startswith("threadIdx")]
        if cross:
            if red.combiner.starts_at_init:
                raise LoweringError(f"stage {op.name}: a reduction with init= cannot be bound across threads "
                                    f"({cross[0].name} is bound to {self._tag(st, cross[0])}): each thread's "
                                    "part would start at init; add the initial value in a stage after it")
            return self._cross_thread(st, red, vmap, out_idx, p, cross, dp_conds, red_conds, plain_pred, wraps)
        lone = self._unbound_threads(st, [t for _, t, _ in wraps]) if not is_thread_private(st.storage_scope()) \
            else []
        if lone:
            # A reduction into shared or global memory that every thread along a launched index
            # (bound by another stage) would run: its updates read and write one element, so
            # thread 0 of each such index does them, or the sums would repeat once per thread.
            guard = functools.partial(self._stored_by, pred=plain_pred + [v.equal(0) for v, _, _ in lone],
                                      wraps=wraps + lone)
            pred = []  # the store predicate is in the guard now
        # The start: the identity, or the user's init= (which may read the output's indices).
        init = guard(seq(*[Provide(op.output(i), substitute(red.combiner.identity[i], vmap), out_idx)
                           for i in range(op.num_outputs)]))
        update = guard(self._update(op, red, vmap, out_idx))
        init_leaves = [iv for iv in leaves[p:] if iv.iter_type != IterVarType.COMM_REDUCE]
        # Data-parallel guards use no reduction loop, so they apply to the init nest as they are.
        init_nest = self.loops(st, init_leaves, init, dp_conds + pred, attach=False)
        update_nest = self.loops(st, leaves[p:], update, dp_conds + red_conds + pred)
        return self.loops(st, leaves[:p], seq(init_nest, update_nest), [])

    @staticmethod
    def _tag(st: Stage, iv: IterVar) -> str:
        attr = st.iter_var_attrs.get(iv)
        return attr.bind_thread.thread_tag if attr is not None and attr.bind_thread is not None else ""

    def _store_predicate(self, st: Stage) -> tuple[list[PrimExpr], list[tuple[Var, str, int]]]:
        """The stage's store predicate over its own loop variables (it names thread axes), and
        the thread loops its guarded stores need: a thread index the stage does not bind (TVM:
        ``threadIdx.x`` that another stage of the kernel binds) is the enclosing loop's when the
        stage sits in one bound to it; outside every such loop, the stage's statements run in
        every thread along it, and a loop over the kernel's whole extent gives the predicate
        each thread's index, so that only the threads it names store (TVM's ``tx == 0``)."""
        if st.store_predicate is None:
            return [], []
        vmap = {attr.bind_thread.var: iv.var for iv, attr in st.iter_var_attrs.items()
                if attr.bind_thread is not None}
        pred = substitute(st.store_predicate, vmap)
        enclosing = {a.tag: a.var for a in self._enclosing_threads(st)}
        launched = kernel_of(st, self.sch, self.bounds).threads
        rest: dict[Var, PrimExpr] = {}
        wraps: list[tuple[Var, str, int]] = []
        for v in free_vars(pred):
            if v.name in enclosing:
                rest[v] = enclosing[v.name]
            elif v.name.startswith("threadIdx") and v.name in launched:
                loop_var = _index_var(v.name, v.dtype)
                rest[v] = loop_var
                wraps.append((loop_var, v.name, launched[v.name][0]))
        return [substitute(pred, rest) if rest else pred], wraps

    @staticmethod
    def _stored_by(stmt: Stmt, pred: list[PrimExpr], wraps: list[tuple[Var, str, int]]) -> Stmt:
        """``stmt`` guarded by a predicate that ``_store_predicate`` gave thread loops."""
        return _thread_loops(IfThenElse(E.all_(*pred), stmt), wraps)

    def _thread_axis(self, st: Stage, iv: IterVar) -> ThreadAxis:
        ext = simplify(self.bounds.ranges[iv].extent)
        if not isinstance(ext, E.IntImm):
            raise LoweringError(f"stage {st.op.name}: axis {iv.name} is bound to {self._tag(st, iv)} with the "
                                f"non-constant extent {ext}; split it by a constant factor first")
        return ThreadAxis(iv.var, self._tag(st, iv), ext.value)

    def _enclosing_threads(self, st: Stage) -> list[ThreadAxis]:
        """The thread-bound loops of the stages ``st`` is computed at, at or outside its attach
        point: threads that differ along them hold different reductions (separate groups)."""
        found: list[ThreadAxis] = []
        for _ in range(64):  # attachment chains are short; cycles were reported by bound inference
            parent, at = st.attach_stage, st.attach_ivar
            if st.attach_type != "scope" or parent is None or at not in parent.leaf_iter_vars:
                break
            leaves = parent.leaf_iter_vars
            for iv in leaves[:leaves.index(at) + 1]:
                tag = self._tag(parent, iv)
                if tag.startswith("threadIdx") and all(a.tag != tag for a in found):
                    found.append(self._thread_axis(parent, iv))
            st = parent
        return found

    def _unbound_threads(self, st: Stage, skip: list[str]) -> list[tuple[Var, str, int]]:
        """Thread loops (variable, tag, the kernel's extent) for the threadIdx dimensions ``st``'s
        kernel launches that neither ``st`` binds nor any loop around it does (its code runs in
        each of those threads), except the tags in ``skip``."""
        mine = {self._tag(st, iv) for iv in st.leaf_iter_vars} | {a.tag for a in self._enclosing_threads(st)}
        return [(_index_var(tag), tag, extent)
                for tag, (extent, _) in kernel_of(st, self.sch, self.bounds).threads.items()
                if tag.startswith("threadIdx") and tag not in mine and tag not in skip]

    def _check_span(self, st: Stage, reduce_axes: list[ThreadAxis]) -> None:
        """A cross-thread reduction must span its kernel's whole thread dimension: its shuffles
        and barriers need every thread along it (a guard leaving some out hangs a GPU)."""
        threads = kernel_of(st, self.sch, self.bounds).threads
        for ax in reduce_axes:
            dim, other = threads.get(ax.tag, (ax.extent, st.op.name))
            if ax.extent < dim:
                name = next(iv.name for iv in st.leaf_iter_vars if iv.var is ax.var)
                raise LoweringError(
                    f"stage {st.op.name}: the cross-thread reduction over {name} ({ax.tag}, {ax.extent} threads) does "
                    f"not span the {dim} threads its kernel has along {ax.tag} (stage {other} binds {dim}); every "
                    f"thread along {ax.tag} must take part: give both the same extent")

    def _cross_thread(self, st: Stage, red: E.Reduce, vmap: dict[Var, PrimExpr], out_idx: list[PrimExpr], p: int,
                      cross: list[IterVar], dp_conds: list[PrimExpr], red_conds: list[PrimExpr],
                      pred: list[PrimExpr], wraps: list[tuple[Var, str, int]]) -> Stmt:
        """A reduction with axes bound to threadIdx: each thread combines its share of the
        reduction into a local partial, the threads of the group all-reduce their partials
        (``allreduce``), and the threads where the store predicate holds (by default, the one
        at index 0 of the reduction threads) write the result."""
        op: ComputeOp = st.op
        leaves = st.leaf_iter_vars
        inner = leaves[p:]
        stray = [iv.name for iv in inner if iv.iter_type != IterVarType.COMM_REDUCE]
        if stray:
            raise LoweringError(f"stage {op.name}: reduction axis {cross[0].name} is bound to "
                                f"{self._tag(st, cross[0])} (a cross-thread reduction), so the data-parallel axes "
                                f"{', '.join(stray)} must be ordered outside the reduction axes; reorder them")
        serial = [iv for iv in inner if iv not in cross]
        for iv in cross:
            if self.attached.get((id(st), iv)) and any(inner.index(x) < inner.index(iv) for x in serial):
                raise LoweringError(f"stage {op.name}: a stage is computed at {iv.name}, which is bound to "
                                    f"{self._tag(st, iv)}, inside the serial reduction loops; order the "
                                    "thread-bound reduction axes before the other reduction axes")
        n = op.num_outputs
        bufs = [Var(f"{op.name}.red{i}", HANDLE) for i in range(n)]
        dtypes = [op.output(i).dtype for i in range(n)]
        zero = E.const(0)
        init = seq(*[Store(bufs[i], red.combiner.identity[i], zero) for i in range(n)])
        cur = {red.combiner.lhs[i]: E.Load(dtypes[i], bufs[i], zero) for i in range(n)}
        cur.update({red.combiner.rhs[i]: substitute(red.source[i], vmap) for i in range(n)})
        results = [substitute(r, cur) for r in red.combiner.result]
        tmps = [Var(f"{op.name}.v{i}", r.dtype) for i, r in enumerate(results)]
        update: Stmt = seq(*[Store(bufs[i], tmps[i], zero) for i in range(n)])
        for t, r in reversed(list(zip(tmps, results))):
            update = LetStmt(t, r, update)
        # A thread-bound reduction axis shorter than the kernel's dimension along its index (a split
        # wider than its axis is narrowed to it; a fetch keeps the factor): the reduction runs over
        # the whole dimension, the extra threads adding nothing (as TVM guards them), when nothing
        # is computed inside that loop.
        launched = kernel_of(st, self.sch, self.bounds).threads
        widened: dict[IterVar, int] = {}
        for iv in cross:
            ax = self._thread_axis(st, iv)
            dim = launched.get(ax.tag, (ax.extent, ""))[0]
            if ax.extent < dim and not self.attached.get((id(st), iv)):
                widened[iv] = dim
        short = [iv.var < self._thread_axis(st, iv).extent for iv in widened]
        acc = self.loops(st, serial, update, dp_conds + red_conds + short)
        group = [self._thread_axis(st, iv) for iv in leaves[:p] if self._tag(st, iv).startswith("threadIdx")]
        reduce_axes = [ThreadAxis(iv.var, self._tag(st, iv), widened[iv]) if iv in widened
                       else self._thread_axis(st, iv) for iv in cross]
        taken = {a.tag for a in group + reduce_axes}
        group += [a for a in self._enclosing_threads(st) if a.tag not in taken]
        # Every other thread dimension the kernel launches runs this code too (another stage binds
        # it): its threads are separate groups, each with its own scratch slots, or their
        # tree steps would add into one another's.  A loop over its whole extent names the index;
        # the store predicate's loop of that tag (``_store_predicate``) becomes this one.
        extra = wraps + self._unbound_threads(st, [t for _, t, _ in wraps])
        group += [ThreadAxis(v, t, e) for v, t, e in extra]
        self._check_span(st, reduce_axes)
        combine = allreduce(bufs, dtypes, red.combiner, reduce_axes, group, op.name)
        # One thread writes a shared or global result; into local storage every thread writes its
        # own copy (each holds the all-reduced value), since each reads its own copy afterwards.
        # A store predicate only spares shared or global memory redundant writes: a thread's own
        # local copy is always written (its consumer in every thread reads it).
        one_writer = not is_thread_private(st.storage_scope())
        writer = (pred or [E.all_(*[iv.var.equal(0) for iv in cross])]) if one_writer else []
        write = IfThenElse(E.all_(*dp_conds, *writer),
                           seq(*[Provide(op.output(i), E.Load(dtypes[i], bufs[i], zero), out_idx) for i in range(n)]))
        body: Stmt = seq(init, acc, combine, write)
        for i in reversed(range(n)):
            body = Allocate(bufs[i], dtypes[i], E.const(1), "local", body)
        # The other launched indices loop around the stage's own statements only: a stage computed
        # inside the reduction (before them) may bind the same index.
        body = _thread_loops(body, extra)
        for iv in reversed(cross):
            for prod in reversed(self.attached.get((id(st), iv), [])):
                body = self.realize(prod, seq(self.stage_nest(prod), body))
            if iv in widened:
                body = For(iv.var, E.const(0, iv.var.dtype), E.const(widened[iv], iv.var.dtype), ForKind.THREAD_BINDING,
                           body, self._tag(st, iv))
            else:
                body = self._for(st, iv, body)
        return self.loops(st, leaves[:p], body, [])

    def extern_nest(self, op: ExternOp, st: Stage | None = None) -> Stmt:
        """The outside code of an extern stage, its buffers bound to the tensors' storage (a
        hybrid script's loops as its stage schedules them)."""
        check_extern_bounds(op)
        check_extern_launches(op)
        body = op.extern_body
        stmt = body if isinstance(body, Stmt) else Evaluate(convert(body))
        if isinstance(op, HybridOp) and st is not None:
            stmt = schedule_script_loops(st, self.bounds, stmt)
        if self._inlined is None:
            self._inlined = inlined_definitions(self.sch)
        stmt, inlined = inline_into_extern(op, stmt, self._inlined)
        pairs = [(buf, t) for buf, t in zip(op.input_placeholders, op.inputs) if t not in inlined]
        pairs += list(zip(op.output_placeholders, op.outputs))
        for buf, t in reversed(pairs):
            if buf.symbolic_vars():  # declared strides/offset: bind them to the tensor's layout
                stmt = BufferRegionBind(buf, t, [E.const(0)] * len(t.shape), t.shape, stmt)
            else:
                stmt = BufferBind(buf.data, t, stmt)
        return stmt

    def _update(self, op: ComputeOp, red: E.Reduce, vmap: dict[Var, PrimExpr], out_idx: list[PrimExpr]) -> Stmt:
        comb = red.combiner
        n = op.num_outputs
        cur = {comb.lhs[i]: E.TensorRead(op.output(i), out_idx) for i in range(n)}
        cur.update({comb.rhs[i]: substitute(red.source[i], vmap) for i in range(n)})
        results = [substitute(r, cur) for r in comb.result]
        if n == 1:
            return Provide(op.output(0), results[0], out_idx)
        # All outputs must be combined from the old values: bind the results first.
        tmps = [Var(f"{op.name}.v{i}", r.dtype) for i, r in enumerate(results)]
        stmt: Stmt = seq(*[Provide(op.output(i), tmps[i], out_idx) for i in range(n)])
        for t, r in reversed(list(zip(tmps, results))):
            stmt = LetStmt(t, r, stmt)
        return stmt

    def _split_overruns(self, st: Stage) -> tuple[list[PrimExpr], list[PrimExpr]]:
        """Guards (data-parallel, reduction) for axes split again after a split: a part whose
        extent the second factor does not divide runs past it (a split of a 3-long part by 2
        runs 4), onto points that belong to the next outer iteration.  The root axes' own
        checks cannot see that overrun, which lands inside the root axis' range."""
        op = st.op
        roots = set(op.axis) | set(op.reduce_axis)
        extents = {iv: self.bounds.ranges[iv].extent for iv in st.all_iter_vars}
        ranges = self.bounds.var_ranges
        splits = [r for r in st.relations if isinstance(r, Split) and r.parent not in roots
                  and not _covers_exactly(extents[r.outer], extents[r.inner], extents[r.parent], ranges)]
        if not splits:
            return [], []
        values: dict[IterVar, PrimExpr] = {iv: iv.var for iv in st.leaf_iter_vars}
        pass_up_index(st.relations, extents, values)
        dp: list[PrimExpr] = []
        red: list[PrimExpr] = []
        for rel in splits:
            c = simplify(values[rel.parent] < extents[rel.parent], ranges)
            if isinstance(c, E.IntImm) and c.value or can_prove(c, ranges):
                continue
            (red if rel.parent.iter_type == IterVarType.COMM_REDUCE else dp).append(c)
        return dp, red

    def _bound_checks(self, st: Stage, axes: tuple[IterVar, ...], vals: dict[IterVar, PrimExpr]) -> list[PrimExpr]:
        ranges = self.bounds.var_ranges
        conds: list[PrimExpr] = []
        for ax in axes:
            v = vals[ax]
            rng = self.bounds.ranges[ax]
            dom = ax.dom
            narrowed = rng.min is not dom.min or rng.extent is not dom.extent
            if ax.iter_type == IterVarType.COMM_REDUCE:
                # A triangular sum's domain uses the output index: express it in loop variables.
                dmap = self.data_index.get(st, {})
                rng = Range(substitute(rng.min, dmap), substitute(rng.extent, dmap))
                dom = Range(substitute(dom.min, dmap), substitute(dom.extent, dmap))
            checks = [v < rng.min + rng.extent]
            if narrowed:
                # A region inside the domain needs only the region check.
                inside = can_prove(rng.min >= dom.min, ranges) and \
                    can_prove(rng.min + rng.extent <= dom.min + dom.extent, ranges)
                if not inside:
                    checks += [v >= dom.min, v < dom.min + dom.extent]
            for c in checks:
                c = simplify(c, ranges)
                if isinstance(c, E.IntImm):
                    if not c.value:
                        conds.append(c)
                    continue
                if not can_prove(c, ranges):
                    conds.append(c)
        return conds

    def loops(self, st: Stage, leaves: list[IterVar], inner: Stmt, conds: list[PrimExpr],
              attach: bool = True) -> Stmt:
        """Wrap ``inner`` in the loops of ``leaves`` (outermost first), placing each guard in the
        innermost loop whose variable it uses and each attached stage inside its loop."""
        level_of = {iv.var: i for i, iv in enumerate(leaves)}
        # Guards never enclose attached stages: those may hold GPU barriers, which every thread
        # of a block must reach; attached stages guard their own out-of-domain points.
        deepest_attach = max((i for i, iv in enumerate(leaves) if attach and (id(st), iv) in self.attached),
                             default=-1)
        by_level: dict[int, list[PrimExpr]] = {}
        for c in conds:
            lv = max((level_of[v] for v in free_vars(c) if v in level_of), default=-1)
            by_level.setdefault(max(lv, deepest_attach), []).append(c)
        stmt = inner
        for lvl in range(len(leaves) - 1, -1, -1):
            iv = leaves[lvl]
            if lvl in by_level:
                stmt = IfThenElse(E.all_(*by_level[lvl]), stmt)
            if attach:
                for prod in reversed(self.attached.get((id(st), iv), [])):
                    stmt = self.realize(prod, seq(self.stage_nest(prod), stmt))
            stmt = self._for(st, iv, stmt)
        if -1 in by_level:
            stmt = IfThenElse(E.all_(*by_level[-1]), stmt)
        return stmt

    def _for(self, st: Stage, iv: IterVar, body: Stmt) -> Stmt:
        ext = self.bounds.ranges[iv].extent
        if iv.iter_type == IterVarType.COMM_REDUCE:
            # Reduction loops of a triangular sum have extents in the output index: use loop variables.
            ext = substitute(ext, self.data_index.get(st, {}))
        kind, tag, ann = loop_kind(st, iv)
        if kind == ForKind.VECTORIZED and not isinstance(simplify(ext), E.IntImm):
            raise LoweringError(f"stage {st.op.name}: cannot vectorize axis {iv.name}: its extent {ext} is not "
                                "a constant; split it by a constant factor and vectorize the inner part")
        if kind == ForKind.THREAD_BINDING and iv.var.dtype.bits > 32:
            return self._narrow_thread_loop(st, iv, ext, body, tag, ann)
        return For(iv.var, E.const(0, iv.var.dtype), ext, kind, body, tag, ann)

    @staticmethod
    def _narrow_thread_loop(st: Stage, iv: IterVar, ext: PrimExpr, body: Stmt, tag: str, ann: tuple) -> Stmt:
        """A 64-bit axis (fused over a symbolic or huge extent) bound to a GPU index: the index
        is 32-bit, so the loop gets an int32 variable and the body sees it widened. The extent
        must fit: a constant that does not is an error here, a symbolic one is checked at each
        call (lowering.call_checks)."""
        ext = simplify(ext)
        if isinstance(ext, E.IntImm) and ext.value > 2**31 - 1:
            raise LoweringError(f"stage {st.op.name}: axis {iv.name} bound to {tag} has {ext.value} iterations, "
                                f"more than a GPU index can count (2**31 - 1); split it further")
        narrow = Var(iv.var.name, INT32)
        body = substitute(body, {iv.var: E.Cast(iv.var.dtype, narrow)})
        return For(narrow, E.const(0, INT32), E.cast(ext, INT32), ForKind.THREAD_BINDING, body, tag, ann)


def _index_var(tag: str, dtype: DType = INT32) -> Var:
    """A loop variable for the GPU index ``tag`` ("threadIdx.x" -> tx)."""
    return Var(tag.replace("threadIdx.", "t"), dtype)


def _thread_loops(stmt: Stmt, loops: list[tuple[Var, str, int]]) -> Stmt:
    """``stmt`` inside a loop over the whole launch extent of each (variable, tag, extent)."""
    for var, tag, extent in loops:
        stmt = For(var, E.const(0, var.dtype), E.const(extent, var.dtype), ForKind.THREAD_BINDING, stmt, tag)
    return stmt


def schedule_ops(sch: Schedule, bodies: dict[Stage, tuple[PrimExpr, ...]], bounds: Bounds,
                 arg_tensors: set[Tensor]) -> Stmt:
    """The loop nest of the whole schedule (see the module docstring)."""
    return _Builder(sch, bodies, bounds, arg_tensors).program()


def _covers_exactly(outer: PrimExpr, inner: PrimExpr, parent: PrimExpr, ranges: dict) -> bool:
    """Whether a split's outer x inner loops run no further than its parent's extent (constant
    extents compared directly; symbolic ones proved, else a guard is kept)."""
    if all(isinstance(e, E.IntImm) for e in (outer, inner, parent)):
        return outer.value * inner.value <= parent.value
    return can_prove(outer * inner <= parent, ranges)
