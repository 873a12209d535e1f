"""Code the CPU backend generates for schedules TVM users write without a single primitive
(``te.create_schedule`` then ``tvm.build``): structural properties of the optimized LLVM IR that
decide their speed, and their results against numpy on fresh random data."""

from __future__ import annotations

import re

import numpy as np

import tensorlang as tvm
from tensorlang import te, topi

rng = np.random.default_rng()


def _vector(op: str, ty: str) -> re.Pattern:
    """An LLVM instruction ``op`` on a vector of ``ty`` (any width: AVX2 and AVX-512 hosts)."""
    return re.compile(rf"= {op}(?: [a-z]+)* <\d+ x {ty}>")


def test_default_column_sum_walks_rows_and_is_vectorized():
    """sum(A, axis=0) by the default schedule: the spatial loop goes inside the reduction loop
    (the reduction loop innermost strided by a row: 20x numpy's time at 2048x2048), and the
    contiguous inner loop is vectorized; each column still sums in row order."""
    n, m = 67, 203  # not multiples of any vector width
    A = te.placeholder((n, m), name="A")
    for fn, npf in ((topi.sum, np.sum), (topi.max, np.max)):
        R = fn(A, axis=0)
        s = te.create_schedule(R.op)
        text = str(tvm.lower(s, [A, R], simple_mode=True))
        k_at, i_at = text.index("for (k"), text.rindex("for (ax1") if "for (ax1" in text else text.rindex("for (i")
        assert k_at < i_at, f"reduction loop still innermost:\n{text}"
        f = tvm.build(s, [A, R], target="llvm")
        if fn is topi.sum:
            assert _vector("fadd", "float").search(f.get_source("ll")), "column sum left scalar"
        x = rng.standard_normal((n, m)).astype("float32")
        out = tvm.nd.array(np.zeros(m, "float32"))
        f(tvm.nd.array(x), out)
        want = x[0].copy()
        for r in x[1:]:  # the order of terms is kept: the same bits as adding rows one by one
            want = np.maximum(want, r) if fn is topi.max else want + r
        np.testing.assert_array_equal(out.numpy(), want)
        np.testing.assert_allclose(out.numpy(), npf(x, axis=0), rtol=1e-5, atol=1e-5)


def test_default_matmul_and_argmax_move_the_reduction_outward():
    """A default matmul (k innermost strides B by a row: 130x numpy at 512^3) gets packed FMAs
    over a row of C; argmax over axis 0 (a tuple reduction with bindings) is reordered too and
    keeps numpy's first-maximum answer."""
    n = 45
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), "k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    f = tvm.build(te.create_schedule(C.op), [A, B, C], target="llvm")
    ir_text = f.get_source("ll")
    assert re.search(r"llvm\.fmuladd\.v\d+f32|llvm\.fma\.v\d+f32|= fmul(?: [a-z]+)* <\d+ x float>", ir_text), \
        "matmul row loop left scalar"
    a, b = rng.standard_normal((n, n)).astype("float32"), rng.standard_normal((n, n)).astype("float32")
    c = tvm.nd.array(np.zeros((n, n), "float32"))
    f(tvm.nd.array(a), tvm.nd.array(b), c)
    np.testing.assert_allclose(c.numpy(), a @ b, rtol=1e-4, atol=1e-4)

    x = rng.integers(-3, 4, (n, 2 * n)).astype("float32")  # ties: the first index must win
    x[rng.integers(0, n, 5), rng.integers(0, 2 * n, 5)] = np.nan
    X = te.placeholder(x.shape, name="X")
    R = topi.argmax(X, axis=0)
    s = te.create_schedule(R.op)
    text = str(tvm.lower(s, [X, R], simple_mode=True))
    assert re.search(r"for \(k[^\n]*\n\s*for \(", text), f"argmax's reduction loop still innermost:\n{text}"
    out = tvm.nd.array(np.zeros(2 * n, "int32"))
    tvm.build(s, [X, R], target="llvm")(tvm.nd.array(x), out)
    np.testing.assert_array_equal(out.numpy(), np.argmax(x, axis=0))


