"""Stage.transform_layout (TVM 0.12): the tensor stored in the transformed layout, the stage's
loops over the new axes (which schedule like any axis), readers through the map, arguments in
the new layout; refused mappings and uses.  Checked against numpy on fresh random data."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError, ScheduleError
from tests.conftest import random_array

EMU = "cuda -emulate -arch=sm_90"


def _build_run(s, args, inputs, out_shapes, target="llvm"):
    f = tl.build(s, args, target=target)
    rng = np.random.default_rng()
    outs = [random_array(rng, shape, "float32") for shape in out_shapes]
    f(*inputs, *outs)
    return outs


def test_intermediate_layout_split_vectorize_parallel(rng):
    A = te.placeholder((32, 16), name="A")
    B = te.compute((32, 16), lambda i, j: A[i, j] * 2.0, name="B")
    C = te.compute((32, 16), lambda i, j: B[i, j] + B[31 - i, j], name="C")
    s = te.create_schedule(C.op)
    jo, i, ji = s[B].transform_layout(lambda i, j: [j // 8, i, j % 8])
    assert [int(iv.dom.extent) for iv in s[B].leaf_iter_vars] == [2, 32, 8]
    io, ii = s[B].split(i, factor=16)
    s[B].reorder(io, jo, ii, ji)
    s[B].parallel(io)
    s[B].vectorize(ji)
    a = random_array(rng, (32, 16), "float32")
    (c,) = _build_run(s, [A, C], [a], [(32, 16)])
    np.testing.assert_allclose(c, 2 * a + 2 * a[::-1], rtol=1e-6)


def test_output_and_input_take_the_physical_layout(rng):
    A = te.placeholder((4, 6, 8), name="A")
    B = te.compute(A.shape, lambda i, j, k: A[i, j, k] + 1.0, name="B")
    s = te.create_schedule(B.op)
    assert s[A].transform_layout(lambda i, j, k: [k, j, i]) is None  # TVM: None for a placeholder
    axes = s[B].transform_layout(lambda *idx, n: [*idx, n // 4, n % 4])
    assert [iv.name for iv in axes] == ["idx_0", "idx_1", "axis2", "axis3"]
    f = tl.build(s, [A, B])
    a = random_array(rng, (4, 6, 8), "float32")
    b = np.zeros((4, 6, 2, 4), "float32")
    f(np.ascontiguousarray(a.transpose(2, 1, 0)), b)
    np.testing.assert_allclose(b, (a + 1).reshape(4, 6, 2, 4), rtol=1e-6)
    with pytest.raises(ArgumentError):  # the logical shape is no longer the argument's
        f(np.ascontiguousarray(a.transpose(2, 1, 0)), np.zeros((4, 6, 8), "float32"))


def test_matmul_output_in_tiled_layout_after_splitting_the_reduction(rng):
    n = 32
    A = te.placeholder((n, n), name="A")
    W = te.placeholder((n, n), name="W")
    k = te.reduce_axis((0, n), "k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * W[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    ko, ki = s[C].split(k, factor=4)
    io, jo, ii, ji = s[C].transform_layout(lambda i, j: [i // 8, j // 8, i % 8, j % 8])
    assert s[C].leaf_iter_vars == [io, jo, ii, ji, ko, ki]
    s[C].reorder(io, jo, ii, ko, ki, ji)
    s[C].vectorize(ji)
    a, w = random_array(rng, (n, n), "float32"), random_array(rng, (n, n), "float32")
    (c,) = _build_run(s, [A, W, C], [a, w], [(4, 4, 8, 8)])
    np.testing.assert_allclose(c, (a @ w).reshape(4, 8, 4, 8).transpose(0, 2, 1, 3), rtol=1e-4, atol=1e-4)


def test_compute_at_realizes_the_region_in_the_new_layout(rng):
    A = te.placeholder((64,), name="A")
    B = te.compute((64,), lambda i: A[i] * 2.0, name="B")
    C = te.compute((64,), lambda i: B[i] + 1.0, name="C")
    s = te.create_schedule(C.op)
    s[B].transform_layout(lambda i: [i // 8, i % 8])
    co, _ = s[C].split(C.op.axis[0], factor=16)
    s[B].compute_at(s[C], co)
    assert "allocate B[float32 * 16]" in str(tl.lower(s, [A, C]))  # two rows of 8 per iteration
    a = random_array(rng, (64,), "float32")
    (c,) = _build_run(s, [A, C], [a], [(64,)])
    np.testing.assert_allclose(c, 2 * a + 1, rtol=1e-6)


def test_composed_and_mixed_radix_mappings(rng):
    A = te.placeholder((2, 6), name="A")
    B = te.compute((2, 6), lambda i, j: A[i, j] * 3.0, name="B")
    C = te.compute((2, 6), lambda i, j: B[i, j] - 1.0, name="C")
    s = te.create_schedule(C.op)
    # a flat index cut where no original axis ends: 12 = 3 x 4
    assert [int(iv.dom.extent) for iv in s[B].transform_layout(lambda i, j: [(i * 6 + j) // 4, (i * 6 + j) % 4])] \
        == [3, 4]
    s[B].transform_layout(lambda r, c: [c, r])  # applied after the first
    # (i * 6 + j) // 6 is i: the mapping is the transpose
    s[A].transform_layout(lambda i, j: [j, (i * 6 + j) // 6])
    a = random_array(rng, (2, 6), "float32")
    (c,) = _build_run(s, [A, C], [np.ascontiguousarray(a.T)], [(2, 6)])
    # atol: LLVM may fuse the product into the subtraction (one rounding instead of two), which
    # moves 3a - 1 by up to half an ulp of 3a; near 3a = 1 that is a large relative difference.
    np.testing.assert_allclose(c, 3 * a - 1, rtol=1e-6, atol=1e-6)


def test_symbolic_shapes(rng):
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B = te.compute((n, m), lambda i, j: A[i, j] * 2.0, name="B")
    s = te.create_schedule(B.op)
    s[B].transform_layout(lambda i, j: [j, i])
    s[A].transform_layout(lambda i, j: [i * m + j])
    a = random_array(rng, (5, 7), "float32")
    (b,) = _build_run(s, [A, B], [a.reshape(-1)], [(7, 5)])
    np.testing.assert_allclose(b, 2 * a.T, rtol=1e-6)


def test_triangular_reduction_and_rfactor(rng):
    A = te.placeholder((16, 64), name="A")

    def prefix(i):
        k = te.reduce_axis((0, i + 1), "k")
        return te.sum(A[k, 0], axis=k)
    P = te.compute((16,), prefix, name="P")
    k = te.reduce_axis((0, 64), "k")
    R = te.compute((16,), lambda i: te.sum(A[i, k], axis=k), name="R")
    s = te.create_schedule([P.op, R.op])
    s[P].transform_layout(lambda i: [i % 4, i // 4])
    s[R].transform_layout(lambda i: [i // 4, i % 4])
    _, ki = s[R].split(k, factor=8)
    s.rfactor(R, ki)
    a = random_array(rng, (16, 64), "float32")
    p, r = _build_run(s, [A, P, R], [a], [(4, 4), (4, 4)])
    np.testing.assert_allclose(p, np.cumsum(a[:, 0]).reshape(4, 4).T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(r, a.sum(1).reshape(4, 4), rtol=1e-4, atol=1e-4)


def test_cuda_shared_tile_transposed_and_output_bound(rng):
    n = 32
    A = te.placeholder((n, n), name="A")
    B = te.compute((n, n), lambda i, j: A[j, i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    AS = s.cache_read(A, "shared", [B])
    i, j = s[B].transform_layout(lambda i, j: [i, j])  # the identity: the op's axes, anew
    bx, by, tx, ty = s[B].tile(i, j, 16, 16)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(by, te.thread_axis("blockIdx.y"))
    s[B].bind(tx, te.thread_axis("threadIdx.y"))
    s[B].bind(ty, te.thread_axis("threadIdx.x"))
    r, c = s[AS].transform_layout(lambda i, j: [j, i])
    s[AS].compute_at(s[B], by)
    s[AS].bind(r, te.thread_axis("threadIdx.y"))
    s[AS].bind(c, te.thread_axis("threadIdx.x"))
    assert "allocate A.shared[float32 * 256], shared" in str(tl.lower(s, [A, B]))
    a = random_array(rng, (n, n), "float32")
    (b,) = _build_run(s, [A, B], [a], [(n, n)], target=EMU)
    np.testing.assert_allclose(b, 2 * a.T, rtol=1e-6)


@pytest.mark.parametrize("shape, mapping, match", [
    ((16,), lambda i: [i // 4], "index i \\(extent 16\\): parts of it are lost"),
    ((16,), lambda i: [i // 2, i % 4], "parts of it are used more than once"),
    ((4, 4), lambda i, j: [i, i], "index j \\(extent 4\\) does not occur"),
    ((16,), lambda i, j: [i, j], "takes 2 indices, but the tensor has 1 dimension"),
    ((4, 4), lambda i: [i], "takes 1 index, but the tensor has 2 dimensions"),
    ((6,), lambda i: [i // 4, i % 4], "4 does not divide the extent 6 .* padding"),
    ((16,), lambda i: [2 * i], "only multiples of 2, which leaves gaps"),
    ((16,), lambda i: [i + 1], "offset 1"),
    ((16,), lambda i: [15 - i], "subtracts an index"),
    ((4, 4), lambda i, j: [i * j], "multiplies two indices"),
    ((4, 4), lambda i, j: [i, te.AXIS_SEPARATOR, j], "AXIS_SEPARATOR .* not supported"),
    ((4, 4), lambda i, j: [i, j * 1.5], "float32 expression"),
])
def test_refused_mappings_name_the_stage(shape, mapping, match):
    A = te.placeholder(shape, name="A")
    B = te.compute(shape, lambda *i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    with pytest.raises(ScheduleError, match="stage B: transform_layout.*" + match):
        s[B].transform_layout(mapping)
    with pytest.raises(ScheduleError, match="stage A: transform_layout"):
        s[A].transform_layout(mapping)


def test_refused_uses():
    A = te.placeholder((16,), name="A")
    B = te.compute((16,), lambda i: A[i] * 2.0, name="B")
    C = te.compute((16,), lambda i: B[i] + 1.0, name="C")
    s = te.create_schedule(C.op)
    s[B].split(B.op.axis[0], factor=4)
    with pytest.raises(ScheduleError, match="stage B: transform_layout must come before axis i is split"):
        s[B].transform_layout(lambda i: [i % 4, i // 4])
    s = te.create_schedule(C.op)
    s[B].compute_at(s[C], C.op.axis[0])
    with pytest.raises(ScheduleError, match="stage B is computed at axis i, which the new layout's loops replace"):
        s[C].transform_layout(lambda i: [i % 4, i // 4])
    s = te.create_schedule(C.op)
    s[B].transform_layout(lambda i: [i % 4, i // 4])
    with pytest.raises(ScheduleError, match="axis i was replaced by transform_layout"):
        s[B].split(B.op.axis[0], factor=2)
    D = te.extern((16,), [B], lambda ins, outs: tl.tir.call_packed("f", ins[0], outs[0]), name="D")
    s = te.create_schedule(D.op)
    with pytest.raises(ScheduleError, match="B is read by D, an extern stage"):
        s[B].transform_layout(lambda i: [i % 4, i // 4])
    with pytest.raises(ScheduleError, match="not to an extern stage"):
        s[D].transform_layout(lambda i: [i % 4, i // 4])


def test_rewiring_keeps_chained_readers_and_extern_stages(rng):
    # Regression (schedule/dataflow.replace_dataflow): a cache_read whose readers read each
    # other left a third stage reading a stale op (a LoweringError), and a stage rebuilt
    # upstream of an extern stage turned the extern stage into zeros.
    A = te.placeholder((16,), name="A")
    R1 = te.compute((16,), lambda i: A[i] * 2.0, name="R1")
    R2 = te.compute((16,), lambda i: R1[i] + A[i], name="R2")
    R3 = te.compute((16,), lambda i: R2[i] * 3.0, name="R3")
    s = te.create_schedule(R3.op)
    s.cache_read(A, "global", [R1, R2])
    a = random_array(rng, (16,), "float32")
    (r3,) = _build_run(s, [A, R3], [a], [(16,)])
    np.testing.assert_allclose(r3, 9 * a, rtol=1e-5)

    n, m = 8, 5
    X = te.placeholder((n, 4), name="X")
    W = te.placeholder((4, m), name="W")
    X2 = te.compute((n, 4), lambda i, j: X[i, j] * 2.0, name="X2")
    P = te.extern((n, m), [X2, W], lambda ins, outs: tl.tir.call_packed(
        "tvm.contrib.cblas.matmul", ins[0], ins[1], outs[0], False, False), name="P")
    s = te.create_schedule(P.op)
    s[X].transform_layout(lambda i, j: [j, i])
    x, w = random_array(rng, (n, 4), "float32"), random_array(rng, (4, m), "float32")
    (p,) = _build_run(s, [X, W, P], [np.ascontiguousarray(x.T), w], [(n, m)])
    np.testing.assert_allclose(p, 2 * x @ w, rtol=1e-4, atol=1e-4)
