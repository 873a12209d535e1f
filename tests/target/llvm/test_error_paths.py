"""A compiled function that fails after allocating heap buffers (here a ``-bounds-check``
failure) frees them before returning its error: calling it many times does not grow the
process, serially or from parallel workers, and good calls still give numpy's results."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError, BoundsError

N = 1 << 18  # 1 MiB of float32: above the stack limit, so the intermediate is on the heap
ROWS = 4


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _build(schedule: str):
    A = te.placeholder((ROWS, N), name="A")
    Idx = te.placeholder((ROWS, 8), name="Idx", dtype="int32")
    B = te.compute((ROWS, N), lambda r, i: A[r, i] * 2, name="B")
    C = te.compute((ROWS, 8), lambda r, j: B[r, Idx[r, j]] + 1, name="C")
    s = te.create_schedule(C.op)
    if schedule == "parallel":
        # B's row is computed inside each parallel iteration: a heap buffer per worker.
        s[B].compute_at(s[C], C.op.axis[0])
        s[C].parallel(C.op.axis[0])
    return tl.build(s, [A, Idx, C], "llvm -bounds-check")


@pytest.mark.parametrize("schedule", ["serial", "parallel"])
def test_failing_calls_do_not_leak_heap_buffers(schedule: str) -> None:
    f = _build(schedule)
    rng = np.random.default_rng(11)
    a = rng.standard_normal((ROWS, N)).astype("float32")
    idx = rng.integers(0, N, (ROWS, 8)).astype("int32")
    c = np.zeros((ROWS, 8), "float32")
    f(a, idx, c)
    np.testing.assert_allclose(c, np.take_along_axis(a, idx, axis=1) * 2 + 1, rtol=1e-6)
    bad = idx.copy()
    bad[ROWS - 1, 7] = N + 5  # the last read of the last row: every buffer is written by then
    for _ in range(3):  # warm up the allocator and the thread pool
        with pytest.raises(BoundsError, match=r"out-of-bounds read of B: index 1 is"):
            f(a, bad, c)
    start = _rss_mib()
    for _ in range(60):
        with pytest.raises(BoundsError):
            f(a, bad, c)
    grown = _rss_mib() - start
    # A leak would be 60 x 4 MiB (serial: all of B) or 60 x 1 MiB (parallel: one row's B).
    assert grown < 24, f"the process grew by {grown:.0f} MiB over 60 failing calls"


def test_keyword_arguments_and_float_scalars_past_their_range_are_argument_errors():
    for dt, big, ok in (("float16", 70000.0, 65504.0), ("float32", 1e39, 3.0e38)):
        x = te.var("x", dtype=dt)
        A = te.placeholder((3,), dt, name="A")
        C = te.compute((3,), lambda i: A[i] + x, name="C")
        f = tl.build(te.create_schedule(C.op), [x, A, C])
        a, c = np.random.default_rng().standard_normal(3).astype(dt), np.zeros(3, dt)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no numpy overflow warning leaks either
            with pytest.raises(ArgumentError, match=f"argument x: .* beyond the range of {dt}"):
                f(big, a, c)
            f(ok, a, c)
        np.testing.assert_array_equal(c, a + np.array(ok, dt))
        f(float("inf"), a, c)  # infinity itself is a float16/32 value
        assert np.isinf(c).all()
        with pytest.raises(ArgumentError, match="positional.*keyword argument\\(s\\) C"):
            f(1.0, a, C=c)


def test_a_store_of_another_dtype_is_refused_not_reinterpreted():
    # A user pass that stores a float32 value into a float64 buffer would write float32 bits
    # there (a silent wrong answer); the code generator refuses it, naming the buffer.
    import pytest

    import tensorlang as tvm
    from tensorlang import te

    A = te.placeholder((8,), "float64", name="A")
    B = te.compute((8,), lambda i: A[i] * 2.0, name="B")

    from tests.target.narrowing_pass import narrow_stores

    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(3, narrow_stores)]}):
        with pytest.raises(tvm.TVMError, match="store to B: a float32 value into a float64 buffer"):
            tvm.build(te.create_schedule(B.op), [A, B], "llvm")
