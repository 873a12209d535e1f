"""The argument checker every runtime uses: user arguments to checked, converted values.

Guarantees: arguments are checked (count, type, dtype, shape against the Signature's
dimension formulas, contiguity, writeability, alignment, aliasing of written buffers) before
any native code runs, each failure an ArgumentError naming the argument; shape variables the
caller does not pass are derived from array shapes.
"""

from __future__ import annotations

import ctypes
import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ArgumentError
from .abi import DimCheck, ParamSpec, Signature, dim_str, eval_dim, eval_dim_fitting, shape_str


@dataclass
class BoundArgs:
    """One call's checked arguments: ``values`` by signature index (converted scalars, the
    address of each numpy array, the pointer of each device array), the numpy arrays in
    ``host`` and the device pointers in ``device`` (both by index), and the shape variables."""

    values: list[Any]
    host: dict[int, np.ndarray] = field(default_factory=dict)
    device: dict[int, int] = field(default_factory=dict)
    env: dict[str, int] = field(default_factory=dict)


class ArgBinder:
    """Checks and converts the arguments of calls to a function with signature ``sig``;
    ``device_arrays`` accepts arrays living on a GPU (``device_view``: pycuda GPUArrays,
    ``__cuda_array_interface__``, CUDA DLPack), whose pointers must be aligned as ``align``
    (signature index -> bytes) says."""

    def __init__(self, sig: Signature, device_arrays: bool = False, align: dict[int, int] | None = None):
        self.sig = sig
        self.device_arrays = device_arrays
        self.align = dict(align or {})
        user = sig.params[:sig.user_arity]
        self.usage = f"{sig.name} expects {sig.user_arity} arguments ({', '.join(p.name for p in user)})"
        self.buffers = [(i, p, np.dtype(p.dtype)) for i, p in enumerate(user) if p.kind == "buffer"]
        self.scalars = [(i, p, scalar_converter(p), np.dtype(p.dtype).kind in "iu")
                        for i, p in enumerate(user) if p.kind == "scalar"]
        self.derived = [(i, p, scalar_converter(p)) for i, p in enumerate(sig.params) if i >= sig.user_arity]
        self.check_overlap = len(self.buffers) > 1 and any(p.written for _, p, _ in self.buffers)
        # values(args) is bind(args).values, quickly: a call whose arguments are plain numpy
        # arrays of the right dtype, shape and layout passes the same checks in one straight-line
        # function made for this signature (``_fast_values``); any other call, and any call that
        # fails a check, goes through ``bind``, which raises the error naming the argument.
        self.values: Callable[[tuple], list[Any]] = (None if device_arrays else _fast_values(self)) or self._values

    def _values(self, args: tuple) -> list[Any]:
        return self.bind(args).values

    def caller(self, fn: Callable[..., Any]) -> Callable[[tuple], Any]:
        """``lambda args: fn(*self.values(args))``, with the call made inside the checks made for
        this signature (no list of values in between): the hot path of a compiled function."""
        fast = None if self.device_arrays else _fast_values(self, fn)
        if fast is not None:
            return fast
        values = self.values
        return lambda args: fn(*values(args))

    def bind(self, args: tuple) -> BoundArgs:
        """The checked arguments of one call (ArgumentError on the first wrong one)."""
        if len(args) != self.sig.user_arity:
            raise ArgumentError(f"{self.usage}, got {len(args)}")
        out = BoundArgs([None] * len(self.sig.params))
        env = out.env  # shape variable -> value
        origin: dict[str, tuple[str, int]] = {}  # shape variable -> (argument, dimension or -1)
        for i, p, convert, sizes in self.scalars:
            out.values[i] = value = convert(args[i])
            if sizes:  # only integers size arrays and grids
                env[p.var] = value
                origin[p.var] = (p.name, -1)
        deferred = []
        host_ranges: list[tuple[ParamSpec, int, int]] = []
        device_ranges: list[tuple[ParamSpec, int, int]] = []
        for i, p, dtype in self.buffers:
            x = args[i]
            view = device_view(x) if self.device_arrays else None
            if view is not None:
                shape = self._device_array(view, p, dtype, i)
                if p.written and view.readonly:
                    raise ArgumentError(f"argument {p.name} is a read-only device array, but {self.sig.name} "
                                        "writes to it")
                out.values[i] = out.device[i] = ptr = view.pointer
                device_ranges.append((p, view.nbytes, ptr))
            else:
                arr = _array(x, p, dtype)
                if p.written and not arr.flags.writeable:
                    raise ArgumentError(f"argument {p.name} is read-only, but {self.sig.name} writes to it")
                shape = arr.shape
                out.host[i] = arr
                out.values[i] = ptr = _address(arr)
                host_ranges.append((p, arr.nbytes, ptr))
            for d, (got, dim) in enumerate(zip(shape, p.shape)):
                if dim.__class__ is int:
                    if got != dim:
                        raise ArgumentError(f"argument {p.name}: dimension {d} must be {dim}, got {got} "
                                            f"(expected shape {shape_str(p.shape)}, got {tuple(shape)})")
                elif dim.__class__ is str:
                    bound = env.get(dim)
                    if bound is None:
                        env[dim] = got
                        origin[dim] = (p.name, d)
                    elif bound != got:
                        name, where = origin[dim]
                        source = f"argument {name}" + (f" (dimension {where})" if where >= 0 else "")
                        raise ArgumentError(f"argument {p.name}: dimension {d} is {got}, but {dim} = "
                                            f"{bound} from {source}")
                else:
                    deferred.append((p, d, dim, got))
        for p, d, dim, got in deferred:
            want = eval_dim(dim, env)
            if want is not None and want != got:
                raise ArgumentError(f"argument {p.name}: dimension {d} must be {dim_str(dim)} = {want}, "
                                    f"got {got}")
        for i, p, convert in self.derived:
            bound = env.get(p.var)
            if bound is None:
                raise ArgumentError(f"{self.sig.name}: no argument's shape determines {p.name}")
            try:
                out.values[i] = convert(bound)
            except ArgumentError:
                # The shape variable is no argument: name the array dimension it came from.
                name, d = origin.get(p.var, ("?", -1))
                raise ArgumentError(
                    f"argument {name}: dimension {d} is {bound}, which does not fit the {p.dtype} shape "
                    f"variable {p.var} it binds; declare it as te.var(\"{p.var}\", \"int64\") to take "
                    "arrays that large") from None
        for check in self.sig.checks:
            self._check(check, env, origin)
        if self.check_overlap:  # code is compiled assuming no aliasing (noalias, __restrict__)
            _check_overlap(host_ranges)
            _check_overlap(device_ranges)
        return out

    def _check(self, check: DimCheck, env: dict[str, int], origin: dict[str, tuple[str, int]]) -> None:
        """ArgumentError when a check of the signature fails, naming the variables it uses
        and the arguments they came from."""
        bits = check.bits or 64
        value, bad = eval_dim_fitting(check.dim, env, -2 ** (bits - 1), 2 ** (bits - 1) - 1)
        names = _dim_vars(check.dim)
        given = ", ".join(f"{n} = {env[n]}" + _source(origin.get(n)) for n in names if n in env)
        if bad is not None:
            step, got = bad
            raise ArgumentError(f"{self.sig.name}: {check.what} is {dim_str(check.dim)}, and {dim_str(step)} = "
                                f"{got} does not fit int{bits}, the index type it is computed in ({given})")
        if check.minimum is not None and value is not None and value < check.minimum:
            if check.message:
                raise ArgumentError(f"{self.sig.name}: {check.message}" + (f" ({given})" if given else ""))
            if isinstance(check.dim, str) and check.dim in origin and origin[check.dim][1] < 0:
                raise ArgumentError(f"argument {origin[check.dim][0]}: {check.what} is {check.dim} = {value}; "
                                    f"it must be at least {check.minimum}")
            raise ArgumentError(f"{self.sig.name}: {check.what} is {dim_str(check.dim)} = {value} ({given}); "
                                f"it must be at least {check.minimum}")

    def _device_array(self, x: DeviceView, p: ParamSpec, dtype: np.dtype, index: int) -> tuple[int, ...]:
        if x.dtype != dtype:
            raise ArgumentError(f"argument {p.name}: expected {p.dtype}, got {x.dtype}")
        if len(x.shape) != len(p.shape):
            raise ArgumentError(f"argument {p.name}: expected {len(p.shape)} dimensions {shape_str(p.shape)}, "
                                f"got {len(x.shape)} (shape {x.shape})")
        if not x.contiguous:
            raise ArgumentError(f"argument {p.name} is not C-contiguous on the device; pass a contiguous copy")
        need = self.align.get(index, 0)
        if need and x.pointer % need:
            raise ArgumentError(f"argument {p.name}: the device pointer is not {need}-byte aligned, but the "
                                f"kernels read it with {need}-byte vector accesses; pass an unsliced array")
        return x.shape


