"""The runtime Module: a compiled function called on numpy arrays, and ``load_module``.

Guarantees: arguments are checked (count, type, dtype, shape, contiguity, writeability,
aliasing) before any native code runs, each failure an ArgumentError that names the argument;
results are written in place; this module never imports llvmlite, so a library written by
``export_library`` loads and runs without the compiler.
"""

from __future__ import annotations

import ctypes
import json
import math
import numbers
import os
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, Union

import numpy as np

from ..errors import ArgumentError, BuildError, TargetError

# The ABI between generated code and this runtime.
NUM_THREADS_SYMBOL = "__tl_num_threads"  # i32 global; 0 means "one thread per processor"
METADATA_SYMBOL = "__tensorlang_metadata"  # NUL-terminated JSON Signature in exported libraries
ERR_OUT_OF_MEMORY = -1  # status a compiled function returns when a heap allocation failed
FORMAT_NAME = "tensorlang-module"
FORMAT_VERSION = 1

# A shape dimension: a constant, a variable name, or {"op": name, "args": [dim, dim]}.
Dim = Union[int, str, dict]

_DIM_OPS: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "floordiv": lambda a, b: a // b,
    "floormod": lambda a, b: a % b,
    "div": lambda a, b: int(a / b),
    "mod": lambda a, b: int(math.fmod(a, b)),
    "min": min,
    "max": max,
}
_DIM_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//", "floormod": "%", "div": "/",
                "mod": "truncmod"}

_SCALAR_CTYPES = {
    "bool": ctypes.c_bool, "int8": ctypes.c_int8, "int16": ctypes.c_int16, "int32": ctypes.c_int32,
    "int64": ctypes.c_int64, "uint8": ctypes.c_uint8, "uint16": ctypes.c_uint16,
    "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64,
    "float16": ctypes.c_uint16,  # passed as its bit pattern: C has no portable half type
    "float32": ctypes.c_float, "float64": ctypes.c_double,
}
_SOURCE_FORMATS = {"ll": "ll", "ll-unopt": "ll-unopt", "asm": "asm", "s": "asm", "tl": "tl", "loopir": "tl"}


# --- the signature: what a caller must pass ------------------------------------------------

@dataclass(frozen=True)
class ParamSpec:
    """One parameter: a ``buffer`` (array) with dtype, shape and whether the function writes
    it, or a ``scalar`` bound to the shape variable named ``var``."""

    kind: str
    name: str
    dtype: str
    shape: tuple[Dim, ...] = ()
    written: bool = False
    var: str = ""


