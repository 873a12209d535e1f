"""The LLVM CPU backend: IR generation (codegen) and everything that drives LLVM (engine)."""

from .codegen import codegen_llvm
from .engine import JITLibrary, compile_module

__all__ = ["codegen_llvm", "compile_module", "JITLibrary"]
