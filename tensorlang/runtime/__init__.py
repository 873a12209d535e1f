"""Runtime helpers: loading exported libraries and TVM-style device arrays."""

from __future__ import annotations

from ..target.backends import load_module
from ..target.timing import ProfileResult
from .ndarray import Device, NDArray, array, cpu, cuda, device, empty

__all__ = ["Device", "NDArray", "ProfileResult", "array", "cpu", "cuda", "device", "empty", "load_module"]
