"""Minimal TVM-style device arrays (``tl.nd.array``), so ported code runs unchanged.

An NDArray is a thin wrapper over a C-contiguous host numpy array, whatever its device;
compiled functions accept it wherever they accept numpy arrays (CUDA modules copy it to the
GPU and back; pass pycuda GPUArrays to keep data on the GPU).
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ArgumentError


class Device:
    """A device: ``tl.cpu(0)``; GPU devices come with the CUDA backend."""

    def __init__(self, kind: str, index: int = 0):
        self.kind, self.index = kind, index

    def __repr__(self) -> str:
        return f"{self.kind}({self.index})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Device) and (self.kind, self.index) == (other.kind, other.index)

    def __hash__(self) -> int:
        return hash((self.kind, self.index))

    @property
    def device_type(self) -> int:
        """TVM's device type code (1: CPU, 2: CUDA, 4: OpenCL ...)."""
        return _DEVICE_CODES[self.kind]

    @property
    def device_id(self) -> int:
        return self.index

    @property
    def exist(self) -> bool:
        """Whether the device can run code: the CPU always; a GPU when the CUDA driver finds it."""
        if self.kind == "cpu":
            return True
        if self.kind != "cuda":
            return False  # a kind tensorlang has no runtime for (opencl, rocm ...): never present
        from ..target.cuda.runtime import gpu_available  # `import tensorlang` does not load the CUDA backend
        return gpu_available(self.index)

    def sync(self) -> None:
        """Nothing to wait for on the CPU."""

    # TVM's device attributes: None on the CPU and where no GPU answers (as TVM's are when the
    # device does not exist), else what the CUDA driver reports.
    def _gpu(self) -> Any:
        if self.kind != "cuda" or not self.exist:
            return None
        from ..target.cuda.runtime import cuda_device  # as `exist`: only on a GPU device
        return cuda_device(self.index)

    def _gpu_attr(self, read: Callable[[Any], Any]) -> Any:
        gpu = self._gpu()
        return None if gpu is None else read(gpu)

    @property
    def compute_version(self) -> str | None:
        """The GPU's compute capability as TVM writes it (``"9.0"``)."""
        return self._gpu_attr(lambda g: "{}.{}".format(*g.compute_capability))

    @property
    def device_name(self) -> str | None:
        return self._gpu_attr(lambda g: g.name)

    @property
    def max_threads_per_block(self) -> int | None:
        return self._gpu_attr(lambda g: g.max_threads_per_block)

    @property
    def max_shared_memory_per_block(self) -> int | None:
        return self._gpu_attr(lambda g: g.max_shared_memory_per_block)

    @property
    def multi_processor_count(self) -> int | None:
        return self._gpu_attr(lambda g: g.multiprocessors)

    @property
    def warp_size(self) -> int | None:
        return self._gpu_attr(lambda g: 32)

    @property
    def driver_version(self) -> int | None:
        return self._gpu_attr(lambda g: g.driver_version)


def _dev_id(dev_id: Any) -> int:
    if isinstance(dev_id, bool) or not isinstance(dev_id, (int, np.integer)) or dev_id < 0:
        raise ArgumentError(f"a device index must be a non-negative int, got {dev_id!r}")
    return int(dev_id)


def cpu(dev_id: int = 0) -> Device:
    return Device("cpu", _dev_id(dev_id))


def cuda(dev_id: int = 0) -> Device:
    """A CUDA device handle; NDArrays keep host copies, which CUDA modules copy in and out."""
    return Device("cuda", _dev_id(dev_id))


def gpu(dev_id: int = 0) -> Device:
    """TVM's old name for ``cuda`` (TVM warns that it is deprecated, and so does tensorlang)."""
    warnings.warn("tvm.gpu() is deprecated: use tvm.cuda()", DeprecationWarning, stacklevel=2)
    return cuda(dev_id)


# TVM's device kinds and their type codes; tensorlang runs code on "cpu" and "cuda" only, the
# others exist so that TVM code can name them and ask ``.exist`` (False), as on a TVM build
# without that runtime.
_DEVICE_CODES = {"cpu": 1, "cuda": 2, "cuda_host": 3, "opencl": 4, "vulkan": 7, "metal": 8,
                 "vpi": 9, "rocm": 10, "ext_dev": 12, "hexagon": 14, "webgpu": 15}
_DEVICE_NAMES = {"cpu": "cpu", "llvm": "cpu", "c": "cpu", "stackvm": "cpu", "cuda": "cuda", "gpu": "cuda",
                 "nvptx": "cuda", "cl": "opencl", "opencl": "opencl", "sdaccel": "opencl", "aocl": "opencl",
                 "aocl_sw_emu": "opencl", "vulkan": "vulkan", "metal": "metal", "vpi": "vpi", "rocm": "rocm",
                 "ext_dev": "ext_dev", "hexagon": "hexagon", "webgpu": "webgpu"}


