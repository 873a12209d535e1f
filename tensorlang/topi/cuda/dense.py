"""Tunable dense layers for GPUs.  ``dense_small_batch``: one block per output-column tile, each
thread a few columns of every row.  ``dense_large_batch``: 2-D output tiles per block with
shared-memory staging of the data and weight tiles along K; ``dense_int8`` is the same template
under TVM's int8 name (without TVM's dp4a instructions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...schedule.schedule import Schedule
from ...te.tensor import Tensor
from .. import nn
from ..utils import schedule_tagged


def _main_and_local(s: Schedule, dense: Tensor, out: Tensor) -> tuple[Tensor, Tensor]:
    """(the stage that gets the thread layout, the stage that accumulates in registers):
    a cache-written copy when ``dense`` is the output, else the ops after it over ``dense`` itself."""
    if dense.op is out.op:
        return dense, s.cache_write(dense, "local")
    s[dense].set_scope("local")
    return out, dense


def _dense(cfg: Any, data: Tensor, weight: Tensor, bias: Tensor | None = None, out_dtype: str | None = None) -> Tensor:
    """topi.nn.dense; both CUDA dense templates compute it this way."""
    return nn.dense(data, weight, bias, out_dtype)


dense_small_batch = autotvm.register_topi_compute("dense_small_batch.cuda")(_dense)
dense_large_batch = autotvm.register_topi_compute("dense_large_batch.cuda")(_dense)


@autotvm.register_topi_schedule("dense_small_batch.cuda")
def schedule_dense_small_batch(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Columns split over blocks and threads; every thread loops over the (few) rows."""

    def schedule_op(s: Schedule, op: Any, out: Tensor) -> None:
        main, local = _main_and_local(s, op.output(0), out)
        y, x = s[main].op.axis
        cfg.define_split("tile_x", x, num_outputs=3, filter=lambda e: e.size[1] <= 256)
        cfg.define_split("tile_k", s[local].op.reduce_axis[0], num_outputs=2)
        cfg.define_knob("auto_unroll_max_step", [0, 64, 512])
        if cfg.is_fallback:
            cfg.fallback_split("tile_x", [-1, 64, 1])
        bx, tx, xi = cfg["tile_x"].apply(s, main, x)
        s[main].reorder(bx, tx, y, xi)
        s[main].bind(bx, te.thread_axis("blockIdx.x"))
        s[main].bind(tx, te.thread_axis("threadIdx.x"))
        s[local].compute_at(s[main], tx)
        (k,) = s[local].op.reduce_axis
        ko, ki = cfg["tile_k"].apply(s, local, k)
        s[local].pragma(ko, "auto_unroll_max_step", cfg["auto_unroll_max_step"].val)

    return schedule_tagged(outs, "dense", schedule_op)


def _schedule_large_batch(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """2-D block tiles (block, thread, inner per axis), K split into shared-memory chunks."""

    def schedule_op(s: Schedule, op: Any, out: Tensor) -> None:
        main, local = _main_and_local(s, op.output(0), out)
        data, weight = op.input_tensors
        y, x = s[main].op.axis
        cfg.define_split("tile_y", y, num_outputs=3, filter=lambda e: e.size[1] <= 32)
        cfg.define_split("tile_x", x, num_outputs=3, filter=lambda e: e.size[1] <= 32)
        cfg.define_split("tile_k", s[local].op.reduce_axis[0], num_outputs=2, filter=lambda e: e.size[1] <= 16)
        if cfg.is_fallback:
            cfg.fallback_split("tile_y", [-1, 8, 2])
            cfg.fallback_split("tile_x", [-1, 8, 2])
            cfg.fallback_split("tile_k", [-1, 8])
        AA = s.cache_read(data, "shared", [local])
        WW = s.cache_read(weight, "shared", [local])
        by, ty, yi = cfg["tile_y"].apply(s, main, y)
        bx, tx, xi = cfg["tile_x"].apply(s, main, x)
        s[main].reorder(by, bx, ty, tx, yi, xi)
        s[main].bind(by, te.thread_axis("blockIdx.y"))
        s[main].bind(bx, te.thread_axis("blockIdx.x"))
        s[main].bind(ty, te.thread_axis("threadIdx.y"))
        s[main].bind(tx, te.thread_axis("threadIdx.x"))
        s[local].compute_at(s[main], tx)
        (k,) = s[local].op.reduce_axis
        ko, ki = cfg["tile_k"].apply(s, local, k)
        ly, lx = s[local].op.axis
        s[local].reorder(ko, ki, ly, lx)
        for load in (AA, WW):
            s[load].compute_at(s[local], ko)
            fused = s[load].fuse(*s[load].op.axis)
            t_y, fused = s[load].split(fused, nparts=cfg["tile_y"].size[1])
            t_x, fused = s[load].split(fused, nparts=cfg["tile_x"].size[1])
            s[load].bind(t_y, te.thread_axis("threadIdx.y"))
            s[load].bind(t_x, te.thread_axis("threadIdx.x"))

    return schedule_tagged(outs, "dense", schedule_op)


schedule_dense_large_batch = autotvm.register_topi_schedule("dense_large_batch.cuda")(_schedule_large_batch)

# TVM's dense_int8.cuda multiplies int8 with dp4a (four products an instruction); here it is the
# large-batch template under TVM's name (int8 operands, products accumulated in out_dtype), so that
# ported code and its tuning logs find it.  Tunable on its own, as in TVM.
dense_int8 = autotvm.register_topi_compute("dense_int8.cuda")(_dense)
schedule_dense_int8 = autotvm.register_topi_schedule("dense_int8.cuda")(_schedule_large_batch)
