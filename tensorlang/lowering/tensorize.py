"""Tensorize: a stage's loops from a chosen axis inward become a tensor intrinsic's code.

Guarantees: the code replaces the loops only when they compute what the intrinsic declares:
the loops under the axis cover, for each axis of the stage, a whole tile (no guard needed
inside) of the extent of the intrinsic's matching axis (the stage's leading axes may be left
out when they cover one point); and the stage's expression, its tensors read through the
intrinsic's inputs (trailing dimensions, relative to the region read), is the intrinsic's.
Otherwise ``ScheduleError`` names the stage, the axis and what differs.  The intrinsic's
buffers are bound (``BufferRegionBind``) to the regions of the tensors that one use covers.
When reduction loops stay outside the tensorized ones, the intrinsic's reset code runs where
a reduction is initialized and its update code in the loop; without reset code, the first
iteration of those loops runs the body instead.
"""

from __future__ import annotations

from math import prod
from typing import Any

from ..arith import Interval, relax, simplify
from ..errors import ScheduleError
from ..ir.stmt import BufferRegionBind, Evaluate, IfThenElse, Stmt, seq
from ..schedule.bound import data_index_map, root_values
from ..schedule.schedule import Stage
from ..te import expr as E
from ..te.expr import Node, PrimExpr, Reduce, TensorRead, Var, const
from ..te.functor import Mutator, free_vars, post_order_visit, substitute
from ..te.tensor import IterVar, IterVarType, Tensor
from ..te.tensor_intrin import TensorComputeOp, TensorIntrin


class _Tile:
    """What one use of the intrinsic covers: the region of each tensor it reads and writes."""

    def __init__(self) -> None:
        self.inputs: list[tuple[Tensor, list[PrimExpr], list[PrimExpr]]] = []  # tensor, mins, extents
        self.output: tuple[Tensor, list[PrimExpr], list[PrimExpr]] | None = None
        self.scalars: dict[Var, PrimExpr] = {}


def tensorize_nest(b: Any, st: Stage) -> Stmt:
    """The loop nest of stage ``st`` (tensorized) for the schedule_ops builder ``b``."""
    axis, intrin = st.tensorized
    where = f"stage {st.op.name}: tensorize at axis {axis.name} with intrinsic '{intrin.name}'"
    leaves = st.leaf_iter_vars
    if axis not in leaves:
        raise ScheduleError(f"{where}: {axis.name} is no longer a loop of the stage (it was split or fused after "
                            f"tensorize); the loops are {[iv.name for iv in leaves]}")
    p = leaves.index(axis)
    outer, inner = leaves[:p], leaves[p:]
    for iv in inner:
        for prod_st in b.attached.get((id(st), iv), []):
            raise ScheduleError(f"{where}: stage {prod_st.op.name} is computed at {iv.name}, inside the "
                                "tensorized loops; attach it outside them")
    vals = root_values(st, b.bounds)
    b.data_index[st] = data_index_map(st, vals)
    tile = _match(b, st, intrin, vals, {iv.var for iv in inner}, where)
    return _emit(b, st, intrin, tile, outer, vals, {iv.var for iv in inner}, where)


def tensor_compute_nest(b: Any, st: Stage) -> Stmt:
    """The loop nest of a TensorComputeOp stage: its loops, the intrinsic at each point."""
    op: TensorComputeOp = st.op
    intrin = op.intrin
    where = f"stage {op.name}: tensor intrinsic '{intrin.name}'"
    vals = root_values(st, b.bounds)
    b.data_index[st] = data_index_map(st, vals)
    vmap = {iv.var: vals[iv] for iv in vals}
    tile = _Tile()
    tile.inputs = op.regions_at(vmap)
    loops = op.axis[:op.schedulable_ndim]
    trailing = list(op.output(0).shape[len(loops):])
    tile.output = (op.output(0), [vals[ax] for ax in loops] + [const(0)] * len(trailing),
                   [const(1)] * len(loops) + trailing)
    tile.scalars = {p: substitute(x, vmap) for p, x in zip(intrin.scalar_params, op.call.scalars)}
    return _emit(b, st, intrin, tile, list(st.leaf_iter_vars), vals, set(), where)


