"""TVM's ``tvm._ffi`` names that user code reaches for (``tvm._ffi.register_func``,
``tvm._ffi.base.TVMError``; ``tensorlang._ffi`` is this package): there is no C++ behind
tensorlang, so these are its own objects."""

from __future__ import annotations

from typing import Any

from ..runtime import get_global_func, register_func
from . import base, registry


def register_object(type_key: Any = None) -> Any:
    """TVM registers a Python class for a C++ object type; tensorlang has no C++ objects, so the
    class is returned as it is (used bare or as ``@register_object("key")``)."""
    if isinstance(type_key, type):
        return type_key
    return lambda cls: cls


__all__ = ["base", "get_global_func", "register_func", "register_object", "registry"]
