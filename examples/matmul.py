"""Matrix multiplication C = A @ B in tensorlang: naive and register-blocked hand schedules,
and the tunable template ``matmul`` whose space holds register-blocked kernels.

    python examples/matmul.py                        # build, check against numpy, print GFLOPS
    tensorlang show examples/matmul.py               # print the lowered loop IR
    tensorlang tune --target=llvm examples/matmul.py # tune the template (tasks() below)
"""

from __future__ import annotations

import time

import numpy as np

import tensorlang as tl
from tensorlang import autotune, te


def matmul(N: int, L: int, M: int, dtype: str = "float32"):
    """The computation: C[i, j] = sum_k A[i, k] * B[k, j]."""
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return A, B, C


def naive(N: int, L: int, M: int, dtype: str = "float32"):
    """Default schedule: three nested loops."""
    A, B, C = matmul(N, L, M, dtype)
    return te.create_schedule(C.op), [A, B, C]


def blocked(N: int, L: int, M: int, dtype: str = "float32", mr: int = 4, nr: int = 64):
    """Register-blocked schedule: B packed into column panels of width ``nr``; each
    ``mr`` x ``nr`` tile of C accumulates in a local buffer that LLVM keeps in vector
    registers (mr * nr / 16 zmm registers, with FMA); column panels run in parallel."""
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    nr = min(nr, M)
    packed = te.compute(((M + nr - 1) // nr, L, nr),
                        lambda jo, k, ji: te.if_then_else(jo * nr + ji < M, B[k, jo * nr + ji],
                                                          te.const(0, dtype)), name="packedB")
    k = te.reduce_axis((0, L), name="k")
    C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * packed[j // nr, k, j % nr], axis=k), name="C")
    s = te.create_schedule(C.op)
    CC = s.cache_write(C, "local")
    i, j = s[C].op.axis
    jo, ji = s[C].split(j, factor=nr)
    io, ii = s[C].split(i, factor=mr)
    s[C].reorder(jo, io, ii, ji)
    s[C].vectorize(ji)
    s[C].parallel(jo)
    s[CC].compute_at(s[C], io)
    ic, jc = s[CC].op.axis
    (kc,) = s[CC].op.reduce_axis
    s[CC].reorder(kc, ic, jc)
    s[CC].unroll(ic)
    s[CC].vectorize(jc)
    po, pk, pi = s[packed].op.axis
    s[packed].vectorize(pi)
    s[packed].parallel(po)
    return s, [A, B, C]


@autotune.template("matmul")
def matmul_template(N: int, L: int, M: int, dtype: str = "float32"):
    """Tunable register-blocked matmul for CPUs.

    Knobs: ``nr`` columns and ``mr`` rows of the register tile (accumulated in a local buffer
    that LLVM keeps in vector registers), ``ku`` unrolling of the k loop, ``order`` (B column
    panels outermost so a panel stays in cache, or row blocks outermost), ``pack`` (copy B
    into contiguous column panels first)."""
    cfg = autotune.get_config()
    cfg.define_knob("nr", [64, 32, 16, 128])
    cfg.define_knob("mr", [4, 1, 2, 3, 5, 6, 8])
    cfg.define_knob("ku", [1, 2, 4])
    cfg.define_knob("order", ["panel", "row"])
    cfg.define_knob("pack", [True, False])
    # 32 vector registers: keep the accumulators (mr*nr/16 of them) plus operands in registers.
    cfg.add_constraint(lambda c: c["mr"].val * c["nr"].val <= 448, "mr*nr <= 448 (28 zmm accumulators)")
    cfg.add_flop(2.0 * N * L * M)
    nr, mr, ku = min(cfg["nr"].val, M), min(cfg["mr"].val, N), cfg["ku"].val
    A = te.placeholder((N, L), name="A", dtype=dtype)
    B = te.placeholder((L, M), name="B", dtype=dtype)
    k = te.reduce_axis((0, L), name="k")
    if cfg["pack"].val:
        packed = te.compute(((M + nr - 1) // nr, L, nr),
                            lambda jo, kk, ji: te.if_then_else(jo * nr + ji < M, B[kk, jo * nr + ji],
                                                               te.const(0, dtype)), name="packedB")
        C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * packed[j // nr, k, j % nr], axis=k), name="C")
    else:
        packed = None
        C = te.compute((N, M), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    CC = s.cache_write(C, "local")
    i, j = s[C].op.axis
    jo, ji = s[C].split(j, factor=nr)
    io, ii = s[C].split(i, factor=mr)
    if cfg["order"].val == "panel":
        s[C].reorder(jo, io, ii, ji)
        s[C].parallel(jo)
    else:
        s[C].reorder(io, jo, ii, ji)
        s[C].parallel(io)
    s[C].vectorize(ji)
    s[CC].compute_at(s[C], io if cfg["order"].val == "panel" else jo)
    ic, jc = s[CC].op.axis
    (kc,) = s[CC].op.reduce_axis
    if ku > 1:
        ko, ki = s[CC].split(kc, factor=ku)
        s[CC].reorder(ko, ki, ic, jc)
        s[CC].unroll(ki)
    else:
        s[CC].reorder(kc, ic, jc)
    s[CC].unroll(ic)
    s[CC].vectorize(jc)
    if packed is not None:
        po, pk, pi = s[packed].op.axis
        s[packed].vectorize(pi)
        s[packed].parallel(po)
    return s, [A, B, C]


def tasks(target: str):
    """Tasks for `tensorlang tune`: the template at 1024^3 float32."""
    return [autotune.task.create("matmul", (1024, 1024, 1024, "float32"), target)]


def schedules():
    """Entries for `tensorlang show`."""
    return {"matmul_naive_64": naive(64, 64, 64), "matmul_blocked_128": blocked(128, 128, 128)}


if __name__ == "__main__":
    n = 1024
    rng = np.random.default_rng()
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    t0 = time.perf_counter()
    s, args = blocked(n, n, n)
    f = tl.build(s, args, target="llvm", name="matmul")
    print(f"lower + compile: {time.perf_counter() - t0:.3f} s")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-3)
    t = f.time_evaluator(number=5, repeat=3)(a, b, c).median
    print(f"blocked matmul {n}^3: {2 * n**3 / t / 1e9:.1f} GFLOPS (result matches numpy)")
