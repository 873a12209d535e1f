"""Schedule primitives that add stages and rewire dataflow: cache_read, cache_write, rfactor.

Each replaces operations by new ones that read different tensors; ``replace_dataflow``
propagates the replacement to every downstream stage, so ``s[T]`` keeps finding the stage
of a tensor the user holds, whatever was rewritten since.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ..arith import Interval, can_prove, simplify
from ..errors import ScheduleError
from ..te import expr as E
from ..te.dtype import INT32
from ..te.expr import PrimExpr, Reduce, TensorRead, Var
from ..te.extern import ExternOp, HybridOp
from ..te.functor import Mutator, free_vars, substitute
from ..te.operation import compute
from ..te.reduction import CommReducer
from ..te.scan import ScanOp
from ..te.tensor import ComputeOp, IterVar, IterVarType, Operation, Range, Tensor
from ..te.tensor_intrin import TensorComputeOp
from .index_map import LayoutMap
from .relations import Split, pass_down_extents, pass_down_index, pass_up_index
from .schedule import STORAGE_SCOPES, Schedule, Stage, _integer


class _Rewrite(Mutator):
    """Replace tensor reads (by tensor identity), variables, and reduce axes; reads of a tensor
    in ``layouts`` (transform_layout) also take its forward index map, and with ``ranges`` (of
    the loop variables) every read's indices are simplified."""

    def __init__(self, tmap: dict[Tensor, Tensor] | None = None, vmap: dict[Var, PrimExpr] | None = None,
                 axis_map: dict[IterVar, IterVar] | None = None, layouts: dict[Tensor, LayoutMap] | None = None,
                 ranges: dict[Var, Interval] | None = None):
        super().__init__()
        self.tmap = tmap or {}
        self.vmap = vmap or {}
        self.axis_map = axis_map or {}
        self.layouts = layouts or {}
        self.ranges = ranges

    def visit_Var(self, node: Var) -> PrimExpr:
        return self.vmap.get(node, node)

    def visit_TensorRead(self, node: TensorRead) -> PrimExpr:
        idx = tuple(self.visit(i) for i in node.indices)
        layout = self.layouts.get(node.tensor)
        if layout is not None:
            idx = tuple(layout.forward(idx))
        if self.ranges is not None:
            idx = tuple(simplify(i, self.ranges) for i in idx)
        t = self.tmap.get(node.tensor, node.tensor)
        return node.with_fields(tensor=t, indices=idx)

    def visit_Reduce(self, node: Reduce) -> PrimExpr:
        src = tuple(self.visit(s) for s in node.source)
        cond = self.visit(node.condition)
        axes = tuple(self.axis_map.get(a, a) for a in node.axis)
        comb = node.combiner
        if self.vmap and any(free_vars(e) & set(self.vmap) for e in (*comb.result, *comb.identity)):
            # A reducer built from the output index (its identity or combination uses it).
            comb = CommReducer(comb.name, comb.lhs, comb.rhs, [self.visit(e) for e in comb.result],
                               [self.visit(e) for e in comb.identity], comb.allow_empty, comb.starts_at_init,
                               comb.neutral)
        return Reduce(comb, src, axes, cond, node.value_index)


def _reads(op: Operation, tensors: set[Tensor]) -> bool:
    return any(t in tensors for t in op.input_tensors)


def _rebuild(op: ComputeOp, rw: _Rewrite, axis: Sequence[IterVar] | None = None, name: str | None = None) -> ComputeOp:
    if isinstance(op, TensorComputeOp):
        return op.with_regions(name or op.name, axis if axis is not None else op.axis, rw.tmap, rw.vmap)
    body = tuple(rw.visit(b) for b in op.body)
    return ComputeOp(name or op.name, op.tag, op.attrs, axis if axis is not None else op.axis, body)


