"""Vector add with a symbolic length: split, parallel, vectorize.

    python examples/vadd.py
    tensorlang show examples/vadd.py
"""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang import te


def vadd():
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute(A.shape, lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=16)
    s[C].parallel(xo)
    s[C].vectorize(xi)
    return s, [A, B, C]


def schedules():
    return {"vadd": vadd()}


if __name__ == "__main__":
    s, args = vadd()
    print(tl.lower(s, args))
    f = tl.build(s, args, target="llvm", name="vadd")
    rng = np.random.default_rng()
    a, b = rng.random(1000, dtype=np.float32), rng.random(1000, dtype=np.float32)
    c = np.empty_like(a)
    f(a, b, c)
    np.testing.assert_allclose(c, a + b)
    print("vadd matches numpy")
