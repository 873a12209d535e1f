"""Build and run candidates on this machine: each in its own forked child, each failure an error result.

``LocalBuilder`` instantiates and compiles a batch of configs in parallel children and exports
each to a shared library; ``LocalRunner`` runs them one at a time (so timings do not compete),
each in a fresh child that checks every output against a reference built once per task and then
times the candidate.  ``create_measure_batch`` composes the two.  Whatever a candidate does,
raise, crash, hang or compute garbage, it comes back as a ``MeasureResult`` with a
``MeasureErrorNo``, never as an exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import LaunchLimitError, TensorLangError
from ...target.backends import load_module
from ...target.timing import FLUSH_BYTES
from ...te.expr import IntImm
from ...te.tensor import PlaceholderOp, Tensor
from ..space import ConfigEntity, FallbackConfigEntity, InstantiationError
from . import interrupted
from .executor import Outcome, Worker, future_result, run_isolated, truncate
from .kept_builds import KeptBuilds
from .measure import MeasureErrorNo, MeasureInput, MeasureResult, TaskRef
from .scratch import scratch_dir
from .timing import AdaptiveRepeats, rank_cost, time_repeats

_ENTRY_NAME = "candidate"
# The longest build or run timeout: a day is past any real candidate, and a reference gets 3x that,
# still within what the executor can wait for (executor.MAX_WAIT_S, ~24.8 days).
MAX_TIMEOUT_S = 86400.0


class MeasureOptionError(TensorLangError, ValueError):
    """A builder, runner or one of their settings is invalid."""


def _default_parallelism() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 if allow_zero else value > 0):
        raise MeasureOptionError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, "
                                 f"got {value!r}")
    return value


def _timeout(name: str, value: float) -> float:
    """``value`` as a float when it is a finite number of seconds up to ``MAX_TIMEOUT_S``."""
    _positive(name, value)
    if not value <= MAX_TIMEOUT_S:  # inf or 1e300 would overflow the wait for the child
        raise MeasureOptionError(f"{name} must be a finite number of seconds, at most {MAX_TIMEOUT_S:g} "
                                 f"(a day), got {value!r}")
    return float(value)


# --- building ------------------------------------------------------------------------------------

def _task_and_configs(inputs: Any, configs: Sequence[ConfigEntity] | None) -> tuple[Any, Sequence[ConfigEntity]]:
    """(task, configs) from TVM's list of MeasureInputs, or from a task and its configs."""
    if isinstance(inputs, (list, tuple)):
        if not inputs:
            raise MeasureOptionError("no measure inputs given")
        task = inputs[0].task
        if isinstance(task, TaskRef):
            # A record read from a log names its task; building needs the computation itself.
            raise MeasureOptionError(
                f"cannot build a candidate of {task.name}{tuple(task.args)}: its input comes from a tuning log, "
                "whose task is only a reference; make the task again (auto_scheduler.measure.recover_measure_input"
                "(inp), or autotvm.task.create(name, args, target)) and build MeasureInput(task, inp.config)")
        return task, [inp.config for inp in inputs]
    return inputs, list(configs or ())


@dataclass(frozen=True)
class BuildResult:
    """A built candidate: ``filename`` of its shared library when ``error_no`` is NO_ERROR."""

    filename: str | None
    error_no: MeasureErrorNo
    error_msg: str = ""
    build_time: float = 0.0  # wall seconds of the build child (instantiate, compile, export)
    # The builder's scratch folder, held while this result lives: as in TVM, a built library
    # outlives the builder object (``LocalBuilder().build(inputs)`` with no name kept for it).
    keep_alive: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error_no == MeasureErrorNo.NO_ERROR

    def __getstate__(self) -> dict[str, Any]:
        # a result sent to another process (an executor's job) holds its path, not the folder
        return {**self.__dict__, "keep_alive": None}


