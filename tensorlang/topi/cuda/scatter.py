"""scatter_nd on GPUs (TVM's ``topi.cuda.scatter_nd``): the generic ``topi.scatter_nd`` is one serial
loop nest, which a GPU program cannot run outside a kernel.

Two kernels: the first copies ``data`` into the output, one thread an element; in the second each
thread owns one element x of the slice an update covers and applies the updates y to it in
row-major order, so repeated indices resolve as on the CPU ("update": the last wins; the other
modes combine in order) with no atomics.  When each update is a single element (indices pick
every axis of ``data``) the second kernel is one thread walking the updates: correct, not fast.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ... import te
from ...ir import builder as ir_builder
from ...te.extern import DeclBuffer
from ...te.tensor import Tensor
from ..index_ops import scatter_nd_parts, scatter_nd_picked
from ..utils import prod
from .injective import max_threads


def _thread_index(ib: ir_builder.IRBuilder, count: Any) -> Any:
    """Launch ``count`` threads (in blocks of the target's maximum) in the current scope: the
    index of this thread."""
    per_block = max_threads()
    bx, tx = te.thread_axis("blockIdx.x"), te.thread_axis("threadIdx.x")
    ib.scope_attr(bx, "thread_extent", (count + per_block - 1) // per_block)
    ib.scope_attr(tx, "thread_extent", per_block)
    return bx.var * per_block + tx.var


def scatter_nd(data: Tensor, indices: Tensor, updates: Tensor, mode: str = "update") -> Tensor:
    """``topi.scatter_nd`` as GPU kernels: a copy of ``data`` with ``out[indices[:, y...], x...]``
    set to (or combined by ``mode`` with) ``updates[y..., x...]``."""
    combine, m, ys, xs = scatter_nd_parts(data, indices, updates, mode, "topi.cuda.scatter_nd")
    total, per_update = prod(data.shape), prod(xs)

    def kernel(ins: list[DeclBuffer], outs: list[DeclBuffer]) -> Any:
        ib = ir_builder.create()
        src, ind, upd = (ib.buffer_ptr(b) for b in ins)
        out = ib.buffer_ptr(outs[0])
        with ib.new_scope():
            i = _thread_index(ib, total)
            with ib.if_scope(i < total):
                out[i] = src[i]
        with ib.new_scope():
            x = _thread_index(ib, per_update)
            with ib.if_scope(x < per_update), contextlib.ExitStack() as loops:
                y = [loops.enter_context(ib.for_range(0, d, name=f"y{k}")) for k, d in enumerate(ys)]
                ok, picked = scatter_nd_picked(ind, indices, data, m, y)
                with ib.if_scope(ok):
                    row = 0
                    for d, k in zip(data.shape[:m], picked):
                        row = row * d + k
                    flat_y = 0
                    for d, k in zip(ys, y):
                        flat_y = flat_y * d + k
                    pos = row * per_update + x
                    out[pos] = combine(out[pos], upd[flat_y * per_update + x])
        return ib.get()

    return te.extern(data.shape, [data, indices, updates], kernel, name="scatter_nd_gpu", dtype=data.dtype,
                     tag="scatter_nd_gpu")
