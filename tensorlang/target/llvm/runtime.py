"""The CPU runtime: a Module calls LLVM-compiled code on numpy arrays; ``load_module`` opens an
exported library.

Guarantees: arguments are checked by ``target.binder`` before any native code runs; results are
written in place; this module never imports llvmlite, so a library written by
``export_library`` loads and runs without the compiler.
"""

from __future__ import annotations

import ctypes
import hashlib
import numbers
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from ...errors import ArgumentError, BoundsError, BuildError, TargetError
from ..abi import (
    ERR_OUT_OF_BOUNDS,
    ERR_OUT_OF_MEMORY,
    METADATA_SYMBOL,
    NUM_THREADS_SYMBOL,
    OOB_GLOBALS,
    PARALLEL_MIN_WORK_SYMBOL,
    Signature,
    SignedModule,
    bounds_error,
)
from ..binder import ArgBinder, keyword_arguments_error
from ..export_path import export_file_path
from ..packed import ERR_PACKED_CALL, PACKED_CALL_SYMBOL, callback_address, take_error
from ..source_module import SourceModule
from ..timing import ProfileResult, before_repeat, repeat_timings, timing_options

_SOURCE_FORMATS = {"ll": "ll", "ll-unopt": "ll-unopt", "asm": "asm", "s": "asm", "tl": "tl", "loopir": "tl"}
_SCALAR_CTYPES = {
    "bool": ctypes.c_bool, "int8": ctypes.c_int8, "int16": ctypes.c_int16, "int32": ctypes.c_int32,
    "int64": ctypes.c_int64, "uint8": ctypes.c_uint8, "uint16": ctypes.c_uint16,
    "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64,
    "float16": ctypes.c_uint16,  # passed as its bit pattern: C has no portable half type
    "float32": ctypes.c_float, "float64": ctypes.c_double,
}


def default_num_threads() -> int:
    """TENSORLANG_NUM_THREADS when set, else TVM_NUM_THREADS or OMP_NUM_THREADS (TVM's runtime reads
    those two, so ported scripts and their benchmarks set them), else the processors this process may
    run on."""
    for name in ("TENSORLANG_NUM_THREADS", "TVM_NUM_THREADS", "OMP_NUM_THREADS"):
        env = os.environ.get(name)
        if env is None or not env.strip():
            continue
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise TargetError(f"{name} must be a positive integer, got '{env}'")
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


