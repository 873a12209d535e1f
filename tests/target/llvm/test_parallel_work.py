"""Small parallel loops run on fewer threads: the launcher gives a thread only to at least
``__tl_parallel_min_work`` element operations (target/llvm/work_estimate.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError
from tensorlang.target.llvm.work_estimate import DEFAULT_MIN_PARALLEL_WORK, work_per_iteration


def _tid_kernel(n: int, block: int):
    """out[i] = the Linux thread id that ran element i; a parallel loop over blocks."""
    A = te.placeholder((n,), name="A")
    T = te.compute((n,), lambda i: te.call_extern("int32", "gettid") + te.cast(A[i] * 0, "int32"), name="T")
    s = te.create_schedule(T.op)
    xo, xi = s[T].split(T.op.axis[0], factor=block)
    s[T].parallel(xo)
    return tl.build(s, [A, T], target="llvm")


def test_a_small_parallel_loop_runs_on_the_calling_thread():
    f = _tid_kernel(4096, 64)  # 64 iterations of a few operations: far below the threshold
    f.set_num_threads(4)
    out = np.zeros(4096, np.int32)
    f(np.ones(4096, np.float32), out)
    assert set(out.tolist()) == {threading.get_native_id()}


def test_threshold_zero_still_computes_every_element():
    rng = np.random.default_rng()
    n = 10_000
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] - B[i] * 2, name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=37)  # chunks that do not divide evenly
    s[C].parallel(xo)
    f = tl.build(s, [A, B, C], target="llvm")
    a, b = rng.integers(-99, 99, n).astype(np.float32), rng.integers(-99, 99, n).astype(np.float32)
    for threads, work in ((2, 0), (3, 0), (2, 1 << 40), (2, DEFAULT_MIN_PARALLEL_WORK)):
        f.set_num_threads(threads)
        f.set_parallel_min_work(work)
        c = np.full(n, np.nan, np.float32)
        f(a, b, c)
        np.testing.assert_array_equal(c, a - b * 2)


def test_set_parallel_min_work_rejects_bad_values():
    f = _tid_kernel(64, 8)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ArgumentError, match="set_parallel_min_work"):
            f.set_parallel_min_work(bad)


def test_work_estimate_counts_lanes_and_inner_extents():
    n = 1 << 16
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=4096)
    s[C].parallel(xo)
    xio, xii = s[C].split(xi, factor=16)
    s[C].vectorize(xii)
    loop = tl.lower(s, [A, B, C]).body
    # per iteration of the parallel loop: 4096 elements x (2 loads + 1 add + 1 store)
    assert work_per_iteration(loop.body) == 4096 * 4


def test_backing_off_on_a_busy_core_still_runs_every_chunk():
    """Both threads squeezed onto one CPU: the pool's helper falls behind, launches back off to
    the caller alone and retry; every launch must still compute every element exactly once."""
    import os

    rng = np.random.default_rng()
    n = 1 << 15
    A = te.placeholder((n,), name="A")
    C = te.compute((n,), lambda i: A[i] * 2 + 1, name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=256)
    s[C].parallel(xo)
    f = tl.build(s, [A, C], target="llvm")
    f.set_num_threads(2)
    f.set_parallel_min_work(0)
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(old)})
    try:
        for _ in range(200):
            a = rng.integers(-1000, 1000, n).astype(np.float32)
            c = np.full(n, np.nan, np.float32)
            f(a, c)
            np.testing.assert_array_equal(c, a * 2 + 1)
    finally:
        os.sched_setaffinity(0, old)


def test_launches_that_wake_a_sleeping_helper_compute_every_element():
    """Calls spaced by pauses, so that the pool's helper has gone to sleep before each launch (a
    launch that wakes it never starts a back-off); on two CPUs and squeezed onto one, every
    call computes every element exactly once, as numpy does."""
    import os
    import time

    rng = np.random.default_rng()
    n = 1 << 14
    A = te.placeholder((n,), name="A")
    C = te.compute((n,), lambda i: A[i] * 3 - 1, name="C")
    s = te.create_schedule(C.op)
    xo, xi = s[C].split(C.op.axis[0], factor=100)  # chunks that do not divide evenly
    s[C].parallel(xo)
    f = tl.build(s, [A, C], target="llvm")
    f.set_num_threads(2)
    f.set_parallel_min_work(0)
    old = os.sched_getaffinity(0)
    try:
        for cpus in (old, {min(old)}):
            os.sched_setaffinity(0, cpus)
            for k in range(40):
                if k % 4 == 0:
                    time.sleep(0.002)  # longer than the helper spins: it sleeps on the condition variable
                a = rng.integers(-1000, 1000, n).astype(np.float32)
                c = np.full(n, np.nan, np.float32)
                f(a, c)
                np.testing.assert_array_equal(c, a * 3 - 1)
    finally:
        os.sched_setaffinity(0, old)
