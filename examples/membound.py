"""Memory-bound kernels: vector add, a fused elementwise chain, exp, and a row softmax.

    python examples/membound.py
    tensorlang show examples/membound.py

Each is one pass over memory when fused; benchmarks/membound_cpu.py compares them with numpy
and with the machine's copy bandwidth.
"""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang import te

_VEC = 16  # one zmm register of float32


def _flat_schedule(out: te.Tensor, block: int = 1 << 14):
    """Blocks of ``block`` elements in parallel, vector lanes inside."""
    s = te.create_schedule(out.op)
    (i,) = s[out].op.axis
    io, ii = s[out].split(i, factor=block)
    iio, iii = s[out].split(ii, factor=_VEC)
    s[out].parallel(io)
    s[out].vectorize(iii)
    return s


def vadd(n: int):
    """C = A + B."""
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[i], name="C")
    return _flat_schedule(C), [A, B, C]


def chain(n: int):
    """D = max(A * B + C, 0) * 0.5 - C: five operations, three reads and one write per element."""
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.placeholder((n,), name="C")
    D = te.compute((n,), lambda i: te.max(A[i] * B[i] + C[i], te.const(0.0, "float32")) * 0.5 - C[i], name="D")
    return _flat_schedule(D), [A, B, C, D]


def exp_map(n: int):
    """B = exp(A): one read, one exp and one write per element, the least a softmax does (it
    also finds each row's max and sum, so it cannot be faster than this pass)."""
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: te.exp(A[i]), name="B")
    return _flat_schedule(B), [A, B]


def softmax(n: int, m: int):
    """Row softmax: max, exp(x - max), sum, scale; one row at a time per thread, the row's
    exponentials kept in a row-sized buffer, both reductions vectorized through rfactor into
    eight vector accumulators (one would wait on its own add), the exp loop prefetching two
    rows ahead while it computes, and rows pipelined in chunks of 16.  (The auto-scheduler's
    best softmax also folds the 128 partial results in two steps, 16 lanes at a time, where
    this one folds them one by one: 39 GB/s against 31 on one thread.)"""
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    mx = te.compute((n,), lambda i: te.max(A[i, k], axis=k), name="mx")
    E = te.compute((n, m), lambda i, j: te.exp(A[i, j] - mx[i]), name="E")
    k2 = te.reduce_axis((0, m), name="k2")
    sm = te.compute((n,), lambda i: te.sum(E[i, k2], axis=k2), name="sm")
    out = te.compute((n, m), lambda i, j: E[i, j] / sm[i], name="out")
    s = te.create_schedule(out.op)
    i, j = s[out].op.axis
    io, i = s[out].split(i, factor=16)
    s[out].parallel(io)
    # Each row's normalize pass runs with the next row's exp loop, so its stores to memory
    # overlap that row's arithmetic (see tensorlang.ir.passes.pipeline_rows).
    s[out].pragma(i, "pipeline_rows")
    wide = 8 * _VEC
    jo, ji = s[out].split(j, factor=wide)
    s[out].vectorize(ji)
    for red in (mx, sm):
        ko, ki = s[red].split(s[red].op.reduce_axis[0], factor=wide)
        rf = s.rfactor(red, ki)
        s[rf].compute_at(s[out], i)
        s[red].compute_at(s[out], i)
        rl, ri = s[rf].op.axis  # rfactor puts the factored (lane) axis first
        (rko,) = s[rf].op.reduce_axis
        s[rf].reorder(ri, rko, rl)
        s[rf].vectorize(rl)
    s[E].compute_at(s[out], i)
    ei, ej = s[E].op.axis
    ejo, eji = s[E].split(ej, factor=wide)
    s[E].vectorize(eji)
    s[E].pragma(ejo, "prefetch", 2 * m)  # pipelined, the next row's max pass follows at once
    return s, [A, out]


def numpy_softmax(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The numpy reference a user would write (row max subtracted for stability)."""
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return np.divide(e, e.sum(axis=1, keepdims=True), out=out)


def schedules():
    return {"vadd": vadd(1000), "chain": chain(1000), "exp_map": exp_map(1000), "softmax": softmax(8, 100)}


if __name__ == "__main__":
    rng = np.random.default_rng()
    s, args = softmax(64, 1000)
    f = tl.build(s, args, target="llvm", name="softmax")
    a = rng.standard_normal((64, 1000)).astype(np.float32) * 4
    out = np.empty_like(a)
    f(a, out)
    np.testing.assert_allclose(out, numpy_softmax(a), rtol=1e-5, atol=1e-7)
    print("softmax matches numpy")
