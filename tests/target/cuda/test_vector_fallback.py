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
                                         r"accesses in kernel masked_vec_kernel0: it is masked by the guard"):
        render_cuda(split_kernels(predicated_vector()))
