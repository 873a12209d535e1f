"""Out-of-bounds reads found at lower time: every read a stage makes must stay inside the read
tensor's declared shape over the points the stage computes; otherwise a LoweringError names the
stage, the tensor, the dimension, the index and the range it reaches.

The points a stage computes are its domain, narrowed to the region bound inference gives it
when it is computed at another stage's loop (lowering guards the rest of the domain). A read
under a condition (the chosen side of ``te.if_then_else``, a reduction's ``where=``) is checked
over the points where the condition holds, when the condition is a conjunction of comparisons
of one loop variable (plus a constant) with a constant; a read under any other condition
(data-dependent, two variables) is left to the condition. Only constant bounds are checked
here; ``symbolic_read_checks`` turns unconditional reads ``A[i + c]`` whose extents or sizes
are symbolic into checks the runtime makes at each call (``B[m]`` reading ``A[n]`` with m > n
is an ArgumentError, not a read past A).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from ..arith import Interval, const_bound, simplify
from ..errors import LoweringError
from ..te import expr as E
from ..te.functor import children, free_vars, substitute
from .bound import Bounds
from .schedule import Schedule, Stage

Ranges = dict[E.Var, tuple[int, int]]  # a variable's smallest and largest value


def check_reads_in_bounds(sch: Schedule, bodies: dict[Stage, tuple[E.PrimExpr, ...]], bounds: Bounds) -> None:
    """LoweringError for the first read outside its tensor's shape (see the module docstring)."""
    for st, body in bodies.items():
        ranges = _computed_points(st, bounds)
        if ranges is None:
            continue
        for read, where in _reads(body, ranges):
            _check(st, read, where)


def _computed_points(st: Stage, bounds: Bounds) -> Ranges | None:
    """Each axis's constant range over the points ``st`` computes (None when unknown)."""
    op = st.op
    loops = {v: r for v, r in bounds.var_ranges.items()}
    ranges: Ranges = {}
    for iv in list(op.axis) + list(getattr(op, "reduce_axis", ())):
        lo, ext = iv.dom.min, iv.dom.extent
        if not (isinstance(lo, E.IntImm) and isinstance(ext, E.IntImm)) or ext.value <= 0:
            return None
        first, last = lo.value, lo.value + ext.value - 1
        region = bounds.ranges.get(iv)
        if st.attach_type == "scope" and region is not None and not iv.is_reduce:
            # Only the region consumers read is computed; the rest of the domain is guarded.
            rlo, _ = const_bound(region.min, loops)
            _, rhi = const_bound(region.min + region.extent - 1, loops)
            first = max(first, rlo) if rlo is not None else first
            last = min(last, rhi) if rhi is not None else last
        if first > last:
            return None  # computes nothing
        ranges[iv.var] = (first, last)
    return ranges


def _reads(body: tuple[E.PrimExpr, ...], ranges: Ranges) -> list[tuple[E.TensorRead, Ranges]]:
    """Every read with the ranges of the points where it runs (reads under conditions this
    module cannot narrow by are left out)."""
    found: list[tuple[E.TensorRead, Ranges]] = []
    seen: set[tuple[int, int]] = set()
    alive: list[Ranges] = []  # keeps every narrowed dict (and so its id in ``seen``) unique
    stack: list[tuple[Any, Ranges]] = [(b, ranges) for b in body]
    while stack:
        node, where = stack.pop()
        key = (id(node), id(where))
        if key in seen:
            continue
        seen.add(key)
        if isinstance(node, E.TensorRead):
            found.append((node, where))
        if isinstance(node, E.Select):
            stack.append((node.condition, where))
            for side, holds in ((node.true_value, True), (node.false_value, False)):
                narrowed = _narrow(node.condition, holds, where)
                if narrowed is not None:
                    alive.append(narrowed)
                    stack.append((side, narrowed))
        elif isinstance(node, E.Reduce):
            narrowed = _narrow(node.condition, True, where)
            if narrowed is not None:
                alive.append(narrowed)
                stack.extend((s, narrowed) for s in node.source)
        else:
            stack.extend((c, where) for c in children(node))
    return found