def _set_op(sch: Schedule, stage: Stage, new_op: Operation) -> dict[Tensor, Tensor]:
    old = stage.op
    sch._alive.append(old)  # stage_map is keyed by id(op): keep replaced ops alive
    stage.op = new_op
    sch.stage_map[id(new_op)] = stage
    sch.outputs = [new_op if o is old else o for o in sch.outputs]
    return {old.output(i): new_op.output(i) for i in range(old.num_outputs)}


def replace_dataflow(sch: Schedule, tmap: dict[Tensor, Tensor], skip: set[Stage] | None = None,
                     layouts: dict[Tensor, LayoutMap] | None = None) -> None:
    """Make every stage (but ``skip``) read the new tensors of ``tmap``, transitively; reads of
    the tensors in ``layouts`` go through their index maps (the caller checked that their
    readers are plain computations)."""
    skip = skip or set()
    tmap = dict(tmap)
    layouts = layouts or {}
    for st in sch.stages:
        if st in skip or not isinstance(st.op, ComputeOp) or not _reads(st.op, set(tmap)):
            continue
        if isinstance(st.op, ScanOp):
            new_op: Operation = st.op.with_tensors(tmap)
        elif isinstance(st.op, ExternOp):  # its outside code reads buffers: only the tensors change
            new_op = _extern_with_inputs(st.op, tmap)
        elif _reads(st.op, set(layouts)):
            new_op = _rebuild(st.op, _Rewrite(tmap, layouts=layouts, ranges=_loop_ranges(st.op)))
        else:
            new_op = _rebuild(st.op, _Rewrite(tmap))
        replaced = _set_op(sch, st, new_op)
        # A stage rebuilt earlier (a cache_read's reader) may be rebuilt again here: whatever
        # was mapped to its older op now maps to the newest one.
        for old, new in tmap.items():
            if new in replaced:
                tmap[old] = replaced[new]
        tmap.update(replaced)


def _extern_with_inputs(op: ExternOp, tmap: dict[Tensor, Tensor]) -> ExternOp:
    """The extern (or hybrid script) stage ``op`` reading the replaced tensors of ``tmap``."""
    new = copy.copy(op)
    new.inputs = tuple(tmap.get(t, t) for t in op.inputs)
    new.outputs = tuple(Tensor(new, i, t.shape, t.dtype) for i, t in enumerate(op.outputs))
    return new


def _loop_ranges(op: ComputeOp) -> dict[Var, Interval]:
    """The ranges of an operation's axis variables (to simplify the indices it reads)."""
    return {iv.var: Interval.from_range(iv.dom.min, iv.dom.extent) for iv in (*op.axis, *op.reduce_axis)}


def _insert_stage(sch: Schedule, op: Operation, before: Stage) -> Stage:
    st = Stage(op, sch)
    sch.stages.insert(sch.stages.index(before), st)
    sch.stage_map[id(op)] = st
    return st


def _renamed_range(dom: Range, vmap: dict[Var, PrimExpr]) -> Range:
    return Range(substitute(dom.min, vmap), substitute(dom.extent, vmap))


def _copy_axes(op: ComputeOp, suffix: str) -> tuple[list[IterVar], list[IterVar], dict[Var, PrimExpr],
                                                     dict[IterVar, IterVar]]:
    axis = [IterVar(iv.dom, Var(iv.name + suffix, iv.var.dtype), iv.iter_type) for iv in op.axis]
    vmap: dict[Var, PrimExpr] = {o.var: n.var for o, n in zip(op.axis, axis)}
    # The cache keeps the reduction axes, as in TVM (``s[CC].reorder(k, ...)`` names the
    # original k), except one whose domain depends on the output index (a triangular sum):
    # that one is renamed with it.
    data = set(vmap)
    raxis = [iv if not (free_vars(iv.dom.min) | free_vars(iv.dom.extent)) & data else
             IterVar(_renamed_range(iv.dom, vmap), Var(iv.name + suffix, iv.var.dtype), iv.iter_type)
             for iv in op.reduce_axis]
    vmap.update({o.var: n.var for o, n in zip(op.reduce_axis, raxis)})
    amap = dict(zip(op.reduce_axis, raxis))
    return axis, raxis, vmap, amap


