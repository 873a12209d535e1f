"""``te.gradient``: reverse-mode differentiation of a te computation, as new te computations.

``gradient(output, inputs, head)`` returns, for each input ``X``, a tensor of shape
``prefix + X.shape`` holding ``sum over y of head[prefix, y] * d output[y] / d X[x]``, where
``head`` has shape ``prefix + output.shape`` (by default the identity, which makes the result the
full Jacobian).  With ``head = topi.full_like(output, 1.0)`` it is the gradient of
``output.sum()``.

Each compute operation between the output and the inputs contributes, for every distinct read
``X[g(v)]`` in its body, one compute over ``X``'s shape: the loop points reading ``x`` come from
inverting ``g`` (``solve.invert_read``), the variables it leaves free become reduce axes, and its
conditions become the reduction's ``where``.  So the adjoint of a matmul is a matmul and that of a
convolution is a transposed convolution, never a Jacobian the size of both tensors.  Sum, max, min
and product reductions are differentiated (max and min send the adjoint to the first element, in the
reduce axes' order, equal to the result, as TVM's derivative of the reducer does: a subgradient,
where ties all receiving it would multiply it); other reducers, scans and extern stages are
refused with an ``ExprError``.
The results are ordinary tensors: schedule and build them like any other.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from ..arith.interval import Interval
from ..arith.simplify import can_prove, simplify
from ..arith.structural import structural_key
from ..errors import ExprError
from ..te import expr as E
from ..te.functor import Mutator, post_order_visit, substitute
from ..te.operation import compute, reduce_axis
from ..te.reduction import min as te_min
from ..te.reduction import sum as te_sum
from ..te.tensor import ComputeOp, PlaceholderOp, Tensor
from .derivative import derivative, times
from .solve import Domain, invert_read

_Key = tuple[int, int]
_SLOW_POINTS = 10**9  # searched points over all elements of one adjoint part before a warning


def _key(t: Tensor) -> _Key:
    return id(t.op), t.value_index


def _same_dims(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return len(a) == len(b) and all(structural_key(E.convert(x)) == structural_key(E.convert(y)) for x, y in zip(a, b))


def _reducer_kind(op: ComputeOp, red: E.Reduce) -> str:
    c = red.combiner
    if len(c.result) != 1 or len(red.source) != 1:
        raise ExprError(f"te.gradient: stage '{op.name}' reduces a tuple ({c.name}); only single-value "
                        "sum, max, min and product reductions can be differentiated")
    if c.starts_at_init:
        raise ExprError(f"te.gradient: stage '{op.name}' reduces with init=; differentiate the reduction "
                        "without it and add the initial value in a stage after it")
    res, pair = c.result[0], {id(c.lhs[0]), id(c.rhs[0])}
    for cls, kind in ((E.Add, "sum"), (E.Mul, "prod"), (E.Max, "max"), (E.Min, "min")):
        if type(res) is cls and {id(res.a), id(res.b)} == pair:
            return kind
    if c.name in ("fmax", "fmin"):
        return c.name[1:]
    raise ExprError(f"te.gradient: stage '{op.name}' uses the reducer '{c.name}'; only sum, max, min and "
                    "product reductions can be differentiated")


def _linear_index(axes: Sequence[Any]) -> E.PrimExpr:
    """The row-major position of a point of the reduce ``axes`` (their variables, from their mins)."""
    lin: E.PrimExpr = E.const(0, axes[0].var.dtype)
    for iv in axes:
        lin = lin * iv.dom.extent + (iv.var - iv.dom.min)
    return lin


def _reads_of(body: E.PrimExpr, t: Tensor) -> list[E.TensorRead]:
    """The distinct reads of ``t`` in ``body`` (structurally equal reads once), in order."""
    found: dict[Any, E.TensorRead] = {}

    def fn(node: Any) -> None:
        if isinstance(node, E.TensorRead) and _key(node.tensor) == _key(t):
            found.setdefault(structural_key(node.indices), node)
    post_order_visit(body, fn)
    return list(found.values())


def _ranges(pairs: Sequence[tuple[E.Var, E.PrimExpr, E.PrimExpr]]) -> dict[E.Var, Interval]:
    """Ranges for the simplifier: each variable over ``[lo, lo + extent)``."""
    one = E.const(1, "int32")
    return {v: Interval(lo, simplify(E.cast(lo + ext, v.dtype) - E.cast(one, v.dtype))) for v, lo, ext in pairs}


class _InlineLets(Mutator):
    """Replaces each ``let`` by its value: reads then show their real indices (te's CSE binds
    shared index arithmetic, as in ``topi.reshape``, to lets)."""

    def visit_Let(self, e: E.Let) -> E.PrimExpr:
        return self.visit(substitute(e.body, {e.var: self.visit(e.value)}))


class _Gradient:
    def __init__(self, output: Tensor, head: Tensor, prefix: tuple[Any, ...]):
        self.output, self.head, self.prefix = output, head, prefix
        self.exclusive: dict[Any, Tensor] = {}

    # --- one stage's contribution to the adjoint of one tensor it reads ---------------------------

    def contributions(self, op: ComputeOp, adj: Tensor, u: Tensor) -> list[Tensor]:
        body = _InlineLets().visit(op.body[0])
        loops = [Domain(iv.var, iv.dom.min, iv.dom.extent) for iv in op.axis]
        y = [iv.var for iv in op.axis]
        cond: E.PrimExpr | None = None
        if isinstance(body, E.Reduce):
            kind = _reducer_kind(op, body)
            loops += [Domain(iv.var, iv.dom.min, iv.dom.extent) for iv in body.axis]
            src = body.source[0]
            if not (isinstance(body.condition, E.IntImm) and body.condition.value):
                cond = body.condition
        else:
            kind, src = "", body
        out: list[Tensor] = []
        for n, read in enumerate(_reads_of(src, u)):
            k = structural_key(read.indices)
            d = derivative(src, lambda r, k=k: _key(r.tensor) == _key(u) and structural_key(r.indices) == k)
            if d is None:
                continue
            if kind in ("max", "min"):
                first, lin = self._first_extreme(op, body), _linear_index(body.axis)
                d = E.Select(E.EQ(E.cast(lin, first.dtype), first(*y)), d, E.const(0.0, d.dtype))
            elif kind == "prod":
                d = times(d, self._exclusive_product(op, body)(*(y + [iv.var - iv.dom.min for iv in body.axis])))
            name = f"{u.op.name}_grad_{op.name}" + (f"_{n}" if n else "")
            out.append(self._adjoint_part(u, adj, read, d, cond, loops, y, name))
        return out

    def _adjoint_part(self, u: Tensor, adj: Tensor, read: E.TensorRead, d: E.PrimExpr, cond: E.PrimExpr | None,
                      loops: list[Domain], y: list[E.Var], name: str) -> Tensor:
        np_ = len(self.prefix)

        def fcompute(*idx: E.Var) -> E.PrimExpr:
            p, x = list(idx[:np_]), list(idx[np_:])
            inv = invert_read(read.indices, x, loops, u.shape)
            if inv.unsolved:
                _warn_if_slow(u, name, inv, self.prefix)
            names = _distinct_names([f.var.name for f in inv.free], idx)
            axes = [reduce_axis((f.lo, f.lo + f.extent), name=nm) for f, nm in zip(inv.free, names)]
            rename = {f.var: ax.var for f, ax in zip(inv.free, axes)}
            sol = {v: substitute(val, rename) for v, val in inv.solution.items()}
            sol.update(rename)
            value = times(adj(*(p + [simplify(substitute(v, sol)) for v in y])), substitute(d, sol))
            if value.dtype != u.dtype:
                value = E.cast(value, u.dtype)
            conds = [substitute(c, rename) for c in inv.conditions]
            if cond is not None:
                conds.append(substitute(cond, sol))
            ranges = _ranges([(v, E.const(0, v.dtype), ext) for v, ext in zip(x, u.shape)]
                             + [(ax.var, ax.dom.min, ax.dom.extent) for ax in axes])
            kept = []
            for c in conds:
                c = simplify(c, ranges)
                if isinstance(c, E.IntImm):
                    if not c.value:
                        return E.const(0.0, u.dtype)  # no loop point reads this element
                    continue
                if not can_prove(c, ranges):
                    kept.append(c)
            where = E.all_(*kept) if kept else None
            if axes:
                return te_sum(value, axis=axes, where=where)
            return value if where is None else E.Select(where, value, E.const(0.0, u.dtype))

        return compute(tuple(self.prefix) + tuple(u.shape), fcompute, name=name)

    def _first_extreme(self, op: ComputeOp, red: E.Reduce) -> Tensor:
        """``F[y]`` = the linear index (reduce axes in order) of the first point whose source
        equals the max/min result ``op[y]``; past the last index when none does (a NaN result)."""
        if ("first", id(op)) in self.exclusive:
            return self.exclusive[("first", id(op))]
        extents = [simplify(E.convert(iv.dom.extent)) for iv in red.axis]
        count: E.PrimExpr = E.const(1, "int64")
        for ext in extents:
            count = count * E.cast(ext, "int64")
        small = all(isinstance(e, E.IntImm) for e in extents) and math.prod(e.value for e in extents) < 2**31 - 1
        dtype = "int32" if small else "int64"
        past = simplify(E.cast(count, dtype))

        def fcompute(*idx: E.Var) -> E.PrimExpr:
            names = _distinct_names([iv.var.name for iv in red.axis], idx)
            fresh = [reduce_axis((iv.dom.min, iv.dom.min + iv.dom.extent), name=nm) for iv, nm in zip(red.axis, names)]
            m = {iv.var: v for iv, v in zip(op.axis, idx)}
            m.update({iv.var: f.var for iv, f in zip(red.axis, fresh)})
            hit = E.EQ(substitute(red.source[0], m), op.output(0)(*idx))
            lin = E.cast(substitute(_linear_index(red.axis), m), dtype)
            return te_min(E.Select(hit, lin, past), axis=fresh, where=substitute(red.condition, m))

        t = compute(tuple(iv.dom.extent for iv in op.axis), fcompute, name=f"{op.name}_first_extreme")
        self.exclusive[("first", id(op))] = t
        return t

    def _exclusive_product(self, op: ComputeOp, red: E.Reduce) -> Tensor:
        """``P[y, r] = product over r' != r of source(y, r')``: the derivative of a product
        reduction by one of its factors, without dividing by that factor (which may be 0)."""
        if id(op) in self.exclusive:
            return self.exclusive[id(op)]
        shape = tuple(iv.dom.extent for iv in op.axis) + tuple(iv.dom.extent for iv in red.axis)
        ny = len(op.axis)

        def fcompute(*idx: E.Var) -> E.PrimExpr:
            names = _distinct_names([iv.var.name for iv in red.axis], idx)
            fresh = [reduce_axis((iv.dom.min, iv.dom.min + iv.dom.extent), name=nm) for iv, nm in zip(red.axis, names)]
            m = {iv.var: v for iv, v in zip(op.axis, idx[:ny])}
            m.update({iv.var: f.var for iv, f in zip(red.axis, fresh)})
            other = E.any_(*[E.NE(f.var, iv.dom.min + r) for f, iv, r in zip(fresh, red.axis, idx[ny:])])
            src = substitute(red.source[0], m)
            term = E.Select(other, src, E.const(1.0, src.dtype))
            return E.Reduce(red.combiner, (term,), fresh, substitute(red.condition, m), 0)

        t = compute(shape, fcompute, name=f"{op.name}_prod_others")
        self.exclusive[id(op)] = t
        return t


def _distinct_names(wanted: Sequence[str], axes: Sequence[E.Var]) -> list[str]:
    """Names for a generated stage's reduce axes: the forward loops' names, with a suffix where
    one is also the name of an output axis of the stage (or of an earlier reduce axis).  Two
    axes of one name are one loop to whatever names loops (the auto-scheduler refuses them)."""
    taken = {v.name for v in axes}
    out = []
    for name in wanted:
        new, n = name, 0
        while new in taken:
            n += 1
            new = f"{name}.r{n if n > 1 else ''}"
        taken.add(new)
        out.append(new)
    return out


def _warn_if_slow(u: Tensor, name: str, inv: Any, prefix: tuple[Any, ...]) -> None:
    """A read whose index map could not be inverted is searched: each element of the adjoint loops
    over every free point.  Say so when that is large, rather than leave a user with a long run."""
    sizes = [d.extent for d in inv.free] + list(prefix) + list(u.shape)
    if not all(isinstance(E.convert(v), E.IntImm) for v in sizes):
        return
    per = math.prod(int(d.extent) for d in inv.free)
    total = per * math.prod(int(v) for v in list(prefix) + list(u.shape))
    if total > _SLOW_POINTS:
        warnings.warn(f"te.gradient: '{name}' searches {per} points for each of its elements ({total} in all): "
                      f"an index of '{u.op.name}' is not affine in the loop variables and could not be inverted",
                      stacklevel=3)


def _identity_head(output: Tensor) -> Tensor:
    n = len(output.shape)

    def fcompute(*idx: E.Var) -> E.PrimExpr:
        same = E.all_(*[E.EQ(a, b) for a, b in zip(idx[:n], idx[n:])])
        return E.Select(same, E.const(1.0, output.dtype), E.const(0.0, output.dtype))
    return compute(tuple(output.shape) * 2, fcompute, name=f"{output.op.name}_identity")


def gradient(output: Tensor, inputs: Sequence[Tensor] | Tensor, head: Tensor | None = None) -> list[Tensor]:
    """The adjoints of ``inputs`` given the adjoint ``head`` of ``output`` (module docstring)."""
    if not isinstance(output, Tensor):
        raise ExprError(f"te.gradient: output must be a Tensor, got {type(output).__name__}")
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise ExprError(f"te.gradient: inputs[{i}] must be a Tensor, got {type(t).__name__}")
    if not output.dtype.is_float:
        raise ExprError(f"te.gradient: output '{output.op.name}' is {output.dtype}; only float outputs have gradients")
    for i, t in enumerate(inputs):
        if not t.dtype.is_float:  # its adjoint came out as float zeros, which no integer input has
            raise ExprError(f"te.gradient: inputs[{i}] '{t.op.name}' is {t.dtype}; only float inputs have "
                            "gradients (an integer input, such as indices, takes no part in them)")
    if head is None:
        head = _identity_head(output)
    n = len(output.shape)
    if len(head.shape) < n or not _same_dims(head.shape[len(head.shape) - n:], output.shape):
        raise ExprError(f"te.gradient: head '{head.op.name}' has shape {tuple(head.shape)}; it must end with the "
                        f"output's shape {tuple(output.shape)}")
    prefix = tuple(head.shape[:len(head.shape) - n])

    # Which tensors lie on a path from the output to an input, in post order (producers first).
    wanted = {_key(t) for t in inputs}
    reaches: dict[_Key, bool] = {}
    order: list[Tensor] = []

    def visit(t: Tensor) -> bool:
        k = _key(t)
        if k not in reaches:
            reaches[k] = False  # a te graph has no cycles; this only stops revisits
            hit = k in wanted
            for u in t.op.input_tensors:
                hit = visit(u) or hit
            reaches[k] = hit
            if hit:
                order.append(t)
        return reaches[k]
    visit(output)

    g = _Gradient(output, head, prefix)
    parts: dict[_Key, list[Tensor]] = {}
    adjoint: dict[_Key, Tensor] = {}
    for t in reversed(order):
        k = _key(t)
        if k == _key(output):
            adj = head
        else:
            adj = _sum_parts(t, parts.get(k, []), prefix)
        adjoint[k] = adj
        op = t.op
        if isinstance(op, PlaceholderOp) or not t.dtype.is_float:
            continue
        if type(op) is not ComputeOp:  # extern, scan and tensor-intrinsic stages are ComputeOps with no body
            raise ExprError(f"te.gradient: stage '{op.name}' is a {type(op).__name__}; only compute stages "
                            "can be differentiated")
        if len(op.body) != 1:
            raise ExprError(f"te.gradient: stage '{op.name}' has {len(op.body)} outputs; only single-output "
                            "compute stages can be differentiated")
        for u in op.input_tensors:
            if reaches.get(_key(u)) and u.dtype.is_float:
                parts.setdefault(_key(u), []).extend(g.contributions(op, adj, u))
    return [adjoint[_key(t)] if _key(t) in adjoint else _sum_parts(t, [], prefix) for t in inputs]


def _sum_parts(t: Tensor, parts: list[Tensor], prefix: tuple[Any, ...]) -> Tensor:
    """The adjoint of ``t``: the sum of its parts, or zeros where nothing reads it."""
    if len(parts) == 1:
        return parts[0]
    shape = tuple(prefix) + tuple(t.shape)
    dtype = t.dtype if t.dtype.is_float else E.const(0.0).dtype

    def fcompute(*idx: E.Var) -> E.PrimExpr:
        if not parts:
            return E.const(0.0, dtype)
        out = parts[0](*idx)
        for p in parts[1:]:
            out = out + p(*idx)
        return out
    return compute(shape, fcompute, name=f"{t.op.name}_grad")
