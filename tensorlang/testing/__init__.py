"""Test helpers with TVM's names (``tvm.testing.assert_allclose``); ``tvm.testing.autotvm`` and
``tvm.testing.auto_scheduler`` (TVM's sample tasks and workloads) load on first use."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import platform
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..arith import simplify
from ..runtime.enabled import enabled
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


def check_numerical_grads(function: Callable[..., Any], input_values: Any, grad_values: Any,
                          function_value: Any = None, delta: float = 1e-3, atol: float = 1e-2,
                          rtol: float = 0.1) -> None:
    """Check analytical gradients against central differences of ``function`` (which returns a
    scalar), as TVM's helper does: for each input with a gradient given, the distance between the
    two gradient arrays must be at most ``atol * sqrt(size) + rtol * |numerical gradient|``.

    ``input_values`` and ``grad_values`` are lists (``function(*inputs)``) or dicts
    (``function(**inputs)``); a gradient left out, or an input past the end of the gradient list,
    is not checked.  The step is the one float arithmetic really took (``x + delta`` rounds)."""
    del function_value  # accepted for TVM's signature; the differences need no base value
    if isinstance(input_values, dict):
        names = list(input_values)
        values = [np.array(_host(input_values[n]), copy=True) for n in names]
        grads = [grad_values.get(n) for n in names] if isinstance(grad_values, dict) else list(grad_values)

        def call() -> float:
            return float(np.asarray(_host(function(**dict(zip(names, values))))).sum())
    else:
        names = [str(i) for i in range(len(input_values))]
        values = [np.array(_host(v), copy=True) for v in input_values]
        grads = list(grad_values)

        def call() -> float:
            return float(np.asarray(_host(function(*values))).sum())
    for name, x, g in zip(names, values, grads):
        if g is None:
            continue
        g = _host(g).astype(np.float64)
        if g.shape != x.shape:
            raise AssertionError(f"gradient of input {name} has shape {g.shape}, the input {x.shape}")
        numeric = np.zeros(x.shape, np.float64)
        for idx in np.ndindex(*x.shape):
            orig = x[idx].copy()
            x[idx] = orig + delta
            hi, f_hi = float(x[idx]), call()
            x[idx] = orig - delta
            lo, f_lo = float(x[idx]), call()
            x[idx] = orig
            numeric[idx] = (f_hi - f_lo) / (hi - lo)
        dist = float(np.sqrt(np.sum((numeric - g) ** 2)))
        bound = atol * np.sqrt(max(numeric.size, 1)) + rtol * float(np.sqrt(np.sum(numeric ** 2)))
        if not dist <= bound:
            worst = np.unravel_index(int(np.argmax(np.abs(numeric - g))), x.shape) if x.size else ()
            raise AssertionError(
                f"analytical and numerical gradients of input {name} differ: distance {dist:.4g} > {bound:.4g}; "
                f"worst at {tuple(int(i) for i in worst)}: analytical {g[worst]:.6g}, numerical {numeric[worst]:.6g}")


# -- TVM's test decorators (tvm.testing.uses_gpu, requires_cuda, parametrize_targets) ---------------

def device_enabled(target: Any) -> bool:
    """Whether tests can run on ``target``: always for "llvm" and "cuda -emulate", for "cuda"
    when a GPU is usable (``tvm.runtime.enabled``)."""
    return enabled(target)


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


def requires_tensorcore(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Skips the test where no GPU with tensor cores (compute capability 7.0 or later) is usable."""
    import pytest
    dev = cuda(0)
    ok = dev.exist and float(dev.compute_version or 0) >= 7.0
    return pytest.mark.skipif(not ok, reason="needs a CUDA GPU with tensor cores (sm_70 or later)")(fn)


