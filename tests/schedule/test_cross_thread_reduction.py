"""Cross-thread reductions (a reduce axis bound to threadIdx), store predicates and storage-scope
inference: emulated on the CPU against numpy, and NVRTC-compiled for sm_90 (the emulated
build compiles the same CUDA C)."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import LoweringError, ScheduleError
from tensorlang.target.cuda import nvrtc

EMU = "cuda -emulate -arch=sm_90"
rng = np.random.default_rng()


def _build(s, args, name):
    f = tl.build(s, args, target=EMU, name=name)
    src = f.get_source("cuda")
    if nvrtc.nvrtc_available():  # the emulated build also NVRTC-compiled the CUDA C for sm_90
        assert ".entry" in f.get_source("ptx")
    return f, src


def row_reduce(m, n, threads, kind, rows_per_block=1, thread_tag="threadIdx.x"):
    A = te.placeholder((m, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((m,), lambda i: getattr(te, kind)(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(k, factor=threads)
    if rows_per_block > 1:
        bo, bi = s[B].split(B.op.axis[0], factor=rows_per_block)
        s[B].bind(bo, te.thread_axis("blockIdx.x"))
        s[B].bind(bi, te.thread_axis("threadIdx.y" if thread_tag == "threadIdx.x" else "threadIdx.x"))
    else:
        s[B].bind(B.op.axis[0], te.thread_axis("blockIdx.x"))
    s[B].bind(ki, te.thread_axis(thread_tag))
    return s, [A, B]


@pytest.mark.parametrize("threads,kind,rows,tag,path", [
    (32, "sum", 1, "threadIdx.x", "__shfl_down_sync"),     # one warp
    (128, "max", 1, "threadIdx.x", "__shfl_down_sync"),    # warps, then shared slots
    (16, "min", 4, "threadIdx.x", "__shfl_down_sync"),     # 4 groups of 16 lanes
    (24, "sum", 1, "threadIdx.x", "__syncthreads"),        # not a power of two: shared-memory tree
    (8, "max", 4, "threadIdx.y", "__syncthreads"),         # reduction over threadIdx.y
])
def test_cross_thread_reduction_matches_numpy(threads, kind, rows, tag, path):
    m, n = 37, 1000
    s, args = row_reduce(m, n, threads, kind, rows, tag)
    f, src = _build(s, args, f"reduce_{kind}")
    assert path in src
    a = rng.standard_normal((m, n)).astype(np.float32)
    b = np.full(m, np.nan, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, getattr(np, kind if kind != "sum" else "sum")(a, axis=1), rtol=1e-4, atol=1e-4)


def test_integer_reduction_all_threads_hold_the_result():
    m, n = 9, 300
    A = te.placeholder((m, n), name="A", dtype="int32")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((m,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(k, factor=64)
    tx = te.thread_axis("threadIdx.x")
    s[B].bind(B.op.axis[0], te.thread_axis("blockIdx.x"))
    s[B].bind(ki, tx)
    s[B].set_store_predicate(tx.var.equal(63))  # any thread may write: every one holds the result
    f, _ = _build(s, [A, B], "isum")
    a = rng.integers(-1000, 1000, (m, n)).astype(np.int32)
    b = np.zeros(m, np.int32)
    f(a, b)
    np.testing.assert_array_equal(b, a.sum(axis=1, dtype=np.int32))


def softmax_gpu(m, n, num_thread=64):
    """TVM/TOPI's CUDA softmax schedule: max and sum are cross-thread reductions computed per
    row inside the row's block (so their buffers are inferred shared), one thread writes each."""
    x = te.placeholder((m, n), name="x")
    k1 = te.reduce_axis((0, n), name="k1")
    k2 = te.reduce_axis((0, n), name="k2")
    max_elem = te.compute((m,), lambda i: te.max(x[i, k1], axis=k1), name="max_elem")
    expsum = te.compute((m,), lambda i: te.sum(te.exp(x[i, k2] - max_elem[i]), axis=k2), name="expsum")
    out = te.compute((m, n), lambda i, j: te.exp(x[i, j] - max_elem[i]) / expsum[i], name="softmax")
    s = te.create_schedule(out.op)
    block_x, thread_x = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
    for t in (max_elem, expsum):
        ko, ki = s[t].split(t.op.reduce_axis[0], factor=num_thread)
        s[t].bind(ki, thread_x)
        s[t].compute_at(s[out], out.op.axis[0])
        s[t].set_store_predicate(thread_x.var.equal(0))
    tx, xi = s[out].split(out.op.axis[1], nparts=num_thread)
    s[out].bind(out.op.axis[0], block_x)
    s[out].bind(tx, thread_x)
    return s, [x, out], (max_elem, expsum)


