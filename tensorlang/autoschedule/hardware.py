"""A small model of the machine a task targets, read once: vector width, registers, FMA units and
latency, cache sizes and threads for CPUs; thread, shared-memory and warp limits for GPUs.

The analytic prior (``prior.py``) sizes tiles from it.  CPU figures come from the LLVM target's
feature list (vector width, register count) and from ``/sys`` (cache sizes); when
``tensorlang.autotune.roofline`` has measured this machine (it caches the result), its FMA peak and
copy bandwidth are attached too.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from typing import Any

from ..autotune import roofline
from ..errors import TensorLangError
from ..target.cuda.target import CUDATarget
from ..target.llvm.runtime import default_num_threads
from ..target.llvm.target import LLVMTarget
from ..target.target import as_target

# Zen 4/5, Ice Lake and later: two FMA pipes with a 4-cycle latency.  Needed only to size the
# number of independent accumulators (units x latency), so a rough figure is enough.
_FMA_UNITS = 2
_FMA_LATENCY = 4


@dataclass(frozen=True)
class HardwareModel:
    """What the prior needs to know about a target."""

    kind: str                    # "llvm" or "cuda"
    threads: int = 1             # CPU threads a parallel loop runs on
    vector_bits: int = 128
    vector_registers: int = 16
    fma_units: int = _FMA_UNITS
    fma_latency: int = _FMA_LATENCY
    l1_bytes: int = 32 * 1024
    l2_bytes: int = 1024 * 1024
    l3_bytes: int = 8 * 1024 * 1024
    peak_gflops: float | None = None     # measured FMA peak of all threads, when known
    copy_gbps: float | None = None       # measured copy bandwidth, when known
    max_threads_per_block: int = 1024
    max_shared_bytes: int = 48 * 1024
    warp_size: int = 32

    def lanes(self, dtype_bits: int = 32) -> int:
        """Vector lanes of one register for elements of ``dtype_bits`` bits."""
        return max(1, self.vector_bits // dtype_bits)

    @property
    def accumulators(self) -> int:
        """Independent FMA chains that keep every FMA unit busy."""
        return self.fma_units * self.fma_latency


# GPU limits, which TVM's HardwareParams of a CPU target sets to 0 (no such limit).
_GPU_FIELDS = ("max_shared_memory_per_block", "max_local_memory_per_block", "max_threads_per_block",
               "max_vthread_extent", "warp_size")


@dataclass(frozen=True)
class HardwareParams:
    """TVM's ``auto_scheduler.HardwareParams``: figures that override what tensorlang reads from
    the target and the machine (None or -1: keep it; 0 for a GPU limit on a CPU target, as TVM's
    CPU defaults give).  ``cache_line_bytes``,
    ``max_local_memory_per_block`` and ``max_vthread_extent`` are accepted and not used."""

    num_cores: int | None = None
    vector_unit_bytes: int | None = None
    cache_line_bytes: int | None = None
    max_shared_memory_per_block: int | None = None
    max_local_memory_per_block: int | None = None
    max_threads_per_block: int | None = None
    max_vthread_extent: int | None = None
    warp_size: int | None = None
    target: Any = None
    target_host: Any = None

    def __post_init__(self) -> None:
        for name in ("num_cores", "vector_unit_bytes", "cache_line_bytes", *_GPU_FIELDS):
            value = getattr(self, name)
            if value is None or value == -1 or (type(value) is int and value == 0 and name in _GPU_FIELDS):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                zero = ", or 0 on a CPU target, which has no such limit" if name in _GPU_FIELDS else ""
                raise TensorLangError(f"HardwareParams {name} must be a positive int (or -1/None to keep the "
                                      f"machine's{zero}), got {value!r}")

    def apply(self, hw: HardwareModel) -> HardwareModel:
        """``hw`` with the figures given here.  A GPU limit of 0 (TVM's value for a CPU, which has
        none) leaves a CPU's model as it is and is refused for a GPU."""
        if hw.kind == "cuda":
            zero = [name for name in ("max_shared_memory_per_block", "max_threads_per_block", "warp_size")
                    if getattr(self, name) == 0]
            if zero:
                raise TensorLangError(f"HardwareParams {', '.join(zero)} = 0 on a GPU target: give the device's "
                                      "limit (or -1/None to keep the target's); 0 is TVM's value for a CPU")

        def given(value: int | None) -> bool:
            return value is not None and value not in (-1, 0)
        changes: dict[str, Any] = {}
        if given(self.num_cores):
            changes["threads"] = self.num_cores
        if given(self.vector_unit_bytes):
            changes["vector_bits"] = 8 * self.vector_unit_bytes
        if given(self.max_shared_memory_per_block):
            changes["max_shared_bytes"] = self.max_shared_memory_per_block
        if given(self.max_threads_per_block):
            changes["max_threads_per_block"] = self.max_threads_per_block
        if given(self.warp_size):
            changes["warp_size"] = self.warp_size
        return replace(hw, **changes)

    @staticmethod
    def of(hw: HardwareModel, target: Any = None) -> HardwareParams:
        """The figures of ``hw`` as TVM's ``HardwareParams`` (what ``task.hardware_params`` shows
        when none were given; the cache line is taken to be 64 bytes)."""
        return HardwareParams(num_cores=hw.threads, vector_unit_bytes=hw.vector_bits // 8, cache_line_bytes=64,
                              max_shared_memory_per_block=hw.max_shared_bytes,
                              max_threads_per_block=hw.max_threads_per_block, warp_size=hw.warp_size, target=target)


