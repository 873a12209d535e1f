"""Per-block device limits, checked for every kernel at build time, before anything launches.

Guarantees: ``check_schedule_extents`` rejects, from bound inference alone (before lowering),
the kernels whose constant thread extents or shared stages already exceed the target's limits,
naming the stages; ``check_launch`` raises LaunchLimitError (a BuildError) naming the kernel, what it
uses and what the target allows when threadIdx extents are not constants, a block has more
threads than the target allows (in total or along one axis), its static shared memory exceeds
the target's, or (when a register count is known, e.g. from ptxas) its registers do not fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import BuildError, LaunchLimitError
from ...lowering.launch_extents import KernelExtents
from .codegen import THREAD_TAGS, Kernel
from .target import CUDATarget

# Hardware limits of every architecture since sm_30 that no target option changes.
MAX_BLOCK_DIMS = (1024, 1024, 64)
_REGISTER_GRANULE = 256  # registers are allocated to each warp in units of this many


def check_launch(kernel: Kernel, target: CUDATarget, registers: int | None = None) -> None:
    """Reject ``kernel`` when it exceeds ``target``'s per-block limits; ``registers`` is the
    count per thread when known (ptxas' report), else registers are not checked."""
    try:
        dims = kernel.block_dims()
    except BuildError as exc:
        raise LaunchLimitError(str(exc)) from None
    for tag, dim, limit in zip(THREAD_TAGS, dims, MAX_BLOCK_DIMS):
        if dim > limit:
            raise LaunchLimitError(f"kernel {kernel.name} binds {dim} threads to {tag}; the device allows {limit}")
    threads = dims[0] * dims[1] * dims[2]
    if threads > target.max_threads_per_block:
        raise LaunchLimitError(f"kernel {kernel.name} uses {threads} threads per block; the device allows "
                               f"{target.max_threads_per_block}")
    if kernel.shared_bytes > target.max_shared_memory_per_block:
        raise LaunchLimitError(f"kernel {kernel.name} uses {kernel.shared_bytes} bytes of shared memory per "
                               f"block; the device allows {target.max_shared_memory_per_block}")
    if registers is not None:
        warps = -(-threads // target.warp_size)
        per_warp = -(-registers * target.warp_size // _REGISTER_GRANULE) * _REGISTER_GRANULE
        if warps * per_warp > target.registers_per_block:
            raise LaunchLimitError(f"kernel {kernel.name} uses {registers} registers per thread, "
                                   f"{warps * per_warp} per block of {threads} threads; the device allows "
                                   f"{target.registers_per_block}")


def check_schedule_extents(kernels: Sequence[KernelExtents], target: CUDATarget) -> None:
    """Reject a schedule whose kernels certainly exceed ``target``'s per-block limits, from
    bound inference alone (before lowering and NVRTC), naming the stages responsible."""
    for k in kernels:
        kernel = f"the kernel of stage {k.root}" + (f" (the script's loop nest from loop {k.nest})" if k.nest else "")
        for tag, limit in zip(THREAD_TAGS, MAX_BLOCK_DIMS):
            ext, stage = k.threads.get(tag, (1, ""))
            if ext > limit:
                raise LaunchLimitError(f"stage {stage} binds {ext} threads to {tag}; the device allows {limit}")
        threads = 1
        for ext, _ in k.threads.values():
            threads *= ext
        if threads > target.max_threads_per_block:
            parts = ", ".join(f"{tag} = {ext} (stage {stage})" for tag, (ext, stage) in sorted(k.threads.items()))
            raise LaunchLimitError(f"{kernel} uses {threads} threads per block ({parts}); "
                                   f"the device allows {target.max_threads_per_block}")
        if k.shared_bytes > target.max_shared_memory_per_block:
            parts = ", ".join(f"{stage} {n} bytes" for stage, n in k.shared)
            raise LaunchLimitError(f"{kernel} uses {k.shared_bytes} bytes of shared memory per "
                                   f"block ({parts}); the device allows {target.max_shared_memory_per_block}")
