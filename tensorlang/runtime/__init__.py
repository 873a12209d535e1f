"""Runtime helpers: loading exported libraries and TVM-style device arrays."""

from __future__ import annotations

from typing import Any

from .ndarray import Device, NDArray, array, cpu, cuda, device, empty


def load_module(path: str) -> Any:
    """Load a library written by ``Module.export_library`` (no compiler needed)."""
    from ..target.module import load_module as _load
    return _load(path)


__all__ = ["Device", "NDArray", "array", "cpu", "cuda", "device", "empty", "load_module"]