def _emit(b: Any, st: Stage, intrin: TensorIntrin, tile: _Tile, outer: list[IterVar], vals: dict[IterVar, PrimExpr],
          inner_vars: set[Var], where: str) -> Stmt:
    """The loops ``outer`` around the intrinsic's code, its buffers bound to ``tile``; the
    reset/update form when reduction loops are among ``outer``."""

    def bind(code: Any, with_inputs: bool) -> Stmt:
        stmt = code if isinstance(code, Stmt) else Evaluate(code)
        if tile.scalars:
            stmt = substitute(stmt, tile.scalars)
        out_t, out_mins, out_exts = tile.output
        stmt = BufferRegionBind(intrin.buffers[-1], out_t, out_mins, out_exts, stmt)
        if with_inputs:
            for buf, (t, mins, exts) in zip(intrin.buffers, tile.inputs):
                stmt = BufferRegionBind(buf, t, mins, exts, stmt)
        return stmt

    op = st.op
    # Guards on the outer loops only: the tile inside is whole (checked by _match).
    dp_conds = [c for c in b._bound_checks(st, op.axis, vals) if not free_vars(c) & inner_vars]
    red_conds = [c for c in b._bound_checks(st, op.reduce_axis, vals) if not free_vars(c) & inner_vars]
    pred, wraps = b._store_predicate(st)
    emit = bind
    if wraps:  # the predicate names a thread index only another stage binds: it guards each statement
        def emit(code: Any, with_inputs: bool, pred: list[PrimExpr] = pred) -> Stmt:
            return b._stored_by(bind(code, with_inputs), pred, wraps)
        pred = []
    outer_red = [iv for iv in outer if iv.iter_type == IterVarType.COMM_REDUCE]
    if not outer_red:
        if intrin.body is None:
            raise ScheduleError(f"{where}: the intrinsic gives no body, only reduce_init/reduce_update; the "
                                "tensorized loops hold the whole reduction, which needs the body")
        return b.loops(st, outer, emit(intrin.body, True), dp_conds + red_conds + pred)
    if intrin.reduce_update is None:
        raise ScheduleError(f"{where}: reduction loops {', '.join(iv.name for iv in outer_red)} stay outside the "
                            "tensorized loops, so the intrinsic's fcompute must return (body, reduce_init, "
                            "reduce_update); it gives no reduce_update")
    q = outer.index(outer_red[0])
    update = emit(intrin.reduce_update, True)
    if intrin.reduce_init is not None:
        init_leaves = [iv for iv in outer[q:] if iv.iter_type != IterVarType.COMM_REDUCE]
        init = b.loops(st, init_leaves, emit(intrin.reduce_init, False), dp_conds + pred, attach=False)
    elif intrin.body is not None:
        init = None
        first = E.all_(*[iv.var.equal(0) for iv in outer_red])
        update = IfThenElse(first, emit(intrin.body, True), update)
    else:
        raise ScheduleError(f"{where}: reduction loops stay outside the tensorized loops and the intrinsic gives "
                            "neither reduce_init nor a body to start the reduction with")
    main = b.loops(st, outer[q:], update, dp_conds + red_conds + pred)
    return b.loops(st, outer[:q], seq(init, main), [])


