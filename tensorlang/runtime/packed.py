"""``tl.register_func`` / ``tl.get_global_func``: Python functions that generated code calls
with ``tir.call_packed`` (arrays arrive as ``tl.nd.NDArray`` viewing the compiled code's memory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import TensorLangError
from ..target.packed import lookup_raw, register_raw, remove_raw
from .ndarray import NDArray, cpu

_USER: dict[str, Callable[..., Any]] = {}


def register_func(func_name: str | Callable, f: Callable | None = None, override: bool = False) -> Any:
    """Register ``f`` under ``func_name`` (also as a decorator: ``@tl.register_func("name")``,
    or ``@tl.register_func`` to use the function's own name)."""
    if callable(func_name) and f is None:
        return register_func(func_name.__name__, func_name, override)
    if not isinstance(func_name, str) or not func_name:
        raise TensorLangError(f"register_func needs a non-empty string name (or a function to decorate), "
                              f"got {func_name!r}")
    if f is not None and not callable(f):
        raise TensorLangError(f"register_func('{func_name}', f): f must be a function, got {f!r}")

    def register(fn: Callable) -> Callable:
        if not callable(fn):  # a decorator applied to something else
            raise TensorLangError(f"register_func('{func_name}') decorates a function, got {fn!r}")
        def raw(*args: Any) -> Any:
            return fn(*[NDArray(a, cpu()) if isinstance(a, np.ndarray) else a for a in args])
        raw.__wrapped__ = fn  # type: ignore[attr-defined]  # its signature, for callers that ask
        register_raw(str(func_name), raw, override)
        _USER[str(func_name)] = fn
        return fn

    return register(f) if f is not None else register


def get_global_func(name: str, allow_missing: bool = False) -> Callable | None:
    """The function registered as ``name`` (None when missing and ``allow_missing``)."""
    if not isinstance(name, str):
        raise TensorLangError(f"get_global_func expects a function name (a string), got {name!r}")
    fn = _USER.get(name)
    if fn is None and lookup_raw(name) is not None:
        fn = lookup_raw(name)
    if fn is None and not allow_missing:
        raise TensorLangError(f"no function registered as '{name}'")
    return fn


def remove_global_func(name: str) -> None:
    """Unregister ``name`` (TVM's ``tvm._ffi.registry.remove_global_func``; a name that is not
    registered is no error, as in TVM)."""
    _USER.pop(name, None)
    remove_raw(name)


def list_global_func_names() -> list[str]:
    """Names of the registered functions."""
    return sorted(_USER)
