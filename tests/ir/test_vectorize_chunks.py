"""A vectorized loop whose extent is not a power of two runs as power-of-two vectors, the
widest first (one per set bit of the extent)."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.ir.stmt import Store
from tensorlang.te.functor import post_order_visit
from tests.conftest import random_array, run


@pytest.mark.parametrize("width, parts", [(48, [32, 16]), (56, [32, 16, 8]), (12, [8, 4]), (64, [64])])
def test_lanes_become_power_of_two_vectors_widest_first(rng, width, parts):
    n = 2 * width
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 3.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=width)
    s[B].vectorize(xi)
    lanes = []
    post_order_visit(tl.lower(s, [A, B]).body,
                     lambda n: lanes.append(n.value.dtype.lanes) if isinstance(n, Store) else None)
    assert lanes == parts
    a = random_array(rng, (n,), "float32")
    (b,) = run(s, [A, B], [a], [((n,), "float32")])
    np.testing.assert_allclose(b, a * 3 + 1, rtol=1e-6, atol=1e-6)   # fused multiply-add
