"""Layout transposes as register shuffles instead of gathers.

A layout transform such as NCHW[16]c -> NCHW, vectorized along one axis and unrolled along the
other, lowers to ``n`` consecutive stores whose values are strided vector loads of one buffer:

    Y[...0...] = A[ramp(b + 0, s, n)]
    Y[...1...] = A[ramp(b + 1, s, n)]
    ...
    Y[..n-1..] = A[ramp(b + n-1, s, n)]

Each load is a gather (about one cycle a lane on x86), but together they read the ``n x n``
block whose row ``j`` is the contiguous vector ``A[b + j*s : b + j*s + n]``.  Loading those rows
and transposing them in registers (``n log2 n`` two-source shuffles) gives the same values at a
fraction of the cost.  ``find_blocks`` spots such runs in a statement sequence; ``transpose``
emits the shuffles.
"""

from __future__ import annotations

from dataclasses import dataclass

import llvmlite.ir as ir

from ...arith.simplify import simplify
from ...arith.structural import structural_key
from ...ir import stmt as S
from ...ir.passes.bounds_check import unwrap as unwrap_checked
from ...te import expr as E

_I32 = ir.IntType(32)


@dataclass(frozen=True)
class Block:
    """``loads[i]`` (the value of ``seq[start + i]``) reads lanes ``j < lanes`` from ``base + i +
    j*stride``: row ``j`` of the block is ``buffer[base + j*stride : + len(loads)]``, read where
    ``predicate`` lane ``j`` holds."""

    start: int
    loads: tuple[E.Load, ...]
    base: E.PrimExpr
    stride: int
    predicate: E.PrimExpr | None

    @property
    def lanes(self) -> int:
        return self.loads[0].dtype.lanes


def _strided(st: S.Stmt) -> E.Load | None:
    """The store's value when it is a plain lane-strided load of 4- or 8-byte scalars."""
    if not isinstance(st, S.Store) or not isinstance(st.value, E.Load):
        return None
    load = st.value
    elem = load.dtype.element_of()
    index, size, _ = unwrap_checked(load.index)
    if size is not None or load.dtype.lanes < 2 or st.buffer is load.buffer or elem.is_bool or elem.bytes < 4:
        return None
    if not (isinstance(index, E.Ramp) and isinstance(index.stride, E.IntImm)) or index.stride.value == 1:
        return None
    return load


def _offset(a: E.PrimExpr, b: E.PrimExpr) -> int | None:
    d = simplify(E.Sub(a, b)) if a.dtype == b.dtype else None
    return d.value if isinstance(d, E.IntImm) else None


def _key(p: E.PrimExpr | None) -> object:
    return None if p is None else structural_key(p)


def find_blocks(seq: tuple[S.Stmt, ...]) -> list[Block]:
    """Blocks of ``n`` consecutive stores (``n`` a power of two, 4 to 64 bytes of lanes, at least
    the loads' lanes) whose values are lane-strided loads of one buffer at bases ``base + 0 ..
    base + n-1`` (same stride, lanes and predicate), none storing into that buffer."""
    blocks, i = [], 0
    while i < len(seq):
        first = _strided(seq[i])
        if first is None:
            i += 1
            continue
        base, stride = first.index.base, first.index.stride.value
        run = [first]
        while i + len(run) < len(seq):
            ld = _strided(seq[i + len(run)])
            if (ld is None or ld.buffer is not first.buffer or ld.dtype != first.dtype
                    or ld.index.stride.value != stride or _offset(ld.index.base, base) != len(run)
                    or _key(ld.predicate) != _key(first.predicate)):
                break
            run.append(ld)
        widest = 64 // first.dtype.element_of().bytes
        n = widest
        while n > len(run):
            n //= 2
        if n < max(4, first.dtype.lanes):
            i += 1
            continue
        for k in range(0, len(run) - n + 1, n):
            blocks.append(Block(i + k, tuple(run[k:k + n]), run[k].index.base, stride, first.predicate))
        i += len(run) - len(run) % n
    return blocks


def transpose(b: ir.IRBuilder, rows: list[ir.Value]) -> list[ir.Value]:
    """Transpose ``n`` vectors of ``n`` lanes (``n`` a power of two): out[i][j] = rows[j][i].

    Each stage swaps the off-diagonal ``h x h`` blocks of every ``2h x 2h`` block, for
    h = n/2, n/4, ..., 1."""
    rows = list(rows)
    n = len(rows)
    h = n // 2
    while h >= 1:
        lo_mask = [x for k in range(0, n, 2 * h) for x in (list(range(k, k + h)) + list(range(n + k, n + k + h)))]
        hi_mask = [x + h for x in lo_mask]
        for r in range(n):
            if r & h:
                continue
            a, c = rows[r], rows[r + h]
            rows[r] = b.shuffle_vector(a, c, ir.Constant(ir.VectorType(_I32, n), lo_mask))
            rows[r + h] = b.shuffle_vector(a, c, ir.Constant(ir.VectorType(_I32, n), hi_mask))
        h //= 2
    return rows
