"""``schedule_conv2d_nhwc`` for CPUs (TVM's fixed x86 schedule, not a template): the output's rows
run in parallel, each a register tile of a few columns x one vector of output channels, which the
convolution accumulates under it over (kh, kw, input channel); the padding is parallel and
vectorised on its own."""

from __future__ import annotations

from collections.abc import Sequence

from ...schedule.schedule import Schedule
from ...te.tensor import ComputeOp, Tensor
from ..generic.helpers import tile_and_accumulate
from ..utils import get_const_tuple, schedule_tagged
from .injective import parallel_vectorize, schedule_injective_from_existing, vector_lanes

COLUMN_TILE = 4


def largest_divisor(n: int, limit: int) -> int:
    """The largest divisor of ``n`` not above ``limit`` (1 for a symbolic ``n``)."""
    if not isinstance(n, int):
        return 1
    return max(d for d in range(1, max(1, min(n, limit)) + 1) if n % d == 0)


def _schedule_nhwc(s: Schedule, conv: Tensor, out: Tensor) -> None:
    data, kernel = conv.op.input_tensors
    if isinstance(kernel.op, ComputeOp) and "dilate" in kernel.op.tag:
        s[kernel].compute_inline()
    if isinstance(data.op, ComputeOp) and "pad" in data.op.tag:
        parallel_vectorize(s, data)
    main, acc, rest = tile_and_accumulate(s, conv, out, "global")
    _, _, ow, oc = get_const_tuple(conv.shape)
    n, y, x, c = s[main].op.axis
    xo, xi = s[main].split(x, factor=largest_divisor(ow, COLUMN_TILE))
    co, ci = s[main].split(c, factor=largest_divisor(oc, vector_lanes(conv)))
    s[main].reorder(n, y, xo, co, xi, ci)
    s[main].parallel(s[main].fuse(n, y))
    s[main].vectorize(ci)
    s[acc].compute_at(s[main], co)
    _, _, ax, ac = s[acc].op.axis
    ry, rx, rc = s[acc].op.reduce_axis
    s[acc].reorder(ry, rx, rc, ax, ac)
    s[acc].unroll(ax)
    s[acc].vectorize(ac)
    if rest is not None:
        schedule_injective_from_existing(s, rest)


def schedule_conv2d_nhwc(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Schedule for ``topi.nn.conv2d_nhwc`` (elementwise ops after it, bias and relu, tiled with it)."""
    return schedule_tagged(outs, "conv2d_nhwc", lambda s, op, out: _schedule_nhwc(s, op.output(0), out))
