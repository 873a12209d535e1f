"""Bound inference: the region each stage computes and the extent of every loop.

A stage computed at root covers its whole domain.  A stage attached with compute_at covers
the union of the elements its consumers read during one iteration of the attach loop:
loops enclosing the attach point stay symbolic, all other loops are relaxed to their ranges.
Regions are not clipped to the domain; lowering guards the points outside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..arith import Interval, relax, simplify
from ..errors import LoweringError
from ..te import expr as E
from ..te.expr import PrimExpr, Var
from ..te.functor import substitute
from ..te.scan import ScanOp
from ..te.tensor import ComputeOp, IterVar, Range, Tensor
from ..te.tensor_intrin import TensorComputeOp
from .inline import reads_of
from .relations import pass_down_extents, pass_up_index
from .schedule import Schedule, Stage


@dataclass
class Bounds:
    """Result of bound inference for one schedule."""

    # Root axes: the (min, extent) of the region computed; derived axes: min 0 and extent.
    ranges: dict[IterVar, Range] = field(default_factory=dict)
    # Every loop variable of every stage -> [0, extent - 1].
    var_ranges: dict[Var, Interval] = field(default_factory=dict)
    # The loops (of other stages) that enclose a stage's loop nest, outermost first.
    outer_loops: dict[Stage, list[IterVar]] = field(default_factory=dict)
    consumers: dict[Stage, list[Stage]] = field(default_factory=dict)
    # Loops bound to GPU threads -> their thread tag (blockIdx.x, threadIdx.y, vthread ...).
    thread_tag: dict[IterVar, str] = field(default_factory=dict)


def root_values(stage: Stage, bounds: Bounds) -> dict[IterVar, PrimExpr]:
    """Absolute value of each root axis expressed in the stage's leaf loop variables."""
    op = stage.op
    extents = {iv: bounds.ranges[iv].extent for iv in stage.all_iter_vars}
    values: dict[IterVar, PrimExpr] = {iv: iv.var for iv in stage.leaf_iter_vars}
    pass_up_index(stage.relations, extents, values)
    for iv in op.axis:  # a TensorComputeOp's axes spanned by its intrinsic have no loop
        values.setdefault(iv, E.const(0, iv.var.dtype))
    out = {}
    for iv in list(op.axis) + list(op.reduce_axis):
        rmin = bounds.ranges[iv].min
        if rmin.dtype != iv.var.dtype:
            # A consumer reading at an int64 index (T[int64(i) + 1]) gives an int64 region; the
            # axis keeps its own type, which the body's arithmetic on it (i * 2) was built in.
            rmin = E.cast(rmin, iv.var.dtype)
        out[iv] = simplify(values[iv] + rmin) if not (isinstance(rmin, E.IntImm) and rmin.value == 0) else values[iv]
    # A reduction domain may use the output index (a triangular sum): express it in loop variables.
    data = data_index_map(stage, out)
    for iv in op.reduce_axis:
        out[iv] = simplify(substitute(out[iv], data))
    return out


def data_index_map(stage: Stage, values: dict[IterVar, PrimExpr]) -> dict[Var, PrimExpr]:
    """Each data axis variable of the stage's op -> its value in loop variables."""
    return {iv.var: values[iv] for iv in stage.op.axis}


def _nested_in(st: Stage, target: Stage, ivar: IterVar, seen: int = 0) -> bool:
    """Does stage ``st`` run inside loop ``ivar`` of stage ``target``?"""
    if st is target:
        return True
    if st.attach_type != "scope" or seen > 64:
        return False
    parent, piv = st.attach_stage, st.attach_ivar
    if parent is target:
        leaves = target.leaf_iter_vars
        return piv in leaves and leaves.index(piv) >= leaves.index(ivar)
    return _nested_in(parent, target, ivar, seen + 1)


