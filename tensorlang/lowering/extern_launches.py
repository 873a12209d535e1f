"""extern_launches: an extern stage's code (``te.extern`` with ``ir_builder``) that launches one
GPU index through two different axes, one loop inside the other, is refused at lowering.

A GPU has one ``blockIdx.x`` (one ``threadIdx.x`` ...): the kernel would read that index for both
loops, so the inner loop would not run over its own range (with ``bx`` and ``by`` both on
``blockIdx.x``, ``by`` is ``bx``), which is never what two nested launches mean.  The same axis
launched again inside itself is the same index and is left alone; sibling launches of one index
(separate kernels, or consecutive loops of one kernel) are fine.
"""

from __future__ import annotations

from typing import Any

from ..errors import LoweringError
from ..ir.stmt import For, ForKind
from ..te.expr import PrimExpr
from ..te.extern import ExternOp
from ..te.functor import Visitor


def check_extern_launches(op: ExternOp) -> None:
    """Raise LoweringError when ``op``'s code launches a GPU index inside a loop on that index."""
    body = op.extern_body
    if not isinstance(body, PrimExpr):
        _Launches(op.name).visit(body)


class _Launches(Visitor):
    def __init__(self, stage: str):
        super().__init__()
        self.stage = stage
        self.enclosing: dict[str, For] = {}  # GPU index -> the loop around that launches it

    def visit_For(self, node: For) -> Any:
        tag = node.thread_tag if node.kind == ForKind.THREAD_BINDING else ""
        outer = self.enclosing.get(tag) if tag else None
        if outer is not None and outer.loop_var is not node.loop_var:
            raise LoweringError(
                f"extern stage {self.stage}: a loop launching {tag} (axis {node.loop_var.name}, extent "
                f"{node.extent}) sits inside another launch of {tag} (axis {outer.loop_var.name}, extent "
                f"{outer.extent}) through a different te.thread_axis; a GPU has one {tag}, so the kernel would read "
                "that index for both and the inner loop would not run over its own range: launch it on another "
                "index (blockIdx.y, threadIdx.y, ...) or loop over it serially (ib.for_range)")
        if tag and outer is None:
            self.enclosing[tag] = node
            try:
                self.generic_visit(node)
            finally:
                del self.enclosing[tag]
            return
        self.generic_visit(node)
