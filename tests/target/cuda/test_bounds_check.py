"""``cuda -bounds-check``: every buffer access of the kernels is checked at run time and an
out-of-bounds one is a BoundsError naming the tensor, the index and the size, as with
``llvm -bounds-check``. Under -emulate the LLVM backend checks; in the CUDA C a failing access
records itself in a status buffer the runtime reads after the call (and touches element 0
instead). The CUDA C is checked NVRTC-compiled and run on the CPU through the CUDA runtime on
a stand-in device; in-bounds calls give numpy's results."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import BoundsError
from tensorlang.target.cuda import nvrtc
from tensorlang.target.cuda.runtime import LaunchPlan
from tensorlang.target.cuda.target import CUDATarget

from .test_on_cpu import _HOST_PRELUDE, _HostDevice, _launcher

N = 96
rng = np.random.default_rng(23)


def _gather(n=N):
    """B[i] = A[Idx[i]] * 2 on 32-thread blocks: a data-dependent read, checked only at run time."""
    A = te.placeholder((n,), name="A")
    Idx = te.placeholder((n,), name="Idx", dtype="int32")
    B = te.compute((n,), lambda i: A[Idx[i]] * 2, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=32)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, Idx, B]


def _shared_vector():
    """C[i] = A[Idx[i]] + B[i], with B staged through shared memory by 4-lane vector copies."""
    A = te.placeholder((N,), name="A")
    Bt = te.placeholder((N,), name="Bt")
    Idx = te.placeholder((N,), name="Idx", dtype="int32")
    C = te.compute((N,), lambda i: A[Idx[i]] + Bt[i], name="C")
    s = te.create_schedule(C.op)
    BS = s.cache_read(Bt, "shared", [C])
    bx, tx = s[C].split(C.op.axis[0], factor=32)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    s[BS].compute_at(s[C], bx)
    fo, fi = s[BS].split(s[BS].op.axis[0], factor=4)
    s[BS].vectorize(fi)
    s[BS].bind(fo, te.thread_axis("threadIdx.x"))
    return s, [A, Bt, Idx, C]


def _data(bad: int | None = None, at: int = 37):
    a = rng.standard_normal(N).astype("float32")
    idx = rng.integers(0, N, N).astype("int32")
    if bad is not None:
        idx[at] = bad
    return a, idx


@pytest.mark.parametrize("bad", [N, N + 1000, -1])
def test_emulation_raises_bounds_error_naming_tensor_and_index(bad: int) -> None:
    s, args = _gather()
    f = tl.build(s, args, target="cuda -emulate -bounds-check")
    a, idx = _data()
    b = np.zeros(N, "float32")
    f(a, idx, b)
    np.testing.assert_array_equal(b, a[idx] * 2)
    a, idx = _data(bad)
    with pytest.raises(BoundsError, match=rf"out-of-bounds read of A\[{bad}\]: A has {N} elements"):
        f(a, idx, b)
    f(*_data()[:2], b)  # the next good call runs normally


def test_emulation_checks_shared_and_vector_accesses() -> None:
    s, args = _shared_vector()
    f = tl.build(s, args, target="cuda -emulate -bounds-check")
    a, idx = _data()
    bt = rng.standard_normal(N).astype("float32")
    c = np.zeros(N, "float32")
    f(a, bt, idx, c)
    np.testing.assert_array_equal(c, a[idx] + bt)
    with pytest.raises(BoundsError, match=r"read of A\[100\]"):
        f(*_data(100)[:1], bt, _data(100)[1], c)


def test_the_option_round_trips_and_unchecked_builds_are_unchanged() -> None:
    parsed = CUDATarget.from_string("cuda -arch=sm_80 -bounds-check")
    assert parsed.bounds_check and CUDATarget.from_string(str(parsed)) == parsed
    s, args = _gather()
    plain = tl.build(s, args, target="cuda -emulate").get_source("cuda")
    # without the option only the read lowering cannot prove, A[Idx[i]], is checked
    assert plain.count("[tl_checked(") == 1 and "A[tl_checked(Idx[" in plain
    checked = tl.build(s, args, target="cuda -emulate -bounds-check").get_source("cuda")
    # every global access of the kernel goes through the check: A, Idx and B
    assert checked.count("[tl_checked(") >= 3 and "unsigned long long* __restrict__ tl_oob_status" in checked
    plan = LaunchPlan.from_dict({"kernels": [], "buffers": [], "checked": ["A", "B"]})
    assert plan.checked == ("A", "B") and LaunchPlan.from_dict(plan.to_dict()) == plan
    assert LaunchPlan.from_dict({"kernels": [], "buffers": []}).checked == ()  # modules exported before


needs_gpu_toolchain = pytest.mark.skipif(not nvrtc.nvrtc_available() or shutil.which("g++") is None,
                                         reason="needs NVRTC (to build) and g++ (to run the CUDA C on the CPU)")


def _host_device(module, tmp_path, monkeypatch) -> _HostDevice:
    """A stand-in device whose kernels are ``module``'s CUDA C compiled for the CPU."""
    src = module.get_source("cuda")
    kernels = re.findall(r'extern "C" __global__ void __launch_bounds__\(\d+\) (\w+)\((.*?)\) \{', src)
    cpp = tmp_path / "k.cpp"
    cpp.write_text(_HOST_PRELUDE + src + "".join(_launcher(n, p) for n, p in kernels))
    lib = tmp_path / "k.so"
    proc = subprocess.run(["g++", "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-o", str(lib), str(cpp)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from tensorlang.target.cuda import driver
    dev = _HostDevice(ctypes.CDLL(str(lib)))
    monkeypatch.setattr(driver, "_devices", {0: dev})
    monkeypatch.setattr(driver, "_init_pid", os.getpid())
    return dev


@needs_gpu_toolchain
@pytest.mark.parametrize("kind", ["gather", "shared_vector"])
def test_the_cuda_c_reports_through_the_runtime(kind: str, tmp_path, monkeypatch) -> None:
    s, args = _gather() if kind == "gather" else _shared_vector()
    m = tl.build(s, args, target="cuda -arch=sm_90 -bounds-check")
    assert ".entry" in m.get_source("ptx")
    dev = _host_device(m, tmp_path, monkeypatch)
    bt = rng.standard_normal(N).astype("float32")
    a, idx = _data()
    out = np.zeros(N, "float32")
    call = (lambda a, idx: m(a, idx, out)) if kind == "gather" else (lambda a, idx: m(a, bt, idx, out))
    call(a, idx)
    np.testing.assert_array_equal(out, a[idx] * 2 if kind == "gather" else a[idx] + bt)
    for bad in (N + 5, -3):
        a, idx = _data(bad, at=70)
        before = out.copy()
        with pytest.raises(BoundsError, match=rf"default_function: out-of-bounds read of A\[{bad}\]: A has {N} "
                                              r"elements \(valid indices 0\.\.95\)"):
            call(a, idx)
        np.testing.assert_array_equal(out, before)  # a failed call copies nothing back
    assert dev.live == 0  # the status buffer is freed with the others
    a, idx = _data()
    call(a, idx)  # the status starts clean at every call
    np.testing.assert_array_equal(out, a[idx] * 2 if kind == "gather" else a[idx] + bt)


@needs_gpu_toolchain
def test_a_write_out_of_bounds_is_named_as_a_write(tmp_path, monkeypatch) -> None:
    """A scatter B[Idx[i]] = A[i] (loop IR written by hand: te cannot express a scatter)."""
    from tensorlang.ir import stmt as S
    from tensorlang.ir.function import Buffer, PrimFunc
    from tensorlang.target.cuda.build import build_cuda
    from tensorlang.te import expr as E
    from tensorlang.te.dtype import as_dtype
    i32, f32 = as_dtype("int32"), as_dtype("float32")
    A, Idx, B = Buffer("A", f32, [E.IntImm(i32, 64)]), Buffer("Idx", i32, [E.IntImm(i32, 64)]), \
        Buffer("B", f32, [E.IntImm(i32, 64)])
    tx = E.Var("tx", i32)
    body = S.For(tx, E.IntImm(i32, 0), E.IntImm(i32, 64), S.ForKind.THREAD_BINDING,
                 S.Store(B.data, E.Load(f32, A.data, tx), E.Load(i32, Idx.data, tx)), "threadIdx.x")
    m = build_cuda(PrimFunc("scatter", [A, Idx, B], body), "cuda -arch=sm_90 -bounds-check")
    _host_device(m, tmp_path, monkeypatch)
    a = rng.standard_normal(64).astype("float32")
    perm = rng.permutation(64).astype("int32")
    b = np.zeros(64, "float32")
    m(a, perm, b)
    np.testing.assert_array_equal(b[perm], a)
    perm[5] = 64
    with pytest.raises(BoundsError, match=r"scatter: out-of-bounds write to B\[64\]: B has 64 elements"):
        m(a, perm, b)


@pytest.mark.parametrize("target", ["cuda -emulate -bounds-check", "cuda -arch=sm_90 -bounds-check"])
def test_build_errors_show_the_users_ir_not_the_checks(target: str) -> None:
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1, name="B")
    with pytest.raises(tl.errors.BuildError, match=r"did you forget to bind") as info:
        tl.build(te.create_schedule(B.op), [A, B], target=target)
    assert "bounds_check" not in str(info.value) and "B[i] = A[i]" in str(info.value)
