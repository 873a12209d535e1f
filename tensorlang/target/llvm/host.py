"""LLVM initialization and what it tells about the host: triple, CPU name and features.

Guarantees: LLVM is initialized once per process (all targets only when cross compiling), and
only while holding ``LOCK``, the lock every use of LLVM's process-wide state takes.
"""

from __future__ import annotations

import ctypes.util
import re
import subprocess
import sys
import threading
from functools import cache

import llvmlite.binding as llvm

from ...errors import TargetError
from ..abi import ENTRY_PREFIX

LOCK = threading.RLock()
_initialized: set[str] = set()


def _init(all_targets: bool = False) -> None:
    """One-time LLVM initialization: the host target, or every target for cross compilation."""
    with LOCK:
        if "native" not in _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()
            # MCJIT looks external symbols up only in libraries loaded through LLVM; an unknown
            # one silently becomes address 0. Generated code calls into libc (threads, malloc)
            # and libm (tanhf, and fmod/expf that LLVM itself emits for frem and llvm.exp), and
            # LLVM's backend calls libgcc's helpers for conversions the CPU lacks (float64 to
            # float16 is __truncdfhf2 even with F16C).
            for lib in ("c", "m", "pthread", "gcc_s"):
                path = ctypes.util.find_library(lib)
                if path:
                    llvm.load_library_permanently(path)
            _initialized.add("native")
        if all_targets and "all" not in _initialized:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _initialized.add("all")


@cache
def host_triple() -> str:
    _init()
    return llvm.get_process_triple()


@cache
def host_cpu_name() -> str:
    _init()
    return llvm.get_host_cpu_name()


@cache
def host_cpu_features() -> str:
    """The host's features as "+a,-b,..." (empty when LLVM cannot tell)."""
    _init()
    try:
        return llvm.get_host_cpu_features().flatten()
    except RuntimeError:
        return ""


def entry_symbol(name: str) -> str:
    """The symbol for a function called ``name``: the name itself, unless the process already
    defines it (fmod, exp, main, ...), where code LLVM emits could call ours instead of libm's."""
    _init()
    return f"{ENTRY_PREFIX}{name}" if llvm.address_of_symbol(name) else name


def same_arch(triple_a: str, triple_b: str) -> bool:
    """Whether two triples name the same architecture and OS (code for one runs on the other)."""
    a, b = llvm.get_triple_parts(triple_a), llvm.get_triple_parts(triple_b)
    return (a.Arch, a.OS) == (b.Arch, b.OS)


def llvm_target_for(triple: str) -> llvm.Target:
    """The LLVM backend for ``triple``; TargetError when this LLVM has none."""
    with LOCK:
        _init(all_targets=not same_arch(triple, host_triple()))
        try:
            return llvm.Target.from_triple(triple)
        except RuntimeError as exc:
            raise TargetError(f"LLVM does not know the triple '{triple}': {exc}") from None


# LLVM prints its CPU and feature tables for -mcpu=help and then exits the process, so the
# tables are read in a child process; a name outside them would make LLVM exit ours.
_LIST_PROGRAM = """
import sys
import llvmlite.binding as llvm
llvm.initialize_all_targets(); llvm.initialize_all_asmprinters()
tm = llvm.Target.from_triple(sys.argv[1]).create_target_machine(cpu="help", features="")
tm.emit_object(llvm.parse_assembly("define void @f() { ret void }"))
"""


@cache
def known_cpus_and_features(triple: str) -> tuple[frozenset[str], frozenset[str]]:
    """The CPU names and feature names LLVM accepts for ``triple`` (empty sets when LLVM
    could not be asked, in which case nothing is checked)."""
    try:
        out = subprocess.run([sys.executable, "-c", _LIST_PROGRAM, triple], capture_output=True,
                             text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        return frozenset(), frozenset()
    cpus, features, section = set(), set(), None
    for line in out.splitlines():
        if line.startswith("Available CPUs"):
            section = cpus
        elif line.startswith("Available features"):
            section = features
        elif section is not None:
            m = re.match(r"^\s+([A-Za-z0-9_.+-]+)\s+- ", line)
            if m:
                section.add(m.group(1))
    return frozenset(cpus), frozenset(features)


def check_cpu(triple: str, cpu: str, features: str, text: str) -> None:
    """TargetError naming the known CPUs (or features) when ``cpu`` or a feature of
    ``features`` ("+a,-b") is not one LLVM knows for ``triple``."""
    cpus, known = known_cpus_and_features(triple)
    if cpus and cpu not in cpus and cpu != "generic":
        close = sorted(c for c in cpus if c[:3] == cpu[:3]) or sorted(cpus)
        raise TargetError(f"unknown CPU '{cpu}' in target '{text}' for {triple}; LLVM knows: "
                          f"{', '.join(close[:40])}{' ...' if len(close) > 40 else ''}")
    bad = [f for f in filter(None, features.split(",")) if known and f[1:] not in known]
    if bad:
        raise TargetError(f"unknown CPU feature(s) {', '.join(bad)} in target '{text}'; features look like "
                          f"+avx2,-avx512f (LLVM knows {len(known)} for {triple}, e.g. "
                          f"{', '.join(sorted(known)[:12])} ...)")