def test_softmax_schedule_matches_numpy():
    m, n = 13, 777
    s, args, (max_elem, expsum) = softmax_gpu(m, n)
    assert s[max_elem].storage_scope() == "shared" and s[expsum].storage_scope() == "shared"
    f, src = _build(s, args, "softmax")
    assert "__shared__" in src and "__shfl_down_sync" in src
    x = rng.standard_normal((m, n)).astype(np.float32) * 4
    y = np.zeros((m, n), np.float32)
    f(x, y)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_storage_scope_inference_under_threads_is_local():
    n = 256
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    C = te.compute((n,), lambda i: B[i] + 1.0, name="C")
    s = te.create_schedule(C.op)
    bx, tx = s[C].split(C.op.axis[0], factor=64)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    s[B].compute_at(s[C], tx)
    assert s[B].storage_scope() == "local"
    f, src = _build(s, [A, C], "scope_local")
    assert "__shared__" not in src and "float B[1];" in src  # one element per thread
    a = rng.standard_normal(n).astype(np.float32)
    c = np.zeros(n, np.float32)
    f(a, c)
    np.testing.assert_allclose(c, a * 2 + 1, rtol=1e-6)
    s[B].set_scope("global")  # an explicit scope wins
    assert s[B].storage_scope() == "global"


