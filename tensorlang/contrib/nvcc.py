"""TVM's ``tvm.contrib.nvcc``, with NVRTC in nvcc's place: which features a CUDA compute capability
has (``have_fp16``, ``have_tensorcore`` ...), and CUDA C compiled to PTX or a cubin with no CUDA
toolkit installed (``compile_cuda``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import BuildError, TargetError
from ..runtime import ndarray
from ..target import Target
from ..target.cuda import nvrtc


def parse_compute_version(compute_version: str) -> tuple[int, int]:
    """``"8.6"`` -> (8, 6), as TVM parses a device's compute version."""
    parts = str(compute_version).split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise TargetError(f"compute version '{compute_version}' is not of the form 'major.minor' (e.g. '8.0')") \
            from None


def have_fp16(compute_version: str) -> bool:
    """Whether the GPU computes in float16 (5.3, and 6.0 on)."""
    major, minor = parse_compute_version(compute_version)
    return (major, minor) == (5, 3) or major >= 6


def have_int8(compute_version: str) -> bool:
    """Whether the GPU has the 8-bit dot product (6.1 on)."""
    return parse_compute_version(compute_version) >= (6, 1)


def have_bf16(compute_version: str) -> bool:
    """Whether the GPU computes in bfloat16 (8.0 on)."""
    return parse_compute_version(compute_version)[0] >= 8


def have_tensorcore(compute_version: str | None = None, target: Any = None) -> bool:
    """Whether the GPU has tensor cores (7.0 on): of ``compute_version``, else of the GPU present,
    else of ``target``'s ``-arch``; False (with TVM's warning) when none says."""
    if compute_version is None:
        compute_version = _target_version(target)
        if compute_version is None:
            warnings.warn("have_tensorcore: no GPU and no -arch in the target: assuming no tensor cores",
                          stacklevel=2)
            return False
    return parse_compute_version(compute_version)[0] >= 7


def have_cudagraph() -> bool:
    """CUDA graphs need CUDA 10 or later: the NVRTC here is newer than that when it loads."""
    return nvrtc.nvrtc_available() and nvrtc.nvrtc_version() >= (10, 0)


def get_cuda_version(cuda_path: str | None = None) -> float:
    """The CUDA version of the compiler tensorlang uses (NVRTC's), as TVM 0.12's float ``12.4``."""
    if not nvrtc.nvrtc_available():
        raise BuildError("no NVRTC found: install cuda-python and nvidia-cuda-nvrtc ('pip install tensorlang[cuda]')")
    major, minor = nvrtc.nvrtc_version()
    return float(f"{major}.{minor}")


def find_cuda_path() -> str:
    """The CUDA toolkit folder ($CUDA_HOME or $CUDA_PATH); tensorlang itself compiles with NVRTC
    and needs none."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var]
    if os.path.isdir("/usr/local/cuda"):
        return "/usr/local/cuda"
    raise BuildError("no CUDA toolkit found (set CUDA_HOME); tensorlang compiles CUDA C with NVRTC and needs none")


def get_target_compute_version(target: Any = None) -> str:
    """The compute version to compile for: the target's ``-arch`` (``sm_80`` -> ``"8.0"``), else
    the GPU present's."""
    version = _target_version(target)
    if version is None:
        raise TargetError("no compute version: give the target an -arch (e.g. 'cuda -arch=sm_80') or run where "
                          "a GPU is present")
    return version


def compile_cuda(code: str, target_format: str = "ptx", arch: str | Sequence[str] | None = None,
                 options: Sequence[str] | str | None = None, path_target: str | None = None) -> bytearray:
    """CUDA C ``code`` compiled by NVRTC to ``"ptx"`` or ``"cubin"`` for ``arch`` (``"sm_80"``;
    by default the target's or the GPU's), as bytes (written to ``path_target`` too when given)."""
    if target_format not in ("ptx", "cubin"):
        raise BuildError(f"compile_cuda: target_format must be 'ptx' or 'cubin' (NVRTC makes no {target_format!r})")
    if arch is None:
        major, minor = parse_compute_version(get_target_compute_version(Target.current(allow_none=True)))
        arch = f"sm_{major}{minor}"
    if not isinstance(arch, str):  # TVM's ["-gencode", "arch=compute_80,code=sm_80"] form
        codes = [a.split("code=")[-1] for a in arch if "code=" in a]
        if not codes:
            raise BuildError(f"compile_cuda: cannot read an architecture from {list(arch)!r}")
        arch = codes[0]
    extra = options.split() if isinstance(options, str) else list(options or ())
    compiled = nvrtc.compile_cuda(code, arch, name="compile_cuda", options=extra)
    if target_format == "cubin" and compiled.cubin is None:
        raise BuildError(f"compile_cuda: NVRTC made no cubin for {arch}")
    data = bytearray(compiled.ptx.encode() if target_format == "ptx" else compiled.cubin)
    if path_target is not None:
        with open(path_target, "wb") as f:
            f.write(data)
    return data


def _target_version(target: Any) -> str | None:
    if target is not None:
        arch = Target(target).attrs.get("arch") if not isinstance(target, Target) else target.attrs.get("arch")
        if arch and str(arch).startswith("sm_"):
            digits = str(arch)[3:].rstrip("af")
            return f"{digits[:-1]}.{digits[-1]}"
    dev = ndarray.cuda(0)
    return dev.compute_version if dev.exist else None


__all__ = ["compile_cuda", "find_cuda_path", "get_cuda_version", "get_target_compute_version", "have_bf16",
           "have_cudagraph", "have_fp16", "have_int8", "have_tensorcore", "parse_compute_version"]
