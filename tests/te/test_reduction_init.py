"""te.sum/max/... with init= (TVM's Reduce.init): the reduction starts at init (which may read the
output's indices and other tensors) instead of the identity; rfactor's partial reductions start at
the reducer's identity and only the final one at init (as TVM's); a cross-thread reduction of one
is refused, as in TVM (each thread's part would start at init)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ExprError, LoweringError

rng = np.random.default_rng()
N, M = 16, 24


def _sum_with_bias(computed_bias: bool):
    A = te.placeholder((N, M), name="A")
    X = te.placeholder((N,), name="X")
    Bias = te.compute((N,), lambda i: X[i] * 2.0, name="Bias") if computed_bias else X
    k = te.reduce_axis((0, M), name="k")
    C = te.compute((N,), lambda i: te.sum(A[i, k], axis=k, init=Bias[i]), name="C")
    return A, X, C


@pytest.mark.parametrize("computed_bias", [False, True])
def test_sum_starts_at_init_that_reads_a_tensor(computed_bias):
    A, X, C = _sum_with_bias(computed_bias)
    s = te.create_schedule(C.op)
    ko, ki = s[C].split(C.op.reduce_axis[0], factor=8)
    io, ii = s[C].split(C.op.axis[0], factor=4)
    s[C].reorder(io, ko, ki, ii)
    s[C].vectorize(ii)
    f = tl.build(s, [A, X, C])
    a, x = rng.standard_normal((N, M)).astype("float32"), rng.standard_normal(N).astype("float32")
    c = np.zeros(N, "float32")
    f(a, x, c)
    np.testing.assert_allclose(c, (2 * x if computed_bias else x) + a.sum(1), rtol=1e-5, atol=1e-5)


def test_max_with_a_constant_init_and_an_empty_axis():
    A = te.placeholder((N, M), name="A")
    k = te.reduce_axis((0, M), name="k")
    D = te.compute((N,), lambda i: te.max(A[i, k], axis=k, init=te.const(0.5, "float32")), name="D")
    n = te.var("n")
    e = te.reduce_axis((0, n), name="e")
    E = te.compute((N,), lambda i: te.max(A[i, e], axis=e, init=A[i, 0]), name="E")  # may run 0 times
    f = tl.build(te.create_schedule([D.op, E.op]), [A, n, D, E])
    a = rng.standard_normal((N, M)).astype("float32")
    d, out = np.zeros(N, "float32"), np.zeros(N, "float32")
    f(a, 0, d, out)
    np.testing.assert_array_equal(d, np.maximum(a.max(1), 0.5))
    np.testing.assert_array_equal(out, a[:, 0])  # over an empty axis: init, not an error
    f(a, 5, d, out)
    np.testing.assert_array_equal(out, a[:, :5].max(1))


@pytest.mark.parametrize("kind", ["sum", "max"])
@pytest.mark.parametrize("factor_axis", [0, 1])
def test_rfactor_of_an_init_reduction_starts_only_the_final_one_at_init(kind, factor_axis):
    # TVM's test_rfactor_init: it was refused ("each part would start at init").
    A = te.placeholder((N, M), name="A")
    X = te.placeholder((N,), name="X")
    k = te.reduce_axis((0, M), name="k")
    C = te.compute((N,), lambda i: getattr(te, kind)(A[i, k], axis=k, init=X[i], where=k % 5 != 3), name="C")
    s = te.create_schedule(C.op)
    ko, ki = s[C].split(k, nparts=4)
    CF = s.rfactor(C, ko, factor_axis=factor_axis)
    s[CF].parallel(s[CF].op.axis[0])
    f = tl.build(s, [A, X, C])
    a = rng.standard_normal((N, M)).astype("float32")
    x = rng.standard_normal(N).astype("float32")
    out = np.zeros(N, "float32")
    f(a, x, out)
    kept = a[:, np.arange(M) % 5 != 3]
    want = x + kept.sum(1) if kind == "sum" else np.maximum(x, kept.max(1))
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_cross_thread_reductions_and_gradients_of_an_init_reduction_are_refused():
    A, X, C = _sum_with_bias(False)
    s = te.create_schedule(C.op)
    ko, ki = s[C].split(C.op.reduce_axis[0], factor=8)
    s[C].bind(C.op.axis[0], te.thread_axis("blockIdx.x"))
    s[C].bind(ki, te.thread_axis("threadIdx.x"))
    with pytest.raises(LoweringError, match="a reduction with init= cannot be bound across threads"):
        tl.build(s, [A, X, C], target="cuda -emulate")
    with pytest.raises(ExprError, match="reduces with init="):
        te.gradient(C, [A])
    with pytest.raises(ExprError, match="init= must give 1 value"):
        k = te.reduce_axis((0, M), name="k")
        te.compute((N,), lambda i: te.sum(A[i, k], axis=k, init=[X[i], X[i]]))
