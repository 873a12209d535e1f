"""Test helpers with TVM's names (``tvm.testing.assert_allclose``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arith import simplify
from ..te.expr import IntImm, convert


def _host(x: Any) -> np.ndarray:
    if hasattr(x, "__tensorlang_array__"):
        return x.__tensorlang_array__()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return x.numpy()
    return np.asarray(x)


def assert_allclose(actual: Any, desired: Any, rtol: float = 1e-7, atol: float = 1e-7) -> None:
    """numpy's assert_allclose on numpy arrays or tl.nd arrays."""
    np.testing.assert_allclose(_host(actual), _host(desired), rtol=rtol, atol=atol, verbose=True)


def assert_prim_expr_equal(lhs: Any, rhs: Any) -> None:
    """Assert that two index expressions are equal (their difference simplifies to 0)."""
    diff = simplify(convert(lhs) - convert(rhs))
    if not (isinstance(diff, IntImm) and diff.value == 0):
        raise AssertionError(f"{lhs} != {rhs} (difference {diff})")
