"""TVM's ``tvm.target.codegen`` queries about the LLVM that compiles CPU code here (llvmlite's)."""

from __future__ import annotations


def llvm_version_major(allow_none: bool = False) -> int:
    """The major version of the LLVM tensorlang compiles with (llvmlite's build of it)."""
    import llvmlite.binding as llvm  # loaded on first use, as the llvm backend loads it
    return int(llvm.llvm_version_info[0])


def llvm_get_system_cpu() -> str:
    """The host CPU's LLVM name (``znver4``, ``sapphirerapids``): what plain ``llvm`` targets."""
    import llvmlite.binding as llvm
    return str(llvm.get_host_cpu_name())


def llvm_get_system_triple() -> str:
    """The host's target triple."""
    import llvmlite.binding as llvm
    return str(llvm.get_process_triple())


__all__ = ["llvm_get_system_cpu", "llvm_get_system_triple", "llvm_version_major"]
