"""The schedule and compute names TVM 0.12's topi tests take from ``topi.generic``, ``topi.x86`` and
``topi.cuda`` dispatch tables: each builds a small case (llvm for generic and x86, ``cuda -emulate`` for the
CUDA schedules) and matches numpy / topi.testing on fresh random data."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, topi
from tests.topi.runner import call, rand

rng = np.random.default_rng()
T = topi.testing


def _conv1d_ncw():
    x, w = rand(1, 3, 9), rand(4, 3, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    return topi.nn.conv1d_ncw(X, W, 2, 1), [X, W], [x, w], T.conv1d_ncw_python(x, w, 2, 1, 1)


def _conv1d_nwc():
    x, w = rand(1, 9, 3), rand(3, 3, 4)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    ref = T.conv1d_ncw_python(x.transpose(0, 2, 1), w.transpose(2, 1, 0), 1, 1, 1).transpose(0, 2, 1)
    return topi.nn.conv1d_nwc(X, W, 1, 1), [X, W], [x, w], ref


def _conv1d_transpose_ncw():
    x, w = rand(1, 3, 5), rand(3, 2, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    return (topi.nn.conv1d_transpose_ncw(X, W, 2, 1, "float32", 0), [X, W], [x, w],
            T.conv1d_transpose_ncw_python(x, w, 2, 1, 0))


def _conv3d(layout, compute=None):
    x, w = rand(1, 2, 4, 5, 4), rand(3, 2, 3, 3, 3)
    ref = T.conv3d_ncdhw_python(x, w, 1, 1)
    if layout == "NDHWC":
        x, w, ref = x.transpose(0, 2, 3, 4, 1).copy(), w.transpose(2, 3, 4, 1, 0).copy(), ref.transpose(0, 2, 3, 4, 1)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    op = compute or (topi.nn.conv3d_ncdhw if layout == "NCDHW" else topi.nn.conv3d_ndhwc)
    return op(X, W, 1, 1, 1, 1, "float32"), [X, W], [x, w], ref


def _conv3d_transpose_ncdhw():
    x, w = rand(1, 2, 3, 3, 3), rand(2, 2, 2, 2, 2)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    return (topi.nn.conv3d_transpose_ncdhw(X, W, 2, 0, "float32", 0), [X, W], [x, w],
            T.conv3d_transpose_ncdhw_python(x, w, 2, 0, 0))


def _conv2d_transpose_nchw(compute=None):
    x, w = rand(1, 3, 4, 4), rand(3, 2, 3, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    op = compute or topi.nn.conv2d_transpose_nchw
    return op(X, W, 2, 1, "float32", 1), [X, W], [x, w], T.conv2d_transpose_nchw_python(x, w, 2, 1, 1)


def _group_conv2d(layout, compute=None):
    x, w = rand(1, 4, 6, 6), rand(6, 2, 3, 3)
    ref = T.conv2d_nchw_python(x, w, 1, 1, groups=2)
    if layout == "NHWC":
        x, w, ref = x.transpose(0, 2, 3, 1).copy(), w.transpose(2, 3, 1, 0).copy(), ref.transpose(0, 2, 3, 1)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    op = compute or (topi.nn.group_conv2d_nchw if layout == "NCHW" else topi.nn.group_conv2d_nhwc)
    return op(X, W, 1, 1, 1, 2, "float32"), [X, W], [x, w], ref


def _group_conv2d_transpose_nchw():
    x, w = rand(1, 4, 3, 3), rand(4, 1, 3, 3)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    ref = np.concatenate([T.conv2d_transpose_nchw_python(x[:, 2 * g:2 * g + 2], w[2 * g:2 * g + 2], 1, 1, 0)
                          for g in range(2)], axis=1)
    return topi.nn.group_conv2d_transpose_nchw(X, W, 1, 1, "float32", 0, 2), [X, W], [x, w], ref


def _deformable_conv2d_nchw():
    x, w, off = rand(1, 2, 4, 4), rand(3, 2, 3, 3), rand(1, 18, 4, 4)
    X, W, O = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W"), te.placeholder(off.shape, name="O")
    return (topi.nn.deformable_conv2d_nchw(X, O, W, 1, 1, 1, 1, 1), [X, O, W], [x, off, w],
            T.deformable_conv2d_nchw_python(x, off, w, 1, 1, 1, 1, 1))


def _correlation_nchw():
    a, b = rand(1, 2, 6, 6), rand(1, 2, 6, 6)
    A, B = te.placeholder(a.shape, name="A"), te.placeholder(b.shape, name="B")
    return (topi.nn.correlation_nchw(A, B, 1, 2, 1, 1, 2, True), [A, B], [a, b],
            T.correlation_nchw_python(a, b, 1, 2, 1, 1, 2, True))


def _dilation2d(layout):
    x, f = rand(1, 2, 5, 5), rand(2, 3, 3)
    ref = np.full((1, 2, 3, 3), -np.inf)
    for y in range(3):
        for z in range(3):
            ref = np.maximum(ref, x[:, :, y:y + 3, z:z + 3] + f[None, :, y, z, None, None])
    if layout == "NHWC":
        x, f, ref = x.transpose(0, 2, 3, 1).copy(), f.transpose(1, 2, 0).copy(), ref.transpose(0, 2, 3, 1)
        X, F = te.placeholder(x.shape, name="X"), te.placeholder(f.shape, name="F")
        return topi.image.dilation2d_nhwc(X, F, 1, 0, 1), [X, F], [x, f], ref
    X, F = te.placeholder(x.shape, name="X"), te.placeholder(f.shape, name="F")
    return topi.image.dilation2d_nchw(X, F, 1, 0, 1), [X, F], [x, f], ref


def _fast_softmax():
    x = rand(3, 7)
    X = te.placeholder(x.shape, name="X")
    return topi.nn.fast_softmax(X), [X], [x], T.softmax_python(x)


def _sort(kind):
    x = rand(3, 6)
    X = te.placeholder(x.shape, name="X")
    if kind == "sort":
        return topi.sort(X, 1), [X], [x], np.sort(x, 1)
    if kind == "argsort":
        return topi.argsort(X, axis=1, dtype="int32"), [X], [x], np.argsort(x, 1, kind="stable")
    return topi.topk(X, 2, 1, "values"), [X], [x], -np.sort(-x, 1)[:, :2]


def _unique():
    x = rng.integers(0, 5, size=8).astype("int32")
    X = te.placeholder(x.shape, "int32", name="X")
    uniq, _, _, num = topi.unique(X)
    want = np.unique(x)
    got_uniq = np.concatenate([want, np.zeros(8 - len(want), "int32")])
    return [uniq, num], [X], [x], None, (want, len(want), got_uniq)


def _argwhere():
    x = (rand(3, 4) > 0).astype("int32")
    X = te.placeholder(x.shape, "int32", name="X")
    return topi.argwhere(int(x.sum()), X), [X], [x], np.argwhere(x)


def _scatter():
    data, upd = rand(4, 3), rand(2, 3)
    idx = np.ascontiguousarray(np.array([rng.permutation(4)[:2] for _ in range(3)]).T).astype("int32")
    D, I, U = te.placeholder(data.shape, name="D"), te.placeholder(idx.shape, "int32", name="I"), te.placeholder(
        upd.shape, name="U")
    ref = data.copy()
    for i in range(2):
        for j in range(3):
            ref[idx[i, j], j] = upd[i, j]
    return topi.scatter(D, I, U, 0), [D, I, U], [data, idx, upd], ref


def _boxes():
    corner = rng.uniform(0, 8, size=(1, 6, 2))
    return np.concatenate([rng.integers(-1, 2, size=(1, 6, 1)), rng.uniform(-0.2, 1, size=(1, 6, 1)), corner,
                           corner + rng.uniform(1, 5, size=(1, 6, 2))], axis=2).astype("float32")


def _get_valid_counts():
    data = _boxes()
    D = te.placeholder(data.shape, name="D")
    return topi.vision.get_valid_counts(D, 0.1, 0, 1), [D], [data], list(T.get_valid_counts_python(data, 0.1, 0, 1))


def _nms():
    data = _boxes()
    c, b, w = T.get_valid_counts_python(data, 0.1, 0, 1)
    B, C, W = (te.placeholder(v.shape, str(v.dtype), name=n) for v, n in ((b, "B"), (c, "C"), (w, "W")))
    out = topi.vision.non_max_suppression(B, C, W, max_output_size=-1, iou_threshold=0.4)
    return list(out), [B, C, W], [b, c, w], list(T.non_max_suppression_python(b, c, w, -1, 0.4))


def _rois():
    corner = rng.uniform(0, 5, size=(3, 2))
    return np.concatenate([np.zeros((3, 1)), corner, corner + rng.uniform(1, 4, size=(3, 2))], 1).astype("float32")


def _roi(kind):
    x, rois = rand(1, 2, 8, 8), _rois()
    X, R = te.placeholder(x.shape, name="X"), te.placeholder(rois.shape, name="R")
    if kind == "align":
        return (topi.vision.roi_align_nchw(X, R, (2, 2), 1.0, sample_ratio=2), [X, R], [x, rois],
                T.roi_align_nchw_python(x, rois, (2, 2), 1.0, 2))
    return topi.vision.roi_pool_nchw(X, R, (2, 2), 1.0), [X, R], [x, rois], T.roi_pool_nchw_python(x, rois, (2, 2), 1.0)


def _reorg():
    x = rand(1, 8, 4, 4)
    X = te.placeholder(x.shape, name="X")
    return topi.vision.reorg(X, 2), [X], [x], T.reorg_python(x, 2)


def _sparse_dense():
    x, dense_w = rand(3, 6), rand(4, 6) * (rng.random((4, 6)) < 0.5)
    rows, cols = np.nonzero(dense_w)
    vals, ptr = dense_w[rows, cols].astype("float32"), np.searchsorted(rows, np.arange(5)).astype("int32")
    X, V = te.placeholder(x.shape, name="X"), te.placeholder(vals.shape, name="V")
    C, P = te.placeholder(cols.shape, "int32", name="C"), te.placeholder(ptr.shape, "int32", name="P")
    return (topi.nn.sparse_dense(X, V, C, P), [X, V, C, P], [x, vals, cols.astype("int32"), ptr], x @ dense_w.T)


def _dense_dynamic(bias):
    a, b, c = rand(1, 6), rand(5, 6), rand(5)
    A, B, Bias = te.placeholder(a.shape, name="A"), te.placeholder(b.shape, name="B"), te.placeholder(
        (5,), name="Bias")
    if bias:
        return topi.x86.dense_dynamic(A, B, Bias, "float32"), [A, B, Bias], [a, b, c], a @ b.T + c
    return topi.x86.dense_dynamic(A, B, None, "float32"), [A, B], [a, b], a @ b.T


def _lrn():
    x = rand(1, 6, 4, 4)
    X = te.placeholder(x.shape, name="X")
    return topi.nn.lrn(X, 3, 1, 0.1, 0.75, 2.0), [X], [x], T.lrn_python(x, 3, 1, 2.0, 0.1, 0.75)


def _pool_grad(pool_type):
    x = rand(1, 2, 6, 6)
    X = te.placeholder(x.shape, name="X")
    g = rand(1, 2, 3, 3)
    G = te.placeholder(g.shape, name="G")
    return (topi.nn.pool_grad(G, X, [3, 3], [2, 2], [1, 1, 1, 1], pool_type), [G, X], [g, x],
            T.pool_grad_nchw(x, g, [3, 3], [2, 2], [1, 1, 1, 1], pool_type, False))


G, X86, CUDA = topi.generic, topi.x86, topi.cuda
CASES = {
    "generic.schedule_conv1d_ncw": (G.schedule_conv1d_ncw, _conv1d_ncw),
    "generic.schedule_conv1d_nwc": (G.schedule_conv1d_nwc, _conv1d_nwc),
    "generic.schedule_conv1d_transpose_ncw": (G.schedule_conv1d_transpose_ncw, _conv1d_transpose_ncw),
    "generic.schedule_conv3d_ncdhw": (G.schedule_conv3d_ncdhw, lambda: _conv3d("NCDHW")),
    "generic.schedule_conv3d_ndhwc": (G.schedule_conv3d_ndhwc, lambda: _conv3d("NDHWC")),
    "generic.schedule_conv3d_transpose_ncdhw": (G.schedule_conv3d_transpose_ncdhw, _conv3d_transpose_ncdhw),
    "generic.schedule_group_conv2d_nhwc": (G.schedule_group_conv2d_nhwc, lambda: _group_conv2d("NHWC")),
    "generic.schedule_group_conv2d_transpose_nchw": (G.schedule_group_conv2d_transpose_nchw,
                                                     _group_conv2d_transpose_nchw),
    "generic.schedule_deformable_conv2d_nchw": (G.schedule_deformable_conv2d_nchw, _deformable_conv2d_nchw),
    "generic.schedule_correlation_nchw": (G.schedule_correlation_nchw, _correlation_nchw),
    "generic.schedule_dilation2d_nchw": (G.schedule_dilation2d_nchw, lambda: _dilation2d("NCHW")),
    "generic.schedule_dilation2d_nhwc": (G.schedule_dilation2d_nhwc, lambda: _dilation2d("NHWC")),
    "generic.schedule_fast_softmax": (G.schedule_fast_softmax, _fast_softmax),
    "generic.schedule_sort": (G.schedule_sort, lambda: _sort("sort")),
    "generic.schedule_argsort": (G.schedule_argsort, lambda: _sort("argsort")),
    "generic.schedule_topk": (G.schedule_topk, lambda: _sort("topk")),
    "generic.schedule_unique": (G.schedule_unique, _unique),
    "generic.schedule_argwhere": (G.schedule_argwhere, _argwhere),
    "generic.schedule_scatter": (G.schedule_scatter, _scatter),
    "generic.schedule_get_valid_counts": (G.schedule_get_valid_counts, _get_valid_counts),
    "generic.schedule_nms": (G.schedule_nms, _nms),
    "generic.schedule_roi_align": (G.schedule_roi_align, lambda: _roi("align")),
    "generic.schedule_roi_pool": (G.schedule_roi_pool, lambda: _roi("pool")),
    "generic.schedule_reorg": (G.schedule_reorg, _reorg),
    "x86.schedule_conv1d_ncw": (X86.schedule_conv1d_ncw, _conv1d_ncw),
    "x86.schedule_conv1d_nwc": (X86.schedule_conv1d_nwc, _conv1d_nwc),
    "x86.conv3d_ncdhw": (X86.schedule_conv3d_ncdhw, lambda: _conv3d("NCDHW", X86.conv3d_ncdhw)),
    "x86.schedule_conv3d_ndhwc": (X86.schedule_conv3d_ndhwc, lambda: _conv3d("NDHWC")),
    "x86.conv2d_transpose_nchw": (X86.schedule_conv2d_transpose_nchw,
                                  lambda: _conv2d_transpose_nchw(X86.conv2d_transpose_nchw)),
    "x86.group_conv2d_nchw": (X86.schedule_group_conv2d_nchw, lambda: _group_conv2d("NCHW", X86.group_conv2d_nchw)),
    "x86.schedule_sparse_dense": (X86.schedule_sparse_dense, _sparse_dense),
    "x86.dense_dynamic": (X86.schedule_dense_dynamic, lambda: _dense_dynamic(False)),
    "x86.dense_dynamic+bias": (X86.schedule_dense_dynamic, lambda: _dense_dynamic(True)),
    "cuda.conv1d_ncw": (None, lambda: _conv1d_ncw() if CUDA.conv1d_ncw is topi.nn.conv1d_ncw else None),
    "cuda.conv2d_transpose_nchw": (None, lambda: _conv2d_transpose_nchw(CUDA.conv2d_transpose_nchw)),
    "cuda.conv3d_ncdhw": (None, lambda: _conv3d("NCDHW", CUDA.conv3d_ncdhw)),
    "cuda.group_conv2d_nchw": (None, lambda: _group_conv2d("NCHW", CUDA.group_conv2d_nchw)),
    "cuda.schedule_lrn": (CUDA.schedule_lrn, _lrn),
    "cuda.schedule_pool_grad.max": (CUDA.schedule_pool_grad, lambda: _pool_grad("max")),
    "cuda.schedule_pool_grad.avg": (CUDA.schedule_pool_grad, lambda: _pool_grad("avg")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_schedule_or_compute_name_builds_and_matches_numpy(name):
    schedule, make = CASES[name]
    case = make()
    outs, inputs, arrays, ref = case[:4]
    target = tvm.target.Target("cuda -emulate" if name.startswith("cuda.schedule") else "llvm")
    out_list = outs if isinstance(outs, (list, tuple)) else [outs]
    with target:
        s = schedule(outs) if schedule is not None else te.create_schedule([o.op for o in out_list])
    f = tvm.build(s, list(inputs) + list(out_list), target=target)
    got = call(f, outs, arrays)
    if len(case) > 4:  # unique: the distinct values first, then anything
        want, count, _ = case[4]
        np.testing.assert_array_equal(got[1], [count])
        np.testing.assert_array_equal(got[0][:count], want)
        return
    for g, w in zip(got if isinstance(outs, (list, tuple)) else [got], ref if isinstance(ref, list) else [ref]):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_x86_dense_dynamic_binds_the_row_count_at_run_time():
    A, B = te.placeholder((1, 6), name="A"), te.placeholder((te.var("n"), 6), name="B")
    out = topi.x86.dense_dynamic(A, B, None, "float32")
    with tvm.target.Target("llvm"):
        f = tvm.build(topi.x86.schedule_dense_dynamic(out), [A, B, out], target="llvm")
    for n in (3, 7):
        a, b = rand(1, 6), rand(n, 6)
        res = rng.standard_normal((1, n)).astype("float32")
        f(a, b, res)
        np.testing.assert_allclose(res, a @ b.T, rtol=1e-5, atol=1e-5)
