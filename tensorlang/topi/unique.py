"""unique of a 1-D tensor (TVM's ``topi.unique``, its CPU path), with TVM's fixed-size outputs.

How many elements are unique is known only when the kernel runs, so, as in TVM, every output
has the input's length and ``num_unique`` (a (1,) int32 tensor) says how much of it is valid.
The work is one ``te.extern`` stage calling, once, a packed function that uses numpy (a sort, as
TVM's kernel sorts) and writes every output, ``num_unique`` included, each at its own shape.
Like sort.py's stages it builds for CPU targets only: declared under a ``cuda`` target it raises.

Past ``num_unique``: ``unique`` and ``counts`` hold 0 (TVM's doc promises zero padding for the
former, its kernel leaves both unwritten), ``indices`` holds the input's length, as TVM's.
Equality is ``==``: every NaN is its own unique element, as in TVM (numpy.unique groups NaNs).
"""

from __future__ import annotations

import numpy as np

from .. import te
from ..errors import DTypeError, ExprError
from ..runtime.ndarray import NDArray
from ..runtime.packed import register_func
from ..te.tensor import Tensor
from .utils import check_cpu_target

_UNIQUE = "tensorlang.topi.unique"


def _unique_packed(data: NDArray, *args: object) -> None:
    """``(data, unique, indices, inverse, num_unique[, counts], is_sorted)``: fills the fixed-size
    outputs and the count of unique elements."""
    *outs, is_sorted = args
    num_unique = outs.pop(3)
    x = data.numpy()
    n = x.shape[0]
    order = np.argsort(x, kind="stable")  # stable: the first of equal values is its first occurrence
    ordered = x[order]
    starts = np.ones(n, bool)
    starts[1:] = ordered[1:] != ordered[:-1]  # NaN != NaN: each NaN starts a group, as in TVM
    rank = np.cumsum(starts) - 1  # the sorted unique index of each sorted position
    uniq, first = ordered[starts], order[starts]
    counts = np.diff(np.append(np.flatnonzero(starts), n))
    inverse = np.empty(n, np.int64)
    inverse[order] = rank
    if not is_sorted:  # unique elements in order of first occurrence
        by_first = np.argsort(first, kind="stable")
        new_index = np.empty_like(by_first)
        new_index[by_first] = np.arange(by_first.size)
        uniq, first, counts, inverse = uniq[by_first], first[by_first], counts[by_first], new_index[inverse]
    wanted = [(uniq, 0), (first, n), (inverse, 0), (counts, 0)][:len(outs)]
    for out, (values, pad) in zip(outs, wanted):
        full = np.full(n, pad, dtype=out.dtype)
        full[:values.size] = values  # k entries, n for inverse
        out.copyfrom(full)
    num_unique.copyfrom(np.array([uniq.size]))


# Registered at import, as sort.py's; override=True lets a reload register again.
register_func(_UNIQUE, _unique_packed, override=True)


def unique(data: Tensor, is_sorted: bool = True, return_counts: bool = False) -> list[Tensor]:
    """The unique elements of the 1-D ``data``: ``[unique, indices, inverse_indices, num_unique]``,
    with ``counts`` last when ``return_counts`` (TVM's order).  ``unique``: the unique values
    (ascending when ``is_sorted``, else in order of first occurrence) in data's dtype;
    ``indices``: where each first occurs in ``data``; ``inverse_indices``: for each element of
    ``data`` its position in ``unique``; ``counts``: how often each occurs.  All are int32 and
    of ``data``'s length but ``num_unique``, shape (1,), which says how many entries are valid."""
    what = "unique"
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    if len(data.shape) != 1:
        raise ExprError(f"{what}: data must be 1-D, got shape {list(data.shape)}")
    if data.dtype.lanes != 1 or data.dtype.is_handle:
        raise DTypeError(f"{what}: data must hold numbers, got {data.dtype}")
    check_cpu_target(what)
    n = data.shape[0]
    shapes = [[n], [n], [n], [1]] + ([[n]] if return_counts else [])
    dtypes = [data.dtype, "int32", "int32", "int32"] + (["int32"] if return_counts else [])
    sort_flag = int(bool(is_sorted))
    return te.extern(shapes, [data], lambda ins, outs: te.call_packed(_UNIQUE, ins[0], *outs, sort_flag),
                     name="unique_cpu", dtype=dtypes, tag="unique_cpu")


__all__ = ["unique"]