_FLIP = {E.LT: E.GT, E.LE: E.GE, E.GT: E.LT, E.GE: E.LE, E.EQ: E.EQ, E.NE: E.NE}
_NEGATE = {E.LT: E.GE, E.LE: E.GT, E.GT: E.LE, E.GE: E.LT, E.EQ: E.NE, E.NE: E.EQ}


def _narrow(cond: E.PrimExpr, holds: bool, ranges: Ranges) -> Ranges | None:
    """``ranges`` restricted to the points where ``cond`` is ``holds``; None when the condition
    is not a conjunction (or, negated, a disjunction) of comparisons of one variable plus a
    constant with a constant, or leaves no point."""
    if isinstance(cond, E.IntImm):
        return ranges if bool(cond.value) == holds else None
    if isinstance(cond, E.Not):
        return _narrow(cond.a, not holds, ranges)
    if isinstance(cond, E.And) and holds or isinstance(cond, E.Or) and not holds:
        first = _narrow(cond.a, holds, ranges)
        return _narrow(cond.b, holds, first) if first is not None else None
    if isinstance(cond, E.Call) and cond.name == "likely" and len(cond.args) == 1:
        return _narrow(cond.args[0], holds, ranges)
    cls = type(cond)
    if cls not in _FLIP:
        return None
    op = cls if holds else _NEGATE[cls]
    a, b = _var_plus_const(cond.a), _var_plus_const(cond.b)
    if a is not None and isinstance(cond.b, E.IntImm):
        (var, offset), bound = a, cond.b.value
    elif b is not None and isinstance(cond.a, E.IntImm):
        (var, offset), bound, op = b, cond.a.value, _FLIP[op]
    else:
        return None
    if var not in ranges:
        return None
    lo, hi = ranges[var]
    c = bound - offset  # var op c
    if op is E.LT:
        hi = min(hi, c - 1)
    elif op is E.LE:
        hi = min(hi, c)
    elif op is E.GT:
        lo = max(lo, c + 1)
    elif op is E.GE:
        lo = max(lo, c)
    elif op is E.EQ:
        lo, hi = max(lo, c), min(hi, c)
    elif c == lo:  # NE trims an end of the range, or says nothing usable
        lo += 1
    elif c == hi:
        hi -= 1
    elif not lo < c < hi:
        pass  # c outside the range: the condition always holds
    else:
        return None
    if lo > hi:
        return None  # never runs
    out = dict(ranges)
    out[var] = (lo, hi)
    return out


def _var_plus_const(e: E.PrimExpr) -> tuple[E.Var, int] | None:
    """``e`` as (variable, constant) when it is ``v``, ``v + c`` or ``v - c`` of integers."""
    if isinstance(e, E.Var) and e.dtype.is_int:
        return e, 0
    if isinstance(e, (E.Add, E.Sub)) and isinstance(e.a, E.Var) and isinstance(e.b, E.IntImm) and e.a.dtype.is_int:
        return e.a, e.b.value if isinstance(e, E.Add) else -e.b.value
    return None


def _check(st: Stage, read: E.TensorRead, ranges: Ranges) -> None:
    tensor = read.tensor
    intervals = {v: Interval(E.const(lo, v.dtype), E.const(hi, v.dtype)) for v, (lo, hi) in ranges.items()}
    for d, (idx, size) in enumerate(zip(read.indices, tensor.shape)):
        if not isinstance(size, E.IntImm):
            continue
        idx = simplify(idx, intervals)
        lo, hi = const_bound(idx, intervals)
        if lo is None or hi is None:
            continue
        if (lo < 0 or hi >= size.value) and _reaches_outside(idx, intervals, size.value) is not False:
            raise LoweringError(
                f"stage {st.op.name} reads {tensor.name}[{', '.join(str(i) for i in read.indices)}] out of "
                f"bounds: index {d} ('{idx}') reaches {lo}..{hi} but dimension {d} of {tensor.name} has "
                f"size {size.value}; guard the read with te.if_then_else or shrink the compute's shape")


