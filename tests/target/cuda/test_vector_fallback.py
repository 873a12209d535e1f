"""A vectorized access that cannot be a 128-bit vector (alignment not provable, or masked) goes
lane by lane with a warning naming the stage, once per stage; aligned ones are silent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

EMU = "cuda -emulate -arch=sm_90"


def _shifted(n: int, offset: int, vec: int = 4):
    """B[i] = A[i + offset] * 2, four lanes a thread."""
    A = te.placeholder((n + offset,), name="A")
    B = te.compute((n,), lambda i: A[i + offset] * 2.0, name="B")
    s = te.create_schedule(B.op)
    bx, rest = s[B].split(B.op.axis[0], factor=128)
    tx, vi = s[B].split(rest, factor=vec)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    s[B].vectorize(vi)
    return s, [A, B]


def _run(f, n: int, offset: int) -> None:
    a = np.random.default_rng().standard_normal(n + offset).astype("float32")
    b = np.zeros(n, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a[offset:] * 2, rtol=1e-6)


def test_an_unaligned_vector_load_warns_naming_the_stage_and_why():
    s, args = _shifted(256, 1)
    with pytest.warns(UserWarning) as caught:
        f = tl.build(s, args, target=EMU)
    msgs = [str(w.message) for w in caught if "scalar accesses" in str(w.message)]
    assert len(msgs) == 1, msgs  # once per stage
    assert msgs[0].startswith("stage B: the 4-lane vector load from A falls back to 4 scalar accesses")
    assert "is not provably a multiple of 4 elements (16-byte alignment)" in msgs[0]
    src = f.get_source("cuda")
    assert "*(float4*)(B" in src and "(const float4*)(A" not in src  # the store stays a vector
    _run(f, 256, 1)


def test_aligned_vectors_are_silent():
    s, args = _shifted(256, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = tl.build(s, args, target=EMU)
    assert "(const float4*)(A" in f.get_source("cuda")
    _run(f, 256, 4)


def test_a_masked_vector_store_warns_that_it_is_masked():
    from tensorlang.target.cuda.codegen import render_cuda, split_kernels

    from .helpers import predicated_vector
    with pytest.warns(UserWarning, match=r"stage Out: the 4-lane vector store to Out falls back to 4 scalar "
                                         r"accesses in kernel masked_vec_kernel0: its lanes are masked one by one "
                                         r"by the guard"):
        render_cuda(split_kernels(predicated_vector()))


def test_a_guard_the_same_for_every_lane_keeps_whole_vectors():
    # A padding row's guard does not depend on the vectorized axis: one scalar if around float4
    # loads (it went lane by lane with a warning blaming a split that does not divide).
    n, m = 64, 64
    A = te.placeholder((n, m), name="A")
    P = te.compute((n + 2, m), lambda i, j: te.if_then_else(te.all(i >= 1, i < n + 1), A[i - 1, j], 0.0), name="P")
    B = te.compute((n + 2, m), lambda i, j: P[i, j] * 2.0, name="B")
    s = te.create_schedule(B.op)
    s[P].compute_inline()
    jo, ji = s[B].split(B.op.axis[1], factor=4)
    s[B].bind(B.op.axis[0], te.thread_axis("blockIdx.x"))
    s[B].bind(jo, te.thread_axis("threadIdx.x"))
    s[B].vectorize(ji)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = tl.build(s, [A, B], target=EMU)
    src = f.get_source("cuda")
    assert src.count("(const float4*)(A") == 1 and "*(float4*)(B" in src
    a = np.random.default_rng().standard_normal((n, m)).astype("float32")
    b = np.full((n + 2, m), np.nan, "float32")
    f(a, b)
    want = np.zeros((n + 2, m), "float32")
    want[1:n + 1] = a * 2
    np.testing.assert_array_equal(b, want)


def test_a_uniformly_masked_vector_store_is_one_vector_store_under_an_if():
    from tensorlang.ir.function import PrimFunc
    from tensorlang.target.cuda.codegen import render_cuda, split_kernels
    from tensorlang.te import expr as E

    from .helpers import F32, bind, buf, ld, ramp, st
    A, Out = buf("A", F32, 128), buf("Out", F32, 128)
    tx, flag = E.Var("tx"), E.Var("flag")
    mask = E.Broadcast(flag > 0, 4)
    body = bind(tx, 32, "threadIdx.x", st(Out, ld(A, ramp(tx * 4, 4), mask), ramp(tx * 4, 4), mask))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        src = render_cuda(split_kernels(PrimFunc("uniform_mask", [A, Out, flag], body)))
    assert "*(float4*)(Out" in src and "(const float4*)(A" in src