def _match(b: Any, st: Stage, intrin: TensorIntrin, vals: dict[IterVar, PrimExpr], inner_vars: set[Var],
           where: str) -> _Tile:
    """Check that the loops in ``inner_vars`` compute the intrinsic; the regions they cover."""
    op, iop = st.op, intrin.op
    ranges = b.bounds.var_ranges
    inner_ranges = {v: ranges[v] for v in inner_vars}
    roots = list(op.axis) + list(op.reduce_axis)
    mins: dict[IterVar, PrimExpr] = {}
    extents: dict[IterVar, int] = {}
    at_zero = {v: const(0, v.dtype) for v in inner_vars}
    for r in roots:
        v = vals[r]
        rmin = simplify(substitute(v, at_zero))
        lo, hi = relax(simplify(v - rmin, ranges), inner_ranges)
        if not (isinstance(lo, E.IntImm) and isinstance(hi, E.IntImm) and lo.value == 0):
            raise ScheduleError(f"{where}: the loops under it do not cover a fixed-size tile of axis {r.name}")
        mins[r], extents[r] = rmin, hi.value + 1
        rng = b.bounds.ranges[r]
        end = simplify(rmin + extents[r] - (rng.min + rng.extent), ranges)
        lo_end = relax(end, ranges)[1]
        if not (isinstance(lo_end, E.IntImm) and lo_end.value <= 0):
            raise ScheduleError(f"{where}: the tile of axis {r.name} ({extents[r]} points) can pass the end of its "
                                f"extent {rng.extent} (a split factor that does not divide it); tensorize needs "
                                "whole tiles")
    inner_points = 1
    for iv in st.leaf_iter_vars:
        if iv.var in inner_vars:
            ext = simplify(b.bounds.ranges[iv].extent)
            if not isinstance(ext, E.IntImm):
                raise ScheduleError(f"{where}: loop {iv.name} has the non-constant extent {ext}")
            inner_points *= ext.value
    if inner_points != prod(extents.values()):
        raise ScheduleError(f"{where}: the loops under it run {inner_points} iterations for a tile of "
                            f"{prod(extents.values())} points; they must enumerate the tile once")
    nd, nr = len(iop.axis), len(iop.reduce_axis)
    if len(op.axis) < nd or len(op.reduce_axis) < nr:
        raise ScheduleError(f"{where}: the intrinsic has {nd} data and {nr} reduction axes, the stage only "
                            f"{len(op.axis)} and {len(op.reduce_axis)}")
    pairs = list(zip(op.axis[len(op.axis) - nd:], iop.axis)) + \
        list(zip(op.reduce_axis[len(op.reduce_axis) - nr:], iop.reduce_axis))
    vmap: dict[Var, PrimExpr] = {r.var: mins[r] for r in roots}
    tile_ranges = dict(ranges)
    for r, x in pairs:
        xext = simplify(x.dom.extent)
        if not (isinstance(xext, E.IntImm) and isinstance(simplify(x.dom.min), E.IntImm)
                and simplify(x.dom.min).value == 0):
            raise ScheduleError(f"{where}: the intrinsic's axis {x.name} must have a constant extent from 0")
        if extents[r] != xext.value:
            raise ScheduleError(f"{where}: axis {r.name} covers {extents[r]} points inside the tensorized loops, but "
                                f"the intrinsic's axis {x.name} has {xext.value}")
        vmap[r.var] = simplify(mins[r] + x.var)
        tile_ranges[x.var] = Interval(const(0, x.var.dtype), const(xext.value - 1, x.var.dtype))
    for r in roots:
        if r not in dict(pairs) and extents[r] != 1:
            raise ScheduleError(f"{where}: axis {r.name} covers {extents[r]} points under the tensorized axis, but "
                                "the intrinsic has no axis for it")
    body, ibody = b.bodies[st][0], iop.body[0]
    if isinstance(body, Reduce) != isinstance(ibody, Reduce):
        kind = "a reduction" if isinstance(body, Reduce) else "not a reduction"
        raise ScheduleError(f"{where}: the stage is {kind} but the intrinsic's computation is not the same kind")
    holes = set(intrin.scalar_params)
    tile = _Tile()
    if isinstance(body, Reduce):
        ic, c = ibody.combiner, body.combiner
        comb = dict(zip(ic.lhs, c.lhs)) | dict(zip(ic.rhs, c.rhs))
        same = len(body.source) == len(ibody.source) == 1 and \
            _same(substitute(ic.result[0], comb), c.result[0], set(), {}) and \
            _same(ic.identity[0], c.identity[0], set(), {})
        if not same:
            raise ScheduleError(f"{where}: the stage reduces with {c.name}, the intrinsic with {ic.name}")
        cond = simplify(substitute(body.condition, vmap), tile_ranges)
        if not (isinstance(cond, E.IntImm) and cond.value):
            raise ScheduleError(f"{where}: the stage's reduction has a condition ({cond}); the intrinsic's has none")
        src, isrc = body.source[0], ibody.source[0]
    else:
        src, isrc = body, ibody
    src = simplify(substitute(src, vmap), tile_ranges)
    tensors: list[Tensor] = []
    post_order_visit(src, lambda n: tensors.append(n.tensor) if isinstance(n, TensorRead)
                     and n.tensor not in tensors else None)
    if len(tensors) != len(intrin.inputs):
        raise ScheduleError(f"{where}: the loops read {len(tensors)} tensors "
                            f"({', '.join(t.name for t in tensors)}), the intrinsic {len(intrin.inputs)}")
    at_origin = {x.var: const(0, x.var.dtype) for _, x in pairs}
    tile_only = {x.var: tile_ranges[x.var] for _, x in pairs}
    swap: dict[Tensor, tuple[Tensor, list[PrimExpr]]] = {}
    for t, it in zip(tensors, intrin.inputs):
        if t.dtype != it.dtype:
            raise ScheduleError(f"{where}: tensor {t.name} is {t.dtype}, the intrinsic's input {it.name} {it.dtype}")
        first = _first_read(src, t)
        tmins = [simplify(substitute(i, at_origin), ranges) for i in first]
        texts: list[PrimExpr] = []
        for i, m in zip(first, tmins):
            hi = relax(simplify(i - m, tile_ranges), tile_only)[1]
            if not isinstance(hi, E.IntImm):
                raise ScheduleError(f"{where}: the region of {t.name} the tile reads has no constant extent")
            texts.append(const(hi.value + 1))
        lead = len(t.shape) - len(it.shape)
        shape = [simplify(d) for d in it.shape]
        if lead < 0 or any(e.value != 1 for e in texts[:lead]) or \
                any(not isinstance(d, E.IntImm) or d.value != e.value for d, e in zip(shape, texts[lead:])):
            raise ScheduleError(f"{where}: the tile reads a {'x'.join(str(e.value) for e in texts)} region of "
                                f"{t.name}, but the intrinsic's input {it.name} has shape "
                                f"{'x'.join(str(d) for d in shape)}")
        swap[t] = (it, tmins[lead:])
        tile.inputs.append((t, tmins, texts))
    # An axis of one point is 0 on both sides (TVM's matching knows its range too): a strided
    # read (h * stride + ry) over such an axis is the intrinsic's plain one.
    points = {x.var: const(0, x.var.dtype) for r, x in pairs if extents[r] == 1}
    src = simplify(substitute(_Swap(swap, tile_ranges).visit(src), points), tile_ranges)
    isrc = simplify(substitute(isrc, points), tile_ranges)
    if not _same(isrc, src, holes, tile.scalars):
        raise ScheduleError(f"{where}: the loops under it compute {src}, but the intrinsic declares {isrc}")
    out = op.output(0)
    tile.output = (out, [mins[r] for r in op.axis], [const(extents[r]) for r in op.axis])
    return tile