def device(kind: str | int, dev_id: int = 0) -> Device:
    """``tl.device("cuda", 0)``, ``tl.device("llvm")``; a target string (``"cuda -emulate"``)
    names its device too.  TVM's other kinds (``"opencl"``, ``"rocm"`` ...) give a device whose
    ``exist`` is False."""
    if isinstance(kind, bool):
        raise ArgumentError(f"device expects a device name such as 'cpu' or 'cuda', got {kind!r}")
    if isinstance(kind, int):  # TVM's device type codes
        kind = {code: name for name, code in _DEVICE_CODES.items()}.get(kind, str(kind))
    if not isinstance(kind, str):
        raise ArgumentError(f"device expects a device name such as 'cpu' or 'cuda', got {kind!r}")
    kind = kind.split()[0] if kind.strip() else kind
    if kind not in _DEVICE_NAMES:
        raise ArgumentError(f"unknown device '{kind}'; use tl.cpu() or tl.cuda() (TVM's kinds: "
                            f"{', '.join(sorted(_DEVICE_NAMES))})")
    return Device(_DEVICE_NAMES[kind], _dev_id(dev_id))


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

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """numpy's reading of the array (``np.asarray(nd)``, ``np.testing`` on an NDArray): its
        contents, copied as ``numpy()`` copies them (TVM's NDArray gives a 0-d object array)."""
        out = self.numpy()
        return out if dtype is None else out.astype(dtype, copy=False)

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def copyto(self, target: NDArray | Device, mem_scope: str | None = None) -> NDArray:
        """Copy into ``target`` (an NDArray of the same shape) or into a new array on a device."""
        _global_scope(mem_scope, "copyto")
        if isinstance(target, Device):
            return NDArray(self._array.copy(), target)
        if not isinstance(target, NDArray):
            raise ArgumentError(f"copyto expects an NDArray or a Device, got {type(target).__name__}")
        if target.shape != self.shape:
            raise ArgumentError(f"copyto: this array's shape {self.shape} does not match the target's {target.shape}")
        return target.copyfrom(self)

    def copyfrom(self, source: Any) -> NDArray:
        src = source.numpy() if isinstance(source, NDArray) else _host_array(source, None, "copyfrom")
        if src.shape != self._array.shape:
            raise ArgumentError(f"copyfrom: shape {src.shape} does not match {self._array.shape}")
        if not self._array.flags.writeable:
            raise ArgumentError("copyfrom: this NDArray views read-only memory (from_dlpack of a read-only "
                                "array); copy it first: tl.nd.array(x.numpy())")
        try:
            self._array[...] = src
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"copyfrom: cannot store {src.dtype} values in a {self.dtype} array ({exc})") from None
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        """``arr[:] = source``: the whole array from a numpy array or NDArray of its shape, as in
        TVM (no other indexing: an NDArray is copied in and out whole)."""
        if not (isinstance(key, slice) and key == slice(None)):
            raise ArgumentError(f"NDArray supports only arr[:] = array (a whole copy), not arr[{key!r}]")
        if not isinstance(value, (NDArray, np.ndarray, np.generic)):
            raise ArgumentError(f"arr[:] = value: value must be a numpy array or NDArray, got {type(value).__name__}")
        self.copyfrom(value)

    def __tensorlang_array__(self) -> np.ndarray:
        return self._array

    # DLPack (TVM's to_dlpack / nd.from_dlpack, and the protocol torch and numpy read): the
    # contents live in host memory, whatever device the array is for, so they export as CPU data.
    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._array.__dlpack_device__()

    def to_dlpack(self) -> Any:
        """A DLPack capsule viewing this array's memory (no copy)."""
        try:
            return self._array.__dlpack__()
        except BufferError as exc:  # read-only memory: a legacy capsule cannot say so
            raise ArgumentError(f"to_dlpack: {exc}; this NDArray views read-only memory, copy it first: "
                                "tl.nd.array(x.numpy())") from None

    def __repr__(self) -> str:
        return f"<tl.nd.NDArray shape={self.shape} dtype={self.dtype} on {self.device}>\n{self._array!r}"


# TVM's dtype names without a width: "float" is float32 and "int" int32 in TVM (te.placeholder
# reads them so), where numpy reads float64 and int64.
_TVM_BARE_DTYPES = {"float": "float32", "int": "int32", "uint": "uint32"}