def _fast_values(binder: ArgBinder, fn: Callable[..., Any] | None = None) -> Callable[[tuple], Any] | None:
    """The checks of ``binder.bind`` for plain numpy arrays, as one straight-line function made
    per signature (generated source, as ``dataclasses`` does: a Python call costs about as much
    as the kernel of a small one, and a loop over parameters would double it).  It returns the
    checked values of a call; when any argument is not a plain C-contiguous numpy array of its
    dtype and shape (or is read-only where written, or overlaps a written one), or a call-time
    check fails, it returns what ``bind`` gives instead, and ``bind`` raises the error naming the
    argument.  With ``fn``, it returns ``fn(*values)`` instead of the values.  None (no fast path)
    when the signature needs what only ``bind`` does: scalar arguments, dimension formulas, shape
    variables no array gives."""
    sig = binder.sig
    if binder.scalars or any(d.__class__ not in (int, str) for _, p, _ in binder.buffers for d in p.shape):
        return None
    names: dict[str, str] = {}  # shape variable -> its local in the generated code
    ns: dict[str, Any] = {"ndarray": np.ndarray, "from_buffer": ctypes.c_char.from_buffer,
                          "addressof": ctypes.addressof, "pointer_at": ctypes.c_void_p.from_address,
                          "DATA": _DATA_OFFSET}
    lines = [f"if len(args) != {sig.user_arity}: return None"]
    spans = []  # (pointer local, byte-size expression, written)
    for i, p, dtype in binder.buffers:
        x = f"x{i}"
        ns[f"dt{i}"] = dtype
        lines += [f"{x} = args[{i}]",
                  f"if {x}.__class__ is not ndarray or ({x}.dtype is not dt{i} and {x}.dtype != dt{i}): return None"]
        if _DATA_OFFSET is not None:
            lines += [f"flags = {x}.flags",
                      f"if not flags.c_contiguous{' or not flags.writeable' if p.written else ''}: return None"]
        if all(d.__class__ is int for d in p.shape):
            ns[f"shape{i}"] = tuple(p.shape)
            lines.append(f"if {x}.shape != shape{i}: return None")
            size = str(dtype.itemsize * math.prod(p.shape))
        else:
            lines += [f"shape = {x}.shape", f"if len(shape) != {len(p.shape)}: return None"]
            for d, dim in enumerate(p.shape):
                if dim.__class__ is int:
                    lines.append(f"if shape[{d}] != {dim}: return None")
                elif dim in names:
                    lines.append(f"if shape[{d}] != {names[dim]}: return None")
                else:
                    names[dim] = f"v{len(names)}"
                    lines.append(f"{names[dim]} = shape[{d}]")
            size = f"{x}.nbytes"
        if _DATA_OFFSET is not None:  # the array's data pointer, as PyArray_DATA reads it
            lines.append(f"p{i} = pointer_at(id({x}) + DATA).value or 0")
        else:
            # Through the buffer protocol: 3x cheaper than __array_interface__, and it proves the
            # array writeable, C-contiguous and non-empty (else it raises).
            lines += ["try:", f"    p{i} = addressof(from_buffer({x}))", "except (TypeError, ValueError, BufferError):"]
            if p.written:
                lines.append("    return None")
            else:
                lines += [f"    if not {x}.flags.c_contiguous: return None",
                          f"    p{i} = {x}.__array_interface__['data'][0]"]
        spans.append((f"p{i}", size, p.written))
    values = {i: f"p{i}" for i, _, _ in binder.buffers}
    for i, p, _ in binder.derived:
        dtype = np.dtype(p.dtype)
        if p.var not in names or dtype.kind not in "iu":
            return None
        # A dimension of an array is a Python int: converting it is checking its range.
        info = np.iinfo(dtype)
        lines.append(f"if not {int(info.min)} <= {names[p.var]} <= {int(info.max)}: return None")
        values[i] = names[p.var]
    if sig.checks:
        ns["checks_fail"] = functools.partial(_checks_fail, sig.checks)
        lines.append("if checks_fail({" + ", ".join(f"{v!r}: {local}" for v, local in names.items()) + "}): "
                     "return None")
    if binder.check_overlap:  # code is compiled assuming no aliasing (noalias, __restrict__)
        for k, (at_a, size_a, written_a) in enumerate(spans):
            for at_b, size_b, written_b in spans[k + 1:]:
                if written_a or written_b:
                    lines.append(f"if {size_a} and {size_b} and {at_a} < {at_b} + {size_b} and "
                                 f"{at_b} < {at_a} + {size_a}: return None")
    listed = ", ".join(values[i] for i in range(len(sig.params)))
    if fn is None:
        lines.append(f"return [{listed}]")
        lines = [line.replace("return None", "return slow(args)") for line in lines]
    else:
        ns["fn"] = fn
        lines.append(f"return fn({listed})")
        lines = [line.replace("return None", "return fn(*slow(args))") for line in lines]
    ns["slow"] = binder._values
    source = "def values(args):\n" + "".join(f"    {line}\n" for line in lines)
    exec(compile(source, f"<tensorlang argument checks of {sig.name}>", "exec"), ns)  # noqa: S102 - our own source
    return ns["values"]