def cache_read(sch: Schedule, tensor: Tensor, scope: str, readers: Any) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise ScheduleError(f"cache_read expects a tensor, got {tensor!r}")
    if not isinstance(readers, (list, tuple)):
        readers = [readers]
    if not readers:
        raise ScheduleError(f"cache_read of {tensor.name}: readers is empty")
    _check_scope(scope, f"cache_read of {tensor.name}")
    src = sch.current_tensor(tensor)
    reader_stages = []
    for r in readers:
        st = sch[r]
        if not isinstance(st.op, ComputeOp) or src not in st.op.input_tensors:
            raise ScheduleError(f"cache_read of {tensor.name}: stage {st.op.name} does not read {tensor.name}")
        reader_stages.append(st)
    shape = src.shape
    cache = compute(shape, lambda *i: src[i], name=f"{src.op.name}.{scope}")
    first = min(sch.stages.index(st) for st in reader_stages)
    cstage = _insert_stage(sch, cache.op, sch.stages[first])
    cstage.set_scope(scope)
    tmap: dict[Tensor, Tensor] = {}
    for st in reader_stages:
        # an extern or hybrid-script reader reads buffers bound to its inputs: swap the input
        new_op = _extern_with_inputs(st.op, {src: cache}) if isinstance(st.op, ExternOp) else \
            _rebuild(st.op, _Rewrite({src: cache}))
        tmap.update(_set_op(sch, st, new_op))
    # Readers may read each other (C, and E reading C): every stage, readers included, then
    # reads the rebuilt readers.
    replace_dataflow(sch, tmap)
    return cache


def _check_scope(scope: Any, where: str) -> None:
    """The check of Stage.set_scope, made before a primitive adds a stage."""
    if scope not in STORAGE_SCOPES:
        raise ScheduleError(f"{where}: unknown storage scope {scope!r} (known: {', '.join(STORAGE_SCOPES)})")


def cache_write(sch: Schedule, tensor: Tensor | Sequence[Tensor], scope: str) -> Any:
    tensors = list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise ScheduleError(f"cache_write expects a tensor (or a list of the outputs of one op), got {tensor!r}")
    if any(t.op is not tensors[0].op for t in tensors):
        raise ScheduleError(f"cache_write: {', '.join(t.name for t in tensors)} are not outputs of one op")
    _check_scope(scope, f"cache_write of {tensors[0].name}")
    stage = sch[tensors[0]]
    op = stage.op
    if not isinstance(op, ComputeOp):
        raise ScheduleError(f"cache_write: {tensors[0].name} is not computed by this schedule")
    if isinstance(op, (ExternOp, ScanOp)):
        # as in TVM: only a compute's body can be moved into the cache stage
        kind = "a hybrid script" if isinstance(op, HybridOp) else "an extern" if isinstance(op, ExternOp) else "a scan"
        raise ScheduleError(f"cache_write of {tensors[0].name}: it is the output of {kind} stage ({op.name}), "
                            "whose code cannot be moved into a cache; cache_read it in its readers instead")
    axis, raxis, vmap, amap = _copy_axes(op, ".c")
    read_index: list[PrimExpr] = [iv.var for iv in op.axis]
    if isinstance(op, TensorComputeOp):
        return _cache_write_tensor_compute(sch, stage, axis, vmap, scope)
    if stage.relations:
        # As in TVM, the cache takes the loop structure made so far as its layout: one axis per
        # data-parallel leaf loop; the stage itself is rebuilt as a copy, its directives dropped.
        axis, vmap, read_index = _relayout(stage, op, vmap)
    cache_op = _rebuild(op, _Rewrite(vmap=vmap, axis_map=amap), axis=axis, name=f"{op.name}.{scope}")
    copy_body = tuple(TensorRead(cache_op.output(i), read_index) for i in range(op.num_outputs))
    copy_op = ComputeOp(op.name, op.tag, op.attrs, op.axis, copy_body)
    cstage = _insert_stage(sch, cache_op, stage)
    cstage.set_scope(scope)
    tmap = _set_op(sch, stage, copy_op)
    stage._reset_axes()
    replace_dataflow(sch, tmap, skip={stage, cstage})
    outs = [cache_op.output(t.value_index) for t in tensors]
    return outs[0] if not isinstance(tensor, (list, tuple)) else outs


