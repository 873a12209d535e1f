"""Helpers around builds, under TVM's ``tvm.contrib`` names: temporary folders (``utils``),
the system C compiler (``cc``), BLAS-backed extern stages (``cblas``) and CUDA feature checks
and compilation (``nvcc``, by NVRTC), and Graphviz DOT views of a schedule (``tedd``)."""

import importlib
from typing import Any

from . import cblas, cc, pickle_memoize, tedd, utils


def __getattr__(name: str) -> Any:
    # nvcc reaches into the CUDA backend: loaded when TVM code first names tvm.contrib.nvcc
    if name == "nvcc":
        return importlib.import_module(".nvcc", __name__)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")


__all__ = ["cblas", "cc", "pickle_memoize", "tedd", "utils"]
