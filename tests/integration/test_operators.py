"""Real operators built with tensorlang and compared with numpy on fresh random data."""

import sys
from pathlib import Path

import numpy as np

import tensorlang as tl
from tensorlang import te
from tests.conftest import random_array, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from conv2d import conv2d_nchw  # noqa: E402 - the computation the example declares


def conv_ref(x, w, pad):
    N, C, H, W = x.shape
    K, _, R, S = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = xp.shape[2] - R + 1, xp.shape[3] - S + 1
    out = np.zeros((N, K, OH, OW), dtype=np.float64)
    for r in range(R):
        for s_ in range(S):
            patch = xp[:, :, r:r + OH, s_:s_ + OW]
            out += np.einsum("nchw,kc->nkhw", patch, w[:, :, r, s_])
    return out


def test_conv2d_nchw_padding_inlined(rng):
    X, Wt, Xp, Y = conv2d_nchw(1, 8, 14, 14, 16, 3, 3, 1)
    s = te.create_schedule(Y.op)
    s[Xp].compute_inline()
    n, k, y, x = s[Y].op.axis
    rc, ry, rx = s[Y].op.reduce_axis
    xo, xi = s[Y].split(x, factor=8)
    s[Y].reorder(n, k, y, xo, rc, ry, rx, xi)
    s[Y].vectorize(xi)
    s[Y].parallel(k)
    text = str(tl.lower(s, [X, Wt, Y]))
    assert "Xpad" not in text
    x_, w_ = random_array(rng, (1, 8, 14, 14), "float32"), random_array(rng, (16, 8, 3, 3), "float32")
    (y_,) = run(s, [X, Wt, Y], [x_, w_], [((1, 16, 14, 14), "float32")])
    np.testing.assert_allclose(y_, conv_ref(x_, w_, 1), rtol=1e-4, atol=1e-4)


def test_conv2d_cache_write_tile(rng):
    X, Wt, Xp, Y = conv2d_nchw(2, 4, 9, 11, 6, 3, 3, 1)
    s = te.create_schedule(Y.op)
    s[Xp].compute_inline()
    YL = s.cache_write(Y, "local")
    n, k, y, x = s[Y].op.axis
    ko, ki = s[Y].split(k, factor=2)
    xo, xi = s[Y].split(x, factor=4)
    s[Y].reorder(n, ko, y, xo, ki, xi)
    s[YL].compute_at(s[Y], xo)
    s[Y].parallel(ko)
    x_, w_ = random_array(rng, (2, 4, 9, 11), "float32"), random_array(rng, (6, 4, 3, 3), "float32")
    (y_,) = run(s, [X, Wt, Y], [x_, w_], [((2, 6, 9, 11), "float32")])
    np.testing.assert_allclose(y_, conv_ref(x_, w_, 1), rtol=1e-4, atol=1e-4)


def test_softmax_with_compute_at(rng):
    m, n = 37, 61
    X = te.placeholder((m, n), name="X")
    k1 = te.reduce_axis((0, n), name="k1")
    k2 = te.reduce_axis((0, n), name="k2")
    mx = te.compute((m,), lambda i: te.max(X[i, k1], axis=k1), name="mx")
    ex = te.compute((m, n), lambda i, j: te.exp(X[i, j] - mx[i]), name="ex")
    sm = te.compute((m,), lambda i: te.sum(ex[i, k2], axis=k2), name="sm")
    out = te.compute((m, n), lambda i, j: ex[i, j] / sm[i], name="out")
    s = te.create_schedule(out.op)
    i, j = out.op.axis
    s[mx].compute_at(s[out], i)
    s[ex].compute_at(s[out], i)
    s[sm].compute_at(s[out], i)
    s[out].parallel(i)
    jo, ji = s[out].split(j, factor=16)
    s[out].vectorize(ji)
    x = random_array(rng, (m, n), "float32")
    (o,) = run(s, [X, out], [x], [((m, n), "float32")])
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(o, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_argmax_tuple_reducer(rng):
    m, n = 23, 57

    def fcombine(x, y):
        take = x[1] >= y[1]
        return te.if_then_else(take, x[0], y[0]), te.if_then_else(take, x[1], y[1])

    def fidentity(t0, t1):
        return te.const(-1, t0), te.min_value(t1)

    argmax = te.comm_reducer(fcombine, fidentity, name="argmax")
    V = te.placeholder((m, n), name="V")
    k = te.reduce_axis((0, n), name="k")
    idx, val = te.compute((m,), lambda i: argmax((k.var, V[i, k]), axis=k), name="T")
    s = te.create_schedule(idx.op)
    v = random_array(rng, (m, n), "float32")
    i_out, v_out = run(s, [V, idx, val], [v], [((m,), "int32"), ((m,), "float32")])
    np.testing.assert_array_equal(v_out, v.max(axis=1))
    np.testing.assert_array_equal(v[np.arange(m), i_out], v.max(axis=1))


def test_max_reduction_int(rng):
    A = te.placeholder((31, 40), name="A", dtype="int32")
    k = te.reduce_axis((0, 40), name="k")
    B = te.compute((31,), lambda i: te.max(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    a = random_array(rng, (31, 40), "int32")
    (b,) = run(s, [A, B], [a], [((31,), "int32")])
    np.testing.assert_array_equal(b, a.max(axis=1))


def test_elementwise_chain_float64(rng):
    n = 333
    A = te.placeholder((n,), name="A", dtype="float64")
    B = te.compute((n,), lambda i: te.sigmoid(A[i]) * te.tanh(A[i]), name="B")
    C = te.compute((n,), lambda i: te.sqrt(te.abs(B[i])) + te.exp(-A[i] * A[i]), name="C")
    D = te.compute((n,), lambda i: te.if_then_else(C[i] > 0.5, te.log(C[i]), te.floor(C[i] * 10)), name="D")
    s = te.create_schedule(D.op)
    s[B].compute_inline()
    s[C].compute_inline()
    o, i_ = s[D].split(D.op.axis[0], factor=8)
    s[D].vectorize(i_)
    a = random_array(rng, (n,), "float64")
    (d,) = run(s, [A, D], [a], [((n,), "float64")])
    b = 1 / (1 + np.exp(-a)) * np.tanh(a)
    c = np.sqrt(np.abs(b)) + np.exp(-a * a)
    # log(c) for c a hair above 1 turns one ulp of c (libm's exp against numpy's) into 1e-12 of
    # the small result: the bound is absolute as well as relative.
    np.testing.assert_allclose(d, np.where(c > 0.5, np.log(c), np.floor(c * 10)), rtol=1e-12, atol=1e-15)


def test_int_elementwise_division_semantics(rng):
    n = 200
    A = te.placeholder((n,), name="A", dtype="int32")
    B = te.placeholder((n,), name="B", dtype="int32")
    C = te.compute((n,), lambda i: A[i] // B[i] + A[i] % B[i] * 1000, name="C")
    D = te.compute((n,), lambda i: te.truncdiv(A[i], B[i]) + te.truncmod(A[i], B[i]) * 1000, name="D")
    s = te.create_schedule([C.op, D.op])
    a = random_array(rng, (n,), "int32")
    b = random_array(rng, (n,), "int32")
    b[b == 0] = 7
    c, d = run(s, [A, B, C, D], [a, b], [((n,), "int32"), ((n,), "int32")])
    np.testing.assert_array_equal(c, a // b + (a % b) * 1000)
    np.testing.assert_array_equal(d, np.trunc(a / b).astype(np.int32) + np.fmod(a, b) * 1000)