@dataclass(frozen=True)
class Signature:
    """The calling convention of a compiled function; ``params[user_arity:]`` are shape
    variables the runtime derives from array shapes; ``symbol`` names its machine code."""

    name: str
    params: tuple[ParamSpec, ...]
    user_arity: int
    loopir: str = ""
    symbol: str = ""

    def __post_init__(self) -> None:
        if not self.symbol:
            object.__setattr__(self, "symbol", self.name)

    def to_json(self) -> str:
        params = []
        for p in self.params:
            item: dict[str, Any] = {"kind": p.kind, "name": p.name, "dtype": p.dtype}
            if p.kind == "buffer":
                item.update(shape=list(p.shape), written=p.written)
            else:
                item["var"] = p.var
            params.append(item)
        return json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "name": self.name,
                           "symbol": self.symbol, "params": params, "user_arity": self.user_arity,
                           "loopir": self.loopir})

    @classmethod
    def from_json(cls, text: str) -> Signature:
        try:
            d = json.loads(text)
            if d.get("format") != FORMAT_NAME or d.get("version") != FORMAT_VERSION:
                raise BuildError(f"unsupported module format {d.get('format')!r} version "
                                 f"{d.get('version')!r} (this runtime reads {FORMAT_NAME} "
                                 f"version {FORMAT_VERSION})")
            params = tuple(ParamSpec(kind=p["kind"], name=p["name"], dtype=p["dtype"],
                                     shape=tuple(p.get("shape", ())), written=p.get("written", False),
                                     var=p.get("var", "")) for p in d["params"])
            return cls(d["name"], params, int(d["user_arity"]), d.get("loopir", ""), d.get("symbol", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise BuildError(f"corrupt module metadata: {exc}") from None


def dim_str(dim: Dim) -> str:
    if isinstance(dim, dict):
        a, b = (dim_str(x) for x in dim["args"])
        sym = _DIM_SYMBOLS.get(dim["op"])
        return f"({a} {sym} {b})" if sym else f"{dim['op']}({a}, {b})"
    return str(dim)


def _eval_dim(dim: Dim, env: dict[str, int]) -> int | None:
    """The value of a dimension, or None when a variable in it is unbound."""
    if isinstance(dim, int):
        return dim
    if isinstance(dim, str):
        return env.get(dim)
    a, b = (_eval_dim(x, env) for x in dim["args"])
    if a is None or b is None:
        return None
    try:
        return _DIM_OPS[dim["op"]](a, b)
    except ZeroDivisionError:
        return None


# --- argument checking -----------------------------------------------------------------------

class _ArgBinder:
    """Turns user arguments into the ctypes argument tuple, checking everything first."""

    def __init__(self, sig: Signature):
        self.sig = sig
        user = sig.params[:sig.user_arity]
        self.usage = f"{sig.name} expects {sig.user_arity} arguments ({', '.join(p.name for p in user)})"
        self.argtypes = [ctypes.c_void_p if p.kind == "buffer" else _SCALAR_CTYPES[p.dtype]
                         for p in sig.params]
        self.buffers = [(i, p, np.dtype(p.dtype)) for i, p in enumerate(user) if p.kind == "buffer"]
        self.scalars = [(i, p, _scalar_converter(p)) for i, p in enumerate(user) if p.kind == "scalar"]
        self.derived = [(i, p, _scalar_converter(p)) for i, p in enumerate(sig.params) if i >= sig.user_arity]
        self.check_overlap = len(self.buffers) > 1 and any(p.written for _, p, _ in self.buffers)

    def pack(self, args: tuple) -> list:
        if len(args) != self.sig.user_arity:
            raise ArgumentError(f"{self.usage}, got {len(args)}")
        out: list = [None] * len(self.sig.params)
        env: dict[str, int] = {}  # shape variable -> value
        origin: dict[str, tuple[str, int]] = {}  # shape variable -> (argument, dimension or -1)
        for i, p, convert in self.scalars:
            out[i] = env[p.var] = convert(args[i])
            origin[p.var] = (p.name, -1)
        arrays = []
        deferred = []
        for i, p, dtype in self.buffers:
            arr = _array(args[i], p, dtype)
            for d, (got, dim) in enumerate(zip(arr.shape, p.shape)):
                if dim.__class__ is int:
                    if got != dim:
                        raise ArgumentError(f"argument {p.name}: dimension {d} must be {dim}, got {got} "
                                            f"(expected shape {_shape_str(p.shape)}, got {arr.shape})")
                elif dim.__class__ is str:
                    bound = env.get(dim)
                    if bound is None:
                        env[dim] = got
                        origin[dim] = (p.name, d)
                    elif bound != got:
                        name, where = origin[dim]
                        source = f"argument {name}" + (f" (dimension {where})" if where >= 0 else "")
                        raise ArgumentError(f"argument {p.name}: dimension {d} is {got}, but {dim} = "
                                            f"{bound} from {source}")
                else:
                    deferred.append((p, d, dim, got))
            if p.written and not arr.flags.writeable:
                raise ArgumentError(f"argument {p.name} is read-only, but {self.sig.name} writes to it")
            out[i] = ptr = _address(arr)
            arrays.append((p, arr.nbytes, ptr))
        for p, d, dim, got in deferred:
            want = _eval_dim(dim, env)
            if want is not None and want != got:
                raise ArgumentError(f"argument {p.name}: dimension {d} must be {dim_str(dim)} = {want}, "
                                    f"got {got}")
        for i, p, convert in self.derived:
            bound = env.get(p.var)
            if bound is None:
                raise ArgumentError(f"{self.sig.name}: no argument's shape determines {p.name}")
            out[i] = convert(bound)
        if self.check_overlap:
            _check_overlap(arrays)
        return out


def _address(arr: np.ndarray) -> int:
    """The data pointer of a C-contiguous array. Through the buffer protocol is 3x cheaper than
    __array_interface__, but needs a writeable, non-empty array."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(arr))
    except (TypeError, ValueError):
        return arr.__array_interface__["data"][0]


def _array(x: Any, p: ParamSpec, dtype: np.dtype) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        hook = getattr(x, "__tensorlang_array__", None)
        if hook is None:
            raise ArgumentError(f"argument {p.name}: expected a numpy array of {p.dtype}, "
                                f"got {type(x).__name__}")
        x = hook()
        if not isinstance(x, np.ndarray):
            raise ArgumentError(f"argument {p.name}: __tensorlang_array__() returned "
                                f"{type(x).__name__}, not a numpy array")
    if x.dtype != dtype:
        raise ArgumentError(f"argument {p.name}: expected {p.dtype}, got {x.dtype}")
    if x.ndim != len(p.shape):
        raise ArgumentError(f"argument {p.name}: expected {len(p.shape)} dimensions "
                            f"{_shape_str(p.shape)}, got {x.ndim} (shape {x.shape})")
    if not x.flags.c_contiguous:
        raise ArgumentError(f"argument {p.name} is not C-contiguous; pass np.ascontiguousarray({p.name})")
    return x


def _scalar_converter(p: ParamSpec) -> Callable[[Any], Any]:
    """A checker-converter from a Python/numpy scalar to what ctypes passes for ``p``."""
    dt = np.dtype(p.dtype)

    def wrong(x: Any) -> ArgumentError:
        return ArgumentError(f"argument {p.name}: expected a {p.dtype} scalar, got {type(x).__name__} {x!r}")

    if dt.kind == "b":
        def to_bool(x: Any) -> bool:
            if isinstance(x, (bool, np.bool_)) or (isinstance(x, numbers.Integral) and int(x) in (0, 1)):
                return bool(x)
            raise wrong(x)
        return to_bool
    if dt.kind in "iu":
        lo, hi = int(np.iinfo(dt).min), int(np.iinfo(dt).max)

        def to_int(x: Any) -> int:
            if not isinstance(x, (numbers.Integral, np.bool_)):
                raise wrong(x)
            v = int(x)
            if not lo <= v <= hi:
                raise ArgumentError(f"argument {p.name}: {v} does not fit in {p.dtype}")
            return v
        return to_int

    def to_float(x: Any) -> float | int:
        if not isinstance(x, (numbers.Real, np.bool_)):
            raise wrong(x)
        return int(np.float16(x).view(np.uint16)) if dt.itemsize == 2 else float(x)
    return to_float


def _check_overlap(arrays: list[tuple[ParamSpec, int, int]]) -> None:
    """Refuse aliasing when one side is written: the code is compiled assuming none (noalias).
    Each entry is (param, nbytes, address); C-contiguous arrays span exactly that range."""
    for k, (p, size_p, at_p) in enumerate(arrays):
        for q, size_q, at_q in arrays[k + 1:]:
            if (p.written or q.written) and size_p and size_q and at_p < at_q + size_q and at_q < at_p + size_p:
                raise ArgumentError(f"arguments {p.name} and {q.name} overlap in memory")


def _shape_str(shape: tuple[Dim, ...]) -> str:
    return "(" + ", ".join(dim_str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def default_num_threads() -> int:
    """TENSORLANG_NUM_THREADS when set, else the processors this process may run on."""
    env = os.environ.get("TENSORLANG_NUM_THREADS")
    if env is not None and env.strip():
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise TargetError(f"TENSORLANG_NUM_THREADS must be a positive integer, got '{env}'")
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- modules -----------------------------------------------------------------------------------

class CodeLibrary(Protocol):
    """Where a Module's machine code lives: MCJIT memory, or a loaded shared library."""

    @property
    def runnable(self) -> bool: ...

    def address(self, symbol: str) -> int: ...

    def source(self, fmt: str) -> str: ...

    def save(self, path: str) -> None: ...


@dataclass(frozen=True)
class ProfileResult:
    """Per-repeat mean seconds per call, and summary statistics over the repeats."""

    results: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.results)

    @property
    def median(self) -> float:
        return statistics.median(self.results)

    @property
    def min(self) -> float:
        return min(self.results)

    @property
    def max(self) -> float:
        return max(self.results)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.results)

    def __str__(self) -> str:
        return (f"ProfileResult(mean={self.mean * 1e3:.4f} ms, median={self.median * 1e3:.4f} ms, "
                f"min={self.min * 1e3:.4f} ms, max={self.max * 1e3:.4f} ms, repeats={len(self.results)})")


