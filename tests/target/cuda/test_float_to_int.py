"""Float -> integer conversions in the generated CUDA C give numpy's (x86 C cast) results, as
the LLVM backend's do, not CUDA's saturating casts: NaN, infinities and out-of-range values
included. Checked under emulation, NVRTC-compiled, and the CUDA C itself run on the CPU."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.target.cuda import nvrtc

from ..llvm.test_float_to_int import INTS, VALUES, _numpy_scalar_cast
from .helpers import run_under_sanitizer
from .test_on_cpu import sanitized_library

EMU = "cuda -emulate -arch=sm_90"
N = 32


def _casts(src: str):
    A = te.placeholder((N,), src, name="A")
    outs = [te.compute((N,), lambda i, d=d: A[i].astype(d), name=f"to_{d}") for d in INTS]
    s = te.create_schedule([o.op for o in outs])
    for o in outs:
        s[o].bind(o.op.axis[0], te.thread_axis("threadIdx.x"))
    return s, [A, *outs]


def _values(src: str) -> np.ndarray:
    rng = np.random.default_rng(17)
    extra = rng.standard_normal(N - len(VALUES)) * 10.0 ** rng.integers(0, 21, N - len(VALUES))
    with np.errstate(over="ignore"):
        return np.concatenate([VALUES, extra]).astype(src)


@pytest.mark.parametrize("src", ["float16", "float32", "float64"])
def test_emulation_converts_as_numpy(src: str) -> None:
    s, args = _casts(src)
    f = tl.build(s, args, target=EMU)
    a = _values(src)
    got = [np.zeros(N, d) for d in INTS]
    f(a, *got)
    for d, g in zip(INTS, got):
        np.testing.assert_array_equal(g, _numpy_scalar_cast(a, d), err_msg=f"{src} -> {d}")
    cuda = f.get_source("cuda")
    assert "tl_f2i32(" in cuda and "tl_f2i64(" in cuda and "tl_f2u64(" in cuda
    assert not re.search(r"\((int|long long|unsigned char)\)A\[", cuda)  # no bare C casts left
    if nvrtc.nvrtc_available():
        assert ".entry" in f.get_source("ptx")


@pytest.mark.parametrize("src", ["float32", "float64"])
def test_the_cuda_c_converts_as_numpy_on_the_cpu_without_undefined_casts(src: str, tmp_path) -> None:
    """g++ on x86 happens to give numpy's values even for a bare out-of-range cast (undefined
    in C; a GPU saturates instead), so the CUDA C is run under the float-cast-overflow
    sanitizer: every conversion it makes must be in range, and the values numpy's."""
    s, args = _casts(src)
    cuda = tl.build(s, args, target=EMU).get_source("cuda")
    kernels = re.findall(r'extern "C" __global__ void __launch_bounds__\(\d+\) (\w+)\((.*?)\) \{', cuda)
    assert len(kernels) == len(INTS)
    lib = sanitized_library(cuda, kernels, tmp_path, "float-cast-overflow")
    np.save(tmp_path / "a.npy", _values(src))
    calls = []
    for (name, params), d in zip(kernels, INTS):
        names = [p.split()[-1].lstrip("*") for p in params.split(", ")]
        assert names == ["A", f"to_{d}"] or names == [f"to_{d}", "A"], names
        calls.append(f"out = np.zeros({N}, {d!r}); bufs = {{'A': a, 'to_{d}': out}}\n"
                     f"lib.tl_launch_{name}(u(1), u(1), u(1), u({N}), u(1), u(1), "
                     f"*(ctypes.c_void_p(bufs[n].ctypes.data) for n in {names!r}))\n"
                     f"np.save({str(tmp_path / d)!r} + '.npy', out)")
    runner = (f"import ctypes, numpy as np\nlib = ctypes.CDLL({str(lib)!r})\nu = ctypes.c_uint\n"
              f"a = np.load({str(tmp_path / 'a.npy')!r})\n" + "\n".join(calls))
    run_under_sanitizer(runner)
    a = _values(src)
    for d in INTS:
        np.testing.assert_array_equal(np.load(tmp_path / f"{d}.npy"), _numpy_scalar_cast(a, d), err_msg=f"{src} -> {d}")
