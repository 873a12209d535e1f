"""What a named CPU's vector units offer, asked of LLVM itself.

Guarantees: ``implied_features(triple, cpu)`` lists, as "+name" entries, which of AVX, AVX2,
FMA and AVX-512F LLVM's code for ``cpu`` uses, found by compiling small probes for that CPU
(llvmlite cannot list a named CPU's features); empty for non-x86 triples.
``missing_on_host(target)`` names the features such code needs that this CPU lacks.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import llvmlite.binding as llvm

from . import host

# One function per feature; the assembly of each shows whether LLVM used the feature.
_PROBES = """
define void @p_avx512f(ptr %p) #0 {
  %a = load <16 x float>, ptr %p
  %b = fadd <16 x float> %a, %a
  store <16 x float> %b, ptr %p
  ret void
}
define void @p_avx(ptr %p) {
  %a = load <8 x float>, ptr %p
  %b = fadd <8 x float> %a, %a
  store <8 x float> %b, ptr %p
  ret void
}
define void @p_avx2(ptr %p) {
  %a = load <8 x i32>, ptr %p
  %b = mul <8 x i32> %a, %a
  store <8 x i32> %b, ptr %p
  ret void
}
declare float @llvm.fma.f32(float, float, float)
define float @p_fma(float %a, float %b, float %c) {
  %r = call float @llvm.fma.f32(float %a, float %b, float %c)
  ret float %r
}
attributes #0 = { "min-legal-vector-width"="512" "prefer-vector-width"="512" }
"""

# What each feature's probe contains when the feature is on.
_SIGNS = {"avx512f": re.compile(r"zmm"), "avx": re.compile(r"\bv\w+ps\s+.*ymm"),
          "avx2": re.compile(r"\bvpmulld\s+.*ymm"), "fma": re.compile(r"\bvfmadd")}


@cache
def implied_features(triple: str, cpu: str, features: str = "") -> str:
    """"+avx,+avx2,+fma,+avx512f" (the subset ``cpu`` has) for an x86 ``triple``, after the
    target's "-mattr" ``features`` ("-avx512f" also turns off what needs it, as in LLVM)."""
    if llvm.get_triple_parts(triple).Arch not in ("x86_64", "i386", "i686", "x86"):
        return ""
    with host.LOCK:
        target = host.llvm_target_for(triple)
        tm = target.create_target_machine(cpu=cpu, features=features, opt=2)
        mod = llvm.parse_assembly(_PROBES)
        mod.triple = triple
        asm = tm.emit_assembly(mod)
    bodies = _function_bodies(asm)
    return ",".join(f"+{f}" for f, sign in _SIGNS.items() if sign.search(bodies.get(f"p_{f}", "")))


def _function_bodies(asm: str) -> dict[str, str]:
    """The assembly of each probe function, by name."""
    out: dict[str, list[str]] = {}
    current = None
    for line in asm.splitlines():
        m = re.match(r"^(p_\w+):", line)
        if m:
            current = m.group(1)
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def missing_on_host(target: Any) -> list[str]:
    """Features code for ``target`` (an LLVMTarget, whose module imports this one) may use that
    this host's CPU lacks: its named CPU's vector features and the "+name" entries of its feature
    list. Such code would die of SIGILL here. Empty when LLVM cannot tell the host's features."""
    host_on = {f[1:] for f in host.host_cpu_features().split(",") if f.startswith("+")}
    if not host_on:
        return []
    wanted = {f[1:] for f in target.implied.split(",") if f}
    wanted |= {f[1:] for f in target.features.split(",") if f.startswith("+")}
    # The last mention of a feature wins ("-mattr=-avx512f" on a CPU that has it).
    return sorted(f for f in wanted - host_on if target.has_feature(f))
