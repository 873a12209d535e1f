"""Helpers around builds, under TVM's ``tvm.contrib`` names: temporary folders (``utils``) and
the system C compiler (``cc``)."""

from . import cc, utils

__all__ = ["cc", "utils"]
