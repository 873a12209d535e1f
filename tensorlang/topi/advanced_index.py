"""``adv_index``: numpy's advanced indexing ``data[i0, i1, ...]`` by integer index tensors (TVM's
``topi.adv_index``).  The index tensors broadcast together; their broadcast shape replaces the leading
dimensions of ``data`` that they index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te.broadcast import broadcast_reader, broadcast_shape
from ..te.expr import PrimExpr
from ..te.tensor import Tensor
from . import tag


def adv_index(data: Tensor, indices: Sequence[Tensor]) -> Tensor:
    """``data[indices[0], indices[1], ...]`` as numpy: out[b..., r...] = data[i0[b...], i1[b...], ..., r...]
    with b over the broadcast shape of the index tensors and r over the dimensions they leave.  A negative
    index counts from the end; one still outside is a ``BoundsError`` when the compiled function runs."""
    what = "adv_index"
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    if isinstance(indices, Tensor) or not isinstance(indices, (list, tuple)) or not indices:
        raise ExprError(f"{what}: indices must be a non-empty list of index tensors, got {indices!r}")
    if len(indices) > len(data.shape):
        raise ExprError(f"{what}: {len(indices)} index tensors for {data.name} of {len(data.shape)} dimension(s)")
    shape: tuple = ()
    for k, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: indices[{k}] must be a tensor, got {type(t).__name__}")
        if not t.dtype.is_int or t.dtype.is_bool:
            raise DTypeError(f"{what}: indices[{k}] ({t.name}) must hold integers, got {t.dtype}")
        shape = broadcast_shape(shape, t.shape, what)
    nb = len(shape)
    readers = [broadcast_reader(t, nb) for t in indices]

    def body(*i: Any) -> PrimExpr:
        idx = []
        for k, read in enumerate(readers):
            v = read(*i[:nb])
            v = v.astype("int64") if v.dtype.bits == 64 or not v.dtype.is_signed else v.astype("int32")
            size = data.shape[k]
            idx.append(te.if_then_else(v < 0, v + size, v) if indices[k].dtype.is_signed else v)
        return data(*idx, *i[nb:])
    return te.compute(list(shape) + list(data.shape[len(indices):]), body, name="advanced_index",
                      tag=tag.INJECTIVE)


__all__ = ["adv_index"]
