"""Random configs of the CUDA templates, built for ``cuda -emulate`` and run against numpy.

A config may be rejected (a constraint, a device limit, a barrier the GPU would deadlock on),
never computed wrong.  CI draws a few configs per template from a fixed seed;
``tools/cuda_config_sweep.py`` draws as many as you like.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune
from tensorlang.autotune.space import InstantiationError
from tensorlang.errors import BuildError, LoweringError, ScheduleError
from tensorlang.target.cuda.nvrtc import nvrtc_available
from tensorlang.topi.testing import conv2d_nchw_python

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import conv2d  # noqa: E402 - registers conv2d_nchw_cuda
import matmul  # noqa: E402,F401 - registers matmul_cuda

import tests.compat.test_autotvm_tutorials  # noqa: E402,F401 - registers compat/conv2d_no_batching

TARGET = "cuda -emulate -arch=sm_90"


@dataclass(frozen=True)
class Template:
    """A task of a CUDA template and its numpy reference over (input arrays) -> output."""

    name: str
    args: tuple
    inputs: tuple[tuple[int, ...], ...]
    reference: Callable[..., np.ndarray]

    def task(self) -> autotune.task.Task:
        return autotune.task.create(self.name, args=self.args, target=TARGET)


_TENSOR = "TENSOR"
TEMPLATES = {
    # TVM's tune_conv2d_cuda tutorial, ported with imports changed (its smaller CI layer)
    "tutorial_conv2d": Template("compat/conv2d_no_batching", (1, 7, 7, 16, 8, 3, 3, (1, 1), (1, 1)),
                                ((1, 8, 7, 7), (16, 8, 3, 3)),
                                lambda a, w: conv2d_nchw_python(a, w, (1, 1), (1, 1))),
    "topi_conv2d": Template("conv2d_nchw.cuda", ((_TENSOR, (1, 8, 7, 7), "float32"),
                                                 (_TENSOR, (16, 8, 3, 3), "float32"), (1, 1), (1, 1), (1, 1),
                                                 "float32"),
                            ((1, 8, 7, 7), (16, 8, 3, 3)), lambda a, w: conv2d_nchw_python(a, w, (1, 1), (1, 1))),
    "example_conv2d": Template("conv2d_nchw_cuda", (1, 8, 10, 10, 16, 3, 3, 1, "float32"),
                               ((1, 8, 10, 10), (16, 8, 3, 3)), lambda a, w: conv2d.numpy_conv2d(a, w, 1)),
    "example_matmul": Template("matmul_cuda", (48, 40, 64, "float32"), ((48, 40), (40, 64)),
                               lambda a, b: a.astype("float64") @ b.astype("float64")),
}

# Rejections a config may meet; anything else (and any numeric mismatch) fails.
REJECTED = (InstantiationError, BuildError, LoweringError, ScheduleError)


def check_config(template: Template, task: autotune.task.Task, index: int,
                 rng: np.random.Generator) -> str | None:
    """Build config ``index`` of ``task`` for emulation and compare its output with numpy; the
    reason it was rejected, or None when it ran and matched (AssertionError when it did not)."""
    config = task.config_space.get(index)
    try:
        s, args = task.instantiate(config)
        f = tl.build(s, args, target=TARGET)
    except REJECTED as exc:
        return f"{type(exc).__name__}: {exc}"
    inputs = [rng.uniform(-1, 1, shape).astype("float32") for shape in template.inputs]
    want = template.reference(*inputs)
    got = rng.uniform(-1, 1, want.shape).astype("float32")  # garbage: every element must be written
    f(*inputs, got)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=f"{task.name} {config}")
    return None


def sample_indices(task: autotune.task.Task, count: int, seed: int) -> list[int]:
    """``count`` distinct indices of configs that meet the space's constraints, drawn uniformly
    (a longer draw with the same seed starts with the same indices)."""
    space = task.config_space
    out: list[int] = []
    for i in np.random.default_rng(seed).permutation(len(space)):
        try:
            space.check(space.get(int(i)))
        except InstantiationError:
            continue
        out.append(int(i))
        if len(out) == count:
            break
    return out


def test_the_tutorial_config_that_dropped_a_padding_guard():
    # Index 171382 (tile_f=[-1,2,4,1], tile_rc=[-1,2,4], tile_rx=[-1,1,3]) lost the padding
    # check of its shared-memory fetch for every third row: loop partitioning took a guard on
    # (fused index) % 3 for linear in the loop variable, and max error was 4.85.
    template = TEMPLATES["tutorial_conv2d"]
    task = template.task()
    assert check_config(template, task, 171382, np.random.default_rng()) is None


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_random_configs_match_numpy(key):
    template = TEMPLATES[key]
    task = template.task()
    rng = np.random.default_rng()
    ran = 0
    for index in sample_indices(task, 2, seed=5):
        ran += check_config(template, task, index, rng) is None
    assert ran >= 1, f"every sampled config of {key} was rejected"


@pytest.mark.parametrize("index", [133449, 38324])
def test_matmul_configs_whose_fetch_splits_inside_a_thread_guard(index):
    # The shared fetch of A (133449: 48 rows x 2 over 16 x 4 threads, 38324: 24 x 2 over 4 x 8)
    # leaves a guard on the thread index around two stores after unrolling; storage_sync put a
    # barrier between those two writes, inside the guard, and the CUDA backend refused the kernel.
    template = TEMPLATES["example_matmul"]
    task = template.task()
    assert check_config(template, task, index, np.random.default_rng()) is None
    s, args = task.instantiate(task.config_space.get(index))
    f = tl.build(s, args, target=TARGET)
    src = f.get_source("cuda")
    assert "__syncthreads();" in src  # between the fetch and its readers (one per k-tile when double-buffered)
    if nvrtc_available():  # NVRTC compiled what a GPU would run
        assert "bar.sync" in f.get_source("ptx")


@pytest.mark.parametrize("name,args", [("matmul_cuda", (512, 512, 512, "float32")),
                                       ("conv2d_nchw_cuda", (1, 512, 7, 7, 512, 3, 3, 1, "float32"))])
def test_template_constraints_keep_configs_within_the_shared_memory_limit(name, args):
    # The constraints counted one copy of each shared tile; double buffering holds two, and the
    # device-limit check rejected such configs (a tuner trial wasted) that the space offered.
    from tensorlang.lowering.launch_extents import launch_extents
    from tensorlang.schedule.bound import infer_bound
    from tensorlang.schedule.inline import effective_bodies
    from tensorlang.target.cuda.device_limits import check_schedule_extents
    from tensorlang.target.cuda.target import CUDATarget

    task = autotune.task.create(name, args, TARGET)
    target = CUDATarget.from_string(TARGET)
    for index in sample_indices(task, 40, seed=2):
        s, _ = task.instantiate(task.config_space.get(index))
        s.legalize_attachments()
        bodies = effective_bodies(s)
        check_schedule_extents(launch_extents(s, infer_bound(s, bodies)), target)
