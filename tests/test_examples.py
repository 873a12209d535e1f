"""The examples: every file's schedules() lowers, and every task of tasks(target) builds with its
fallback config and computes what numpy computes (CPU, and GPU kernels through emulation)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.autotune.space import FallbackConfigEntity
from tensorlang.cli import iter_schedules, load_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))


@pytest.mark.parametrize("name", ["vadd", "matmul", "conv2d", "membound"])
def test_schedules_lower(name):
    module = load_file(str(EXAMPLES / f"{name}.py"))
    entries = list(iter_schedules(module, name))
    assert entries
    for _, s, args in entries:
        assert "func" in str(tl.lower(s, args))


def test_matmul_template_small_shapes_cpu_and_gpu():
    import matmul
    rng = np.random.default_rng()
    a, b = rng.random((40, 24), dtype=np.float32), rng.random((24, 72), dtype=np.float32)
    for target, fn in (("llvm", matmul.matmul_template), ("cuda -emulate", matmul.matmul_cuda_template)):
        with tl.target.Target(target):
            from tensorlang.autotune.dispatcher import config_scope
            with config_scope(FallbackConfigEntity()):
                s, args = fn.template_func(40, 24, 72)
            f = tl.build(s, args, target=target)
        c = np.empty((40, 72), np.float32)
        f(a, b, c)
        np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_membound_kernels_match_numpy():
    import membound
    rng = np.random.default_rng()
    n = 3 * 16384 + 37  # several parallel blocks and a tail
    a, b, c = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    for name, ins, expected in (("vadd", (a, b), a + b),
                                ("chain", (a, b, c), np.maximum(a * b + c, 0) * 0.5 - c)):
        s, args = getattr(membound, name)(n)
        out = np.full(n, np.nan, np.float32)
        tl.build(s, args, target="llvm")(*ins, out)
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6, err_msg=name)
    x = (rng.standard_normal((7, 203)) * 5).astype(np.float32)
    s, args = membound.softmax(7, 203)
    out = np.empty_like(x)
    tl.build(s, args, target="llvm")(x, out)
    np.testing.assert_allclose(out, membound.numpy_softmax(x), rtol=1e-5, atol=1e-8)
