"""Schedule behaviours TVM code relies on, TVM spelling, checked against numpy."""

import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def _run(s, args, arrays, out_shape, dtype="float32"):
    f = tvm.build(s, args)
    out = np.zeros(out_shape, dtype)
    f(*arrays, out)
    return out


def test_float_shapes_and_factors_become_ints():
    N, bn = 64, 16
    B = te.placeholder((N, N), name="B")
    P = te.compute((N / bn, N, bn), lambda x, y, z: B[y, x * bn + z], name="P")
    assert [int(d) for d in P.shape] == [4, 64, 16]
    s = te.create_schedule(P.op)
    s[P].split(P.op.axis[1], factor=N / bn)
    b = np.random.rand(N, N).astype("float32")
    np.testing.assert_array_equal(_run(s, [B, P], [b], (4, N, 16)), b.reshape(N, 4, 16).transpose(1, 0, 2))
    with pytest.raises(tvm.error.TVMError, match="not a whole number"):
        te.compute((N / 3,), lambda i: B[i, 0])
    with pytest.raises(RuntimeError, match="not a whole number"):
        s[P].split(P.op.axis[2], factor=2.5)


def test_fuse_of_one_axis_or_none():
    A = te.placeholder((), name="A")
    T = te.compute((), lambda: A() + 1, name="T")
    s = te.create_schedule(T.op)
    single = s[T].fuse()
    assert single in s[T].leaf_iter_vars
    assert _run(s, [A, T], [np.array(2.5, "float32")], ()) == 3.5
    X = te.placeholder((6, 5), name="X")
    Y = te.compute((6, 5), lambda i, j: X[i, j] * 3, name="Y")
    s = te.create_schedule(Y.op)
    assert s[Y].fuse(Y.op.axis[0]) is Y.op.axis[0]
    x = np.random.rand(6, 5).astype("float32")
    np.testing.assert_allclose(_run(s, [X, Y], [x], (6, 5)), x * 3, rtol=1e-6)


def test_unknown_pragma_warns_and_builds():
    X = te.placeholder((8,), name="X")
    Y = te.compute((8,), lambda i: X[i] + 1, name="Y")
    s = te.create_schedule(Y.op)
    with pytest.warns(UserWarning, match="pragma 'my_vendor_hint'"):
        s[Y].pragma(Y.op.axis[0], "my_vendor_hint", 4)
    x = np.random.rand(8).astype("float32")
    np.testing.assert_allclose(_run(s, [X, Y], [x], (8,)), x + 1)


def test_compute_at_target_split_afterwards_is_legalized():
    A = te.placeholder((16, 8), name="A")
    B = te.compute((16, 8), lambda i, j: A[i, j] + 1, name="B")
    C = te.compute((16, 8), lambda i, j: B[i, j] * 2, name="C")
    a = np.random.rand(16, 8).astype("float32")
    s = te.create_schedule(C.op)
    s[B].compute_at(s[C], C.op.axis[0])
    xo, xi = s[C].split(C.op.axis[0], factor=4)
    np.testing.assert_allclose(_run(s, [A, C], [a], (16, 8)), (a + 1) * 2, rtol=1e-6)
    s = te.create_schedule(C.op)
    s[B].compute_at(s[C], C.op.axis[1])
    s[C].fuse(C.op.axis[0], C.op.axis[1])
    np.testing.assert_allclose(_run(s, [A, C], [a], (16, 8)), (a + 1) * 2, rtol=1e-6)


def test_cache_write_after_split():
    A = te.placeholder((16, 12), name="A")
    k = te.reduce_axis((0, 12), name="k")
    C = te.compute((16,), lambda i: te.sum(A[i, k] * 2, axis=k), name="C")
    s = te.create_schedule(C.op)
    s[C].split(C.op.axis[0], factor=4)
    CC = s.cache_write(C, "global")
    assert [int(d) for d in CC.shape] == [4, 4]  # laid out by the split loops, as in TVM
    xo, xi = s[C].split(C.op.axis[0], factor=4)
    s[CC].compute_at(s[C], xo)
    a = np.random.rand(16, 12).astype("float32")
    np.testing.assert_allclose(_run(s, [A, C], [a], (16,)), (a * 2).sum(1), rtol=1e-5)


