"""Layout ops: reshape, transpose, concatenate, expand_dims, squeeze, flatten, stack, split, take.
All are injective (tag ``injective``), so ``traverse_inline`` folds them into their consumer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import ExprError
from ..te.expr import PrimExpr, convert
from ..te.tensor import Tensor
from . import tag
from .utils import get_const_int, get_const_tuple, prod


def normalize_axis(axis: int, ndim: int, what: str) -> int:
    """``axis`` counted from 0 (negative counts from the end); an error names ``what`` when out of range."""
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < ndim:
        raise ExprError(f"{what}: axis {axis} is out of range for {ndim} dimension(s)")
    return a


def _ravel(idx: Sequence[PrimExpr], shape: Sequence[Any]) -> PrimExpr:
    flat: Any = 0
    for i, d in zip(idx, shape):
        flat = flat * d + i
    return convert(flat)


def _unravel(flat: PrimExpr, shape: Sequence[Any]) -> list[PrimExpr]:
    out = []
    for d in reversed(list(shape)):
        out.append(flat % d)
        flat = flat // d
    return list(reversed(out))


def reshape(a: Tensor, newshape: Sequence[Any]) -> Tensor:
    """``a`` with a new shape of the same size (one dimension may be -1)."""
    newshape = [get_const_int(d) if not isinstance(d, PrimExpr) else d for d in newshape]
    total = prod(a.shape)
    if -1 in newshape:
        known = prod([d for d in newshape if not (isinstance(d, int) and d == -1)])
        newshape = [total // known if isinstance(d, int) and d == -1 else d for d in newshape]
    if isinstance(total, int) and all(isinstance(d, int) for d in newshape) and prod(newshape) != total:
        raise ExprError(f"reshape: cannot reshape {get_const_tuple(a.shape)} ({total} elements) to "
                        f"{tuple(newshape)}")
    return te.compute(newshape, lambda *i: a(*_unravel(_ravel(i, newshape), a.shape)),
                      name="T_reshape", tag=tag.INJECTIVE)


def transpose(a: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    """``a`` with its axes permuted (reversed when ``axes`` is None)."""
    ndim = len(a.shape)
    perm = list(reversed(range(ndim))) if axes is None else [normalize_axis(int(x), ndim, "transpose") for x in axes]
    if sorted(perm) != list(range(ndim)):
        raise ExprError(f"transpose: axes {list(axes or [])} are not a permutation of {ndim} dimensions")
    shape = [a.shape[p] for p in perm]

    def body(*i: Any) -> PrimExpr:
        src = [None] * ndim
        for out_pos, p in enumerate(perm):
            src[p] = i[out_pos]
        return a(*src)
    return te.compute(shape, body, name="T_transpose", tag=tag.INJECTIVE)


def concatenate(a_tuple: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors joined along ``axis``."""
    tensors = list(a_tuple)
    if not tensors:
        raise ExprError("concatenate: needs at least one tensor")
    ndim = len(tensors[0].shape)
    ax = normalize_axis(axis, ndim, "concatenate")
    for t in tensors[1:]:
        if len(t.shape) != ndim:
            raise ExprError(f"concatenate: {t.name} has {len(t.shape)} dimensions, {tensors[0].name} has {ndim}")
    offsets: list[Any] = [0]
    for t in tensors:
        offsets.append(offsets[-1] + get_const_int(t.shape[ax]))
    shape = list(tensors[0].shape)
    shape[ax] = offsets[-1]

    def body(*i: Any) -> PrimExpr:
        pos = i[ax]

        def read(n: int) -> PrimExpr:
            idx = list(i)
            idx[ax] = pos - offsets[n]
            return tensors[n](*idx)
        value = read(len(tensors) - 1)
        for n in range(len(tensors) - 2, -1, -1):
            value = te.if_then_else(pos < offsets[n + 1], read(n), value)
        return value
    return te.compute(shape, body, name="T_concat", tag=tag.INJECTIVE)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors (of one shape) stacked along a new axis."""
    return concatenate([expand_dims(t, axis) for t in tensors], axis)


def expand_dims(a: Tensor, axis: int, num_newaxis: int = 1) -> Tensor:
    """``a`` with ``num_newaxis`` size-1 dimensions inserted at ``axis``."""
    ndim = len(a.shape)
    ax = axis + ndim + 1 if axis < 0 else axis
    if not 0 <= ax <= ndim:
        raise ExprError(f"expand_dims: axis {axis} is out of range for {ndim} dimension(s)")
    shape = list(a.shape[:ax]) + [1] * num_newaxis + list(a.shape[ax:])
    return te.compute(shape, lambda *i: a(*(list(i[:ax]) + list(i[ax + num_newaxis:]))),
                      name="T_expand_dims", tag=tag.BROADCAST)


def squeeze(a: Tensor, axis: Any = None) -> Tensor:
    """``a`` without its size-1 dimensions (or only those in ``axis``)."""
    ndim = len(a.shape)
    shape = get_const_tuple(a.shape)
    if axis is None:
        drop = {k for k, d in enumerate(shape) if d == 1}
    else:
        drop = {normalize_axis(x, ndim, "squeeze") for x in ([axis] if isinstance(axis, int) else axis)}
        for k in drop:
            if shape[k] != 1:
                raise ExprError(f"squeeze: dimension {k} has size {shape[k]}, not 1")
    keep = [k for k in range(ndim) if k not in drop]

    def body(*i: Any) -> PrimExpr:
        src: list[Any] = [0] * ndim
        for pos, k in enumerate(keep):
            src[k] = i[pos]
        return a(*src)
    return te.compute([a.shape[k] for k in keep], body, name="T_squeeze", tag=tag.INJECTIVE)


def flatten(data: Tensor) -> Tensor:
    """(batch, ...) -> (batch, product of the rest)."""
    return reshape(data, [data.shape[0], prod(data.shape[1:])])


def split(ary: Tensor, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """``ary`` cut along ``axis`` into equal sections or at the given indices."""
    ax = normalize_axis(axis, len(ary.shape), "split")
    n = get_const_int(ary.shape[ax])
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ExprError(f"split: {n} does not divide into {indices_or_sections} sections")
        step = n // indices_or_sections
        bounds = list(range(0, n, step)) + [n]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    outs = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        shape = list(ary.shape)
        shape[ax] = hi - lo
        outs.append(te.compute(shape, lambda *i, lo=lo: ary(*[x + lo if k == ax else x for k, x in enumerate(i)]),
                               name="T_split", tag=tag.INJECTIVE))
    return outs


def take(a: Tensor, indices: Tensor, axis: int | None = None) -> Tensor:
    """Elements of ``a`` at ``indices`` (along ``axis``; of the flattened ``a`` when None), clipped."""
    if axis is None:
        flat = flatten(reshape(a, [1, prod(a.shape)]))
        size = prod(a.shape)
        return te.compute(indices.shape, lambda *i: flat(0, te.max(te.min(indices(*i), size - 1), 0)),
                          name="T_take", tag=tag.INJECTIVE)
    ax = normalize_axis(axis, len(a.shape), "take")
    n = a.shape[ax]
    k = len(indices.shape)
    shape = list(a.shape[:ax]) + list(indices.shape) + list(a.shape[ax + 1:])

    def body(*i: Any) -> PrimExpr:
        where = te.max(te.min(indices(*i[ax:ax + k]).astype("int32"), n - 1), 0)
        return a(*(list(i[:ax]) + [where] + list(i[ax + k:])))
    return te.compute(shape, body, name="T_take", tag=tag.INJECTIVE)


__all__ = ["concatenate", "expand_dims", "flatten", "reshape", "split", "squeeze", "stack", "take", "transpose"]