def test_default_conv2d_runs_its_window_outside_a_vector_row_loop():
    """conv2d_nchw by the default schedule: the 3x3 window's loops go outside the output row
    loop, which LLVM vectorizes (with the window innermost every output was a scalar chain
    of 9*C multiply-adds: 23x slower at 32x28x28)."""
    c, h, w, f = 3, 9, 21, 2
    X = te.placeholder((1, c, h, w), name="X")
    K = te.placeholder((f, c, 3, 3), name="K")
    C = topi.nn.conv2d_nchw(X, K, 1, 1, 1)
    s = te.create_schedule(C.op)
    text = str(tvm.lower(s, [X, K, C], simple_mode=True))
    assert re.search(r"for \(rx[^\n]*\n\s*for \(xx", text), f"window still innermost:\n{text}"
    fn = tvm.build(s, [X, K, C], target="llvm")
    assert re.search(r"= fmul(?: [a-z]+)* <\d+ x float>|llvm\.fmuladd\.v\d+f32", fn.get_source("ll"))
    x, k = rng.standard_normal((1, c, h, w)).astype("float32"), rng.standard_normal((f, c, 3, 3)).astype("float32")
    out = tvm.nd.array(np.zeros((1, f, h, w), "float32"))
    fn(tvm.nd.array(x), tvm.nd.array(k), out)
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    want = sum(np.einsum("chw,fc->fhw", xp[:, dy:dy + h, dx:dx + w], k[:, :, dy, dx])
               for dy in range(3) for dx in range(3))
    np.testing.assert_allclose(out.numpy()[0], want, rtol=1e-4, atol=1e-4)


def test_row_sum_keeps_its_contiguous_reduction_innermost():
    """sum over the contiguous axis is left alone: moving the row loop inside would stride."""
    A = te.placeholder((33, 70), name="A")
    R = topi.sum(A, axis=1)
    s = te.create_schedule(R.op)
    text = str(tvm.lower(s, [A, R], simple_mode=True))
    assert re.search(r"for \(ax0[^\n]*\n[^\n]*= 0\.0f\n\s*for \(k", text) or \
        re.search(r"for \(i[^\n]*\n[^\n]*= 0\.0f\n\s*for \(k", text), text
    x = rng.standard_normal((33, 70)).astype("float32")
    out = tvm.nd.array(np.zeros(33, "float32"))
    tvm.build(s, [A, R], target="llvm")(tvm.nd.array(x), out)
    np.testing.assert_allclose(out.numpy(), x.sum(1), rtol=1e-5, atol=1e-5)


def test_where_with_loads_in_bounds_is_a_vector_select():
    """topi.where(cond, X, Y) by the default schedule: both sides are loads at indices the
    loops keep inside their buffers, so both may be read and blended (a branch per element
    that picks which one to load became a scalar gather: 14x a plain select's time)."""
    n, m = 37, 300
    X, Y = te.placeholder((n, m), name="X"), te.placeholder((n, m), name="Y")
    O = topi.where(topi.greater(X, Y), X, Y)
    for parallel in (False, True):  # a parallel loop's worker knows its loop's range too
        s = te.create_schedule(O.op)
        if parallel:
            s[O].parallel(O.op.axis[0])
        f = tvm.build(s, [X, Y, O], target="llvm")
        ir_text = f.get_source("ll")
        assert re.search(r"= select <\d+ x i1> [^\n]*<\d+ x float>", ir_text), f"where left scalar ({parallel=})"
        assert "masked.gather" not in ir_text
        x, y = rng.standard_normal((n, m)).astype("float32"), rng.standard_normal((n, m)).astype("float32")
        x[0, :5] = np.nan
        out = tvm.nd.array(np.zeros((n, m), "float32"))
        f(tvm.nd.array(x), tvm.nd.array(y), out)
        np.testing.assert_array_equal(out.numpy(), np.where(x > y, x, y))


def test_if_then_else_guarding_an_out_of_bounds_load_still_skips_it():
    """A load that only the condition keeps inside its buffer stays conditional: the lanes it
    guards would read 160 MB past the end of A."""
    n, half, shift = 1000, 500, 40_000_000
    A = te.placeholder((n,), name="A")
    O = te.compute((n,), lambda i: tvm.tir.if_then_else(i < half, A[i + (i // half) * shift], 0.0), name="O")
    for parallel in (False, True):
        s = te.create_schedule(O.op)
        if parallel:
            io, _ = s[O].split(O.op.axis[0], factor=100)
            s[O].parallel(io)
        f = tvm.build(s, [A, O], target="llvm")
        x = rng.standard_normal(n).astype("float32")
        out = tvm.nd.array(rng.standard_normal(n).astype("float32"))
        f(tvm.nd.array(x), out)
        np.testing.assert_array_equal(out.numpy(), np.where(np.arange(n) < half, x, 0))
