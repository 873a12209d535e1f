"""The CUDA runtime: a CUDAModule calls its NVRTC-compiled kernels through the driver API
(``driver``: cuda-python by default, pycuda where chosen).

Guarantees: importing this module (and building a CUDAModule) needs neither a binding nor a
GPU; the driver is initialized on the first call, and a missing binding, driver or GPU is a
TargetError that says how to run on the CPU instead. Arguments are checked like the CPU
Module's before anything reaches the device. numpy arrays are copied to the device and the
buffers the function writes are copied back (in place); arrays already on the GPU (pycuda
GPUArrays, anything with ``__cuda_array_interface__`` or a CUDA DLPack capsule: cupy, torch)
are used where they are, without copies. Kernels run in plan order on the default stream of
GPU 0's primary context, retained once per process.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ArgumentError, BoundsError, BuildError, TargetError
from ..abi import BOUNDS_STATUS_WORDS, Dim, Signature, SignedModule, bounds_error, dim_str, eval_dim
from ..binder import ArgBinder, BoundArgs, keyword_arguments_error
from ..export_path import export_file_path
from ..source_module import SourceModule
from ..timing import ProfileResult, before_repeat, repeat_timings, timing_options
from .driver import CUDADevice, CUDAError, cuda_device
from .nvrtc import CompiledCUDA, compile_cuda, driver_accepts_ptx

EXPORT_FORMAT = "tensorlang-cuda-module"
EXPORT_VERSION = 1
MAX_GRID = (2**31 - 1, 65535, 65535)
_SOURCE_FORMATS = {"cuda": "cuda", "cu": "cuda", "ptx": "ptx", "tl": "tl", "loopir": "tl"}
# ctypes of scalar kernel parameters (float16 travels as its bits, bool as one byte).
_SCALAR_CTYPES = {"bool": ctypes.c_bool, "int8": ctypes.c_int8, "uint8": ctypes.c_uint8, "int16": ctypes.c_int16,
                  "uint16": ctypes.c_uint16, "int32": ctypes.c_int32, "uint32": ctypes.c_uint32,
                  "int64": ctypes.c_int64, "uint64": ctypes.c_uint64, "float16": ctypes.c_uint16,
                  "float32": ctypes.c_float, "float64": ctypes.c_double}


# --- the launch plan: plain data, so an exported module needs no IR -----------------------------

@dataclass(frozen=True)
class KernelLaunch:
    """One kernel launch: its ``args`` are ("param", index into the signature's params) or
    ("buffer", index into LaunchPlan.buffers); ``grid`` dims are evaluated from shape variables."""

    name: str
    args: tuple[tuple[str, int], ...]
    grid: tuple[Dim, Dim, Dim]
    block: tuple[int, int, int]


@dataclass(frozen=True)
class DeviceBufferSpec:
    """A device buffer allocated for each call: ``extent`` elements of ``dtype``."""

    name: str
    dtype: str
    extent: Dim


@dataclass(frozen=True)
class LaunchPlan:
    """What one call does on the device: allocate ``buffers``, launch ``kernels`` in order.
    ``align`` lists (signature param index, bytes) for pointers the kernels access with aligned
    vector loads/stores: a GPUArray passed there must be aligned that much. ``checked`` names
    the buffers whose accesses are checked (-bounds-check; a kernel's ("status", 0) argument is
    then the status buffer abi.BOUNDS_STATUS_WORDS describes)."""

    kernels: tuple[KernelLaunch, ...]
    buffers: tuple[DeviceBufferSpec, ...] = ()
    align: tuple[tuple[int, int], ...] = ()
    checked: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kernels": [{"name": k.name, "args": [list(a) for a in k.args], "grid": list(k.grid),
                             "block": list(k.block)} for k in self.kernels],
                "buffers": [{"name": b.name, "dtype": b.dtype, "extent": b.extent} for b in self.buffers],
                "align": [list(a) for a in self.align], "checked": list(self.checked)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LaunchPlan:
        kernels = tuple(KernelLaunch(k["name"], tuple((str(a[0]), int(a[1])) for a in k["args"]),
                                     tuple(k["grid"]), tuple(int(x) for x in k["block"]))  # type: ignore[arg-type]
                        for k in d["kernels"])
        buffers = tuple(DeviceBufferSpec(b["name"], b["dtype"], b["extent"]) for b in d["buffers"])
        return cls(kernels, buffers, tuple((int(a[0]), int(a[1])) for a in d.get("align", ())),
                   tuple(str(n) for n in d.get("checked", ())))


# --- the driver ----------------------------------------------------------------------------------

def gpu_available(ordinal: int = 0) -> bool:
    """Whether a CUDA binding, a driver and GPU ``ordinal`` are usable in this process (this
    initializes CUDA here: a tuning parent that forks asks ``autotune``'s ``probe_gpu`` instead)."""
    try:
        cuda_device(ordinal)
        return True
    except TargetError:
        return False


# --- the module -----------------------------------------------------------------------------------

class CUDAModule(SignedModule):
    """A compiled CUDA function: call it with numpy arrays (results written in place) or pycuda
    GPUArrays (used in place, no copies); ``get_source("cuda"|"ptx"|"tl")`` shows each stage."""

    def __init__(self, signature: Signature, plan: LaunchPlan, source: str, compiled: CompiledCUDA,
                 target: Any = None):
        self.signature = signature
        self.plan = plan
        self.source = source
        self.compiled = compiled
        self.target = target
        self._binder = ArgBinder(signature, device_arrays=True, align=dict(plan.align))
        self._functions: dict[str, Any] | None = None
        self._functions_key: tuple[int, int] = (0, 0)
        self._load_lock = threading.Lock()

    @property
    def kernel_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.plan.kernels)

    def __repr__(self) -> str:
        return (f"<tensorlang.CUDAModule {self.name}({', '.join(p.name for p in self.signature.params)}) "
                f"{self.compiled.arch}, {len(self.plan.kernels)} kernel(s)>")

    # -- loading --

    def _load(self, dev: CUDADevice) -> dict[str, Any]:
        """The kernels as driver functions of ``dev``, loaded once per process and device: the
        cubin when the device runs it, else the PTX when the driver accepts its version, else a
        cubin compiled now for the device's own architecture."""
        with self._load_lock:
            key = (os.getpid(), dev.ordinal)
            if self._functions is not None and self._functions_key == key:
                return self._functions
            reasons: list[str] = []
            module = None
            for what, image in self._images(dev, reasons):
                try:
                    module = dev.load(image)
                    break
                except CUDAError as exc:
                    if exc.fatal:
                        raise
                    reasons.append(f"{what}: {exc}")
            if module is None:
                raise BuildError(f"{self.name}: no loadable code for {dev.arch} (driver {dev.driver_version}): "
                                 + "; ".join(reasons))
            self._functions = {k.name: dev.function(module, k.name) for k in self.plan.kernels}
            self._functions_key = key
            return self._functions

    def _images(self, drv: CUDADevice, reasons: list[str]) -> Iterator[tuple[str, bytes]]:
        c = self.compiled
        major, minor = _cc(c.arch)
        dev_major, dev_minor = drv.compute_capability
        specific = c.arch.endswith(("a", "f"))
        # SASS runs on later minor versions of its major architecture (arch-specific: exactly it).
        if c.cubin and major == dev_major and (minor == dev_minor if specific else minor <= dev_minor):
            yield f"cubin for {c.arch}", c.cubin
        else:
            reasons.append(f"the cubin is for {c.arch}")
        if (major, minor) <= (dev_major, dev_minor) and driver_accepts_ptx(c, drv.driver_version):
            yield "PTX", c.ptx.encode() + b"\0"
        else:
            reasons.append(f"PTX ISA {c.ptx_version} is newer than the driver accepts or targets a later GPU")
        try:
            again = compile_cuda(self.source, drv.arch, self.name)
        except BuildError as exc:
            reasons.append(f"recompiling for {drv.arch} failed: {exc}")
            return
        if again.cubin:
            yield f"cubin compiled for {drv.arch}", again.cubin

    # -- calling --

    @contextlib.contextmanager
    def _prepared(self, args: tuple) -> Iterator[Callable[[], None]]:
        """Bind ``args``, allocate and copy in, and yield ``launch()`` (all kernels, in order, no
        sync); on leaving, wait for the device and copy the written numpy arrays back."""
        bound = self._binder.bind(args)  # errors in arguments before any device work
        dev = cuda_device(0)
        dev.activate()
        functions = self._load(dev)
        allocations: list[int] = []
        try:
            pointers = dict(bound.device)
            for i, arr in bound.host.items():
                ptr = dev.alloc(arr.nbytes)
                allocations.append(ptr)
                dev.htod(ptr, arr, arr.nbytes)
                pointers[i] = ptr
            buffers = []
            for b in self.plan.buffers:
                count = _evaluate(b.extent, bound.env, f"the size of device buffer {b.name}")
                buffers.append(dev.alloc(count * np.dtype(b.dtype).itemsize))
                allocations.append(buffers[-1])
            status = np.zeros(BOUNDS_STATUS_WORDS, np.uint64)
            if self.plan.checked:
                buffers.append(dev.alloc(status.nbytes))  # after the plan's: ("status", 0) finds it last
                allocations.append(buffers[-1])
                dev.htod(buffers[-1], status, status.nbytes)
            launches = [self._launch_args(k, functions[k.name], bound, pointers, buffers)
                        for k in self.plan.kernels]
            launches = [x for x in launches if x is not None]

            def launch() -> None:
                for fn, grid, block, kargs in launches:
                    dev.launch(fn, grid, block, kargs)

            yield launch
            dev.synchronize()  # kernel faults surface here
            if self.plan.checked:
                dev.dtoh(status, buffers[-1], status.nbytes)
                if status[0]:
                    raise self._bounds_error(status)
            for i, arr in bound.host.items():
                if self.signature.params[i].written:
                    dev.dtoh(arr, pointers[i], arr.nbytes)
        finally:
            for ptr in allocations:
                try:
                    dev.free(ptr)
                except CUDAError:
                    pass  # after a sticky error every call fails: the first error is the one to report

    def _launch_args(self, k: KernelLaunch, fn: Any, bound: BoundArgs, pointers: dict[int, int],
                     buffers: list[int]) -> tuple[Any, tuple[int, int, int], tuple[int, int, int], list] | None:
        grid = tuple(_evaluate(d, bound.env, f"the grid of kernel {k.name}") for d in k.grid)
        if min(grid) <= 0:
            return None  # nothing to do (an empty input)
        for axis, (g, limit) in enumerate(zip(grid, MAX_GRID)):
            if g > limit:
                raise ArgumentError(f"kernel {k.name} needs {g} blocks along {'xyz'[axis]} for these arguments; "
                                    f"the device allows {limit}")
        kargs: list[tuple[Any, Any]] = []
        for kind, i in k.args:
            if kind == "buffer":
                kargs.append((ctypes.c_void_p, buffers[i]))
            elif kind == "status":
                kargs.append((ctypes.c_void_p, buffers[-1]))
            elif self.signature.params[i].kind == "buffer":
                kargs.append((ctypes.c_void_p, pointers[i]))
            else:
                kargs.append((_SCALAR_CTYPES[self.signature.params[i].dtype], bound.values[i]))
        return fn, (grid[0], grid[1], grid[2]), k.block, kargs

    def _bounds_error(self, status: np.ndarray) -> BoundsError:
        """The BoundsError of what a failing -bounds-check recorded in ``status``."""
        index, size, what = (int(np.int64(x)) for x in status[1:4])  # two's complement: index may be < 0
        names = self.plan.checked
        name = names[what // 2] if 0 <= what // 2 < len(names) else "?"
        return bounds_error(self.name, name, index, size, bool(what % 2))

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise keyword_arguments_error(self.name, kwargs)
        with self._prepared(args) as launch:
            launch()

    def time_evaluator(self, func_name: str | int | None = None, dev: Any = None, number: int | None = None,
                       repeat: int | None = None, min_repeat_ms: float | None = None,
                       limit_zero_time_iterations: int = 100, cooldown_interval_ms: float = 0.0,
                       repeats_to_cooldown: int = 1, f_preproc: str = ""
                       ) -> Callable[..., ProfileResult]:
        """A timer with the CPU Module's signature: ``time_evaluator(number=10, repeat=1,
        min_repeat_ms=0)(*args)`` gives ``repeat`` figures, each the mean seconds of ``number``
        runs of all kernels, timed with CUDA events. Copies of numpy arguments are made once,
        outside the timing, and the results are copied back at the end."""
        number, repeat, min_ms = timing_options(self, func_name, dev, number, repeat, min_repeat_ms)
        # TVM 0.12's options (limit_zero_time_iterations only bounds TVM's own retry of zero timings)
        prepare = before_repeat(f_preproc, cooldown_interval_ms, repeats_to_cooldown)

        def evaluate(*args: Any) -> ProfileResult:
            with self._prepared(args) as launch:
                dev = cuda_device(0)
                launch()  # warm-up: module load, caches, clocks
                start, end = dev.event(), dev.event()

                def run(n: int) -> float:
                    dev.record(start)
                    for _ in range(n):
                        launch()
                    dev.record(end)
                    return dev.elapsed(start, end)
                return repeat_timings(run, number, repeat, min_ms, prepare)

        return evaluate

    # -- sources and export --

    def get_source(self, fmt: str = "cuda") -> str:
        """"cuda"/"cu" (the CUDA C), "ptx", or "tl"/"loopir" (the loop IR)."""
        kind = _SOURCE_FORMATS.get(fmt)
        if kind is None:
            raise TargetError(f"unknown source format '{fmt}' for a CUDA module; choose from "
                              f"{', '.join(_SOURCE_FORMATS)}")
        if kind == "cuda":
            return self.source
        if kind == "ptx":
            return self.compiled.ptx
        if not self.signature.loopir:
            raise TargetError(f"module '{self.name}' does not carry its loop IR")
        return self.signature.loopir

    @property
    def imported_modules(self) -> list[SourceModule]:
        """The device module (CUDA C and PTX), as TVM shows it under the host module."""
        return [SourceModule("cuda", {"cuda": self.source, "ptx": self.compiled.ptx or ""})] + self._imported()

    def save(self, path: str | os.PathLike, fmt: str = "") -> None:
        """Write the device code ("ptx", or "cu"/"cuda": the CUDA C; default: the file's extension).
        The host side of a CUDA module is Python here, so there is no object file: save the whole
        module with ``export_library`` and read it back with ``tvm.runtime.load_module``."""
        fmt = fmt or os.path.splitext(os.fspath(path))[1].lstrip(".")
        if fmt not in ("ptx", "cu", "cuda"):
            raise TargetError(f"CUDAModule.save: a CUDA module saves its device code as .ptx or .cu, not '{fmt}' "
                              f"({path}); its host side is Python: use export_library(path) and "
                              "tvm.runtime.load_module(path) to keep the whole module")
        self.imported_modules[0].save(path, fmt)

    @property
    def type_key(self) -> str:
        return "cuda"

    def export_library(self, path: str | os.PathLike) -> None:
        """Write a JSON file holding the signature, launch plan, CUDA C, PTX and cubin, which
        ``load_cuda_module`` reads back (no shared library: the code runs through the driver)."""
        path = export_file_path(path)
        c = self.compiled
        data = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "signature": json.loads(self.signature.to_json()),
                "plan": self.plan.to_dict(), "arch": c.arch, "source": self.source, "ptx": c.ptx,
                "cubin": base64.b64encode(c.cubin).decode() if c.cubin else None, "log": c.log,
                "target": str(self.target) if self.target is not None else None}
        path = os.fspath(path)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)