def _relayout(stage: Stage, op: ComputeOp, vmap: dict[Var, PrimExpr]
              ) -> tuple[list[IterVar], dict[Var, PrimExpr], list[PrimExpr]]:
    """Axes of a cache laid out by the stage's data-parallel leaf loops, the body substitution
    for the original axes, and the cache index that the copy stage reads for each output point."""
    extents = {iv: iv.dom.extent for iv in op.axis + op.reduce_axis}
    pass_down_extents(stage.relations, extents)
    for rel in stage.relations:
        # A split of a reduction axis does not shape the cache (TVM drops it with the rest of the
        # stage's loop structure), so only data-parallel splits must divide.
        if isinstance(rel, Split) and rel.parent.iter_type != IterVarType.COMM_REDUCE:
            whole, part = extents[rel.parent], rel.factor if rel.factor is not None else rel.nparts
            if not can_prove(E.binary(E.FloorMod, whole, part).equal(0)):
                raise ScheduleError(f"stage {op.name}: cache_write after splitting {rel.parent.name} by {part} "
                                    f"needs the split to divide its extent {whole} (the cache is laid out by the "
                                    "split loops)")
    leaves = [iv for iv in stage.leaf_iter_vars if iv.iter_type != IterVarType.COMM_REDUCE]
    axis = [IterVar(Range(0, extents[iv]), Var(iv.name + ".c", iv.var.dtype), IterVarType.DATA_PAR)
            for iv in leaves]
    values: dict[IterVar, PrimExpr] = {iv: new.var for iv, new in zip(leaves, axis)}
    for iv in stage.leaf_iter_vars:
        values.setdefault(iv, E.const(0))
    pass_up_index(stage.relations, extents, values)
    vmap = dict(vmap)
    for iv in op.axis:
        vmap[iv.var] = values[iv] + iv.dom.min
    roots = {iv: iv.var - iv.dom.min for iv in op.axis + op.reduce_axis}  # the reduction's splits need theirs too
    pass_down_index(stage.relations, extents, roots)
    return axis, vmap, [roots[iv] for iv in leaves]


def _cache_write_tensor_compute(sch: Schedule, stage: Stage, axis: list[IterVar], vmap: dict[Var, PrimExpr],
                                scope: str) -> Tensor:
    """cache_write of a TensorComputeOp: the intrinsic writes the cache, a copy over the whole
    output shape (its loops and the intrinsic's dimensions) writes the tensor."""
    op = stage.op
    if stage.relations:
        raise ScheduleError(f"stage {op.name}: cache_write of a tensor-intrinsic stage must come before its loops "
                            "are split or fused")
    cache_op = op.with_regions(f"{op.name}.{scope}", axis, {}, vmap)
    out = op.output(0)
    full = [IterVar(Range(0, d), Var(f"ax{n}", INT32), IterVarType.DATA_PAR) for n, d in enumerate(out.shape)]
    copy_op = ComputeOp(op.name, op.tag, op.attrs, full, [TensorRead(cache_op.output(0), [iv.var for iv in full])])
    cstage = _insert_stage(sch, cache_op, stage)
    cstage.set_scope(scope)
    tmap = _set_op(sch, stage, copy_op)
    stage._reset_axes()
    replace_dataflow(sch, tmap, skip={stage, cstage})
    return cache_op.output(0)


