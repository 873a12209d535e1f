"""TVM's target strings: the options of TVM's llvm and cuda kinds are accepted (those that change
nothing here warn), and a wrong option fails at Target(), as in TVM, not at the first build."""

import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import TargetError


def _add_one():
    A = te.placeholder((37,), name="A")
    B = te.compute((37,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    return s, A, B


@pytest.mark.parametrize("text", ["llvm -num-cores=4", "llvm -num-cores 4 -opt-level 2", "llvm --system-lib",
                                  "llvm -system-lib=1",
                                  "llvm -link-params=0 -runtime=c -executor=graph", "llvm -keys=cpu -libs=cblas",
                                  "llvm -unpacked-api=0 -interface-api=packed -jit=orcjit"])
def test_tvm_llvm_options_build_and_compute(text):
    s, A, B = _add_one()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # these options name or package the target: no warning
        f = tvm.build(s, [A, B], target=tvm.target.Target(text))
    a = np.random.default_rng().standard_normal(37).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_array_equal(b, a + np.float32(1))


def test_options_that_change_nothing_here_warn_once_at_the_users_line():
    text = "llvm -cl-opt=-unroll-threshold=77 -fast-math-nnan"
    with pytest.warns(UserWarning, match="-cl-opt=-unroll-threshold=77' has no effect") as rec:
        tvm.target.Target(text)
    assert all(r.filename == __file__ for r in rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tvm.target.Target(text)  # once a target string


def test_cuda_options_of_tvm():
    t = tvm.target.Target("cuda -libs=cublas -keys=cuda,gpu -mcpu=sm_80")
    assert t.arch == "sm_80"
    assert tvm.target.Target("cuda -arch sm_75 -max_num_threads 256").max_num_threads == 256
    assert tvm.target.Target("llvm -mcpu skylake-avx512 -num-cores 4").attrs == {"mcpu": "skylake-avx512",
                                                                                 "num-cores": 4}
    with pytest.raises(TargetError, match="-mcpu must name a real architecture"):
        tvm.target.Target("cuda -mcpu=x86")


@pytest.mark.parametrize("text,match", [("llvm -foo=bar", "unknown option '-foo=bar'"),
                                        ("llvm -num-cores=0", "-num-cores must be a positive integer"),
                                        ("cuda -emulate -bogus", "unknown option '-bogus'")])
def test_a_wrong_option_fails_at_target(text, match):
    with pytest.raises(TargetError, match=match):
        tvm.target.Target(text)
