"""Property test: random legal schedules of matmul and conv2d all compute what numpy computes."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlang as tl
from tensorlang import te
from tensorlang.te.tensor import IterVarType
from tests.integration.test_operators import conv2d_nchw, conv_ref

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _annotate(draw, stage):
    """Random legal annotations on a stage's current leaves."""
    leaves = list(stage.leaf_iter_vars)
    data = [iv for iv in leaves if iv.iter_type == IterVarType.DATA_PAR]
    if data and draw(st.booleans()):
        stage.parallel(data[0])
    inner = leaves[-1]
    if inner.iter_type == IterVarType.DATA_PAR and inner is not (data[0] if data else None) and draw(st.booleans()):
        stage.vectorize(inner)
    rest = [iv for iv in leaves[1:-1]]
    if rest and draw(st.booleans()):
        stage.unroll(draw(st.sampled_from(rest)))


@st.composite
def matmul_case(draw):
    n, m, l = (draw(st.integers(1, 24)) for _ in range(3))
    A = te.placeholder((n, l), name="A")
    B = te.placeholder((l, m), name="B")
    k = te.reduce_axis((0, l), name="k")
    C = te.compute((n, m), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    target = C
    if draw(st.booleans()):
        CC = s.cache_write(C, "local")
        target = CC
    stage = s[target]
    for ax in list(stage.leaf_iter_vars):
        if draw(st.booleans()):
            stage.split(ax, factor=draw(st.integers(1, 9)))
    perm = draw(st.permutations(list(stage.leaf_iter_vars)))
    stage.reorder(*perm)
    _annotate(draw, stage)
    if target is not C:
        outer = s[C]
        io, ii = outer.split(outer.op.axis[0], factor=draw(st.integers(1, 8)))
        attach = draw(st.sampled_from(list(outer.leaf_iter_vars)))
        stage.compute_at(outer, attach)
    return s, [A, B, C], (n, m, l)


@given(matmul_case())
@SETTINGS
def test_random_matmul_schedules(case):
    s, args, (n, m, l) = case
    rng = np.random.default_rng()
    a = rng.standard_normal((n, l)).astype(np.float32)
    b = rng.standard_normal((l, m)).astype(np.float32)
    c = rng.standard_normal((n, m)).astype(np.float32)
    f = tl.build(s, args, target="llvm")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


@st.composite
def conv_case(draw):
    C_, H, W, K = draw(st.integers(1, 4)), draw(st.integers(3, 9)), draw(st.integers(3, 9)), draw(st.integers(1, 5))
    R = draw(st.sampled_from([1, 3]))
    pad = draw(st.integers(0, 1))
    X, Wt, Xp, Y = conv2d_nchw(1, C_, H, W, K, R, R, pad)
    s = te.create_schedule(Y.op)
    stage = s[Y]
    n, k, y, x = stage.op.axis
    if draw(st.booleans()):
        stage.split(x, factor=draw(st.integers(1, 8)))
    if draw(st.booleans()):
        stage.split(k, factor=draw(st.integers(1, 4)))
    leaves = list(stage.leaf_iter_vars)
    perm = draw(st.permutations(leaves))
    stage.reorder(*perm)
    _annotate(draw, stage)
    mode = draw(st.sampled_from(["inline", "root", "at"]))
    if mode == "inline":
        s[Xp].compute_inline()
    elif mode == "at":
        s[Xp].compute_at(stage, draw(st.sampled_from(list(stage.leaf_iter_vars))))
    return s, [X, Wt, Y], (C_, H, W, K, R, pad)


@given(conv_case())
@SETTINGS
def test_random_conv2d_schedules(case):
    s, args, (C_, H, W, K, R, pad) = case
    rng = np.random.default_rng()
    x = rng.standard_normal((1, C_, H, W)).astype(np.float32)
    w = rng.standard_normal((K, C_, R, R)).astype(np.float32)
    OH, OW = H + 2 * pad - R + 1, W + 2 * pad - R + 1
    y = rng.standard_normal((1, K, OH, OW)).astype(np.float32)
    f = tl.build(s, args, target="llvm")
    f(x, w, y)
    np.testing.assert_allclose(y, conv_ref(x, w, pad), rtol=1e-4, atol=1e-4)
