"""TVM's ``tvm.driver`` names for ported code."""

from . import build_module

__all__ = ["build_module"]
