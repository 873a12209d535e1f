"""Random block-sparse test matrices, as TVM's ``topi.sparse.utils.random_bsr_matrix`` makes them
for sparse_dense tasks and tutorials."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse

from ...errors import ArgumentError


def random_bsr_matrix(M: int, N: int, BS_R: int, BS_C: int, density: float,  # noqa: N803 - TVM's names
                      dtype: str = "float32") -> scipy.sparse.bsr_matrix:
    """An ``M x N`` BSR matrix of ``BS_R x BS_C`` blocks, about ``density`` of its elements in
    randomly chosen blocks (at least one) filled with standard normal values.  Draws from numpy's
    global random state, as TVM's does, so ``np.random.seed`` makes it repeatable."""
    where = "random_bsr_matrix"
    for name, v in (("M", M), ("N", N), ("BS_R", BS_R), ("BS_C", BS_C)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ArgumentError(f"{where}: {name} must be a positive int, got {v!r}")
    if M % BS_R or N % BS_C:
        raise ArgumentError(f"{where}: the blocks ({BS_R}x{BS_C}) must tile the {M}x{N} matrix")
    if not (isinstance(density, numbers.Real) and 0 <= density <= 1):
        raise ArgumentError(f"{where}: density must be a number in [0, 1], got {density!r}")
    rows, cols = M // BS_R, N // BS_C
    count = min(int(density * M * N / (BS_R * BS_C)) + 1, rows * cols)
    dense = np.zeros((M, N), dtype=dtype)
    for b in np.sort(np.random.choice(rows * cols, size=count, replace=False)):
        r, c = divmod(int(b), cols)
        dense[r * BS_R:(r + 1) * BS_R, c * BS_C:(c + 1) * BS_C] = np.random.randn(BS_R, BS_C)
    return scipy.sparse.bsr_matrix(dense, blocksize=(BS_R, BS_C))


__all__ = ["random_bsr_matrix"]
