"""Loop-IR analysis for the IR-based feature types: store groups of a lowered function, the
loops around them and how each buffer access moves with each loop.

Guarantees: ``summarize`` reads a lowered PrimFunc and never changes it; store groups come
heaviest (most element updates) first; a loop of non-constant extent counts as a fixed guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...ir.function import PrimFunc
from ...ir.stmt import Allocate, For, ForKind, IfThenElse, LetStmt, Store
from ...te import expr as E
from ...te.functor import Visitor

# A loop whose extent is not a constant (symbolic shapes) is counted as this many iterations.
UNKNOWN_EXTENT = 64


@dataclass
class Access:
    """One buffer access of a store group: per enclosing loop, the coefficient of that loop's
    variable in the flat index (outermost first), plus the vector shape of the access."""

    buffer: str
    elem_bytes: int
    coeffs: list[float]
    lanes: int = 1
    vec_stride: float = 0.0

    def footprint(self, extents: Sequence[int], first: int) -> float:
        """Distinct elements touched by the loops ``first..`` (innermost part of the nest):
        the smaller of the product of the extents of the loops that move the index and the
        span of the index over those loops (overlapping windows such as A[i + k])."""
        prod, span = 1.0, 0.0
        for c, n in zip(self.coeffs[first:], extents[first:]):
            if c != 0.0:
                prod *= n
                span += abs(c) * (n - 1)
        vec = self.lanes if self.vec_stride != 0.0 else 1
        vspan = abs(self.vec_stride) * (self.lanes - 1)
        return max(1.0, min(prod * vec, span + vspan + 1.0))


@dataclass
class StoreGroup:
    """Stores with the same enclosing loops (extents and kinds) and the same buffers: the
    copies an unrolled loop leaves behind count in ``copies``."""

    extents: list[int]
    kinds: list[ForKind]
    accesses: list[Access]
    copies: int = 1
    lanes: int = 1
    guarded: bool = False
    reduction: bool = False

    @property
    def work(self) -> float:
        return float(self.copies) * math.prod(self.extents) * self.lanes


@dataclass
class LoopNestSummary:
    """What the IR-based feature types read from one lowered function."""

    groups: list[StoreGroup]
    n_stores: int = 0
    n_allocs: int = 0
    alloc_bytes: int = 0
    local_alloc_bytes: int = 0


class _LinearForm:
    """Coefficients of loop variables in an index expression.  Exact for sums of variables
    times constants; ``x // c`` scales by 1/c and ``x % c`` keeps x's coefficients (locally
    right); other non-linear terms count each variable they mention with coefficient 1."""

    def __init__(self, lets: dict[E.Var, dict[E.Var, float]]):
        self.lets = lets

    def of(self, e: E.PrimExpr) -> dict[E.Var, float]:
        if isinstance(e, E.Var):
            return dict(self.lets.get(e, {e: 1.0}))
        if isinstance(e, (E.IntImm, E.FloatImm)):
            return {}
        if isinstance(e, E.Add):
            return _combine(self.of(e.a), self.of(e.b), 1.0)
        if isinstance(e, E.Sub):
            return _combine(self.of(e.a), self.of(e.b), -1.0)
        if isinstance(e, E.Mul):
            if isinstance(e.b, E.IntImm):
                return {v: c * e.b.value for v, c in self.of(e.a).items()}
            if isinstance(e.a, E.IntImm):
                return {v: c * e.a.value for v, c in self.of(e.b).items()}
        if isinstance(e, (E.FloorDiv, E.Div)) and isinstance(e.b, E.IntImm) and e.b.value:
            return {v: c / e.b.value for v, c in self.of(e.a).items()}
        if isinstance(e, (E.FloorMod, E.Mod)) and isinstance(e.b, E.IntImm):
            return self.of(e.a)
        if isinstance(e, E.Cast):
            return self.of(e.value)
        if isinstance(e, E.Ramp):
            return self.of(e.base)
        if isinstance(e, E.Broadcast):
            return self.of(e.value)
        out: dict[E.Var, float] = {}
        for name in e._children:
            value = getattr(e, name)
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, E.PrimExpr):
                    for v in self.of(child):
                        out[v] = 1.0
        return out


def _combine(a: dict[E.Var, float], b: dict[E.Var, float], sign: float) -> dict[E.Var, float]:
    out = dict(a)
    for v, c in b.items():
        out[v] = out.get(v, 0.0) + sign * c
    return out


def _vector_shape(index: E.PrimExpr) -> tuple[int, float]:
    if isinstance(index, E.Ramp):
        stride = float(index.stride.value) if isinstance(index.stride, E.IntImm) else 1.0
        return index.lanes, stride
    if isinstance(index, E.Broadcast):
        return index.lanes, 0.0
    return index.dtype.lanes, 1.0 if index.dtype.lanes > 1 else 0.0


class _LoadCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.loads: list[E.Load] = []

    def visit_Load(self, node: E.Load) -> None:
        self.loads.append(node)
        self.generic_visit(node)


class _NestCollector(Visitor):
    """Walks a lowered body keeping the stack of enclosing loops, and groups its stores."""

    def __init__(self, elem_bytes: dict[E.Var, int]):
        super().__init__()
        self.elem_bytes = dict(elem_bytes)
        self.loops: list[For] = []
        self.signature: list[tuple[str, int, ForKind]] = []
        self.lets: dict[E.Var, dict[E.Var, float]] = {}
        self.guards = 0
        self.groups: dict[tuple, StoreGroup] = {}
        self.summary = LoopNestSummary(groups=[])

    def visit_For(self, node: For) -> None:
        ext = node.extent.value if isinstance(node.extent, E.IntImm) else UNKNOWN_EXTENT
        self.loops.append(node)
        self.signature.append((node.loop_var.name, ext, node.kind))
        self.visit(node.body)
        self.loops.pop()
        self.signature.pop()

    def visit_LetStmt(self, node: LetStmt) -> None:
        self.lets[node.var] = _LinearForm(self.lets).of(node.value)
        self.visit(node.body)

    def visit_IfThenElse(self, node: IfThenElse) -> None:
        self.guards += 1
        self.visit(node.then_case)
        if node.else_case is not None:
            self.visit(node.else_case)
        self.guards -= 1

    def visit_Allocate(self, node: Allocate) -> None:
        self.elem_bytes[node.buffer] = max(1, node.dtype.bits // 8)
        n = node.extent.value if isinstance(node.extent, E.IntImm) else UNKNOWN_EXTENT
        size = n * node.dtype.bytes
        self.summary.n_allocs += 1
        self.summary.alloc_bytes += size
        if node.scope == "local":
            self.summary.local_alloc_bytes += size
        self.visit(node.body)

    def visit_Store(self, node: Store) -> None:
        self.summary.n_stores += 1
        loads = _LoadCollector()
        loads.visit(node.value)
        key = (tuple(self.signature), node.buffer.name, tuple(ld.buffer.name for ld in loads.loads))
        group = self.groups.get(key)
        if group is not None:
            group.copies += 1
            return
        lanes, _ = _vector_shape(node.index)
        accesses = [self._access(node.buffer, node.index)]
        seen = {node.buffer}
        for ld in loads.loads:
            if ld.buffer not in seen:
                seen.add(ld.buffer)
                accesses.append(self._access(ld.buffer, ld.index))
        self.groups[key] = StoreGroup(
            extents=[s[1] for s in self.signature], kinds=[s[2] for s in self.signature], accesses=accesses,
            lanes=lanes, guarded=self.guards > 0 or node.predicate is not None,
            reduction=any(ld.buffer is node.buffer for ld in loads.loads))

    def _access(self, buffer: E.Var, index: E.PrimExpr) -> Access:
        form = _LinearForm(self.lets).of(index)
        lanes, vstride = _vector_shape(index)
        return Access(buffer=buffer.name, elem_bytes=self.elem_bytes.get(buffer, 4),
                      coeffs=[form.get(lp.loop_var, 0.0) for lp in self.loops], lanes=lanes, vec_stride=vstride)


def summarize(func: PrimFunc) -> LoopNestSummary:
    """Store groups of a lowered function, heaviest (most element updates) first."""
    collector = _NestCollector({b.data: max(1, b.dtype.bits // 8) for b in func.buffers})
    collector.visit(func.body)
    summary = collector.summary
    summary.groups = sorted(collector.groups.values(), key=lambda g: -g.work)
    return summary
