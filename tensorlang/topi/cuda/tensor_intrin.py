"""Tensor-core intrinsics for tensorize, under the names and signatures of TVM's
``topi.cuda.tensor_intrin``: fragment loads from shared memory (``intrin_wmma_load_matrix_A``/
``_W``), the fragment product (``intrin_wmma_gemm``) and the accumulator store
(``intrin_wmma_store_matrix``).

Fragment buffers here are tiles whose rows hold several fragments side by side (the strides
given), so a fragment's number is computed from the tile's element offset and row stride: whole
rows of fragments before it, then the fragments to its left in its row. (TVM's formula,
``offset // (rows * cols) + offset % (rows * cols) // cols``, gives two fragments one number once
a row holds more fragments than a fragment has rows.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from ...te.tensor_intrin import TensorIntrin
from ...tir import call_intrin, decl_buffer, ir_builder


def _fragment_index(buf: Any, rows: int, cols: int) -> PrimExpr:
    """The number of the rows x cols fragment at ``buf`` (a region of a fragment tile): its
    row of fragments times the fragments a row holds, plus the fragments to its left."""
    offset = buf.elem_offset
    stride: Any = buf.strides[0] if buf.strides else 1
    if not buf.strides:
        for d in buf.shape[1:]:
            stride = stride * d
    return offset // (stride * rows) * (stride // cols) + offset % stride // cols


def _copy_intrin(src_scope: str, dst_scope: str, dtype: str, A_shape: Sequence[int], C_shape: Sequence[int],
                 strides_from: Sequence[Any], strides_dst: Sequence[Any], emit: Any) -> TensorIntrin:
    """A tile copied from ``src_scope`` to ``dst_scope``; ``emit(ib, src, dst)`` writes the call."""
    A = te.placeholder(tuple(A_shape), name="A", dtype=dtype)
    BA = decl_buffer(A.shape, A.dtype, scope=src_scope, strides=list(strides_from), data_alignment=32,
                     offset_factor=8)
    C = te.compute(tuple(C_shape), lambda *i: A(*i), name="C")
    BC = decl_buffer(C.shape, C.dtype, scope=dst_scope, strides=list(strides_dst), data_alignment=32,
                     offset_factor=8)

    def intrin_func(ins: Any, outs: Any) -> Any:
        ib = ir_builder.create()
        emit(ib, ins[0], outs[0])
        return ib.get()
    return te.decl_tensor_intrin(C.op, intrin_func, binds={A: BA, C: BC})


def _load_intrin(scope: str, strides_dst: Sequence[Any], strides_from: Sequence[Any], shape: Sequence[int],
                 layout: str, A_shape: Sequence[int], C_shape: Sequence[int], in_dtype: str) -> TensorIntrin:
    m, n, k = shape
    rows, cols = (m, k) if scope == "wmma.matrix_a" else (n, k) if layout == "col_major" else (k, n)

    def emit(ib: Any, src: Any, dst: Any) -> None:
        ib.emit(call_intrin("handle", "tir.tvm_load_matrix_sync", dst.data, m, n, k,
                            _fragment_index(dst, rows, cols), src.access_ptr("r"), strides_from[0],
                            layout))
    return _copy_intrin("shared", scope, in_dtype, A_shape, C_shape, strides_from, strides_dst, emit)


def intrin_wmma_load_matrix_A(strides_dst: Sequence[Any], strides_from: Sequence[Any], shape: Sequence[int],
                              layout: str, A_shape: Sequence[int], C_shape: Sequence[int],
                              in_dtype: str) -> TensorIntrin:
    """Load an m x k tile of shared memory (row stride ``strides_from[0]``) into a matrix_a fragment."""
    return _load_intrin("wmma.matrix_a", strides_dst, strides_from, shape, layout, A_shape, C_shape, in_dtype)


def intrin_wmma_load_matrix_W(strides_dst: Sequence[Any], strides_from: Sequence[Any], shape: Sequence[int],
                              layout: str, A_shape: Sequence[int], C_shape: Sequence[int],
                              in_dtype: str) -> TensorIntrin:
    """Load a tile of shared memory into a matrix_b fragment: k x n when ``layout`` is row_major,
    n x k (a transposed weight, as dense's) when it is col_major."""
    return _load_intrin("wmma.matrix_b", strides_dst, strides_from, shape, layout, A_shape, C_shape, in_dtype)


def intrin_wmma_gemm(AL_gemm: Tensor, WL_gemm: Tensor, CL_compute: Tensor, strides_A: Sequence[Any],
                     strides_W: Sequence[Any], strides_Conv: Sequence[Any], shape: Sequence[int]) -> TensorIntrin:
    """``CL_compute`` (an m x n sum over k of AL_gemm and WL_gemm products) as tvm_mma_sync, its
    reduction initialised with tvm_fill_fragment(0)."""
    m, n, k = shape
    BA = decl_buffer(AL_gemm.shape, AL_gemm.dtype, name="BA", scope="wmma.matrix_a", data_alignment=32,
                     offset_factor=8, strides=list(strides_A))
    BB = decl_buffer(WL_gemm.shape, WL_gemm.dtype, name="BB", scope="wmma.matrix_b", data_alignment=32,
                     offset_factor=8, strides=list(strides_W))
    BC = decl_buffer(CL_compute.shape, CL_compute.dtype, name="BC", scope="wmma.accumulator", data_alignment=32,
                     offset_factor=8, strides=list(strides_Conv))
    b_rows, b_cols = (int(WL_gemm.shape[0]), int(WL_gemm.shape[1]))

    def intrin_func(ins: Any, outs: Any) -> Any:
        a, b = ins
        (c,) = outs
        ia = _fragment_index(a, m, k)
        ib_ = _fragment_index(b, b_rows, b_cols)
        ic = _fragment_index(c, m, n)

        def fill() -> Any:
            ib = ir_builder.create()
            ib.emit(call_intrin("handle", "tir.tvm_fill_fragment", c.data, m, n, k, ic, 0.0))
            return ib.get()

        def mma() -> Any:
            ib = ir_builder.create()
            ib.emit(call_intrin("handle", "tir.tvm_mma_sync", c.data, ic, a.data, ia, b.data, ib_, c.data, ic))
            return ib.get()
        return mma(), fill(), mma()
    return te.decl_tensor_intrin(CL_compute.op, intrin_func, binds={AL_gemm: BA, WL_gemm: BB, CL_compute: BC})


def intrin_wmma_store_matrix(strides_dst: Sequence[Any], strides_from: Sequence[Any], shape: Sequence[int],
                             out_dtype: str, A_shape: Sequence[int], C_shape: Sequence[int]) -> TensorIntrin:
    """Store an m x n accumulator fragment to shared memory (row stride ``strides_dst[0]``)."""
    m, n, k = shape

    def emit(ib: Any, src: Any, dst: Any) -> None:
        ib.emit(call_intrin("handle", "tir.tvm_store_matrix_sync", src.data, m, n, k,
                            _fragment_index(src, m, n), dst.access_ptr("w"), strides_dst[0],
                            "row_major"))
    return _copy_intrin("wmma.accumulator", "shared", out_dtype, A_shape, C_shape, strides_from, strides_dst, emit)


__all__ = ["intrin_wmma_load_matrix_A", "intrin_wmma_load_matrix_W", "intrin_wmma_gemm", "intrin_wmma_store_matrix"]
