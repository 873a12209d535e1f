"""Loop partitioning: guard-free main ranges, same results."""

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.ir.stmt import Store
from tensorlang.te.functor import post_order_visit
from tests.conftest import random_array, run


def _stores(func):
    found = []
    post_order_visit(func.body, lambda n: found.append(n) if isinstance(n, Store) else None)
    return found


def test_split_tail_gets_a_guard_free_main_loop(rng):
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    xo, xi = s[B].split(B.op.axis[0], factor=16)
    s[B].vectorize(xi)
    stores = _stores(tl.lower(s, [A, B]))
    assert any(st.predicate is None for st in stores)      # the main range
    assert any(st.predicate is not None for st in stores)  # the tail
    f = tl.build(s, [A, B])
    for size in (5, 16, 100):
        a = random_array(rng, (size,), "float32")
        b = np.empty_like(a)
        f(a, b)
        np.testing.assert_allclose(b, a * 2, rtol=1e-6)


def _padded_window(n: int, pad: int, window: int):
    """B[i] = sum of A[i - pad .. i - pad + window), zeros outside A, read through an inlined
    padding stage; returns (A, B, schedule, the reduce axis)."""
    A = te.placeholder((n,), name="A")
    P = te.compute((n + 2 * pad,), lambda i: te.if_then_else(te.all(i >= pad, i < n + pad), A[i - pad], 0.0),
                   name="P")
    k = te.reduce_axis((0, window), name="k")
    B = te.compute((n + 2 * pad - window + 1,), lambda i: te.sum(P[i + k], axis=k), name="B")
    s = te.create_schedule(B.op)
    s[P].compute_inline()
    return A, B, s, k


def test_padding_checks_leave_the_interior(rng):
    H = 20
    A, B, s, _ = _padded_window(H, 1, 3)
    text = str(tl.lower(s, [A, B]))
    assert text.count("select(") < text.count("B[")  # the interior loop reads A without a select
    a = random_array(rng, (H,), "float32")
    (b,) = run(s, [A, B], [a], [((H,), "float32")])
    p = np.pad(a, 1)
    np.testing.assert_allclose(b, p[:-2] + p[1:-1] + p[2:], rtol=1e-5)


def test_a_guard_on_a_remainder_is_not_treated_as_linear(rng):
    # i % 3 agrees with i at 0, 1 and 2; a partition that samples those three points took the
    # guard for linear and dropped it from i = 3, 6, 9 (found as a wrong conv2d CUDA config).
    A = te.placeholder((12,), name="A")
    B = te.compute((12,), lambda i: te.if_then_else(te.indexmod(i, 3) >= 1, A[i], 0.0), name="B")
    s = te.create_schedule(B.op)
    a = random_array(rng, (12,), "float32")
    (b,) = run(s, [A, B], [a], [((12,), "float32")])
    np.testing.assert_array_equal(b, np.where(np.arange(12) % 3 >= 1, a, 0))


def test_a_guard_mixing_linear_and_remainder_terms(rng):
    A = te.placeholder((5, 12), name="A")
    B = te.compute((5, 12), lambda y, i: te.if_then_else(
        te.all(te.indexmod(i, 4) + y >= 2, i + y < 14), A[y, i], 0.0), name="B")
    s = te.create_schedule(B.op)
    s[B].reorder(B.op.axis[1], B.op.axis[0])
    a = random_array(rng, (5, 12), "float32")
    (b,) = run(s, [A, B], [a], [((5, 12), "float32")])
    y, i = np.meshgrid(np.arange(5), np.arange(12), indexing="ij")
    np.testing.assert_array_equal(b, np.where((i % 4 + y >= 2) & (i + y < 14), a, 0))


