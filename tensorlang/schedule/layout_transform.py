"""``Stage.transform_layout`` (TVM 0.12): store a stage's tensor in a transformed layout.

The mapping (``lambda i: [i // 4, i % 4]``) takes a tensor's logical indices to the indices of
its stored (physical) layout and must be a bijection onto a dense box (``index_map``).  As in
TVM, the tensor is then stored in that layout: a computed stage's operation is replaced by one
over the transformed axes, whose loops run over the new layout in row-major order (its body
reads the original indices through the inverse map), and those axes are returned to be split,
reordered, fused or annotated like any other; every reader reads through the forward map.  A
placeholder is replaced by one of the transformed shape, so the built function takes that
argument in the transformed layout; so does a transformed output.  Several calls compose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..arith import Interval
from ..errors import ScheduleError
from ..te.expr import Var
from ..te.extern import ExternOp
from ..te.functor import free_vars, substitute
from ..te.scan import ScanOp
from ..te.tensor import ComputeOp, IterVar, PlaceholderOp, Range
from ..te.tensor_intrin import TensorComputeOp
from .dataflow import _rebuild, _Rewrite, _set_op, replace_dataflow
from .index_map import LayoutMap, analyze, call_mapping
from .schedule import Schedule, Stage


def transform_layout(sch: Schedule, stage: Stage, mapping: Callable[..., Any]) -> list[IterVar] | None:
    """Store ``stage``'s tensor in the layout ``mapping`` gives (see the module docstring); the
    new axes of a computed stage, None for a placeholder."""
    op = stage.op
    where = f"stage {op.name}: transform_layout"
    if isinstance(op, (ExternOp, ScanOp, TensorComputeOp)) or not isinstance(op, (ComputeOp, PlaceholderOp)):
        what = ("an extern stage (its outside code writes the buffer in its own layout)" if isinstance(op, ExternOp)
                else "a scan (its storage is shared with its init and update stages)" if isinstance(op, ScanOp)
                else "a stage computed by a tensor intrinsic")
        raise ScheduleError(f"{where} applies to te.compute stages and placeholders, not to {what}")
    shape = op.output(0).shape
    initial, items = call_mapping(mapping, shape, where)
    layout = analyze(initial, items, shape, where)
    _check_readers(sch, stage, where)
    _check_scan_storage(sch, stage, where)
    if isinstance(op, PlaceholderOp):
        new_op = PlaceholderOp(op.name, layout.shape, op.dtype)
        replaced = _set_op(sch, stage, new_op)
        replace_dataflow(sch, replaced, skip={stage}, layouts={op.output(0): layout})
        stage.layout_transforms.append(layout)
        return None
    axes = _replace_axes(stage, layout, where)
    new_op, vmap, amap = _relaid_op(op, layout, axes)
    if stage.store_predicate is not None:  # it may name the old axes
        stage.store_predicate = substitute(stage.store_predicate, vmap)
    if amap:  # the stage's loops name the reduction axes whose range changed
        stage.leaf_iter_vars = [amap.get(iv, iv) for iv in stage.leaf_iter_vars]
        stage.all_iter_vars = [amap.get(iv, iv) for iv in stage.all_iter_vars]
        stage.iter_var_attrs = {amap.get(iv, iv): a for iv, a in stage.iter_var_attrs.items()}
    replaced = _set_op(sch, stage, new_op)
    stage._replaced_ops.append(op)
    replace_dataflow(sch, replaced, skip={stage}, layouts={op.output(k): layout for k in range(op.num_outputs)})
    stage.layout_transforms.append(layout)
    return list(axes) or None


def _check_readers(sch: Schedule, stage: Stage, where: str) -> None:
    """Every reader must be a computation whose reads can take the index map."""
    outs = {stage.op.output(k) for k in range(stage.op.num_outputs)}
    for st in sch.stages:
        if st is stage or not any(t in outs for t in st.op.input_tensors):
            continue
        what = ("an extern stage, which reads the whole buffer in its own layout" if isinstance(st.op, ExternOp)
                else "a scan" if isinstance(st.op, ScanOp)
                else "a stage computed by a tensor intrinsic, whose regions are in the original layout"
                if isinstance(st.op, TensorComputeOp) else None)
        if what is not None:
            raise ScheduleError(f"{where}: {stage.op.name} is read by {st.op.name}, {what}; transform the layout of "
                                f"a copy instead (s.cache_read({stage.op.name}, ...))")


def _check_scan_storage(sch: Schedule, stage: Stage, where: str) -> None:
    """A scan's state placeholder, init and update tensors are the scan's own storage."""
    outs = {stage.op.output(k) for k in range(stage.op.num_outputs)}
    for st in sch.stages:
        if isinstance(st.op, ScanOp) and outs & {*st.op.state_placeholder, *st.op.init, *st.op.update}:
            raise ScheduleError(f"{where}: {stage.op.name} is a state, init or update of scan {st.op.name}, "
                                "which stores them in its own layout")


def _replace_axes(stage: Stage, layout: LayoutMap, where: str) -> list[IterVar]:
    """Put the transformed axes in place of the data axes among the stage's loops (as TVM:
    those axes must still be whole and adjacent), dropping what named the old axes."""
    op = stage.op
    for iv in op.axis:
        if iv not in stage.leaf_iter_vars:
            raise ScheduleError(f"{where} must come before axis {iv.name} is split or fused (the new layout's "
                                "loops replace the data axes; split or fuse the axes it returns)")
    pos = sorted(stage.leaf_iter_vars.index(iv) for iv in op.axis)
    if pos and pos[-1] - pos[0] + 1 != len(pos):
        raise ScheduleError(f"{where}: the data axes {[iv.name for iv in op.axis]} are not adjacent in the loop "
                            f"order {[iv.name for iv in stage.leaf_iter_vars]}; transform the layout before "
                            "reordering a reduction axis between them")
    for other in stage.schedule.stages:
        if other.attach_type == "scope" and other.attach_stage is stage and other.attach_ivar in op.axis:
            raise ScheduleError(f"{where}: stage {other.op.name} is computed at axis {other.attach_ivar.name}, "
                                "which the new layout's loops replace; call compute_at after transform_layout, "
                                "with one of the axes it returns")
    if stage.tensorized is not None and stage.tensorized[0] in op.axis:
        raise ScheduleError(f"{where}: the stage is tensorized at axis {stage.tensorized[0].name}; transform the "
                            "layout first, then tensorize at one of the axes it returns")
    if stage.storage_aligns:
        raise ScheduleError(f"{where}: storage_align was set on the old layout's dimensions; call it after "
                            "transform_layout, on the new axes")
    dependent = [r for r in op.reduce_axis
                 if (free_vars(r.dom.min) | free_vars(r.dom.extent)) & {iv.var for iv in op.axis}]
    if dependent and stage.relations:
        raise ScheduleError(f"{where}: the range of reduction axis {dependent[0].name} depends on the output index, "
                            "so transform the layout before splitting or fusing the reduction")
    axes = layout.axes()
    if pos:
        stage.leaf_iter_vars[pos[0]:pos[-1] + 1] = axes
    else:  # a 0-d stage: the new axes (all of extent 1) go outermost
        stage.leaf_iter_vars[0:0] = axes
    old = set(op.axis)
    stage.all_iter_vars = [*axes, *(iv for iv in stage.all_iter_vars if iv not in old)]
    stage.iter_var_attrs = {iv: a for iv, a in stage.iter_var_attrs.items() if iv not in old}
    return axes


def _relaid_op(op: ComputeOp, layout: LayoutMap, axes: list[IterVar]
               ) -> tuple[ComputeOp, dict[Var, Any], dict[IterVar, IterVar]]:
    """``op`` over the transformed ``axes`` (each element computed from its original indices),
    the original axes' variables in terms of the new ones, and the reduction axes it replaced."""
    vmap: dict[Var, Any] = {}
    back = layout.backward([iv.var for iv in axes])
    for iv, v in zip(op.axis, layout.initial):
        vmap[iv.var] = back[v] + iv.dom.min if not _zero(iv.dom.min) else back[v]
    # a reduction whose range reads the output index (a triangular sum) reads it through the map
    amap = {r: IterVar(Range(substitute(r.dom.min, vmap), substitute(r.dom.extent, vmap)), r.var, r.iter_type)
            for r in op.reduce_axis if (free_vars(r.dom.min) | free_vars(r.dom.extent)) & set(vmap)}
    ranges = {iv.var: Interval.from_range(iv.dom.min, iv.dom.extent) for iv in axes}
    return _rebuild(op, _Rewrite(vmap=vmap, axis_map=amap, ranges=ranges), axis=axes), vmap, amap


def _zero(e: Any) -> bool:
    return getattr(e, "value", None) == 0
