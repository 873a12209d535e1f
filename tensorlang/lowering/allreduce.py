"""Cross-thread all-reduce: combine the partial results that the threads of a reduction group
hold in local buffers, so that every thread of the group ends with the full result.

Guarantees: with the reduction bound to ``threadIdx.x`` alone over a power-of-two extent N
(N <= 32, or a multiple of 32 up to 1024), warps combine with shuffles (``ir.warp``) and, past
one warp, through one shared slot per warp; any other binding (``threadIdx.y``, several
axes, other extents) combines by a tree in shared memory.  The statements contain no
barriers: ``storage_sync`` inserts those the shared buffers need.  Threads of the block that
are not part of the reduction (other thread-bound axes of the stage) form separate groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..ir.stmt import Allocate, IfThenElse, LetStmt, Stmt, Store, seq
from ..ir.warp import WARP_SIZE, shfl_down, shfl_idx
from ..te import expr as E
from ..te.dtype import HANDLE
from ..te.expr import PrimExpr, Var
from ..te.functor import substitute

_ORDER = ("threadIdx.z", "threadIdx.y", "threadIdx.x")


@dataclass(frozen=True)
class ThreadAxis:
    """A loop of the stage bound to a thread index: its variable, tag and (constant) extent."""

    var: Var
    tag: str
    extent: int


def _linear(axes: Sequence[ThreadAxis]) -> tuple[PrimExpr, int]:
    """The index of a thread among ``axes`` (z outermost, x innermost) and their count."""
    index: PrimExpr = E.const(0)
    count = 1
    for a in sorted(axes, key=lambda a: _ORDER.index(a.tag)):
        index = index * a.extent + a.var
        count *= a.extent
    return index, count


class _Reducer:
    def __init__(self, bufs: Sequence[Var], dtypes: Sequence, combiner: object, name: str):
        self.bufs, self.dtypes, self.comb, self.name = list(bufs), list(dtypes), combiner, name

    def value(self, i: int, buf: Var | None = None, index: PrimExpr | None = None) -> PrimExpr:
        return E.Load(self.dtypes[i], buf if buf is not None else self.bufs[i],
                      index if index is not None else E.const(0))

    def combine_into(self, dst: Sequence[tuple[Var, PrimExpr]], rhs: Sequence[PrimExpr]) -> Stmt:
        """``dst[i] = combine(dst[i], rhs[i])`` for every output, all read before any is written."""
        lhs = [E.Load(self.dtypes[i], b, idx) for i, (b, idx) in enumerate(dst)]
        mapping = {**dict(zip(self.comb.lhs, lhs)), **dict(zip(self.comb.rhs, rhs))}  # type: ignore[attr-defined]
        results = [substitute(r, mapping) for r in self.comb.result]  # type: ignore[attr-defined]
        if len(results) == 1:
            return Store(dst[0][0], results[0], dst[0][1])
        tmps = [Var(f"{self.name}.c{i}", r.dtype) for i, r in enumerate(results)]
        stmt: Stmt = seq(*[Store(b, t, idx) for (b, idx), t in zip(dst, tmps)])
        for t, r in reversed(list(zip(tmps, results))):
            stmt = LetStmt(t, r, stmt)
        return stmt

    def local(self) -> list[tuple[Var, PrimExpr]]:
        return [(b, E.const(0)) for b in self.bufs]

    def warp_steps(self, width: int) -> Stmt:
        """Tree-combine each segment of ``width`` lanes with shuffles; lane 0 of it ends with the result."""
        steps = []
        offset = width // 2
        while offset >= 1:
            incoming = [Var(f"{self.name}.in{i}", HANDLE) for i in range(len(self.bufs))]
            body = seq(*[Store(incoming[i], shfl_down(self.value(i), offset, width), E.const(0))
                         for i in range(len(self.bufs))],
                       self.combine_into(self.local(), [self.value(i, incoming[i]) for i in range(len(self.bufs))]))
            for i in reversed(range(len(self.bufs))):
                body = Allocate(incoming[i], self.dtypes[i], E.const(1), "local", body)
            steps.append(body)
            offset //= 2
        return seq(*steps)

    def broadcast_lane0(self, width: int) -> Stmt:
        return seq(*[Store(b, shfl_idx(self.value(i), 0, width), E.const(0)) for i, b in enumerate(self.bufs)])


def allreduce(bufs: Sequence[Var], dtypes: Sequence, combiner: object, reduce_axes: Sequence[ThreadAxis],
              group_axes: Sequence[ThreadAxis], name: str) -> Stmt:
    """Statements after which ``bufs[i][0]`` (local, one element per thread) holds the
    combination over all threads of ``reduce_axes`` of what each held, in each of them;
    ``group_axes`` are the stage's other thread-bound loops (independent groups)."""
    r, n = _linear(reduce_axes)
    g, groups = _linear(group_axes)
    red = _Reducer(bufs, dtypes, combiner, name)
    power_of_two = n & (n - 1) == 0
    if len(reduce_axes) == 1 and reduce_axes[0].tag == "threadIdx.x" and power_of_two and \
            (n <= WARP_SIZE or (n % WARP_SIZE == 0 and n // WARP_SIZE <= WARP_SIZE)):
        return _warp_allreduce(red, r, n, g, groups)
    return _shared_tree(red, r, n, g, groups)


def _warp_allreduce(red: _Reducer, r: PrimExpr, n: int, g: PrimExpr, groups: int) -> Stmt:
    if n <= WARP_SIZE:
        return seq(red.warp_steps(n), red.broadcast_lane0(n))
    warps = n // WARP_SIZE
    slots = [Var(f"{red.name}.warp{i}", HANDLE) for i in range(len(red.bufs))]
    base = g * warps
    publish = IfThenElse(E.FloorMod(r, E.const(WARP_SIZE)).equal(0),
                         seq(*[Store(slots[i], red.value(i), base + E.FloorDiv(r, E.const(WARP_SIZE)))
                               for i in range(len(red.bufs))]))
    gather = seq(*[Store(b, red.comb.identity[i], E.const(0)) for i, b in enumerate(red.bufs)],  # type: ignore
                 IfThenElse(r < warps, seq(*[Store(b, red.value(i, slots[i], base + r), E.const(0))
                                             for i, b in enumerate(red.bufs)])))
    # Lane 0 of the group's first warp has the result: share it through slot 0 of the group.
    share = IfThenElse(r.equal(0), seq(*[Store(slots[i], red.value(i), base) for i in range(len(red.bufs))]))
    read = seq(*[Store(b, red.value(i, slots[i], base), E.const(0)) for i, b in enumerate(red.bufs)])
    body = seq(red.warp_steps(WARP_SIZE), publish, gather, red.warp_steps(warps), share, read)
    for i in reversed(range(len(red.bufs))):
        body = Allocate(slots[i], red.dtypes[i], E.const(groups * warps), "shared", body)
    return body


def _shared_tree(red: _Reducer, r: PrimExpr, n: int, g: PrimExpr, groups: int) -> Stmt:
    scratch = [Var(f"{red.name}.tree{i}", HANDLE) for i in range(len(red.bufs))]
    base = g * n
    steps: list[Stmt] = [seq(*[Store(scratch[i], red.value(i), base + r) for i in range(len(red.bufs))])]
    span = 1
    while span < n:
        span *= 2
    half = span // 2
    while half >= 1:
        dst = [(s, base + r) for s in scratch]
        other = [red.value(i, scratch[i], base + r + half) for i in range(len(red.bufs))]
        steps.append(IfThenElse(E.all_(r < half, r + half < n), red.combine_into(dst, other)))
        half //= 2
    steps.append(seq(*[Store(b, red.value(i, scratch[i], base), E.const(0)) for i, b in enumerate(red.bufs)]))
    body = seq(*steps)
    for i in reversed(range(len(red.bufs))):
        body = Allocate(scratch[i], red.dtypes[i], E.const(groups * n), "shared", body)
    return body
