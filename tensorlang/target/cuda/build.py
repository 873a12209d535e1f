"""Building a lowered GPU PrimFunc for CUDA: split into kernels, check the device limits,
render CUDA C, compile it with NVRTC, and wrap it in a CUDAModule.

Guarantees: every kernel is checked against the target's limits before compilation and again
with ptxas' register counts after it; every kernel is compiled at build time (so a build without
a GPU still proves the code compiles); the result touches pycuda only when it is called.
"""

from __future__ import annotations

import dataclasses

from ...errors import BuildError
from ...ir.function import Buffer, PrimFunc
from ...ir.passes.bounds_check import insert_bounds_checks
from ...ir.passes.check_thread_private import check_thread_private
from ...ir.wmma import uses_wmma
from ...lowering.kernel_allocations import move_allocations_into_kernels
from ...lowering.thread_guards import guard_short_thread_loops
from ...te import expr as E
from ..abi import Dim, Signature, encode_dim, signature_of
from .callbacks import postprocess, user_compile
from .codegen import GlobalBuffer, HostPlan, render_cuda, split_kernels
from .device_limits import check_launch
from .nvrtc import CompiledCUDA, compile_cuda, has_header
from .runtime import CUDAModule, DeviceBufferSpec, KernelLaunch, LaunchPlan
from .target import CUDATarget


def build_cuda(func: PrimFunc, target: CUDATarget | str = "cuda") -> CUDAModule:
    """Compile ``func`` (lowered for a GPU) for ``target`` into a callable CUDAModule."""
    if isinstance(target, str):
        target = CUDATarget.from_string(target)
    # Shared/local buffers allocated outside their kernel (an IR-builder scratch before its thread
    # scope, shared buffers of a kernel without blockIdx loops) belong inside it, as in TVM.
    func = move_allocations_into_kernels(func)
    # A stage with fewer threads than its kernel's launch is guarded around its own statements,
    # not around the barriers every thread must reach.
    func = guard_short_thread_loops(func)
    plan = split_kernels(func)  # errors name the user's IR, without checks
    check_thread_private(func)  # a local/fragment element read by a thread that did not write it
    signature = _with_kernel_writes(signature_of(func), plan)
    if target.bounds_check:
        plan = split_kernels(insert_bounds_checks(func))
    for kernel in plan.kernels:
        check_launch(kernel, target)
    source = postprocess(render_cuda(plan, target.arch), target)  # TVM's tvm_callback_cuda_postproc
    user = user_compile(source, target)  # TVM's tvm_callback_cuda_compile, instead of NVRTC
    if user is not None:
        kind, data = user
        compiled = CompiledCUDA(data if kind == "cubin" else None, data if kind == "ptx" else "", "", target.arch)
        return CUDAModule(signature, launch_plan(plan, signature), source, compiled, target)
    if uses_wmma(func.body) and not has_header("mma.h"):
        raise BuildError(f"{func.name} uses tensor cores (wmma), whose CUDA header mma.h was not found: install "
                         "the CUDA headers (pip install nvidia-cuda-runtime nvidia-cuda-crt nvidia-cuda-cccl, or a "
                         "CUDA toolkit with CUDA_HOME set) of NVRTC's major version")
    compiled = compile_cuda(source, target.arch, plan.func.name)
    for kernel in plan.kernels:
        used = compiled.resources.get(kernel.name)
        check_launch(kernel, target, registers=used.registers if used else None)
    return CUDAModule(signature, launch_plan(plan, signature), source, compiled, target)


def _with_kernel_writes(signature: Signature, plan: HostPlan) -> Signature:
    """``signature`` with every argument a kernel writes marked written, atomic adds included
    (the signature sees stores only): the runtime copies exactly those back to numpy arrays."""
    written = {p.var for k in plan.kernels for p in k.params if p.is_buffer and p.written}
    params = list(signature.params)
    for i, p in enumerate(plan.func.params):
        if isinstance(p, Buffer) and p.data in written and not params[i].written:
            params[i] = dataclasses.replace(params[i], written=True)
    return dataclasses.replace(signature, params=tuple(params))


def launch_plan(plan: HostPlan, signature: Signature) -> LaunchPlan:
    """The host plan as plain data: kernel arguments as signature/buffer indices, launch and
    buffer sizes as dimension formulas over the signature's shape variables."""
    func = plan.func
    index: dict[E.Var, int] = {}
    keys: dict[E.Var, str] = {}
    for i, (p, spec) in enumerate(zip(func.params, signature.params)):
        if isinstance(p, Buffer):
            index[p.data] = i
        else:
            index[p] = i
            keys[p] = spec.var
    buffer_index = {b.var: j for j, b in enumerate(plan.buffers)}
    kernels = []
    align: dict[int, int] = {}
    for k in plan.kernels:
        args = tuple(("buffer", buffer_index[p.var]) if p.var in buffer_index else ("param", index[p.var])
                     for p in k.params)
        if k.checked:  # the -bounds-check status buffer comes last
            args += (("status", 0),)
        grid = tuple(_dim(e, keys, f"the grid of kernel {k.name}") for e in k.grid)
        kernels.append(KernelLaunch(k.name, args, (grid[0], grid[1], grid[2]), k.block_dims()))
        for var, nbytes in k.vector_align:
            if var in index:
                align[index[var]] = max(align.get(index[var], 0), nbytes)
    buffers = tuple(_buffer_spec(b, keys) for b in plan.buffers)
    return LaunchPlan(tuple(kernels), buffers, tuple(sorted(align.items())), plan.checked_names)


def _buffer_spec(b: GlobalBuffer, keys: dict[E.Var, str]) -> DeviceBufferSpec:
    return DeviceBufferSpec(b.name, str(b.dtype), _dim(b.extent, keys, f"the size of device buffer {b.name}"))


def _dim(e: E.PrimExpr, keys: dict[E.Var, str], what: str) -> Dim:
    """An integer expression over scalar parameters as a runtime dimension formula."""
    return encode_dim(e, keys.get, what)