class Module(SignedModule):
    """A compiled function: call it with numpy arrays (results are written in place)."""

    def __init__(self, signature: Signature, library: CodeLibrary, extra_sources: dict[str, str] | None = None):
        self.signature = signature
        self._library = library
        # Sources of other stages of the build (e.g. the CUDA C of an emulated GPU module).
        self.extra_sources = dict(extra_sources or {})
        self._binder = ArgBinder(signature)
        self._argtypes = [ctypes.c_void_p if p.kind == "buffer" else _SCALAR_CTYPES[p.dtype]
                          for p in signature.params]
        self._cfunc: Callable[..., int] | None = None
        self._invoke: Callable[[tuple], int] | None = None
        self._num_threads = 0
        if library.runnable:
            self.set_num_threads(default_num_threads())
            self._link_packed_calls()
            env = os.environ.get("TENSORLANG_PARALLEL_MIN_WORK", "").strip()
            if env:
                if not env.isdigit():
                    raise TargetError(f"TENSORLANG_PARALLEL_MIN_WORK must be a non-negative integer, got '{env}'")
                self.set_parallel_min_work(int(env))

    def _link_packed_calls(self) -> None:
        """Point the module's packed-call slot (present when it calls tl.register_func'ed
        functions) at the dispatcher."""
        try:
            slot = self._library.address(PACKED_CALL_SYMBOL)
        except BuildError:
            return
        ctypes.c_void_p.from_address(slot).value = callback_address()

    @property
    def num_threads(self) -> int:
        return self._num_threads

    def __repr__(self) -> str:
        return f"<tensorlang.Module {self.name}({', '.join(p.name for p in self.signature.params)})>"

    def _function(self) -> Callable[..., int]:
        if self._cfunc is None:
            proto = ctypes.CFUNCTYPE(ctypes.c_int32, *self._argtypes)  # releases the GIL
            self._cfunc = proto(self._library.address(self.signature.symbol))
        return self._cfunc

    def _check_status(self, status: int) -> None:
        if status == ERR_PACKED_CALL:
            exc = take_error()
            if exc is not None:
                raise exc
        if status == ERR_OUT_OF_MEMORY:
            raise MemoryError(f"{self.name}: a heap allocation inside the compiled function failed")
        if status == ERR_OUT_OF_BOUNDS:
            raise self._bounds_error()
        if status:
            raise BuildError(f"{self.name} returned unexpected status {status}")

    def _bounds_error(self) -> BoundsError:
        """What the failing -bounds-check recorded (and reset it for the next call)."""
        types = {"i32": ctypes.c_int32, "i64": ctypes.c_int64, "ptr": ctypes.c_void_p}
        try:
            claim, *values = [types[kind].from_address(self._library.address(symbol)) for symbol, kind in OOB_GLOBALS]
        except BuildError:
            return BoundsError(f"{self.name}: a buffer access was out of bounds (-bounds-check)")
        index, size, name_ptr, write = (v.value for v in values)
        name = ctypes.string_at(name_ptr).decode() if name_ptr else "?"
        claim.value = 0
        return bounds_error(self.name, name, index, size, bool(write))

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise keyword_arguments_error(self.name, kwargs)
        # The hot path of small kernels: the binder's checks made for this signature call the
        # foreign function (``ArgBinder.caller``), both made once.
        invoke = self._invoke
        if invoke is None:
            invoke = self._invoke = self._binder.caller(self._function())
        status = invoke(args)
        if status:
            self._check_status(status)

    def set_num_threads(self, n: int) -> None:
        """Threads a parallel loop may use (0: one per processor, decided at each launch)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 0 <= int(n) < 2**31:
            raise ArgumentError(f"set_num_threads expects a non-negative int, got {n!r}")
        ctypes.c_int32.from_address(self._library.address(NUM_THREADS_SYMBOL)).value = int(n)
        self._num_threads = int(n)

    def set_parallel_min_work(self, n: int) -> None:
        """Element operations of work each thread of a parallel loop must get (default 2**18,
        about 10 us): smaller loops run on fewer threads, down to the calling thread alone, so a
        small kernel is never slower on more threads.  0 lets every loop use every thread.
        ``TENSORLANG_PARALLEL_MIN_WORK`` sets it for every module loaded afterwards."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 0 <= int(n) < 2**62:
            raise ArgumentError(f"set_parallel_min_work expects a non-negative int, got {n!r}")
        try:
            slot = self._library.address(PARALLEL_MIN_WORK_SYMBOL)
        except BuildError:
            return  # a library exported before the threshold existed: every loop uses every thread
        ctypes.c_int64.from_address(slot).value = int(n)

    def time_evaluator(self, func_name: str | int | None = None, dev: Any = None, number: int | None = None,
                       repeat: int | None = None, min_repeat_ms: float | None = None,
                       limit_zero_time_iterations: int = 100, cooldown_interval_ms: float = 0.0,
                       repeats_to_cooldown: int = 1, f_preproc: str = ""
                       ) -> Callable[..., ProfileResult]:
        """A timer: ``time_evaluator(number=10, repeat=1, min_repeat_ms=0)(*args)`` returns a
        ProfileResult of ``repeat`` figures, each the mean of ``number`` calls (``number`` grows
        until one repeat lasts ``min_repeat_ms``). ``time_evaluator(10, 3, 50)`` works too."""
        number, repeat, min_ms = timing_options(self, func_name, dev, number, repeat, min_repeat_ms)
        # TVM 0.12's options (limit_zero_time_iterations only bounds TVM's own retry of zero timings)
        prepare = before_repeat(f_preproc, cooldown_interval_ms, repeats_to_cooldown)
        fn = self._function()

        def evaluate(*args: Any) -> ProfileResult:
            cargs = self._binder.values(args)
            self._check_status(fn(*cargs))  # warm-up: page faults, caches, thread start

            def run(n: int) -> float:
                start = time.perf_counter()
                for _ in range(n):
                    status = fn(*cargs)
                    if status:
                        self._check_status(status)
                return time.perf_counter() - start
            return repeat_timings(run, number, repeat, min_ms, prepare)

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

    def export_library(self, path: str | os.PathLike, fcompile: Any = None, **_options: Any) -> None:
        """Write a shared library that ``load_module`` can load without the compiler, sealed
        with a checksum trailer (see ``seal_library``)."""
        path = export_file_path(path)
        self._library.save(path)
        if not is_sealed(path):
            seal_library(path)

    def save(self, path: str | os.PathLike, fmt: str = "") -> None:
        """Write the module in ``fmt`` (default: the file's extension): "o" object code (link it
        with ``contrib.cc.create_shared``), "bc" LLVM bitcode, "ll" LLVM IR, "s" assembly, "so" a
        shared library."""
        path = export_file_path(path, "Module.save")
        fmt = fmt or os.path.splitext(path)[1].lstrip(".")
        if fmt in ("o", "obj", "bc"):
            what = "bitcode" if fmt == "bc" else "object_code"
            code = getattr(self._library, what, None)
            if code is None:
                raise TargetError(f"module '{self.name}' was loaded from a library and has no "
                                  f"{'LLVM bitcode' if fmt == 'bc' else 'object code'}")
            with open(path, "wb") as f:
                f.write(code())
        elif fmt == "so":
            self.export_library(path)
        elif fmt in ("ll", "s", "asm", "tl"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.get_source(fmt))
        else:
            raise TargetError(f"Module.save: unknown format '{fmt}' for {path} (o, bc, ll, s, so)")

    @property
    def imported_modules(self) -> list[SourceModule]:
        """The device code of the build: the CUDA module of a ``cuda -emulate`` build."""
        device = {k: v for k, v in self.extra_sources.items() if k in ("cuda", "ptx")}
        return ([SourceModule("cuda", device)] if device else []) + self._imported()

    @property
    def type_key(self) -> str:
        return "llvm"


