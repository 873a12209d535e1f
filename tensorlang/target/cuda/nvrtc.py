"""NVRTC through cuda-python (``cuda.bindings.nvrtc``): CUDA C to a cubin for one architecture,
with its PTX beside it.

Guarantees: ``compile_cuda`` returns a cubin for exactly the requested architecture and the PTX
of the same compilation (the fallback for a driver that cannot load the cubin), or raises a
BuildError holding NVRTC's log, the offending source lines and a repro; results are cached in
memory by (source, arch, options). libnvrtc comes from the nvidia-cuda-nvrtc wheel (or a toolkit),
found by cuda-python and loaded only on first use; no GPU or driver is needed.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import importlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import BuildError

_INSTALL_HINT = "install cuda-python and nvidia-cuda-nvrtc ('pip install tensorlang[cuda]')"
_ARCH = re.compile(r"^sm_(\d+)(\d)(a|f)?$")

_lock = threading.Lock()
_lib: Any = None
_cache: dict[tuple[str, str, tuple[str, ...]], CompiledCUDA] = {}


@dataclass(frozen=True)
class KernelResources:
    """What ptxas reported for one kernel: registers per thread, static shared memory, spills."""

    registers: int
    shared_bytes: int = 0
    spill_bytes: int = 0


@dataclass(frozen=True)
class CompiledCUDA:
    """One NVRTC compilation: ``cubin`` for ``arch`` (None if NVRTC made none), its ``ptx``,
    NVRTC's ``log`` (ptxas' resource report included), the ``options`` used, and per-kernel
    ``resources`` parsed from that report."""

    cubin: bytes | None
    ptx: str
    log: str
    arch: str
    options: tuple[str, ...] = ()
    resources: Mapping[str, KernelResources] = field(default_factory=dict)

    @property
    def ptx_version(self) -> tuple[int, int] | None:
        """The PTX ISA version the PTX declares (``.version 9.5`` -> (9, 5))."""
        m = re.search(r"^\s*\.version\s+(\d+)\.(\d+)", self.ptx, re.MULTILINE)
        return (int(m.group(1)), int(m.group(2))) if m else None


# --- NVRTC through cuda-python -------------------------------------------------------------

def _load() -> Any:
    """``cuda.bindings.nvrtc`` (which finds libnvrtc in the nvidia-cuda-nvrtc wheel, a toolkit or
    the system), loaded once; a BuildError saying what to install when it cannot be."""
    global _lib
    if _lib is not None:
        return _lib
    try:
        nvrtc = importlib.import_module("cuda.bindings.nvrtc")
        status, _, _ = nvrtc.nvrtcVersion()  # loads libnvrtc: fails here when it is missing
    except Exception as exc:  # noqa: BLE001 - ImportError, or the library not found
        raise BuildError(f"NVRTC, which compiles CUDA kernels, is not usable: {_INSTALL_HINT} "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if int(status):
        raise BuildError(f"NVRTC does not start ({status}): {_INSTALL_HINT}")
    _lib = nvrtc
    return nvrtc


def nvrtc_available() -> bool:
    """Whether NVRTC can be loaded."""
    try:
        _load()
        return True
    except BuildError:
        return False


def nvrtc_version() -> tuple[int, int]:
    _, major, minor = _checked(_load(), _load().nvrtcVersion(), "nvrtcVersion")
    return int(major), int(minor)


@functools.cache
def supported_archs() -> list[int]:
    """The sm_XY numbers (as XY) this NVRTC can compile for."""
    lib = _load()
    return [int(a) for a in _checked(lib, lib.nvrtcGetSupportedArchs(), "nvrtcGetSupportedArchs")[1]]


def _checked(lib: Any, result: tuple, what: str) -> tuple:
    status = int(result[0])
    if status:
        raise BuildError(f"{what} failed: {_error_string(lib, status)}")
    return result


def _error_string(lib: Any, status: int) -> str:
    try:
        return bytes(lib.nvrtcGetErrorString(lib.nvrtcResult(status))[1]).decode()
    except Exception:  # noqa: BLE001 - an unknown status
        return f"nvrtcResult {status}"


@functools.cache
def include_dirs() -> list[str]:
    """Directories holding cuda_fp16.h (a CUDA toolkit, or pip's CUDA headers) of the same major
    version as NVRTC. Kernels compile without one: they then use their own stand-in for ``half``."""
    dirs = []
    for home in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if home:
            dirs.append(os.path.join(home, "include"))
    for root in sys.path:
        if root and os.path.isdir(os.path.join(root, "nvidia")):
            dirs += sorted(glob.glob(os.path.join(root, "nvidia", "*", "include")))
    dirs = list(dict.fromkeys(dirs))
    major = nvrtc_version()[0]
    found = [d for d in dirs if os.path.isfile(os.path.join(d, "cuda_fp16.h")) and _header_major(d) in (None, major)]
    if found:  # cuda_fp16.h includes CCCL's <nv/target>, and mma.h <crt/mma.h>, which pip may ship separately
        found += [d for d in dirs if d not in found and (os.path.isfile(os.path.join(d, "nv", "target"))
                                                         or os.path.isfile(os.path.join(d, "crt", "mma.h")))]
    return found


def has_header(name: str) -> bool:
    """Whether one of ``include_dirs()`` holds the CUDA header ``name`` (e.g. "mma.h")."""
    return any(os.path.isfile(os.path.join(d, name)) for d in include_dirs())


def _header_major(include_dir: str) -> int | None:
    """The CUDA major version of a header directory (from cuda.h), None when it does not say:
    headers of another major version than NVRTC's may not compile with it."""
    try:
        with open(os.path.join(include_dir, "cuda.h")) as f:
            m = re.search(r"#define\s+CUDA_VERSION\s+(\d+)", f.read())
    except OSError:
        return None
    return int(m.group(1)) // 1000 if m else None


# --- compiling ------------------------------------------------------------------------------

def compile_cuda(source: str, arch: str, name: str = "kernel", options: Sequence[str] = ()) -> CompiledCUDA:
    """Compile ``source`` for ``arch`` ("sm_90"): a cubin plus the PTX NVRTC produced on the way.
    ``name`` names the program in messages; ``options`` are extra NVRTC options."""
    if not _ARCH.match(arch):
        raise BuildError(f"cannot compile for '{arch}': expected an architecture such as sm_90")
    lib = _load()
    opts = (f"-arch={arch}", "--ptxas-options=-v", *(f"-I{d}" for d in include_dirs()), *options)
    key = (source, arch, tuple(opts))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    number = int(arch[3:].rstrip("af"))
    supported = supported_archs()
    if number not in supported:
        major, minor = nvrtc_version()
        raise BuildError(f"NVRTC {major}.{minor} cannot compile for {arch}; it supports "
                         f"{', '.join(f'sm_{a}' for a in supported)}")
    result = _compile(lib, source, arch, name, opts)
    with _lock:
        _cache[key] = result
    return result


def _compile(lib: Any, source: str, arch: str, name: str, opts: tuple[str, ...]) -> CompiledCUDA:
    _, prog = _checked(lib, lib.nvrtcCreateProgram(source.encode(), f"{name}.cu".encode(), 0, [], []),
                       "nvrtcCreateProgram")
    try:
        encoded = [o.encode() for o in opts]
        status = int(lib.nvrtcCompileProgram(prog, len(encoded), encoded)[0])
        log = _get_text(lib, prog, "nvrtcGetProgramLogSize", "nvrtcGetProgramLog")
        if status:
            raise BuildError(_failure_message(source, arch, name, opts, log, _error_string(lib, status)))
        cubin = _get_bytes(lib, prog, "nvrtcGetCUBINSize", "nvrtcGetCUBIN")
        ptx = _get_text(lib, prog, "nvrtcGetPTXSize", "nvrtcGetPTX")
    finally:
        lib.nvrtcDestroyProgram(prog)
    if not ptx:
        # Some NVRTC versions keep no PTX after a real-architecture compile: ask for it alone.
        ptx = _compile_ptx(lib, source, arch, name, opts)
    return CompiledCUDA(cubin or None, ptx, log, arch, opts, _parse_resources(log))


def _compile_ptx(lib: Any, source: str, arch: str, name: str, opts: tuple[str, ...]) -> str:
    virtual = "compute_" + arch[3:]
    rest = [o for o in opts if not o.startswith(("-arch=", "--ptxas-options"))]
    _, prog = _checked(lib, lib.nvrtcCreateProgram(source.encode(), f"{name}.cu".encode(), 0, [], []),
                       "nvrtcCreateProgram")
    try:
        encoded = [f"-arch={virtual}".encode(), *(o.encode() for o in rest)]
        ok = int(lib.nvrtcCompileProgram(prog, len(encoded), encoded)[0]) == 0
        return _get_text(lib, prog, "nvrtcGetPTXSize", "nvrtcGetPTX") if ok else ""
    finally:
        lib.nvrtcDestroyProgram(prog)


def _get_bytes(lib: Any, prog: Any, size_fn: str, get_fn: str) -> bytes:
    status, size = getattr(lib, size_fn)(prog)
    if int(status) or not size:
        return b""
    buf = b" " * int(size)  # NVRTC writes into this buffer
    if int(getattr(lib, get_fn)(prog, buf)[0]):
        return b""
    return buf


def _get_text(lib: Any, prog: Any, size_fn: str, get_fn: str) -> str:
    return _get_bytes(lib, prog, size_fn, get_fn).rstrip(b"\0").decode(errors="replace")


def _parse_resources(log: str) -> dict[str, KernelResources]:
    """Per-kernel registers, shared memory and spills from ptxas' -v report in the log."""
    out: dict[str, KernelResources] = {}
    current = None
    spills = 0
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current, spills = m.group(1), 0
            continue
        m = re.search(r"(\d+) bytes spill stores", line)
        if m:
            spills = int(m.group(1))
        m = re.search(r"Used (\d+) registers", line)
        if m and current is not None:
            smem = re.search(r"(\d+) bytes smem", line)
            out[current] = KernelResources(int(m.group(1)), int(smem.group(1)) if smem else 0, spills)
    return out


def _failure_message(source: str, arch: str, name: str, opts: tuple[str, ...], log: str, status: str) -> str:
    src_lines = source.splitlines()
    numbers = sorted({int(n) for n in re.findall(r"\((\d+)\): (?:catastrophic )?error", log)})
    shown = []
    for n in numbers[:10]:
        for k in range(max(1, n - 1), min(len(src_lines), n + 1) + 1):
            mark = ">" if k == n else " "
            entry = f"{mark}{k:5d} | {src_lines[k - 1]}"
            if entry not in shown:
                shown.append(entry)
    where = "\n".join(shown) if shown else "  (NVRTC named no source line)"
    repro = _write_repro(source, name)
    options = " ".join(opts)
    how = (f"the source is in {repro}; reproduce with: python -c \"from tensorlang.target.cuda.nvrtc import "
           f"compile_cuda; compile_cuda(open('{repro}').read(), '{arch}')\" or nvcc -cubin -arch={arch} {repro}"
           if repro else "the source could not be written to a file")
    return (f"NVRTC failed to compile {name} for {arch} ({status}):\n{log.strip()}\n\n"
            f"offending source lines:\n{where}\n\nNVRTC options: {options}\n{how}")


def _write_repro(source: str, name: str) -> str | None:
    """Keep the failing source in the temp directory, named by its hash, for a repro."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    path = os.path.join(tempfile.gettempdir(), f"tensorlang_{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{digest}.cu")
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
        return path
    except OSError:
        return None


# --- what a driver accepts --------------------------------------------------------------------

# CUDA release (driver API version // 10, e.g. 12040 -> 1204) -> newest PTX ISA it can JIT.
_PTX_ISA = {1100: (7, 0), 1101: (7, 1), 1102: (7, 2), 1103: (7, 3), 1104: (7, 4), 1105: (7, 5),
            1106: (7, 6), 1107: (7, 7), 1108: (7, 8), 1200: (8, 0), 1201: (8, 1), 1202: (8, 2),
            1203: (8, 3), 1204: (8, 4), 1205: (8, 5), 1206: (8, 5), 1208: (8, 7), 1209: (8, 8),
            1300: (9, 0), 1301: (9, 1), 1302: (9, 2)}


def max_ptx_version(driver_version: int) -> tuple[int, int]:
    """The newest PTX ISA a driver of ``driver_version`` (cuDriverGetVersion, e.g. 12040) accepts."""
    release = driver_version // 10
    if release in _PTX_ISA:
        return _PTX_ISA[release]
    known = [r for r in _PTX_ISA if r <= release]
    if release // 100 >= 13:  # CUDA 13.x has shipped PTX ISA 9.x
        return release // 100 - 4, release % 100
    return _PTX_ISA[max(known)] if known else (0, 0)


def driver_accepts_ptx(compiled: CompiledCUDA, driver_version: int) -> bool:
    """Whether a driver of ``driver_version`` can JIT-compile ``compiled.ptx``."""
    version = compiled.ptx_version
    return bool(compiled.ptx) and version is not None and version <= max_ptx_version(driver_version)