def _numpy_data_offset() -> int | None:
    """Where a numpy array object keeps its data pointer (numpy's ``PyArrayObject`` puts it
    right after the object header: what ``PyArray_DATA`` reads), checked here on arrays and
    views against ``__array_interface__``; None when that does not hold (another Python or numpy
    build), and the arguments' pointers then come through the buffer protocol.  Reading it is
    about twice as fast as the buffer protocol, which dominates a small kernel's call."""
    offset = object.__basicsize__
    base = np.arange(64, dtype=np.float32)
    try:
        for a in (base, base[3:], base.reshape(8, 8)[2:], np.zeros((2, 3), np.int8), np.empty(0)):
            if (ctypes.c_void_p.from_address(id(a) + offset).value or 0) != a.__array_interface__["data"][0]:
                return None
    except (ValueError, TypeError, OverflowError):
        return None
    return offset


_DATA_OFFSET = _numpy_data_offset()


def _checks_fail(checks: tuple[DimCheck, ...], env: dict[str, int]) -> bool:
    """Whether a call-time check of the signature fails (``ArgBinder._check`` says how)."""
    for check in checks:
        bits = check.bits or 64
        value, bad = eval_dim_fitting(check.dim, env, -2 ** (bits - 1), 2 ** (bits - 1) - 1)
        if bad is not None or (check.minimum is not None and value is not None and value < check.minimum):
            return True
    return False


