"""Runtime helpers: loading exported libraries and TVM-style device arrays."""

from __future__ import annotations

import os
from typing import Any

from ..errors import BuildError
from ..target.backends import load_module as _load_module
from ..target.timing import ProfileResult
from .convert import convert
from .enabled import enabled
from .names import DataType, Module, PackedFunc, String, const
from .ndarray import Device, NDArray, array, cpu, cuda, device, empty, gpu
from .packed import get_global_func, list_global_func_names, register_func


def load_module(path: str | os.PathLike) -> Any:
    """Load a module written by any backend's ``export_library`` (``tl.runtime.load_module``)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise BuildError(f"load_module expects the path of a file written by export_library, got {path!r}")
    return _load_module(path)


__all__ = ["convert", "enabled", "DataType", "Module", "PackedFunc", "String", "const",
           "get_global_func", "list_global_func_names", "register_func", "Device", "NDArray", "ProfileResult",
           "array", "cpu", "cuda", "device", "empty", "gpu", "load_module"]
