"""Loops around loops that stay loops are not fully unrolled by LLVM (target/llvm/loop_metadata)."""

import re

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.target.llvm import loop_metadata
from tensorlang.te.functor import post_order_visit

rng = np.random.default_rng()


def _split_compute_at():
    # TVM's test_tuple_with_different_deps schedule: a 10-row split with a two-output stage
    # computed inside it. LLVM fully unrolled the 10-row loops, vectorizing 10 copies of each
    # symbolic-extent row loop: 480 vector bodies and about 4 s of LLVM time for one build.
    m, n = te.size_var("m"), te.size_var("n")
    A0 = te.placeholder((m, n), name="A0")
    A1 = te.placeholder((m, n), name="A1")
    B0, B1 = te.compute((m, n), lambda i, j: (A0[i, j] * 2, A1[i, j] * 3), name="B")
    C = te.compute((m, n), lambda i, j: B0[i, j] + 4, name="C")
    s = te.create_schedule(C.op)
    xo, _ = s[C].split(C.op.axis[0], factor=10)
    s[B0.op].compute_at(s[C], xo)
    return s, [A0, A1, C]


def test_a_loop_around_a_symbolic_loop_is_kept_rolled_and_still_right():
    s, args = _split_compute_at()
    f = tl.build(s, args, target="llvm")
    unopt = f.get_source("ll-unopt")
    ids = re.findall(r"^(!\d+) = distinct !\{ ?\1, (!\d+) ?\}", unopt, re.MULTILINE)
    assert ids, "the 10-row loops carry no loop ID"
    for _, option in ids:
        assert re.search(rf'^{option} = !{{ ?!"llvm.loop.unroll.disable" ?}}', unopt, re.MULTILINE)
    assert len(re.findall(r"vector\.body", f.get_source("ll"))) < 100
    for m, n in ((23, 37), (10, 1), (7, 130)):
        a0 = rng.standard_normal((m, n)).astype("float32")
        a1 = rng.standard_normal((m, n)).astype("float32")
        c = np.empty((m, n), "float32")
        f(a0, a1, c)
        np.testing.assert_allclose(c, a0 * 2 + 4, rtol=1e-6)


def test_only_loops_holding_rolled_loops_are_named():
    A = te.placeholder((4, 8, 64), name="A")
    B = te.compute((4, 8, 64), lambda i, j, k: A[i, j, k] + 1, name="B")
    s = te.create_schedule(B.op)
    body = tl.lower(s, [A, B]).body
    loops = []

    def collect(stmt):
        if type(stmt).__name__ == "For":
            loops.append(stmt)

    post_order_visit(body, collect)
    by_name = {lp.loop_var.name: lp for lp in loops}
    # i holds j (8, unrolled by LLVM) which holds k (64: stays a loop); k holds nothing.
    holders = loop_metadata.loops_holding_rolled_loops(body)
    assert holders == {id(by_name["i"]), id(by_name["j"])}
    f = tl.build(s, [A, B], target="llvm")
    a = rng.standard_normal((4, 8, 64)).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a + 1, rtol=1e-6)


def test_emulated_thread_loops_stay_loops_and_compute_what_numpy_does():
    # A `cuda -emulate` int8 kernel of 16-thread blocks: LLVM fully unrolled the emulated thread
    # loop, then vectorized the block loop over 16-strided int8 groups: an 8,482-line module
    # (from 158) and 20 s of LLVM time for one build. The thread loop now keeps its loop ID.
    n = 64
    A = te.placeholder((n,), name="A", dtype="int8")
    B = te.placeholder((n,), name="B", dtype="int8")
    C = te.compute((n,), lambda i: (A[i] ^ B[i]) + (A[i] >> 2) * B[i], name="C")
    s = te.create_schedule(C.op)
    bx, tx = s[C].split(C.op.axis[0], factor=16)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, B, C], target="cuda -emulate")
    unopt = f.get_source("ll-unopt")
    ids = re.findall(r"^(!\d+) = distinct !\{ ?\1, (!\d+) ?\}", unopt, re.MULTILINE)
    assert ids and all(re.search(rf'^{o} = !{{ ?!"llvm.loop.unroll.disable" ?}}', unopt, re.MULTILINE)
                       for _, o in ids)
    assert len(f.get_source("ll").splitlines()) < 2000
    a = rng.integers(-128, 128, n).astype("int8")
    b = rng.integers(-128, 128, n).astype("int8")
    c = rng.integers(-128, 128, n).astype("int8")  # garbage the kernel must overwrite
    f(a, b, c)
    with np.errstate(over="ignore"):
        want = (a ^ b) + (a >> 2) * b
    np.testing.assert_array_equal(c, want)
