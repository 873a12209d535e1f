"""TVM 0.12's tests/python/unittest/test_tvm_testing_features.py, imports changed: the target
exclusion and known-failure decorators (``tvm.testing.exclude_targets``,
``known_failing_targets``) with the plugin's target parametrization and with
``parametrize_targets``, plus ``requires_x86`` / ``skip_if_32bit``.  TVM's tests collect targets
into class lists that a later test reads; tests may run on other pytest-xdist workers here, so the
checks read the collected items instead."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te

# TVM's conftest.py: pytest_plugins = ["tvm.testing.plugin"]
from tensorlang.testing.plugin import pytest_generate_tests  # noqa: F401

enabled_targets = [target for target, dev in tvm.testing.enabled_targets()]


@tvm.testing.exclude_targets("llvm")
def test_exclude_target(target):
    assert "llvm" not in target


@tvm.testing.known_failing_targets("llvm")
@tvm.testing.parametrize_targets("llvm")
def test_known_failing_target(target):
    # This test runs for all targets, but intentionally fails for
    # llvm.  The behavior is working correctly if this test shows
    # up as an expected failure, xfail.
    assert "llvm" not in target


@tvm.testing.parametrize_targets("llvm", "cuda -emulate")
@tvm.testing.exclude_targets("cuda")
def test_add_one_excluding_cuda(target, dev):
    assert not target.startswith("cuda")
    A = te.placeholder((37,), name="A")
    B = te.compute(A.shape, lambda i: A[i] + 1.0, name="B")
    f = tvm.build(te.create_schedule(B.op), [A, B], target)
    a = np.random.uniform(size=37).astype("float32")
    b = tvm.nd.empty((37,), "float32", dev)
    f(tvm.nd.array(a, dev), b)
    np.testing.assert_allclose(b.numpy(), a + 1, rtol=1e-6)


@tvm.testing.requires_x86
@tvm.testing.skip_if_32bit(reason="checks the 64-bit build")
def test_requires_x86_and_skip_if_32bit_run_here():
    import platform
    assert platform.machine().lower() in ("x86_64", "amd64") and platform.architecture()[0] == "64bit"


def _runs(request, name):
    return [item for item in request.node.parent.collect() if getattr(item, "originalname", None) == name]


def test_all_nonexcluded_targets_ran(request):
    runs = _runs(request, "test_exclude_target")
    # no target left (only llvm is usable): pytest's one skipped run with an empty parameter set
    targets = [t for t in (item.callspec.params.get("target") for item in runs) if isinstance(t, str)]
    assert sorted(targets) == sorted(t for t in enabled_targets if not t.startswith("llvm"))


def test_known_failing_target_is_an_expected_failure(request):
    (run,) = _runs(request, "test_known_failing_target")
    assert run.callspec.params["target"] == "llvm"
    assert any(m.name == "xfail" for m in run.iter_markers())


def test_exclusion_below_parametrize_targets(request):
    runs = _runs(request, "test_add_one_excluding_cuda")
    assert [item.callspec.params["target"] for item in runs] == ["llvm"]
