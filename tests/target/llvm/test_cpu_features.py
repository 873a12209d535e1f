"""Named CPUs: their vector features come from LLVM, and code this host cannot run is refused, not run."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import TargetError
from tensorlang.target.llvm import host
from tensorlang.target.llvm.cpu_features import implied_features
from tensorlang.target.llvm.target import LLVMTarget

X86 = host.host_triple().startswith(("x86_64", "i386", "i686"))
pytestmark = pytest.mark.skipif(not X86, reason="the probes ask about x86 vector units")


@pytest.mark.parametrize("cpu,on,off", [
    ("skylake-avx512", {"avx512f", "avx2", "fma", "avx"}, set()),
    ("znver4", {"avx512f", "avx2", "fma"}, set()),
    ("haswell", {"avx2", "fma", "avx"}, {"avx512f"}),
    ("sandybridge", {"avx"}, {"avx2", "fma", "avx512f"}),
    ("x86-64", set(), {"avx", "avx2", "fma", "avx512f"}),
])
def test_a_named_cpu_brings_its_vector_features(cpu, on, off):
    got = {f[1:] for f in implied_features(host.host_triple(), cpu).split(",") if f}
    assert on <= got and not (off & got)
    t = LLVMTarget.from_string(f"llvm -mcpu={cpu}")
    assert t.vector_bits == (512 if "avx512f" in on else 256 if "avx" in on else 128)
    # LLVM knows a named CPU's features: the target string (a tuning log's key) does not list them.
    assert "-mattr" not in str(t) and LLVMTarget.from_string(str(t)) == t


def test_mattr_still_overrides_a_named_cpu():
    t = LLVMTarget.from_string("llvm -mcpu=skylake-avx512 -mattr=-avx512f")
    assert not t.has_feature("avx512f") and t.vector_bits == 256


def _absent_feature() -> str | None:
    """A feature LLVM knows that this host's CPU lacks (None on a CPU that has them all)."""
    have = {f[1:] for f in host.host_cpu_features().split(",") if f.startswith("+")}
    return next((f for f in ("avx512f", "avx512fp16", "amx-tile", "avx512vp2intersect") if f not in have), None)


def test_code_for_features_this_cpu_lacks_is_refused_at_the_call(tmp_path):
    missing = _absent_feature()
    if missing is None:
        pytest.skip("this CPU has every feature the test could ask for")
    target = "llvm -mcpu=skylake-avx512" if missing == "avx512f" else f"llvm -mattr=+{missing}"
    n = 1024
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    _, inner = s[B].split(B.op.axis[0], factor=16)
    s[B].vectorize(inner)
    f = tl.build(s, [A, B], target=target)   # building, reading and exporting still work
    assert f.get_source("asm")
    f.export_library(os.fspath(tmp_path / "m.so"))
    a = np.random.default_rng().standard_normal(n).astype("float32")
    b = np.empty_like(a)
    with pytest.raises(TargetError, match=missing):   # before the fix: the process died of SIGILL
        f(a, b)
    g = tl.build(s, [A, B], target="llvm")            # the host's own target runs as ever
    g(a, b)
    np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)