def _numpy_dtype(dtype: Any, what: str) -> np.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, str):
        dtype = _TVM_BARE_DTYPES.get(dtype.strip(), dtype)
    try:
        dt = np.dtype(str(dtype) if not isinstance(dtype, (np.dtype, type)) else dtype)
    except TypeError:
        raise ArgumentError(f"{what}: unknown dtype {dtype!r}") from None
    return _native(dt)


def _native(dt: np.dtype) -> np.dtype:
    """``dt`` in the machine's byte order: an NDArray's dtype is a TVM dtype ("float32"), which
    compiled code reads natively; a big-endian '>f4' array is held as the same values in float32."""
    return dt.newbyteorder("=") if dt.byteorder not in "=|" else dt


def _host_array(data: Any, dtype: Any, what: str) -> np.ndarray:
    """``data`` as a new C-contiguous numpy array of numbers (or bools) ``dtype``; an
    ArgumentError for what no compiled function can take (ragged lists, strings, objects)."""
    dt = _numpy_dtype(dtype, what)
    try:
        # np.array, not np.ascontiguousarray: that one turns a 0-d array into shape (1,).
        arr = np.array(data, dtype=dt, order="C")
    except (TypeError, ValueError, OverflowError) as exc:
        raise ArgumentError(f"{what}: cannot make an array of {type(data).__name__} {data!r:.60}: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ArgumentError(f"{what}: {type(data).__name__} {data!r:.60} gives an array of {arr.dtype}; arrays hold "
                            "bools, integers or floats")
    if _native(arr.dtype) != arr.dtype:  # big-endian data: the same values, in native order
        arr = arr.astype(_native(arr.dtype))
    return arr


def _global_scope(mem_scope: Any, what: str) -> None:
    """TVM 0.12's ``mem_scope``: arrays here live in plain device memory ("global")."""
    if mem_scope not in (None, "global"):
        raise ArgumentError(f"{what}: mem_scope {mem_scope!r} is not supported; arrays live in global memory "
                            "(pass None or 'global')")


def array(data: Any, device: Device | None = None, dtype: str | None = None, mem_scope: str | None = None
          ) -> NDArray:
    """Copy ``data`` into a new NDArray on ``device`` (TVM also passes it positionally)."""
    if mem_scope is None and dtype == "global":  # TVM's third positional parameter is mem_scope
        dtype = None
    _global_scope(mem_scope, "nd.array")
    if device is not None and not isinstance(device, Device):
        raise ArgumentError(f"nd.array: device must be tl.cpu(...) or tl.cuda(...), got {device!r}")
    src = data.numpy() if isinstance(data, NDArray) else data
    return NDArray(_host_array(src, dtype, "nd.array"), device or cpu())


class _Capsule:
    """A bare DLPack capsule with the protocol numpy's from_dlpack asks for (host memory)."""

    def __init__(self, capsule: Any):
        self.capsule = capsule

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)   # kDLCPU


def from_dlpack(source: Any) -> NDArray:
    """An NDArray viewing the memory of a DLPack capsule or of an object with ``__dlpack__``
    (host memory: numpy, torch CPU tensors, another NDArray); no copy is made."""
    obj = source if hasattr(source, "__dlpack__") else _Capsule(source)
    try:
        data = np.from_dlpack(obj)
    except (TypeError, ValueError, RuntimeError, BufferError) as exc:
        raise ArgumentError(f"from_dlpack: cannot view {type(source).__name__} as a host array ({exc})") from None
    return NDArray(data, cpu())


def empty(shape: Any, dtype: str = "float32", device: Device | None = None, mem_scope: str | None = None) -> NDArray:
    """A new uninitialised NDArray."""
    _global_scope(mem_scope, "nd.empty")
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if hasattr(shape, "__index__"):
        shape = (shape,)
    try:
        dims = tuple(operator.index(d) for d in shape if not isinstance(d, bool))
    except TypeError:
        dims = ()
    if not isinstance(shape, (list, tuple)) or len(dims) != len(shape) or any(d < 0 for d in dims):
        raise ArgumentError(f"nd.empty: the shape must be a tuple of non-negative ints, got {shape!r}")
    if device is not None and not isinstance(device, Device):
        raise ArgumentError(f"nd.empty: device must be tl.cpu(...) or tl.cuda(...), got {device!r}")
    dt = _numpy_dtype(dtype, "nd.empty")
    if dt is None:
        raise ArgumentError("nd.empty: a dtype is required (such as 'float32'), got None")
    if dt.kind not in "biuf":
        raise ArgumentError(f"nd.empty: arrays hold bools, integers or floats, not {dt}")
    try:
        data = np.empty(dims, dtype=dt)
    except (ValueError, MemoryError) as exc:
        raise ArgumentError(f"nd.empty: cannot allocate shape {tuple(shape)} of {dt}: {exc}") from None
    return NDArray(data, device or cpu())
