"""A vectorized loop whose extent is not a power of two runs as power-of-two vectors."""

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.ir.stmt import Store
from tensorlang.te.functor import post_order_visit
from tests.conftest import random_array, run


def test_48_lanes_become_three_16_lane_vectors(rng):
    A = te.placeholder((96,), name="A")
    B = te.compute((96,), lambda i: A[i] * 3.0, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=48)
    s[B].vectorize(xi)
    lanes = []
    post_order_visit(tl.lower(s, [A, B]).body,
                     lambda n: lanes.append(n.value.dtype.lanes) if isinstance(n, Store) else None)
    assert lanes == [16, 16, 16]
    a = random_array(rng, (96,), "float32")
    (b,) = run(s, [A, B], [a], [((96,), "float32")])
    np.testing.assert_allclose(b, a * 3, rtol=1e-6)
