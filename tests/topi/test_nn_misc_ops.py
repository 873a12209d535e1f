"""correlation_nchw and deformable_conv2d_nchw against topi.testing's references (each checked first
against a loop over its definition), fifo_buffer against numpy.concatenate, and lstm against a numpy
LSTM, on fresh random data; bad arguments are named."""

import itertools
import math

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import rand, rng, run_plain

# --- correlation_nchw ------------------------------------------------------------------------


def _correlation_loops(d1, d2, k, max_d, s1, s2, pad, is_multiply):
    """The FlowNet definition, one output element at a time (square ``pad`` on every side)."""
    n, c, h, w = d1.shape

    def at(a, b, ch, y, x):
        y, x = y - pad, x - pad
        return float(a[b, ch, y, x]) if 0 <= y < h and 0 <= x < w else 0.0

    border = max_d + (k - 1) // 2
    radius = max_d // s2
    grid = 2 * radius + 1
    out_h, out_w = math.ceil((h + 2 * pad - 2 * border) / s1), math.ceil((w + 2 * pad - 2 * border) / s1)
    out = np.zeros((n, grid * grid, out_h, out_w))
    for b, q, i, j in itertools.product(range(n), range(grid * grid), range(out_h), range(out_w)):
        y1, x1 = i * s1 + max_d, j * s1 + max_d
        y2, x2 = y1 + (q // grid - radius) * s2, x1 + (q % grid - radius) * s2
        total = 0.0
        for ch, ry, rx in itertools.product(range(c), range(k), range(k)):
            a, v = at(d1, b, ch, y1 + ry, x1 + rx), at(d2, b, ch, y2 + ry, x2 + rx)
            total += a * v if is_multiply else abs(a - v)
        out[b, q, i, j] = total / (k * k * c)
    return out


@pytest.mark.parametrize("is_multiply", [True, False])
def test_correlation_reference_matches_its_definition(is_multiply):
    d1, d2 = rand(2, 2, 6, 5), rand(2, 2, 6, 5)
    for args in [(3, 2, 2, 1, 2), (1, 1, 3, 1, 0), (1, 1, 3, 1, 1)]:  # stride1 3 does not divide: the size rounds up
        np.testing.assert_allclose(topi.testing.correlation_nchw_python(d1, d2, *args, is_multiply),
                                   _correlation_loops(d1, d2, *args, is_multiply), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("args", [
    (3, 2, 2, 1, 2, True),            # strided output, displacement grid 3x3
    (1, 4, 1, 2, 4, False),           # 1x1 patches, stride2 2: a 5x5 grid over displacements up to 4
    (3, 1, 3, 1, (1, 2), True),       # stride1 not dividing the padded size; (pad_h, pad_w)
    (5, 2, 1, 1, (2, 1, 3, 0), False),  # (top, left, bottom, right) padding
    (3, 0, 1, 1, 0, True),            # no displacement: one channel, no padding
])
def test_correlation_nchw_matches_reference(args):
    d1, d2 = rand(2, 3, 9, 8), rand(2, 3, 9, 8)
    A, B = te.placeholder(d1.shape, name="A"), te.placeholder(d2.shape, name="B")
    out = topi.nn.correlation_nchw(A, B, *args)
    ref = topi.testing.correlation_nchw_python(d1, d2, *args)
    assert tuple(int(v) for v in out.shape) == ref.shape
    np.testing.assert_allclose(run_plain(out, [A, B], [d1, d2]), ref, rtol=1e-5, atol=1e-5)


def test_correlation_bad_input_is_named():
    A, B = te.placeholder((1, 2, 6, 6), name="A"), te.placeholder((1, 2, 6, 5), name="B")
    with pytest.raises(ExprError, match="correlation_nchw: kernel_size must be a positive odd int, got 2"):
        topi.nn.correlation_nchw(A, A, 2, 1, 1, 1, 1, True)
    with pytest.raises(ExprError, match=r"correlation_nchw: A and B must have the same shape"):
        topi.nn.correlation_nchw(A, B, 1, 1, 1, 1, 1, True)
    with pytest.raises(ExprError, match="correlation_nchw: the padded 6x6 input of A is smaller than"):
        topi.nn.correlation_nchw(A, A, 3, 3, 1, 1, 0, True)
    with pytest.raises(DTypeError, match="correlation_nchw: A and I must be floats of one dtype"):
        topi.nn.correlation_nchw(A, te.placeholder((1, 2, 6, 6), "int32", name="I"), 1, 1, 1, 1, 1, True)


# --- deformable_conv2d_nchw ------------------------------------------------------------------


def _deformable_loops(a, off, wt, stride, pad, dil, dg, groups):
    """The deformable convolution, one tap at a time (int stride, padding and dilation)."""
    n, c, h, w = a.shape
    k, cg, kh, kw = wt.shape
    out_h, out_w = off.shape[2:]

    def sample(b, ch, y, x):
        if not (0 <= y < h and 0 <= x < w):
            return 0.0
        y0, x0 = math.floor(y), math.floor(x)
        total = 0.0
        for yy, xx in itertools.product((y0, y0 + 1), (x0, x0 + 1)):
            if yy < h and xx < w:
                total += (1 - abs(y - yy)) * (1 - abs(x - xx)) * float(a[b, ch, yy, xx])
        return total

    out = np.zeros((n, k, out_h, out_w))
    for b, f, oy, ox in itertools.product(range(n), range(k), range(out_h), range(out_w)):
        for r, i, j in itertools.product(range(cg), range(kh), range(kw)):
            ch = f // (k // groups) * cg + r
            base = 2 * ((ch // (c // dg)) * kh * kw + i * kw + j)
            y = oy * stride - pad + i * dil + float(off[b, base, oy, ox])
            x = ox * stride - pad + j * dil + float(off[b, base + 1, oy, ox])
            out[b, f, oy, ox] += sample(b, ch, y, x) * float(wt[f, r, i, j])
    return out


def _conv_out(size, k, stride, before, after, dil):
    return (size + before + after - (k - 1) * dil - 1) // stride + 1


def _offsets(n, dg, kh, kw, out_h, out_w, scale):
    off = rng.standard_normal((n, dg * kh * kw * 2, out_h, out_w)) * scale
    off.flat[::7] = np.round(off.flat[::7])  # whole offsets land on grid points and on the edges
    off.flat[3::11] += 0.5
    return off.astype("float32")


def test_deformable_reference_matches_its_definition():
    for (c, k, dg, groups, stride, pad, dil) in [(2, 2, 2, 1, 1, 1, 1), (4, 4, 1, 2, 2, 0, 2), (4, 2, 2, 2, 1, 2, 1)]:
        a, wt = rand(1, c, 5, 4), rand(k, c // groups, 2, 3)
        off = _offsets(1, dg, 2, 3, _conv_out(5, 2, stride, pad, pad, dil), _conv_out(4, 3, stride, pad, pad, dil), 2)
        np.testing.assert_allclose(
            topi.testing.deformable_conv2d_nchw_python(a, off, wt, stride, pad, dil, dg, groups),
            _deformable_loops(a, off, wt, stride, pad, dil, dg, groups), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("case", [
    # (batch, C, H, W, K, KH, KW, strides, padding, dilation, deformable_groups, groups, offset scale)
    (1, 4, 7, 6, 4, 3, 3, 1, 1, 1, 2, 1, 2.0),
    (2, 4, 6, 6, 6, 3, 2, (2, 1), (1, 0), (1, 2), 1, 2, 1.5),
    (1, 3, 5, 5, 2, 3, 3, 1, "SAME", 2, 3, 1, 4.0),   # most taps far outside
    (1, 2, 4, 5, 3, 1, 1, 1, 0, 1, 1, 1, 0.7),        # 1x1 kernel
])
def test_deformable_conv2d_nchw_matches_reference(case):
    n, c, h, w, k, kh, kw, strides, padding, dilation, dg, groups, scale = case
    a, wt = rand(n, c, h, w), rand(k, c // groups, kh, kw)
    sh, sw = strides if isinstance(strides, tuple) else (strides, strides)
    dh, dw = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    pt, pl, pb, pr = topi.utils.get_pad_tuple(padding, ((kh - 1) * dh + 1, (kw - 1) * dw + 1))
    off = _offsets(n, dg, kh, kw, _conv_out(h, kh, sh, pt, pb, dh), _conv_out(w, kw, sw, pl, pr, dw), scale)
    A, O, W = (te.placeholder(v.shape, name=nm) for v, nm in ((a, "A"), (off, "O"), (wt, "W")))
    out = topi.nn.deformable_conv2d_nchw(A, O, W, strides, padding, dilation, dg, groups, None)
    ref = topi.testing.deformable_conv2d_nchw_python(a, off, wt, strides, padding, dilation, dg, groups)
    np.testing.assert_allclose(run_plain(out, [A, O, W], [a, off, wt]), ref, rtol=1e-4, atol=1e-4)


def test_deformable_conv2d_with_zero_offsets_is_conv2d():
    a, wt = rand(2, 3, 6, 7), rand(4, 3, 3, 3)
    off = np.zeros((2, 18, 6, 7), "float32")
    A, O, W = (te.placeholder(v.shape, name=nm) for v, nm in ((a, "A"), (off, "O"), (wt, "W")))
    out = topi.nn.deformable_conv2d_nchw(A, O, W, 1, 1, 1, 1, 1, "float32")
    np.testing.assert_allclose(run_plain(out, [A, O, W], [a, off, wt]),
                               topi.testing.conv2d_nchw_python(a, wt, 1, 1), rtol=1e-4, atol=1e-4)


def test_deformable_conv2d_bad_input_is_named():
    A, W = te.placeholder((1, 4, 6, 6), name="A"), te.placeholder((2, 4, 3, 3), name="W")
    O = te.placeholder((1, 18, 6, 6), name="O")
    with pytest.raises(ExprError, match=r"deformable_conv2d_nchw: O must have shape \(1, 18, 4, 4\)"):
        topi.nn.deformable_conv2d_nchw(A, O, W, 1, 0, 1, 1, 1, None)
    with pytest.raises(ExprError, match="deformable_conv2d_nchw: deformable_groups=3 must divide the 4 channels"):
        topi.nn.deformable_conv2d_nchw(A, O, W, 1, 1, 1, 3, 1, None)
    with pytest.raises(DTypeError, match="deformable_conv2d_nchw: A and Oh must be floats of one dtype"):
        topi.nn.deformable_conv2d_nchw(A, te.placeholder((1, 18, 6, 6), "float16", name="Oh"), W, 1, 1, 1, 1, 1,
                                       None)


# --- fifo_buffer -----------------------------------------------------------------------------


@pytest.mark.parametrize("buffer_shape,data_len,axis", [
    ((7,), 2, 0), ((7,), 7, 0), ((3, 7, 4), 2, 1), ((3, 7, 4), 1, -1), ((5, 2, 3), 5, 0),
    ((2, 3, 2, 4, 5), 3, 4),
])
def test_fifo_buffer_matches_concatenate(buffer_shape, data_len, axis):
    buf = rand(*buffer_shape)
    data_shape = list(buffer_shape)
    data_shape[axis] = data_len
    data = rand(*data_shape)
    B, D = te.placeholder(buf.shape, name="buffer"), te.placeholder(data.shape, name="data")
    got = run_plain(topi.nn.fifo_buffer(D, B, axis), [D, B], [data, buf])
    ref = np.take(np.concatenate([buf, data], axis=axis), np.arange(data_len, data_len + buffer_shape[axis]), axis)
    np.testing.assert_array_equal(got, ref)


def test_fifo_buffer_bad_input_is_named():
    B = te.placeholder((3, 7), name="buffer")
    with pytest.raises(ExprError, match=r"fifo_buffer: data \(4, 2\) does not fit buffer \(3, 7\) along axis 1"):
        topi.nn.fifo_buffer(te.placeholder((4, 2), name="data"), B, 1)
    with pytest.raises(ExprError, match="fifo_buffer: axis 2 is out of range for the 2-D buffer"):
        topi.nn.fifo_buffer(te.placeholder((3, 2), name="data"), B, 2)
    with pytest.raises(DTypeError, match="fifo_buffer: data is int32 but buffer is float32"):
        topi.nn.fifo_buffer(te.placeholder((3, 2), "int32", name="data"), B, 1)


# --- lstm ------------------------------------------------------------------------------------


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _lstm_ref(xs, wi, wh, bi=None, bh=None, h0=None, c0=None, proj=None, p_i=None, p_f=None, p_o=None,
              reverse=False, layout="IFGO", g_act=np.tanh):
    """A numpy LSTM step loop in float64: the (hidden, cell) state after every step, in step order."""
    seq, batch, _ = xs.shape
    hidden = wi.shape[0] // 4
    h = np.zeros((batch, wh.shape[1])) if h0 is None else h0.astype("float64")
    c = np.zeros((batch, hidden)) if c0 is None else c0.astype("float64")
    hs, cs = [], []
    for t in range(seq):
        pre = xs[seq - 1 - t if reverse else t] @ wi.T + h @ wh.T
        pre += (0 if bi is None else bi) + (0 if bh is None else bh)
        gate = {g: pre[:, layout.index(g) * hidden:(layout.index(g) + 1) * hidden] for g in "IFGO"}
        i = _sigmoid(gate["I"] + (0 if p_i is None else p_i * c))
        f = _sigmoid(gate["F"] + (0 if p_f is None else p_f * c))
        c = f * c + i * g_act(gate["G"])
        h = _sigmoid(gate["O"] + (0 if p_o is None else p_o * c)) * np.tanh(c)
        if proj is not None:
            h = h @ proj.T
        hs.append(h)
        cs.append(c)
    return np.stack(hs), np.stack(cs)


@pytest.mark.parametrize("opts", [
    {},
    {"bias": True, "init": True},
    {"bias": True, "proj": 3, "reverse": True},
    {"init": True, "peephole": True, "layout": "OGIF"},
    {"bias": True, "init": True, "proj": 2, "peephole": True, "reverse": True, "layout": "GOFI"},
])
def test_lstm_matches_numpy(opts):
    seq, batch, in_dim, hidden = 6, 2, 3, 4
    out_dim = opts.get("proj", hidden)
    arrays = {"Xs": rand(seq, batch, in_dim), "Wi": rand(4 * hidden, in_dim) * 0.5,
              "Wh": rand(4 * hidden, out_dim) * 0.5}
    if opts.get("bias"):
        arrays.update(Bi=rand(4 * hidden), Bh=rand(4 * hidden))
    if opts.get("init"):
        arrays.update(h_init=rand(batch, out_dim), c_init=rand(batch, hidden))
    if "proj" in opts:
        arrays["proj"] = rand(out_dim, hidden) * 0.5
    if opts.get("peephole"):
        arrays.update(p_i=rand(batch, hidden), p_f=rand(batch, hidden), p_o=rand(batch, hidden))
    holders = {k: te.placeholder(v.shape, name=k) for k, v in arrays.items()}
    layout, reverse = opts.get("layout", "IFGO"), opts.get("reverse", False)
    hs, cs = topi.nn.lstm(**holders, reverse=reverse, weight_layout=layout)
    assert tuple(int(v) for v in hs.shape) == (seq, batch, out_dim)
    assert tuple(int(v) for v in cs.shape) == (seq, batch, hidden)
    got = run_plain([hs, cs], list(holders.values()), list(arrays.values()))
    names = {"Xs": "xs", "Wi": "wi", "Wh": "wh", "Bi": "bi", "Bh": "bh", "h_init": "h0", "c_init": "c0"}
    ref = _lstm_ref(**{names.get(k, k): v for k, v in arrays.items()}, reverse=reverse, layout=layout)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


def test_lstm_takes_tensor_and_expression_activations():
    seq, batch, in_dim, hidden = 4, 3, 2, 3
    xs, wi, wh = rand(seq, batch, in_dim), rand(4 * hidden, in_dim), rand(4 * hidden, hidden)
    X, Wi, Wh = (te.placeholder(v.shape, name=nm) for v, nm in ((xs, "X"), (wi, "Wi"), (wh, "Wh")))
    ref = _lstm_ref(xs, wi, wh, g_act=lambda v: np.maximum(v, 0))
    for f_act in (topi.sigmoid, te.sigmoid):  # TVM's topi passes tir-level functions; topi ones work too
        hs, cs = topi.nn.lstm(X, Wi, Wh, f_act=f_act, g_act=lambda v: te.max(v, te.const(0.0, "float32")),
                              h_act=topi.tanh)
        for g, r in zip(run_plain([hs, cs], [X, Wi, Wh], [xs, wi, wh]), ref):
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


def test_lstm_bad_input_is_named():
    X, Wi = te.placeholder((4, 2, 3), name="X"), te.placeholder((8, 3), name="Wi")
    Wh = te.placeholder((8, 2), name="Wh")
    with pytest.raises(ExprError, match="lstm: weight_layout 'IFGX' is not a permutation of 'IFGO'"):
        topi.nn.lstm(X, Wi, Wh, weight_layout="IFGX")
    with pytest.raises(ExprError, match="lstm: the peepholes p_i and p_f must be given together"):
        topi.nn.lstm(X, Wi, Wh, p_i=te.placeholder((2, 2), name="p_i"))
    with pytest.raises(ExprError, match=r"lstm: Wi W must be \(4 \* hidden, 3\), got shape \(6, 3\)"):
        topi.nn.lstm(X, te.placeholder((6, 3), name="W"), Wh)
    with pytest.raises(ExprError, match=r"lstm: h_init h must have shape \(2, 2\), got \(2, 3\)"):
        topi.nn.lstm(X, Wi, Wh, h_init=te.placeholder((2, 3), name="h"))
    with pytest.raises(ExprError, match="lstm: g_act must map an expression to an expression"):
        topi.nn.lstm(X, Wi, Wh, g_act=lambda t: 1.0)
