"""Targets, the calling convention (abi), argument checking (binder), timing, and the backends
(``llvm``, ``cuda``) that compile loop IR into runtime modules, found through ``backends``."""

from . import codegen
from .backends import BACKENDS, get_backend, load_module
from .target import Target, as_target, create, cuda, generic_func, list_tags

__all__ = ["BACKENDS", "Target", "as_target", "codegen", "create", "cuda", "generic_func", "get_backend", "list_tags",
           "load_module"]
