"""Tunable dense layers for CPUs: ``dense_nopack`` tiles the output, ``dense_pack`` first packs
the weight into column blocks so the innermost loop reads it contiguously."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import autotune as autotvm
from ... import te
from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from .. import nn, tag
from ..utils import get_const_int, get_const_tuple, schedule_tagged, static_dim


@autotvm.register_topi_compute("dense_nopack.x86")
def dense_nopack(cfg: Any, data: Tensor, weight: Tensor, bias: Tensor | None = None,
                 out_dtype: str | None = None) -> Tensor:
    """topi.nn.dense, tunable with ``schedule_dense_nopack``."""
    return nn.dense(data, weight, bias, out_dtype)


def _tile_2d(cfg: Any, s: Schedule, C: Tensor, acc: Tensor) -> None:
    """Tile output stage ``C``; ``acc`` accumulates each tile under it."""
    y, x = s[C].op.axis
    yo, yi = cfg["tile_y"].apply(s, C, y)
    xo, xi = cfg["tile_x"].apply(s, C, x)
    s[C].reorder(yo, xo, yi, xi)
    s[C].vectorize(xi)
    s[C].parallel(yo)
    s[acc].compute_at(s[C], xo)
    ay, ax = s[acc].op.axis
    (k,) = s[acc].op.reduce_axis
    ko, ki = cfg["tile_k"].apply(s, acc, k)
    s[acc].reorder(ko, ki, ay, ax)
    if cfg["unroll_k"].val:
        s[acc].unroll(ki)
    s[acc].vectorize(ax)


def has_zero_extent(op: Any) -> bool:
    """Whether a matmul-like ``op`` has an output or reduction extent of 0: its result is empty, or
    all zeros for K = 0 (numpy's), and the default schedule computes that; there is nothing to
    tile, and a split of an extent 0 has no factors to choose."""
    extents = list(op.output(0).shape) + [r.dom.extent for r in op.reduce_axis]
    return any(static_dim(e) == 0 for e in extents)


def _define(cfg: Any, m: int, n: int, k: int) -> None:
    cfg.define_split("tile_y", cfg.axis(m), num_outputs=2, filter=lambda e: e.size[-1] <= 16)
    cfg.define_split("tile_x", cfg.axis(n), num_outputs=2, filter=lambda e: e.size[-1] <= 64)
    cfg.define_split("tile_k", cfg.axis(k), num_outputs=2, filter=lambda e: e.size[-1] <= 16)
    cfg.define_knob("unroll_k", [False, True])
    if cfg.is_fallback:
        cfg.fallback_split("tile_y", [-1, 4])
        cfg.fallback_split("tile_x", [-1, 16])
        cfg.fallback_split("tile_k", [-1, 4])


def _tile_output(cfg: Any, s: Schedule, C: Tensor, out: Tensor) -> None:
    """Tile ``C`` through a cache-written accumulator, or tile ``out`` over ``C`` when ops follow it."""
    if C.op is out.op:
        _tile_2d(cfg, s, C, s.cache_write(C, "global"))
    else:
        _tile_2d(cfg, s, out, C)


@autotvm.register_topi_schedule("dense_nopack.x86")
def schedule_dense_nopack(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``dense_nopack`` (bias add and elementwise ops after it are handled)."""

    def schedule_op(s: Schedule, op: Any, out: Tensor) -> None:
        if has_zero_extent(op):
            return
        C = op.output(0)
        m, n = get_const_tuple(C.shape)
        k = get_const_int(op.reduce_axis[0].dom.extent)
        _define(cfg, m, n, k)
        _tile_output(cfg, s, C, out)

    return schedule_tagged(outs, "dense", schedule_op)


@autotvm.register_topi_compute("dense_pack.x86")
def dense_pack(cfg: Any, data: Tensor, weight: Tensor, bias: Tensor | None = None,
               out_dtype: str | None = None) -> Tensor:
    """dense with the weight packed as (N / bn, K, bn); ``tile_x`` chooses bn.  A weight given
    already packed (3-D, as ``nn.dense_pack`` takes it) is used as it is, as in TVM."""
    out_dtype = out_dtype or str(data.dtype)
    if len(weight.shape) == 3:
        out = nn.dense_pack(data, weight, bias, out_dtype)  # checks the shapes
        (m, k), (chunks, _, bn) = get_const_tuple(data.shape), get_const_tuple(weight.shape)
        if 0 not in (m, chunks * bn, k):
            _define(cfg, m, chunks * bn, k)
        return out
    if len(data.shape) != 2 or len(weight.shape) != 2 or any(static_dim(d) == 0 for d in [*data.shape, *weight.shape]):
        # nn.dense checks the shapes; with an extent of 0 there is no weight to pack and nothing to
        # tile (a split of 0 has no factors): its plain compute gives numpy's empty or zero result.
        return nn.dense(data, weight, bias, out_dtype)
    m, k = get_const_tuple(data.shape)
    n, _ = get_const_tuple(weight.shape)
    _define(cfg, m, n, k)
    bn = cfg["tile_x"].size[-1]
    packed = te.compute((n // bn, k, bn), lambda z, y, x: weight[z * bn + x, y], name="packed_weight",
                        attrs={"autotvm": "pack"})
    r = te.reduce_axis((0, k), name="k")
    C = te.compute((m, n), lambda i, j: te.sum(data[i, r].astype(out_dtype)
                                               * packed[j // bn, r, j % bn].astype(out_dtype), axis=r),
                   name="T_dense_pack", tag="dense_pack")
    if bias is not None:
        C = te.compute((m, n), lambda i, j: C[i, j] + bias[j].astype(out_dtype), name="T_add", tag=tag.BROADCAST)
    return C


@autotvm.register_topi_schedule("dense_pack.x86")
def schedule_dense_pack(cfg: Any, outs: Sequence[Tensor]) -> Schedule:
    """Schedule for ``dense_pack``."""

    def schedule_op(s: Schedule, op: Any, out: Tensor) -> None:
        if has_zero_extent(op):  # only a pre-packed weight gets here with one (see dense_pack)
            return
        packed = op.input_tensors[1]
        if isinstance(packed.op, ComputeOp):  # packed here, not given packed
            z, y, x = s[packed].op.axis
            s[packed].vectorize(x)
            s[packed].parallel(z)
        _tile_output(cfg, s, op.output(0), out)

    return schedule_tagged(outs, "dense_pack", schedule_op)