def _dim_vars(dim: Any) -> list[str]:
    """The variable names of a dimension formula, in order of first use."""
    if isinstance(dim, str):
        return [dim]
    if isinstance(dim, dict):
        out: list[str] = []
        for a in dim["args"]:
            out += [n for n in _dim_vars(a) if n not in out]
        return out
    return []


def _source(where: tuple[str, int] | None) -> str:
    if where is None:
        return ""
    name, d = where
    return f" from argument {name}" if d < 0 else f" from dimension {d} of {name}"


@dataclass(frozen=True)
class DeviceView:
    """An array living on a GPU: its device pointer, shape, numpy dtype and contiguity."""

    pointer: int
    shape: tuple[int, ...]
    dtype: np.dtype
    contiguous: bool
    readonly: bool = False

    @property
    def nbytes(self) -> int:
        n = self.dtype.itemsize
        for d in self.shape:
            n *= d
        return n


_KDL_CUDA = (2, 13)  # DLPack device types: CUDA, CUDA managed memory
_DL_KINDS = {0: "i", 1: "u", 2: "f", 6: "b"}  # DLPack type codes -> numpy kinds


def device_view(x: Any) -> DeviceView | None:
    """``x`` as a GPU array: a pycuda GPUArray, anything with ``__cuda_array_interface__`` (cupy,
    torch, numba) or a DLPack producer on a CUDA device; None for anything else (numpy arrays)."""
    if isinstance(x, np.ndarray):
        return None
    cai = getattr(x, "__cuda_array_interface__", None)
    if isinstance(cai, dict):
        shape = tuple(int(d) for d in cai["shape"])
        dtype = np.dtype(cai["typestr"])
        strides = cai.get("strides")
        contiguous = strides is None or tuple(strides) == _c_strides(shape, dtype.itemsize)
        data = cai["data"]
        return DeviceView(int(data[0] or 0), shape, dtype, contiguous, len(data) > 1 and bool(data[1]))
    if hasattr(x, "gpudata") and hasattr(x, "shape") and hasattr(x, "dtype"):
        flags = getattr(x, "flags", None)
        return DeviceView(int(x.gpudata), tuple(int(d) for d in x.shape), np.dtype(x.dtype),
                          flags is None or bool(flags.c_contiguous))
    if hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__"):
        try:
            kind = int(x.__dlpack_device__()[0])
        except Exception:  # noqa: BLE001 - not a usable DLPack producer
            return None
        if kind in _KDL_CUDA:
            return _dlpack_view(x)
    return None


