"""TVM's ``tvm._ffi.registry``: the global function registry's names (``register_func``,
``get_global_func``, ``list_global_func_names``, ``remove_global_func``), which tensorlang keeps
in ``tensorlang.runtime``."""

from __future__ import annotations

from ..runtime.packed import get_global_func, list_global_func_names, register_func, remove_global_func

__all__ = ["get_global_func", "list_global_func_names", "register_func", "remove_global_func"]