def infer_bound(sch: Schedule, bodies: dict[Stage, tuple[PrimExpr, ...]]) -> Bounds:
    """Infer regions and loop extents for every computed stage of ``sch``."""
    b = Bounds()
    computed = [st for st in sch.stages if st in bodies]
    out_tensors = {}
    for st in computed:
        for i in range(st.op.num_outputs):
            out_tensors[st.op.output(i)] = st
    for st in computed:
        b.consumers.setdefault(st, [])
    # Each stage's reads grouped by tensor, found once: a producer looks only at its own reads
    # (k producers read by one consumer would otherwise rescan its k reads each).
    reads: dict[Stage, dict[Tensor, list[E.TensorRead]]] = {}
    for st in computed:
        mine = reads[st] = {}
        for rd in reads_of(bodies[st]):
            mine.setdefault(rd.tensor, []).append(rd)
            prod = out_tensors.get(rd.tensor)
            if prod is not None and st not in b.consumers[prod]:
                b.consumers[prod].append(st)
    _check_attachments(computed, b)
    done: set[Stage] = set()
    pending = list(reversed(computed))
    while pending:
        progressed = False
        for st in list(pending):
            deps = list(b.consumers[st])
            if st.attach_type == "scope":
                deps.append(st.attach_stage)
            if all(d in done for d in deps):
                _infer_stage(st, b, reads)
                done.add(st)
                pending.remove(st)
                progressed = True
        if not progressed:
            names = ", ".join(st.op.name for st in pending)
            raise LoweringError(f"cannot order stages {names}: their compute_at attachments form a cycle"
                                f"{_attached_to_producer(pending, b)}")
    return b


def _attached_to_producer(pending: list[Stage], b: Bounds) -> str:
    """Why, when a stage is computed inside a stage it reads (directly or through others): the
    stage it reads must run first, so it cannot also hold it; '' when the cycle is only one of
    attachments."""
    for st in pending:
        parent = st.attach_stage if st.attach_type == "scope" else None
        if parent is None:
            continue
        seen, stack = set(), [parent]
        while stack:  # the consumers of parent, transitively: does st read parent's output?
            p = stack.pop()
            if p is st:
                return (f": stage {st.op.name} is computed at {parent.op.name}.{st.attach_ivar.name}, but "
                        f"{st.op.name} reads {parent.op.name}'s output, which must be computed first; "
                        f"compute a stage at a loop of a stage that reads it (s[{parent.op.name}].compute_at("
                        f"s[{st.op.name}], ...) computes {parent.op.name} per iteration of {st.op.name})")
            if id(p) not in seen:
                seen.add(id(p))
                stack.extend(b.consumers.get(p, ()))
    return ""


def _check_attachments(computed: list[Stage], b: Bounds) -> None:
    for st in computed:
        if st.attach_type != "scope":
            continue
        parent, iv = st.attach_stage, st.attach_ivar
        if parent not in computed:
            raise LoweringError(f"stage {st.op.name} is computed at stage {parent.op.name}, which is not "
                                "computed in this schedule (it was inlined or is a placeholder)")
        if iv not in parent.leaf_iter_vars:
            raise LoweringError(f"stage {st.op.name} is computed at axis {iv.name} of stage {parent.op.name}, "
                                f"but {iv.name} is no longer a loop of {parent.op.name} (it was split or fused "
                                f"after compute_at); attach to one of {[x.name for x in parent.leaf_iter_vars]}")
        for c in b.consumers[st]:
            if not _nested_in(c, parent, iv):
                raise LoweringError(f"stage {st.op.name} is computed at {parent.op.name}.{iv.name} but is also "
                                    f"read by stage {c.op.name}, which runs outside that loop; compute "
                                    f"{st.op.name} at root or attach {c.op.name} inside that loop")


