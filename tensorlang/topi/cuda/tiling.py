"""What the simple (register-tiled, no shared memory) CUDA templates share: the filter that keeps
a (block, thread, inner) split's threads and per-thread registers in bounds, the binding of the
grid, and the inlining of a convolution's padding and kernel dilation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import te
from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, IterVar, Tensor


def threads_and_registers(max_threads: int, max_inner: int = 4) -> Callable[[Any], bool]:
    """A ``define_split`` filter for (block, thread, inner) splits: at most ``max_threads`` threads and
    ``max_inner`` elements a thread along the axis."""
    return lambda e: e.size[1] <= max_threads and e.size[2] <= max_inner


def inline_pad_and_dilate(s: Schedule, conv: Tensor) -> None:
    """Inline the padding of a convolution's data and the dilation of its kernel into it."""
    data, kernel = conv.op.input_tensors[:2]
    if isinstance(data.op, ComputeOp) and "pad" in data.op.tag:
        s[data].compute_inline()
    if isinstance(kernel.op, ComputeOp) and "dilate" in kernel.op.tag:
        s[kernel].compute_inline()


def bind_grid(s: Schedule, t: Tensor, blocks: list[IterVar], threads: list[IterVar]) -> None:
    """Bind ``blocks`` to blockIdx and ``threads`` to threadIdx, the last of each to ``x`` (so up
    to three each: z, y, x)."""
    for axes, kind in ((blocks, "blockIdx"), (threads, "threadIdx")):
        for ax, dim in zip(axes, "zyx"[3 - len(axes):]):
            s[t].bind(ax, te.thread_axis(f"{kind}.{dim}"))
