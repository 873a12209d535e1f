"""te.power of integers reads its exponent once per bit: an exponent that is an expression is
bound once (a Let), so a power whose exponent is an inlined power does not copy that power
into every bit test (found by fuzzing: pow(T, T) of an inlined T = pow(A, D) lowered to 650 KB
of IR in a reduction)."""

import numpy as np

import tensorlang as tl
from tensorlang import te
from tests.conftest import run


def _ipow(x: int, y: int, bits: int) -> int:
    if y < 0:  # documented: 1 / x ** -y truncated toward zero
        return 1 if x == 1 else ((-1 if y % 2 else 1) if x == -1 else 0)
    r = pow(x, y, 1 << bits)
    return r - (1 << bits) if r >= 1 << (bits - 1) else r


def test_power_of_an_inlined_power_stays_linear(rng) -> None:
    n, dt = 13, "int16"
    A = te.placeholder((n,), dt, "A")
    D = te.placeholder((n,), dt, "D")
    T = te.compute((n,), lambda i: te.power(A[i], D[i]), name="T")
    C = te.compute((n,), lambda i: te.power(T[i], T[i]), name="C")
    s = te.create_schedule(C.op)
    separate = len(str(tl.lower(s, [A, D, C])))
    s[T].compute_inline()
    inlined = len(str(tl.lower(s, [A, D, C])))
    # inlined, T is spelled once as the base and once as the exponent: 2.4x here (it was 9.7x)
    assert inlined < 3 * separate, (inlined, separate)
    a = rng.integers(-4, 5, n).astype(dt)
    d = rng.integers(-2, 5, n).astype(dt)
    a[:3], d[:3] = [-1, 2, 0], [-1, 15, 3]
    (c,) = run(s, [A, D, C], [a, d], [((n,), dt)])
    t = [_ipow(int(x), int(y), 16) for x, y in zip(a, d)]
    np.testing.assert_array_equal(c, np.array([_ipow(x, x, 16) for x in t]).astype(dt))
