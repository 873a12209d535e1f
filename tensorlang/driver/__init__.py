"""TVM's ``tvm.driver`` names for ported code (``tvm.driver.build``, ``tvm.driver.build_module``)."""

from . import build_module
from .build_module import build, lower

__all__ = ["build", "build_module", "lower"]
