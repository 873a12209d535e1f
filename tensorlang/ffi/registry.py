"""TVM's ``tvm._ffi.registry``: the global function registry's names (``register_func``,
``get_global_func``, ``list_global_func_names``), which tensorlang keeps
in ``tensorlang.runtime``."""

from __future__ import annotations

from ..runtime.packed import get_global_func, list_global_func_names, register_func

__all__ = ["get_global_func", "list_global_func_names", "register_func"]
