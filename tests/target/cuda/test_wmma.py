"""Tensor cores (TVM's wmma intrinsics and scopes), as TVM 0.12 schedules use them: tensorized
fragment loads, products and stores, run in ``cuda -emulate`` against numpy and compiled by NVRTC."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import BuildError, ExprError
from tensorlang.target.cuda import nvrtc

from .helpers import needs_nvrtc

rng = np.random.default_rng()
needs_mma_header = pytest.mark.skipif(not nvrtc.nvrtc_available() or not nvrtc.has_header("mma.h"),
                                      reason="NVRTC or CUDA's mma.h not found")


# --- the intrinsics, written as TVM users write them (topi/cuda/tensor_intrin.py's shape) ---------

def load_intrin(frag, shape, scope, layout, dtype="float16"):
    """Load a (rows, cols) tile (its stride symbolic) from shared memory into a fragment."""
    rows, cols = shape
    A = te.placeholder(shape, name="A", dtype=dtype)
    BA = tvm.tir.decl_buffer(A.shape, A.dtype, scope="shared", strides=[te.var("s1"), 1],
                             data_alignment=32, offset_factor=8)
    C = te.compute(shape, lambda i, j: A[i, j], name="C")
    BC = tvm.tir.decl_buffer(C.shape, C.dtype, scope=scope, data_alignment=32, offset_factor=rows * cols)

    def intrin_func(ins, outs):
        ib = tvm.tir.ir_builder.create()
        BA, BC = ins[0], outs[0]
        m, n, k = frag
        ib.emit(tvm.tir.call_intrin("handle", "tir.tvm_load_matrix_sync", BC.data, m, n, k,
                                    BC.elem_offset // (rows * cols), BA.access_ptr("r"), BA.strides[0], layout))
        return ib.get()
    return te.decl_tensor_intrin(C.op, intrin_func, binds={A: BA, C: BC})


def gemm_intrin(m, n, k, b_transposed):
    A = te.placeholder((m, k), name="A", dtype="float16")
    B = te.placeholder((n, k) if b_transposed else (k, n), name="B", dtype="float16")
    kk = te.reduce_axis((0, k), name="k")
    C = te.compute((m, n), lambda i, j: te.sum(
        A[i, kk].astype("float32") * (B[j, kk] if b_transposed else B[kk, j]).astype("float32"), axis=kk), name="C")
    BA = tvm.tir.decl_buffer(A.shape, A.dtype, name="BA", scope="wmma.matrix_a", offset_factor=m * k)
    BB = tvm.tir.decl_buffer(B.shape, B.dtype, name="BB", scope="wmma.matrix_b", offset_factor=n * k)
    BC = tvm.tir.decl_buffer(C.shape, C.dtype, name="BC", scope="wmma.accumulator", offset_factor=m * n)

    def intrin_func(ins, outs):
        BA, BB = ins
        (BC,) = outs

        def init():
            ib = tvm.tir.ir_builder.create()
            ib.emit(tvm.tir.call_intrin("handle", "tir.tvm_fill_fragment", BC.data, m, n, k,
                                        BC.elem_offset // (m * n), 0.0))
            return ib.get()

        def update():
            ib = tvm.tir.ir_builder.create()
            ib.emit(tvm.tir.call_intrin("handle", "tir.tvm_mma_sync", BC.data, BC.elem_offset // (m * n),
                                        BA.data, BA.elem_offset // (m * k), BB.data, BB.elem_offset // (n * k),
                                        BC.data, BC.elem_offset // (m * n)))
            return ib.get()
        return update(), init(), update()
    return te.decl_tensor_intrin(C.op, intrin_func, binds={A: BA, B: BB, C: BC})


def store_intrin(frag, named=None):
    """Store an m x n accumulator fragment; the call names the shape ``named`` (default: frag)."""
    m, n, k = frag
    A = te.placeholder((m, n), name="A", dtype="float32")
    BA = tvm.tir.decl_buffer(A.shape, A.dtype, scope="wmma.accumulator", offset_factor=m * n)
    C = te.compute((m, n), lambda i, j: A[i, j], name="C")
    BC = tvm.tir.decl_buffer(C.shape, C.dtype, scope="global", strides=[te.var("s1"), 1], offset_factor=8)

    def intrin_func(ins, outs):
        ib = tvm.tir.ir_builder.create()
        BA, BC = ins[0], outs[0]
        ib.emit(tvm.tir.call_intrin("handle", "tir.tvm_store_matrix_sync", BA.data, *(named or frag),
                                    BA.elem_offset // (m * n), BC.access_ptr("w"), BC.strides[0], "row_major"))
        return ib.get()
    return te.decl_tensor_intrin(C.op, intrin_func, binds={A: BA, C: BC})


def dense_wmma(M, N, K, frag, b_transposed, store_frag=None, warp_tags=("threadIdx.y", "threadIdx.z")):
    """C = A @ B (B given as (N, K) when ``b_transposed``, loaded col_major) on tensor cores: a block
    of 2x2 warps, each computing one m x n fragment of C, staging A and B tiles in shared memory.
    ``store_frag`` makes the store name another shape; ``warp_tags`` bind the warps."""
    m, n, k = frag
    A = te.placeholder((M, K), name="A", dtype="float16")
    B = te.placeholder((N, K) if b_transposed else (K, N), name="B", dtype="float16")
    r = te.reduce_axis((0, K), name="r")
    C = te.compute((M, N), lambda i, j: te.sum(
        A[i, r].astype("float32") * (B[j, r] if b_transposed else B[r, j]).astype("float32"), axis=r), name="C")
    s = te.create_schedule(C.op)
    AS = s.cache_read(A, "shared", [C])
    BS = s.cache_read(B, "shared", [C])
    AF = s.cache_read(AS, "wmma.matrix_a", [C])
    BF = s.cache_read(BS, "wmma.matrix_b", [C])
    CF = s.cache_write(C, "wmma.accumulator")

    i, j = C.op.axis
    io, ii = s[C].split(i, factor=m)
    jo, ji = s[C].split(j, factor=n)
    bi, ty = s[C].split(io, factor=2)
    bj, tz = s[C].split(jo, factor=2)
    s[C].reorder(bi, bj, ty, tz, ii, ji)
    s[C].bind(bi, te.thread_axis("blockIdx.x"))
    s[C].bind(bj, te.thread_axis("blockIdx.y"))
    s[C].bind(ty, te.thread_axis(warp_tags[0]))
    s[C].bind(tz, te.thread_axis(warp_tags[1]))
    s[C].tensorize(ii, store_intrin(frag, store_frag))

    s[CF].compute_at(s[C], tz)
    ci, cj = CF.op.axis
    (ck,) = CF.op.reduce_axis
    ko, ki = s[CF].split(ck, factor=k)
    s[CF].reorder(ko, ci, cj, ki)
    s[CF].tensorize(ci, gemm_intrin(m, n, k, b_transposed))

    for frag_stage, scope, shape, layout in ((AF, "wmma.matrix_a", (m, k), "row_major"),
                                             (BF, "wmma.matrix_b", (n, k) if b_transposed else (k, n),
                                              "col_major" if b_transposed else "row_major")):
        s[frag_stage].compute_at(s[CF], ko)
        s[frag_stage].tensorize(frag_stage.op.axis[0], load_intrin(frag, shape, scope, layout))
    for shared in (AS, BS):
        s[shared].compute_at(s[CF], ko)
        fused = s[shared].fuse(*s[shared].op.axis)
        rest, tx = s[shared].split(fused, factor=32)
        rest, tz2 = s[shared].split(rest, factor=2)
        _, ty2 = s[shared].split(rest, factor=2)
        s[shared].bind(tx, te.thread_axis("threadIdx.x"))
        s[shared].bind(tz2, te.thread_axis("threadIdx.z"))
        s[shared].bind(ty2, te.thread_axis("threadIdx.y"))
    return s, [A, B, C]


def _run_dense(s, args, b_transposed, target="cuda -emulate", tol=1e-4):
    """Build a dense_wmma schedule for ``target`` and check it against numpy on random data."""
    A, B, C = args
    M, K = (int(d) for d in A.shape)
    N = int(C.shape[1])
    f = tvm.build(s, args, target)
    a = rng.uniform(-1, 1, (M, K)).astype("float16")
    b = rng.uniform(-1, 1, (N, K) if b_transposed else (K, N)).astype("float16")
    c = np.full((M, N), np.nan, "float32")
    f(a, b, c)
    want = a.astype("float32") @ (b.T if b_transposed else b).astype("float32")
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol)
    return f


def _check_dense(M, N, K, frag, b_transposed):
    s, args = dense_wmma(M, N, K, frag, b_transposed)
    return _run_dense(s, args, b_transposed)


@pytest.mark.parametrize("frag", [(16, 16, 16), (32, 8, 16), (8, 32, 16)])
@pytest.mark.parametrize("b_transposed", [False, True])
def test_dense_on_tensor_cores_matches_numpy(frag, b_transposed):
    m, n, _ = frag
    _check_dense(4 * m, 4 * n, 48, frag, b_transposed)


@needs_nvrtc
@needs_mma_header
def test_dense_compiles_to_tensor_core_instructions():
    f = _check_dense(64, 64, 32, (16, 16, 16), True)
    source, ptx = f.get_source("cuda"), f.get_source("ptx")
    assert "#include <mma.h>" in source
    assert "nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, half, nvcuda::wmma::col_major>" in source
    assert "wmma.mma.sync" in ptx and "wmma.load.a" in ptx and "wmma.store.d" in ptx
    # The fragment loads read shared memory the block wrote: a barrier between.
    assert source.index("__syncthreads();") < source.index("load_matrix_sync")


def test_tutorial_conv2d_on_tensor_cores_matches_numpy():
    """TVM 0.12's opt_conv_tensorcore.py tutorial (its schedule as written), on a smaller batch."""
    from tests.target.cuda.tutorial_conv_tensorcore import run_tutorial
    a, w, out = run_tutorial(batch_size=64, in_channels=32, out_channels=128, height=6, width=6)
    ap = np.pad(a.astype("float32"), ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0), (0, 0)))
    want = np.zeros(out.shape, "float32")
    for kh in range(3):
        for kw in range(3):
            win = ap[:, kh:kh + out.shape[1], kw:kw + out.shape[2]]
            want += np.einsum("nhwcab,cobd->nhwoad", win, w[kh, kw].astype("float32"))
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-3)


