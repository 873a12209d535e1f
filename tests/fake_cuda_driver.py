"""A stand-in for ``cuda.bindings.driver`` that behaves as the real driver where tests need it.

Like the real driver it returns ``(CUresult, values...)`` tuples, and, like the real driver, a
process forked from one that initialized CUDA cannot use it: ``cuInit`` (and every other call)
there returns CUDA_ERROR_NOT_INITIALIZED.  Sticky errors behave as on hardware: after a kernel
fails with CUDA_ERROR_ILLEGAL_ADDRESS every later call of that process fails the same way.

Device memory is host memory (numpy byte arrays at made-up addresses).  Kernels run through
``TENSORLANG_FAKE_CUDA_KERNELS`` ("module:function", called as ``fn(name, grid, block, args,
memory)``, ``args`` the launch's (ctypes type, value) pairs; it may return a CUresult to fail
the launch).  ``TENSORLANG_FAKE_CUDA_LOG`` names a file that gets one line per event
("PID init", "PID context", "PID launch NAME"), so tests count contexts across processes;
``TENSORLANG_FAKE_CUDA_DEVICES`` sets the device count (default 1); ``TENSORLANG_FAKE_CUDA_MODELS``
("name:major.minor,name:major.minor", one per ordinal, default every device "Fake H200:9.0")
gives each device its name and compute capability.
"""

from __future__ import annotations

import ctypes
import enum
import importlib
import os

import numpy as np


class CUresult(enum.IntEnum):
    CUDA_SUCCESS = 0
    CUDA_ERROR_INVALID_VALUE = 1
    CUDA_ERROR_OUT_OF_MEMORY = 2
    CUDA_ERROR_NOT_INITIALIZED = 3
    CUDA_ERROR_NO_DEVICE = 100
    CUDA_ERROR_INVALID_DEVICE = 101
    CUDA_ERROR_INVALID_IMAGE = 200
    CUDA_ERROR_INVALID_CONTEXT = 201
    CUDA_ERROR_INVALID_HANDLE = 400
    CUDA_ERROR_NOT_FOUND = 500
    CUDA_ERROR_ILLEGAL_ADDRESS = 700
    CUDA_ERROR_LAUNCH_FAILED = 719


class CUdevice_attribute(enum.IntEnum):  # noqa: N801 - the real binding's name
    CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8
    CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10
    CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK = 12
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76


_ATTRIBUTES = {1: 1024, 8: 48 * 1024, 10: 32, 12: 65536, 16: 132, 75: 9, 76: 0}
_STICKY = {CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, CUresult.CUDA_ERROR_LAUNCH_FAILED}

# Process state.  A forked child inherits it, which is how it knows it was forked.
_init_pid: int | None = None
_sticky: CUresult | None = None
_memory: dict[int, np.ndarray] = {}
_next_address = 0x7F00_0000_0000
_handles = iter(range(1, 1 << 30))
_functions: dict[int, str] = {}
_events: dict[int, float] = {}
_clock = [0.0]


def _log(event: str) -> None:
    path = os.environ.get("TENSORLANG_FAKE_CUDA_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{os.getpid()} {event}\n")


def _status() -> CUresult | None:
    """The error every call returns in this process, if any."""
    if _init_pid is None:
        return CUresult.CUDA_ERROR_NOT_INITIALIZED
    if _init_pid != os.getpid():  # forked after initialization: the driver refuses
        return CUresult.CUDA_ERROR_NOT_INITIALIZED
    return _sticky


def cuInit(flags: int):  # noqa: N802 - the driver API's names
    global _init_pid
    if _init_pid is not None and _init_pid != os.getpid():
        _log("init-failed-after-fork")
        return (CUresult.CUDA_ERROR_NOT_INITIALIZED,)
    if _init_pid is None:
        _init_pid = os.getpid()
        _log("init")
    return (CUresult.CUDA_SUCCESS,)


def cuDriverGetVersion():  # noqa: N802
    return (CUresult.CUDA_SUCCESS, 13000)


def cuDeviceGetCount():  # noqa: N802
    err = _status()
    return (err, 0) if err else (CUresult.CUDA_SUCCESS, int(os.environ.get("TENSORLANG_FAKE_CUDA_DEVICES", "1")))


def cuDeviceGet(ordinal: int):  # noqa: N802
    err = _status() or cuDeviceGetCount()[0]
    if err:
        return (err, None)
    if not 0 <= ordinal < cuDeviceGetCount()[1]:
        return (CUresult.CUDA_ERROR_INVALID_DEVICE, None)
    return (CUresult.CUDA_SUCCESS, ordinal)


def _model(dev: int) -> tuple[str, int, int]:
    """(name, major, minor) of device ``dev``."""
    models = [m for m in os.environ.get("TENSORLANG_FAKE_CUDA_MODELS", "").split(",") if m]
    if dev >= len(models):
        return "Fake H200", 9, 0
    name, cc = models[dev].rsplit(":", 1)
    major, minor = cc.split(".")
    return name, int(major), int(minor)


def cuDeviceGetName(length: int, dev: int):  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS, _model(int(dev))[0].encode().ljust(length, b"\0"))


def cuDeviceGetAttribute(attrib: int, dev: int):  # noqa: N802
    name, major, minor = _model(int(dev))
    value = {75: major, 76: minor}.get(int(attrib), _ATTRIBUTES.get(int(attrib), 0))
    return (_status() or CUresult.CUDA_SUCCESS, value)