def _reaches_outside(idx: E.PrimExpr, ranges: dict[E.Var, Interval], size: int) -> bool | None:
    """Interval bounds can be loose (``min(3*i, 4*i) + min(-3*i, -2*i)`` is 0, yet bounded by
    -27..27): over a small domain, evaluate the index at every point. True: some point reads
    outside; False: none does; None: the domain is too large (or not constant) to tell."""
    names = sorted(free_vars(idx), key=lambda v: v.name)
    axes = []
    for v in names:
        r = ranges.get(v)
        if r is None or not isinstance(r.lo, E.IntImm) or not isinstance(r.hi, E.IntImm):
            return None
        axes.append(range(r.lo.value, r.hi.value + 1))
    if math.prod(len(a) for a in axes) > 1024:
        return None
    for point in itertools.product(*axes):
        value = simplify(substitute(idx, {v: E.const(p, v.dtype) for v, p in zip(names, point)}))
        if not isinstance(value, E.IntImm):
            return None
        if not 0 <= value.value < size:
            return True
    return False


@dataclass(frozen=True)
class ReadMargin:
    """A read is inside its tensor when ``margin`` (over shape variables) is at least 0;
    ``message`` says which read and how far it reaches."""

    margin: E.PrimExpr
    what: str
    message: str


def symbolic_read_checks(sch: Schedule, bodies: dict[Stage, tuple[E.PrimExpr, ...]]) -> list[ReadMargin]:
    """For each unconditional read ``T[.., v + c, ..]`` of a stage at root, where ``v`` is an
    axis of the stage and its extent or T's size there is symbolic: the margin that keeps the
    read inside T whenever the axis runs (its extent at least 1)."""
    checks: list[ReadMargin] = []
    for st, body in bodies.items():
        if st.attach_type != "root":
            continue
        op = st.op
        axes = {iv.var: iv for iv in list(op.axis) + list(getattr(op, "reduce_axis", ()))}
        for read in _unconditional(body):
            for d, (idx, size) in enumerate(zip(read.indices, read.tensor.shape)):
                vc = _var_plus_const(idx)
                if vc is None or vc[0] not in axes:
                    continue
                var, c = vc
                dom = axes[var].dom
                static = isinstance(dom.extent, E.IntImm) and isinstance(size, E.IntImm)
                if static or not isinstance(dom.min, E.IntImm):
                    continue
                first = dom.min.value + c
                ext = dom.extent
                runs = E.max_(ext, E.const(0, ext.dtype))
                # Inside when the axis does not run (-extent <= 0 then only at 0) or its last
                # point first + extent - 1 is below size.
                if first < 0:
                    margin = E.const(0, ext.dtype) - runs
                else:
                    gap = simplify(size - ext - first)
                    if isinstance(gap, E.IntImm) and gap.value >= 0:
                        continue  # inside for every value of the shape variables
                    margin = E.max_(gap, E.const(0, ext.dtype) - runs)
                where = ", ".join(str(i) for i in read.indices)
                reach = f"{ext} - 1" if first == 0 else f"{first} + {ext} - 1"
                checks.append(ReadMargin(
                    margin, f"stage {op.name} reads {read.tensor.name}[{where}]",
                    f"stage {op.name} reads {read.tensor.name}[{where}] out of bounds: index {d} ('{idx}') "
                            f"reaches {reach}, but dimension {d} of {read.tensor.name} has size {size}"))
    return checks


def _unconditional(body: tuple[E.PrimExpr, ...]) -> list[E.TensorRead]:
    """The reads evaluated at every point (not under a Select side or a reduction's where=)."""
    found: list[E.TensorRead] = []
    seen: set[int] = set()
    stack: list[Any] = list(body)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, E.TensorRead):
            found.append(node)
        if isinstance(node, E.Select):
            stack.append(node.condition)
        elif isinstance(node, E.Reduce):
            always = isinstance(node.condition, E.IntImm) and node.condition.value
            stack.extend(node.source if always else ())
        else:
            stack.extend(children(node))
    return found
