"""Integer value arithmetic in the generated CUDA C wraps around as numpy's does: signed
overflow is undefined in C, so value arithmetic of 32/64-bit signed integers is computed in
unsigned and cast back, while memory indices and loop bounds stay plain signed C.  Checked
under emulation, NVRTC-compiled, and the CUDA C itself run on the CPU under g++'s
undefined-behaviour sanitizer."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.target.cuda import nvrtc

from .helpers import run_under_sanitizer
from .test_on_cpu import sanitized_library

EMU = "cuda -emulate -arch=sm_90"
N = 256


def _overflowing(dtype: str):
    """C = A*B + (A - B)*3 + i*(2**20 + 7) (the last term only where it fits the dtype)."""
    A = te.placeholder((N,), name="A", dtype=dtype)
    B = te.placeholder((N,), name="B", dtype=dtype)
    big = te.const(2**20 + 7, dtype) if np.iinfo(dtype).bits >= 32 else te.const(7, dtype)
    C = te.compute((N,), lambda i: A[i] * B[i] + (A[i] - B[i]) * te.const(3, dtype) + i.astype(dtype) * big,
                   name="C")
    s = te.create_schedule(C.op)
    bx, tx = s[C].split(C.op.axis[0], factor=64)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B, C]


def _inputs(dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    info = np.iinfo(dtype)
    rng = np.random.default_rng()
    a = rng.integers(info.min, info.max, N, dtype=dtype, endpoint=True)
    b = rng.integers(info.min, info.max, N, dtype=dtype, endpoint=True)
    a[:4] = [info.max, info.min, info.max, -1]  # certain overflows
    b[:4] = [info.max, info.min, -1, info.min]
    big = 2**20 + 7 if info.bits >= 32 else 7
    with np.errstate(over="ignore"):
        want = a * b + (a - b) * np.array(3, dtype) + np.arange(N).astype(dtype) * np.array(big).astype(dtype)
    return a, b, want


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_value_arithmetic_wraps_like_numpy_in_emulation(dtype):
    s, args = _overflowing(dtype)
    f = tl.build(s, args, target=EMU)
    a, b, want = _inputs(dtype)
    c = np.zeros(N, dtype)
    f(a, b, c)
    np.testing.assert_array_equal(c, want)
    src = f.get_source("cuda")
    store = next(line for line in src.splitlines() if line.strip().startswith("C["))
    index = store.split("] =")[0]
    assert "unsigned" not in index  # indices stay plain signed arithmetic
    if dtype != "int8":
        u = "(unsigned)" if dtype == "int32" else "(unsigned long long)"
        assert f"{u}A[" in store and f"{u}B[" in store
    if nvrtc.nvrtc_available():
        assert ".entry" in f.get_source("ptx")


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_the_cuda_c_has_no_signed_overflow_under_ubsan(dtype, tmp_path):
    s, args = _overflowing(dtype)
    src = tl.build(s, args, target=EMU).get_source("cuda")
    m = re.search(r'extern "C" __global__ void __launch_bounds__\(\d+\) (\w+)\((.*?)\) \{', src)
    name, params = m.group(1), m.group(2)
    lib = sanitized_library(src, [(name, params)], tmp_path, "signed-integer-overflow")
    a, b, want = _inputs(dtype)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    # A separate process: the sanitizer's report goes to its stderr (and a sanitized library
    # is better kept out of the test process).
    runner = f"""
import ctypes, numpy as np
lib = ctypes.CDLL({str(lib)!r})
a, b = np.load({str(tmp_path / 'a.npy')!r}), np.load({str(tmp_path / 'b.npy')!r})
c = np.zeros_like(a)
u = ctypes.c_uint
lib.tl_launch_{name}(u({N // 64}), u(1), u(1), u(64), u(1), u(1), *(ctypes.c_void_p(x.ctypes.data) for x in (a, b, c)))
np.save({str(tmp_path / 'c.npy')!r}, c)
"""
    run_under_sanitizer(runner)
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), want)


def test_plain_signed_arithmetic_is_what_ubsan_catches(tmp_path):
    """The sanitizer check above can fail: the same kind of expression, in plain signed C, is reported."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("no g++")
    cpp = tmp_path / "plain.cpp"
    cpp.write_text('extern "C" int mul(int a, int b) { return a * b; }\n')
    lib = tmp_path / "plain.so"
    proc = subprocess.run([cxx, "-O0", "-shared", "-fPIC", "-fsanitize=signed-integer-overflow", "-o", str(lib),
                           str(cpp)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("no sanitizer runtime")
    runner = f"import ctypes; ctypes.CDLL({str(lib)!r}).mul(2147483647, 2)"
    proc = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=60)
    if "undefined symbol: __ubsan" in proc.stderr:
        pytest.skip("the sanitizer runtime cannot be loaded into python here")
    assert "signed integer overflow" in proc.stderr


