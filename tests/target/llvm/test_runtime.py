"""The CPU runtime Module: parameters, symbolic shapes and argument checking, and its services
(timing, sources, export_library/load_module)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tensorlang.errors import ArgumentError, BuildError, TargetError
from tensorlang.ir import stmt as S
from tensorlang.ir.function import Buffer, PrimFunc
from tensorlang.runtime import load_module
from tensorlang.target.timing import ProfileResult
from tensorlang.te import expr as E
from tensorlang.te.dtype import as_dtype

from .helpers import F32, PARALLEL, REPO, build, c32, elementwise, ld, loop, rand, rng, vec_loop

# --- parameters, shapes and argument checking -----------------------------------------------------

def _matrix_func() -> PrimFunc:
    """Out[i, j] = A[i, j] * k + B[i + 1, j] with A: (n, m), B: (n + 1, m), Out: (n, m)."""
    n, m = E.Var("n", "int32"), E.Var("m", "int32")
    A = Buffer("A", F32, [n, m])
    B = Buffer("B", F32, [E.Add(n, c32(1)), m])
    Out = Buffer("Out", F32, [n, m])
    k = E.Var("k", "int32")
    i, j = E.Var("i", "int32"), E.Var("j", "int32")
    at = E.Add(E.Mul(i, m), j)
    below = E.Add(E.Mul(E.Add(i, c32(1)), m), j)
    value = E.Add(E.Mul(ld(A, at), E.Cast(F32, k)), ld(B, below))
    body = loop(i, n, loop(j, m, S.Store(Out.data, value, at)))
    return PrimFunc("mat", [A, B, k, Out, n, m], body, user_arity=4)


def test_symbolic_shapes_bind_from_arrays():
    f = build(_matrix_func())
    for n, m in ((3, 5), (17, 1), (8, 64)):
        a, b, out = rand("float32", (n, m)), rand("float32", (n + 1, m)), np.zeros((n, m), "float32")
        k = int(rng.integers(-5, 5))
        f(a, b, k, out)
        np.testing.assert_allclose(out, a * np.float32(k) + b[1:], rtol=1e-6, atol=1e-6)


def test_argument_errors_name_the_argument():
    f = build(_matrix_func())
    a, b, out = rand("float32", (4, 6)), rand("float32", (5, 6)), np.zeros((4, 6), "float32")
    with pytest.raises(ArgumentError, match=r"mat expects 4 arguments \(A, B, k, Out\), got 3"):
        f(a, b, 2)
    with pytest.raises(ArgumentError, match="argument B: expected float32, got float64"):
        f(a, b.astype("float64"), 2, out)
    with pytest.raises(ArgumentError, match="argument A: expected a numpy array"):
        f(a.tolist(), b, 2, out)
    with pytest.raises(ArgumentError, match="argument Out: expected 2 dimensions"):
        f(a, b, 2, out.ravel())
    with pytest.raises(ArgumentError, match=r"argument Out: dimension 1 is 7, but m = 6 from argument A"):
        f(a, b, 2, np.zeros((4, 7), "float32"))
    with pytest.raises(ArgumentError, match=r"argument B: dimension 0 must be \(n \+ 1\) = 5, got 4"):
        f(a, b[:4], 2, out)
    with pytest.raises(ArgumentError, match=r"argument A is not C-contiguous; pass np.ascontiguousarray\(A\)"):
        f(np.asfortranarray(a), b, 2, out)
    with pytest.raises(ArgumentError, match="argument k: expected a int32 scalar"):
        f(a, b, 2.5, out)
    with pytest.raises(ArgumentError, match="does not fit in int32"):
        f(a, b, 2**40, out)
    readonly = out.copy()
    readonly.flags.writeable = False
    with pytest.raises(ArgumentError, match="argument Out is read-only"):
        f(a, b, 2, readonly)
    with pytest.raises(ArgumentError, match="arguments A and Out overlap in memory"):
        f(a, b, 2, a)
    assert (out == 0).all()  # nothing ran


def test_constant_dims_and_array_hook():
    f = build(vec_loop("fixed", 64, 16, lambda idx, A: ld(A, idx)))

    class Wrapped:
        def __init__(self, arr):
            self.arr = arr

        def __tensorlang_array__(self):
            return self.arr

    a, out = rand("float32", 64), np.zeros(64, "float32")
    f(Wrapped(a), Wrapped(out))
    np.testing.assert_array_equal(out, a)
    with pytest.raises(ArgumentError, match="argument A: dimension 0 must be 64, got 63"):
        f(a[:63], out)


def test_read_only_inputs_may_alias():
    f = build(elementwise("sq", ["float32", "float32"], "float32", E.Mul))
    a, out = rand("float32", 50), np.zeros(50, "float32")
    a.flags.writeable = False
    f(a, a, out)
    np.testing.assert_array_equal(out, a * a)


@pytest.mark.parametrize("dtype, value", [("float16", 1.5), ("float64", -2.25), ("int8", -7), ("uint64", 2**63 + 5),
                                          ("bool", True)])
def test_scalar_params_of_every_kind(dtype, value):
    n = E.Var("n", "int32")
    Out = Buffer("Out", as_dtype(dtype), [n])
    s = E.Var("s", dtype)
    i = E.Var("i", "int32")
    f = build(PrimFunc("fill", [s, Out, n], loop(i, n, S.Store(Out.data, s, i)), user_arity=2))
    out = np.zeros(7, dtype)
    f(value, out)
    np.testing.assert_array_equal(out, np.full(7, value, dtype))


# --- module services ----------------------------------------------------------------------------

def test_sources_names_and_indexing():
    f = build(elementwise("vadd", ["float32", "float32"], "float32", E.Add))
    assert f.entry_name == f.name == "vadd"
    assert f["vadd"] is f and f[f.entry_name] is f
    with pytest.raises(KeyError):
        f["other"]
    assert "i32 @vadd(" in f.get_source("ll") and 'define i32 @"vadd"(' in f.get_source("ll-unopt")
    assert f.get_source("tl").startswith("func vadd(") and f.get_source("loopir") == f.get_source("tl")
    with pytest.raises(TargetError, match="unknown source format 'ptx'"):
        f.get_source("ptx")


def test_time_evaluator_returns_per_repeat_seconds():
    f = build(elementwise("vadd", ["float32", "float32"], "float32", E.Add))
    a, b, out = rand("float32", 4096), rand("float32", 4096), np.zeros(4096, "float32")
    res = f.time_evaluator(f.entry_name, None, number=5, repeat=3)(a, b, out)
    assert isinstance(res, ProfileResult) and len(res.results) == 3
    assert all(t > 0 for t in res.results) and res.min <= res.median <= res.max and res.std >= 0
    assert res.min <= res.mean <= res.max
    np.testing.assert_array_equal(out, a + b)
    res = f.time_evaluator(2, 2, 5)(a, b, out)  # number, repeat, min_repeat_ms
    assert len(res.results) == 2
    with pytest.raises(ArgumentError):
        f.time_evaluator(number=3)(a, b)


def test_time_evaluator_takes_tvm_012s_cooldown_and_cache_flush_options():
    f = build(elementwise("vadd2", ["float32", "float32"], "float32", E.Add))
    a, b, out = rand("float32", 4096), rand("float32", 4096), np.zeros(4096, "float32")
    t0 = time.perf_counter()
    res = f.time_evaluator(f.entry_name, None, number=2, repeat=4, f_preproc="cache_flush_cpu_non_first_arg",
                           cooldown_interval_ms=30, repeats_to_cooldown=2, limit_zero_time_iterations=10)(a, b, out)
    assert len(res.results) == 4 and all(t > 0 for t in res.results)
    assert time.perf_counter() - t0 >= 0.03  # one cooldown, after the first two repeats
    np.testing.assert_array_equal(out, a + b)
    with pytest.raises(ArgumentError, match="f_preproc must be"):
        f.time_evaluator(f_preproc="flush_everything")
    with pytest.raises(ArgumentError, match="cooldown_interval_ms must be a non-negative number"):
        f.time_evaluator(cooldown_interval_ms=float("inf"))


def test_export_library_and_load_module_round_trip(tmp_path):
    f = build(elementwise("pmul", ["float32", "float32"], "float32", E.Mul, kind=PARALLEL))
    path = tmp_path / "pmul.so"
    f.export_library(str(path))
    g = load_module(path)
    assert g.name == "pmul" and g["pmul"] is g
    a, b, out = rand("float32", 333), rand("float32", 333), np.zeros(333, "float32")
    g.set_num_threads(2)
    g(a, b, out)
    np.testing.assert_array_equal(out, a * b)
    assert g.get_source("tl") == f.get_source("tl")
    with pytest.raises(TargetError, match="only 'tl'"):
        g.get_source("ll")
    with pytest.raises(ArgumentError, match="argument B: expected float32, got int32"):
        g(a, b.astype("int32"), out)
    assert g.time_evaluator(number=2, repeat=2)(a, b, out).results
    g.export_library(tmp_path / "copy.so")
    assert load_module(tmp_path / "copy.so").name == "pmul"


def test_loaded_module_runs_without_llvmlite(tmp_path):
    f = build(elementwise("vsub", ["float64", "float64"], "float64", E.Sub, kind=PARALLEL))
    path = tmp_path / "vsub.so"
    f.export_library(path)
    script = (
        "import sys, numpy as np\n"
        "from tensorlang.runtime import load_module\n"
        f"m = load_module({str(path)!r})\n"
        "a = np.random.default_rng().random(100); b = np.random.default_rng().random(100)\n"
        "c = np.zeros(100)\n"
        "m(a, b, c)\n"
        "assert np.array_equal(c, a - b)\n"
        "assert m.num_threads == 3, m.num_threads\n"
        "assert 'llvmlite' not in sys.modules, 'load_module imported llvmlite'\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO, TENSORLANG_NUM_THREADS="3")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr


def test_load_module_refuses_foreign_libraries(tmp_path):
    src = tmp_path / "x.c"
    src.write_text("int x(void) { return 1; }\n")
    lib = tmp_path / "x.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    with pytest.raises(BuildError, match="not written by tensorlang"):
        load_module(lib)


def test_export_without_compiler_names_cc(tmp_path, monkeypatch):
    f = build(elementwise("v", ["float32"], "float32", lambda x: x))
    monkeypatch.setenv("CC", "no-such-cc-compiler")
    with pytest.raises(BuildError, match="no-such-cc-compiler"):
        f.export_library(tmp_path / "v.so")


@pytest.mark.parametrize("name", ["TVM_NUM_THREADS", "OMP_NUM_THREADS"])
def test_thread_count_follows_the_variables_tvm_reads(monkeypatch, name):
    """A ported TVM script (or its benchmark harness) sets TVM_NUM_THREADS or OMP_NUM_THREADS;
    the module runs on that many threads, still right; TENSORLANG_NUM_THREADS wins over both."""
    for var in ("TENSORLANG_NUM_THREADS", "TVM_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(name, "3")
    f = build(elementwise("vmul", ["float64", "float64"], "float64", E.Mul, kind=PARALLEL))
    assert f.num_threads == 3
    a, b = rand("float64", (1000,)), rand("float64", (1000,))
    c = np.zeros(1000)
    f(a, b, c)
    np.testing.assert_array_equal(c, a * b)
    monkeypatch.setenv("TENSORLANG_NUM_THREADS", "2")
    assert build(elementwise("vmul", ["float64", "float64"], "float64", E.Mul, kind=PARALLEL)).num_threads == 2
    monkeypatch.setenv(name, "none")
    monkeypatch.delenv("TENSORLANG_NUM_THREADS")
    with pytest.raises(TargetError, match=f"{name} must be a positive integer"):
        build(elementwise("vmul", ["float64", "float64"], "float64", E.Mul, kind=PARALLEL))
