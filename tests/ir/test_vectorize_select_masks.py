"""A vector Select predicates the loads of its arms with its condition: a condition that reads
memory is bound once (a Let), so nested Selects (inlined stages each choosing between values of
the one before) grow the IR as the expression does, not exponentially (found by fuzzing: a
popcount of an inlined stage took minutes to compile)."""

import time

import numpy as np

import tensorlang as tl
from tensorlang import te
from tests.conftest import run


def _chain(n: int, depth: int):
    A = te.placeholder((n,), "int32", "A")
    B = te.placeholder((n,), "int32", "B")
    stages = [te.compute((n,), lambda i: te.abs(A[i]), name="T0")]
    for d in range(depth):
        P = stages[-1]
        stages.append(te.compute((n,), lambda i, P=P: te.if_then_else(B[i] != P[i], -P[i], P[i] + 1),
                                 name=f"T{d + 1}"))
    C = stages[-1]
    s = te.create_schedule(C.op)
    for T in stages[:-1]:
        s[T].compute_inline()
    return A, B, C, s


def _reference(a: np.ndarray, b: np.ndarray, depth: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        p = np.abs(a)
        for _ in range(depth):
            p = np.where(b != p, -p, p + np.int32(1))
    return p


def test_nested_vector_selects_bind_their_conditions(rng) -> None:
    n, depth = 37, 2  # 37: the last vector is a guarded tail
    A, B, C, s = _chain(n, depth)
    plain = len(str(tl.lower(s, [A, B, C])))
    xo, xi = s[C].split(C.op.axis[0], factor=8)
    s[C].vectorize(xi)
    start = time.perf_counter()
    text = str(tl.lower(s, [A, B, C]))
    assert time.perf_counter() - start < 2
    # two copies of the body (main loop and guarded tail), spelled with ramps and masks: about
    # 12 times the scalar IR here (it was 2300 times, 1.1 MB, before conditions were bound once)
    assert len(text) < 30 * plain, (len(text), plain)
    info = np.iinfo(np.int32)
    a = rng.integers(-6, 7, n).astype(np.int32)
    b = rng.integers(-6, 7, n).astype(np.int32)
    a[:4] = [info.min, info.max, 0, -1]
    b[4:8] = np.abs(a[4:8])  # the conditions take both sides
    (c,) = run(s, [A, B, C], [a, b], [((n,), "int32")])
    np.testing.assert_array_equal(c, _reference(a, b, depth))
