"""The CUDA C run on the CPU: compiled with g++ against a small stand-in for the CUDA runtime (one
OS thread per GPU thread, std::barrier for __syncthreads), directly and through the CUDA
runtime on a stand-in driver, compared with numpy."""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from tensorlang.errors import ArgumentError
from tensorlang.ir.function import PrimFunc
from tensorlang.target.cuda.build import build_cuda
from tensorlang.target.cuda.codegen import (
    MATH_FUNCTIONS,
)
from tensorlang.target.cuda.driver import CUDADevice
from tensorlang.target.timing import ProfileResult
from tensorlang.te.dtype import as_dtype

from .helpers import (
    SM90,
    bool_kernel,
    constants_kernel,
    f64_vector,
    floordiv_kernel,
    fmax_kernel,
    guarded_threads,
    int8_kernel,
    intrinsics,
    let_kernel,
    matmul,
    predicated_vector,
    rng,
    select_oob,
    source_of,
    two_kernels,
    unaligned_vector,
    vadd,
)

# --- running the CUDA C on the CPU (g++, one thread per GPU thread) ------------------------------------------

_HOST_PRELUDE = r"""
#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>
struct tl_dim3 { unsigned x = 0, y = 0, z = 0; };
thread_local tl_dim3 threadIdx, blockIdx;
static std::barrier<>* tl_block_barrier;
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __syncthreads() tl_block_barrier->arrive_and_wait()
static inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline double __longlong_as_double(long long x) { double d; std::memcpy(&d, &x, 8); return d; }
static inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long cmp, unsigned long long v) {
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); return cmp;
}
#define TL_VEC2(T, N) struct alignas(2 * sizeof(T)) N { T x, y; }; \
  static inline N make_##N(T x, T y) { return N{x, y}; }
#define TL_VEC4(T, N) struct alignas(4 * sizeof(T)) N { T x, y, z, w; }; \
  static inline N make_##N(T x, T y, T z, T w) { return N{x, y, z, w}; }
TL_VEC2(float, float2) TL_VEC4(float, float4) TL_VEC2(int, int2) TL_VEC4(int, int4)
TL_VEC2(unsigned, uint2) TL_VEC4(unsigned, uint4) TL_VEC2(double, double2)
TL_VEC2(long long, longlong2) TL_VEC2(unsigned long long, ulonglong2)
"""
_CTYPES = {"bool": ctypes.c_bool, "signed char": ctypes.c_int8, "unsigned char": ctypes.c_uint8,
           "short": ctypes.c_int16, "unsigned short": ctypes.c_uint16, "int": ctypes.c_int32,
           "unsigned int": ctypes.c_uint32, "long long": ctypes.c_int64, "unsigned long long": ctypes.c_uint64,
           "float": ctypes.c_float, "double": ctypes.c_double}
_HOST_KEYS = ["vadd", "matmul", "two_kernels", "int8", "bool", "f64_vector", "select_oob", "intrin_f32",
              "intrin_f64", "floordiv", "constants", "guarded", "masked_vec", "unaligned_vec", "let",
              "fmax_f32", "fmax_f64"]


def _launcher(name: str, params: str) -> str:
    """tl_launch_<name>(grid, block, params...): every block in turn, one OS thread per GPU thread."""
    names = ", ".join(p.split()[-1] for p in params.split(", "))
    return f"""
extern "C" void tl_launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned tx, unsigned ty, unsigned tz,
                                 {params}) {{
  for (unsigned bz = 0; bz < gz; ++bz) for (unsigned by = 0; by < gy; ++by) for (unsigned bx = 0; bx < gx; ++bx) {{
    std::barrier<> bar(tx * ty * tz);
    tl_block_barrier = &bar;
    std::vector<std::thread> threads;
    for (unsigned z = 0; z < tz; ++z) for (unsigned y = 0; y < ty; ++y) for (unsigned x = 0; x < tx; ++x)
      threads.emplace_back([=] {{ blockIdx = {{bx, by, bz}}; threadIdx = {{x, y, z}}; {name}({names}); }});
    for (auto& t : threads) t.join();
  }}
}}"""


