"""TVM 0.12's tests/python/unittest/test_target_codegen_x86.py (test_fp16_to_fp32), imports changed.

The assembly checks are TVM's.  Added: each build that this machine can run is run, and its
result compared with numpy on fresh random data (``-mattr=-avx512f`` turns AVX-512 off, so that
build runs on a CPU without AVX-512).  Left out: test_fp16_fp32_conversions (a Relay/AOT model).
Difference kept: TVM's bare "llvm" is a generic x86-64 CPU, tensorlang's is this machine, so the
"no vcvtph2ps" case names the generic CPU (``-mcpu=x86-64``)."""

import platform
import re

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing  # noqa: F401 - TVM's import
from tensorlang import te

machine = platform.machine()

if machine not in ["i386", "x86_64", "AMD64", "amd64"]:
    pytest.skip(f"Requires x86_64/i386, but machine is {machine}", allow_module_level=True)

llvm_version = tvm.target.codegen.llvm_version_major()


def _host_has(*features):
    from tensorlang.target.llvm import host
    on = {f[1:] for f in host.host_cpu_features().split(",") if f.startswith("+")}
    return all(f in on for f in features)


@tvm.testing.requires_llvm
@pytest.mark.skipif(llvm_version < 6, reason=f"Requires LLVM 6+, got {llvm_version}")
def test_fp16_to_fp32():
    rng = np.random.default_rng()

    def fp16_to_fp32(target, width, match=None, not_match=None, run_if=None):
        elements = 64
        n = tvm.runtime.convert(elements)
        A = te.placeholder((n, width), dtype="float16", name="A")
        B = te.compute(A.shape, lambda *i: A(*i).astype("float32"), name="B")
        s = te.create_schedule(B.op)
        s[B].vectorize(s[B].op.axis[1])
        f = tvm.build(s, [A, B], target)

        assembly = f.get_source("asm").splitlines()
        if match:
            matches = [line for line in assembly if re.search(match, line)]
            assert matches
        if not_match:
            not_matches = [line for line in assembly if re.search(not_match, line)]
            assert not not_matches
        if run_if is not None and _host_has(*run_if):
            x = (rng.standard_normal((elements, width)) * 100).astype("float16")
            a = tvm.nd.array(x)
            b = tvm.nd.array(rng.standard_normal((elements, width)).astype("float32"))
            f(a, b)
            np.testing.assert_array_equal(b.numpy(), x.astype("float32"))

    fp16_to_fp32("llvm -mcpu=skylake-avx512", 15, match="vcvtph2ps.*mm", run_if=("avx512f", "avx512bw", "avx512vl"))
    fp16_to_fp32("llvm -mcpu=skylake-avx512", 17, match="vcvtph2ps.*mm")
    fp16_to_fp32("llvm -mcpu=skylake-avx512", 49, match="vcvtph2ps.*mm")
    fp16_to_fp32("llvm -mcpu=skylake-avx512 -mattr=-avx512f", 49, match="vcvtph2ps.*mm",
                 run_if=("avx2", "f16c", "fma"))
    fp16_to_fp32("llvm -mcpu=skylake-avx512 -mattr=-f16c,-avx512f", 49, not_match="vcvtph2ps",
                 run_if=("avx2", "fma"))
    fp16_to_fp32("llvm -mcpu=core-avx2", 8, match="vcvtph2ps.*mm", run_if=("avx2", "f16c"))
    fp16_to_fp32("llvm -mcpu=core-avx2", 9, match="vcvtph2ps.*mm")
    fp16_to_fp32("llvm -mcpu=x86-64", 9, not_match="vcvtph2ps", run_if=())


def test_a_feature_turned_off_is_not_asked_of_this_cpu():
    # The refusal to run code this CPU cannot execute must follow -mattr: with AVX-512 turned off,
    # skylake-avx512 code is AVX2 code, which runs wherever AVX2/F16C/FMA do.
    if not _host_has("avx2", "f16c", "fma"):
        pytest.skip("this CPU lacks AVX2/F16C/FMA, which skylake-avx512 code without AVX-512 still uses")
    rng = np.random.default_rng()
    A = te.placeholder((37, 23), name="A")
    B = te.compute(A.shape, lambda i, j: A[i, j] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    s[B].vectorize(B.op.axis[1])
    f = tvm.build(s, [A, B], "llvm -mcpu=skylake-avx512 -mattr=-avx512f")
    assert "zmm" not in f.get_source("asm")
    x = rng.standard_normal((37, 23)).astype("float32")
    b = tvm.nd.empty((37, 23), "float32")
    f(tvm.nd.array(x), b)
    np.testing.assert_allclose(b.numpy(), x * 2 + 1, rtol=1e-6)
