"""The CUDA driver behind one small interface: NVIDIA's cuda-python (``cuda.bindings.driver``,
the default) or pycuda.

Guarantees: nothing here imports a binding or touches the driver until ``cuda_device()`` is
first called; a missing binding, driver or GPU is a TargetError (``NO_GPU``) that says how to
run on the CPU instead; a failing driver call is a ``CUDAError`` naming the call and the error
(``fatal`` for sticky errors, after which the process's context is unusable); a process forked
from one that initialized CUDA is refused with a TargetError before it calls the driver (the
driver would answer CUDA_ERROR_NOT_INITIALIZED).  ``TENSORLANG_CUDA_RUNTIME`` chooses the binding
("cuda-python", "pycuda"; default: cuda-python when installed, else pycuda) and
``TENSORLANG_CUDA_DRIVER`` names a module standing in for ``cuda.bindings.driver`` (tests).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ...errors import BuildError, TargetError

NO_GPU = ("no CUDA driver/GPU found; the target 'cuda -emulate' (tensorlang tune --target=\"cuda -emulate\") "
          "runs the kernels on the CPU")
# Errors after which the context is dead: every later call of the process fails the same way.
STICKY_ERRORS = ("CUDA_ERROR_ILLEGAL_ADDRESS", "CUDA_ERROR_LAUNCH_FAILED", "CUDA_ERROR_MISALIGNED_ADDRESS",
                 "CUDA_ERROR_ILLEGAL_INSTRUCTION", "CUDA_ERROR_HARDWARE_STACK_ERROR", "CUDA_ERROR_INVALID_PC",
                 "CUDA_ERROR_ASSERT", "CUDA_ERROR_LAUNCH_TIMEOUT", "CUDA_ERROR_ECC_UNCORRECTABLE",
                 "CUDA_ERROR_CONTEXT_IS_DESTROYED")
# cuDeviceGetAttribute numbers (stable across CUDA versions).
_ATTR_MAX_THREADS, _ATTR_MAX_SHARED, _ATTR_REGISTERS, _ATTR_SMS = 1, 8, 12, 16
_ATTR_CC_MAJOR, _ATTR_CC_MINOR = 75, 76

KernelArg = tuple[Any, Any]  # (ctypes type, value)


class CUDAError(BuildError):
    """A CUDA driver call failed; ``fatal`` when the error is sticky (the context is dead)."""

    def __init__(self, message: str, code: str = "", fatal: bool = False):
        super().__init__(message)
        self.code = code
        self.fatal = fatal


class CUDADevice:
    """One GPU of this process: its properties, and memory, modules, launches and events on its
    primary context (retained once).  Pointers are ints; modules, functions and events are the
    binding's handles."""

    runtime = ""
    ordinal = 0
    name = ""
    compute_capability: tuple[int, int] = (0, 0)
    driver_version = 0
    max_threads_per_block = 1024
    max_shared_memory_per_block = 48 * 1024
    registers_per_block = 65536
    multiprocessors = 0

    @property
    def arch(self) -> str:
        return f"sm_{self.compute_capability[0]}{self.compute_capability[1]}"

    def activate(self) -> None: ...
    def alloc(self, nbytes: int) -> int: ...
    def free(self, ptr: int) -> None: ...
    def htod(self, ptr: int, host: Any, nbytes: int) -> None: ...
    def dtoh(self, host: Any, ptr: int, nbytes: int) -> None: ...
    def load(self, image: bytes) -> Any: ...
    def function(self, module: Any, name: str) -> Any: ...
    def launch(self, fn: Any, grid: Sequence[int], block: Sequence[int], args: Sequence[KernelArg]) -> None: ...
    def event(self) -> Any: ...
    def record(self, event: Any) -> None: ...
    def elapsed(self, start: Any, end: Any) -> float: ...
    def synchronize(self) -> None: ...