def _first_read(e: PrimExpr, t: Tensor) -> tuple[PrimExpr, ...]:
    found: list[tuple[PrimExpr, ...]] = []
    post_order_visit(e, lambda n: found.append(n.indices) if isinstance(n, TensorRead) and n.tensor == t else None)
    return found[0]


class _Swap(Mutator):
    """Read each tensor through the intrinsic's input, relative to the tile's region."""

    def __init__(self, swap: dict[Tensor, tuple[Tensor, list[PrimExpr]]], ranges: dict):
        super().__init__()
        self.swap, self.ranges = swap, ranges

    def visit_TensorRead(self, node: TensorRead) -> PrimExpr:
        it, mins = self.swap[node.tensor]
        idx = node.indices[len(node.indices) - len(mins):]
        return TensorRead(it, [simplify(i - m, self.ranges) for i, m in zip(idx, mins)])


def _same(pattern: Any, e: Any, holes: set[Var], bound: dict[Var, PrimExpr]) -> bool:
    """Structural equality; a variable of ``holes`` in ``pattern`` matches any expression
    (the same one at each use), recorded in ``bound``."""
    if isinstance(pattern, Var) and pattern in holes:
        if pattern in bound:
            return _same(bound[pattern], e, set(), {})
        if not isinstance(e, PrimExpr) or e.dtype != pattern.dtype:
            return False
        bound[pattern] = e
        return True
    if pattern is e:
        return True
    if isinstance(pattern, Node):
        if type(pattern) is not type(e) or isinstance(pattern, Var):
            return False
        return all(_same(getattr(pattern, f), getattr(e, f), holes, bound) for f in pattern._params)
    if isinstance(pattern, tuple):
        return isinstance(e, tuple) and len(e) == len(pattern) and \
            all(_same(a, c, holes, bound) for a, c in zip(pattern, e))
    if isinstance(pattern, Tensor):
        return pattern == e
    return type(pattern) is type(e) and pattern == e
