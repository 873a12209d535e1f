"""What x86 schedules ask of the CPU they compile for (TVM's ``topi.x86.utils``): its instruction
set extensions and the float32 lanes of its widest vector register, read from the LLVM target
(the host's own CPU and features when the target names no ``-mcpu``)."""

from __future__ import annotations

from typing import Any

from ...target.llvm.target import LLVMTarget
from ...target.target import Target


def _llvm(target: Any = None) -> LLVMTarget:
    """The LLVM target meant by ``target``: None (the enclosing ``with Target(...)``, else the
    host), a Target or an "llvm ..." string, or a CPU name as TVM passes one ("skylake-avx512";
    "" is the host)."""
    if target is None:
        target = Target.current() or ""
    if isinstance(target, Target):
        target = str(target) if target.kind.name == "llvm" else "llvm"
    text = str(target).strip()
    if not text.startswith("llvm"):
        text = f"llvm -mcpu={text}" if text else "llvm"
    return LLVMTarget.from_string(text)


# CPUs whose AVX-512 includes VNNI (int8 dot products), by LLVM's names: a named CPU's feature
# list is not available from llvmlite (cpu_features.py probes only AVX, AVX2, FMA and AVX-512F).
_VNNI_CPUS = frozenset({"cascadelake", "cooperlake", "icelake-client", "icelake-server", "tigerlake", "rocketlake",
                        "sapphirerapids", "emeraldrapids", "graniterapids", "graniterapids-d", "znver4", "znver5"})

# CPUs with SSE4.2 but no AVX, by LLVM's names (every CPU with AVX has SSE4.2).
_SSE42_CPUS = frozenset({"nehalem", "corei7", "westmere", "silvermont", "slm", "goldmont", "goldmont-plus",
                         "tremont", "btver2"})


def target_has_sse42(target: Any = None) -> bool:
    """Whether the CPU has SSE4.2."""
    t = _llvm(target)
    return t.has_feature("sse4.2") or t.has_feature("avx") or t.cpu in _SSE42_CPUS


def target_has_avx(target: Any = None) -> bool:
    """Whether the CPU has AVX (256-bit float vectors)."""
    return _llvm(target).has_feature("avx")


def target_has_avx2(target: Any = None) -> bool:
    """Whether the CPU has AVX2 (256-bit integer vectors)."""
    return _llvm(target).has_feature("avx2")


def target_has_avx512(target: Any = None) -> bool:
    """Whether the CPU has AVX-512 (its foundation, AVX-512F: 512-bit vectors, 32 registers)."""
    return _llvm(target).has_feature("avx512f")


def target_has_vnni(target: Any = None) -> bool:
    """Whether the CPU has AVX-512 VNNI (int8 dot products)."""
    t = _llvm(target)
    return t.has_feature("avx512vnni") or (t.has_feature("avx512f") and t.cpu in _VNNI_CPUS)


def get_simd_32bit_lanes(target: Any = None) -> int:
    """float32 lanes of the CPU's widest vector register: 16 with AVX-512, 8 with AVX, else 4."""
    return max(4, _llvm(target).vector_bits // 32)