def test_reduce_axis_bound_to_block_is_rejected_and_stray_data_axis_is_explained():
    A = te.placeholder((8, 64), name="A")
    k = te.reduce_axis((0, 64), name="k")
    B = te.compute((8,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    with pytest.raises(ScheduleError, match="reduction axis k can only be bound to threadIdx"):
        s[B].bind(k, te.thread_axis("blockIdx.x"))
    ko, ki = s[B].split(k, factor=32)
    s[B].bind(ki, te.thread_axis("threadIdx.x"))
    s[B].reorder(ko, ki, B.op.axis[0])
    with pytest.raises(LoweringError, match="data-parallel axes i must be ordered outside"):
        tl.lower(s, [A, B])
    with pytest.raises(ScheduleError, match="boolean"):
        s[B].set_store_predicate(te.const(1))


def _partial_reduction(threads: int):
    """A row sum whose reduction binds ``threads`` lanes of threadIdx.x while the shared fetch
    of the same kernel binds 32."""
    m, n = 8, 256
    A = te.placeholder((m, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((m,), lambda i: te.sum(A[i, k], axis=k), name="B")
    s = te.create_schedule(B.op)
    AS = s.cache_read(A, "shared", [B])
    _, ki = s[B].split(s[B].op.reduce_axis[0], factor=threads)
    s[B].bind(B.op.axis[0], te.thread_axis("blockIdx.x"))
    s[B].bind(ki, te.thread_axis("threadIdx.x"))
    s[AS].compute_at(s[B], B.op.axis[0])
    _, tx = s[AS].split(s[AS].fuse(*s[AS].op.axis), factor=32)
    s[AS].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B]


@pytest.mark.parametrize("threads", [16, 24])  # shuffles of half a warp; a shared-memory tree
def test_a_reduction_over_part_of_the_thread_dimension_runs_over_all_of_it(threads):
    # 16 lanes of a 32-lane warp under 'if threadIdx.x < 16' would call __shfl_down_sync with a
    # full mask (a hang on a GPU): it was refused ("does not span"); now every lane takes part,
    # those past the reduction's extent adding nothing, as TVM guards them.
    s, args = _partial_reduction(threads)
    f, src = _build(s, args, "part")
    a = rng.standard_normal((8, 256)).astype(np.float32)
    b = np.full(8, np.nan, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, a.sum(axis=1), rtol=1e-4, atol=1e-4)
    tl.build(s, args, target="cuda -arch=sm_90")  # the CUDA build compiles too


def test_reduction_over_the_whole_thread_dimension_with_a_shared_fetch():
    s, args = _partial_reduction(32)
    f, _ = _build(s, args, "row_sum")
    a = rng.standard_normal((8, 256)).astype(np.float32)
    b = np.full(8, np.nan, np.float32)
    f(a, b)
    np.testing.assert_allclose(b, a.sum(axis=1), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scope", ["local", None])
def test_a_local_result_is_written_by_every_thread_that_reads_it(scope):
    # B is reduced across threadIdx.x at C's block loop and read by every one of those threads: in
    # local storage each thread reads its own copy, so each must write it (only thread 0 did: NaN)
    n, m = 8, 64
    A = te.placeholder((n, m), name="A")
    k = te.reduce_axis((0, m), "k")
    B = te.compute((n,), lambda i: te.sum(A[i, k], axis=k), name="B")
    C = te.compute((n,), lambda i: B[i] * 2.0, name="C")
    s = te.create_schedule(C.op)
    s[C].bind(C.op.axis[0], te.thread_axis("blockIdx.x"))
    s[B].compute_at(s[C], C.op.axis[0])
    if scope:
        s[B].set_scope(scope)
    ko, ki = s[B].split(k, factor=32)
    s[B].bind(ki, te.thread_axis("threadIdx.x"))
    f, _ = _build(s, [A, C], "local_result")
    a, c = rng.standard_normal((n, m)).astype("float32"), np.zeros(n, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a.sum(1) * 2, rtol=1e-4, atol=1e-4)


def _reduce_under_consumer_threads(m, n, rows, predicates):
    """TVM's test_rfactor_elemwise_threads: the row sums computed at the consumer's threadIdx.y
    loop, the reduction across threadIdx.x."""
    A = te.placeholder((m, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((m,), lambda i: te.sum(A[i, k], axis=k), name="B")
    C = te.compute((m,), lambda i: B[i] + 1, name="C")
    s = te.create_schedule(C.op)
    bx, ty = s[C].split(C.op.axis[0], factor=rows)
    s[B].compute_at(s[C], ty)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(ty, te.thread_axis("threadIdx.y"))
    tx = te.thread_axis("threadIdx.x")
    s[B].bind(s[B].op.reduce_axis[0], tx)
    if predicates:
        s[B].set_store_predicate(tx.var.equal(0))
        s[C].set_store_predicate(tx.var.equal(0))  # tx is the kernel's through B
    return s, [A, C]


@pytest.mark.parametrize("m,n,rows", [(8, 64, 4), (8, 33, 4), (12, 128, 3), (10, 100, 16), (8, 32, 4)])
@pytest.mark.parametrize("predicates", [False, True])
def test_reduction_computed_at_a_consumer_thread_loop_keeps_rows_apart(m, n, rows, predicates):
    # The consumer's threadIdx.y threads each reduce their own row: each needs its own shared
    # slots (all rows got the last row's sum), and the predicates name a thread index that
    # only the reduction binds (it was refused as unbound).
    s, args = _reduce_under_consumer_threads(m, n, rows, predicates)
    f, _ = _build(s, args, "rows")
    a = rng.standard_normal((m, n)).astype("float32")
    c = np.full(m, np.nan, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a.sum(axis=1) + 1, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n,rows", [(48, 4), (100, 4), (7, 2), (64, 4)])
def test_reduction_at_the_block_loop_of_a_consumer_binding_threadidx_y_inside(n, rows):
    # The consumer binds threadIdx.y inside the block loop B is computed at: every y thread ran
    # B's shared-memory tree in the same slots (sums came out 400x too large).
    m = 8
    A = te.placeholder((m, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((m,), lambda i: te.sum(A[i, k], axis=k), name="B")
    C = te.compute((m,), lambda i: B[i] * 2.0 + 1.0, name="C")
    s = te.create_schedule(C.op)
    co, ci = s[C].split(C.op.axis[0], factor=rows)
    s[C].bind(co, te.thread_axis("blockIdx.x"))
    s[C].bind(ci, te.thread_axis("threadIdx.y"))
    s[B].compute_at(s[C], co)
    s[B].bind(k, te.thread_axis("threadIdx.x"))
    f, _ = _build(s, [A, C], "block_rows")
    a = rng.standard_normal((m, n)).astype("float32")
    c = np.full(m, np.nan, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a.sum(axis=1) * 2 + 1, rtol=1e-4, atol=1e-4)


def test_a_consumers_own_reductions_in_a_kernel_where_a_producer_binds_threadidx_x():
    # C reduces over threadIdx.y, and as a serial sum, in a kernel whose threadIdx.x comes from
    # B: each x thread ran C's tree in the same slots, and every x thread added into the serial
    # sum's one global element.
    A = te.placeholder((3, 4, 32), name="A")
    k, m = te.reduce_axis((0, 32), name="k"), te.reduce_axis((0, 4), name="m")
    B = te.compute((3, 4), lambda i, j: te.sum(A[i, j, k], axis=k), name="B")
    C = te.compute((3,), lambda i: te.sum(B[i, m], axis=m), name="C")
    m2 = te.reduce_axis((0, 4), name="m2")
    D = te.compute((3,), lambda i: te.sum(B[i, m2] * 2.0, axis=m2), name="D")
    rng_data = rng.standard_normal((3, 4, 32)).astype("float32")
    want = rng_data.sum(axis=2).sum(axis=1)
    for out, ty_reduce, scale in ((C, True, 1.0), (D, False, 2.0)):
        s = te.create_schedule(out.op)
        tx = te.thread_axis("threadIdx.x")
        s[out].bind(out.op.axis[0], te.thread_axis("blockIdx.x"))
        if ty_reduce:
            s[out].bind(s[out].op.reduce_axis[0], te.thread_axis("threadIdx.y"))
        s[B].compute_at(s[out], out.op.axis[0])
        s[B].bind(s[B].op.reduce_axis[0], tx)
        f, _ = _build(s, [A, out], out.op.name)
        got = np.full(3, np.nan, "float32")
        f(rng_data, got)
        np.testing.assert_allclose(got, want * scale, rtol=1e-4, atol=1e-4)


def test_a_store_predicate_on_a_local_result_still_leaves_every_thread_its_copy():
    # tx == 0 on a result held in local storage left the other threads' copies unwritten, and
    # the consumer (no predicate) stored them: NaN.
    m, n = 8, 64
    A = te.placeholder((m, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((m,), lambda i: te.sum(A[i, k], axis=k), name="B")
    C = te.compute((m,), lambda i: B[i] + 1.0, name="C")
    s = te.create_schedule(C.op)
    s[C].bind(C.op.axis[0], te.thread_axis("blockIdx.x"))
    s[B].compute_at(s[C], C.op.axis[0])
    tx = te.thread_axis("threadIdx.x")
    s[B].bind(k, tx)
    s[B].set_scope("local")
    s[B].set_store_predicate(tx.var.equal(0))
    f, _ = _build(s, [A, C], "local_pred")
    a = rng.standard_normal((m, n)).astype("float32")
    c = np.full(m, np.nan, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a.sum(axis=1) + 1, rtol=1e-4, atol=1e-4)


def test_a_reduction_over_threadidx_y_whose_producer_inside_it_binds_threadidx_x():
    # B (computed inside C's threadIdx.y reduction) binds threadIdx.x: C's shared tree ran in
    # every x thread with the same slots.
    A = te.placeholder((16, 2, 16), name="A")
    k = te.reduce_axis((0, 16), name="k")
    B = te.compute((16, 2), lambda i, j: te.min(A[i, j, k], axis=k), name="B")
    m = te.reduce_axis((0, 2), name="m")
    C = te.compute((16,), lambda i: te.sum(B[i, m], axis=m), name="C")
    s = te.create_schedule(C.op)
    s[B].bind(s[B].op.reduce_axis[0], te.thread_axis("threadIdx.x"))
    s[C].bind(C.op.axis[0], te.thread_axis("blockIdx.x"))
    s[C].bind(s[C].op.reduce_axis[0], te.thread_axis("threadIdx.y"))
    s[B].compute_at(s[C], s[C].op.reduce_axis[0])
    s[B].set_scope("local")
    f, _ = _build(s, [A, C], "inner_x")
    a = rng.standard_normal((16, 2, 16)).astype("float32")
    c = np.full(16, np.nan, "float32")
    f(a, c)
    np.testing.assert_allclose(c, a.min(axis=2).sum(axis=1), rtol=1e-5, atol=1e-5)


def test_a_serial_reduction_updated_by_thread_0_keeps_its_own_store_predicate():
    # D's updates run in thread 0 along B's threadIdx.x; its predicate on its own block axis must
    # still decide which blocks store.
    A = te.placeholder((3, 4, 32), name="A")
    k, m = te.reduce_axis((0, 32), name="k"), te.reduce_axis((0, 4), name="m")
    B = te.compute((3, 4), lambda i, j: te.sum(A[i, j, k], axis=k), name="B")
    D = te.compute((3,), lambda i: te.sum(B[i, m], axis=m), name="D")
    s = te.create_schedule(D.op)
    bx = te.thread_axis("blockIdx.x")
    s[D].bind(D.op.axis[0], bx)
    s[B].compute_at(s[D], D.op.axis[0])
    s[B].bind(s[B].op.reduce_axis[0], te.thread_axis("threadIdx.x"))
    s[D].set_store_predicate(bx.var < 2)
    f, _ = _build(s, [A, D], "own_pred")
    a = rng.standard_normal((3, 4, 32)).astype("float32")
    d = np.full(3, -7.0, "float32")
    f(a, d)
    np.testing.assert_allclose(d[:2], a.sum(axis=(1, 2))[:2], rtol=1e-4, atol=1e-4)
    assert d[2] == -7.0


def test_a_thread_bound_spatial_axis_inside_the_reduction_loop_is_no_cross_thread_reduction():
    # Each thread runs the whole k loop for its own column: nothing crosses threads.  This
    # order was refused as "a cross-thread reduction" (only reduce axes bound to threads are).
    A = te.placeholder((64, 48), name="A")
    B = te.placeholder((48, 64), name="B")
    k = te.reduce_axis((0, 48), name="k")
    C = te.compute((64, 64), lambda y, x: te.sum(A[y, k] * B[k, x], axis=k), name="C")
    s = te.create_schedule(C.op)
    y, x = s[C].op.axis
    s[C].reorder(y, k, x)
    s[C].bind(y, te.thread_axis("blockIdx.x"))
    s[C].bind(x, te.thread_axis("threadIdx.x"))
    f, src = _build(s, [A, B, C], "spatial_thread_inside_k")
    assert "__shfl" not in src and "__syncthreads" not in src
    a = rng.standard_normal((64, 48)).astype("float32")
    b = rng.standard_normal((48, 64)).astype("float32")
    c = np.empty((64, 64), "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)
