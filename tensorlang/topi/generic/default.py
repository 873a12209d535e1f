"""The plainest correct schedules: every stage at root, injective stages inlined where legal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...schedule.schedule import Schedule, create_schedule
from ...te.tensor import Operation, Tensor
from ..utils import traverse_inline


def _ops(outs: Any) -> list[Operation]:
    outs = [outs] if isinstance(outs, (Tensor, Operation)) else list(outs)
    return [t.op if isinstance(t, Tensor) else t for t in outs]


def default_schedule(outs: Tensor | Sequence[Tensor], auto_inline: bool = False) -> Schedule:
    """A schedule of ``outs`` with every stage at root (injective stages inlined if ``auto_inline``)."""
    ops = _ops(outs)
    s = create_schedule(ops)
    if auto_inline:
        for op in ops:
            traverse_inline(s, op)
    return s


def schedule_injective(outs: Tensor | Sequence[Tensor]) -> Schedule:
    """Elementwise/injective outputs: injective producers inlined, the outermost loop parallel."""
    ops = _ops(outs)
    s = create_schedule(ops)
    for op in ops:
        traverse_inline(s, op)
    return s


schedule_reduce = schedule_injective