def rfactor(sch: Schedule, tensor: Tensor, axis: IterVar, factor_axis: int = 0) -> Any:
    stage = sch[tensor]
    op = stage.op
    where = f"stage {op.name}: rfactor"
    if not isinstance(op, ComputeOp) or not op.reduce_axis:
        raise ScheduleError(f"{where} needs a reduction stage")
    if axis not in stage.leaf_iter_vars or axis.iter_type != IterVarType.COMM_REDUCE:
        raise ScheduleError(f"{where}: {getattr(axis, 'name', axis)!r} is not a reduction axis of this stage "
                            "(split the reduction axis and pass one of the parts)")
    factor_axis = _integer(factor_axis, f"{where}: factor_axis")
    if not 0 <= factor_axis <= len(op.axis):
        raise ScheduleError(f"{where}: factor_axis {factor_axis} is out of range 0..{len(op.axis)}")
    red: Reduce = op.body[0]
    # With init= (TVM's Reduce.init) the partial reductions start at the reducer's neutral
    # element and only the final one, over the partial results, starts at init.
    partial_comb = red.combiner.without_init()
    extents = {iv: iv.dom.extent for iv in op.axis + op.reduce_axis}
    pass_down_extents(stage.relations, extents)
    # Data axes of the partial-result stage: the original ones plus `axis` at factor_axis.
    data = [IterVar(iv.dom, Var(iv.name, iv.var.dtype), IterVarType.DATA_PAR) for iv in op.axis]
    fiv = IterVar(Range(0, extents[axis]), Var(axis.name + ".rf", axis.var.dtype), IterVarType.DATA_PAR)
    data.insert(factor_axis, fiv)
    rest = [iv for iv in stage.leaf_iter_vars if iv.iter_type == IterVarType.COMM_REDUCE and iv is not axis]
    rest.sort(key=lambda iv: iv not in op.reduce_axis)  # untouched root axes first, as in TVM
    # As in TVM, the partial stage keeps the untouched reduction axes, and the parts of split
    # ones keep their variables.
    new_red = [iv if iv in op.reduce_axis else IterVar(Range(0, extents[iv]), iv.var, IterVarType.COMM_REDUCE)
               for iv in rest]
    values: dict[IterVar, PrimExpr] = {axis: fiv.var}
    values.update({o: n.var for o, n in zip(rest, new_red)})
    for iv in stage.leaf_iter_vars:
        values.setdefault(iv, E.const(0))
    pass_up_index([r for r in stage.relations], extents, values)
    vmap: dict[Var, PrimExpr] = {o.var: n.var for o, n in zip(op.axis, [d for d in data if d is not fiv])}
    cond: PrimExpr = red.condition
    for r in op.reduce_axis:
        vmap[r.var] = values[r] + r.dom.min
        cond = E.all_(cond, values[r] < r.dom.extent)
    rw = _Rewrite(vmap=vmap)
    src = tuple(rw.visit(s) for s in red.source)
    cond = rw.visit(cond)
    cond = simplify(cond)
    if new_red:
        rf_body = tuple(Reduce(partial_comb, src, new_red, cond, i) for i in range(len(src)))
    else:
        rf_body = tuple(E.if_then_else(cond, s, partial_comb.identity[i]) for i, s in enumerate(src))
    rf_op = ComputeOp(f"{op.name}.rf", op.tag, op.attrs, data, rf_body)
    # The original stage now reduces the partial results over the factored axis.
    kv = IterVar(Range(0, extents[axis]), Var(axis.name + ".v", axis.var.dtype), IterVarType.COMM_REDUCE)
    idx = [iv.var for iv in op.axis]
    idx.insert(factor_axis, kv.var)
    partial = tuple(TensorRead(rf_op.output(i), idx) for i in range(len(src)))
    body = tuple(Reduce(red.combiner, partial, [kv], E.const(True), i) for i in range(len(src)))
    new_op = ComputeOp(op.name, op.tag, op.attrs, op.axis, body)
    rstage = _insert_stage(sch, rf_op, stage)
    tmap = _set_op(sch, stage, new_op)
    stage._reset_axes()
    replace_dataflow(sch, tmap, skip={stage, rstage})
    outs = rf_op.outputs
    return outs[0] if len(outs) == 1 else outs