def test_gpu_kernels_partition_inner_loops_but_do_not_copy_nests(rng):
    # A 2-D padding window: on the CPU both the row loop (a nest) and the column loop split;
    # with copy_nests=False (CUDA) the row loop keeps its guard and only the innermost splits,
    # so the unrolled nest is not copied once per range.
    from tensorlang.ir.passes.loop_partition import partition_loops
    from tensorlang.ir.stmt import For, ForKind

    H = 12
    A = te.placeholder((H, H), name="A")
    P = te.compute((H + 2, H + 2), lambda i, j: te.if_then_else(
        te.all(i >= 1, i < H + 1, j >= 1, j < H + 1), A[i - 1, j - 1], 0.0), name="P")
    B = te.compute((H + 2, H + 2), lambda i, j: P[i, j] * 2.0, name="B")
    s = te.create_schedule(B.op)
    s[P].compute_inline()

    def loops(stmt, name):
        found = []
        post_order_visit(stmt, lambda n: found.append(n) if isinstance(n, For) and n.kind == ForKind.SERIAL
                         and n.loop_var.name == name else None)
        return len(found)

    nest = _unpartitioned(s, [A, B])
    cpu, gpu = partition_loops(nest), partition_loops(nest, copy_nests=False)
    assert loops(nest, "i") == 1 and loops(nest, "j") == 1
    assert loops(cpu, "i") == 3 and loops(cpu, "j") > 3  # rows split in three, each row's columns too
    assert loops(gpu, "i") == 1 and loops(gpu, "j") == 3  # one row loop; its columns split in three
    a = random_array(rng, (H, H), "float32")
    (b,) = run(s, [A, B], [a], [((H + 2, H + 2), "float32")])
    np.testing.assert_allclose(b, 2 * np.pad(a, 1), rtol=1e-6)


def _unpartitioned(s, args):
    """The lowered body of ``s`` with every step before partition_loops (and none after)."""
    from tensorlang.lowering import pipeline
    names = [st.name for st in pipeline.PIPELINE]
    keep = pipeline.PIPELINE[: names.index("partition_loops")]
    saved = pipeline.PIPELINE
    try:
        pipeline.PIPELINE = keep
        return tl.lower(s, args).body
    finally:
        pipeline.PIPELINE = saved


def test_tiles_reading_the_padding_become_single_guard_free_iterations(rng):
    # Output pairs over a window of 7 padded by 3: tiles 0 and 1 read the left padding, tile 7
    # the right, and the last two tiles end in a split tail (15 columns).  The loop is cut at
    # each of those bounds and the short border ranges peeled: with the tile's columns and the
    # window unrolled, each border iteration's guards fold to constants.
    W = 15
    A, B, s, k = _padded_window(W, 3, 7)
    xo, xi = s[B].split(B.op.axis[0], factor=2)
    s[B].reorder(xo, k, xi)
    s[B].unroll(k)
    s[B].unroll(xi)
    assert "select(" not in str(tl.lower(s, [A, B]))
    a = random_array(rng, (W,), "float32")
    (b,) = run(s, [A, B], [a], [((W,), "float32")])
    p = np.pad(a, 3)
    np.testing.assert_allclose(b, sum(p[d:d + W] for d in range(7)), rtol=1e-5)


def test_a_window_row_in_the_padding_reads_zeros_not_selects(rng):
    # Rows fused with the batch (y = r % H, not linear): the window loop ry splits at bounds
    # that depend on y; in its prefix and tail the row guard is False, so no select is left.
    N, H, Wd = 2, 6, 5
    A = te.placeholder((N, H, Wd), name="A")
    P = te.compute((N, H + 2, Wd), lambda n, y, x: te.if_then_else(te.all(y >= 1, y < H + 1), A[n, y - 1, x], 0.0),
                   name="P")
    ry = te.reduce_axis((0, 3), name="ry")
    B = te.compute((N, H, Wd), lambda n, y, x: te.sum(P[n, y + ry, x], axis=ry), name="B")
    s = te.create_schedule(B.op)
    s[P].compute_inline()
    n, y, x = B.op.axis
    s[B].fuse(n, y)
    s[B].reorder(ry, x)
    assert "select(" not in str(tl.lower(s, [A, B]))
    a = random_array(rng, (N, H, Wd), "float32")
    (b,) = run(s, [A, B], [a], [((N, H, Wd), "float32")])
    p = np.pad(a, ((0, 0), (1, 1), (0, 0)))
    np.testing.assert_allclose(b, p[:, :-2] + p[:, 1:-1] + p[:, 2:], rtol=1e-5)


def test_a_guard_on_a_let_bound_value_is_not_cut_outside_its_scope(rng):
    """te's CSE binds a value used twice to a let inside the expression; a condition on it must not
    become a loop cut (the cut would name the variable where it is not bound)."""
    L = te.placeholder((4,), name="L", dtype="int32")
    X = te.placeholder((4, 8), name="X")

    def body(i, j):
        length = te.min(L[i], 5)
        return X[i, te.if_then_else(j < length, length - 1 - j, j)]
    Y = te.compute((4, 8), body, name="Y")
    f = tl.build(te.create_schedule(Y.op), [L, X, Y])
    lengths = rng.integers(0, 9, size=4).astype("int32")
    x = rng.standard_normal((4, 8)).astype("float32")
    y = np.empty_like(x)
    f(lengths, x, y)
    n = np.minimum(lengths, 5)[:, None]
    j = np.arange(8)[None, :]
    np.testing.assert_array_equal(y, np.take_along_axis(x, np.where(j < n, n - 1 - j, j), axis=1))