@pytest.fixture(scope="module")
def host_lib():
    """Every host-runnable test function's CUDA C, each in its own namespace, in one library."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler to run the CUDA C on the CPU")
    parts, signatures = [_HOST_PRELUDE], {}
    for key in _HOST_KEYS:
        src = source_of(key)
        assert "cuda_fp16" not in src
        launchers = []
        for m in re.finditer(r'extern "C" __global__ void __launch_bounds__\(\d+\) (\w+)\((.*?)\) \{', src):
            signatures[m.group(1)] = m.group(2).split(", ")
            launchers.append(_launcher(m.group(1), m.group(2)))
        parts.append(f"namespace host_{key} {{\n{src}\n{''.join(launchers)}\n}}")
    return ctypes.CDLL(compiled_host_library("\n".join(parts), "host", cxx)), signatures


def compiled_host_library(code: str, prefix: str, cxx: str) -> str:
    """The shared library of ``code`` (CUDA C with the host prelude and launchers), compiled by
    ``cxx`` once per distinct source and kept in the temp folder; its path."""
    out_dir = os.path.join(tempfile.gettempdir(), "tensorlang_cuda_host")
    os.makedirs(out_dir, exist_ok=True)
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    lib_path = os.path.join(out_dir, f"{prefix}_{digest}.so")
    if not os.path.exists(lib_path):
        cpp = os.path.join(out_dir, f"{prefix}_{digest}.cpp")
        with open(cpp, "w") as f:
            f.write(code)
        tmp = f"{lib_path}.{os.getpid()}.tmp"
        proc = subprocess.run([cxx, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-o", tmp, cpp],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{cxx} failed on {cpp}:\n{proc.stderr[-4000:]}"
        os.replace(tmp, lib_path)
    return lib_path


def run_on_host(host_lib, func: PrimFunc, *args):
    """Call ``func`` like a CUDAModule does (argument checks, device buffers, launches in plan
    order), with each kernel run by the host library; numpy outputs are written in place."""
    lib, signatures = host_lib
    m = build_cuda(func, SM90)
    bound = m._binder.bind(args)
    from tensorlang.target.cuda.runtime import _evaluate
    buffers = [np.zeros(_evaluate(b.extent, bound.env, b.name), b.dtype) for b in m.plan.buffers]
    for k in m.plan.kernels:
        grid = [_evaluate(d, bound.env, "grid") for d in k.grid]
        if min(grid) <= 0:
            continue
        cargs = []
        for (kind, i), decl in zip(k.args, signatures[k.name]):
            if kind == "buffer":
                cargs.append(ctypes.c_void_p(buffers[i].ctypes.data))
            elif i in bound.host:
                cargs.append(ctypes.c_void_p(bound.host[i].ctypes.data))
            else:
                ctype = _CTYPES[decl.rsplit(" ", 1)[0]]
                cargs.append(ctype(bound.values[i]))
        fn = getattr(lib, f"tl_launch_{k.name}")
        fn(*(ctypes.c_uint(v) for v in (*grid, *k.block)), *cargs)


def test_host_vadd_with_tail(host_lib):
    n = 1000
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    out = np.full(n + 24, 7.0, np.float32)
    run_on_host(host_lib, vadd(), a, b, out[:n], n)
    np.testing.assert_array_equal(out[:n], a + b)


def test_host_matmul_shared_tiles_and_barriers(host_lib):
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    run_on_host(host_lib, matmul(), a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_host_two_kernels_through_a_device_buffer(host_lib):
    a = rng.standard_normal(300).astype(np.float32)
    out = np.zeros(300, np.float32)
    run_on_host(host_lib, two_kernels(), a, out, 300)
    np.testing.assert_array_equal(out, a * 2 + 1)


def test_host_int8_wraps_and_floors(host_lib):
    n = 256
    a = rng.integers(-128, 128, n).astype(np.int8)
    b = rng.integers(-128, 128, n).astype(np.int8)
    out = np.zeros(n, np.int8)
    run_on_host(host_lib, int8_kernel(), a, b, out, n)
    with np.errstate(over="ignore"):
        want = (a * b + np.int8(100)) + a // np.int8(3) + b % np.int8(5)
    np.testing.assert_array_equal(out, want)


def test_host_bool_buffers(host_lib):
    n = 100
    a = rng.standard_normal(n).astype(np.float32)
    m = rng.random(n) < 0.5
    out, sel = np.zeros(n, bool), np.zeros(n, np.float32)
    run_on_host(host_lib, bool_kernel(), a, m, out, sel, n)
    np.testing.assert_array_equal(out, a > 0)
    np.testing.assert_array_equal(sel, np.where(m & ~(a > 0), a, -a))


def test_host_double2(host_lib):
    a, b = rng.standard_normal(512), rng.standard_normal(256)
    out = np.zeros(512)
    run_on_host(host_lib, f64_vector(), a, b, out)
    np.testing.assert_array_equal(out, a * 2 + np.repeat(b, 2))


def test_host_select_skips_out_of_bounds_loads(host_lib):
    n = 200
    a = rng.standard_normal(n).astype(np.float32)
    out = np.zeros(n, np.float32)
    run_on_host(host_lib, select_oob(), a, out, n)
    want = np.zeros(n, np.float32)
    want[1:] += a[:-1]
    want[:-1] += a[1:]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_host_intrinsics(host_lib, dt):
    n = 128
    a = rng.uniform(0.5, 1.5, n).astype(dt)
    out = np.zeros(n, dt)
    run_on_host(host_lib, intrinsics(as_dtype(dt)), a, out, n)
    import math
    fns = {"exp": np.exp, "exp2": np.exp2, "exp10": lambda x: 10.0 ** x, "log": np.log, "log2": np.log2,
           "log10": np.log10, "sqrt": np.sqrt, "tanh": np.tanh, "erf": np.vectorize(math.erf), "floor": np.floor,
           "ceil": np.ceil, "round": np.rint, "trunc": np.trunc, "sin": np.sin, "cos": np.cos, "tan": np.tan,
           "fabs": np.abs, "pow": lambda x: x ** 2, "sinh": np.sinh, "cosh": np.cosh,
           "asin": lambda x: np.arcsin(x / 2), "acos": lambda x: np.arccos(x / 2), "atan": np.arctan,
           "asinh": np.arcsinh, "acosh": lambda x: np.arccosh(x + 1), "atanh": lambda x: np.arctanh(x / 2),
           "log1p": np.log1p, "expm1": np.expm1, "atan2": lambda x: np.arctan2(x, 2), "hypot": lambda x: np.hypot(x, 2),
           "copysign": lambda x: -x, "nextafter": lambda x: x, "ldexp": lambda x: x * 8}
    want = sum(fns[name](a.astype(np.float64)) for name in sorted(MATH_FUNCTIONS))
    np.testing.assert_allclose(out, want, rtol=1e-5 if dt == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_host_fmax_fmin_ignore_nan(host_lib, dtype):
    n = 200
    a, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    a[rng.random(n) < 0.3] = np.nan
    b[rng.random(n) < 0.3] = np.nan
    a[:3], b[:3] = [np.nan, np.inf, -np.inf], [np.nan, np.nan, 1.0]
    out = np.zeros(n, dtype)
    run_on_host(host_lib, fmax_kernel(dtype), a, b, out, n)
    np.testing.assert_array_equal(out, np.fmax(a, b) * 2 + np.fmin(a, b))


def test_host_floordiv(host_lib):
    n = 300
    a = rng.integers(-1000, 1000, n).astype(np.int32)
    out = np.zeros(n, np.int32)
    run_on_host(host_lib, floordiv_kernel(), a, out, n)
    x = a - 50
    np.testing.assert_array_equal(out, x // 7 * 1000 + x % 7 + np.arange(n) // 3)


def test_host_constants(host_lib):
    a = np.array([1.5, -2.0, np.nan, np.inf, -0.0, 0.0], np.float32)
    out = np.zeros(6, np.float32)
    run_on_host(host_lib, constants_kernel(), a, out, 6)
    big = np.float32((-2**31 + 2**40) * 1e-12)
    with np.errstate(invalid="ignore"):
        first = np.where(a > 0, np.where(a < np.inf, a, np.inf), np.where(a > -0.0, a, np.float32(-0.0)))
    want = first + np.where(np.isnan(a), np.nan, np.float32(0.1)) + big
    np.testing.assert_allclose(out, want.astype(np.float32), rtol=1e-6)


def test_host_guarded_thread_loop(host_lib):
    a = rng.standard_normal(64).astype(np.float32)
    out = np.zeros(64, np.float32)
    run_on_host(host_lib, guarded_threads(), a, out)
    want = a * 3
    want[:32] += 1
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_host_masked_and_unaligned_vectors(host_lib):
    n = 301
    a = rng.standard_normal(n).astype(np.float32)
    out = np.full(n, 5.0, np.float32)
    run_on_host(host_lib, predicated_vector(), a, out, n)
    np.testing.assert_array_equal(out, a + 1)
    a = rng.standard_normal(132).astype(np.float32)
    out = np.zeros(132, np.float32)
    run_on_host(host_lib, unaligned_vector(), a, out)
    np.testing.assert_array_equal(out[1:129], a[1:129] * 2)


def test_host_lets_and_vector_read_before_write(host_lib):
    a = rng.standard_normal(260).astype(np.float32)
    out = np.zeros(260, np.float32)
    orig = a.copy()
    run_on_host(host_lib, let_kernel(), a, out)
    for t in range(32):
        b = 8 * t
        # x + t * t can cancel, and g++ contracts it to an FMA where FMA is baseline (aarch64)
        np.testing.assert_allclose(out[b:b + 4], orig[b:b + 4] + orig[b + 4] ** 2, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(a[b + 1:b + 5], orig[b + 2:b + 6])


# --- the runtime on a stand-in driver (host memory, kernels run by the host library) -------------------

class _HostDevice(CUDADevice):
    """A CUDADevice whose memory is host memory and whose launches run the host library."""

    runtime = "host"
    name = "host stand-in"
    compute_capability = (9, 0)
    driver_version = 13000

    def __init__(self, lib):
        self.lib = lib
        self.copies: list[tuple[str, int]] = []
        self.launches: list[tuple[str, tuple, tuple]] = []
        self.memory: dict[int, np.ndarray] = {}

    @property
    def live(self) -> int:
        return len(self.memory)

    def alloc(self, nbytes):
        buf = np.zeros(max(nbytes, 1), np.uint8)
        self.memory[buf.ctypes.data] = buf
        return buf.ctypes.data

    def free(self, ptr):
        del self.memory[ptr]

    def htod(self, ptr, host, nbytes):
        self.copies.append(("htod", nbytes))
        ctypes.memmove(ptr, host.ctypes.data, nbytes)

    def dtoh(self, host, ptr, nbytes):
        self.copies.append(("dtoh", nbytes))
        ctypes.memmove(host.ctypes.data, ptr, nbytes)

    def load(self, image):
        assert image[:4] == b"\x7fELF"  # the cubin, not the PTX
        return "module"

    def function(self, module, name):
        return name

    def launch(self, fn, grid, block, args):
        self.launches.append((fn, tuple(grid), tuple(block)))
        getattr(self.lib, f"tl_launch_{fn}")(*(ctypes.c_uint(v) for v in (*grid, *block)),
                                             *(t(v) for t, v in args))

    def event(self):
        return [0]

    def record(self, event):
        event[0] = len(self.launches)

    def elapsed(self, start, end):
        return 5e-4 * (end[0] - start[0])


class _FakeGPUArray:
    """A pycuda-GPUArray-like view of host memory."""

    def __init__(self, arr: np.ndarray, offset_bytes: int = 0):
        self.arr, self.shape, self.dtype, self.nbytes = arr, arr.shape, arr.dtype, arr.nbytes
        self.gpudata = arr.ctypes.data + offset_bytes
        self.flags = arr.flags


class _FakeCupyArray:
    """A cupy-like array: only ``__cuda_array_interface__``."""

    def __init__(self, arr: np.ndarray):
        self.arr = arr
        self.__cuda_array_interface__ = {"shape": arr.shape, "typestr": arr.dtype.str, "strides": None,
                                         "data": (arr.ctypes.data, False), "version": 3}


@pytest.fixture
def fake_driver(host_lib, monkeypatch):
    from tensorlang.target.cuda import driver
    dev = _HostDevice(host_lib[0])
    monkeypatch.setattr(driver, "_devices", {0: dev})
    monkeypatch.setattr(driver, "_init_pid", os.getpid())
    return dev


def test_runtime_copies_in_launches_and_copies_back_outputs(fake_driver):
    m = build_cuda(vadd(), SM90)
    n = 1000
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    a.flags.writeable = False  # inputs may be read-only: they are never copied back
    out = np.zeros(n, np.float32)
    m(a, b, out, n)
    np.testing.assert_array_equal(out, a + b)
    assert fake_driver.copies == [("htod", 4 * n)] * 3 + [("dtoh", 4 * n)]
    assert fake_driver.launches == [("vadd_kernel0", (16, 1, 1), (64, 1, 1))]
    assert fake_driver.live == 0  # every device allocation freed
    m(np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32), 0)
    assert len(fake_driver.launches) == 1  # an empty grid launches nothing


def test_runtime_two_kernels_and_device_buffer(fake_driver):
    m = build_cuda(two_kernels(), SM90)
    a, out = rng.standard_normal(300).astype(np.float32), np.zeros(300, np.float32)
    m(a, out, 300)
    np.testing.assert_array_equal(out, a * 2 + 1)
    assert [x[0] for x in fake_driver.launches] == ["two_kernel0", "two_kernel1"]
    assert [x[1] for x in fake_driver.launches] == [(5, 1, 1), (3, 1, 1)]


def test_runtime_gpu_arrays_are_not_copied(fake_driver):
    m = build_cuda(matmul(), SM90)
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    c = np.zeros((64, 64), np.float32)
    m(_FakeGPUArray(a), _FakeGPUArray(b), _FakeGPUArray(c))
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
    assert fake_driver.copies == []
    raw = np.zeros(64 * 64 + 4, np.float32)
    shifted = _FakeGPUArray(raw[:4096].reshape(64, 64), offset_bytes=4)
    with pytest.raises(ArgumentError, match="argument A: the device pointer is not 16-byte aligned"):
        m(shifted, _FakeGPUArray(b), _FakeGPUArray(c))
    with pytest.raises(ArgumentError, match="expected float32, got float64"):
        m(_FakeGPUArray(a.astype(np.float64)), _FakeGPUArray(b), _FakeGPUArray(c))
    c2 = np.zeros((64, 64), np.float32)  # __cuda_array_interface__ (cupy, torch): no copies either
    m(_FakeCupyArray(a), _FakeCupyArray(b), _FakeCupyArray(c2))
    np.testing.assert_allclose(c2, a @ b, rtol=1e-4, atol=1e-4)
    assert fake_driver.copies == []


def test_runtime_time_evaluator(fake_driver):
    m = build_cuda(vadd(), SM90)
    a, b, out = (np.ones(256, np.float32) for _ in range(3))
    res = m.time_evaluator(number=3, repeat=2)(a, b, out, 256)
    assert isinstance(res, ProfileResult) and len(res.results) == 2 and res.mean > 0
    assert len(fake_driver.launches) == 1 + 3 + 3  # warm-up, then number runs per repeat
    np.testing.assert_array_equal(out, 2.0)
    with pytest.raises(KeyError):
        m.time_evaluator("other")


def sanitized_library(cuda: str, kernels: list[tuple[str, str]], tmp_path, check: str) -> str:
    """Compile generated CUDA C for the CPU (with a host launcher per ``(name, params)`` kernel)
    under g++'s ``-fsanitize=CHECK``; the path of the shared library. Skips where g++ or its
    sanitizer runtime is missing."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("no g++ to run the CUDA C on the CPU")
    cpp = tmp_path / "k.cpp"
    cpp.write_text(_HOST_PRELUDE + cuda + "".join(_launcher(n, p) for n, p in kernels))
    lib = tmp_path / "k.so"
    flags = ["-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", f"-fsanitize={check}"]
    proc = subprocess.run([cxx, *flags, "-o", str(lib), str(cpp)], capture_output=True, text=True)
    if proc.returncode != 0 and "ubsan" in proc.stderr:
        pytest.skip("g++ has no undefined-behaviour sanitizer runtime here")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(lib)
