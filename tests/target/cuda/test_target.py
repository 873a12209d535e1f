"""CUDA target strings: architectures, limits and options."""

from __future__ import annotations

import pytest

from tensorlang.errors import TargetError
from tensorlang.target.cuda.runtime import gpu_available
from tensorlang.target.cuda.target import CUDATarget

# --- the target ------------------------------------------------------------------------------------------

def test_target_parsing():
    t = CUDATarget.from_string("cuda -arch=sm_80 -max_threads_per_block=512 -max_shared_memory_per_block=65536 "
                               "-registers_per_block=32768 -emulate")
    assert (t.arch, t.max_threads_per_block, t.max_shared_memory_per_block, t.registers_per_block, t.emulate) == \
        ("sm_80", 512, 65536, 32768, True)
    assert t.compute_capability == (8, 0) and CUDATarget.from_string("cuda -arch=sm_120").compute_capability == (12, 0)
    assert CUDATarget.from_string(str(t)) == t
    d = CUDATarget.from_string("cuda")
    assert (d.max_threads_per_block, d.max_shared_memory_per_block, d.registers_per_block, d.emulate) == \
        (1024, 49152, 65536, False)
    if not gpu_available():
        assert d.arch == "sm_90"
    with pytest.raises(TargetError, match="unknown option '-foo=1'"):
        CUDATarget.from_string("cuda -foo=1")
    with pytest.raises(TargetError, match="-arch must name"):
        CUDATarget.from_string("cuda -arch=compute_90")
    with pytest.raises(TargetError, match="positive integer"):
        CUDATarget.from_string("cuda -max_threads_per_block=0")
    with pytest.raises(TargetError):
        CUDATarget.from_string("llvm")
