"""Thread loops shorter than their kernel's launch: guarded around their own statements, never a barrier."""

import numpy as np

import tensorlang as tl
from tensorlang import te
from tests.conftest import random_array


def _conv_with_a_wide_tile(n: int = 16, ic: int = 2, oc: int = 4, k: int = 3):
    """d2l's conv_gpu schedule on an image narrower than its column tile (16 < 64): the output
    stage binds 4 threads along x, its cooperative shared-memory fetch 8."""
    X = te.placeholder((ic, n, n), name="X")
    K = te.placeholder((oc, ic, k, k), name="K")
    P = te.compute((ic, n + 2, n + 2), lambda c, i, j: te.if_then_else(
        te.any(i < 1, i >= n + 1, j < 1, j >= n + 1), 0.0, X[c, i - 1, j - 1]), name="P")
    rc, rh, rw = (te.reduce_axis((0, e), name) for e, name in ((ic, "rc"), (k, "rh"), (k, "rw")))
    Y = te.compute((oc, n, n), lambda c, i, j: te.sum(P[rc, i + rh, j + rw] * K[c, rc, rh, rw],
                                                      axis=[rc, rh, rw]), name="Y")
    s = te.create_schedule(Y.op)
    s[P].compute_inline()
    YL = s.cache_write(Y, "local")
    XX = s.cache_read(P, "shared", [YL])
    tx = te.thread_axis("threadIdx.x")
    c, h, w = s[Y].op.axis
    bw, w = s[Y].split(w, factor=64)
    tw, iw = s[Y].split(w, factor=4)
    s[Y].bind(c, te.thread_axis("blockIdx.x"))
    s[Y].bind(tw, tx)
    s[Y].reorder(c, bw, tw, h, iw)
    s[YL].compute_at(s[Y], tw)
    s[XX].compute_at(s[YL], s[YL].op.reduce_axis[2])
    t, _ = s[XX].split(s[XX].fuse(*s[XX].op.axis), nparts=8)
    s[XX].bind(t, tx)
    return X, K, Y, s


def test_a_stage_with_fewer_threads_than_its_fetch_keeps_the_barriers_unguarded(rng):
    # The kernel launches 8 threads along x; the output stage's statements run in the first 4
    # (it narrowed its 16 tiles of 4 columns to the 4 the image has), while all 8 fetch the
    # window and reach every barrier (a guard around them was a BuildError).
    n, ic, oc, k = 16, 2, 4, 3
    X, K, Y, s = _conv_with_a_wide_tile(n, ic, oc, k)
    f = tl.build(s, [X, K, Y], "cuda -emulate")
    x = random_array(rng, (ic, n, n), "float32")
    w = random_array(rng, (oc, ic, k, k), "float32")
    y = tl.nd.array(np.zeros((oc, n, n), "float32"))
    f(tl.nd.array(x), tl.nd.array(w), y)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))  # (ic, n, n, k, k)
    ref = np.einsum("cijhw,ochw->oij", windows, w)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-4)
    source = f.extra_sources["cuda"]
    assert "__launch_bounds__(8)" in source and "< 4)" in source
    from tensorlang.target.cuda.nvrtc import nvrtc_available
    if nvrtc_available():
        tl.build(s, [X, K, Y], "cuda -arch=sm_90")  # NVRTC compiles the kernel