def _c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32),
                ("ndim", ctypes.c_int32), ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


def _dlpack_view(x: Any) -> DeviceView:
    """Read the DLTensor of ``x.__dlpack__()`` (the capsule stays unconsumed: its destructor
    releases it; the memory is ``x``'s, which the caller holds)."""
    capsule = x.__dlpack__()
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    t = _DLTensor.from_address(get(capsule, b"dltensor"))  # DLManagedTensor starts with its DLTensor
    if t.code not in _DL_KINDS or t.lanes != 1:
        raise ArgumentError(f"a DLPack array of type code {t.code} ({t.bits} bits x {t.lanes}) has no numpy dtype")
    dtype = np.dtype(f"{_DL_KINDS[t.code]}{t.bits // 8}") if t.code != 6 else np.dtype(np.bool_)
    shape = tuple(int(t.shape[i]) for i in range(t.ndim))
    strides = tuple(int(t.strides[i]) * dtype.itemsize for i in range(t.ndim)) if t.strides else None
    contiguous = strides is None or strides == _c_strides(shape, dtype.itemsize)
    return DeviceView(int(t.data or 0) + int(t.byte_offset), shape, dtype, contiguous)


def _address(arr: np.ndarray) -> int:
    """The data pointer of a C-contiguous array. Through the buffer protocol is 3x cheaper than
    __array_interface__, but needs a writeable, non-empty array."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(arr))
    except (TypeError, ValueError):
        return arr.__array_interface__["data"][0]


def _array(x: Any, p: ParamSpec, dtype: np.dtype) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        hook = getattr(x, "__tensorlang_array__", None)
        if hook is None:
            got = (f"the numpy scalar {type(x).__name__} {str(x):.30}; pass an array: np.asarray(...)"
                   if isinstance(x, np.generic) else type(x).__name__)
            raise ArgumentError(f"argument {p.name}: expected a numpy array of {p.dtype}, got {got}")
        x = hook()
        if not isinstance(x, np.ndarray):
            raise ArgumentError(f"argument {p.name}: __tensorlang_array__() returned "
                                f"{type(x).__name__}, not a numpy array")
    if x.dtype != dtype:
        raise ArgumentError(f"argument {p.name}: expected {p.dtype}, got {x.dtype}")
    if x.ndim != len(p.shape):
        raise ArgumentError(f"argument {p.name}: expected {len(p.shape)} dimensions "
                            f"{shape_str(p.shape)}, got {x.ndim} (shape {x.shape})")
    if not x.flags.c_contiguous:
        raise ArgumentError(f"argument {p.name} is not C-contiguous; pass np.ascontiguousarray({p.name})")
    return x


def keyword_arguments_error(function: str, kwargs: dict[str, Any]) -> ArgumentError:
    """A built function takes its arguments by position, in the order given to build."""
    return ArgumentError(f"{function}: arguments are positional, in the order of the build's argument list; "
                         f"got keyword argument(s) {', '.join(sorted(kwargs))}")


def scalar_converter(p: ParamSpec) -> Callable[[Any], Any]:
    """A checker-converter from a Python/numpy scalar to what a kernel is passed for ``p``
    (float16 as its bit pattern: C has no portable half type)."""
    dt = np.dtype(p.dtype)

    def wrong(x: Any) -> ArgumentError:
        shown = f"of shape {tuple(x.shape)}" if hasattr(x, "shape") and getattr(x, "ndim", 0) else f"{x!r:.60}"
        return ArgumentError(f"argument {p.name}: expected a {p.dtype} scalar, got {type(x).__name__} {shown}")

    if dt.kind == "b":
        def to_bool(x: Any) -> bool:
            if isinstance(x, (bool, np.bool_)) or (isinstance(x, numbers.Integral) and int(x) in (0, 1)):
                return bool(x)
            raise wrong(x)
        return to_bool
    if dt.kind in "iu":
        lo, hi = int(np.iinfo(dt).min), int(np.iinfo(dt).max)

        def to_int(x: Any) -> int:
            if not isinstance(x, (numbers.Integral, np.bool_)):
                raise wrong(x)
            v = int(x)
            if not lo <= v <= hi:
                raise ArgumentError(f"argument {p.name}: {v} does not fit in {p.dtype}")
            return v
        return to_int

    def to_float(x: Any) -> float | int:
        if not isinstance(x, (numbers.Real, np.bool_)):
            raise wrong(x)
        try:
            wide = float(x)
        except OverflowError:  # an int past any float (10**400), as numpy refuses it too
            raise ArgumentError(f"argument {p.name}: {x} does not fit in {p.dtype}") from None
        with np.errstate(over="ignore"):
            held = np.array(wide, dt)
        if np.isinf(held) and np.isfinite(wide):
            # A finite value past the dtype's range, refused as a float literal is (te.const).
            raise ArgumentError(f"argument {p.name}: {x} is beyond the range of {p.dtype} "
                                f"(largest {float(np.finfo(dt).max)!r})")
        return int(held.view(np.uint16)) if dt.itemsize == 2 else wide
    return to_float


def _check_overlap(arrays: list[tuple[ParamSpec, int, int]]) -> None:
    """Refuse aliasing when one side is written. Each entry is (param, nbytes, address);
    C-contiguous arrays span exactly that range."""
    for k, (p, size_p, at_p) in enumerate(arrays):
        for q, size_q, at_q in arrays[k + 1:]:
            if (p.written or q.written) and size_p and size_q and at_p < at_q + size_q and at_q < at_p + size_p:
                raise ArgumentError(f"arguments {p.name} and {q.name} overlap in memory")
