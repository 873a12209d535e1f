"""TVM's CUDA compile hooks (tvm_callback_cuda_postproc / tvm_callback_cuda_compile) registered
with tvm.register_func, as TVM 0.12 tests and tutorials register them."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.contrib import nvcc
from tensorlang.errors import BuildError
from tensorlang.ffi.registry import remove_global_func

from .helpers import needs_nvrtc

rng = np.random.default_rng()


def _vadd():
    n = 256
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=64)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B]


@pytest.fixture
def hooks():
    names = set()

    def register(name, fn):
        tvm.register_func(name, fn, override=True)
        names.add(name)
    yield register
    for name in names:
        remove_global_func(name)


def test_postproc_sees_and_edits_the_source(hooks):
    seen = []

    def tvm_callback_cuda_postproc(code, target):
        seen.append((code, str(target)))
        return "// edited by the user\n" + code
    hooks("tvm_callback_cuda_postproc", tvm_callback_cuda_postproc)
    s, args = _vadd()
    f = tvm.build(s, args, "cuda -emulate")
    assert len(seen) == 1 and "__global__" in seen[0][0] and seen[0][1].startswith("cuda")
    assert f.get_source("cuda").startswith("// edited by the user")
    a = rng.uniform(-1, 1, 256).astype("float32")
    b = np.zeros(256, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)


def test_postproc_with_the_code_alone_and_a_bad_return(hooks):
    hooks("tvm_callback_cuda_postproc", lambda code: code.replace("extern", "extern"))
    s, args = _vadd()
    tvm.build(s, args, "cuda -emulate")
    hooks("tvm_callback_cuda_postproc", lambda code: None)
    with pytest.raises(BuildError, match="tvm_callback_cuda_postproc must return the CUDA source as a str"):
        tvm.build(s, args, "cuda -emulate")


@needs_nvrtc
def test_compile_hook_replaces_nvrtc(hooks):
    calls = []

    def tvm_callback_cuda_compile(code):
        calls.append(code)
        return nvcc.compile_cuda(code, target_format="ptx", arch="sm_90")
    hooks("tvm_callback_cuda_compile", tvm_callback_cuda_compile)
    s, args = _vadd()
    f = tvm.build(s, args, "cuda -arch=sm_90")
    assert len(calls) == 1
    device = f.imported_modules[0] if f.imported_modules else f
    assert ".entry" in device.get_source("ptx")
    hooks("tvm_callback_cuda_compile", lambda code: 42)
    with pytest.raises(BuildError, match="must return PTX"):
        tvm.build(s, args, "cuda -arch=sm_90")
