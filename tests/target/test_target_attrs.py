"""TVM's Target attributes that schedules read: ``Target.current().max_num_threads`` and friends."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import TargetError
from tensorlang.target.llvm.target import LLVMTarget


def test_gpu_limits_and_cpu_options():
    t = tvm.target.Target("cuda -arch=sm_80 -max_num_threads=512")
    assert (t.max_num_threads, t.thread_warp_size, t.arch) == (512, 32, "sm_80")
    assert tvm.target.Target("cuda").max_num_threads == 1024
    cpu = tvm.target.Target("llvm -mcpu=znver4 -mattr=+avx2,+fma")
    assert (cpu.mcpu, cpu.mattr, cpu.thread_warp_size) == ("znver4", ["+avx2", "+fma"], 1)
    assert tvm.target.Target("llvm").mcpu == ""
    with pytest.raises(AttributeError, match="not a GPU target"):
        cpu.max_num_threads  # noqa: B018


def test_a_schedule_sized_from_the_current_target():
    """The topi-style GPU schedule: the thread count comes from the target in scope."""
    n = 300
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 3.0, name="B")
    s = te.create_schedule(B.op)
    with tvm.target.Target("cuda -emulate -max_num_threads=64"):
        num_thread = tvm.target.Target.current(allow_none=False).max_num_threads
        bx, tx = s[B].split(B.op.axis[0], factor=num_thread)
        s[B].bind(bx, te.thread_axis("blockIdx.x"))
        s[B].bind(tx, te.thread_axis("threadIdx.x"))
        f = tvm.build(s, [A, B])
    a = np.random.default_rng().standard_normal(n).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a * 3.0, rtol=1e-6)
    assert num_thread == 64


def test_tvm_target_constructor_functions():
    """``tvm.target.cuda(model=, arch=)`` and the older ``tvm.target.create``, as TVM code calls them."""
    t = tvm.target.cuda(model="t4", arch="sm_75")
    assert (str(t), t.model, t.arch) == ("cuda -model=t4 -arch=sm_75", "t4", "sm_75")
    assert tvm.target.cuda(options="-max_num_threads=256").max_num_threads == 256
    with tvm.target.cuda():
        assert tvm.target.Target.current().kind.name == "cuda"
    assert tvm.target.create("llvm") == tvm.target.Target("llvm")
    with pytest.raises(tvm.errors.TargetError, match="unknown option '-bogus=1'"):
        tvm.target.cuda(options="-bogus=1").arch  # noqa: B018


def test_mcpu_native_is_this_machines_cpu():
    """"llvm -mcpu=native" (clang's spelling, common in TVM user scripts) builds for the host CPU
    with its features, as plain "llvm" does; with another architecture's triple it is refused."""
    native, plain = LLVMTarget.from_string("llvm -mcpu=native"), LLVMTarget.from_string("llvm")
    assert (native.cpu, native.features) == (plain.cpu, plain.features)
    A = te.placeholder((37,), name="A")
    B = te.compute((37,), lambda i: A[i] * 3.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    _, inner = s[B].split(B.op.axis[0], factor=8)
    s[B].vectorize(inner)
    f = tvm.build(s, [A, B], target="llvm -mcpu=native")
    a = np.random.default_rng().standard_normal(37).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    # an FMA rounds a * 3 + 1 once, numpy twice: near a = -1/3 the two differ by more than rtol allows
    np.testing.assert_allclose(b, a * 3.0 + 1.0, rtol=1e-6, atol=1e-6)
    other = "aarch64-linux-gnu" if plain.triple.startswith("x86_64") else "x86_64-linux-gnu"
    with pytest.raises(TargetError, match="-mcpu=native names this machine's CPU"):
        LLVMTarget.from_string(f"llvm -mcpu=native -mtriple={other}")