class SharedLibrary:
    """A library written by ``export_library``, opened with ctypes."""

    runnable = True

    def __init__(self, path: str, private_copy: bool = False):
        self.path = os.path.abspath(path)
        if private_copy:
            # The dynamic loader hands out the library it already holds for a path (or a file):
            # a file exported again to that path loads from a copy of its own.
            folder = tempfile.mkdtemp(prefix="tensorlang-load-")
            copy = os.path.join(folder, os.path.basename(self.path))
            shutil.copyfile(self.path, copy)
            weakref.finalize(self, shutil.rmtree, folder, True)  # the mapping outlives the file
            self.path = copy
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


# A trailer after the ELF image: magic, SHA-256 of the image, image length.  The dynamic loader
# ignores bytes past the segments it maps, so a sealed library stays an ordinary .so.
_SEAL_MAGIC = b"TLSEAL01"
_SEAL_SIZE = len(_SEAL_MAGIC) + 32 + 8


def seal_library(path: str) -> None:
    """Append the checksum trailer to the library ``path``."""
    with open(path, "rb") as f:
        image = f.read()
    with open(path, "ab") as f:
        f.write(_SEAL_MAGIC + hashlib.sha256(image).digest() + len(image).to_bytes(8, "little"))
        f.flush()
        os.fsync(f.fileno())


def is_sealed(path: str) -> bool:
    try:
        check_sealed(path)
        return True
    except BuildError:
        return False


def check_sealed(path: str) -> bytes:
    """BuildError unless ``path`` is a whole library as export_library wrote it: mapping a
    truncated or overwritten one would crash the process (SIGBUS) instead of raising.  Returns
    the image's SHA-256."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise BuildError(f"cannot load {path}: {exc.strerror}") from None
    if len(data) < _SEAL_SIZE or data[-_SEAL_SIZE:-_SEAL_SIZE + len(_SEAL_MAGIC)] != _SEAL_MAGIC:
        raise BuildError(f"{path} was not written by tensorlang's export_library, or it was truncated "
                         "(no checksum trailer); export it again")
    trailer = data[-_SEAL_SIZE:]
    digest, length = trailer[len(_SEAL_MAGIC):-8], int.from_bytes(trailer[-8:], "little")
    image = data[:-_SEAL_SIZE]
    if length != len(image) or hashlib.sha256(image).digest() != digest:
        raise BuildError(f"{path} is damaged: its checksum does not match its contents "
                         "(truncated or modified after export); export it again")
    return digest


# The image each library path (as given, and resolved) was first loaded with in this process: the
# dynamic loader keeps a loaded library for the process's lifetime and returns it for its path again.
_LOADED: dict[str, bytes] = {}


def load_module(path: str | os.PathLike) -> Module:
    """Load a shared library written by ``Module.export_library`` (no compiler needed), after
    checking its checksum trailer."""
    digest = check_sealed(os.fspath(path))
    # The loader matches a library by the name it was opened with and by its file: a path, or a
    # symlink, that now holds another image than the one loaded through it gets a copy of its own.
    names = (os.path.abspath(os.fspath(path)), os.path.realpath(os.fspath(path)))
    stale = any(_LOADED.setdefault(name, digest) != digest for name in names)
    lib = SharedLibrary(os.fspath(path), private_copy=stale)
    try:
        addr = lib.address(METADATA_SYMBOL)
    except BuildError:
        raise BuildError(f"{lib.path} was not written by tensorlang's export_library "
                         f"(no {METADATA_SYMBOL})") from None
    return Module(Signature.from_json(ctypes.string_at(addr).decode()), lib)