def timing_options(module: Any, func_name: Any, dev: Any, number: int | None, repeat: int | None,
                   min_repeat_ms: float | None) -> tuple[int, int, float]:
    """Normalize time_evaluator's TVM-style arguments (also ``time_evaluator(number, repeat,
    min_repeat_ms)`` positionally) to (number, repeat, min_repeat_ms)."""
    if isinstance(func_name, numbers.Integral) and not isinstance(func_name, bool):
        number, repeat, min_repeat_ms = (int(func_name), dev if dev is not None else repeat,
                                         number if number is not None else min_repeat_ms)
    elif func_name is not None:
        module[func_name]  # noqa: B018 -- raises KeyError for another name
    number = 10 if number is None else int(number)
    repeat = 1 if repeat is None else int(repeat)
    min_ms = 0.0 if min_repeat_ms is None else float(min_repeat_ms)
    if number < 1 or repeat < 1:
        raise ArgumentError(f"time_evaluator needs number >= 1 and repeat >= 1, got {number}, {repeat}")
    return number, repeat, min_ms


def repeat_timings(run: Callable[[int], float], number: int, repeat: int, min_ms: float) -> ProfileResult:
    """``repeat`` figures, each the mean seconds per call of ``run(n)`` (n calls, returning the
    elapsed seconds), with n starting at ``number`` and growing until a repeat lasts ``min_ms``."""
    n, results = number, []
    for _ in range(repeat):
        while True:
            elapsed = run(n)
            if elapsed * 1e3 >= min_ms or n >= 1 << 30:
                break
            n = max(2 * n, math.ceil(n * min_ms / max(elapsed * 1e3, 1e-3) * 1.2))
        results.append(elapsed / n)
    return ProfileResult(tuple(results))