# --- errors --------------------------------------------------------------------------------------

def test_fragment_shapes_that_disagree_are_refused():
    s, args = dense_wmma(64, 64, 32, (16, 16, 16), False, store_frag=(32, 8, 16))
    with pytest.raises(BuildError, match=r"C.wmma.accumulator: used with the shapes \(16, 16, 16\) and "
                                         r"\(32, 8, 16\)"):
        tvm.build(s, args, "cuda -emulate")


def test_unsupported_fragment_shape_is_refused():
    s, args = dense_wmma(64, 64, 32, (16, 16, 8), False)
    with pytest.raises(BuildError, match="has no 16x16x8 shape for float16"):
        tvm.build(s, args, "cuda -emulate")


def test_tensor_core_operation_that_splits_a_warp_is_refused():
    # Warps bound along threadIdx.x: the lanes of one warp would take different fragments.
    s, args = dense_wmma(64, 64, 32, (16, 16, 16), False, warp_tags=("threadIdx.x", "threadIdx.z"))
    with pytest.raises(BuildError, match="splits a warp"):
        tvm.build(s, args, "cuda -emulate")


def test_access_mask_is_checked():
    buf = tvm.tir.decl_buffer((16,), "float32", name="X")
    with pytest.raises(ExprError, match="access_mask"):
        buf.access_ptr("x")
    assert buf.access_ptr(1).args[3].value == 1 and buf.access_ptr("rw").args[3].value == 3


