"""Packed calls: Python functions that generated code calls by name (``tir.call_packed``).

A module that makes packed calls holds a pointer global ``PACKED_CALL_SYMBOL``; the runtime
stores the address of ``dispatch`` there when it loads the module.  Generated code passes the
function name and a flat list of arguments: per argument a type code (``INT``, ``FLOAT``,
``STRING``, ``ARRAY``) and its 64-bit slots (an array: data pointer, dtype code, rank, then
the dimensions).  A Python exception becomes status ``ERR_PACKED_CALL``, which the generated
function returns at once; the runtime then raises that exception in the caller.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import TensorLangError
from ..te.extern import DTYPES

PACKED_CALL_SYMBOL = "__tl_packed_call"
ERR_PACKED_CALL = -2
INT, FLOAT, STRING, ARRAY = 0, 1, 2, 3

# name -> function taking numpy arrays and Python numbers (registered through runtime.register_func)
_RAW: dict[str, Callable[..., Any]] = {}
_errors = threading.local()


def _noted(fname: str, nargs: int, exc: Exception) -> Exception:
    """What the user's packed function raised, as it raised it (``except ValueError`` still
    catches it), with a note naming the function generated code called."""
    exc.add_note(f"(raised by the packed function '{fname}', called from generated code with {nargs} argument(s))")
    return exc


def register_raw(name: str, func: Callable[..., Any], override: bool = False) -> None:
    """Make ``func`` callable from generated code as ``name``."""
    if name in _RAW and not override:
        raise TensorLangError(f"a packed function named '{name}' is already registered (pass override=True)")
    _RAW[name] = func


def remove_raw(name: str) -> None:
    """Forget ``name`` (nothing happens when it is not registered)."""
    _RAW.pop(name, None)


def lookup_raw(name: str) -> Callable[..., Any] | None:
    return _RAW.get(name)


# Generated code calls tir.trace's action under this prefix: the number the action returns (if
# any) is written into the slot of the last argument, which the code then reads as the value.
TRACE_PREFIX = "tl.trace:"


def _default_trace_action(*args: Any) -> None:
    """TVM's ``tvm.default_trace_action``: print the traced values."""
    print(list(args))


_RAW["tvm.default_trace_action"] = _default_trace_action


def _write_back(vals: Any, codes: Any, nargs: int, last: int, result: Any, fname: str) -> None:
    """Store a trace action's ``result`` where the traced value was (its slot ``last``)."""
    if result is None:
        return
    if hasattr(result, "value") and not isinstance(result, (int, float)):
        result = result.value  # a tvm.runtime.convert'ed number
    if isinstance(result, np.bool_):
        result = bool(result)
    if not isinstance(result, (int, float, np.integer, np.floating)):
        raise TensorLangError(f"the trace action '{fname}' returned {result!r}; a trace action returns the "
                              "traced value to use (a number) or None")
    if codes[nargs - 1] == FLOAT:
        vals[last] = int(np.array(float(result), dtype=np.float64).view(np.int64))
    else:
        if not float(result).is_integer():
            raise TensorLangError(f"the trace action '{fname}' returned {result!r} for an integer value")
        vals[last] = int(np.array(int(result) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).view(np.int64))


def _decode(vals: Any, codes: Any, nargs: int) -> list[Any]:
    out: list[Any] = []
    pos = 0
    for k in range(nargs):
        code = codes[k]
        if code == INT:
            out.append(int(vals[pos]))
            pos += 1
        elif code == FLOAT:
            out.append(float(np.array(vals[pos], dtype=np.int64).view(np.float64)))
            pos += 1
        elif code == STRING:
            out.append(ctypes.string_at(int(vals[pos])).decode())
            pos += 1
        else:
            ptr, dtype, ndim = int(vals[pos]), np.dtype(DTYPES[vals[pos + 1]]), int(vals[pos + 2])
            shape = tuple(int(vals[pos + 3 + d]) for d in range(ndim))
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            raw = (ctypes.c_char * max(nbytes, 1)).from_address(ptr)
            out.append(np.frombuffer(raw, dtype=dtype, count=nbytes // dtype.itemsize).reshape(shape))
            pos += 3 + ndim
    return out


def _dispatch(name: bytes, vals: Any, codes: Any, nargs: int) -> int:
    traced = False
    try:
        fname = name.decode()
        if fname.startswith(TRACE_PREFIX):
            fname, traced = fname[len(TRACE_PREFIX):], True
        func = _RAW.get(fname)
        if func is None:
            raise TensorLangError(f"generated code called the packed function '{fname}', which is not registered "
                                  "(tl.register_func)")
    except BaseException as exc:  # noqa: BLE001 - any failure travels back to the caller
        _errors.pending = exc
        return ERR_PACKED_CALL
    try:
        args = _decode(vals, codes, nargs)
        result = func(*args)
        if traced:  # a trace's values are scalars, one slot each: the last is slot nargs - 1
            _write_back(vals, codes, nargs, nargs - 1, result, fname)
        return 0
    except Exception as exc:  # noqa: BLE001 - the user's function: name it, keep what it raised
        _errors.pending = _noted(fname, nargs, exc)
        return ERR_PACKED_CALL
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt and the like travel as they are
        _errors.pending = exc
        return ERR_PACKED_CALL


_CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64),
                                  ctypes.POINTER(ctypes.c_int32), ctypes.c_int32)
_CALLBACK = _CALLBACK_TYPE(_dispatch)  # kept alive for the life of the process


def callback_address() -> int:
    """The address generated code calls (stored into each module's PACKED_CALL_SYMBOL)."""
    return ctypes.cast(_CALLBACK, ctypes.c_void_p).value or 0


def take_error() -> BaseException | None:
    """The exception a packed function raised in this thread, if any (cleared)."""
    exc = getattr(_errors, "pending", None)
    _errors.pending = None
    return exc