def _infer_stage(st: Stage, b: Bounds, reads: dict[Stage, dict[Tensor, list[E.TensorRead]]]) -> None:
    op: ComputeOp = st.op
    if st.attach_type == "scope":
        parent, iv = st.attach_stage, st.attach_ivar
        leaves = parent.leaf_iter_vars
        enclosing = b.outer_loops[parent] + leaves[: leaves.index(iv) + 1]
        b.outer_loops[st] = enclosing
        # Memory shared by several GPU threads (or blocks) must hold what all of them read:
        # relax the enclosing loops bound to the threads that share it.
        fixed = [x for x in enclosing if not _shared_across(b.thread_tag.get(x, ""), st.storage_scope())]
        region = _region(st, b, reads, {x.var for x in fixed})
        for ax, rng in zip(op.axis, region):
            b.ranges[ax] = rng
        if isinstance(op, TensorComputeOp):  # the intrinsic writes its whole output tile
            for ax in op.axis[op.schedulable_ndim:]:
                b.ranges[ax] = Range(ax.dom.min, ax.dom.extent)
    else:
        b.outer_loops[st] = []
        for ax in op.axis:
            b.ranges[ax] = Range(ax.dom.min, ax.dom.extent)
        if isinstance(op, ScanOp):  # the init rows come from the init stage
            b.ranges[op.scan_axis] = Range(op.init_rows, simplify(op.scan_axis.dom.extent - op.init_rows))
            for sp in op.spatial_axes[1:]:  # the other states' own axes: whole, read by the scan
                for ax in sp:
                    b.ranges[ax] = Range(ax.dom.min, ax.dom.extent)
                    b.var_ranges[ax.var] = Interval(E.const(0, ax.dom.extent.dtype), simplify(ax.dom.extent - 1))
    for ax in op.reduce_axis:
        b.ranges[ax] = Range(ax.dom.min, ax.dom.extent)
    extents = {iv: b.ranges[iv].extent for iv in list(op.axis) + list(op.reduce_axis)}
    pass_down_extents(st.relations, extents)
    for iv in st.all_iter_vars:
        if iv not in b.ranges:
            b.ranges[iv] = Range(0, simplify(extents[iv]))
    for iv in st.leaf_iter_vars:
        ext = b.ranges[iv].extent
        b.var_ranges[iv.var] = Interval(E.const(0, ext.dtype), simplify(ext - 1))
        attr = st.iter_var_attrs.get(iv)
        if attr is not None and attr.bind_thread is not None:
            b.thread_tag[iv] = attr.bind_thread.thread_tag


def _shared_across(tag: str, scope: str) -> bool:
    """Whether a loop bound to ``tag`` is relaxed for a buffer in ``scope``."""
    if not tag:
        return False
    if scope == "warp":  # the lanes of a warp share warp memory
        return tag == "threadIdx.x"
    if scope == "shared":
        return tag.startswith("threadIdx") or tag in ("vthread", "cthread")
    if scope == "global":
        return True
    return False  # local and tensor-core fragments: per thread (per warp), never relaxed


class _Without(Mapping[Var, Interval]):
    """``ranges`` without the variables in ``fixed``, as a view (copying every loop's range for
    each attached stage would make bound inference quadratic in the number of stages)."""

    def __init__(self, ranges: dict[Var, Interval], fixed: set[Var]):
        self.ranges, self.fixed = ranges, fixed

    def __getitem__(self, v: Var) -> Interval:
        if v in self.fixed:
            raise KeyError(v)
        return self.ranges[v]

    def __contains__(self, v: object) -> bool:
        return v in self.ranges and v not in self.fixed

    def __iter__(self) -> Iterator[Var]:
        return (v for v in self.ranges if v not in self.fixed)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _region(st: Stage, b: Bounds, reads: dict[Stage, dict[Tensor, list[E.TensorRead]]],
            fixed: set[Var]) -> list[Range]:
    op: ComputeOp = st.op
    mine = [op.output(i) for i in range(op.num_outputs)]
    relax_map = _Without(b.var_ranges, fixed)
    lows: list[PrimExpr | None] = [None] * len(op.axis)
    highs: list[PrimExpr | None] = [None] * len(op.axis)
    unknown = [False] * len(op.axis)
    for c in b.consumers[st]:
        mine_read = [rd for t in mine for rd in reads[c].get(t, ())]
        if not mine_read:
            continue
        vals = root_values(c, b)
        vmap = {iv.var: v for iv, v in vals.items()}
        for rd in mine_read:
            for d, idx in enumerate(rd.indices):
                lo, hi = relax(simplify(substitute(idx, vmap)), relax_map)
                if lo is None or hi is None:
                    unknown[d] = True
                    continue
                lows[d] = lo if lows[d] is None else simplify(E.min_(lows[d], lo))
                highs[d] = hi if highs[d] is None else simplify(E.max_(highs[d], hi))
    out = []
    for d, ax in enumerate(op.axis):
        if unknown[d] or lows[d] is None:
            out.append(Range(ax.dom.min, ax.dom.extent))
        else:
            out.append(Range(lows[d], simplify(highs[d] - lows[d] + 1)))
    return out