def test_unknown_scope_names_the_known_ones():
    A = te.placeholder((16, 16), name="A", dtype="float16")
    B = te.compute((16, 16), lambda i, j: A[i, j] * 2, name="B")
    s = te.create_schedule(B.op)
    with pytest.raises(tvm.errors.ScheduleError, match="wmma.matrix_a"):
        s.cache_read(A, "wmma.matrix_c", [B])


@pytest.mark.skipif(not tvm.cuda(0).exist, reason="needs a CUDA GPU")
def test_dense_on_the_gpu_matches_numpy():
    """The same kernels on a real GPU's tensor cores (run by benchmarks/gpu_check.sh)."""
    s, args = dense_wmma(128, 64, 64, (16, 16, 16), True)
    _run_dense(s, args, True, target="cuda", tol=1e-3)


def test_double_buffered_tiles_feed_the_fragment_loads():
    """Double-buffered shared tiles: the fragment loads' pointers follow the half being computed
    on (they read the half being fetched before)."""
    s, args = dense_wmma(64, 64, 64, (16, 16, 16), True)
    for st in s.stages:
        if st.op.name.endswith(".shared"):
            st.double_buffer()
    f = _run_dense(s, args, True)
    if nvrtc.nvrtc_available() and nvrtc.has_header("mma.h"):
        assert "cp.async" in f.get_source("ptx")


def test_virtual_threads_get_their_own_fragments():
    """Warps bound to vthread: each virtual thread keeps its own accumulator and B fragments (its
    calls index them), and its products run once per virtual thread."""
    s, args = dense_wmma(64, 64, 64, (16, 16, 16), True, warp_tags=("threadIdx.y", "vthread"))
    _run_dense(s, args, True)


@pytest.mark.parametrize("target", ["cuda -emulate", "cuda"])
def test_a_fragment_stage_that_is_not_tensorized_is_refused(target):
    A = te.placeholder((32, 32), name="A", dtype="float16")
    B = te.compute((32, 32), lambda i, j: A[i, j] * 2, name="B")
    s = te.create_schedule(B.op)
    AF = s.cache_read(A, "wmma.matrix_a", [B])
    i, j = B.op.axis
    s[B].bind(i, te.thread_axis("blockIdx.x"))
    s[B].bind(j, te.thread_axis("threadIdx.x"))
    s[AF].compute_at(s[B], i)
    with pytest.raises(BuildError, match=r"A.wmma.matrix_a \(wmma.matrix_a\) is (written|read) element by element"):
        tvm.build(s, [A, B], target)


def test_a_row_stride_that_is_not_whole_16_byte_units_is_refused():
    """nvcuda::wmma loads need ldm in 16-byte units: shared rows padded to 20 halves (40 bytes)
    would fail on a GPU, so the build refuses them (emulation would have run them)."""
    s, args = dense_wmma(64, 64, 32, (16, 16, 16), False)
    shared = next(st for st in s.stages if st.op.name == "A.shared")
    shared.storage_align(shared.op.axis[0], 19, 20)
    with pytest.raises(BuildError, match=r"row stride 20 of float16 \(40 bytes\) is not a multiple of 16 bytes"):
        tvm.build(s, args, "cuda -emulate")
