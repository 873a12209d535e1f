"""Floating-point operation counts of a compute DAG (for GFLOPS reports)."""

from __future__ import annotations

import math
from typing import Any

from ..te import expr as E
from ..te.functor import post_order_visit
from ..te.tensor import ComputeOp, Tensor

_ARITH = (E.Add, E.Sub, E.Mul, E.Div, E.Mod, E.FloorDiv, E.FloorMod, E.Min, E.Max, E.Call)


def _ops(e: E.PrimExpr) -> int:
    n = 0

    def fn(node: Any) -> None:
        nonlocal n
        if isinstance(node, _ARITH):
            n += 1
    post_order_visit(e, fn)
    return n


def _const(e: E.PrimExpr) -> int | None:
    return e.value if isinstance(e, E.IntImm) else None


def compute_flop(outputs: list[Tensor]) -> float:
    """Arithmetic operations of every compute op reachable from ``outputs`` (0 if a shape is
    symbolic); a reduction counts its source's operations plus one combine per point."""
    seen: set[int] = set()
    total = 0.0
    stack = [t.op for t in outputs]
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack.extend(t.op for t in op.input_tensors)
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
            per = sum(_ops(s) for s in body.source) + 1
            total += points * math.prod(rdims) * per
        else:
            total += points * sum(_ops(b) for b in op.body)
    return total
