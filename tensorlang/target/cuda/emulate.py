"""CPU emulation of CUDA builds: ``target="cuda -emulate"``.

Guarantees: the module computes what the GPU kernels compute (blocks, threads, shared and
local memory and barriers honoured by ``ir.passes.emulate_gpu``), runs on the host CPU through
the LLVM backend, rejects kernels over the target's device limits exactly as a GPU build
does, and carries the CUDA C (``get_source("cuda")``) that a GPU build would compile; when
NVRTC is installed the source is compiled too (``get_source("ptx")``), so emulated tests also
prove the kernels compile.
"""

from __future__ import annotations

from ...ir.function import PrimFunc
from ...ir.passes.emulate_gpu import emulate_gpu
from ...ir.passes.remove_no_op import remove_no_op
from ...ir.passes.simplify import simplify_stmt
from ..llvm.build import build_llvm
from ..llvm.runtime import Module
from ..llvm.target import LLVMTarget
from .codegen import render_cuda, split_kernels
from .device_limits import check_launch
from .nvrtc import compile_cuda, nvrtc_available
from .target import CUDATarget


def build_emulated(func: PrimFunc, target: CUDATarget) -> Module:
    """A CPU module running the GPU kernels of ``func`` (module docstring)."""
    plan = split_kernels(func, allow_host_loops=True)
    for kernel in plan.kernels:
        check_launch(kernel, target)
    source = render_cuda(plan)
    sources = {"cuda": source}
    if nvrtc_available():  # without NVRTC, emulation still runs
        sources["ptx"] = compile_cuda(source, target.arch, func.name).ptx
    body = remove_no_op(simplify_stmt(emulate_gpu(func.body)))
    module = build_llvm(func.with_body(body), LLVMTarget.from_string("llvm"))
    module.extra_sources.update(sources)
    return module
