"""Helpers around builds, under TVM's ``tvm.contrib`` names: temporary folders (``utils``),
the system C compiler (``cc``) and BLAS-backed extern stages (``cblas``)."""

from . import cblas, cc, utils

__all__ = ["cblas", "cc", "utils"]
