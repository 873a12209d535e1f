"""topi.cuda.conv2d_nhwc_tensorcore (the AutoTVM template ``conv2d_nhwc_tensorcore.cuda``) as
TVM 0.12's test_topi_conv2d_nhwc_tensorcore uses it, in ``cuda -emulate`` against numpy."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te, topi
from tensorlang.errors import ScheduleError

rng = np.random.default_rng()


def _reference(a, w, stride, pad):
    kh, kw = w.shape[:2]
    ap = np.pad(a.astype("float32"), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh = (a.shape[1] + 2 * pad - kh) // stride + 1
    ow = (a.shape[2] + 2 * pad - kw) // stride + 1
    out = np.zeros((a.shape[0], oh, ow, w.shape[3]), "float32")
    for i in range(kh):
        for j in range(kw):
            win = ap[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            out += np.einsum("nhwc,co->nhwo", win, w[i, j].astype("float32"))
    return out


@pytest.mark.parametrize("shape,kernel,stride,pad", [((16, 5, 5, 32), (3, 3, 32, 16), 1, 1),
                                                     ((32, 6, 6, 16), (3, 3, 16, 8), 2, 1),
                                                     ((8, 4, 4, 16), (1, 1, 16, 32), 1, 0)])
def test_conv2d_nhwc_tensorcore_with_bias_and_relu(shape, kernel, stride, pad):
    A = te.placeholder(shape, name="A", dtype="float16")
    W = te.placeholder(kernel, name="W", dtype="float16")
    bias = te.placeholder((1, 1, 1, kernel[3]), name="bias", dtype="float32")
    with tvm.target.Target("cuda"):
        C = topi.cuda.conv2d_nhwc_tensorcore(A, W, stride, pad, 1, "float32")
        D = topi.nn.relu(topi.add(C, bias))
        s = topi.cuda.schedule_conv2d_nhwc_tensorcore([D])
    f = tvm.build(s, [A, W, bias, D], "cuda -emulate")
    a = rng.uniform(-1, 1, shape).astype("float16")
    w = rng.uniform(-1, 1, kernel).astype("float16")
    b = rng.uniform(-1, 1, (1, 1, 1, kernel[3])).astype("float32")
    d = np.full(tuple(int(x) for x in D.shape), np.nan, "float32")
    f(a, w, b, d)
    np.testing.assert_allclose(d, np.maximum(_reference(a, w, stride, pad) + b, 0), rtol=1e-3, atol=1e-3)


def test_sampled_configs_match_numpy():
    shape, kernel, stride, pad = (64, 4, 4, 64), (3, 3, 64, 64), 2, 1
    A = te.placeholder(shape, name="A", dtype="float16")
    W = te.placeholder(kernel, name="W", dtype="float16")
    task = autotvm.task.create("conv2d_nhwc_tensorcore.cuda", args=(A, W, stride, pad, 1, "float32"), target="cuda")
    a = rng.uniform(-1, 1, shape).astype("float16")
    w = rng.uniform(-1, 1, kernel).astype("float16")
    want = _reference(a, w, stride, pad)
    built = 0
    pick = random.Random(int(rng.integers(1 << 30)))
    for idx in pick.sample(range(len(task.config_space)), 60):
        try:
            with tvm.target.Target("cuda"):
                s, args = task.instantiate(task.config_space.get(idx))
            f = tvm.build(s, args, "cuda -emulate")
        except tvm.errors.TensorLangError:
            continue
        d = np.full(want.shape, np.nan, "float32")
        f(a, w, d)
        np.testing.assert_allclose(d, want, rtol=1e-3, atol=1e-3, err_msg=str(task.config_space.get(idx)))
        built += 1
        if built == 3:
            break
    assert built >= 1


def test_shapes_without_a_fragment_are_refused():
    A = te.placeholder((12, 4, 4, 16), name="A", dtype="float16")
    W = te.placeholder((3, 3, 16, 16), name="W", dtype="float16")
    with pytest.raises(ScheduleError, match="must be multiples of"):
        topi.cuda.conv2d_nhwc_tensorcore(A, W, 1, 1, 1, "float32")
