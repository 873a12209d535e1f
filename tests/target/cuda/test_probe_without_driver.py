"""Without a CUDA driver library on the machine, asking for the GPU's architecture starts nothing."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.target.cuda import driver


def test_no_driver_library_means_no_probe_interpreter(monkeypatch):
    monkeypatch.delenv("TENSORLANG_CUDA_DRIVER", raising=False)
    if driver.driver_library_present():
        pytest.skip("this machine has a CUDA driver library: the probe must ask it")

    def no_child(*args, **kwargs):
        raise AssertionError("a probe interpreter was started on a machine without libcuda")
    monkeypatch.setattr(subprocess, "run", no_child)
    assert driver.probe_arch() is None


def test_emulated_kernel_still_matches_numpy_without_a_driver():
    n = 100
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 3.0 - 1.0, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, B], target="cuda -emulate")
    a = np.random.default_rng().standard_normal(n).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a * 3 - 1, rtol=1e-5, atol=1e-6)  # a*3-1 may fuse into one FMA
