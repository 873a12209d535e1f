"""Floating-point operation counts of a compute DAG (for GFLOPS reports).

Guarantees: only arithmetic on tensor values is counted, the way papers and TVM count it: an
operation counts when one of its operands depends on a tensor element (or a reduction's running
value). Index arithmetic (``y + ry`` inside ``X[n, c, y + ry, x + rx]``), bounds checks of a
padding stage and the condition of a select on indices cost nothing; casts and selects move
values and cost nothing either. Each remaining arithmetic node, comparison or math call counts
one operation; a reduction counts its source's operations plus its combiner's for every point.
Templates whose FLOP count differs from this (e.g. a padded layout that computes zeros) say so
with ``cfg.add_flop``, which wins over the count.
"""

from __future__ import annotations

import math
from typing import Any

from ..te import expr as E
from ..te.tensor import ComputeOp, Tensor

_ARITH = (E.Add, E.Sub, E.Mul, E.Div, E.Mod, E.FloorDiv, E.FloorMod, E.Min, E.Max, E.CmpOp, E.Call)
_FREE = (E.Cast, E.Select, E.Not, E.And, E.Or, E.Let)  # move or combine values without arithmetic


def value_ops(e: E.PrimExpr, values: frozenset[E.Var] = frozenset()) -> int:
    """Operations on tensor values in ``e``; ``values`` are variables that stand for values
    (a combiner's operands)."""
    ops, _ = _count(e, values)
    return ops


def _count(e: Any, values: frozenset[E.Var]) -> tuple[int, bool]:
    """(operations on values in ``e``, whether ``e`` depends on a tensor value)."""
    if isinstance(e, E.TensorRead):
        return 0, True  # its indices are address arithmetic
    if isinstance(e, E.Reduce):
        return 0, True  # counted per point by compute_flop
    if isinstance(e, E.Var):
        return 0, e in values
    if isinstance(e, E.Let):
        ops_v, dep_v = _count(e.value, values)
        ops_b, dep_b = _count(e.body, values | {e.var} if dep_v else values)
        return ops_v + ops_b, dep_b
    if not isinstance(e, E.PrimExpr):
        return 0, False
    if isinstance(e, E.Select):
        ops_c, _ = _count(e.condition, values)  # a comparison of values counts; a bounds check is free
        ops_t, dep_t = _count(e.true_value, values)
        ops_f, dep_f = _count(e.false_value, values)
        return ops_c + ops_t + ops_f, dep_t or dep_f
    ops, dep = 0, False
    for child in _children(e):
        o, d = _count(child, values)
        ops += o
        dep = dep or d
    if dep and isinstance(e, _ARITH) and not (isinstance(e, E.Call) and e.name == "likely"):
        ops += 1
    return ops, dep


def _children(e: E.PrimExpr) -> list[Any]:
    out: list[Any] = []
    for name in getattr(e, "_children", ()):
        child = getattr(e, name)
        if isinstance(child, (tuple, list)):
            out.extend(child)
        elif child is not None:
            out.append(child)
    return out


def _const(e: E.PrimExpr) -> int | None:
    return e.value if isinstance(e, E.IntImm) else None


def compute_flop(outputs: Any) -> float:
    """Arithmetic operations on values of every compute op reachable from ``outputs`` (output
    tensors or ops, or a schedule as TVM's ``compute_flop(sch)`` takes; 0 if a shape is
    symbolic); see the module docstring for what counts.  An op whose ``attrs`` hold ``"FLOP"``
    counts that figure instead, as TVM's auto-scheduler lets an author say."""
    seen: set[int] = set()
    total = 0.0
    if hasattr(outputs, "stages") and hasattr(outputs, "outputs"):  # a te schedule
        outputs = outputs.outputs
    stack = [t.op if isinstance(t, Tensor) else t for t in outputs]
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack.extend(t.op for t in op.input_tensors)
        given = (getattr(op, "attrs", None) or {}).get("FLOP")
        if given is not None:
            total += float(getattr(given, "value", given))
            continue
        if not isinstance(op, ComputeOp):
            continue
        dims = [_const(iv.dom.extent) for iv in op.axis]
        if any(d is None for d in dims):
            return 0.0
        points = math.prod(dims)
        body = op.body[0]
        if isinstance(body, E.Reduce):
            rdims = [_const(iv.dom.extent) for iv in body.axis]
            if any(d is None for d in rdims):
                return 0.0
            comb = body.combiner
            operands = frozenset((*comb.lhs, *comb.rhs))
            per = sum(value_ops(s) for s in body.source) + sum(value_ops(r, operands) for r in comb.result)
            total += points * math.prod(rdims) * per
        else:
            total += points * sum(value_ops(b) for b in op.body)
    return total