def requires_cuda_compute_version(major: int, minor: int = 0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Skips the test where no GPU of at least compute capability ``major.minor`` is usable."""
    import pytest
    dev = cuda(0)
    ok = dev.exist and tuple(int(x) for x in str(dev.compute_version).split(".")) >= (major, minor)
    return pytest.mark.skipif(not ok, reason=f"needs a CUDA GPU of compute capability {major}.{minor} or later")


def _absent_target(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        import pytest
        return pytest.mark.skip(reason=f"tensorlang has no {name} target")(fn)
    return deco


# TVM's decorators for targets tensorlang does not have: the tests they mark are skipped.
requires_rocm = _absent_target("ROCm")
requires_opencl = _absent_target("OpenCL")
requires_vulkan = _absent_target("Vulkan")
requires_metal = _absent_target("Metal")
requires_nvptx = _absent_target("NVPTX")
requires_hexagon = _absent_target("Hexagon")
requires_cudagraph = _absent_target("CUDA graph")


def requires_package(*packages: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Skips the test where one of ``packages`` does not import."""
    import pytest
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    return pytest.mark.skipif(bool(missing), reason=f"needs the package(s) {', '.join(missing)}")


def skip_if_wheel_test(fn: Callable[..., Any]) -> Callable[..., Any]:
    """TVM skips these in its wheel tests (they need its source tree); here they always run."""
    return fn


def slow(fn: Callable[..., Any]) -> Callable[..., Any]:
    """TVM's marker of a slow test; it runs here as any other."""
    return fn


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
        params = target_params(fn, params, single=not wants_dev)
        return pytest.mark.parametrize("target,dev" if wants_dev else "target", params)(fn)
    if len(targets) == 1 and callable(targets[0]):  # used bare: @parametrize_targets
        fn, targets = targets[0], ()
        return deco(fn)
    return deco

def _target_kind(target: Any) -> str:
    return str(target).split()[0] if str(target).split() else ""


def target_params(fn: Callable[..., Any], params: list[Any], single: bool) -> list[Any]:
    """``params`` (pytest.param or plain values, the target first) without the targets
    ``@exclude_targets`` names for ``fn``, those ``@known_failing_targets`` names marked xfail."""
    import pytest
    ParameterSet = type(pytest.param(None))  # noqa: N806 - pytest's class, without its private module

    excluded = set(getattr(fn, "tvm_excluded_targets", ()))
    failing = set(getattr(fn, "tvm_known_failing_targets", ()))
    out = []
    for p in params:
        if not isinstance(p, ParameterSet):
            p = pytest.param(p) if single else pytest.param(*p)
        kind = _target_kind(p.values[0])
        if kind in excluded:
            continue
        marks = list(p.marks)
        if kind in failing and not any(m.name == "xfail" and m.kwargs.get("reason", "").startswith("known failing")
                                       for m in marks):
            marks.append(pytest.mark.xfail(reason=f"known failing on {kind} (tvm.testing.known_failing_targets)"))
        out.append(pytest.param(*p.values, marks=marks, id=p.id))
    return out


def _retarget(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Apply ``fn``'s exclusions and known failures to a target parametrization it already has
    (``@parametrize_targets`` or ``@pytest.mark.parametrize("target", ...)`` written below them)."""
    import pytest
    marks = getattr(fn, "pytestmark", None)
    if not marks:
        return fn
    new = []
    for m in marks:
        names = m.args[0] if m.name == "parametrize" and m.args else None
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names or ())
        if names and names[0] == "target" and len(m.args) > 1:
            params = target_params(fn, list(m.args[1]), single=len(names) == 1)
            m = pytest.mark.parametrize(m.args[0], params, *m.args[2:], **m.kwargs).mark
        new.append(m)
    fn.pytestmark = new
    return fn


def exclude_targets(*targets: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """TVM's ``@tvm.testing.exclude_targets("cuda")``: a test taking ``target`` does not run on
    those target kinds (with ``parametrize_targets`` or the plugin's parametrization)."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.tvm_excluded_targets = (*getattr(fn, "tvm_excluded_targets", ()), *targets)  # type: ignore[attr-defined]
        return _retarget(fn)
    return deco


def known_failing_targets(*targets: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """TVM's ``@tvm.testing.known_failing_targets("cuda")``: on those target kinds the test runs
    and is expected to fail (xfail)."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.tvm_known_failing_targets = (*getattr(fn, "tvm_known_failing_targets", ()),  # type: ignore[attr-defined]
                                        *targets)
        return _retarget(fn)
    return deco


def _is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def requires_x86(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Skips the test on a machine that is not x86."""
    import pytest
    return pytest.mark.skipif(not _is_x86(), reason="needs an x86 CPU")(fn)


def skip_if_32bit(reason: str = "does not run on 32-bit platforms") -> Callable[..., Any]:
    """TVM's ``@tvm.testing.skip_if_32bit(reason=...)``."""
    import pytest
    return pytest.mark.skipif(platform.architecture()[0] == "32bit", reason=reason)


# -- TVM's pytest helpers for test files (tvm.testing.parameter / parameters / fixture / main) --------

_groups = itertools.count()


def parameter(*values: Any, ids: Any = None) -> Any:
    """``dtype = tvm.testing.parameter("float32", "float16")``: a pytest fixture, named by the
    variable it is assigned to, that takes each value in turn."""
    import pytest

    @pytest.fixture(params=list(values), ids=ids)
    def as_fixture(*_cls: Any, request: Any) -> Any:
        return request.param
    return as_fixture


def parameters(*value_sets: Any, ids: Any = None) -> tuple[Any, ...]:
    """``dtype, shape = tvm.testing.parameters(("float32", (4,)), ("int8", (2, 2)))``: fixtures
    that take the values of one set together, set after set."""
    import pytest
    sets = [tuple(v) for v in value_sets]
    if not sets or len({len(v) for v in sets}) != 1:
        raise ValueError("tvm.testing.parameters takes tuples of one length, one per test case")
    # the sets themselves are a hidden fixture of the calling module; each output reads its item
    hidden = f"_tl_parameters_{next(_groups)}"
    group = pytest.fixture(params=sets, ids=ids, name=hidden)(lambda request: request.param)
    sys._getframe(1).f_globals[hidden] = group

    def item(k: int) -> Any:
        def one(*_cls: Any, **requested: Any) -> Any:  # *_cls: also a fixture of a test class
            return requested[hidden][k]
        # pytest reads a fixture's dependencies from its signature: this one needs the hidden set
        one.__signature__ = inspect.Signature([inspect.Parameter("_cls", inspect.Parameter.VAR_POSITIONAL),
                                               inspect.Parameter(hidden, inspect.Parameter.KEYWORD_ONLY)])
        return pytest.fixture(one)
    return tuple(item(k) for k in range(len(sets[0])))


def fixture(func: Callable[..., Any] | None = None, *, cache_return_value: bool = False) -> Any:
    """TVM's ``@tvm.testing.fixture`` (bare or with ``cache_return_value``): a pytest fixture;
    values are not cached across tests here."""
    import pytest
    if func is None:
        return lambda f: pytest.fixture(f)
    return pytest.fixture(func)


# TVM's tvm.testing imports these on import; here they load on first use, since they pull in the
# tuners, which sit on top of everything tensorlang's own import brings in.
_SUBMODULES = ("auto_scheduler", "autotvm")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """``if __name__ == "__main__": tvm.testing.main()``: run the calling file's tests with pytest."""
    import pytest
    test_file = inspect.getsourcefile(sys._getframe(1))
    sys.exit(pytest.main([test_file, *sys.argv[1:]]))
