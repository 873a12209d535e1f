"""The LLVM CPU backend: its target (target), host detection (host), code generation
(codegen), everything that drives LLVM (engine), the build that joins them (build) and the
runtime Module (runtime).

The entry points every backend package has: ``parse_target``, ``build_func``, ``load_module`` and
``EXPORT_MAGIC``. Importing this package does not import llvmlite: loading an exported library
needs no compiler.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .runtime import Module
from .runtime import load_module as load_exported
from .target import LLVMTarget

if TYPE_CHECKING:
    from ...ir.function import PrimFunc

# The leading bytes of what ``Module.export_library`` writes: an ELF or Mach-O shared library.
EXPORT_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
# Whether schedules for this backend may bind loops to GPU threads.
BINDS_THREADS = False


def parse_target(text: str) -> LLVMTarget:
    """The LLVMTarget of a target string "llvm [options]"."""
    return LLVMTarget.from_string(text)


def build_func(func: PrimFunc, target: LLVMTarget, jit: bool = True) -> Module:
    """Compile a lowered function; ``jit=False`` only prepares ``export_library``."""
    from .build import build_llvm, check_cpu_func  # defers llvmlite to the first build
    check_cpu_func(func, target)
    return build_llvm(func, target, jit=jit)


def object_from_ir(path: str | os.PathLike) -> bytes:
    """Object code for this machine of the LLVM IR (.ll) or bitcode (.bc) ``Module.save`` wrote."""
    from .engine import object_from_ir as compile_ir  # defers llvmlite to the first use
    with open(os.fspath(path), "rb") as f:
        return compile_ir(f.read(), os.fspath(path))


def load_module(path: str | os.PathLike) -> Module:
    """Load a shared library written by ``Module.export_library`` (no compiler needed)."""
    return load_exported(path)


__all__ = ["EXPORT_MAGIC", "BINDS_THREADS", "LLVMTarget", "build_func", "load_module", "object_from_ir",
           "parse_target"]