def _template_marker(path: str) -> str:
    """The file that exists while the build child of ``path`` runs the template (hidden: the
    builder's sweep removes one a killed child left)."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.template")


def _build_one(task: Any, config: ConfigEntity, path: str) -> tuple[int, str]:
    """Child body: instantiate, compile and export one candidate; (error_no, message) back."""
    import tensorlang as tl
    # The linker's scratch files go beside the library: a child killed mid-link leaves its
    # leftovers in the build folder, which the builder sweeps, not in /tmp.
    tempfile.tempdir = os.path.dirname(path)
    # While the marker exists, the template's own code runs: a child that dies then (the
    # template called os._exit or crashed in a C extension) is the template's failure.
    marker = _template_marker(path)
    with open(marker, "w"):
        pass
    try:
        sch, args = task.instantiate(config)
    except SystemExit as exc:
        return int(MeasureErrorNo.INSTANTIATION_ERROR), f"SystemExit: the template called sys.exit({exc.code!r})"
    except Exception as exc:  # noqa: BLE001 - any failure of the template is the config's fault
        kind = "" if isinstance(exc, InstantiationError) else f"{type(exc).__name__}: "
        return int(MeasureErrorNo.INSTANTIATION_ERROR), f"{kind}{exc}"
    finally:
        os.unlink(marker)
    try:
        # Only the exported library runs (in the runner): skip JIT-loading it here (~25% of a build).
        module = tl.build(sch, args, target=task.target, name=_ENTRY_NAME, jit=False)
        module.export_library(path)
    except LaunchLimitError as exc:  # over the device's limits: an invalid config, never launched
        return int(MeasureErrorNo.INSTANTIATION_ERROR), f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - lowering, LLVM and linking errors alike
        return int(MeasureErrorNo.COMPILE_HOST), f"{type(exc).__name__}: {exc}"
    return int(MeasureErrorNo.NO_ERROR), ""


_warmed_targets: set[str] = set()


def _warm_up(target: str, folder: str) -> None:
    """Compile one tiny function in this (parent) process, once per target.

    LLVM's initialization, the target machine and lazily imported compiler modules then come to
    every forked builder through fork instead of being redone in each child (~70 ms a child).
    On a CPU the function has a parallel loop and is exported as builders do, so the optimized
    thread pool every exported library links in is made here once (~40 ms a child)."""
    if target in _warmed_targets:
        return
    _warmed_targets.add(target)
    import tensorlang as tl
    from tensorlang import te
    try:
        a = te.placeholder((64,), name="A")
        b = te.compute((64,), lambda i: a[i] + 1.0, name="B")
        s = te.create_schedule(b.op)
        if str(target).split()[0] != "llvm":
            tl.build(s, [a, b], target=target, name="tl_warm_up")
            return
        s[b].parallel(b.op.axis[0])
        module = tl.build(s, [a, b], target=target, name="tl_warm_up", jit=False)
        # Exported into the builder's folder (hidden: the builder's sweep removes it, and a later
        # run the folder of a killed process), the linker's scratch folder with it: a run killed
        # while it links leaves nothing loose in the temp folder.
        previous, tempfile.tempdir = tempfile.tempdir, folder
        library = os.path.join(folder, ".tl_warm_up.so")
        try:
            module.export_library(library)
        finally:
            tempfile.tempdir = previous
            with contextlib.suppress(OSError):
                os.unlink(library)
    except Exception:  # noqa: BLE001 - only an optimization; a real build reports the problem
        pass


class LocalBuilder:
    """Builds candidates in up to ``n_parallel`` forked children, each killed after ``timeout`` seconds."""

    def __init__(self, timeout: float = 10.0, n_parallel: int | None = None, build_func: str = "default"):
        if build_func != "default":  # TVM's "ndk"/custom build functions have no meaning here
            raise MeasureOptionError(f"LocalBuilder(build_func={build_func!r}): only 'default' is supported")
        self.timeout = _timeout("LocalBuilder timeout", timeout)
        n = _default_parallelism() if n_parallel is None else n_parallel
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise MeasureOptionError(f"LocalBuilder n_parallel must be a positive int, got {n_parallel!r}")
        self.n_parallel = n
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._counter = 0

    @property
    def build_dir(self) -> str:
        """Where built libraries go (removed with the builder or at exit)."""
        if self._tmp is None:
            self._tmp = scratch_dir("tensorlang-build-")
        return self._tmp.name

    def build(self, measure_inputs: Any, configs: Sequence[ConfigEntity] | None = None) -> list[BuildResult]:
        """One BuildResult per input, in order: ``build(measure_inputs)`` as in TVM, or
        ``build(task, configs)``."""
        task, configs = _task_and_configs(measure_inputs, configs)
        paths = []
        for cfg in configs:
            self._counter += 1
            paths.append(os.path.join(self.build_dir, f"c{getattr(cfg, 'index', 0)}_{self._counter}.so"))
        _warm_up(task.target, self.build_dir)
        outcomes = run_isolated(_build_one, [(task, cfg, p) for cfg, p in zip(configs, paths)],
                                n_parallel=self.n_parallel, timeout=self.timeout)
        results = []
        for outcome, path in zip(outcomes, paths):
            results.append(replace(_build_result(outcome, path, self.timeout), keep_alive=self._tmp))
            if not results[-1].ok and os.path.exists(path):
                os.unlink(path)
        self._sweep()
        return results

    def _sweep(self) -> None:
        """Remove scratch files of killed builds (hidden partial libraries, linker folders)."""
        for entry in os.listdir(self.build_dir):
            if entry.startswith((".", "tensorlang-link-")):
                full = os.path.join(self.build_dir, entry)
                if os.path.isdir(full):
                    shutil.rmtree(full, ignore_errors=True)
                else:
                    os.unlink(full)

    def __repr__(self) -> str:
        return f"LocalBuilder(timeout={self.timeout:g}, n_parallel={self.n_parallel})"


def _build_result(outcome: Outcome, path: str, timeout: float) -> BuildResult:
    t = outcome.elapsed
    if outcome.status == "ok":
        error_no, msg = outcome.value
        if error_no == MeasureErrorNo.NO_ERROR:
            return BuildResult(path, MeasureErrorNo.NO_ERROR, "", t)
        return BuildResult(None, MeasureErrorNo(error_no), truncate(msg), t)
    if outcome.status == "timeout":
        return BuildResult(None, MeasureErrorNo.BUILD_TIMEOUT, f"build took longer than {timeout:g} s", t)
    if outcome.status == "crash":
        marker = _template_marker(path)
        if os.path.exists(marker):
            os.unlink(marker)
            return BuildResult(None, MeasureErrorNo.INSTANTIATION_ERROR,
                               f"the template crashed while making the schedule: {outcome.message}", t)
        return BuildResult(None, MeasureErrorNo.COMPILE_HOST, f"the compiler crashed: {outcome.message}", t)
    return BuildResult(None, MeasureErrorNo.COMPILE_HOST, truncate(f"{outcome.error_type}: {outcome.message}"), t)


# --- the reference ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ArgSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str
    is_output: bool


@dataclass(frozen=True)
class _Reference:
    """Inputs (and expected outputs when checked) of one task, in ``npz``; or why there are none."""

    specs: tuple[_ArgSpec, ...] = ()
    npz: str = ""
    checked: bool = False
    error_no: MeasureErrorNo = MeasureErrorNo.NO_ERROR
    error_msg: str = ""


def random_input(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Test data for one input: floats uniform in [-1, 1), integers in [1, 8) (never 0, so they are
    safe as divisors and as small indices), booleans half true."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dt, np.integer):
        return rng.integers(1, 8, size=shape).astype(dt)
    return rng.uniform(-1.0, 1.0, size=shape).astype(dt)


def _sentinel_like(expected: np.ndarray) -> np.ndarray:
    """An output buffer that differs from ``expected`` everywhere, so an element a candidate
    forgets to write cannot pass the check."""
    if np.issubdtype(expected.dtype, np.floating):
        return np.full_like(expected, np.nan)
    if expected.dtype == np.bool_:
        return ~expected
    return expected ^ 1


def _arg_specs(args: Sequence[Any]) -> tuple[_ArgSpec, ...]:
    specs = []
    for a in args:
        if not isinstance(a, Tensor):
            raise TensorLangError(f"cannot measure a template whose arguments include {a!r}: "
                                  "only tensors of constant shape can be given test data")
        if not all(isinstance(d, IntImm) for d in a.shape):
            raise TensorLangError(f"cannot measure tensor {a.name} of symbolic shape "
                                  f"({', '.join(map(str, a.shape))}): give the template constant sizes")
        specs.append(_ArgSpec(a.name, tuple(int(d.value) for d in a.shape), str(a.dtype),
                              not isinstance(a.op, PlaceholderOp)))
    return tuple(specs)


def _given_inputs(specs: Sequence[_ArgSpec], ref_input: Sequence[Any]) -> dict[int, np.ndarray]:
    """The arrays of TVM's ``ref_input`` by argument position: one per argument (an output's
    array is unused) or one per input, each of its argument's shape and converted to its dtype."""
    inputs = [i for i, spec in enumerate(specs) if not spec.is_output]
    if len(ref_input) == len(specs):
        pairs = [(i, ref_input[i]) for i in inputs]
    elif len(ref_input) == len(inputs):
        pairs = list(zip(inputs, ref_input))
    else:
        raise MeasureOptionError(f"ref_input has {len(ref_input)} arrays, but the template has {len(specs)} "
                                 f"arguments ({', '.join(s.name for s in specs)}), {len(inputs)} of them inputs: "
                                 "give one array per argument or one per input")
    out = {}
    for i, value in pairs:
        spec, array = specs[i], np.asarray(value)
        if array.shape != spec.shape:
            raise MeasureOptionError(f"ref_input array for argument {spec.name} has shape {array.shape}, "
                                     f"the argument has {spec.shape}")
        if not np.can_cast(array.dtype, spec.dtype, "same_kind"):
            raise MeasureOptionError(f"ref_input array for argument {spec.name} is {array.dtype}, which does not "
                                     f"convert to the argument's {spec.dtype}")
        out[i] = array.astype(spec.dtype)
    return out


