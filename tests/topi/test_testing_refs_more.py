"""topi.testing's resize, normalization, array, batch/space, LSTM and layout-variant convolution references
(the TVM 0.12 names resize*_python, instance_norm_python, group_norm_python, sequence_mask, matrix_set_diag,
searchsorted_ref, space_to_batch_nd_python, batch_to_space_nd_python, reorg_python, lstm_python,
conv2d_hwcn_python, deformable_conv2d_nhwc_python), each checked against the tensorlang operator it
describes on fresh random data."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te, topi
from tests.topi.runner import rand, run_plain

rng = np.random.default_rng()
T = topi.testing


@pytest.mark.parametrize("method", ["nearest_neighbor", "linear", "cubic"])
@pytest.mark.parametrize("mode", ["half_pixel", "align_corners", "asymmetric"])
def test_resize_python(method, mode):
    channels_last = mode == "half_pixel"  # each method meets both layouts, at a third of the build time
    cases = [(topi.image.resize1d, T.resize1d_python, "W", (2, 3, 6), (1.5,)),
             (topi.image.resize2d, T.resize2d_python, "HW", (1, 2, 5, 4), (1.4, 0.75)),
             (topi.image.resize3d, T.resize3d_python, "DHW", (1, 2, 3, 4, 3), (2, 0.5, 1.5))]
    for op, ref, names, nc_shape, scale in cases:
        layout = f"N{names}C" if channels_last else f"NC{names}"
        x = rand(*nc_shape)
        if channels_last:
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        size = [round(x.shape[layout.index(a)] * s) for a, s in zip(names, scale)]
        X = te.placeholder(x.shape, name="X")
        out = op(X, None, size, layout=layout, method=method, coordinate_transformation_mode=mode)
        expect = ref(x, scale, layout, method, mode)
        np.testing.assert_allclose(run_plain(out, [X], [x]), expect, rtol=1e-5, atol=1e-5)


def test_instance_norm_and_group_norm_python():
    x = rand(2, 4, 3, 5)
    X, G, B = te.placeholder(x.shape, name="X"), te.placeholder((3, 5), name="G"), te.placeholder((3, 5), name="B")
    g, b = rand(3, 5), rand(3, 5)
    out = run_plain(topi.nn.instance_norm(X, G, B, (2, 3)), [X, G, B], [x, g, b])
    np.testing.assert_allclose(out, T.instance_norm_python(x, g, b, (2, 3)), rtol=1e-4, atol=1e-4)
    G, B = te.placeholder((4,), name="G"), te.placeholder((4,), name="B")
    g, b = rand(4), rand(4)
    out = run_plain(topi.nn.group_norm(X, G, B, 2, 1, (2, 3)), [X, G, B], [x, g, b])
    np.testing.assert_allclose(out, T.group_norm_python(x, g, b, 2, 1, (2, 3)), rtol=1e-4, atol=1e-4)
    # groups of two channels really share their statistics: one group per channel differs
    assert not np.allclose(T.group_norm_python(x, g, b, 2, 1, (2, 3)), T.group_norm_python(x, g, b, 4, 1, (2, 3)))


@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_mask(axis):
    x = rand(6, 3, 2) if axis == 0 else rand(3, 6, 2)
    lengths = rng.integers(0, 7, size=3).astype("int32")
    X, L = te.placeholder(x.shape, name="X"), te.placeholder((3,), "int32", name="L")
    out = run_plain(topi.sequence_mask(X, L, -1.5, axis), [X, L], [x, lengths])
    np.testing.assert_array_equal(out, T.sequence_mask(x, lengths, -1.5, axis))


@pytest.mark.parametrize("k,align", [(0, "RIGHT_LEFT"), (2, "RIGHT_LEFT"), (-1, "LEFT_RIGHT"),
                                     ((-1, 2), "RIGHT_LEFT"), ((-2, 1), "LEFT_RIGHT"), ((0, 1), "LEFT_LEFT"),
                                     ((-1, 1), "RIGHT_RIGHT")])
def test_matrix_set_diag(k, align):
    x = rand(2, 4, 5)
    lo, hi = k if isinstance(k, tuple) else (k, k)
    longest = max(min(5 - max(d, 0), 4 + min(d, 0)) for d in range(lo, hi + 1))
    diag = rand(2, hi - lo + 1, longest) if lo != hi else rand(2, longest)
    X, D = te.placeholder(x.shape, name="X"), te.placeholder(diag.shape, name="D")
    out = run_plain(topi.matrix_set_diag(X, D, k, align), [X, D], [x, diag])
    np.testing.assert_array_equal(out, T.matrix_set_diag(x, diag, k, align))


@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("nd", [False, True])
def test_searchsorted_ref(right, nd):
    seq = np.sort(rng.integers(0, 8, size=(2, 3, 6) if nd else (6,)), axis=-1).astype("float32")
    vals = rng.integers(-1, 9, size=(2, 3, 4)).astype("float32")
    S, V = te.placeholder(seq.shape, name="S"), te.placeholder(vals.shape, name="V")
    out = run_plain(topi.searchsorted(S, V, right, "int32"), [S, V], [seq, vals])
    expect = T.searchsorted_ref(seq, vals, right, "int32")
    assert expect.dtype == np.int32
    np.testing.assert_array_equal(out, expect)


def test_space_to_batch_nd_and_batch_to_space_nd_python():
    x = rand(2, 3, 4, 3)
    X = te.placeholder(x.shape, name="X")
    out = run_plain(topi.nn.space_to_batch_nd(X, [2, 3], [1, 0], [0, 2], 0.5), [X], [x])
    s2b = T.space_to_batch_nd_python(x, [2, 3], [1, 0], [0, 2], 0.5)
    np.testing.assert_array_equal(out, s2b)
    Y = te.placeholder(s2b.shape, name="Y")
    out = run_plain(topi.nn.batch_to_space_nd(Y, [2, 3], [1, 0], [0, 2]), [Y], [s2b])
    np.testing.assert_array_equal(out, T.batch_to_space_nd_python(s2b, [2, 3], [1, 0], [0, 2]))
    np.testing.assert_array_equal(T.batch_to_space_nd_python(s2b, [2, 3], [1, 0], [0, 2]), x)


def test_reorg_python():
    x = rand(2, 8, 4, 6)
    b = T.reorg_python(x, 2)
    assert b.shape == (2, 32, 2, 3)
    # Darknet's loop, transcribed: output element (b, k, j, i) in input order reads the flat input
    flat, out = x.ravel(), np.empty(x.size)
    n, c, h, w = x.shape
    oc, cnt = c // 4, 0
    for bb in range(n):
        for k in range(c):
            for j in range(h):
                for i in range(w):
                    off = k // oc
                    out[cnt] = flat[i * 2 + off % 2 + w * 2 * (j * 2 + off // 2 + h * 2 * (k % oc + oc * bb))]
                    cnt += 1
    np.testing.assert_array_equal(b, out.reshape(b.shape))


@pytest.mark.parametrize("peephole,proj,reverse,layout", [(False, False, False, "IFGO"), (True, True, True, "GOFI")])
def test_lstm_python(peephole, proj, reverse, layout):
    seq, batch, in_dim, hidden = 3, 2, 4, 5
    out_dim = 3 if proj else hidden
    arrays = {"Xs": rand(seq, batch, in_dim), "Wi": rand(4 * hidden, in_dim), "Wh": rand(4 * hidden, out_dim),
              "Bi": rand(4 * hidden), "Bh": rand(4 * hidden), "h_init": rand(batch, out_dim),
              "c_init": rand(batch, hidden)}
    if proj:
        arrays["proj"] = rand(out_dim, hidden)
    if peephole:
        arrays.update(p_i=rand(batch, hidden), p_f=rand(batch, hidden), p_o=rand(batch, hidden))
    holders = {k: te.placeholder(v.shape, name=k) for k, v in arrays.items()}
    hs, cs = topi.nn.lstm(**holders, reverse=reverse, weight_layout=layout)
    got = run_plain([hs, cs], list(holders.values()), list(arrays.values()))
    expect = T.lstm_python(**arrays, reverse=reverse, weight_layout=layout)
    for g, e in zip(got, expect):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


def test_conv2d_hwcn_python():
    a, w = rand(7, 6, 3, 2), rand(3, 3, 3, 4)
    A, W = te.placeholder((2, 3, 7, 6), name="A"), te.placeholder((4, 3, 3, 3), name="W")
    nchw = run_plain(topi.nn.conv2d_nchw(A, W, 2, 1), [A, W],
                     [np.ascontiguousarray(v.transpose(3, 2, 0, 1)) for v in (a, w)])
    np.testing.assert_allclose(T.conv2d_hwcn_python(a, w, 2, 1), nchw.transpose(2, 3, 1, 0), rtol=1e-4, atol=1e-4)


def test_deformable_conv2d_nhwc_python():
    a, w = rand(1, 5, 5, 4), rand(3, 3, 2, 4)
    offset = rand(1, 5, 5, 2 * 9 * 2)
    A, O, W = (te.placeholder(s, name=n) for s, n in (((1, 4, 5, 5), "A"), ((1, 36, 5, 5), "O"), ((4, 2, 3, 3), "W")))
    nchw = run_plain(topi.nn.deformable_conv2d_nchw(A, O, W, 1, 1, 1, 2, 2), [A, O, W],
                     [np.ascontiguousarray(v.transpose(p))
                      for v, p in ((a, (0, 3, 1, 2)), (offset, (0, 3, 1, 2)), (w, (3, 2, 0, 1)))])
    ref = T.deformable_conv2d_nhwc_python(a, offset, w, 1, 1, 1, 2, 2)
    np.testing.assert_allclose(ref, nchw.transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)


def test_dense_and_batch_matmul_references_take_tvms_arguments_and_widen_first():
    """TVM's tests call topi.testing.dense(x, y, bias, use_bias, use_relu, out_dtype), and
    batch_matmul of int8 inputs summed in int32 must not wrap in int8."""
    import numpy as np

    from tensorlang import topi

    rng = np.random.default_rng()
    x = rng.integers(-128, 128, (4, 32)).astype("int8")
    w = rng.integers(-128, 128, (6, 32)).astype("int8")
    b = rng.integers(-128, 128, 6).astype("int8")
    want = x.astype("int64") @ w.astype("int64").T + b
    got = topi.testing.dense(x, w, b, True, True, "int32")
    np.testing.assert_array_equal(got, np.maximum(want, 0))
    assert got.dtype == np.int32
    xb = rng.integers(-128, 128, (2, 4, 32)).astype("int8")
    yb = rng.integers(-128, 128, (2, 5, 32)).astype("int8")
    np.testing.assert_array_equal(topi.testing.batch_matmul(xb, yb, "int32"),
                                  np.einsum("bik,bjk->bij", xb.astype("int64"), yb.astype("int64")))
