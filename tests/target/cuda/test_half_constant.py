"""A float16 constant in float math, in a kernel with no other float16: the CUDA C still defines
the half helpers it calls (NVRTC refused 'tl_h2f is undefined'; found by the expression fuzz)."""

from __future__ import annotations

import numpy as np

import tensorlang as tl
from tensorlang import te

rng = np.random.default_rng()


def test_float16_constant_in_float_math():
    A = te.placeholder((8,), "float32", "A")
    C = te.compute((8,), lambda i: A[i] / te.abs(te.const(-6.0, "float16")).astype("float32"), name="C")
    s = te.create_schedule(C.op)
    s[C].bind(C.op.axis[0], te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, C], target="cuda -emulate")
    assert "tl_f2h" not in f.get_source("cuda") or "__device__ __forceinline__ half tl_f2h" in f.get_source("cuda")
    a = rng.standard_normal(8).astype("float32")
    c = np.zeros(8, "float32")
    f(a, c)
    np.testing.assert_array_equal(c, a / np.float32(6))