class _CudaPython(CUDADevice):
    """The driver API through ``cuda.bindings.driver`` (or a stand-in with the same API)."""

    runtime = "cuda-python"

    def __init__(self, ordinal: int, module: str | None):
        try:
            if module:
                drv = importlib.import_module(module)
            else:
                from cuda.bindings import driver as drv  # type: ignore[import-not-found]
        except Exception as exc:  # noqa: BLE001 - ImportError or a broken install
            raise TargetError(f"{NO_GPU} (cuda-python cannot be imported: {exc}; 'pip install cuda-python')") from None
        self.drv = drv
        try:
            self._call("cuInit", 0)
        except CUDAError as exc:
            raise TargetError(f"{NO_GPU} (the driver does not initialize: {exc})") from None
        except Exception as exc:  # noqa: BLE001 - e.g. libcuda.so is missing
            raise TargetError(f"{NO_GPU} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") \
                from None
        (count,) = self._call("cuDeviceGetCount")
        if count < 1:
            raise TargetError(f"{NO_GPU} (the driver sees no device)")
        if not 0 <= ordinal < count:
            raise TargetError(f"there is no GPU {ordinal}: the driver sees {count}")
        (self.dev,) = self._call("cuDeviceGet", ordinal)
        self.ordinal = ordinal
        (raw,) = self._call("cuDeviceGetName", 256, self.dev)
        self.name = bytes(raw).split(b"\0", 1)[0].decode(errors="replace")
        self.compute_capability = (self._attribute(_ATTR_CC_MAJOR), self._attribute(_ATTR_CC_MINOR))
        self.max_threads_per_block = self._attribute(_ATTR_MAX_THREADS)
        self.max_shared_memory_per_block = self._attribute(_ATTR_MAX_SHARED)
        self.registers_per_block = self._attribute(_ATTR_REGISTERS)
        self.multiprocessors = self._attribute(_ATTR_SMS)
        (self.driver_version,) = self._call("cuDriverGetVersion")
        (self.context,) = self._call("cuDevicePrimaryCtxRetain", self.dev)
        self.activate()

    def _call(self, name: str, *args: Any) -> tuple:
        result = getattr(self.drv, name)(*args)
        err = int(result[0])
        if err:
            try:
                code = bytes(self.drv.cuGetErrorName(err)[1]).decode()
            except Exception:  # noqa: BLE001 - an unknown code
                code = f"CUresult {err}"
            raise CUDAError(f"{name} failed: {code}", code, code in STICKY_ERRORS)
        return tuple(result[1:])

    def _attribute(self, number: int) -> int:
        attr = self.drv.CUdevice_attribute(number)
        return int(self._call("cuDeviceGetAttribute", attr, self.dev)[0])

    def activate(self) -> None:
        self._call("cuCtxSetCurrent", self.context)

    def alloc(self, nbytes: int) -> int:
        return int(self._call("cuMemAlloc", max(int(nbytes), 1))[0])

    def free(self, ptr: int) -> None:
        self._call("cuMemFree", ptr)

    def htod(self, ptr: int, host: Any, nbytes: int) -> None:
        if nbytes:
            self._call("cuMemcpyHtoD", ptr, _address(host), nbytes)

    def dtoh(self, host: Any, ptr: int, nbytes: int) -> None:
        if nbytes:
            self._call("cuMemcpyDtoH", _address(host), ptr, nbytes)

    def load(self, image: bytes) -> Any:
        return self._call("cuModuleLoadData", image)[0]

    def function(self, module: Any, name: str) -> Any:
        return self._call("cuModuleGetFunction", module, name.encode())[0]

    def launch(self, fn: Any, grid: Sequence[int], block: Sequence[int], args: Sequence[KernelArg]) -> None:
        params = (tuple(v for _, v in args), tuple(t for t, _ in args))
        self._call("cuLaunchKernel", fn, *grid, *block, 0, 0, params, 0)

    def event(self) -> Any:
        return self._call("cuEventCreate", 0)[0]

    def record(self, event: Any) -> None:
        self._call("cuEventRecord", event, 0)

    def elapsed(self, start: Any, end: Any) -> float:
        self._call("cuEventSynchronize", end)
        return float(self._call("cuEventElapsedTime", start, end)[0]) / 1e3

    def synchronize(self) -> None:
        self._call("cuCtxSynchronize")