def _make_reference(task: Any, npz: str, seed: int, check: bool,
                    ref_input: Sequence[Any] | None = None) -> tuple[tuple[_ArgSpec, ...], bool]:
    """Child body: test inputs for ``task`` and, when ``check``, the expected outputs, saved to
    ``npz`` as in<i> / out<i> by argument position.  The inputs are ``ref_input``'s arrays when
    given, else random.  The outputs come from the template's numpy reference when it registered
    one (``@autotune.template(name, reference=fn)``: fast for the standard operators), else from
    its plain reference schedule built for the CPU."""
    import tensorlang as tl
    numpy_ref = getattr(task, "numpy_reference", None)
    if numpy_ref is None:
        sch, args = task.reference()
    else:
        sch, args = None, task.instantiate(FallbackConfigEntity())[1]
    specs = _arg_specs(args)
    rng = np.random.default_rng(seed)
    fixed = dict(getattr(task, "task_inputs", None) or {})  # by position: inputs the task gives (sparse indices ...)
    if ref_input:
        fixed.update(_given_inputs(specs, ref_input))  # and those the user gives (TVM's ref_input)
    arrays = {}
    call = []
    for i, spec in enumerate(specs):
        if spec.is_output:
            call.append(np.zeros(spec.shape, dtype=spec.dtype))
        else:
            drawn = random_input(rng, spec.shape, spec.dtype)  # drawn either way: the others stay the same
            arrays[f"in{i}"] = fixed[i] if i in fixed else drawn
            call.append(arrays[f"in{i}"].copy())
    if check and numpy_ref is not None:
        got = numpy_ref(*task.args)(*(call[i] for i, spec in enumerate(specs) if not spec.is_output))
        outs = list(got) if isinstance(got, (tuple, list)) else [got]
        out_specs = [(i, spec) for i, spec in enumerate(specs) if spec.is_output]
        if len(outs) != len(out_specs):
            raise TensorLangError(f"the numpy reference of {task.name} returned {len(outs)} arrays for "
                                  f"{len(out_specs)} outputs")
        for (i, spec), value in zip(out_specs, outs):
            value = np.asarray(value)
            if value.shape != spec.shape:
                raise TensorLangError(f"the numpy reference of {task.name} gave output {spec.name} the shape "
                                      f"{value.shape}, expected {spec.shape}")
            arrays[f"out{i}"] = value.astype(spec.dtype)
    elif check:
        # The reference is a plain schedule (no thread binding): it always runs on the CPU.
        module = tl.build(sch, args, target="llvm", name="reference")
        module(*call)
        for i, spec in enumerate(specs):
            if spec.is_output:
                arrays[f"out{i}"] = call[i]
    arrays["specs"] = np.array(json.dumps([[s.name, list(s.shape), s.dtype, s.is_output] for s in specs]))
    tmp = f"{npz}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, npz)  # a cached reference is never seen half-written
    return specs, check


def _cached_reference(npz: str, check: bool) -> tuple[tuple[_ArgSpec, ...], bool] | None:
    """The specs of a reference saved by ``_make_reference`` at ``npz``, None when unusable."""
    try:
        with np.load(npz) as data:
            specs = tuple(_ArgSpec(n, tuple(shape), dt, out) for n, shape, dt, out in json.loads(str(data["specs"])))
            if check and not all(f"out{i}" in data for i, s in enumerate(specs) if s.is_output):
                return None
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return specs, check