def test_rows_with_a_tail_and_many_guards_lower_without_nested_bounds(rng):
    """A row loop split with a tail over rows whose reductions guard many accesses: each bound
    enters the partition once (it came once per guarded access, as a deep min chain)."""
    n, m = 11, 100
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), name="k")
    mx = te.compute((n,), lambda i: te.max(A[i, k], axis=k), name="mx")
    out = te.compute((n, m), lambda i, j: A[i, j] - mx[i], name="out")
    s = te.create_schedule(out.op)
    io, ii = s[out].split(out.op.axis[0], factor=4)
    s[out].parallel(io)
    _, ji = s[out].split(out.op.axis[1], factor=32)
    s[out].vectorize(ji)
    ko, ki = s[mx].split(k, factor=32)
    rf = s.rfactor(mx, ki)
    s[rf].compute_at(s[out], ii)
    s[mx].compute_at(s[out], ii)
    s[rf].reorder(s[rf].op.axis[1], s[rf].op.reduce_axis[0], s[rf].op.axis[0])
    s[rf].vectorize(s[rf].op.axis[0])
    text = str(tl.lower(s, [A, out]))
    assert "min(min(" not in text and "max(max(" not in text
    a = random_array(rng, (n, m), "float32")
    got = np.empty_like(a)
    tl.build(s, [A, out])(a, got)
    np.testing.assert_allclose(got, a - a.max(axis=1, keepdims=True))


def _strided_kernel(with_barrier: bool):
    """An IR-builder kernel: 128 threads sum A[c*128 + tx] over c < 8, 100 past the end of A,
    a barrier ending each iteration when ``with_barrier``; its guard is not marked likely."""
    n = 1000
    A = te.placeholder((n,), name="A")

    def ir(a, out):
        ib = tl.tir.ir_builder.create()
        ap, op = ib.buffer_ptr(a), ib.buffer_ptr(out)
        tx = te.thread_axis("threadIdx.x")
        ib.scope_attr(tx, "thread_extent", 128)
        acc = ib.allocate("float32", (1,), name="acc", scope="local")
        acc[0] = 0.0
        with ib.for_range(0, 8, name="c") as c:
            with ib.if_scope(c * 128 + tx < n):
                acc[0] = acc[0] + ap[c * 128 + tx]
            with ib.else_scope():
                acc[0] = acc[0] + 100.0
            if with_barrier:
                ib.emit(tl.tir.call_intrin("int32", "tir.tvm_storage_sync", "shared"))
        op[tx] = acc[0]
        return ib.get()

    Y = te.extern([(128,)], [A], lambda ins, outs: ir(ins[0], outs[0]), name="y", dtype="float32")
    return A, Y, te.create_schedule(Y.op)


def test_a_loop_holding_a_barrier_is_not_cut_at_a_thread_dependent_guard(rng):
    # Cut at (999 - threadIdx.x) // 128 + 1, loop c would run a different number of times in
    # each thread, and its barrier would not be reached by all of them (TVM cuts only at likely
    # guards); without the barrier the cut stays.
    from tensorlang.ir.passes.loop_partition import partition_loops
    from tensorlang.ir.stmt import For, ForKind

    def c_loops(stmt):
        found = []
        post_order_visit(stmt, lambda n: found.append(n) if isinstance(n, For) and n.kind == ForKind.SERIAL
                         and n.loop_var.name == "c" else None)
        return len(found)

    for with_barrier, loops in ((True, 1), (False, 2)):
        A, Y, s = _strided_kernel(with_barrier)
        assert c_loops(partition_loops(_unpartitioned(s, [A, Y]), copy_nests=False)) == loops
    A, Y, s = _strided_kernel(True)
    f = tl.build(s, [A, Y], "cuda -emulate")
    a = random_array(rng, (1000,), "float32")
    y = tl.nd.empty((128,))
    f(tl.nd.array(a), y)
    padded = np.concatenate([a, np.full(8 * 128 - 1000, 100.0, "float32")])
    np.testing.assert_allclose(y.numpy(), padded.reshape(8, 128).sum(axis=0), rtol=1e-5)
    from tensorlang.target.cuda.nvrtc import nvrtc_available
    if nvrtc_available():
        tl.build(s, [A, Y], "cuda -arch=sm_90")  # NVRTC compiles the kernel
