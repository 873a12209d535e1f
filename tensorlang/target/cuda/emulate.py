"""CPU emulation of CUDA builds: ``target="cuda -emulate"``.

Guarantees: the module computes what the GPU kernels compute (blocks, threads, shared and
local memory and barriers honoured by ``ir.passes.emulate_gpu``, atomic adds by
``emulate_atomics``; memory a kernel reads before writing it holds garbage, NaN for floats, as
it would on a GPU, so a missing initialization fails a comparison), runs on the host CPU through
the LLVM backend, rejects kernels over the target's device limits exactly as a GPU build
does, and carries the CUDA C (``get_source("cuda")``) that a GPU build would compile; when
NVRTC is installed the source is compiled too (``get_source("ptx")``), so emulated tests also
prove the kernels compile.
"""

from __future__ import annotations

from typing import Any

from ...ir.function import CallCheck, PrimFunc
from ...ir.passes.bounds_check import insert_bounds_checks
from ...ir.passes.check_thread_private import check_thread_private
from ...ir.passes.emulate_gpu import emulate_gpu
from ...ir.passes.lower_wmma import lower_wmma
from ...ir.passes.remove_no_op import remove_no_op
from ...ir.passes.simplify import simplify_stmt
from ...ir.stmt import Stmt
from ...ir.wmma import uses_wmma
from ...lowering.kernel_allocations import move_allocations_into_kernels
from ...lowering.thread_guards import guard_short_thread_loops
from ...te import expr as E
from ...te.functor import Mutator
from ..llvm.build import build_llvm
from ..llvm.runtime import Module
from ..llvm.target import LLVMTarget
from .callbacks import postprocess
from .codegen import HostPlan, render_cuda, split_kernels
from .device_limits import check_launch
from .emulate_atomics import emulate_with_atomics
from .nvrtc import compile_cuda, has_header, nvrtc_available
from .runtime import MAX_GRID
from .target import CUDATarget

# CUDA device math functions and the C library function that computes the same on the host.
_DEVICE_MATH = {"__expf": "expf", "__logf": "logf", "__log2f": "log2f", "__log10f": "log10f", "__sinf": "sinf",
                "__cosf": "cosf", "__tanf": "tanf", "__powf": "powf", "__exp10f": "exp10f", "exp10f": "exp10f",
                "rsqrtf": None, "__fdividef": None}


class _HostMath(Mutator):
    """Extern calls of CUDA device functions -> the host C library's (or plain arithmetic)."""

    def visit_Call(self, node: E.Call) -> E.PrimExpr:
        node = self.generic_visit(node)
        if node.name not in ("call_extern", "call_pure_extern") or node.args[0].value not in _DEVICE_MATH:
            return node
        fname = node.args[0].value
        host = _DEVICE_MATH[fname]
        if fname == "rsqrtf":
            return E.convert(1.0) / E.Call(node.dtype, "sqrt", node.args[1:])
        if fname == "__fdividef":
            return node.args[1] / node.args[2]
        return node.with_fields(args=(E.StringImm(host), *node.args[1:]))


def _host_math(stmt: Any) -> Any:
    return _HostMath().visit(stmt)


def emulated_body(func: PrimFunc) -> Stmt:
    """The CPU loops that run the kernels of ``func`` (one ``move_allocations_into_kernels`` gave)."""
    body = emulate_with_atomics(lower_wmma(_host_math(func.body)), func.name, emulate_gpu)
    return remove_no_op(simplify_stmt(body))


def build_emulated(func: PrimFunc, target: CUDATarget) -> Module:
    """A CPU module running the GPU kernels of ``func`` (module docstring)."""
    func = guard_short_thread_loops(move_allocations_into_kernels(func))  # as build_cuda does
    plan = split_kernels(func, allow_host_loops=True)  # errors name the user's IR, without checks
    check_thread_private(func)  # a local/fragment element read by a thread that did not write it
    if target.bounds_check:
        # The CUDA C a GPU build would compile, with its checks; the emulation runs the
        # unchecked function through LLVM, which checks the accesses itself (-bounds-check).
        plan = split_kernels(insert_bounds_checks(func), allow_host_loops=True)
    for kernel in plan.kernels:
        check_launch(kernel, target)
    source = postprocess(render_cuda(plan, target.arch), target)  # TVM's tvm_callback_cuda_postproc
    sources = {"cuda": source}
    # Without NVRTC (or without CUDA's mma.h for tensor-core kernels), emulation still runs.
    if nvrtc_available() and (not uses_wmma(func.body) or has_header("mma.h")):
        sources["ptx"] = compile_cuda(source, target.arch, func.name).ptx
    host = LLVMTarget.from_string("llvm -bounds-check" if target.bounds_check else "llvm")
    # A call whose grid a GPU cannot launch is refused, as the CUDA runtime refuses it.
    func = func._replace(checks=(*func.checks, *grid_checks(plan)))
    module = build_llvm(func.with_body(emulated_body(func)), host)
    module.extra_sources.update(sources)
    return module


def grid_checks(plan: HostPlan) -> list[CallCheck]:
    """Call-time checks that each kernel's grid fits the blocks a GPU launches along x, y and z
    (the emulation runs any number; a GPU call of such arguments fails)."""
    checks = []
    for k in plan.kernels:
        for axis, (blocks, limit) in enumerate(zip(k.grid, MAX_GRID)):
            if isinstance(blocks, E.IntImm) and blocks.value <= limit:
                continue
            checks.append(CallCheck(E.const(limit, blocks.dtype) - blocks, f"the grid of kernel {k.name}", minimum=0,
                                    message=f"kernel {k.name} needs more than {limit} blocks along {'xyz'[axis]} "
                                            f"for these arguments, which no GPU launches"))
    return checks