_STRUCT = {ctypes.c_void_p: "P", ctypes.c_bool: "?", ctypes.c_int8: "b", ctypes.c_uint8: "B", ctypes.c_int16: "h",
           ctypes.c_uint16: "H", ctypes.c_int32: "i", ctypes.c_uint32: "I", ctypes.c_int64: "q",
           ctypes.c_uint64: "Q", ctypes.c_float: "f", ctypes.c_double: "d"}


class _PyCUDA(CUDADevice):
    """The driver through pycuda (a separate route: pycuda builds from source against a toolkit)."""

    runtime = "pycuda"

    def __init__(self, ordinal: int):
        try:
            import pycuda.driver as cuda  # type: ignore[import-not-found]
        except Exception as exc:  # noqa: BLE001 - ImportError, or OSError when libcuda is missing
            raise TargetError(f"{NO_GPU} (pycuda cannot be imported: {exc})") from None
        try:
            cuda.init()
            if cuda.Device.count() < 1:
                raise TargetError(f"{NO_GPU} (the driver sees no device)")
            self.device = cuda.Device(ordinal)
            self.ctx = self.device.retain_primary_context()
            self.ctx.push()
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 - pycuda's errors when no driver/device works
            raise TargetError(f"{NO_GPU} ({type(exc).__name__}: {exc})") from None
        self.cuda = cuda
        self.ordinal = ordinal
        self.name = self.device.name()
        self.compute_capability = tuple(self.device.compute_capability())  # type: ignore[assignment]
        self.driver_version = int(cuda.get_driver_version())
        a = cuda.device_attribute
        self.max_threads_per_block = self.device.get_attribute(a.MAX_THREADS_PER_BLOCK)
        self.max_shared_memory_per_block = self.device.get_attribute(a.MAX_SHARED_MEMORY_PER_BLOCK)
        self.registers_per_block = self.device.get_attribute(a.MAX_REGISTERS_PER_BLOCK)
        self.multiprocessors = self.device.get_attribute(a.MULTIPROCESSOR_COUNT)
        self._allocations: dict[int, Any] = {}
        self._prepared: dict[tuple[int, str], Any] = {}

    def _guard(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self.cuda.Error as exc:
            text = str(exc)
            code = next((c for c in STICKY_ERRORS if c.lower().replace("cuda_error_", "") in text.lower()), "")
            raise CUDAError(f"{what} failed: {type(exc).__name__}: {text}", code, bool(code)) from None

    def activate(self) -> None:
        pass  # pushed once at start-up: pycuda keeps it current for this thread

    def alloc(self, nbytes: int) -> int:
        mem = self._guard("mem_alloc", self.cuda.mem_alloc, max(int(nbytes), 1))
        self._allocations[int(mem)] = mem
        return int(mem)

    def free(self, ptr: int) -> None:
        mem = self._allocations.pop(ptr, None)
        if mem is not None:
            self._guard("free", mem.free)

    def htod(self, ptr: int, host: Any, nbytes: int) -> None:
        if nbytes:
            self._guard("memcpy_htod", self.cuda.memcpy_htod, ptr, host)

    def dtoh(self, host: Any, ptr: int, nbytes: int) -> None:
        if nbytes:
            self._guard("memcpy_dtoh", self.cuda.memcpy_dtoh, host, ptr)

    def load(self, image: bytes) -> Any:
        return self._guard("module_from_buffer", self.cuda.module_from_buffer, image)

    def function(self, module: Any, name: str) -> Any:
        return self._guard("get_function", module.get_function, name)

    def launch(self, fn: Any, grid: Sequence[int], block: Sequence[int], args: Sequence[KernelArg]) -> None:
        key = (id(fn), "".join(_STRUCT[t] for t, _ in args))
        if key not in self._prepared:
            fn.prepare(key[1])
            self._prepared[key] = fn
        values = [t(v).value if t is not ctypes.c_void_p else v for t, v in args]
        self._guard("launch", fn.prepared_call, tuple(grid), tuple(block), *values)

    def event(self) -> Any:
        return self.cuda.Event()

    def record(self, event: Any) -> None:
        self._guard("event record", event.record)

    def elapsed(self, start: Any, end: Any) -> float:
        self._guard("event synchronize", end.synchronize)
        return start.time_till(end) / 1e3

    def synchronize(self) -> None:
        self._guard("synchronize", self.cuda.Context.synchronize)


def _address(host: Any) -> int:
    if isinstance(host, int):
        return host
    return int(host.__array_interface__["data"][0])


def runtime_choice() -> str:
    """Which binding drives the GPU: $TENSORLANG_CUDA_RUNTIME, else cuda-python when importable,
    else pycuda."""
    choice = os.environ.get("TENSORLANG_CUDA_RUNTIME", "").strip().lower()
    if choice in ("cuda-python", "pycuda"):
        return choice
    if choice:
        raise TargetError(f"TENSORLANG_CUDA_RUNTIME must be 'cuda-python' or 'pycuda', got '{choice}'")
    if os.environ.get("TENSORLANG_CUDA_DRIVER"):
        return "cuda-python"
    try:
        importlib.import_module("cuda.bindings")
        return "cuda-python"
    except ImportError:
        pass
    try:
        importlib.import_module("pycuda")
        return "pycuda"
    except ImportError:
        return "cuda-python"  # neither: the error then names the wheel to install


_lock = threading.Lock()
_devices: dict[int, CUDADevice] = {}
_init_pid: int | None = None


def cuda_device(ordinal: int = 0) -> CUDADevice:
    """GPU ``ordinal`` of this process, initialized on first use (one primary context per device
    and process)."""
    global _init_pid
    with _lock:
        if _init_pid is not None and _init_pid != os.getpid():
            raise TargetError(f"CUDA was initialized in process {_init_pid} before it forked; a forked child "
                              "cannot use it: run GPU work in a process started with 'spawn' "
                              "(tensorlang's tuner does)")
        dev = _devices.get(ordinal)
        if dev is None:
            if runtime_choice() == "pycuda":
                dev = _PyCUDA(ordinal)
            else:
                dev = _CudaPython(ordinal, os.environ.get("TENSORLANG_CUDA_DRIVER") or None)
            _init_pid = os.getpid()
            _devices[ordinal] = dev
        return dev


def cuda_initialized() -> bool:
    """Whether this process (or the one it was forked from) initialized CUDA."""
    return _init_pid is not None


def driver_library_present() -> bool:
    """Whether the CUDA driver library (libcuda) is on this machine, found without loading it
    (loading it in the tuning parent is harmless, but nothing here needs to)."""
    if ctypes.util.find_library("cuda") or ctypes.util.find_library("nvcuda"):
        return True
    dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d] + ["/usr/lib/wsl/lib"]
    return any(os.path.isfile(os.path.join(d, name)) for d in dirs for name in ("libcuda.so.1", "libcuda.so"))


def probe_arch(timeout: float = 60.0) -> str | None:
    """The architecture of GPU 0 ("sm_90"), or None when there is no usable driver or GPU.
    Unless this process already uses CUDA, a fresh interpreter asks the driver, so that this
    process stays free to fork (a forked child of a CUDA process cannot use CUDA)."""
    if _init_pid == os.getpid() and 0 in _devices:
        return _devices[0].arch
    if not os.environ.get("TENSORLANG_CUDA_DRIVER") and not driver_library_present():
        return None  # no driver library anywhere: no need to start an interpreter to ask (3 s)
    code = ("from tensorlang.target.cuda.driver import cuda_device\n"
            "try:\n    print(cuda_device(0).arch)\nexcept Exception:\n    print('none')")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [*sys.path, env.get("PYTHONPATH", "")] if p)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                             env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.stdout.split()
    return words[-1] if words and words[-1].startswith("sm_") else None