def cuDevicePrimaryCtxRetain(dev: int):  # noqa: N802
    err = _status()
    if err:
        return (err, None)
    _log("context")
    return (CUresult.CUDA_SUCCESS, next(_handles))


def cuCtxCreate(flags: int, dev: int):  # noqa: N802
    return cuDevicePrimaryCtxRetain(dev)


def cuCtxSetCurrent(ctx: int):  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS,)


def cuCtxPushCurrent(ctx: int):  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS,)


def cuCtxPopCurrent():  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS, None)


def cuCtxSynchronize():  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS,)


def cuModuleLoadData(image: bytes):  # noqa: N802
    err = _status()
    if err:
        return (err, None)
    if not image:
        return (CUresult.CUDA_ERROR_INVALID_IMAGE, None)
    return (CUresult.CUDA_SUCCESS, next(_handles))


def cuModuleGetFunction(module: int, name: bytes):  # noqa: N802
    err = _status()
    if err:
        return (err, None)
    handle = next(_handles)
    _functions[handle] = name.decode() if isinstance(name, bytes) else str(name)
    return (CUresult.CUDA_SUCCESS, handle)


def cuFuncSetAttribute(fn: int, attrib: int, value: int):  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS,)


def cuMemAlloc(nbytes: int):  # noqa: N802
    global _next_address
    err = _status()
    if err:
        return (err, None)
    address = _next_address
    _next_address += (int(nbytes) + 255) // 256 * 256 + 256
    _memory[address] = np.zeros(int(nbytes), dtype=np.uint8)
    return (CUresult.CUDA_SUCCESS, address)


def cuMemFree(ptr: int):  # noqa: N802
    err = _status()
    if err:
        return (err,)
    return (CUresult.CUDA_SUCCESS,) if _memory.pop(int(ptr), None) is not None else (CUresult.CUDA_ERROR_INVALID_VALUE,)


def _host_bytes(host, nbytes: int) -> np.ndarray:
    if isinstance(host, int):
        return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(host))
    return np.asarray(host).reshape(-1).view(np.uint8)[:nbytes]


def _device_bytes(ptr: int, nbytes: int) -> np.ndarray | None:
    """The fake device memory at ``ptr`` (inside an allocation), or None for a bad address."""
    for base, buf in _memory.items():
        if base <= ptr and ptr + nbytes <= base + buf.size:
            return buf[ptr - base: ptr - base + nbytes]
    return None


def cuMemcpyHtoD(dst: int, src, nbytes: int):  # noqa: N802
    err = _status()
    if err:
        return (err,)
    dev = _device_bytes(int(dst), int(nbytes))
    if dev is None:
        return (CUresult.CUDA_ERROR_INVALID_VALUE,)
    dev[:] = _host_bytes(src, int(nbytes))
    return (CUresult.CUDA_SUCCESS,)


def cuMemcpyDtoH(dst, src: int, nbytes: int):  # noqa: N802
    err = _status()
    if err:
        return (err,)
    dev = _device_bytes(int(src), int(nbytes))
    if dev is None:
        return (CUresult.CUDA_ERROR_INVALID_VALUE,)
    _host_bytes(dst, int(nbytes))[:] = dev
    return (CUresult.CUDA_SUCCESS,)


class Memory:
    """What a fake kernel sees: typed views of device memory."""

    def view(self, ptr: int, dtype, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        raw = _device_bytes(int(ptr), count * dt.itemsize)
        if raw is None:
            raise IndexError(f"address {ptr:#x} is outside every allocation")
        return raw.view(dt)


def cuLaunchKernel(fn, gx, gy, gz, bx, by, bz, shared, stream, params, extra):  # noqa: N802
    global _sticky
    err = _status()
    if err:
        return (err,)
    name = _functions.get(int(fn))
    if name is None:
        return (CUresult.CUDA_ERROR_INVALID_HANDLE,)
    _log(f"launch {name}")
    spec = os.environ.get("TENSORLANG_FAKE_CUDA_KERNELS")
    if spec:
        module, _, attr = spec.partition(":")
        impl = getattr(importlib.import_module(module), attr)
        values, types = params
        try:
            result = impl(name, (gx, gy, gz), (bx, by, bz), list(zip(types, values)), Memory())
        except IndexError:
            result = CUresult.CUDA_ERROR_ILLEGAL_ADDRESS
        if result:
            result = CUresult(result)
            if result in _STICKY:
                _sticky = result
            return (result,)
    _clock[0] += 1e-4 * gx * gy * gz  # a deterministic "elapsed time" for events
    return (CUresult.CUDA_SUCCESS,)


def cuEventCreate(flags: int):  # noqa: N802
    err = _status()
    return (err, None) if err else (CUresult.CUDA_SUCCESS, next(_handles))


def cuEventRecord(event: int, stream):  # noqa: N802
    err = _status()
    if err:
        return (err,)
    _events[int(event)] = _clock[0]
    return (CUresult.CUDA_SUCCESS,)


def cuEventSynchronize(event: int):  # noqa: N802
    return (_status() or CUresult.CUDA_SUCCESS,)


def cuEventElapsedTime(start: int, end: int):  # noqa: N802
    err = _status()
    if err:
        return (err, 0.0)
    return (CUresult.CUDA_SUCCESS, 1e3 * (_events[int(end)] - _events[int(start)]))


def cuEventDestroy(event: int):  # noqa: N802
    _events.pop(int(event), None)
    return (CUresult.CUDA_SUCCESS,)


def cuGetErrorName(error):  # noqa: N802
    return (CUresult.CUDA_SUCCESS, CUresult(int(error)).name.encode())
