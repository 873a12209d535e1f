"""Runtime helpers: loading exported libraries and TVM-style device arrays."""

from __future__ import annotations

from ..target.backends import load_module
from ..target.timing import ProfileResult
from .convert import convert
from .enabled import enabled
from .ndarray import Device, NDArray, array, cpu, cuda, device, empty
from .packed import get_global_func, list_global_func_names, register_func

__all__ = ["convert", "enabled",
           "get_global_func", "list_global_func_names", "register_func", "Device", "NDArray", "ProfileResult",
           "array", "cpu", "cuda", "device", "empty", "load_module"]
