"""NVRTC: the rendered CUDA C compiles to PTX and a cubin, with resource counts and caching."""

from __future__ import annotations

import os
import re
import sys

import pytest

from tensorlang.errors import BuildError
from tensorlang.target.cuda import nvrtc
from tensorlang.target.cuda.codegen import (
    split_kernels,
)

from .helpers import FUNCS, needs_nvrtc, source_of

# --- NVRTC -----------------------------------------------------------------------------------------------

@needs_nvrtc
@pytest.mark.parametrize("key", sorted(FUNCS))
def test_nvrtc_compiles_every_kernel(key):
    src = source_of(key)
    out = nvrtc.compile_cuda(src, "sm_90", key)
    assert out.cubin and out.cubin[:4] == b"\x7fELF"
    assert ".target sm_90" in out.ptx and out.ptx_version is not None
    for k in split_kernels(FUNCS[key]()).kernels:
        assert f".entry {k.name}(" in out.ptx
        assert out.resources[k.name].registers > 0


@needs_nvrtc
def test_half_compiles_without_cuda_fp16_header(monkeypatch):
    monkeypatch.setattr(nvrtc, "include_dirs", lambda: [])
    out = nvrtc.compile_cuda(source_of("half"), "sm_90", "half_standalone")
    assert out.cubin and "-I" not in " ".join(out.options)


@needs_nvrtc
def test_compile_cache_and_ptx_fallback_rules():
    src = source_of("vadd")
    a = nvrtc.compile_cuda(src, "sm_90", "vadd")
    assert nvrtc.compile_cuda(src, "sm_90", "vadd") is a
    assert nvrtc.max_ptx_version(12040) == (8, 4) and nvrtc.max_ptx_version(13000) == (9, 0)
    assert nvrtc.driver_accepts_ptx(a, 99000) and not nvrtc.driver_accepts_ptx(a, 12000)


@needs_nvrtc
def test_syntax_error_lists_the_offending_line():
    src = source_of("vadd").replace("Out[(bx * 64) + tx] = ", "Out[(bx * 64) + tx] = undefined_thing + ")
    bad_line = next(k + 1 for k, line in enumerate(src.splitlines()) if "undefined_thing" in line)
    with pytest.raises(BuildError) as info:
        nvrtc.compile_cuda(src, "sm_90", "broken")
    msg = str(info.value)
    assert "NVRTC failed to compile broken for sm_90" in msg
    assert 'identifier "undefined_thing" is undefined' in msg  # the log
    assert re.search(rf">\s*{bad_line} \|.*undefined_thing", msg)  # the line, numbered
    assert "-arch=sm_90" in msg and "compile_cuda(open(" in msg  # the repro
    repro = re.search(r"the source is in (\S+);", msg).group(1)
    with open(repro) as f:
        assert f.read() == src


@needs_nvrtc
def test_unsupported_arch_is_a_clear_error():
    with pytest.raises(BuildError, match="cannot compile for sm_35"):
        nvrtc.compile_cuda(source_of("vadd"), "sm_35", "old")


def test_missing_nvrtc_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(nvrtc, "_lib", None)
    monkeypatch.setitem(sys.modules, "cuda.bindings.nvrtc", None)  # as if cuda-python were not installed
    with pytest.raises(BuildError, match=r"pip install tensorlang\[cuda\]"):
        nvrtc.compile_cuda("int x;", "sm_90", "nolib_" + str(os.getpid()))


def test_include_dirs_add_the_folders_of_crt_mma_and_nv_target(tmp_path, monkeypatch):
    """pip's CUDA 12 headers come in several wheels: cuda_fp16.h/mma.h in the runtime's folder,
    crt/mma.h in nvcc's, nv/target in cccl's; each folder joins the include path."""
    root = tmp_path / "site"
    runtime, nvcc, cccl, other = (root / "nvidia" / name / "include" for name in ("rt", "nvcc", "cccl", "other"))
    for folder, files in ((runtime, ["cuda_fp16.h", "mma.h"]), (nvcc, ["crt/mma.h"]), (cccl, ["nv/target"]),
                          (other, ["unrelated.h"])):
        for f in files:
            (folder / f).parent.mkdir(parents=True, exist_ok=True)
            (folder / f).write_text("// test\n")
    monkeypatch.setattr(nvrtc.sys, "path", [str(root)])
    monkeypatch.setattr(nvrtc, "nvrtc_version", lambda: (12, 9))
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setattr(nvrtc.os.path, "isdir", lambda p: str(p).startswith(str(root)))
    nvrtc.include_dirs.cache_clear()
    try:
        found = nvrtc.include_dirs()
    finally:
        nvrtc.include_dirs.cache_clear()
    assert str(runtime) in found and str(nvcc) in found and str(cccl) in found and str(other) not in found
