"""Minimal TVM-style device arrays (``tl.nd.array``), so ported code runs unchanged.

An NDArray is a thin wrapper over a C-contiguous host numpy array, whatever its device;
compiled functions accept it wherever they accept numpy arrays (CUDA modules copy it to the
GPU and back; pass pycuda GPUArrays to keep data on the GPU).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ArgumentError


class Device:
    """A device: ``tl.cpu(0)``; GPU devices come with the CUDA backend."""

    def __init__(self, kind: str, index: int = 0):
        self.kind, self.index = kind, index

    def __repr__(self) -> str:
        return f"{self.kind}({self.index})"

    def sync(self) -> None:
        """Nothing to wait for on the CPU."""


def cpu(dev_id: int = 0) -> Device:
    return Device("cpu", dev_id)


def cuda(dev_id: int = 0) -> Device:
    """A CUDA device handle; NDArrays keep host copies, which CUDA modules copy in and out."""
    return Device("cuda", dev_id)


def device(kind: str, dev_id: int = 0) -> Device:
    if kind in ("cpu", "llvm"):
        return Device("cpu", dev_id)
    if kind in ("cuda", "gpu"):
        return Device("cuda", dev_id)
    raise ArgumentError(f"device '{kind}' is not available; use tl.cpu() or tl.cuda()")


class NDArray:
    """An array on a device (the host, here)."""

    def __init__(self, data: np.ndarray, dev: Device):
        self._array = data
        self.device = dev

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> str:
        return str(self._array.dtype)

    def numpy(self) -> np.ndarray:
        """A copy of the contents as a numpy array."""
        return self._array.copy()

    asnumpy = numpy

    def copyfrom(self, source: Any) -> NDArray:
        src = source.numpy() if isinstance(source, NDArray) else np.asarray(source)
        if src.shape != self._array.shape:
            raise ArgumentError(f"copyfrom: shape {src.shape} does not match {self._array.shape}")
        self._array[...] = src
        return self

    def __tensorlang_array__(self) -> np.ndarray:
        return self._array

    def __repr__(self) -> str:
        return f"<tl.nd.NDArray shape={self.shape} dtype={self.dtype} on {self.device}>\n{self._array!r}"


def array(data: Any, dev: Device | None = None) -> NDArray:
    """Copy ``data`` into a new NDArray."""
    return NDArray(np.ascontiguousarray(np.array(data)), dev or cpu())


def empty(shape: Any, dtype: str = "float32", dev: Device | None = None) -> NDArray:
    return NDArray(np.empty(shape, dtype=dtype), dev or cpu())
