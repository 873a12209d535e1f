"""A thread-private buffer ('local' registers, or a tensor-core fragment of one warp) read by another
thread than the one that wrote it is garbage on a GPU: ``cuda`` builds refuse such schedules
(ir.passes.check_thread_private), and the correct schedules next to them still build and compute."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import BuildError

from .test_wmma import gemm_intrin, load_intrin, store_intrin

rng = np.random.default_rng()
N = 32
TARGET = "cuda -emulate"


def _axis(tag):
    return te.thread_axis(tag)


def _fetch_into_local(reversed_read, bind_fetch=True, inside=False):
    """C[i, j] = A[i, j] + B[i, j'] with B staged in a local cache per block row; its fetch bound
    to threadIdx.x (cooperatively) when ``bind_fetch``; j' = N-1-j when ``reversed_read``."""
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    C = te.compute((N, N), lambda i, j: A[i, j] + B[i, N - 1 - j if reversed_read else j], name="C")
    s = te.create_schedule(C.op)
    BL = s.cache_read(B, "local", [C])
    i, j = s[C].op.axis
    s[C].bind(i, _axis("blockIdx.x"))
    s[C].bind(j, _axis("threadIdx.x"))
    s[BL].compute_at(s[C], j if inside else i)
    if bind_fetch:
        s[BL].bind(s[BL].op.axis[1], _axis("threadIdx.x"))
    a, b = rng.standard_normal((N, N), dtype="float32"), rng.standard_normal((N, N), dtype="float32")
    return s, [A, B, C], [a, b], a + (b[:, ::-1] if reversed_read else b)


def _local_cache_write(split_factor):
    """C = 2 A through a local cache written per block row, its row split by ``split_factor``
    and the outer part bound to threadIdx.x; C's copy-out binds each element to its own thread."""
    A = te.placeholder((N, N), name="A")
    C = te.compute((N, N), lambda i, j: A[i, j] * 2, name="C")
    s = te.create_schedule(C.op)
    CL = s.cache_write(C, "local")
    i, j = s[C].op.axis
    s[C].bind(i, _axis("blockIdx.x"))
    s[C].bind(j, _axis("threadIdx.x"))
    s[CL].compute_at(s[C], i)
    cjo, _ = s[CL].split(s[CL].op.axis[1], factor=split_factor)
    s[CL].bind(cjo, _axis("threadIdx.x"))
    a = rng.standard_normal((N, N), dtype="float32")
    return s, [A, C], [a], 2 * a


def _matmul_local_accumulator(bind_rows):
    """C = A @ B with an 8x8 tile per block, accumulated in a local cache that binds its rows
    (``bind_rows``) or its columns to threadIdx.x; the copy-out binds the columns."""
    A = te.placeholder((N, N), name="A")
    B = te.placeholder((N, N), name="B")
    k = te.reduce_axis((0, N), name="k")
    C = te.compute((N, N), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    CL = s.cache_write(C, "local")
    i, j = s[C].op.axis
    io, ii = s[C].split(i, factor=8)
    jo, ji = s[C].split(j, factor=8)
    s[C].reorder(io, jo, ii, ji)
    block = s[C].fuse(io, jo)
    s[C].bind(block, _axis("blockIdx.x"))
    s[C].bind(ji, _axis("threadIdx.x"))
    s[CL].compute_at(s[C], block)
    ci, cj = s[CL].op.axis
    s[CL].bind(ci if bind_rows else cj, _axis("threadIdx.x"))
    a, b = rng.standard_normal((N, N), dtype="float32"), rng.standard_normal((N, N), dtype="float32")
    return s, [A, B, C], [a, b], a @ b


def _local_compute_stage(reversed_read):
    """X = 2 A in a 'local' stage computed per block row with its loop bound to threadIdx.x,
    read by C at column j (or N-1-j)."""
    A = te.placeholder((N, N), name="A")
    X = te.compute((N, N), lambda i, j: A[i, j] * 2, name="X")
    C = te.compute((N, N), lambda i, j: X[i, N - 1 - j if reversed_read else j] + 1, name="C")
    s = te.create_schedule(C.op)
    s[X].set_scope("local")
    i, j = s[C].op.axis
    s[C].bind(i, _axis("blockIdx.x"))
    s[C].bind(j, _axis("threadIdx.x"))
    s[X].compute_at(s[C], i)
    s[X].bind(s[X].op.axis[1], _axis("threadIdx.x"))
    a = rng.standard_normal((N, N), dtype="float32")
    return s, [A, C], [a], 2 * (a[:, ::-1] if reversed_read else a) + 1


def _hand_written_scratch(reversed_read):
    """An IR-builder kernel (it never passes through lowering): each of 32 threads doubles one
    element into a local scratch array and reads element t (or 31-t) of it."""
    def body(ins, outs):
        ib = tvm.tir.ir_builder.create()
        a, c = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        tx = te.thread_axis("threadIdx.x")
        ib.scope_attr(tx, "thread_extent", N)
        tmp = ib.allocate("float32", (N,), name="tmp", scope="local")
        tmp[tx] = a[tx] * 2.0
        c[tx] = tmp[N - 1 - tx] if reversed_read else tmp[tx]
        return ib.get()
    A = te.placeholder((N,), name="A")
    C = te.extern((N,), [A], body, name="C", dtype="float32")
    a = rng.standard_normal(N, dtype="float32")
    return te.create_schedule(C.op), [A, C], [a], 2 * (a[::-1] if reversed_read else a)


def _run(case):
    s, args, inputs, want = case
    f = tvm.build(s, args, TARGET)
    out = np.full(want.shape, np.nan, "float32")
    f(*inputs, out)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)


WRONG = {
    # each thread fetches one element of the row into its own registers, and reads another's
    "cooperative fetch into local": (lambda: _fetch_into_local(reversed_read=True), "B.local"),
    # thread t writes elements 8t..8t+7 of its own copy; thread t reads element t
    "local cache write split otherwise": (lambda: _local_cache_write(split_factor=8), "C.local"),
    # thread t accumulates row t; the copy-out's thread t reads column t
    "local accumulator bound to rows": (lambda: _matmul_local_accumulator(bind_rows=True), "C.local"),
    "local compute stage": (lambda: _local_compute_stage(reversed_read=True), "X"),
}


def test_a_hand_written_kernel_is_checked_too():
    # The scratch is allocated inside the thread loop (one copy per thread by construction):
    # thread t reads element 31-t of its own copy, which only thread 31-t writes (in its copy).
    s, args, _, _ = _hand_written_scratch(reversed_read=True)
    with pytest.raises(BuildError, match=r"buffer tmp \(scope 'local'\) is read by another thread .* element 31 is "
                                         r"written by thread threadIdx.x=31 .* read by thread threadIdx.x=0"):
        tvm.build(s, args, TARGET)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_read_of_another_threads_private_element_is_refused(name):
    make, buf = WRONG[name]
    s, args, _, _ = make()
    with pytest.raises(BuildError) as info:
        tvm.build(s, args, TARGET)
    msg = str(info.value)
    assert f"buffer {buf} (scope 'local') is read by another thread than the one that writes it, " \
           "across threadIdx.x: element " in msg
    assert "is written by thread threadIdx.x=" in msg and "and read by thread threadIdx.x=" in msg
    assert "bound to threadIdx.x" in msg
    assert "Use scope 'shared'" in msg and f"compute_at stage {buf} inside the loop its reader binds to threadIdx.x" \
        in msg


def test_the_refusal_names_the_witness():
    s, args, _, _ = _fetch_into_local(reversed_read=True)
    with pytest.raises(BuildError, match=r"element 31 is written by thread threadIdx.x=31 in `B.local\[\w+\] = B\[.*"
                                         r"and read by thread threadIdx.x=0 in `B.local\[.*\]`"):
        tvm.build(s, args, TARGET)


def test_a_gpu_build_refuses_it_before_compiling():
    s, args, _, _ = _local_compute_stage(reversed_read=True)
    with pytest.raises(BuildError, match=r"buffer X \(scope 'local'\) is read by another thread"):
        tvm.build(s, args, "cuda")


CORRECT = {
    # the cooperative fetch binds each element to the thread that reads it
    "cooperative fetch, same threads": lambda: _fetch_into_local(reversed_read=False),
    # every thread copies the whole row into its own registers (redundant, but right)
    "unbound fetch at the block": lambda: _fetch_into_local(reversed_read=True, bind_fetch=False),
    # TVM's pattern: the local fetch inside the reader's thread loop
    "fetch inside the thread loop": lambda: _fetch_into_local(reversed_read=True, bind_fetch=False, inside=True),
    "local cache write split alike": lambda: _local_cache_write(split_factor=1),
    "local accumulator bound to columns": lambda: _matmul_local_accumulator(bind_rows=False),
    "local compute stage, same threads": lambda: _local_compute_stage(reversed_read=False),
    "hand-written scratch, own element": lambda: _hand_written_scratch(reversed_read=False),
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_schedules_that_keep_private_data_in_its_thread_build_and_compute(name):
    _run(CORRECT[name]())


def test_a_guard_that_reads_memory_leaves_the_buffer_unrefused():
    """A read under a data-dependent condition cannot be placed: not refused (and right here)."""
    A = te.placeholder((N, N), name="A")
    X = te.compute((N, N), lambda i, j: A[i, j] * 2, name="X")
    C = te.compute((N, N), lambda i, j: te.if_then_else(A[i, j] > 0, X[i, j], A[i, j]), name="C")
    s = te.create_schedule(C.op)
    s[X].set_scope("local")
    i, j = s[C].op.axis
    s[C].bind(i, _axis("blockIdx.x"))
    s[C].bind(j, _axis("threadIdx.x"))
    s[X].compute_at(s[C], i)
    s[X].bind(s[X].op.axis[1], _axis("threadIdx.x"))
    a = rng.standard_normal((N, N), dtype="float32")
    _run((s, [A, C], [a], np.where(a > 0, 2 * a, a)))


def _wmma_block_accumulator(warp_tags):
    """C (64x64, as 4x4 tiles of 16x16) = A @ B.T on tensor cores: 2x2 warps per block bound to
    threadIdx.y/z by the store; the accumulator is computed per block, its tile loops bound to
    ``warp_tags`` (None: unbound, every warp computes every fragment)."""
    m = 16
    A = te.placeholder((64, 32), name="A", dtype="float16")
    B = te.placeholder((64, 32), name="B", dtype="float16")
    r = te.reduce_axis((0, 32), name="r")
    C = te.compute((4, 4, m, m), lambda io, jo, ii, ji: te.sum(
        A[io * m + ii, r].astype("float32") * B[jo * m + ji, r].astype("float32"), axis=r), name="C")
    s = te.create_schedule(C.op)
    AS, BS = s.cache_read(A, "shared", [C]), s.cache_read(B, "shared", [C])
    AF, BF = s.cache_read(AS, "wmma.matrix_a", [C]), s.cache_read(BS, "wmma.matrix_b", [C])
    CF = s.cache_write(C, "wmma.accumulator")
    io, jo, ii, ji = C.op.axis
    bi, ty = s[C].split(io, factor=2)
    bj, tz = s[C].split(jo, factor=2)
    s[C].reorder(bi, bj, ty, tz, ii, ji)
    s[C].bind(bi, _axis("blockIdx.x"))
    s[C].bind(bj, _axis("blockIdx.y"))
    s[C].bind(ty, _axis("threadIdx.y"))
    s[C].bind(tz, _axis("threadIdx.z"))
    s[C].tensorize(ii, store_intrin((m, m, m)))
    s[CF].compute_at(s[C], bj)
    cio, cjo, cii, cji = CF.op.axis
    ko, ki = s[CF].split(CF.op.reduce_axis[0], factor=m)
    s[CF].reorder(cio, cjo, ko, cii, cji, ki)
    if warp_tags:
        s[CF].bind(cio, _axis(warp_tags[0]))
        s[CF].bind(cjo, _axis(warp_tags[1]))
    s[CF].tensorize(cii, gemm_intrin(m, m, m, True))
    for frag, scope, layout in ((AF, "wmma.matrix_a", "row_major"), (BF, "wmma.matrix_b", "col_major")):
        s[frag].compute_at(s[CF], ko)
        s[frag].tensorize(frag.op.axis[0], load_intrin((m, m, m), (m, m), scope, layout))
    for shared in (AS, BS):
        s[shared].compute_at(s[C], bj)
        rest, tx = s[shared].split(s[shared].fuse(*s[shared].op.axis), factor=32)
        rest, tz2 = s[shared].split(rest, factor=2)
        _, ty2 = s[shared].split(rest, factor=2)
        s[shared].bind(tx, _axis("threadIdx.x"))
        s[shared].bind(tz2, _axis("threadIdx.z"))
        s[shared].bind(ty2, _axis("threadIdx.y"))
    a = rng.uniform(-1, 1, (64, 32)).astype("float16")
    b = rng.uniform(-1, 1, (64, 32)).astype("float16")
    want = (a.astype("float32") @ b.T.astype("float32")).reshape(4, m, 4, m).transpose(0, 2, 1, 3)
    return s, [A, B, C], [a, b], want


def test_a_fragment_read_by_another_warp_is_refused():
    # The accumulator's warp (y, z) computes tile (z, y); the store's warp (y, z) reads tile (y, z).
    s, args, _, _ = _wmma_block_accumulator(("threadIdx.z", "threadIdx.y"))
    with pytest.raises(BuildError, match=r"buffer C.wmma.accumulator \(scope 'wmma.accumulator'\) is read by "
                                         r"another warp than the one that writes it, across threadIdx.z and "
                                         r"threadIdx.y: fragment \d+ is written by warp \d+ .*tvm_fill_fragment.*"
                                         r"read by warp \d+ .*tvm_store_matrix_sync.*compute_at stage "
                                         r"C.wmma.accumulator inside the loops its reader binds to"):
        tvm.build(s, args, TARGET)


def test_a_block_level_fragment_bound_like_its_reader_builds_and_computes():
    _run(_wmma_block_accumulator(("threadIdx.y", "threadIdx.z")))
