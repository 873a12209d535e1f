"""The examples: every file's schedules() lowers, and every task of tasks(target) builds with its
fallback config and computes what numpy computes (CPU, and GPU kernels through emulation)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang.autotune.space import FallbackConfigEntity
from tensorlang.cli import iter_schedules, load_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
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
                                ("chain", (a, b, c), np.maximum(a * b + c, 0) * 0.5 - c),
                                ("exp_map", (a,), np.exp(a))):
        s, args = getattr(membound, name)(n)
        out = np.full(n, np.nan, np.float32)
        tl.build(s, args, target="llvm")(*ins, out)
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6, err_msg=name)
    x = (rng.standard_normal((7, 203)) * 5).astype(np.float32)
    s, args = membound.softmax(7, 203)
    out = np.empty_like(x)
    tl.build(s, args, target="llvm")(x, out)
    np.testing.assert_allclose(out, membound.numpy_softmax(x), rtol=1e-5, atol=1e-8)


def _conv_ref(x, w, pad, stride):
    """Direct convolution in numpy (NCHW), one einsum per filter tap."""
    _, _, H, W = x.shape
    _, _, R, S = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = (H + 2 * pad - R) // stride + 1, (W + 2 * pad - S) // stride + 1
    return sum(np.einsum("nchw,kc->nkhw", xp[:, :, r:r + stride * OH:stride, q:q + stride * OW:stride], w[:, :, r, q])
               for r in range(R) for q in range(S))


def _instantiate(task, index):
    from tensorlang.autotune.dispatcher import config_scope
    cfg = FallbackConfigEntity() if index is None else task.config_space.get(index)
    with tl.target.Target("llvm"), config_scope(cfg):
        s, args = task.func(*task.args)
        return tl.build(s, args)


@pytest.mark.parametrize("shape", [
    (1, 32, 13, 13, 48, 3, 3, 1, 1),   # 13 columns: reg_n leaves a tail; 48 = 3 vectors of channels
    (2, 16, 12, 10, 32, 3, 3, 1, 2),   # stride 2, batch 2
    (1, 24, 9, 11, 16, 1, 1, 0, 1),    # 1x1
    (1, 3, 10, 10, 8, 5, 5, 2, 1),     # few channels: narrow blocks
])
def test_conv2d_nchwc_template_random_configs(shape, rng):
    import conv2d  # noqa: F401 - registers the templates

    from tensorlang import autotune
    task = autotune.task.create("conv2d_nchwc", (*shape, "float32"), "llvm")
    N, C, H, W, K, R, S, pad, stride = shape
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((K, C, R, S)).astype(np.float32)
    ref = _conv_ref(x, w, pad, stride)
    assert task.flop == 2 * ref.size * C * R * S
    valid = [i for i in rng.permutation(len(task.config_space))[:40] if task.config_space.is_valid(int(i))]
    per_row = next(i for i in map(int, rng.permutation(len(task.config_space)))  # unpacked row by row
                   if task.config_space.is_valid(i) and task.config_space.get(i)["unpack"].val == "per_row")
    for index in [None, *map(int, valid[:2]), per_row]:
        y = np.full(ref.shape, np.nan, np.float32)
        _instantiate(task, index)(x, w, y)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-3, err_msg=f"config {index}")


@pytest.mark.parametrize("shape", [(1, 32, 8, 14, 12), (2, 20, 4, 8, 8), (1, 9, 6, 56, 6)])
def test_conv2d_1x1_template_configs(shape, rng):
    """The 1x1 convolution as a matmul over the flattened image, every valid config, batch > 1,
    channel counts that are not multiples of 16."""
    import conv2d  # noqa: F401 - registers the templates

    from tensorlang import autotune
    N, C, H, W, K = shape
    task = autotune.task.create("conv2d_1x1_nchw", (*shape, "float32"), "llvm")
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((K, C, 1, 1)).astype(np.float32)
    ref = _conv_ref(x, w, 0, 1)
    assert task.flop == 2 * ref.size * C
    valid = [i for i in range(len(task.config_space)) if task.config_space.is_valid(i)]
    assert valid
    for index in [None, *valid[:4]]:
        y = np.full(ref.shape, np.nan, np.float32)
        _instantiate(task, index)(x, w, y)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-3, err_msg=f"config {index}")


def test_conv2d_1x1_template_refuses_shapes_without_a_row_tile():
    import conv2d

    with pytest.raises(ValueError, match="no tile of whole rows"):
        conv2d.conv2d_1x1_template.template_func(1, 8, 7, 7, 8, "float32")


@pytest.mark.parametrize("shape", [(1, 32, 14, 13, 3, 3, 1, 1), (2, 16, 9, 9, 3, 3, 1, 2), (1, 8, 7, 7, 5, 5, 2, 1)])
def test_depthwise_nchwc_template(shape, rng):
    import conv2d  # noqa: F401 - registers the templates

    from tensorlang import autotune
    N, C, H, W, R, S, pad, stride = shape
    task = autotune.task.create("depthwise_conv2d_nchwc", (*shape, "float32"), "llvm")
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    f = rng.standard_normal((C, R, S)).astype(np.float32)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = (H + 2 * pad - R) // stride + 1, (W + 2 * pad - S) // stride + 1
    ref = sum(xp[:, :, r:r + stride * OH:stride, q:q + stride * OW:stride] * f[None, :, r, q, None, None]
              for r in range(R) for q in range(S))
    assert task.flop == 2 * ref.size * R * S
    for index in [None, *(i for i in range(len(task.config_space)) if task.config_space.is_valid(i))][:3]:
        y = np.full(ref.shape, np.nan, np.float32)
        _instantiate(task, index)(x, f, y)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4, err_msg=f"config {index}")


def test_conv2d_nchwc_layout_stages_are_transposes_not_gathers(rng):
    """Filter packing and output unpacking compile to register transposes (no gather left in
    the fallback config, whose channel blocks are whole vectors), and the result is right."""
    import conv2d  # noqa: F401 - registers the templates

    from tensorlang import autotune
    shape = (1, 32, 9, 20, 32, 3, 3, 1, 1)
    task = autotune.task.create("conv2d_nchwc", (*shape, "float32"), "llvm")
    f = _instantiate(task, None)
    assert "gather" not in f.get_source("asm")
    x = rng.standard_normal((1, 32, 9, 20)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    y = np.full((1, 32, 9, 20), np.nan, np.float32)
    f(x, w, y)
    np.testing.assert_allclose(y, _conv_ref(x, w, 1, 1), rtol=1e-4, atol=1e-3)
