"""Intervals of truncmod (tir.Mod): every value of truncmod(x, c) for x in the interval lies in the set
int_set gives, and where x stays on one side of zero within one block of |c| the set is exact (as TVM's).
Bound inference with a truncmod index then sizes a stage as a floormod index would."""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang import arith, te, tir


def _truncmod(x: np.ndarray, c: int) -> np.ndarray:
    return np.fmod(x, c)  # C's %, the sign of the dividend


def test_int_set_of_truncmod_holds_every_value_and_is_exact_within_a_block():
    rng = np.random.default_rng()
    x = te.var("x")
    ana = arith.Analyzer()
    for _ in range(200):
        lo = int(rng.integers(-60, 60))
        hi = lo + int(rng.integers(0, 40))
        c = int(rng.choice([-1, 1])) * int(rng.integers(1, 13))
        got = ana.int_set(tir.truncmod(x, c), {x: arith.IntervalSet(lo, hi)})
        vals = _truncmod(np.arange(lo, hi + 1), c)
        gmin, gmax = int(got.min_value.value), int(got.max_value.value)
        assert gmin <= vals.min() and vals.max() <= gmax, (lo, hi, c, gmin, gmax)
        one_block = (lo >= 0 and lo // abs(c) == hi // abs(c)) or (hi <= 0 and -hi // abs(c) == -lo // abs(c))
        if one_block:
            assert (gmin, gmax) == (vals.min(), vals.max()), (lo, hi, c, gmin, gmax)


def test_a_truncmod_index_bounds_the_producer_like_floormod():
    n = 40
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    C = te.compute((n,), lambda i: B[tir.truncmod(i, 10)] + 1.0, name="C")
    s = te.create_schedule(C.op)
    xo, _ = s[C].split(C.op.axis[0], factor=10)
    s[B].compute_at(s[C], xo)
    text = str(tl.lower(s, [A, C], simple_mode=True))
    assert "B[float32 * 40]" not in text  # B was computed whole every outer iteration
    f = tl.build(s, [A, C])
    a = np.random.default_rng().random(n).astype("float32")
    c = np.empty(n, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a[np.arange(n) % 10] * 2 + 1, rtol=1e-6)
