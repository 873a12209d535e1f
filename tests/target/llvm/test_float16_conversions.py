"""Conversions to and from float16 that LLVM lowers to libgcc helpers (float64 -> float16 is
__truncdfhf2 even with F16C) run, in JIT code and exported libraries, and round as numpy does;
before, MCJIT resolved the helper to address 0 and the call crashed the process."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te


@pytest.mark.parametrize("src", ["float64", "float32"])
@pytest.mark.parametrize("vectorize", [False, True])
def test_float16_round_trips_match_numpy(src: str, vectorize: bool, tmp_path) -> None:
    n = 37
    A = te.placeholder((n,), src, name="A")
    B = te.compute((n,), lambda i: A[i].astype("float16").astype(src), name="B")
    H = te.compute((n,), lambda i: A[i].astype("float16"), name="H")
    s = te.create_schedule([B.op, H.op])
    if vectorize:
        for T in (B, H):
            _, xi = s[T].split(T.op.axis[0], factor=8)
            s[T].vectorize(xi)
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(n) * np.logspace(-9, 6, n)).astype(src)
    a[:5] = [np.nan, np.inf, -np.inf, 65520.0, 2.0 ** -25 * 1.5]  # NaN, overflow, ties, subnormals
    want_b, want_h = a.astype("float16").astype(src), a.astype("float16")
    f = tl.build(s, [A, B, H])
    path = tmp_path / "f16.so"
    f.export_library(path)
    for g in (f, tl.runtime.load_module(path)):
        b, h = np.zeros(n, src), np.zeros(n, "float16")
        g(a, b, h)
        np.testing.assert_array_equal(b, want_b)
        np.testing.assert_array_equal(h, want_h)
