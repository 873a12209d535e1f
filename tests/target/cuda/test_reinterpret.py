"""reinterpret (topi.reinterpret, numpy's view) on the CUDA path: CUDA C bit casts, checked in
the emulator against numpy and compiled by NVRTC."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import DTypeError
from tensorlang.target.cuda import nvrtc

EMU = "cuda -emulate -arch=sm_90"
rng = np.random.default_rng()


@pytest.mark.parametrize("src, dst", [("float32", "int32"), ("int32", "float32"), ("float64", "uint64"),
                                      ("float16", "int16"), ("uint16", "float16"), ("int8", "uint8")])
def test_reinterpret_matches_numpy_view(src, dst):
    A = te.placeholder((64,), src, name="A")
    B = topi.reinterpret(A, dst)
    with tl.target.Target(EMU):
        s = topi.cuda.schedule_injective(B)
    f = tl.build(s, [A, B], target=EMU)
    if nvrtc.nvrtc_available():  # the emulated build also NVRTC-compiled the CUDA C
        assert ".entry" in f.get_source("ptx")
    assert "tl_bitcast" in f.get_source("cuda")
    if np.dtype(src).kind == "f":
        a = (rng.standard_normal(64) * 100).astype(src)
    else:
        info = np.iinfo(src)
        a = rng.integers(info.min, info.max, 64, endpoint=True, dtype=src)
        if dst == "float16":
            a[:8] = [0x7C00, 0xFC00, 0x7E00, 0x0001, 0x8000, 0x3C00, 0x7BFF, 0x0400]  # inf, nan, denormals
    dev = tl.cuda(0)
    b = tl.nd.empty((64,), dst, dev)
    f(tl.nd.array(a, dev), b)
    np.testing.assert_array_equal(b.numpy().view(np.uint8), a.view(dst).view(np.uint8))


def test_reinterpret_of_another_size_is_a_clear_error():
    A = te.placeholder((8,), "float32", name="A")
    with pytest.raises(DTypeError, match="the widths differ"):
        topi.reinterpret(A, "int64")
