"""A vectorized loop's guarded tail with one lane left stores that element alone: LLVM's x86
backend turned a one-lane masked store of a narrowing cast (int32 -> int16) into a store of the
wide element, writing past the end of the output (found by fuzzing: heap corruption, then
'free(): invalid pointer')."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

GUARD = 64  # elements after the output that must stay untouched


@pytest.mark.parametrize("src, dst", [("int32", "int16"), ("int32", "int8"), ("int64", "int32"),
                                      ("int64", "int8"), ("uint32", "uint16"), ("int16", "int8")])
@pytest.mark.parametrize("n, factor", [(17, 4), (17, 16), (21, 4), (19, 8)])
def test_narrowing_cast_tail_stays_inside_the_output(rng, src, dst, n, factor) -> None:
    A = te.placeholder((n,), src, "A")
    C = te.compute((n,), lambda i: A[i].astype(dst), name="C")
    s = te.create_schedule(C.op)
    _, xi = s[C].split(C.op.axis[0], factor=factor)
    s[C].vectorize(xi)
    f = tl.build(s, [A, C], target="llvm")
    info = np.iinfo(src)
    a = rng.integers(info.min, info.max, n, dtype=src, endpoint=True)
    a[-1] = info.max  # the tail lane: its upper bytes are not zero
    out = np.full(n + GUARD, 7, dst)
    f(a, out[:n])
    np.testing.assert_array_equal(out[:n], a.astype(dst))
    np.testing.assert_array_equal(out[n:], np.full(GUARD, 7, dst))
