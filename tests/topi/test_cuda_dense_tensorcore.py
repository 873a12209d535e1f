"""topi.cuda.dense_tensorcore (the AutoTVM template ``dense_tensorcore.cuda``) as TVM 0.12's
test_topi_dense_tensorcore uses it, run in ``cuda -emulate`` against numpy: the default config, a
sample of tuned configs, a fused bias and relu, int8 inputs summed in int32."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import autotune as autotvm
from tensorlang import te, topi
from tensorlang.errors import ScheduleError

rng = np.random.default_rng()


def _data(shape, dtype):
    if dtype == "float16":
        return rng.uniform(-1, 1, shape).astype(dtype)
    return rng.integers(-128, 128, shape).astype(dtype)


def _check(batch, in_dim, out_dim, dtype, out_dtype, use_bias):
    A = te.placeholder((batch, in_dim), name="A", dtype=dtype)
    B = te.placeholder((out_dim, in_dim), name="B", dtype=dtype)
    C = te.placeholder((out_dim,), name="C", dtype=dtype)
    with tvm.target.Target("cuda"):
        D = topi.cuda.dense_tensorcore(A, B, C if use_bias else None, out_dtype)
        D = topi.nn.relu(D)
        s = topi.cuda.schedule_dense_tensorcore([D])
    args = [A, B, C, D] if use_bias else [A, B, D]
    f = tvm.build(s, args, "cuda -emulate")
    a, b, c = _data((batch, in_dim), dtype), _data((out_dim, in_dim), dtype), _data((out_dim,), dtype)
    d = np.zeros((batch, out_dim), out_dtype)
    f(*([a, b, c, d] if use_bias else [a, b, d]))
    want = a.astype(out_dtype) @ b.astype(out_dtype).T + (c.astype(out_dtype) if use_bias else 0)
    np.testing.assert_allclose(d, np.maximum(want, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("batch,in_dim,out_dim", [(16, 32, 16), (32, 16, 8), (8, 16, 32)])
def test_dense_tensorcore_float16(batch, in_dim, out_dim):
    _check(batch, in_dim, out_dim, "float16", "float32", use_bias=True)


def test_dense_tensorcore_int8_sums_in_int32():
    _check(16, 32, 16, "int8", "int32", use_bias=False)


def test_tuned_configs_match_numpy():
    """A random sample of the template's space: each config builds and matches numpy, or is refused
    with a tensorlang error (a tile over the matrix, a block over the device's shared memory)."""
    A = te.placeholder((64, 64), name="A", dtype="float16")
    B = te.placeholder((64, 64), name="B", dtype="float16")
    task = autotvm.task.create("dense_tensorcore.cuda", args=(A, B, None, "float32"), target="cuda")
    a, b = _data((64, 64), "float16"), _data((64, 64), "float16")
    want = a.astype("float32") @ b.astype("float32").T
    built = 0
    pick = random.Random(int(rng.integers(1 << 30)))
    for idx in pick.sample(range(len(task.config_space)), 40):
        cfg = task.config_space.get(idx)
        try:
            with tvm.target.Target("cuda"):
                s, args = task.instantiate(cfg)
            f = tvm.build(s, args, "cuda -emulate")
        except tvm.errors.TensorLangError:
            continue
        d = np.full((64, 64), np.nan, "float32")
        f(a, b, d)
        np.testing.assert_allclose(d, want, rtol=1e-4, atol=1e-4, err_msg=str(cfg))
        built += 1
        if built == 4:
            break
    assert built >= 1


def test_shapes_that_fit_no_fragment_are_refused():
    A = te.placeholder((24, 32), name="A", dtype="float16")
    B = te.placeholder((16, 32), name="B", dtype="float16")
    with pytest.raises(ScheduleError, match="must be multiples of"):
        topi.cuda.dense_tensorcore(A, B, None, "float32")
    A32 = te.placeholder((16, 32), name="A", dtype="float32")
    with pytest.raises(ScheduleError, match="float16, int8 or uint8"):
        topi.cuda.dense_tensorcore(A32, A32, None, "float32")


@pytest.mark.parametrize("dtype,out_dtype", [("float16", "float32"), ("int8", "int32")])
def test_batch_matmul_tensorcore(dtype, out_dtype):
    x = te.placeholder((3, 32, 16), name="x", dtype=dtype)
    y = te.placeholder((3, 16, 16), name="y", dtype=dtype)
    with tvm.target.Target("cuda"):
        z = topi.cuda.batch_matmul_tensorcore(x, y, None, out_dtype)
        s = topi.cuda.schedule_batch_matmul_tensorcore([z])
    f = tvm.build(s, [x, y, z], "cuda -emulate")
    a, b = _data((3, 32, 16), dtype), _data((3, 16, 16), dtype)
    c = np.zeros((3, 32, 16), out_dtype)
    f(a, b, c)
    np.testing.assert_allclose(c, np.einsum("bik,bjk->bij", a.astype(out_dtype), b.astype(out_dtype)), rtol=1e-4,
                               atol=1e-4)


def test_a_symbolic_batch_is_a_clear_error():
    n = te.var("n")
    A = te.placeholder((n, 32), name="A", dtype="float16")
    B = te.placeholder((16, 32), name="B", dtype="float16")
    with tvm.target.Target("cuda"):
        with pytest.raises(ScheduleError, match="tensor cores need constant shapes, got batch = n"):
            topi.cuda.dense_tensorcore(A, B, None, "float32")
