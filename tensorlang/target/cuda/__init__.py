"""The CUDA backend: CUDA C generation (codegen), NVRTC compilation (nvrtc), device limits,
the pycuda runtime (runtime) and the build that joins them (build).

Importing this package needs neither pycuda, a driver, a GPU nor NVRTC: NVRTC is loaded on the
first compile and pycuda on the first call of a module.
"""

from .target import CUDATarget

__all__ = ["CUDATarget"]