def _cache_sizes() -> dict[int, int]:
    """Data/unified cache size per level from sysfs (empty when not on Linux)."""
    sizes: dict[int, int] = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return sizes
    for entry in entries:
        if not entry.startswith("index"):
            continue
        try:
            with open(os.path.join(base, entry, "level")) as f:
                level = int(f.read())
            with open(os.path.join(base, entry, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(base, entry, "size")) as f:
                text = f.read().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
        digits = text[:-1] if text[-1:] in "KMG" else text
        if digits.isdigit():
            sizes[level] = int(digits) * mult
    return sizes


def _roofline() -> tuple[float | None, float | None]:
    """(all-core FMA peak GFLOPS, copy GB/s) of ``autotune.roofline`` when this machine's roofline
    is already cached; never measures (that takes seconds, and the prior does not need it)."""
    try:
        if not roofline.cache_path().exists():
            return None, None
        roof = roofline.machine_roofline()
    except Exception:  # noqa: BLE001 - an unreadable cache only loses the optional figures
        return None, None
    return roof.fma_gflops_all, roof.copy_gbs_all


@functools.cache
def hardware_for(target: str) -> HardwareModel:
    """The model of ``target`` ("llvm ...", "cuda ..."), cached per target string."""
    tgt = as_target(target)
    if tgt.kind.name == "cuda":
        ct = CUDATarget.from_string(str(tgt))
        return HardwareModel(kind="cuda", max_threads_per_block=ct.max_threads_per_block,
                             max_shared_bytes=ct.max_shared_memory_per_block, warp_size=ct.warp_size)
    lt = LLVMTarget.from_string(str(tgt))
    enabled = {f for f in ("avx512f", "fma", "neon") if lt.has_feature(f)}
    caches = _cache_sizes()
    peak, bw = _roofline()
    return HardwareModel(kind="llvm", threads=default_num_threads(), vector_bits=lt.vector_bits,
                         vector_registers=32 if "avx512f" in enabled else 16,
                         fma_units=_FMA_UNITS if enabled & {"fma", "avx512f", "neon"} else 1,
                         l1_bytes=caches.get(1, 32 * 1024), l2_bytes=caches.get(2, 1024 * 1024),
                         l3_bytes=caches.get(3, 8 * 1024 * 1024), peak_gflops=peak, copy_gbps=bw)
