"""Loop metadata for LLVM: which serial loops LLVM must not fully unroll, and loop IDs in llvmlite.

Guarantees: ``loops_holding_rolled_loops(body)`` names (by ``id``) exactly the loops of ``body``
whose bodies contain a loop (outside parallel loops, which are outlined into workers of their
own) that stays a loop after LLVM's own full unrolling: its extent is not a constant, or is
larger than ``ROLLED_EXTENT``.  A loop
around such a body gets ``llvm.loop.unroll.disable``: fully unrolling it copies the inner loop
(with its vector body, remainder and run-time alias checks) once per iteration, which gains
nothing and has cost seconds of LLVM time per build (10 copies x 2 loop partitions x 24
vectorized versions in a 10-row split with compute_at).  Loops whose bodies are straight-line
code keep LLVM's unrolling, which packs small register tiles for the SLP vectorizer.

``self_referential(text)`` rewrites the loop IDs made by ``loop_id_operands`` in a module's text
into the ``distinct !{!self, ...}`` nodes LLVM requires: llvmlite cannot spell a node that names
itself.
"""

from __future__ import annotations

import re

from ...ir import stmt as S
from ...te import expr as E
from ...te.functor import Visitor

# A constant-extent loop longer than this is not fully unrolled by LLVM at -O3 for any body
# worth vectorizing (its full-unroll threshold is a few hundred instructions).
ROLLED_EXTENT = 32

UNROLL_DISABLE = "llvm.loop.unroll.disable"
_SELF_PREFIX = "tl.loop.self."
_SELF = re.compile(r'^(!\d+) = !\{ ?!"' + re.escape(_SELF_PREFIX) + r'\d+"', re.MULTILINE)


class _RolledLoopFinder(Visitor):
    """One walk over a body: which loops hold a loop that stays a loop (one pass, not one per loop:
    deep nests stay linear)."""

    def __init__(self) -> None:
        super().__init__()
        self.holders: set[int] = set()
        self._found = [False]

    def visit_For(self, s: S.For) -> None:
        self._found.append(False)
        self.visit(s.body)
        inside = self._found.pop()
        if inside:
            self.holders.add(id(s))
        rolled = not isinstance(s.extent, E.IntImm) or s.extent.value > ROLLED_EXTENT
        # A parallel loop is outlined into a worker: its enclosing loop holds only a call.
        if s.kind is not S.ForKind.PARALLEL and (inside or rolled):
            self._found[-1] = True


def loops_holding_rolled_loops(body: S.Stmt) -> set[int]:
    """The ids of the loops in ``body`` that hold a loop LLVM keeps as a loop (module docstring)."""
    finder = _RolledLoopFinder()
    finder.visit(body)
    return finder.holders


def loop_id_operands(serial: int) -> str:
    """The first operand of loop ID number ``serial``; ``self_referential`` turns it into the ID."""
    return f"{_SELF_PREFIX}{serial}"


def self_referential(text: str) -> str:
    """``text`` with every loop ID made by ``loop_id_operands`` made distinct and self-referential."""
    return _SELF.sub(lambda m: f"{m.group(1)} = distinct !{{ {m.group(1)}", text)
