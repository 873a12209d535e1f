"""The CUDA backend: its target (target), CUDA C generation (codegen), NVRTC compilation
(nvrtc), device limits, the pycuda runtime (runtime), the build that joins them (build) and
CPU emulation of the kernels (emulate).

The entry points every backend package has: ``parse_target``, ``build_func``, ``load_module`` and
``EXPORT_MAGIC``. Importing this package needs neither pycuda, a driver, a GPU nor NVRTC: NVRTC
is loaded on the first compile and pycuda on the first call of a module.
"""

from __future__ import annotations

import os
import sys
import types
from typing import TYPE_CHECKING, Any

from ..target import cuda as make_cuda_target
from .device_limits import check_schedule_extents
from .target import CUDATarget

if TYPE_CHECKING:
    from ...ir.function import PrimFunc
    from ...lowering.launch_extents import KernelExtents
    from .runtime import CUDAModule

# The leading bytes of what ``CUDAModule.export_library`` writes (a JSON object, format first).
EXPORT_MAGIC = (b'{"format": "tensorlang-cuda-module"',)
# Whether schedules for this backend may bind loops to GPU threads.
BINDS_THREADS = True


def parse_target(text: str) -> CUDATarget:
    """The CUDATarget of a target string "cuda [options]"."""
    return CUDATarget.from_string(text)


def build_func(func: PrimFunc, target: CUDATarget, jit: bool = True) -> Any:
    """Compile a lowered function: kernels through NVRTC at build time, loaded on the first call
    whatever ``jit`` says; "-emulate" runs them on the CPU instead (an LLVM Module)."""
    # Imported here: parsing a CUDA target stays cheap; code generation, NVRTC and the driver
    # bindings (and LLVM for -emulate) load on the first build or load.
    if target.emulate:
        from .emulate import build_emulated
        return build_emulated(func, target)
    from .build import build_cuda
    return build_cuda(func, target)


def check_launch_extents(kernels: list[KernelExtents], target: CUDATarget) -> None:
    """Reject kernels over ``target``'s per-block limits from bound inference, before lowering
    (LaunchLimitError naming the stage and the limit)."""
    check_schedule_extents(kernels, target)


def load_module(path: str | os.PathLike) -> CUDAModule:
    """Load a file written by ``CUDAModule.export_library``."""
    from .runtime import load_cuda_module
    return load_cuda_module(path)


__all__ = ["EXPORT_MAGIC", "BINDS_THREADS", "CUDATarget", "build_func", "check_launch_extents", "load_module",
           "parse_target"]


class _CallableBackend(types.ModuleType):
    """In TVM ``tvm.target.cuda(model=, arch=, options=)`` is a function; here
    ``tensorlang.target.cuda`` is this package (importing it replaces any function of that name
    on the parent), so calling the package makes the target as TVM's function does."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return make_cuda_target(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableBackend
