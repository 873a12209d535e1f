"""conv3d (NCDHW, NDHWC, groups), pool1d/pool3d and adaptive_pool1d/3d against numpy on random data,
with stride, dilation, padding (both pools' count_include_pad and ceil_mode) and ragged adaptive
windows; bad arguments name what is wrong."""

import itertools

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import ExprError
from tests.topi.runner import rand, run_plain


def _conv3d_ref(x, w, stride, pads, dil, groups):
    """x (N, C, D, H, W), w (K, C // groups, KD, KH, KW); pads (front, top, left, back, bottom, right)."""
    n, c = x.shape[:2]
    k, cg = w.shape[:2]
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(pads[i], pads[i + 3]) for i in range(3)])
    ks = w.shape[2:]
    outs = [(xp.shape[2 + i] - ((ks[i] - 1) * dil[i] + 1)) // stride[i] + 1 for i in range(3)]
    out = np.zeros((n, k, *outs))
    per = k // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        ws = w[g * per:(g + 1) * per].astype(np.float64)
        for a, b, cc in itertools.product(*(range(s) for s in ks)):
            win = xs[:, :, a * dil[0]: a * dil[0] + stride[0] * (outs[0] - 1) + 1: stride[0],
                     b * dil[1]: b * dil[1] + stride[1] * (outs[1] - 1) + 1: stride[1],
                     cc * dil[2]: cc * dil[2] + stride[2] * (outs[2] - 1) + 1: stride[2]]
            out[:, g * per:(g + 1) * per] += np.einsum("ncdhw,kc->nkdhw", win, ws[:, :, a, b, cc])
    return out


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 1, 1, 1), ((2, 1, 2), (1, 0, 2, 0, 1, 1), 1, 1), (1, "SAME", (1, 2, 1), 2), (2, "VALID", 1, 3)])
def test_conv3d_ncdhw_and_ndhwc_match_numpy(stride, padding, dilation, groups):
    n, c, d, h, w, k = 2, 6, 5, 7, 6, 9 if groups == 3 else 4
    x, wt = rand(n, c, d, h, w), rand(k, c // groups, 3, 2, 3)
    st = [stride] * 3 if isinstance(stride, int) else list(stride)
    dl = [dilation] * 3 if isinstance(dilation, int) else list(dilation)
    ext = [(s - 1) * q + 1 for s, q in zip(wt.shape[2:], dl)]
    if padding == "SAME":
        pads = [e // 2 for e in ext] + [(e - 1) // 2 for e in ext]
    elif padding == "VALID":
        pads = [0] * 6
    elif isinstance(padding, int):
        pads = [padding] * 6
    else:
        pads = list(padding)
    ref = _conv3d_ref(x, wt, st, pads, dl, groups)
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(wt.shape, name="W")
    out = topi.nn.conv3d_ncdhw(X, W, stride, padding, dilation, groups)
    assert out.op.tag == "conv3d_ncdhw"
    np.testing.assert_allclose(run_plain(out, [X, W], [x, wt]), ref, rtol=1e-4, atol=1e-4)
    # NDHWC with a DHWIO filter: the same numbers, transposed.
    xl, wl = np.ascontiguousarray(x.transpose(0, 2, 3, 4, 1)), np.ascontiguousarray(wt.transpose(2, 3, 4, 1, 0))
    X2, W2 = te.placeholder(xl.shape, name="X"), te.placeholder(wl.shape, name="W")
    out2 = topi.nn.conv3d_ndhwc(X2, W2, stride, padding, dilation, groups)
    np.testing.assert_allclose(run_plain(out2, [X2, W2], [xl, wl]), ref.transpose(0, 2, 3, 4, 1), rtol=1e-4,
                               atol=1e-4)


def test_conv3d_bad_arguments_are_named():
    X, W = te.placeholder((1, 4, 5, 5, 5), name="X"), te.placeholder((8, 3, 3, 3, 3), name="W")
    with pytest.raises(ExprError, match="conv3d_ncdhw: X has 4 channels, so W needs 4 input channels"):
        topi.nn.conv3d_ncdhw(X, W, 1, 1, 1)
    with pytest.raises(ExprError, match="groups=3 must divide the 4 input and the 8 output channels"):
        topi.nn.conv3d_ncdhw(X, W, 1, 1, 1, 3)
    with pytest.raises(ExprError, match=r"stride \(1, 0, 1\) must be positive"):
        topi.nn.conv3d_ncdhw(X, te.placeholder((8, 4, 3, 3, 3), name="W"), (1, 0, 1), 1, 1)
    with pytest.raises(ExprError, match="smaller than the dilated window"):
        topi.nn.conv3d_ncdhw(X, te.placeholder((8, 4, 3, 3, 3), name="W"), 1, 0, 3)


def _pool_ref(x, axes, k, s, d, before, after, pool_type, ceil_mode, include_pad):
    x = x.astype(np.float64)
    user = [(0, 0)] * x.ndim  # the user's padding: what count_include_pad counts
    for a, b, c in zip(axes, before, after):
        user[a] = (b, c)
    if ceil_mode:
        after = [a + q - 1 for a, q in zip(after, s)]
    widths = [(0, 0)] * x.ndim
    for a, b, c in zip(axes, before, after):
        widths[a] = (b, c)
    fill = -np.inf if pool_type == "max" else 0.0
    xp = np.pad(x, widths, constant_values=fill)
    ones = np.pad(np.ones(x.shape), widths)
    # ones over the input and the user's padding, zeros over the cells ceil_mode adds after them
    padded_ones = np.pad(np.ones(np.pad(x, user).shape), [(0, w[1] - u[1]) for w, u in zip(widths, user)])
    outs = [(xp.shape[a] - ((kk - 1) * dd + 1)) // ss + 1 for a, kk, dd, ss in zip(axes, k, d, s)]
    acc = np.full([outs[axes.index(i)] if i in axes else n for i, n in enumerate(x.shape)],
                  -np.inf if pool_type == "max" else 0.0)
    cnt = np.zeros(acc.shape)
    pad_cnt = np.zeros(acc.shape)
    for off in itertools.product(*(range(kk) for kk in k)):
        sl = [slice(None)] * x.ndim
        for a, o, dd, ss, n_out in zip(axes, off, d, s, outs):
            sl[a] = slice(o * dd, o * dd + ss * (n_out - 1) + 1, ss)
        win = xp[tuple(sl)]
        if pool_type == "max":
            acc = np.maximum(acc, win)
        else:
            acc += win
            cnt += ones[tuple(sl)]
            pad_cnt += padded_ones[tuple(sl)]
    if pool_type == "max":
        return acc
    return acc / np.maximum(pad_cnt if include_pad else cnt, 1)


@pytest.mark.parametrize("pool_type", ["max", "avg"])
@pytest.mark.parametrize("include_pad", [True, False])
def test_pool1d_and_pool3d_match_numpy(pool_type, include_pad):
    x1 = rand(2, 3, 11)
    X1 = te.placeholder(x1.shape, name="X")
    # the last two: ceil_mode's last window runs past the input (one cell of 3 left, one of 2 with dilation)
    for k, s, d, p, ceil in [(3, 2, 1, (1, 2), False), (2, 1, 2, (0, 0), False), (3, 3, 1, (1, 0), True),
                             (3, 3, 1, (0, 0), True), (2, 4, 3, (0, 0), True)]:
        out = topi.nn.pool1d(X1, [k], [s], [d], list(p), pool_type, ceil, "NCW", include_pad)
        ref = _pool_ref(x1, [2], [k], [s], [d], [p[0]], [p[1]], pool_type, ceil, include_pad)
        np.testing.assert_allclose(run_plain(out, [X1], [x1]), ref, rtol=1e-5, atol=1e-6)
    x3 = rand(1, 2, 5, 6, 7)
    for layout in ("NCDHW", "NDHWC"):
        xl = x3 if layout == "NCDHW" else np.ascontiguousarray(x3.transpose(0, 2, 3, 4, 1))
        axes = [layout.index(a) for a in "DHW"]
        X3 = te.placeholder(xl.shape, name="X")
        for k, s, d, p, ceil in [((2, 3, 2), (2, 1, 2), (1, 1, 2), (1, 0, 1, 0, 2, 1), False),
                                 ((3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1, 1, 1, 1), True)]:
            out = topi.nn.pool3d(X3, k, s, d, p, pool_type, ceil, layout, include_pad)
            ref = _pool_ref(xl, axes, k, s, d, p[:3], p[3:], pool_type, ceil, include_pad)
            np.testing.assert_allclose(run_plain(out, [X3], [xl]), ref, rtol=1e-5, atol=1e-6)


def test_avg_pool_ceil_mode_window_counts_no_cells_past_the_padding():
    # ceil_mode's extra cells are not padding: an average over the last window of [x0..x6] with
    # kernel 3, stride 3 is x6 alone (TVM's and PyTorch's rule), not x6 / 3
    x = rand(1, 1, 7)
    X = te.placeholder(x.shape, name="X")
    out = run_plain(topi.nn.pool1d(X, [3], [3], [1], [0, 0], "avg", True, "NCW", True), [X], [x])
    want = [x[0, 0, :3].mean(), x[0, 0, 3:6].mean(), x[0, 0, 6]]
    np.testing.assert_allclose(out[0, 0], want, rtol=1e-6)


def test_pool_nd_bad_arguments_are_named():
    X = te.placeholder((1, 2, 4, 4, 4), name="X")
    with pytest.raises(ExprError, match="pool3d: padding .* must give 3 or 6 values"):
        topi.nn.pool3d(X, (2, 2, 2), (1, 1, 1), (1, 1, 1), (1, 1), "max")
    with pytest.raises(ExprError, match="pool3d: the depth 4 with its padding is smaller than the window"):
        topi.nn.pool3d(X, (5, 1, 1), (1, 1, 1), (1, 1, 1), (0, 0, 0, 0, 0, 0), "avg")
    with pytest.raises(ExprError, match="pool1d: layout .NCH. has no W"):
        topi.nn.pool1d(X, [2], [1], [1], [0, 0], "max", layout="NCH")
    with pytest.raises(ExprError, match="pool1d: pool_type 'sum' is not 'max' or 'avg'"):
        topi.nn.pool1d(te.placeholder((1, 2, 8), name="Y"), [2], [1], [1], [0, 0], "sum")


def _adaptive_ref(x, axes, outs, pool_type):
    ref = np.empty([outs[axes.index(i)] if i in axes else n for i, n in enumerate(x.shape)])
    for idx in itertools.product(*(range(o) for o in outs)):
        sl_in, sl_out = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for a, i, o in zip(axes, idx, outs):
            n = x.shape[a]
            sl_in[a] = slice(i * n // o, -(-(i + 1) * n // o))
            sl_out[a] = i
        win = x[tuple(sl_in)].astype(np.float64)
        ref[tuple(sl_out)] = win.max(axis=tuple(axes)) if pool_type == "max" else win.mean(axis=tuple(axes))
    return ref


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_adaptive_pool1d_and_3d_match_numpy(pool_type):
    x1 = rand(2, 3, 10)
    X1 = te.placeholder(x1.shape, name="X")
    for o in (3, 10, 1, 4):
        out = topi.nn.adaptive_pool1d(X1, (o,), pool_type)
        np.testing.assert_allclose(run_plain(out, [X1], [x1]), _adaptive_ref(x1, [2], [o], pool_type), rtol=1e-5,
                                   atol=1e-6)
    x3 = rand(1, 2, 5, 7, 4)
    X3 = te.placeholder(x3.shape, name="X")
    for outs in ((2, 3, 4), (5, 7, 4), (1, 1, 1), (3, 2, 3)):
        out = topi.nn.adaptive_pool3d(X3, outs, pool_type)
        np.testing.assert_allclose(run_plain(out, [X3], [x3]), _adaptive_ref(x3, [2, 3, 4], list(outs), pool_type),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ExprError, match="adaptive_pool3d: output_size must be one or 3 sizes"):
        topi.nn.adaptive_pool3d(X3, (2, 2), pool_type)
