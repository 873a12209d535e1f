"""Relations between a stage's iteration variables (split, fuse) and index/extent propagation
through them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..te.dtype import INT32, INT64, DType
from ..te.expr import IntImm, PrimExpr, cast
from ..te.tensor import IterVar


@dataclass(frozen=True, eq=False)
class Split:
    """``parent`` = ``outer`` * inner_extent + ``inner``; exactly one of factor/nparts is set."""

    parent: IterVar
    outer: IterVar
    inner: IterVar
    factor: PrimExpr | None
    nparts: PrimExpr | None


@dataclass(frozen=True, eq=False)
class Fuse:
    """``fused`` enumerates (``outer``, ``inner``) pairs: outer = fused // ext(inner)."""

    outer: IterVar
    inner: IterVar
    fused: IterVar


@dataclass(frozen=True, eq=False)
class Singleton:
    """``iv`` is a new loop of extent 1 (what ``fuse()`` of no axes makes, as in TVM)."""

    iv: IterVar


Relation = Split | Fuse | Singleton


INT32_MAX = 2**31 - 1


def extent_bound(e: PrimExpr) -> int:
    """An upper bound of an extent: its value when constant, else the largest value of its dtype."""
    if isinstance(e, IntImm):
        return e.value
    return 2 ** (e.dtype.bits - 1) - 1


def loop_dtype(bound: int, *parts: IterVar) -> DType:
    """The dtype of a loop variable whose extent is at most ``bound``, derived from ``parts``:
    int64 when the extent can pass 2**31 - 1 or a part is already int64 (a fused loop over
    65536 x 65536 points must not wrap to 0)."""
    if bound > INT32_MAX or any(p.var.dtype.bits > 32 for p in parts):
        return INT64
    return INT32


def ceildiv(a: PrimExpr, b: PrimExpr) -> PrimExpr:
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return IntImm(a.dtype, -(-a.value // b.value))
    return (a + b - 1) // b


def _nonzero(extent: PrimExpr) -> PrimExpr:
    """A divisor for an index of a loop of this extent: a constant 0 extent (an empty tensor, as
    numpy allows) is read as 1, since no iteration ever computes that index."""
    return IntImm(extent.dtype, 1) if isinstance(extent, IntImm) and extent.value == 0 else extent


def _clamp(amount: PrimExpr, extent: PrimExpr) -> PrimExpr:
    if isinstance(amount, IntImm) and isinstance(extent, IntImm) and amount.value > extent.value > 0:
        return extent
    return amount


def pass_down_extents(relations: list[Relation], extents: dict[IterVar, PrimExpr]) -> None:
    """Given the extents of root axes, fill in the extents of every derived axis (in place);
    each extent has its loop variable's dtype."""
    for rel in relations:
        if isinstance(rel, Split):
            dt = rel.parent.var.dtype
            pext = cast(extents[rel.parent], dt)
            # A factor (or nparts) beyond a constant extent is clamped to it: the loop it makes
            # covers the same points without a huge guarded loop or vector.
            if rel.factor is not None:
                factor = _clamp(cast(rel.factor, dt), pext)
                extents[rel.inner] = factor
                extents[rel.outer] = ceildiv(pext, factor)
            else:
                nparts = _clamp(cast(rel.nparts, dt), pext)
                extents[rel.outer] = nparts
                extents[rel.inner] = ceildiv(pext, nparts)
        elif isinstance(rel, Fuse):
            dt = rel.fused.var.dtype  # wide enough for the product (loop_dtype)
            extents[rel.fused] = cast(extents[rel.outer], dt) * cast(extents[rel.inner], dt)
        else:
            extents[rel.iv] = IntImm(rel.iv.var.dtype, 1)


def pass_up_index(relations: list[Relation], extents: Mapping[IterVar, PrimExpr],
                  values: dict[IterVar, PrimExpr]) -> None:
    """Given values of the leaf axes, fill in the value (relative to the axis minimum) of
    every axis above them (in place)."""
    for rel in reversed(relations):
        if isinstance(rel, Split):
            values[rel.parent] = values[rel.outer] * extents[rel.inner] + values[rel.inner]
        elif isinstance(rel, Fuse):
            f = values[rel.fused]
            ext = _nonzero(extents[rel.inner])
            # A wide fused index splits into parts that each fit their own (narrower) dtype.
            values[rel.outer] = cast(f // ext, rel.outer.var.dtype)
            values[rel.inner] = cast(f % ext, rel.inner.var.dtype)



def pass_down_index(relations: list[Relation], extents: Mapping[IterVar, PrimExpr],
                    values: dict[IterVar, PrimExpr]) -> None:
    """Given values of the root axes (relative to their minimum), fill in the value of every
    axis derived from them (in place): the inverse of ``pass_up_index``."""
    for rel in relations:
        if isinstance(rel, Split):
            v = values[rel.parent]
            inner = _nonzero(extents[rel.inner])
            values[rel.outer] = v // inner
            values[rel.inner] = v % inner
        elif isinstance(rel, Fuse):
            dt = rel.fused.var.dtype
            values[rel.fused] = cast(values[rel.outer], dt) * cast(extents[rel.inner], dt) + \
                cast(values[rel.inner], dt)
        else:
            values[rel.iv] = IntImm(rel.iv.var.dtype, 0)
