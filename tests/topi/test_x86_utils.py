"""topi.x86.utils: what x86 schedules read of the CPU (a named one, the enclosing target's, or the
host's), and the hand schedule of examples/matmul.py sized by it."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.cli import load_file
from tensorlang.errors import TargetError
from tensorlang.topi.x86 import utils

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("cpu,lanes,avx2,avx512,vnni", [
    ("skylake-avx512", 16, True, True, False), ("cascadelake", 16, True, True, True),
    ("haswell", 8, True, False, False), ("znver3", 8, True, False, False), ("nehalem", 4, False, False, False)])
def test_a_named_cpu(cpu, lanes, avx2, avx512, vnni):
    assert utils.get_simd_32bit_lanes(cpu) == lanes
    has = (utils.target_has_avx2(cpu), utils.target_has_avx512(cpu), utils.target_has_vnni(cpu))
    assert has == (avx2, avx512, vnni)
    assert utils.target_has_sse42(cpu) and utils.target_has_avx(cpu) == (lanes > 4)


@pytest.mark.skipif(platform.machine() != "x86_64" or not Path("/proc/cpuinfo").exists(), reason="an x86 Linux host")
def test_the_host_is_read_from_its_own_features():
    flags = set(Path("/proc/cpuinfo").read_text().split())
    assert utils.get_simd_32bit_lanes() == (16 if "avx512f" in flags else 8 if "avx" in flags else 4)
    assert utils.target_has_avx2() == ("avx2" in flags)
    assert utils.target_has_avx512() == ("avx512f" in flags)
    assert utils.target_has_vnni() == ("avx512_vnni" in flags)


def test_the_enclosing_target_is_the_default_and_a_bad_cpu_is_named():
    with tl.target.Target("llvm -mcpu=skylake-avx512"):
        assert utils.get_simd_32bit_lanes() == 16
    with tl.target.Target("llvm -mcpu=haswell"):
        assert utils.get_simd_32bit_lanes() == 8
    with pytest.raises(TargetError, match="notacpu"):
        utils.target_has_avx2("notacpu")


def test_the_hand_schedule_fits_the_registers_of_the_cpu_it_is_built_for():
    # 6 x 64 float32 accumulators are 24 of AVX-512's 32 registers, but 48 ymm on AVX2: spilled,
    # a third of the speed; on AVX2 the tile is 6 x 16 (12 of 16 registers).
    matmul = load_file(EXAMPLES / "matmul.py")
    with tl.target.Target("llvm -mcpu=skylake-avx512"):
        assert matmul.register_columns(6) == 64
    with tl.target.Target("llvm -mcpu=haswell"):
        assert matmul.register_columns(6) == 16
    s, args = matmul.blocked(40, 24, 52)
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a, b = rng.standard_normal((40, 24), dtype=np.float32), rng.standard_normal((24, 52), dtype=np.float32)
    c = np.empty((40, 52), dtype=np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
