"""The CUDA target: parsing of "cuda ..." target strings into an immutable CUDATarget.

Guarantees: every option of a target string is either understood or rejected with a
TargetError naming it; a CUDATarget always carries a concrete architecture (from -arch, else
the present GPU, else sm_90) and the per-block limits kernels are checked against before launch.
Parsing never needs a GPU, a driver or pycuda.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ...errors import TargetError
from ..target import no_effect_option, option_words, unknown_option
from .driver import probe_arch

DEFAULT_ARCH = "sm_90"
# Hopper's per-block limits; they also hold for every architecture NVRTC 12/13 can target
# (static shared memory is capped at 48 KiB per block everywhere).
DEFAULT_MAX_THREADS = 1024
DEFAULT_MAX_SHARED = 48 * 1024
DEFAULT_REGISTERS = 64 * 1024
DEFAULT_WARP_SIZE = 32

_ARCH = re.compile(r"^sm_(\d+)(\d)(a|f)?$")
_INT_OPTIONS = {
    "-max_threads_per_block": "max_threads_per_block",
    "-max_num_threads": "max_threads_per_block",   # TVM's name for it
    "-max_shared_memory_per_block": "max_shared_memory_per_block",
    "-registers_per_block": "registers_per_block",
    "-thread_warp_size": "warp_size",
}
_USAGE = ("-arch=sm_XY", "-max_threads_per_block=N (or -max_num_threads=N)", "-max_shared_memory_per_block=BYTES",
          "-registers_per_block=N", "-thread_warp_size=32", "-emulate", "-bounds-check",
          "-model=NAME")


@dataclass(frozen=True)
class CUDATarget:
    """A CUDA code generation target: the architecture NVRTC compiles for ("sm_90"), the device
    limits kernels must respect, whether kernels run on the CPU instead (-emulate), and whether
    every buffer access is checked at run time (-bounds-check: a BoundsError naming the tensor
    and the index, as ``llvm -bounds-check`` gives)."""

    arch: str = DEFAULT_ARCH
    max_threads_per_block: int = DEFAULT_MAX_THREADS
    max_shared_memory_per_block: int = DEFAULT_MAX_SHARED
    registers_per_block: int = DEFAULT_REGISTERS
    warp_size: int = DEFAULT_WARP_SIZE
    emulate: bool = False
    bounds_check: bool = False

    kind = "cuda"

    @classmethod
    def from_string(cls, text: str = "cuda") -> CUDATarget:
        """Parse "cuda [-arch=sm_XY] [-max_threads_per_block=N] [-max_shared_memory_per_block=B]
        [-registers_per_block=N] [-thread_warp_size=32] [-emulate] [-bounds-check]"."""
        fields: dict[str, object] = {}
        for word, key, eq, value in option_words(text, "cuda", "a CUDA"):
            if key == "-emulate" and not eq:
                fields["emulate"] = True
            elif key == "-bounds-check" and not eq:
                fields["bounds_check"] = True
            elif key in ("-model", "-device", "-keys", "-libs", "-tag", "-from_device") and eq:
                pass  # TVM's labels (tvm.target.cuda(model="t4"), -libs=cublas for Relay): no effect on te code
            elif key == "-l2_cache_size_bytes" and eq:
                no_effect_option(word, text)
            elif key in ("-arch", "-mcpu") and eq:  # TVM's cuda kind takes the architecture under either name
                if not _ARCH.match(value):
                    raise TargetError(f"{key} must name a real architecture such as sm_80 or sm_90, "
                                      f"got '{value}' in target '{text}'")
                fields["arch"] = value
            elif key in _INT_OPTIONS and eq:
                if not value.isdigit() or int(value) <= 0:
                    raise TargetError(f"{key} must be a positive integer, got '{value}' in target '{text}'")
                fields[_INT_OPTIONS[key]] = int(value)
            else:
                raise unknown_option(word, text, _USAGE)
        if "arch" not in fields:
            fields["arch"] = present_device_arch() or DEFAULT_ARCH
        return cls(**fields)  # type: ignore[arg-type]

    @property
    def compute_capability(self) -> tuple[int, int]:
        """(major, minor) of the architecture: sm_90 -> (9, 0), sm_120 -> (12, 0)."""
        m = _ARCH.match(self.arch)
        assert m is not None  # checked when parsed
        return int(m.group(1)), int(m.group(2))

    def __str__(self) -> str:
        parts = ["cuda", f"-arch={self.arch}"]
        for option, field in _INT_OPTIONS.items():
            value = getattr(self, field)
            if value != getattr(CUDATarget, field):
                parts.append(f"{option}={value}")
        if self.emulate:
            parts.append("-emulate")
        if self.bounds_check:
            parts.append("-bounds-check")
        return " ".join(parts)


@cache
def present_device_arch() -> str | None:
    """The architecture of GPU 0 ("sm_90") when a CUDA binding, a driver and a GPU are present,
    else None; asked in a fresh interpreter (``driver.probe_arch``), so parsing a target never
    initializes CUDA in this process. Any failure means "no device": parsing must not fail."""
    return probe_arch()
