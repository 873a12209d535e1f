"""Per-block device limits, checked for every kernel at build time, before anything launches.

Guarantees: ``check_launch`` raises LaunchLimitError (a BuildError) naming the kernel, what it
uses and what the target allows when threadIdx extents are not constants, a block has more
threads than the target allows (in total or along one axis), its static shared memory exceeds
the target's, or (when a register count is known, e.g. from ptxas) its registers do not fit.
"""

from __future__ import annotations

from ...errors import BuildError, LaunchLimitError
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
