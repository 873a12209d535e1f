"""Dense on tensor cores: the AutoTVM template ``dense_tensorcore.cuda`` under TVM's names
(``dense_tensorcore``, ``schedule_dense_tensorcore``, ``dense_tensorcore_cuda``).

A block computes a (block_row_warps x warp_row_tiles x wmma_m) by (block_col_warps x
warp_col_tiles x wmma_n) tile of the output; each warp keeps warp_row_tiles x warp_col_tiles
accumulator fragments. K advances chunk x wmma_k at a time through shared-memory copies of the data
and weight tiles (rows padded by ``offset`` to spread shared-memory banks); the accumulators go
back through shared memory (rows padded by ``offsetCS``) so that the global stores are coalesced
vectors of ``vec`` elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...autotune.space import InstantiationError
from ...errors import ScheduleError
from ...ir.wmma import ACCUMULATORS
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import tag
from ..utils import get_const_tuple, schedule_tagged
from .tensor_intrin import (
    intrin_wmma_gemm,
    intrin_wmma_load_matrix_A,
    intrin_wmma_load_matrix_W,
    intrin_wmma_store_matrix,
)

# (m, n) of the fragment for each wmma_m, k being 16: the shapes nvcuda::wmma has for 16-bit and 8-bit inputs.
WMMA_N = {16: 16, 8: 32, 32: 8}
INPUT_DTYPES = ("float16", "int8", "uint8")


def check_shape(batch: int, in_dim: int, out_dim: int, where: str) -> None:
    """(batch, in_dim, out_dim) must be constant multiples of a fragment shape (m, k, n)."""
    symbolic = [f"{name} = {v}" for name, v in (("batch", batch), ("in_dim", in_dim), ("out_dim", out_dim))
                if not isinstance(v, int)]
    if symbolic:
        raise ScheduleError(f"{where}: tensor cores need constant shapes, got {', '.join(symbolic)}")
    if in_dim % 16 or not any(batch % m == 0 and out_dim % n == 0 for m, n in WMMA_N.items()):
        raise ScheduleError(f"{where}: (batch, in_dim, out_dim) = ({batch}, {in_dim}, {out_dim}) must be multiples of "
                            "(16, 16, 16), (32, 16, 8) or (8, 16, 32) for tensor cores")


def check_accumulator(in_dtype: str, out_dtype: str, where: str) -> None:
    """``out_dtype`` must be a type tensor cores sum ``in_dtype`` products in (the build would
    refuse the fragments later, without naming the operator's argument)."""
    allowed = ACCUMULATORS[in_dtype]
    if out_dtype not in allowed:
        raise ScheduleError(f"{where}: tensor cores sum {in_dtype} products in {' or '.join(allowed)}, not "
                            f"{out_dtype}; pass out_dtype={allowed[-1]!r}")


OPERAND_COPY = "tensorcore_operand_copy"


def distinct_operand(data: Tensor, weight: Tensor) -> Tensor:
    """``weight``, or a copy of it when it is ``data`` itself (``A @ A.T``): cache_read moves every
    read of a tensor to one shared tile, and the two operands need a tile each. The schedule
    inlines the copy into the weight's tile."""
    if weight is not data:
        return weight
    return te.compute(weight.shape, lambda *i: weight(*i), name=f"{weight.op.name}_as_weight", tag=OPERAND_COPY)


def dense_tensorcore_cuda(data: Tensor, weight: Tensor, bias: Tensor | None = None,
                          out_dtype: str | None = None) -> Tensor:
    """``data @ weight.T (+ bias)`` for the tensor-core schedule: float16, int8 or uint8 inputs of one
    dtype, products summed in ``out_dtype`` (default: the inputs' dtype; pass "float32" for
    float16 inputs to sum in float32)."""
    out_dtype = out_dtype or str(data.dtype)
    batch, in_dim = get_const_tuple(data.shape)
    out_dim, w_in = get_const_tuple(weight.shape)
    if str(data.dtype) != str(weight.dtype) or str(data.dtype) not in INPUT_DTYPES:
        raise ScheduleError(f"dense_tensorcore: data and weight must both be float16, int8 or uint8, got "
                            f"{data.dtype} and {weight.dtype}")
    if w_in != in_dim:
        raise ScheduleError(f"dense_tensorcore: data has {in_dim} columns but weight has {w_in}")
    check_accumulator(str(data.dtype), out_dtype, "dense_tensorcore")
    check_shape(batch, in_dim, out_dim, "dense_tensorcore")
    weight = distinct_operand(data, weight)
    k = te.reduce_axis((0, in_dim), name="k")
    out = te.compute((batch, out_dim),
                     lambda i, j: te.sum(data[i, k].astype(out_dtype) * weight[j, k].astype(out_dtype), axis=k),
                     name="T_dense", tag="dense_tensorcore")
    if bias is not None:
        out = te.compute((batch, out_dim), lambda i, j: out[i, j] + bias[j].astype(out_dtype), tag=tag.BROADCAST)
    return out


@autotvm.register_topi_compute("dense_tensorcore.cuda")
def dense_tensorcore(cfg: Any, data: Tensor, weight: Tensor, bias: Tensor | None = None,
                     out_dtype: str | None = None) -> Tensor:
    """The tensor-core dense (``dense_tensorcore_cuda``) as an AutoTVM template's compute."""
    return dense_tensorcore_cuda(data, weight, bias, out_dtype)


@autotvm.register_topi_schedule("dense_tensorcore.cuda")
def schedule_dense_tensorcore(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule dense_tensorcore (and the elementwise ops after it) on tensor cores."""
    return schedule_tagged(outs, "dense_tensorcore",
                           lambda s, op, out: schedule_wmma_gemm(cfg, s, op.output(0), "dense_tensorcore"))


def wmma_stages(s: Schedule, data: Tensor, weight: Tensor, out: Tensor) -> tuple[Tensor, ...]:
    """The stages of a tensor-core product ``out`` of ``data`` and ``weight``: their shared-memory
    tiles, the fragments loaded from those, the accumulator, and its shared-memory copy."""
    data_shared = s.cache_read(data, "shared", [out])
    weight_shared = s.cache_read(weight, "shared", [out])
    data_frag = s.cache_read(data_shared, "wmma.matrix_a", [out])
    weight_frag = s.cache_read(weight_shared, "wmma.matrix_b", [out])
    acc = s.cache_write(out, "wmma.accumulator")
    return data_shared, weight_shared, data_frag, weight_frag, acc, s.cache_read(acc, "shared", [out])


def thread_axes() -> dict[str, Any]:
    """The grid's and block's thread axes, by tag."""
    return {t: te.thread_axis(t) for t in ("blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y",
                                           "threadIdx.z")}


def spread_over_block(s: Schedule, stage: Any, axes: Sequence[Any], vec: int, warps: tuple[int, int],
                      threads: dict[str, Any]) -> None:
    """Fuse ``axes`` and spread them over a block of 32 x warps[0] x warps[1] threads
    (threadIdx.x, y, z), ``vec`` consecutive elements (one vector access) a thread."""
    t = s[stage].fuse(*axes)
    t, vi = s[stage].split(t, factor=vec)
    t, tx = s[stage].split(t, factor=32)
    t, ty = s[stage].split(t, factor=warps[0])
    _, tz = s[stage].split(t, factor=warps[1])
    s[stage].bind(tx, threads["threadIdx.x"])
    s[stage].bind(ty, threads["threadIdx.y"])
    s[stage].bind(tz, threads["threadIdx.z"])
    s[stage].vectorize(vi)


def _define_space(cfg: Any, batch: int, out_dim: int, in_dtype: str) -> None:
    for name in ("block_row_warps", "block_col_warps", "warp_row_tiles", "warp_col_tiles"):
        cfg.define_knob(name, [1, 2, 4])
    cfg.define_knob("chunk", [1, 2, 4, 8])
    # Row padding of the shared tiles: 16 bytes (8 halves, 16 int8s), since nvcuda::wmma loads need
    # row strides of whole 16-byte units (TVM pads int8 rows by 8 too, which a GPU refuses).
    cfg.define_knob("offset", [0, 8 if in_dtype == "float16" else 16])
    cfg.define_knob("offsetCS", [0, 8])  # 8 halves or floats: store rows stay 16-byte multiples
    cfg.define_knob("vec", [1, 2, 4, 8])
    # The fragment shapes the output fits, the first a default that always applies.
    cfg.define_knob("wmma_m", [m for m in (16, 32, 8) if batch % m == 0 and out_dim % WMMA_N[m] == 0])


def schedule_wmma_gemm(cfg: Any, s: Schedule, dense: Tensor, name: str) -> None:
    """Schedule ``dense`` (rows x cols, summed over k, of data (..., rows, k) and weight (..., cols, k),
    any leading axis a batch bound to blockIdx.z) on tensor cores with the knobs of ``cfg``."""
    A, W = s[dense].op.input_tensors
    batch, out_dim = get_const_tuple(dense.shape)[-2:]
    in_dim = get_const_tuple(A.shape)[-1]
    check_shape(batch, in_dim, out_dim, f"schedule_{name}")
    in_dtype, out_dtype = str(A.dtype), str(dense.dtype)
    _define_space(cfg, batch, out_dim, in_dtype)
    wmma_m, wmma_k = cfg["wmma_m"].val, 16
    wmma_n = WMMA_N[wmma_m]
    brw, bcw = cfg["block_row_warps"].val, cfg["block_col_warps"].val
    wrt, wct = cfg["warp_row_tiles"].val, cfg["warp_col_tiles"].val
    chunk, vec = cfg["chunk"].val, cfg["vec"].val
    shape = (wmma_m, wmma_n, wmma_k)
    tiles = ((batch, wmma_m * wrt * brw, "batch", "wmma_m x warp_row_tiles x block_row_warps"),
             (out_dim, wmma_n * wct * bcw, "out_dim", "wmma_n x warp_col_tiles x block_col_warps"),
             (in_dim, wmma_k * chunk, "in_dim", "16 x chunk"))
    for size, tile, what, knobs in tiles:
        if size % tile:  # a partial tile would put fragments across the matrix's edge
            raise InstantiationError(f"{name}: {what} = {size} is not a multiple of the tile {tile} "
                                     f"({knobs})")

    fused = not any(dense.op is op for op in s.outputs)  # a bias or activation after it
    AS, WS, AF, WF, CF, CS = wmma_stages(s, A, W, dense)
    if W.op.tag == OPERAND_COPY:
        s[W].compute_inline()   # the weight's tile reads the data itself
    out = dense
    if fused:  # computed in the output's loops
        s[dense].compute_inline()
        out = s.outputs[0].output(0)

    # Row strides of every tile the intrinsics touch (shared rows padded by the offsets).
    as_row = chunk * wmma_k + cfg["offset"].val
    cs_row = wct * bcw * wmma_n + cfg["offsetCS"].val
    frag_row = [wmma_k, 1]
    acc_row = [wct * wmma_n, 1]

    threads = thread_axes()

    def spread(stage: Any, axes: Sequence[Any]) -> None:
        spread_over_block(s, stage, axes, vec, (brw, bcw), threads)

    # The output: one block per tile, its elements copied from CS by all threads.
    *lead, b, o = s[out].op.axis
    bi, bc = s[out].split(b, factor=wmma_m * wrt * brw)
    bj, oc = s[out].split(o, factor=wmma_n * wct * bcw)
    s[out].reorder(*lead, bi, bj, bc, oc)
    if lead:
        s[out].bind(s[out].fuse(*lead) if len(lead) > 1 else lead[0], threads["blockIdx.z"])
    s[out].bind(bi, threads["blockIdx.x"])
    s[out].bind(bj, threads["blockIdx.y"])
    spread(out, [bc, oc])

    # The accumulators stored to shared memory: each warp its wrt x wct fragments.
    s[CS].compute_at(s[out], bj)
    *_, cb, co = CS.op.axis
    s[CS].storage_align(cb, cs_row - 1, cs_row)
    cb, cbi = s[CS].split(cb, factor=wmma_m)
    co, coi = s[CS].split(co, factor=wmma_n)
    cb, cbw = s[CS].split(cb, factor=wrt)
    co, cow = s[CS].split(co, factor=wct)
    s[CS].reorder(cb, co, cbw, cow, cbi, coi)
    s[CS].bind(cb, threads["threadIdx.y"])
    s[CS].bind(co, threads["threadIdx.z"])

    # The products: K in steps of chunk fragments.
    s[CF].compute_at(s[CS], co)
    *_, fi, fj = CF.op.axis
    fi, fii = s[CF].split(fi, factor=wmma_m)
    fj, fjj = s[CF].split(fj, factor=wmma_n)
    (k,) = CF.op.reduce_axis
    k, kk = s[CF].split(k, factor=wmma_k)
    ko, ki = s[CF].split(k, factor=chunk)
    s[CF].reorder(ko, ki, fi, fj, fii, fjj, kk)

    # Fragment loads from the shared tiles, at each step of the chunk.
    loads = []
    for frag, rows in ((AF, wmma_m), (WF, wmma_n)):
        s[frag].compute_at(s[CF], ki)
        *_, r, c = frag.op.axis
        r, ri = s[frag].split(r, factor=rows)
        c, ci = s[frag].split(c, factor=wmma_k)
        s[frag].reorder(r, c, ri, ci)
        loads.append(ri)

    # The shared tiles, refilled once per chunk.
    for shared in (AS, WS):
        s[shared].compute_at(s[CF], ko)
        *lead, r, c = shared.op.axis
        s[shared].storage_align(r, as_row - 1, as_row)
        spread(shared, [*lead, r, c])

    a_gemm = te.placeholder((wmma_m, wmma_k), name="AL_gemm", dtype=in_dtype)
    w_gemm = te.placeholder((wmma_n, wmma_k), name="BL_gemm", dtype=in_dtype)
    kg = te.reduce_axis((0, wmma_k), name="k_gemm")
    c_gemm = te.compute((wmma_m, wmma_n), lambda i, j: te.sum(
        a_gemm[i, kg].astype(out_dtype) * w_gemm[j, kg].astype(out_dtype), axis=kg), name="CL_compute")
    s[AF].tensorize(loads[0], intrin_wmma_load_matrix_A(frag_row, [as_row, 1], shape, "row_major",
                                                        (wmma_m, wmma_k), (wmma_m, wmma_k), in_dtype))
    s[WF].tensorize(loads[1], intrin_wmma_load_matrix_W(frag_row, [as_row, 1], shape, "col_major",
                                                        (wmma_n, wmma_k), (wmma_n, wmma_k), in_dtype))
    s[CF].tensorize(fii, intrin_wmma_gemm(a_gemm, w_gemm, c_gemm, frag_row, frag_row, acc_row, shape))
    s[CS].tensorize(cbi, intrin_wmma_store_matrix([cs_row, 1], acc_row, shape, out_dtype, (wmma_m, wmma_n),
                                                  (wmma_m, wmma_n)))


__all__ = ["check_accumulator", "distinct_operand", "dense_tensorcore", "dense_tensorcore_cuda",
           "schedule_dense_tensorcore", "schedule_wmma_gemm"]
