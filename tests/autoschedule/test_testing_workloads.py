"""``tvm.testing.auto_scheduler``: TVM's test workloads, registered, built and checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import auto_scheduler, te

rng = np.random.default_rng()


def _run(tensors, inputs):
    """Build the plain schedule of ``tensors`` (inputs, then outputs) and run it on ``inputs``."""
    outs = tensors[len(inputs):]
    s = te.create_schedule([t.op for t in outs])
    f = tvm.build(s, tensors, "llvm")
    results = [np.zeros([int(d) for d in t.shape], "float32") for t in outs]
    f(*inputs, *results)
    return results


def _rand(*shape):
    return rng.uniform(-1, 1, size=shape).astype("float32")


def test_workloads_are_registered_and_lazily_exposed():
    testing = tvm.testing.auto_scheduler   # no import of the submodule needed, as in TVM
    task = auto_scheduler.SearchTask(func="matmul_auto_scheduler_test", args=(16, 16, 16), target="llvm")
    assert task.func is testing.matmul_auto_scheduler_test
    renamed = auto_scheduler.SearchTask(func="matmul_auto_scheduler_test_rename_1", args=(8, 8, 8), target="llvm")
    assert renamed.func is testing.matmul_auto_scheduler_test_rename_0
    for name in testing.__all__:
        if name not in ("matmul_auto_scheduler_test_rename_0", "get_tiled_matmul"):  # not workloads
            assert auto_scheduler.make_workload_key(getattr(testing, name), ()) == f'["{name}"]'
    A, B, C = testing.matmul_auto_scheduler_test(8, 8, 8)
    assert C.op.attrs["layout_free_placeholders"][0] is B


@pytest.mark.parametrize("name, args, ref", [
    ("matmul_auto_scheduler_test", (8, 12, 10), lambda a, b: [a @ b]),
    ("double_matmul_auto_scheduler_test", (8,), lambda a, b, c: [(a @ b) @ c]),
    ("parallel_matmul_auto_scheduler_test", (8,), lambda a, b, c: [a @ b, a @ c]),
    ("min_nm_auto_scheduler_test", (6, 10), lambda a: [a.min(axis=-1)]),
    ("softmax_nm_auto_scheduler_test", (4, 10), lambda a: [np.exp(a) / np.exp(a).sum(1, keepdims=True)]),
    ("softmax_abcd_auto_scheduler_test", (2, 3, 4, 5), lambda a: [np.exp(a) / np.exp(a).sum(-1, keepdims=True)]),
    ("zero_rank_reduce_auto_scheduler_test", (10,), lambda a: [a.sum()]),
    ("zero_rank_compute_auto_scheduler_test", (10,), lambda a: [a[0]]),
    ("max_pool2d_auto_scheduler_test", (1, 5, 6, 2, 1), None),
    ("conv2d_nchw_bn_relu_auto_scheduler_test", (1, 6, 6, 3, 4, 3, 1, 1), None),
])
def test_workloads_compute_what_they_say(name, args, ref):
    tensors = getattr(tvm.testing.auto_scheduler, name)(*args)
    n_in = sum(isinstance(t.op, te.PlaceholderOp) for t in tensors)
    inputs = [_rand(*[int(d) for d in t.shape]) for t in tensors[:n_in]]
    got = _run(tensors, inputs)
    if name == "max_pool2d_auto_scheduler_test":
        (x,) = inputs
        p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
        want = [np.max([p[:, :, i:i + p.shape[2] - 1, j:j + p.shape[3] - 1] for i in (0, 1) for j in (0, 1)], 0)]
    elif name == "conv2d_nchw_bn_relu_auto_scheduler_test":
        x, w, bias, offset, scale = inputs
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        conv = np.einsum("nchwrs,kcrs->nkhw", np.lib.stride_tricks.sliding_window_view(xp, (3, 3), (2, 3)), w)
        want = [np.maximum((conv + bias[None]) * scale[None] + offset[None], 0)]
    else:
        want = ref(*inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_winograd_conv2d_matches_a_direct_convolution():
    from tensorlang.topi.nn.winograd import winograd_transform_matrices
    n, h, w, ci, co = 1, 8, 4, 3, 4     # output sizes multiples of the 4x4 tile, as the workload needs
    tensors = tvm.testing.auto_scheduler.conv2d_winograd_nhwc_auto_scheduler_test(n, h, w, ci, co, 3, 1, 1)
    _, _, G = winograd_transform_matrices(4, 3, "float32")
    (g,) = _run([G], [])
    kernel = _rand(3, 3, ci, co)
    packed = np.einsum("ar,rsio,bs->abio", g, kernel, g).astype("float32")   # G k G^T per channel pair
    x = _rand(n, h, w, ci)
    (got,) = _run(tensors, [x, packed])
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.einsum("nhwirs,rsio->nhwo", np.lib.stride_tricks.sliding_window_view(xp, (3, 3), (1, 2)), kernel)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
