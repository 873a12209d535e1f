"""The CUDA runtime: a CUDAModule calls its NVRTC-compiled kernels through pycuda.

Guarantees: importing this module (and building a CUDAModule) needs neither pycuda nor a GPU;
pycuda is imported on the first call, and a missing pycuda, driver or GPU is a TargetError that
says how to run on the CPU instead. Arguments are checked like the CPU Module's before anything
reaches the device. numpy arrays are copied to the device and the buffers the function writes
are copied back (in place); pycuda GPUArrays are used where they are, without copies. Kernels
run in plan order on the default stream of GPU 0's primary context, retained once per process.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ArgumentError, BuildError, TargetError
from ..abi import Dim, Signature, dim_str, eval_dim
from ..binder import ArgBinder, BoundArgs
from ..timing import ProfileResult, repeat_timings, timing_options
from .nvrtc import CompiledCUDA, compile_cuda, driver_accepts_ptx

NO_GPU = "no CUDA driver/GPU found; build with target='cuda -emulate' to run on the CPU"
EXPORT_FORMAT = "tensorlang-cuda-module"
EXPORT_VERSION = 1
MAX_GRID = (2**31 - 1, 65535, 65535)
_SOURCE_FORMATS = {"cuda": "cuda", "cu": "cuda", "ptx": "ptx", "tl": "tl", "loopir": "tl"}
# struct characters of scalar kernel parameters (float16 travels as its bits, bool as one byte).
_STRUCT_CHARS = {"bool": "?", "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
                 "uint32": "I", "int64": "q", "uint64": "Q", "float16": "H", "float32": "f", "float64": "d"}


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
    vector loads/stores: a GPUArray passed there must be aligned that much."""

    kernels: tuple[KernelLaunch, ...]
    buffers: tuple[DeviceBufferSpec, ...] = ()
    align: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kernels": [{"name": k.name, "args": [list(a) for a in k.args], "grid": list(k.grid),
                             "block": list(k.block)} for k in self.kernels],
                "buffers": [{"name": b.name, "dtype": b.dtype, "extent": b.extent} for b in self.buffers],
                "align": [list(a) for a in self.align]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LaunchPlan:
        kernels = tuple(KernelLaunch(k["name"], tuple((str(a[0]), int(a[1])) for a in k["args"]),
                                     tuple(k["grid"]), tuple(int(x) for x in k["block"]))  # type: ignore[arg-type]
                        for k in d["kernels"])
        buffers = tuple(DeviceBufferSpec(b["name"], b["dtype"], b["extent"]) for b in d["buffers"])
        return cls(kernels, buffers, tuple((int(a[0]), int(a[1])) for a in d.get("align", ())))


# --- the driver: one primary context per process ----------------------------------------------

class _Driver:
    """pycuda.driver, GPU 0, its primary context (retained once) and what the driver supports."""

    def __init__(self) -> None:
        try:
            import pycuda.driver as cuda  # type: ignore[import-not-found]
        except Exception as exc:  # noqa: BLE001 -- ImportError, or OSError when libcuda is missing
            raise TargetError(f"{NO_GPU} (pycuda cannot be imported: {exc}; 'pip install pycuda' on a "
                              "machine with an NVIDIA driver)") from None
        try:
            cuda.init()
            if cuda.Device.count() < 1:
                raise TargetError(f"{NO_GPU} (the driver sees no device)")
            self.device = cuda.Device(0)
            self.context = self.device.retain_primary_context()
            self.compute_capability: tuple[int, int] = tuple(self.device.compute_capability())  # type: ignore
            self.driver_version = int(cuda.get_driver_version())
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 -- pycuda's errors when no driver/device works
            raise TargetError(f"{NO_GPU} ({type(exc).__name__}: {exc})") from None
        self.cuda = cuda
        self.pid = os.getpid()

    @property
    def arch(self) -> str:
        return f"sm_{self.compute_capability[0]}{self.compute_capability[1]}"

    @contextlib.contextmanager
    def active(self) -> Iterator[Any]:
        """The primary context made current for the block, and CUDA errors as BuildErrors."""
        self.context.push()
        try:
            yield self.cuda
        except self.cuda.Error as exc:
            raise BuildError(f"CUDA error: {type(exc).__name__}: {exc}") from None
        finally:
            self.cuda.Context.pop()


_driver_lock = threading.Lock()
_driver: _Driver | None = None


def cuda_driver() -> _Driver:
    """The process's driver state, initialized on first use."""
    global _driver
    with _driver_lock:
        if _driver is not None and _driver.pid != os.getpid():
            raise TargetError(f"CUDA was initialized in process {_driver.pid} before it forked; a forked child "
                              "cannot use it: start GPU workers with the 'spawn' method")
        if _driver is None:
            _driver = _Driver()
        return _driver


def gpu_available() -> bool:
    """Whether pycuda, a driver and a GPU are usable in this process."""
    try:
        cuda_driver()
        return True
    except TargetError:
        return False


# --- the module -----------------------------------------------------------------------------------