def load_cuda_module(path: str | os.PathLike) -> CUDAModule:
    """Load a file written by ``CUDAModule.export_library`` (no compiler needed unless the GPU
    can run neither its cubin nor its PTX)."""
    try:
        with open(os.fspath(path)) as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read CUDA module {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or data.get("version") != EXPORT_VERSION:
        raise BuildError(f"{path} is not a tensorlang CUDA module (format {EXPORT_FORMAT} version {EXPORT_VERSION})")
    try:
        signature = Signature.from_json(json.dumps(data["signature"]))
        plan = LaunchPlan.from_dict(data["plan"])
        cubin = base64.b64decode(data["cubin"]) if data.get("cubin") else None
        compiled = CompiledCUDA(cubin, data["ptx"], data.get("log", ""), data["arch"])
        return CUDAModule(signature, plan, data["source"], compiled, data.get("target"))
    except (KeyError, TypeError, ValueError) as exc:
        raise BuildError(f"corrupt CUDA module {path}: {exc}") from None


def is_cuda_module_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a file written by ``CUDAModule.export_library``."""
    try:
        with open(os.fspath(path), "rb") as f:
            head = f.read(64)
    except OSError:
        return False
    return head.startswith(b"{") and EXPORT_FORMAT.encode() in head


def _cc(arch: str) -> tuple[int, int]:
    digits = arch[3:].rstrip("af")
    return int(digits[:-1]), int(digits[-1])


def _evaluate(dim: Dim, env: dict[str, int], what: str) -> int:
    value = eval_dim(dim, env)
    if value is None:
        raise ArgumentError(f"{what} is {dim_str(dim)}, which these arguments leave undefined")
    if value < 0:
        raise ArgumentError(f"{what} is {dim_str(dim)} = {value} for these arguments")
    return value
