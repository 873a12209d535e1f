"""topi.utils.const_matrix: a constant tensor from a numpy array, in its dtype, read back exactly
by a built function and inlined into a consumer."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import DTypeError, ExprError
from tensorlang.topi.utils import const_matrix

from .runner import rng


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8"])
@pytest.mark.parametrize("shape", [(7,), (5, 9), (1, 1), (8, 8)])
def test_values_come_back_exactly(dtype, shape):
    m = (rng.standard_normal(shape) * 50).astype(dtype)
    m.reshape(-1)[: m.size // 3] = m.reshape(-1)[0]  # runs of equal values, as transforms have
    C = const_matrix(m, name="C")
    assert str(C.dtype) == dtype and C.op.tag == "const_matrix" and C.op.attrs["const_matrix"]
    f = tl.build(te.create_schedule(C.op), [C])
    out = np.zeros(shape, dtype)
    f(out)
    np.testing.assert_array_equal(out, m)


def test_inlined_into_a_product():
    g = rng.standard_normal((4, 3)).astype("float32")
    G = const_matrix(g, "G")
    X = te.placeholder((3, 6), name="X")
    k = te.reduce_axis((0, 3), name="k")
    Y = te.compute((4, 6), lambda i, j: te.sum(G[i, k] * X[k, j], axis=k), name="Y")
    s = te.create_schedule(Y.op)
    s[G].compute_inline()
    f = tl.build(s, [X, Y])
    x, y = rng.standard_normal((3, 6)).astype("float32"), np.zeros((4, 6), "float32")
    f(x, y)
    np.testing.assert_allclose(y, g @ x, rtol=1e-5, atol=1e-6)


def test_bad_matrices():
    with pytest.raises(ExprError, match="1-D or 2-D"):
        const_matrix(np.zeros((2, 2, 2)), "M")
    with pytest.raises(ExprError, match="non-empty"):
        const_matrix(np.zeros((0, 3)), "M")
    with pytest.raises(DTypeError, match="numbers"):
        const_matrix(np.array([["a"]]), "M")