def reference_cache_dir() -> str:
    """Where references of GPU tasks are kept between runs: $TENSORLANG_CACHE_DIR/references,
    else ~/.cache/tensorlang/references."""
    root = os.environ.get("TENSORLANG_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "tensorlang")
    return os.path.join(root, "references")


def _digest(path: str | None) -> str:
    """SHA-256 of a built library's bytes ("" when unreadable): the identity of a binary."""
    try:
        with open(path or "", "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return ""


# How the error of every candidate of a task whose reference failed begins: without it nothing
# can be checked, and tuners stop spending trials on such a task.
REFERENCE_FAILED = "the reference of"


def uses_gpu(target: str) -> bool:
    """Whether candidates of ``target`` run on a real GPU (CUDA, not emulated)."""
    words = str(target).split()
    return bool(words) and words[0] == "cuda" and "-emulate" not in words


# --- running ---------------------------------------------------------------------------------------

def tolerances(expected: np.ndarray) -> tuple[float, float] | None:
    """(rtol, atol) for comparing with ``expected``, None for an exact comparison.  atol scales
    with the largest magnitude, since a reduction's rounding error grows with its values."""
    dt = expected.dtype
    if not np.issubdtype(dt, np.floating):
        return None
    rtol = {2: 1e-2, 4: 1e-3}.get(dt.itemsize, 1e-8)
    finite = np.abs(expected[np.isfinite(expected)]) if expected.size else expected
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    return rtol, rtol * scale


def compare(name: str, got: np.ndarray, expected: np.ndarray) -> str:
    """"" when ``got`` matches ``expected`` within dtype-aware tolerances, else what differs."""
    tol = tolerances(expected)
    if tol is None:
        bad = got != expected
        how = "exactly"
    else:
        rtol, atol = tol
        bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        how = f"within rtol={rtol:g}, atol={atol:.3g}"
    count = int(np.count_nonzero(bad))
    if not count:
        return ""
    with np.errstate(all="ignore"):
        err = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    err = np.where(np.isnan(err), np.inf, err)  # an unwritten (NaN) element is the worst error
    err = np.where(bad, err, 0.0)
    at = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    idx = tuple(int(i) for i in at)
    return (f"output {name} differs from the reference in {count} of {got.size} elements ({how}): "
            f"max abs error {float(err[at]):.4g} at index {idx}, expected {expected[at].item()!r}, "
            f"got {got[at].item()!r}")


@dataclass(frozen=True)
class _RunSettings:
    number: int
    repeat: int
    min_repeat_ms: float
    enable_cpu_cache_flush: bool
    check: bool = True  # False: this very binary was already checked against this reference
    adaptive: AdaptiveRepeats | None = None
    vary_layout: bool = False  # place the candidate's arrays at random addresses (_layout_padding)


_loaded: dict[str, dict[str, np.ndarray]] = {}  # in a measuring child: the reference it last loaded


def _reference_arrays(npz: str) -> dict[str, np.ndarray]:
    """The arrays of a reference file, read once per process and kept read-only: a long-lived
    measuring child loads them for its first candidate only; each candidate gets copies."""
    arrays = _loaded.get(npz)
    if arrays is None:
        with np.load(npz) as data:
            arrays = {name: data[name] for name in data.files}
        for a in arrays.values():
            a.flags.writeable = False
        _loaded.clear()
        _loaded[npz] = arrays
    return arrays


def _layout_padding() -> tuple[np.ndarray, ...]:
    """Blocks of random sizes, allocated before a candidate's arrays and kept while it runs, so
    that the arrays (and what the kernel allocates) land at other addresses: other offsets within
    a page and other pages.  A kernel's speed can depend on where its data lies (cache sets,
    huge pages, aliasing of loads and stores); children forked from one parent all inherit its
    heap, so without this every re-measurement of a config would see the same placement, and a
    config fast only at some addresses would look steady."""
    rng = np.random.default_rng()
    return (np.empty(16 * int(rng.integers(1, 256)), np.uint8),  # from the heap: the offset in a page
            np.empty(4096 * int(rng.integers(1, 512)) + 16 * int(rng.integers(0, 256)), np.uint8))  # pages


_LAYOUT_PADDING_MAX = 16 * 256 + 4096 * 512 + 16 * 256  # bytes _layout_padding allocates at most


def _own_shapes(module: Any, specs: Sequence[_ArgSpec]) -> list[_ArgSpec] | None:
    """The candidate's arguments when their (constant) shapes differ from the reference's, else
    None; None too when the module does not say."""
    sig = getattr(module, "signature", None)
    params = [] if sig is None else list(sig.params[:sig.user_arity])
    if len(params) != len(specs) or any(p.kind != "buffer" or not all(isinstance(d, int) for d in p.shape)
                                        for p in params):
        return None
    own = [_ArgSpec(s.name, tuple(p.shape), p.dtype, s.is_output) for p, s in zip(params, specs)]
    return None if all(o.shape == s.shape and o.dtype == s.dtype for o, s in zip(own, specs)) else own


def _run_one(path: str, ref: _Reference, settings: _RunSettings) -> tuple[int, Any]:
    """Child body: load, check and time one candidate; (NO_ERROR, costs) or (WRONG_ANSWER, message)."""
    data = _reference_arrays(ref.npz)
    module = load_module(path)
    padding = _layout_padding() if settings.vary_layout else ()  # noqa: F841 - kept alive while timing
    args = []
    check = ref.checked and settings.check
    own = _own_shapes(module, ref.specs)
    if own is not None:
        # This config's arguments have other shapes than the reference's (a template whose
        # packed weight follows a knob): it runs on random data of its own shapes, unchecked,
        # as TVM measures every candidate.
        rng = np.random.default_rng(0)
        args = [np.zeros(s.shape, s.dtype) if s.is_output else random_input(rng, s.shape, s.dtype) for s in own]
        check = False
    for i, spec in enumerate(ref.specs if own is None else ()):
        if not spec.is_output:
            args.append(data[f"in{i}"].copy())  # the candidate may write anywhere in its own arguments
        elif check:
            args.append(_sentinel_like(data[f"out{i}"]))
        else:
            args.append(np.zeros(spec.shape, dtype=spec.dtype))
    start = time.perf_counter()
    module(*args)  # the check's call, and the warm-up of the timing (pages touched, code loaded)
    first_call = time.perf_counter() - start
    if check:
        for i, spec in enumerate(ref.specs):
            if spec.is_output:
                diff = compare(spec.name, args[i], data[f"out{i}"])
                if diff:
                    return int(MeasureErrorNo.WRONG_ANSWER), diff
    from ...target.llvm.runtime import Module as CPUModule
    if not isinstance(module, CPUModule):
        # A GPU module times itself (events on its stream).
        timer = module.time_evaluator(number=settings.number, repeat=settings.repeat,
                                      min_repeat_ms=settings.min_repeat_ms)
        return int(MeasureErrorNo.NO_ERROR), tuple(timer(*args).results)
    flush = np.empty(FLUSH_BYTES, dtype=np.uint8) if settings.enable_cpu_cache_flush else None

    def before_repeat(r: int) -> None:
        # Refill the caches with other data right before each repeat (no warm-up either then).
        if flush is not None:
            flush.fill(r & 0xFF)

    timings = time_repeats(lambda: module(*args), settings.number, settings.repeat, settings.min_repeat_ms,
                           before_repeat=before_repeat, warm_up=False, adaptive=settings.adaptive,
                           first_call=first_call)
    # CPU time over wall time says how many threads ran only for repeats of a millisecond or more.
    long_enough = min(timings.costs) * settings.number >= 1e-3
    return int(MeasureErrorNo.NO_ERROR), _CpuTimings(timings.costs, timings.parallelism if long_enough else math.nan)


@dataclass(frozen=True)
class _CpuTimings:
    """What a CPU candidate's child sends back: its repeats' costs and the highest process CPU
    time / wall time seen while timing it (how many threads really ran it)."""

    costs: tuple[float, ...]
    parallelism: float


# A CPU candidate that ran on less than this share of the threads the task's candidates have
# run on (process CPU time / wall time) is measured once more in a fresh child.
SHORT_OF_THREADS = 0.7


class LocalRunner:
    """Runs built candidates one at a time, each in a fresh child: check against the reference, then time.

    ``costs`` of a result are ``repeat`` figures, each the mean seconds of ``number`` calls
    (``number`` grows until a repeat lasts ``min_repeat_ms``).  ``timeout`` bounds a candidate's
    whole child (load, check, timing).  ``memory_limit_mb`` is the address space a candidate's
    child may add to what it inherits (thread stacks and the test data count; the cache-flush
    buffer does not).  Test inputs come from
    ``np.random.default_rng(seed)``.  A binary already checked against the reference (the same
    library bytes, say a leader re-measured) is not checked again.

    ``persistent=True`` (the default) runs CPU candidates one after another in one long-lived
    forked child (``executor.Worker``) instead of a fresh child each: the fork and the loading of
    the test data are paid once.  Isolation holds: a candidate that crashes or hangs kills only
    that child, and is recorded as a runtime error or timeout; the child is also replaced after
    any failed candidate (one that computed a wrong answer may have written where it should not)
    and every 32 candidates.  With ``memory_limit_mb`` each candidate gets a fresh child.

    ``adaptive_repeats=True`` lets each CPU candidate's figures choose how many repeats it gets
    (``timing.AdaptiveRepeats``): one when its first repeat is over ``1.5x`` the fastest median
    this runner has measured for the task (it cannot lead), and up to ``2 * repeat`` when its
    repeats disagree by more than 5%; by default every candidate gets exactly ``repeat``."""

    def __init__(self, number: int = 4, repeat: int = 3, min_repeat_ms: float = 0, timeout: float = 10.0,
                 cooldown_interval: float = 0.0, enable_cpu_cache_flush: bool = False,
                 check_correctness: bool = True, memory_limit_mb: float | None = None, seed: int = 0,
                 adaptive_repeats: bool = False, persistent: bool = True):
        for name, value in (("number", number), ("repeat", repeat)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise MeasureOptionError(f"LocalRunner {name} must be a positive int, got {value!r}")
        self.number, self.repeat = number, repeat
        self.min_repeat_ms = float(_positive("LocalRunner min_repeat_ms", min_repeat_ms, allow_zero=True))
        self.timeout = _timeout("LocalRunner timeout", timeout)
        self.cooldown_interval = float(_positive("LocalRunner cooldown_interval", cooldown_interval, allow_zero=True))
        self.enable_cpu_cache_flush = bool(enable_cpu_cache_flush)
        self.check_correctness = bool(check_correctness)
        self.memory_limit_mb = (None if memory_limit_mb is None
                                else float(_positive("LocalRunner memory_limit_mb", memory_limit_mb)))
        self.seed = int(seed)
        self.adaptive_repeats = bool(adaptive_repeats)
        self.persistent = bool(persistent)
        self._vary_layout = False  # set inside fresh_processes
        self._worker: Worker | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._refs: dict[tuple[str, str], _Reference] = {}
        self._made = 0  # references made so far
        self._fastest: dict[tuple[str, str], float] = {}  # per task: the lowest median measured
        self._parallelism: dict[tuple[str, str], float] = {}  # per task: the most threads a candidate ran on
        self._checked: set[tuple[str, str, str]] = set()  # (task, library digest) that passed the check
        self.gpu_devices: tuple[int, ...] = (0,)
        self._gpu_pool: Any = None
        # TVM's: an object with submit(func, *args) (executor.Executor, or a concurrent.futures
        # executor) that runs each candidate (run_candidate) instead of this runner's own children.
        self.executor: Any = None
        self._ref_input: list[Any] | None = None

    @property
    def ref_input(self) -> list[Any] | None:
        """TVM's ``ref_input``: arrays the candidates run on instead of random test data, one per
        argument of the template (an output's contents are unused) or one per input; the expected
        outputs are computed from them.  None (the default): random inputs from ``seed``."""
        return self._ref_input

    @ref_input.setter
    def ref_input(self, value: Sequence[Any] | None) -> None:
        self._ref_input = list(value) if value is not None and len(value) else None
        self._refs.clear()  # the test data of every task changes with them
        self._checked.clear()

    def _data_dir(self) -> str:
        if self._tmp is None:
            self._tmp = scratch_dir("tensorlang-ref-")
        return self._tmp.name

    def reference(self, task: Any) -> _Reference:
        """The test data of ``task``, made once (in a child) and kept for later batches; for CUDA
        tasks (whose sizes make a CPU reference costly) also kept on disk across runs
        (``reference_cache_dir()``)."""
        key = (task.workload_key, task.target)
        ref = self._refs.get(key)
        if ref is not None:
            return ref
        # A new name for every reference made: a measuring child keeps the arrays of the file it
        # read last by name (_reference_arrays), and a new ref_input makes new test data.
        self._made += 1
        npz = os.path.join(self._data_dir(), f"ref{self._made}.npz")
        cached = None
        if str(task.target).split()[0] == "cuda":
            from ... import __version__
            fixed = getattr(task, "task_inputs", None) or {}
            inputs = [[i, hashlib.sha1(fixed[i].tobytes()).hexdigest()] for i in sorted(fixed)]
            given = [[str(a.dtype), list(a.shape), hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()]
                     for a in map(np.asarray, self._ref_input or ())]
            ident = json.dumps([task.workload_key, self.seed, self.check_correctness, __version__, inputs]
                               + ([given] if given else []))
            digest = hashlib.sha1(ident.encode()).hexdigest()[:16]
            npz = os.path.join(reference_cache_dir(), f"{task.name.replace('/', '_')}-{digest}.npz")
            os.makedirs(os.path.dirname(npz), exist_ok=True)
            cached = _cached_reference(npz, self.check_correctness) if os.path.exists(npz) else None
        if cached is not None:
            ref = _Reference(cached[0], npz, cached[1])
        else:
            # The reference is a plain schedule: give it more time than a tuned candidate.
            limit = max(60.0, 3 * self.timeout)
            job = (task, npz, self.seed, self.check_correctness, self._ref_input)
            outcome = run_isolated(_make_reference, [job], timeout=limit)[0]
            if outcome.status == "crash":
                # A child killed from outside (the OOM killer, a user's kill of a process) is no
                # fault of the task's, and a failed reference fails every later candidate of the
                # task, in the log, where a resumed run counts them as done: make it once more.
                outcome = run_isolated(_make_reference, [job], timeout=limit)[0]
            if outcome.ok:
                specs, checked = outcome.value
                ref = _Reference(specs, npz, checked)
            else:
                # Every candidate of this task gets this error: without test data nothing can be measured.
                kind = MeasureErrorNo.RUN_TIMEOUT if outcome.status == "timeout" else MeasureErrorNo.RUNTIME_DEVICE
                what = outcome.message if outcome.status != "error" else f"{outcome.error_type}: {outcome.message}"
                if outcome.error_type == "BoundsError":
                    # Random integers (1 to 7) used as indices: the data must be the task's own.
                    what += (" (the test inputs are random, integers from 1 to 7; give an input used as "
                             "indices its real values: SearchTask(..., task_inputs={name: array}), or "
                             "a template's runner.ref_input = [...])")
                ref = _Reference(error_no=kind, error_msg=truncate(f"{REFERENCE_FAILED} {task.name} failed: {what}"))
        self._refs[key] = ref
        return ref

    def gpu_pool(self) -> Any:
        """The spawned GPU workers (one per device in ``gpu_devices``) that run CUDA candidates."""
        if self._gpu_pool is None:
            from .gpu_worker import GPUPool
            self._gpu_pool = GPUPool(self.gpu_devices)
        return self._gpu_pool

    def run(self, measure_inputs: Any, build_results: Sequence[BuildResult]) -> list[MeasureResult]:
        """One MeasureResult per build result, in order; failed builds pass their error through.
        ``measure_inputs`` is TVM's list of MeasureInputs (or their task)."""
        results: list[MeasureResult] = []
        try:
            for res in self.run_iter(measure_inputs, build_results):
                results.append(res)
        except BaseException as exc:
            interrupted.attach(exc, results)  # so that the tuner logs them before it stops
            raise
        return results

    def run_iter(self, measure_inputs: Any, build_results: Sequence[BuildResult]) -> Iterator[MeasureResult]:
        """``run``'s results one at a time, in order, each as soon as it is measured (a generator):
        a tuner logs every finished trial before the next one runs, so a run killed mid-batch
        (SIGKILL, the OOM killer, a power cut) loses at most the candidate it was timing."""
        if self.executor is not None:
            yield from self._run_on_executor(measure_inputs, build_results)
            return
        task, _ = _task_and_configs(measure_inputs, ())
        key = (task.workload_key, task.target)
        settings = _RunSettings(self.number, self.repeat, self.min_repeat_ms, self.enable_cpu_cache_flush,
                                vary_layout=self._vary_layout)
        ref = self.reference(task) if any(b.ok for b in build_results) else None
        limit = self.memory_limit_mb
        if limit is not None and self.enable_cpu_cache_flush:
            limit += FLUSH_BYTES / 2**20  # the flush buffer is the runner's, not the candidate's
        if limit is not None and self._vary_layout:
            limit += _LAYOUT_PADDING_MAX / 2**20  # so is the padding that moves its arrays
        yield from self._run_each(task, key, settings, ref, limit, build_results)

    def _run_on_executor(self, measure_inputs: Sequence[Any], build_results: Sequence[Any]) -> Iterator[MeasureResult]:
        """``run_iter`` through ``self.executor``: one ``run_candidate`` job per candidate, all
        submitted before any result is awaited; a job that raises is a RUNTIME_DEVICE result."""
        futures = []
        for inp, b in zip(measure_inputs, build_results):
            ok = isinstance(b, BuildResult) and b.ok and inp is not None
            ref = self.reference(inp.task) if ok else None
            futures.append(self.executor.submit(run_candidate, inp, b, self.number, self.repeat, self.min_repeat_ms,
                                                self.cooldown_interval, self.ref_input, self.enable_cpu_cache_flush,
                                                ref, self.check_correctness))
        for future in futures:
            try:
                res = future_result(future)
            except Exception as exc:  # noqa: BLE001 - the executor's failure is this candidate's result
                res = MeasureResult((), MeasureErrorNo.RUNTIME_DEVICE, error_msg=truncate(
                    f"the executor's job failed: {type(exc).__name__}: {exc}"))
            if not isinstance(res, MeasureResult):
                res = MeasureResult((), MeasureErrorNo.UNKNOWN_ERROR, error_msg=truncate(
                    f"the executor's job returned {res!r}, not a MeasureResult"))
            yield res

    def _run_each(self, task: Any, key: tuple[str, str], settings: _RunSettings, ref: _Reference | None,
                  limit: float | None, build_results: Sequence[BuildResult]) -> Iterator[MeasureResult]:
        """``run_iter``'s body: each build result's MeasureResult as it is measured."""
        ran_one = False
        for b in build_results:
            if not b.ok or ref is None:
                yield MeasureResult((), b.error_no, error_msg=b.error_msg, all_cost=b.build_time,
                                    build_time=b.build_time)
                continue
            if ref.error_no != MeasureErrorNo.NO_ERROR:
                yield MeasureResult((), ref.error_no, error_msg=ref.error_msg, all_cost=b.build_time,
                                    build_time=b.build_time)
                continue
            if ran_one and self.cooldown_interval:
                time.sleep(self.cooldown_interval)  # let the clock and caches recover between candidates
            ran_one = True
            digest = _digest(b.filename)
            checked = (*key, digest) in self._checked
            if uses_gpu(task.target):
                # On a GPU: the long-lived spawned worker of a device (never a forked child).
                pool = self.gpu_pool()
                # The fingerprint of the device whose worker ran it (what that worker read off it).
                outcome, info = pool.run_on_devices(
                    _run_one, [(b.filename, ref, replace(settings, check=not checked))], self.timeout)[0]
                res = replace(self._result(outcome, b), device=info.fingerprint() if info is not None else None)
            else:
                adaptive = None
                if self.adaptive_repeats:
                    adaptive = AdaptiveRepeats(cutoff=1.5 * self._fastest.get(key, float("inf")),
                                               max_repeat=2 * self.repeat)
                job = (b.filename, ref, replace(settings, check=not checked, adaptive=adaptive))
                if self.persistent and limit is None:
                    if self._worker is None:
                        self._worker = Worker()
                    outcome = self._worker.call(_run_one, job, self.timeout)
                else:
                    outcome = run_isolated(_run_one, [job], timeout=self.timeout, memory_limit_mb=limit)[0]
                outcome = self._unless_short_of_threads(key, outcome, (b.filename, ref, replace(job[2], check=False)),
                                                        limit)
                res = self._result(outcome, b)
                if not res.ok and self._worker is not None:
                    self._worker.retire(kill=True)  # the next candidate gets a fresh child
            if res.ok and res.costs:
                if ref.checked and digest:
                    self._checked.add((*key, digest))
                if len(res.costs) >= min(self.repeat, 2):  # a cut-off candidate's one repeat is no median
                    self._fastest[key] = min(self._fastest.get(key, float("inf")), rank_cost(res.costs))
            yield res

    def _unless_short_of_threads(self, key: tuple[str, str], outcome: Outcome, job: tuple,
                                 limit: float | None) -> Outcome:
        """``outcome``, or a second measurement of the candidate in a fresh child when the first
        ran on well under the threads other candidates of the task ran on (``SHORT_OF_THREADS``).

        A repeat whose cores were lent away is measured again inside the child, but only against
        the most threads that child saw: when another process held a core for the whole of a
        candidate's timing (a second or so), every repeat of a 2-thread kernel ran at the
        one-thread speed and nothing looked wrong.  In a quiet 2-thread conv2d tuning, 9 of the
        29 candidates that two seeds both measured read 1.7-2.0x apart that way, and a seed that
        misread the best register tile never tried it again.  Of the two measurements, the one
        that had more threads counts; a candidate that only ever uses one thread (a small or
        serial loop) is measured twice for nothing, which costs a fraction of a second."""
        value = outcome.value if outcome.status == "ok" else None
        if value is None or value[0] != MeasureErrorNo.NO_ERROR or not isinstance(value[1], _CpuTimings):
            return outcome
        seen = value[1].parallelism
        if math.isnan(seen):  # too short a repeat to tell
            return outcome
        most = self._parallelism.get(key, 1.0)
        self._parallelism[key] = max(most, seen)
        if most < 1.5 or seen >= SHORT_OF_THREADS * most:
            return outcome
        again = run_isolated(_run_one, [job], timeout=self.timeout, memory_limit_mb=limit)[0]
        if again.status != "ok" or again.value[0] != MeasureErrorNo.NO_ERROR:
            return outcome
        other = again.value[1].parallelism
        if math.isnan(other):
            return outcome
        self._parallelism[key] = max(self._parallelism[key], other)
        return again if other > seen else outcome

    @contextlib.contextmanager
    def fresh_processes(self, min_repeat_ms: float = 0.0) -> Iterator[None]:
        """Inside the block every candidate runs in a fresh child, as for ``persistent=False``
        (a confirmation of the leaders wants measurements independent of one another), with its
        arrays at random addresses (``_layout_padding``: each run samples a placement, as each
        user's process gets its own), each repeat lasting at least ``min_repeat_ms`` (or the
        runner's own, if longer)."""
        persistent, self.persistent = self.persistent, False
        saved, self.min_repeat_ms = self.min_repeat_ms, max(self.min_repeat_ms, float(min_repeat_ms))
        self._vary_layout = True
        try:
            yield
        finally:
            self.persistent, self.min_repeat_ms, self._vary_layout = persistent, saved, False

    def close(self) -> None:
        """End the long-lived measuring child, if any (a later ``run`` starts a new one)."""
        if self._worker is not None:
            self._worker.retire()

    def _result(self, outcome: Outcome, b: BuildResult) -> MeasureResult:
        run_time = outcome.elapsed
        common = {"all_cost": b.build_time + run_time, "build_time": b.build_time, "run_time": run_time}
        if outcome.status == "ok":
            error_no, payload = outcome.value
            if error_no == MeasureErrorNo.NO_ERROR:
                costs = payload.costs if isinstance(payload, _CpuTimings) else payload
                return MeasureResult(tuple(costs), MeasureErrorNo.NO_ERROR, **common)
            return MeasureResult((), MeasureErrorNo(error_no), error_msg=truncate(payload), **common)
        if outcome.status == "timeout":
            return MeasureResult((), MeasureErrorNo.RUN_TIMEOUT, error_msg=
                                 f"the candidate ran longer than the timeout of {self.timeout:g} s", **common)
        if outcome.status == "crash":
            return MeasureResult((), MeasureErrorNo.RUNTIME_DEVICE, error_msg=
                                 f"the candidate crashed: {outcome.error_type}", **common)
        return MeasureResult((), MeasureErrorNo.RUNTIME_DEVICE, error_msg=
                             truncate(f"{outcome.error_type}: {outcome.message}"), **common)

    def __repr__(self) -> str:
        return (f"LocalRunner(number={self.number}, repeat={self.repeat}, min_repeat_ms={self.min_repeat_ms:g}, "
                f"timeout={self.timeout:g}, check_correctness={self.check_correctness})")


_LOCAL_RUN = LocalRunner.run  # what ``create_measure_batch`` streams through ``run_iter`` instead


def run_candidate(measure_input: Any, build_result: Any, number: int, repeat: int, min_repeat_ms: float,
                  cooldown_interval: float, ref_input: Sequence[Any] | None = None,
                  enable_cpu_cache_flush: bool = False, reference: _Reference | None = None,
                  check_correctness: bool = True) -> MeasureResult:
    """Check and time one built candidate in this process: the job a runner's ``executor`` runs
    (TVM's ``run_through_rpc``).  The test data is ``reference`` (the runner's, made from
    ``ref_input`` when that is set), else made here from ``ref_input`` or random inputs.
    Failures come back as error results; ``cooldown_interval`` seconds pass after the run."""
    if not isinstance(build_result, BuildResult):
        return MeasureResult((), MeasureErrorNo.UNKNOWN_ERROR,
                             error_msg=f"run_candidate needs a BuildResult, got {build_result!r:.200}")
    if not build_result.ok:
        return MeasureResult((), build_result.error_no, error_msg=build_result.error_msg,
                             all_cost=build_result.build_time, build_time=build_result.build_time)
    start = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            if reference is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="tensorlang-ref-"))
                npz = os.path.join(folder, "ref.npz")
                specs, checked = _make_reference(measure_input.task, npz, 0, check_correctness, ref_input)
                reference = _Reference(specs, npz, checked)
            if reference.error_no != MeasureErrorNo.NO_ERROR:
                return MeasureResult((), reference.error_no, error_msg=reference.error_msg,
                                     all_cost=build_result.build_time, build_time=build_result.build_time)
            settings = _RunSettings(number, repeat, float(min_repeat_ms), bool(enable_cpu_cache_flush))
            error_no, payload = _run_one(build_result.filename, reference, settings)
    except Exception as exc:  # noqa: BLE001 - whatever the candidate or its data does is its result
        error_no, payload = int(MeasureErrorNo.RUNTIME_DEVICE), truncate(f"{type(exc).__name__}: {exc}")
    run_time = time.perf_counter() - start
    common = {"all_cost": build_result.build_time + run_time, "build_time": build_result.build_time,
              "run_time": run_time}
    if cooldown_interval:
        time.sleep(cooldown_interval)
    if error_no != MeasureErrorNo.NO_ERROR:
        return MeasureResult((), MeasureErrorNo(error_no), error_msg=payload, **common)
    costs = payload.costs if isinstance(payload, _CpuTimings) else payload
    return MeasureResult(tuple(costs), MeasureErrorNo.NO_ERROR, **common)


# --- composing them --------------------------------------------------------------------------------

class Builder:
    """Base of builders (TVM's ``autotvm.measure.Builder``): ``build(measure_inputs)`` returns one
    build result per input, which the paired runner understands."""

    n_parallel = 1

    def __init__(self, timeout: float = 10.0, n_parallel: int | None = None, build_kwargs: Any = None):
        self.timeout, self.n_parallel = timeout, n_parallel or 1

    def build(self, measure_inputs: Sequence[MeasureInput]) -> list[Any]:
        raise NotImplementedError


class Runner:
    """Base of runners (TVM's ``autotvm.measure.Runner``): ``run(measure_inputs, build_results)``
    returns one MeasureResult per input."""

    def __init__(self, timeout: float = 5.0, n_parallel: int | None = None):
        self.timeout, self.n_parallel = timeout, n_parallel or 1

    def run(self, measure_inputs: Sequence[MeasureInput], build_results: Sequence[Any]) -> list[MeasureResult]:
        raise NotImplementedError


@dataclass(frozen=True)
class MeasureOption:
    """How candidates are measured: a builder and a runner."""

    builder: Any
    runner: Any


def measure_option(builder: Any = None, runner: Any = None) -> MeasureOption:
    """``measure_option(builder=LocalBuilder(), runner=LocalRunner(number=4))``; None or "local"
    means the local default."""
    if builder is None or builder == "local":
        builder = LocalBuilder()
    if runner is None or runner == "local":
        runner = LocalRunner()
    if not callable(getattr(builder, "build", None)):
        raise MeasureOptionError(f"builder {builder!r} has no build(measure_inputs) method")
    if not callable(getattr(runner, "run", None)):
        raise MeasureOptionError(f"runner {runner!r} has no run(measure_inputs, build_results) method")
    return MeasureOption(builder, runner)


def _completed(results: Sequence[Any], build_results: Sequence[Any]) -> list[MeasureResult]:
    """The runner's results as the tuner logs them: build, run and total times filled, stamped now."""
    now = time.time()
    out = []
    for r, b in zip(results, build_results):
        build_time = float(getattr(b, "build_time", 0.0) or 0.0)
        run_time = float(getattr(r, "run_time", 0.0) or 0.0)
        out.append(MeasureResult(tuple(r.costs), MeasureErrorNo(r.error_no),
                                 all_cost=build_time + run_time or float(r.all_cost), timestamp=now,
                                 error_msg=truncate(getattr(r, "error_msg", "")), build_time=build_time,
                                 run_time=run_time, device=getattr(r, "device", None)))
    return out


def create_measure_batch(task: Any, option: MeasureOption, kept: KeptBuilds | None = None
                         ) -> Callable[[Sequence[MeasureInput]], list[MeasureResult]]:
    """A function measuring a batch of MeasureInputs of ``task``: build all in parallel, then run
    them one by one; one MeasureResult each, in order, with build, run and total times filled.
    Each library is deleted once run, unless ``kept`` keeps it for re-measuring the leaders.

    With the local runner (``LocalRunner.run_iter``), the function also has ``stream(inputs)``,
    which yields ``(k, result, True)`` for input ``k`` as soon as that candidate is measured (the
    protocol of a Ray runner's batches), so a tuner logs each trial when it finishes: a process
    killed mid-batch keeps every trial the batch finished before the kill."""

    def _release(inputs: Sequence[MeasureInput], build_results: Sequence[Any],
                 completed: Sequence[MeasureResult]) -> None:
        for k, b in enumerate(build_results):
            if kept is not None and k < len(completed) and kept.offer(inputs[k], b, completed[k]):
                continue
            filename = getattr(b, "filename", None)
            if isinstance(filename, str) and os.path.exists(filename):
                os.unlink(filename)

    def measure_batch(inputs: Sequence[MeasureInput]) -> list[MeasureResult]:
        # TVM's calling convention, which custom Builder/Runner subclasses implement.
        build_results = option.builder.build(list(inputs))
        completed: list[MeasureResult] = []
        try:
            results = option.runner.run(list(inputs), build_results)
            completed = _completed(results, build_results)
        except BaseException as exc:
            # what was measured before an interrupt, in the form the tuner logs
            interrupted.attach(exc, _completed(interrupted.measured_before(exc), build_results))
            raise
        finally:
            _release(inputs, build_results, completed)
        return completed

    def stream(inputs: Sequence[MeasureInput]) -> Iterator[tuple[int, MeasureResult, bool]]:
        inputs = list(inputs)
        build_results = option.builder.build(inputs)
        completed: list[MeasureResult] = []
        try:
            for k, res in enumerate(option.runner.run_iter(inputs, build_results)):
                completed.append(_completed([res], [build_results[k]])[0])
                yield k, completed[-1], True
        finally:  # also when the consumer stops early (an interrupt while it logs a trial)
            _release(inputs, build_results, completed)

    # Only where the runner's ``run`` is LocalRunner's own: a subclass that redefines ``run`` (TVM's
    # way to customize a runner), or a ``run`` replaced on the class, is called as it expects, one
    # batch at a time.
    if isinstance(option.runner, LocalRunner) and type(option.runner).run is _LOCAL_RUN:
        measure_batch.stream = stream  # type: ignore[attr-defined]

    def close() -> None:
        close_runner = getattr(option.runner, "close", None)
        if callable(close_runner):
            close_runner()

    measure_batch.close = close  # type: ignore[attr-defined]
    return measure_batch