class Module:
    """A compiled function: call it with numpy arrays (results are written in place)."""

    def __init__(self, signature: Signature, library: CodeLibrary, extra_sources: dict[str, str] | None = None):
        self.signature = signature
        self._library = library
        # Sources of other stages of the build (e.g. the CUDA C of an emulated GPU module).
        self.extra_sources = dict(extra_sources or {})
        self._binder = _ArgBinder(signature)
        self._cfunc: Callable[..., int] | None = None
        self._num_threads = 0
        if library.runnable:
            self.set_num_threads(default_num_threads())

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def entry_name(self) -> str:
        return self.signature.name

    @property
    def num_threads(self) -> int:
        return self._num_threads

    def __getitem__(self, name: str) -> Module:
        if name != self.name:
            raise KeyError(f"module has no function '{name}'; it holds '{self.name}'")
        return self

    def __repr__(self) -> str:
        return f"<tensorlang.Module {self.name}({', '.join(p.name for p in self.signature.params)})>"

    def _function(self) -> Callable[..., int]:
        if self._cfunc is None:
            proto = ctypes.CFUNCTYPE(ctypes.c_int32, *self._binder.argtypes)  # releases the GIL
            self._cfunc = proto(self._library.address(self.signature.symbol))
        return self._cfunc

    def _check_status(self, status: int) -> None:
        if status == ERR_OUT_OF_MEMORY:
            raise MemoryError(f"{self.name}: a heap allocation inside the compiled function failed")
        if status:
            raise BuildError(f"{self.name} returned unexpected status {status}")

    def __call__(self, *args: Any) -> None:
        cargs = self._binder.pack(args)
        status = self._function()(*cargs)
        if status:
            self._check_status(status)

    def set_num_threads(self, n: int) -> None:
        """Threads a parallel loop may use (0: one per processor, decided at each launch)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 0 <= int(n) < 2**31:
            raise ArgumentError(f"set_num_threads expects a non-negative int, got {n!r}")
        ctypes.c_int32.from_address(self._library.address(NUM_THREADS_SYMBOL)).value = int(n)
        self._num_threads = int(n)

    def time_evaluator(self, func_name: str | int | None = None, dev: Any = None, number: int | None = None,
                       repeat: int | None = None, min_repeat_ms: float | None = None
                       ) -> Callable[..., ProfileResult]:
        """A timer: ``time_evaluator(number=10, repeat=1, min_repeat_ms=0)(*args)`` returns a
        ProfileResult of ``repeat`` figures, each the mean of ``number`` calls (``number`` grows
        until one repeat lasts ``min_repeat_ms``). ``time_evaluator(10, 3, 50)`` works too."""
        number, repeat, min_ms = timing_options(self, func_name, dev, number, repeat, min_repeat_ms)
        fn = self._function()

        def evaluate(*args: Any) -> ProfileResult:
            cargs = self._binder.pack(args)
            self._check_status(fn(*cargs))  # warm-up: page faults, caches, thread start

            def run(n: int) -> float:
                start = time.perf_counter()
                for _ in range(n):
                    status = fn(*cargs)
                    if status:
                        self._check_status(status)
                return time.perf_counter() - start
            return repeat_timings(run, number, repeat, min_ms)

        return evaluate

    def get_source(self, fmt: str = "ll") -> str:
        """"ll" (optimized LLVM IR), "ll-unopt", "asm"/"s", or "tl"/"loopir" (the loop IR)."""
        if fmt in self.extra_sources:
            return self.extra_sources[fmt]
        kind = _SOURCE_FORMATS.get(fmt)
        if kind is None:
            raise TargetError(f"unknown source format '{fmt}'; choose from {', '.join(_SOURCE_FORMATS)}")
        if kind == "tl":
            if not self.signature.loopir:
                raise TargetError(f"module '{self.name}' does not carry its loop IR")
            return self.signature.loopir
        return self._library.source(kind)

    def export_library(self, path: str | os.PathLike) -> None:
        """Write a shared library that ``load_module`` can load without the compiler."""
        self._library.save(os.fspath(path))


class SharedLibrary:
    """A library written by ``export_library``, opened with ctypes."""

    runnable = True

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        try:
            self._dll = ctypes.CDLL(self.path)
        except OSError as exc:
            raise BuildError(f"cannot load {path}: {exc}") from None

    def address(self, symbol: str) -> int:
        try:
            return ctypes.addressof(ctypes.c_char.in_dll(self._dll, symbol))
        except ValueError:
            raise BuildError(f"{self.path} has no symbol '{symbol}'") from None

    def source(self, fmt: str) -> str:
        raise TargetError(f"a module loaded from {self.path} has no '{fmt}' source; "
                          "only 'tl' (the loop IR) travels with an exported library")

    def save(self, path: str) -> None:
        if os.path.abspath(path) != self.path:
            shutil.copyfile(self.path, path)


def load_module(path: str | os.PathLike) -> Any:
    """Load a library written by ``Module.export_library`` (a CUDA module's export too)."""
    from .cuda.runtime import is_cuda_module_file
    if is_cuda_module_file(path):
        from .cuda.runtime import load_cuda_module
        return load_cuda_module(path)
    lib = SharedLibrary(os.fspath(path))
    try:
        addr = lib.address(METADATA_SYMBOL)
    except BuildError:
        raise BuildError(f"{lib.path} was not written by tensorlang's export_library "
                         f"(no {METADATA_SYMBOL})") from None
    return Module(Signature.from_json(ctypes.string_at(addr).decode()), lib)
