"""A constant tensor from a numpy array (TVM's ``topi.utils.const_matrix``), for small matrices
such as Winograd's transforms that are indexed by unrolled loops and fold to plain numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import te
from ..errors import DTypeError, ExprError
from ..te.tensor import Tensor


def _search(index: Any, lo: int, hi: int, leaf: Any, same: Any) -> Any:
    """The value at ``index`` in [lo, hi): a binary search of selects, a range holding one value
    (a row of zeros, say) needing no test.  (A chain of one select per element, as TVM builds
    it, costs every consumer a comparison per element and lowering a path per link.)"""
    if same(lo, hi):
        return leaf(lo)
    mid = (lo + hi) // 2
    return te.Select(index < mid, _search(index, lo, mid, leaf, same), _search(index, mid, hi, leaf, same))


def const_matrix(matrix: Any, name: str = "const_matrix", attrs: dict | None = None) -> Tensor:
    """A 1-D or 2-D tensor holding ``matrix`` (a numpy array, or anything ``numpy.asarray`` takes)
    in its dtype; tagged ``const_matrix`` with ``attrs["const_matrix"] = True``, as in TVM, so
    schedules can inline it."""
    values = np.asarray(matrix)
    if values.ndim not in (1, 2) or values.size == 0:
        raise ExprError(f"const_matrix '{name}': matrix must be a non-empty 1-D or 2-D array, got shape "
                        f"{values.shape}")
    if values.dtype.kind not in "biuf":
        raise DTypeError(f"const_matrix '{name}': matrix must hold numbers, got dtype {values.dtype}")
    dtype = str(values.dtype)
    py = float if values.dtype.kind == "f" else int

    def const(v: Any) -> Any:
        return te.const(py(v), dtype)

    all_attrs = {**(attrs or {}), "const_matrix": True}
    if values.ndim == 1:
        n = values.shape[0]
        return te.compute((n,), lambda i: _search(i, 0, n, lambda a: const(values[a]),
                                                  lambda lo, hi: bool(np.all(values[lo:hi] == values[lo]))),
                          name=name, tag="const_matrix", attrs=all_attrs)
    rows, cols = values.shape

    def element(i: Any, j: Any) -> Any:
        def row(a: int) -> Any:
            return _search(j, 0, cols, lambda b: const(values[a, b]),
                           lambda lo, hi: bool(np.all(values[a, lo:hi] == values[a, lo])))

        return _search(i, 0, rows, row, lambda lo, hi: bool(np.all(values[lo:hi] == values[lo])))

    return te.compute((rows, cols), element, name=name, tag="const_matrix", attrs=all_attrs)


__all__ = ["const_matrix"]
