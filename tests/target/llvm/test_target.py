"""LLVM target strings: options, features, host detection and cross targets."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang.errors import BuildError, TargetError
from tensorlang.target.llvm.codegen import codegen_llvm
from tensorlang.target.llvm.target import LLVMTarget
from tensorlang.te import expr as E

from .helpers import HOST, build, elementwise, rand

# --- targets ---------------------------------------------------------------------------------

def test_target_strings():
    assert HOST.cpu and HOST.triple and HOST.opt_level == 3 and not HOST.fast_math
    t = LLVMTarget.from_string("llvm -mcpu=skylake-avx512 -mattr=+avx2,-avx512f -fast-math -opt-level=2")
    assert t.cpu == "skylake-avx512" and t.features == "+avx2,-avx512f" and t.fast_math and t.opt_level == 2
    assert LLVMTarget.from_string(str(t)) == t
    with pytest.raises(TargetError, match="-mfoo=bar"):
        LLVMTarget.from_string("llvm -mfoo=bar")
    with pytest.raises(TargetError, match="not an LLVM target"):
        LLVMTarget.from_string("cuda")
    with pytest.raises(TargetError, match="avx2"):
        LLVMTarget.from_string("llvm -mattr=avx2")
    with pytest.raises(TargetError, match="nonsense-cpu-os"):
        LLVMTarget.from_string("llvm -mtriple=nonsense-cpu-os")


def test_fast_math_target_compiles_and_flags_ops():
    fast = LLVMTarget.from_string("llvm -fast-math")
    func = elementwise("fm", ["float32", "float32"], "float32", lambda x, y: E.Add(E.Mul(x, y), x))
    assert "fadd fast" in codegen_llvm(func, fast) and "fast" not in codegen_llvm(func, HOST)
    # Positive inputs: no cancellation, so contraction into FMA changes only the last bit.
    a, b, out = rand("float32", 100, 0.5, 2), rand("float32", 100, 0.5, 2), np.zeros(100, "float32")
    build(func, fast)(a, b, out)
    np.testing.assert_allclose(out, a * b + a, rtol=1e-5)


def test_cross_target_gives_assembly_but_does_not_run():
    try:
        t = LLVMTarget.from_string("llvm -mtriple=aarch64-linux-gnu")
        f = build(elementwise("xadd", ["float32", "float32"], "float32", E.Add), t)
    except TargetError as exc:
        pytest.skip(f"this LLVM has no AArch64 backend: {exc}")
    assert "fadd" in f.get_source("asm") or "ld1" in f.get_source("asm")
    a = rand("float32", 4)
    with pytest.raises(BuildError, match="cannot run"):
        f(a, a, np.zeros(4, "float32"))


def test_concurrent_builds_are_safe():
    from concurrent.futures import ThreadPoolExecutor

    ops = [E.Add, E.Sub, E.Mul, E.Max] * 2
    with ThreadPoolExecutor(4) as pool:
        mods = list(pool.map(lambda op: build(elementwise(f"c{op.__name__}", ["float32"] * 2, "float32", op)), ops))
    a, b = rand("float32", 64), rand("float32", 64)
    for op, f in zip(ops, mods):
        out = np.zeros(64, "float32")
        f(a, b, out)
        np.testing.assert_array_equal(out, {E.Add: a + b, E.Sub: a - b, E.Mul: a * b, E.Max: np.maximum(a, b)}[op])
