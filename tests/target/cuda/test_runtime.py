"""The CUDA module without a GPU (launch plans, export and load), and on a real GPU (tests
marked ``gpu``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tensorlang.errors import ArgumentError, BuildError, TargetError
from tensorlang.target.cuda.build import build_cuda
from tensorlang.target.cuda.runtime import CUDAModule, gpu_available, load_cuda_module
from tensorlang.target.cuda.target import CUDATarget
from tensorlang.target.timing import ProfileResult

from .helpers import F32, SM90, half_kernel, int8_kernel, intrinsics, matmul, needs_nvrtc, rng, two_kernels, vadd

# --- the module without a GPU ----------------------------------------------------------------------------

@needs_nvrtc
def test_module_sources_and_argument_checks():
    m = build_cuda(vadd(), SM90)
    assert isinstance(m, CUDAModule) and m.kernel_names == ("vadd_kernel0",)
    assert "vadd_kernel0" in m.get_source("cuda") and ".entry vadd_kernel0" in m.get_source("ptx")
    assert m.get_source("tl").startswith("func vadd(")
    with pytest.raises(TargetError, match="unknown source format"):
        m.get_source("ll")
    a = np.zeros(8, np.float32)
    with pytest.raises(ArgumentError, match="expects 4 arguments"):
        m(a, a, 8)
    with pytest.raises(ArgumentError, match="expected float32, got float64"):
        m(a, a, np.zeros(8), 8)
    with pytest.raises(ArgumentError, match="overlap"):
        m(a, a, a, 8)


@needs_nvrtc
@pytest.mark.skipif(gpu_available(), reason="a GPU is present: the module runs")
def test_calling_without_a_gpu_is_a_clear_error():
    m = build_cuda(vadd(), SM90)
    a = np.zeros(8, np.float32)
    with pytest.raises(TargetError, match=r"no CUDA driver/GPU found; the target 'cuda -emulate'"):
        m(a, a.copy(), a.copy(), 8)
    with pytest.raises(TargetError, match="no CUDA driver/GPU found"):
        m.time_evaluator(number=2)(a, a.copy(), a.copy(), 8)


@needs_nvrtc
def test_export_and_load_round_trip(tmp_path):
    m = build_cuda(matmul(), SM90)
    path = tmp_path / "matmul.cuda.json"
    m.export_library(path)
    with open(path) as f:
        assert json.load(f)["format"] == "tensorlang-cuda-module"
    back = load_cuda_module(path)
    assert back.plan == m.plan and back.signature == m.signature
    assert back.compiled.cubin == m.compiled.cubin and back.get_source("cuda") == m.get_source("cuda")
    assert back.plan.align == ((0, 16), (1, 16), (2, 16))
    (tmp_path / "junk").write_text("{}")
    with pytest.raises(BuildError, match="not a tensorlang CUDA module"):
        load_cuda_module(tmp_path / "junk")


# --- on a real GPU ---------------------------------------------------------------------------------------

gpu = pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and pycuda")


@pytest.mark.gpu
@gpu
def test_gpu_vadd_against_numpy():
    m = build_cuda(vadd(), CUDATarget.from_string("cuda"))
    for n in (1, 1000, 65536 + 3):
        a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
        out = np.zeros(n, np.float32)
        m(a, b, out, n)
        np.testing.assert_array_equal(out, a + b)


@pytest.mark.gpu
@gpu
def test_gpu_matmul_and_two_kernels_against_numpy():
    m = build_cuda(matmul(), CUDATarget.from_string("cuda"))
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    m(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    two = build_cuda(two_kernels(), CUDATarget.from_string("cuda"))
    x, y = rng.standard_normal(1000).astype(np.float32), np.zeros(1000, np.float32)
    two(x, y, 1000)
    np.testing.assert_array_equal(y, x * 2 + 1)


@pytest.mark.gpu
@gpu
def test_gpu_half_int8_bool_intrinsics():
    t = CUDATarget.from_string("cuda")
    n = 500
    a, b = rng.standard_normal(n).astype(np.float16), rng.standard_normal(n).astype(np.float16)
    out = np.zeros(n, np.float16)
    build_cuda(half_kernel(), t)(a, b, out, n)
    y = (a * b + np.float16(1.5)).astype(np.float32) * np.float32(0.125)
    want = np.exp(y.astype(np.float16).astype(np.float32)).astype(np.float16) + np.arange(n).astype(np.float16)
    np.testing.assert_allclose(out.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=1e-2)
    i8 = rng.integers(-128, 128, (2, n)).astype(np.int8)
    o8 = np.zeros(n, np.int8)
    build_cuda(int8_kernel(), t)(i8[0], i8[1], o8, n)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(o8, (i8[0] * i8[1] + np.int8(100)) + i8[0] // np.int8(3) + i8[1] % np.int8(5))
    x = rng.uniform(0.5, 1.5, n).astype(np.float32)
    o = np.zeros(n, np.float32)
    build_cuda(intrinsics(F32), t)(x, o, n)
    assert np.all(np.isfinite(o))


@pytest.mark.gpu
@gpu
def test_gpu_arrays_are_used_without_copies():
    cp = pytest.importorskip("cupy")
    m = build_cuda(vadd(), CUDATarget.from_string("cuda"))
    n = 4096
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    ga, gb, gout = cp.asarray(a), cp.asarray(b), cp.zeros(n, np.float32)
    m(ga, gb, gout, n)
    np.testing.assert_array_equal(cp.asnumpy(gout), a + b)
    mm = build_cuda(matmul(), CUDATarget.from_string("cuda"))
    big = cp.zeros(64 * 64 + 1, np.float32)
    with pytest.raises(ArgumentError, match="16-byte aligned"):
        mm(big[1:].reshape(64, 64), cp.zeros((64, 64), np.float32), cp.zeros((64, 64), np.float32))


@pytest.mark.gpu
@gpu
def test_gpu_time_evaluator():
    m = build_cuda(matmul(), CUDATarget.from_string("cuda"))
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    res = m.time_evaluator(number=5, repeat=3)(a, b, c)
    assert isinstance(res, ProfileResult) and len(res.results) == 3 and 0 < res.mean < 1.0
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)  # results still come back
    res = m.time_evaluator(2, 1, 5)(a, b, c)
    assert res.results[0] > 0
