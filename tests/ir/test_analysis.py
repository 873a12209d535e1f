"""tir.analysis.verify_gpu_code reads each kernel's threads, vthreads, shared/local bytes and
widest vector access from the lowered function, and answers each limit on both sides of it."""

import numpy as np
import pytest
from tensorlang.tir.analysis import expr_deep_equal, verify_gpu_code

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import ArgumentError


def _gpu_matmul():
    """A 64x64 matmul: blocks of 16x16 outputs, 2x2 vthreads, 4x4 threads each computing a
    2x2 local tile; 16x64 floats of each input staged in shared memory; float4 stores."""
    n = 64
    A, B = te.placeholder((n, n), name="A"), te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    s = te.create_schedule(C.op)
    AS, BS = s.cache_read(A, "shared", [C]), s.cache_read(B, "shared", [C])
    CL = s.cache_write(C, "local")
    i, j = s[C].op.axis
    bi, ii = s[C].split(i, factor=16)
    bj, jj = s[C].split(j, factor=16)
    vi, ii = s[C].split(ii, nparts=2)
    vj, jj = s[C].split(jj, nparts=2)
    ti, ii = s[C].split(ii, nparts=4)
    tj, jj = s[C].split(jj, nparts=4)
    s[C].reorder(bi, bj, vi, vj, ti, tj, ii, jj)
    s[C].bind(bi, te.thread_axis("blockIdx.y"))
    s[C].bind(bj, te.thread_axis("blockIdx.x"))
    s[C].bind(vi, te.thread_axis("vthread"))
    s[C].bind(vj, te.thread_axis("vthread"))
    s[C].bind(ti, te.thread_axis("threadIdx.y"))
    s[C].bind(tj, te.thread_axis("threadIdx.x"))
    s[CL].compute_at(s[C], tj)
    for T in (AS, BS):
        s[T].compute_at(s[C], bj)
    return s, [A, B, C]


def test_verify_gpu_code_answers_each_limit_on_both_sides():
    s, args = _gpu_matmul()
    f = tvm.lower(s, args)
    # lowering has interleaved the 2x2 vthreads: their tiles make the local cache 16 floats
    used = {"max_threads_per_block": 16, "max_thread_x": 4, "max_thread_y": 4,
            "max_shared_memory_per_block": 2 * 16 * 64 * 4, "max_local_memory_per_block": 16 * 4}
    assert verify_gpu_code(f, used)
    for key, value in used.items():
        assert not verify_gpu_code(f, {**used, key: value - 1}), key
    with pytest.raises(ArgumentError, match="unknown constraint"):
        verify_gpu_code(f, {"max_threads": 1})
    # the schedule it judged runs, and computes the product
    mod = tvm.build(s, args, "cuda -emulate")
    rng = np.random.default_rng()
    a, b = rng.standard_normal((64, 64)).astype("float32"), rng.standard_normal((64, 64)).astype("float32")
    c = np.empty((64, 64), "float32")
    mod(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_vector_accesses_count_their_bytes():
    A = te.placeholder((256,), name="A")
    B = te.compute((256,), lambda i: A[i] * 2, name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=32)
    tx, vec = s[B].split(tx, factor=4)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    s[B].vectorize(vec)
    f = tvm.lower(s, [A, B])
    assert verify_gpu_code(f, {"max_vector_bytes": 16, "max_threads_per_block": 8})
    assert not verify_gpu_code(f, {"max_vector_bytes": 8})


def test_expr_deep_equal():
    x, y = te.var("x"), te.var("y")
    assert expr_deep_equal(x * 2 + y, x * 2 + y) and not expr_deep_equal(x * 2 + y, y * 2 + x)
