"""``searchsorted``: where values would be inserted into sorted sequences to keep them sorted."""

from __future__ import annotations

from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te.tensor import Tensor
from .utils import check_tensors, get_const_tuple

__all__ = ["searchsorted"]


def searchsorted(sorted_sequence: Tensor, values: Tensor, right: bool = False, out_dtype: str = "int64") -> Tensor:
    """numpy.searchsorted (``side="right"`` for ``right``), numpy's ordering of NaN (after every
    number) included.  ``sorted_sequence`` is 1-D, searched for every value, or (..., M) with
    ``values`` (..., V) of the same leading dimensions, each row searched for its own values (as
    torch.searchsorted).  Each result counts the sequence elements that sort before the value
    (``right``: not after it), which for a sorted sequence is the insertion point; O(M) a value."""
    what = "searchsorted"
    check_tensors(what, sorted_sequence=sorted_sequence, values=values)
    seq, vals = get_const_tuple(sorted_sequence.shape), get_const_tuple(values.shape)
    if len(seq) < 1:
        raise ExprError(f"{what}: sorted_sequence must have at least one dimension")
    if len(seq) > 1 and (len(vals) != len(seq) or vals[:-1] != seq[:-1]):
        raise ExprError(f"{what}: sorted_sequence {sorted_sequence.name}{seq} and values {values.name}{vals} must "
                        "share their leading dimensions (or the sequence must be 1-D)")
    if str(sorted_sequence.dtype) != str(values.dtype):
        raise DTypeError(f"{what}: sorted_sequence is {sorted_sequence.dtype} but values is {values.dtype}")
    k = te.reduce_axis((0, seq[-1]), name="k")
    is_float = sorted_sequence.dtype.is_float

    def before(a: Any, b: Any) -> Any:
        """a sorts strictly before b (NaN last)."""
        return (a < b) | ((b != b) & (a == a)) if is_float else a < b

    def body(*i: Any) -> Any:
        v = values(*i)
        a = sorted_sequence(k) if len(seq) == 1 else sorted_sequence(*i[:-1], k)
        hit = ~before(v, a) if right else before(a, v)
        return te.sum(hit.astype(out_dtype), axis=k)

    return te.compute(vals, body, name="searchsorted", tag="searchsorted")