class CUDAModule:
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
        self._functions_pid = 0
        self._load_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def entry_name(self) -> str:
        return self.signature.name

    @property
    def kernel_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.plan.kernels)

    def __getitem__(self, name: str) -> CUDAModule:
        if name != self.name:
            raise KeyError(f"module has no function '{name}'; it holds '{self.name}'")
        return self

    def __repr__(self) -> str:
        return (f"<tensorlang.CUDAModule {self.name}({', '.join(p.name for p in self.signature.params)}) "
                f"{self.compiled.arch}, {len(self.plan.kernels)} kernel(s)>")

    # -- loading --

    def _load(self, drv: _Driver) -> dict[str, Any]:
        """The kernels as pycuda functions in the current context, loaded once per process:
        the cubin when the device runs it, else the PTX when the driver accepts its version,
        else a cubin compiled now for the device's own architecture."""
        with self._load_lock:
            if self._functions is not None and self._functions_pid == os.getpid():
                return self._functions
            cuda = drv.cuda
            reasons = []
            module = None
            for what, image in self._images(drv, reasons):
                try:
                    module = cuda.module_from_buffer(image)
                    break
                except cuda.Error as exc:
                    reasons.append(f"{what}: {exc}")
            if module is None:
                raise BuildError(f"{self.name}: no loadable code for {drv.arch} (driver {drv.driver_version}): "
                                 + "; ".join(reasons))
            functions = {}
            for k in self.plan.kernels:
                fn = module.get_function(k.name)
                fn.prepare("".join(self._struct_char(kind, i) for kind, i in k.args))
                functions[k.name] = fn
            self._functions, self._functions_pid = functions, os.getpid()
            return functions

    def _images(self, drv: _Driver, reasons: list[str]) -> Iterator[tuple[str, bytes]]:
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

    def _struct_char(self, kind: str, index: int) -> str:
        if kind == "buffer":
            return "P"
        p = self.signature.params[index]
        return "P" if p.kind == "buffer" else _STRUCT_CHARS[p.dtype]

    # -- calling --

    @contextlib.contextmanager
    def _prepared(self, args: tuple) -> Iterator[Callable[[], None]]:
        """Bind ``args``, allocate and copy in, and yield ``launch()`` (all kernels, in order, no
        sync); on leaving, wait for the device and copy the written numpy arrays back."""
        bound = self._binder.bind(args)  # errors in arguments before any device work
        drv = cuda_driver()
        with drv.active() as cuda:
            functions = self._load(drv)
            allocations = []
            try:
                pointers = dict(bound.device)
                for i, arr in bound.host.items():
                    mem = cuda.mem_alloc(max(arr.nbytes, 1))
                    allocations.append(mem)
                    if arr.nbytes:
                        cuda.memcpy_htod(mem, arr)
                    pointers[i] = int(mem)
                buffers = []
                for b in self.plan.buffers:
                    count = _evaluate(b.extent, bound.env, f"the size of device buffer {b.name}")
                    mem = cuda.mem_alloc(max(count * np.dtype(b.dtype).itemsize, 1))
                    allocations.append(mem)
                    buffers.append(int(mem))
                launches = [self._launch_args(k, functions[k.name], bound, pointers, buffers)
                            for k in self.plan.kernels]
                launches = [x for x in launches if x is not None]

                def launch() -> None:
                    for fn, grid, block, kargs in launches:
                        fn.prepared_call(grid, block, *kargs)

                yield launch
                cuda.Context.synchronize()  # kernel faults surface here
                for i, arr in bound.host.items():
                    if self.signature.params[i].written and arr.nbytes:
                        cuda.memcpy_dtoh(arr, pointers[i])
            finally:
                for mem in allocations:
                    mem.free()

    def _launch_args(self, k: KernelLaunch, fn: Any, bound: BoundArgs, pointers: dict[int, int],
                     buffers: list[int]) -> tuple[Any, tuple[int, int, int], tuple[int, int, int], list] | None:
        grid = tuple(_evaluate(d, bound.env, f"the grid of kernel {k.name}") for d in k.grid)
        if min(grid) <= 0:
            return None  # nothing to do (an empty input)
        for axis, (g, limit) in enumerate(zip(grid, MAX_GRID)):
            if g > limit:
                raise ArgumentError(f"kernel {k.name} needs {g} blocks along {'xyz'[axis]} for these arguments; "
                                    f"the device allows {limit}")
        kargs: list[Any] = []
        for kind, i in k.args:
            if kind == "buffer":
                kargs.append(buffers[i])
            elif self.signature.params[i].kind == "buffer":
                kargs.append(pointers[i])
            else:
                kargs.append(bound.values[i])
        return fn, (grid[0], grid[1], grid[2]), k.block, kargs

    def __call__(self, *args: Any) -> None:
        with self._prepared(args) as launch:
            launch()

    def time_evaluator(self, func_name: str | int | None = None, dev: Any = None, number: int | None = None,
                       repeat: int | None = None, min_repeat_ms: float | None = None
                       ) -> Callable[..., ProfileResult]:
        """A timer with the CPU Module's signature: ``time_evaluator(number=10, repeat=1,
        min_repeat_ms=0)(*args)`` gives ``repeat`` figures, each the mean seconds of ``number``
        runs of all kernels, timed with CUDA events. Copies of numpy arguments are made once,
        outside the timing, and the results are copied back at the end."""
        number, repeat, min_ms = timing_options(self, func_name, dev, number, repeat, min_repeat_ms)

        def evaluate(*args: Any) -> ProfileResult:
            with self._prepared(args) as launch:
                cuda = cuda_driver().cuda
                launch()  # warm-up: module load, caches, clocks
                start, end = cuda.Event(), cuda.Event()

                def run(n: int) -> float:
                    start.record()
                    for _ in range(n):
                        launch()
                    end.record()
                    end.synchronize()
                    return start.time_till(end) / 1e3
                return repeat_timings(run, number, repeat, min_ms)

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

    def export_library(self, path: str | os.PathLike) -> None:
        """Write a JSON file holding the signature, launch plan, CUDA C, PTX and cubin, which
        ``load_cuda_module`` reads back (no shared library: the code runs through the driver)."""
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