def test_inlined_tensor_in_argument_list():
    A = te.placeholder((10,), name="A")
    B = te.compute((10,), lambda i: A[i] + 1, name="B")
    C = te.compute((10,), lambda i: B[i] * 2, name="C")
    s = te.create_schedule(C.op)
    s[B].compute_inline()
    f = tvm.build(s, [A, B, C])
    a = np.random.rand(10).astype("float32")
    b, c = np.zeros(10, "float32"), np.zeros(10, "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, (a + 1) * 2, rtol=1e-6)


@pytest.mark.parametrize("variant", ["plain", "split_k", "cache_write", "symbolic"])
def test_triangular_reductions(variant):
    n = te.var("n") if variant == "symbolic" else 12
    A = te.placeholder((n, n), name="A")
    V = te.placeholder((n,), name="V")

    def lower_tri(i):  # causal: row i sums k < i + 1
        k = te.reduce_axis((0, i + 1), name="k")
        return te.sum(A[i, k] * V[k], axis=k)

    def upper_tri(i):  # k from i to n
        k = te.reduce_axis((i, n), name="k")
        return te.sum(A[i, k], axis=k)

    L = te.compute((n,), lower_tri, name="L")
    U = te.compute((n,), upper_tri, name="U")
    m = 12 if variant != "symbolic" else 11
    a = np.random.rand(m, m).astype("float32")
    v = np.random.rand(m).astype("float32")
    for out, args, arrays, ref in ((L, [A, V, L], [a, v], np.tril(a) @ v), (U, [A, U], [a], np.triu(a).sum(1))):
        s = te.create_schedule(out.op)
        if variant == "split_k":
            s[out].split(out.op.reduce_axis[0], factor=4)
        if variant in ("cache_write", "symbolic"):
            cache = s.cache_write(out, "global")
            xo, xi = s[out].split(out.op.axis[0], factor=4)
            s[cache].compute_at(s[out], xo)
            s[cache].split(cache.op.reduce_axis[0], factor=3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(_run(s, args, arrays, (m,)), ref, rtol=1e-5)


def test_storage_align_pads_rows_on_cpu_and_gpu_shared_memory():
    A = te.placeholder((16, 16), name="A")
    B = te.compute((16, 16), lambda i, j: A[i, j] * 2, name="B")
    C = te.compute((16, 16), lambda i, j: B[j, i] + 1, name="C")
    s = te.create_schedule(C.op)
    s[B].storage_align(B.op.axis[0], 32, 1)
    assert "B[float32 * 528]" in str(tvm.lower(s, [A, C]))  # 16 rows of stride 33
    a = np.random.rand(16, 16).astype("float32")
    np.testing.assert_allclose(_run(s, [A, C], [a], (16, 16)), (a * 2).T + 1, rtol=1e-6)
    n = 64
    A = te.placeholder((n, n), name="A")
    B = te.compute((n, n), lambda i, j: A[j, i], name="B")
    s = te.create_schedule(B.op)
    AA = s.cache_read(A, "shared", [B])
    bx, tx = s[B].split(B.op.axis[0], factor=16)
    by, ty = s[B].split(B.op.axis[1], factor=16)
    s[B].reorder(bx, by, tx, ty)
    for ax, tag in ((bx, "blockIdx.x"), (by, "blockIdx.y"), (tx, "threadIdx.x"), (ty, "threadIdx.y")):
        s[B].bind(ax, te.thread_axis(tag))
    s[AA].compute_at(s[B], by)
    s[AA].storage_align(AA.op.axis[0], 16, 1)
    ax0, ax1 = s[AA].op.axis
    s[AA].bind(ax0, te.thread_axis("threadIdx.y"))
    s[AA].bind(ax1, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, [A, B], "cuda -emulate")
    assert "A_shared[272]" in f.imported_modules[0].get_source()  # 16 x (16 + 1)
    a = np.random.rand(n, n).astype("float32")
    b = np.zeros((n, n), "float32")
    f(a, b)
    np.testing.assert_allclose(b, a.T)
    with pytest.raises(tvm.error.TVMError, match="offset"):
        s[AA].storage_align(AA.op.axis[0], 16, -1)
    # An offset past the factor counts modulo it, as in TVM (its tensor-core schedules pad a row
    # of n to exactly n + pad with storage_align(n + pad - 1, n + pad)).
    s[AA].storage_align(AA.op.axis[0], 16, 16)


def test_create_group_compute_at():
    m, n = te.var("m"), te.var("n")
    A = te.placeholder((m, n), name="A")
    B = te.compute((m, n), lambda i, j: A[i, j] + 1, name="B")
    C = te.compute((m, n), lambda i, j: A[i, j] * B[i, j], name="C")
    D = te.compute((m, n), lambda i, j: C[i, j] * C[i, j], name="D")
    s = te.create_schedule(D.op)
    g = s.create_group(outputs=C, inputs=A)
    assert s[C].group is g and s[B].group is g and g.num_child_stages == 2
    xo, xi = s[D].split(D.op.axis[0], factor=4)
    g.compute_at(s[D], xo)
    a = np.random.rand(10, 7).astype("float32")
    np.testing.assert_allclose(_run(s, [A, D], [a], (10, 7)), (a * (a + 1)) ** 2, rtol=1e-5)
