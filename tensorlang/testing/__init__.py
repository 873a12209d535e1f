"""Test helpers with TVM's names (``tvm.testing.assert_allclose``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..arith import simplify
from ..runtime.ndarray import cuda, device
from ..te.expr import IntImm, convert


def _host(x: Any) -> np.ndarray:
    if hasattr(x, "__tensorlang_array__"):
        return x.__tensorlang_array__()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return x.numpy()
    return np.asarray(x)


def assert_allclose(actual: Any, desired: Any, rtol: float = 1e-7, atol: float = 1e-7) -> None:
    """numpy's assert_allclose on numpy arrays or tl.nd arrays."""
    np.testing.assert_allclose(_host(actual), _host(desired), rtol=rtol, atol=atol, verbose=True)


def assert_prim_expr_equal(lhs: Any, rhs: Any) -> None:
    """Assert that two index expressions are equal (their difference simplifies to 0)."""
    diff = simplify(convert(lhs) - convert(rhs))
    if not (isinstance(diff, IntImm) and diff.value == 0):
        raise AssertionError(f"{lhs} != {rhs} (difference {diff})")


# -- TVM's test decorators (tvm.testing.uses_gpu, requires_cuda, parametrize_targets) ---------------

def device_enabled(target: Any) -> bool:
    """Whether tests can run on ``target``: always for "llvm" and "cuda -emulate", for "cuda"
    when a GPU is usable."""
    words = str(target).split()
    if not words or words[0] in ("llvm", "c"):
        return True
    if words[0] == "cuda":
        return "-emulate" in words or cuda(0).exist
    return False


def enabled_targets() -> list[tuple[str, Any]]:
    """(target, device) pairs tests run on here: llvm, and cuda when a GPU is usable."""
    return [(t, device(t)) for t in ("llvm", "cuda") if device_enabled(t)]


def uses_gpu(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a test that also covers GPU targets (it runs everywhere, as in TVM)."""
    return fn


def requires_llvm(fn: Callable[..., Any]) -> Callable[..., Any]:
    return fn


def requires_gpu(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Skips the test where no GPU is usable."""
    import pytest  # only tests use these decorators; the package does not depend on pytest
    return pytest.mark.skipif(not cuda(0).exist, reason="needs a usable CUDA GPU")(fn)


requires_cuda = requires_gpu


def parametrize_targets(*targets: Any) -> Callable[..., Any]:
    """``@parametrize_targets("llvm", "cuda")``: the test runs once per target (parameters
    ``target`` and, when it takes one, ``dev``); targets without a usable device are skipped."""
    import pytest

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        names = list(targets or ("llvm", "cuda"))
        wants_dev = "dev" in inspect.signature(fn).parameters
        params = [pytest.param(t, *([device(t)] if wants_dev else []),
                               marks=pytest.mark.skipif(not device_enabled(t), reason=f"{t} is not usable here"))
                  for t in names]
        return pytest.mark.parametrize("target,dev" if wants_dev else "target", params)(fn)
    if len(targets) == 1 and callable(targets[0]):  # used bare: @parametrize_targets
        fn, targets = targets[0], ()
        return deco(fn)
    return deco
