"""unroll_loops: guarantees that no UNROLLED loop with a constant extent remains."""

from __future__ import annotations

import math
from typing import Any

from ...errors import DTypeError, ExprError, LoweringError
from ...te.expr import Add, BinaryOp, Cast, IntImm, Not, PrimExpr, Select, binary, cast, logical_not
from ...te.functor import Mutator, Substituter
from ..stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, Realize, SeqStmt, Stmt, is_no_op, no_op, seq

AUTO_UNROLL_KEY = "pragma_auto_unroll_max_step"
UNROLL_KEY = "pragma_unroll"
EXPLICIT_KEY = "pragma_unroll_explicit"
UNROLL_FACTOR_KEY = "pragma_unroll_factor"  # unroll by this factor (``#pragma unroll N``)


# Beyond this many statement copies, compile time (not run time) dominates.
MAX_UNROLLED_STATEMENTS = 8192
# A loop of more iterations that the auto-unroll limit picks for the GPU compiler is unrolled
# by PARTIAL_UNROLL_FACTOR, not fully: NVRTC took 21 s to unroll a 504-iteration guarded fetch
# of the tutorial conv2d (config 108340) fully, 1 s by 8.
MAX_PRAGMA_FULL_UNROLL = 64
PARTIAL_UNROLL_FACTOR = 8


# TVM's PassContext config "tir.UnrollLoop": the options honoured here, and those accepted
# without effect (the depth/extent limits of TVM's heuristic; this one counts statements).
UNROLL_CONFIG, UNROLL_CONFIG_IGNORED = ("auto_max_step", "explicit_unroll"), \
    ("auto_max_depth", "auto_max_extent", "unroll_local_access")


def unroll_options(config: Any) -> dict[str, Any]:
    """``unroll_loops`` keyword arguments from a ``tir.UnrollLoop`` config value ({} when None)."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise LoweringError(f"PassContext config tir.UnrollLoop must be a dict such as {{'auto_max_step': 16}}, "
                            f"got {config!r}")
    unknown = sorted(set(config) - set(UNROLL_CONFIG) - set(UNROLL_CONFIG_IGNORED))
    if unknown:
        raise LoweringError(f"PassContext config tir.UnrollLoop: unknown option(s) {', '.join(map(str, unknown))} "
                            f"(known: {', '.join(UNROLL_CONFIG + UNROLL_CONFIG_IGNORED)})")
    out: dict[str, Any] = {}
    if "auto_max_step" in config:
        step = config["auto_max_step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise LoweringError(f"PassContext config tir.UnrollLoop: auto_max_step must be an int >= 0, got {step!r}")
        out["auto_max_step"] = min(step, MAX_UNROLLED_STATEMENTS)
    if "explicit_unroll" in config:
        out["explicit"] = bool(config["explicit_unroll"])
    return out


def unroll_loops(stmt: Stmt, auto_max_step: int = 0, as_pragma: bool = False, explicit: bool = True) -> Stmt:
    """Unroll loops into sequences of copies of their bodies.

    A loop of kind UNROLLED, or annotated ``("pragma_unroll", 1)``, with a constant extent
    becomes the copies of its body with the loop variable replaced by ``min + i`` (constant
    integer arithmetic folded).  An UNROLLED loop whose extent is not a constant becomes SERIAL.
    ``("pragma_auto_unroll_max_step", N)`` on a loop, or ``auto_max_step`` for the whole
    statement, also unrolls every SERIAL loop of constant extent, the annotated one included,
    whose nest unrolls to at most N statements; inner loops are decided first, so a nest too
    big as a whole may still lose its innermost loops.  Variables bound inside an unrolled body
    are not renamed: each copy rebinds them in its own, sequential scope.  With ``as_pragma``
    (GPU code, which NVRTC can unroll itself), loops chosen by the auto-unroll limit under a
    ``("pragma_unroll_explicit", 0)`` annotation (TVM's ``unroll_explicit`` pragma) stay loops
    annotated ``("pragma_unroll", 1)`` (``#pragma unroll``), counting as their unrolled size
    for the loops around them; one of more than MAX_PRAGMA_FULL_UNROLL iterations is annotated
    ``("pragma_unroll_factor", PARTIAL_UNROLL_FACTOR)`` instead (``#pragma unroll 8``) and
    keeps the loops around it rolled.  Which is faster to build depends on the nest (NVRTC's unroller
    is slower on big nests, Python's on many small ones): templates make it a knob.  ``explicit``
    False is the pragma's value for the whole statement (TVM's ``explicit_unroll``).
    """
    unroller = _Unroller(auto_max_step, as_pragma)
    unroller.explicit = explicit
    return unroller.visit(stmt)


class _Unroller(Mutator):
    def __init__(self, auto_max_step: int, as_pragma: bool = False):
        super().__init__()
        self.auto_max_step = auto_max_step
        self.as_pragma = as_pragma
        self.explicit = True

    def visit_For(self, op: For) -> Stmt:
        annotations = dict(op.annotations)
        # The annotation scopes over the loop that carries it and everything inside it.
        limit = int(annotations.get(AUTO_UNROLL_KEY, self.auto_max_step))
        outer, self.auto_max_step = self.auto_max_step, limit
        outer_explicit, self.explicit = self.explicit, bool(annotations.get(EXPLICIT_KEY, self.explicit))
        explicit_here = self.explicit
        try:
            body = self.visit(op.body)  # inner loops first, so a nest unrolls bottom-up
        finally:
            self.auto_max_step, self.explicit = outer, outer_explicit

        constant = isinstance(op.extent, IntImm)
        explicit = op.kind is ForKind.UNROLLED or bool(annotations.get(UNROLL_KEY, 0))
        if constant and explicit:
            size = int(_statement_count(body, loop=1))
            copies = op.extent.value * size
            if copies > MAX_UNROLLED_STATEMENTS:
                raise LoweringError(
                    f"cannot unroll loop {op.loop_var.name}: {op.extent.value} iterations of "
                    f"{size} statement(s) make {copies} copies, more than the "
                    f"{MAX_UNROLLED_STATEMENTS} allowed; split the loop and unroll only the inner part")
            return _unroll(op, body)
        if (constant and op.kind is ForKind.SERIAL and limit > 0
                and op.extent.value * _statement_count(body) <= limit):
            if self.as_pragma and not explicit_here:
                kept = tuple((k, v) for k, v in op.annotations
                             if k not in (AUTO_UNROLL_KEY, UNROLL_KEY, EXPLICIT_KEY))
                pragma = (UNROLL_KEY, 1) if op.extent.value <= MAX_PRAGMA_FULL_UNROLL else \
                    (UNROLL_FACTOR_KEY, PARTIAL_UNROLL_FACTOR)
                return op.with_fields(body=body, annotations=kept + (pragma,))
            return _unroll(op, body)

        kind = ForKind.SERIAL if op.kind is ForKind.UNROLLED else op.kind
        # The auto-unroll limit is consumed by this pass.  pragma_unroll stays on a loop that
        # could not be unrolled (non-constant extent) so that a code generator may emit a pragma.
        kept = tuple((k, v) for k, v in op.annotations if k not in (AUTO_UNROLL_KEY, EXPLICIT_KEY))
        return op.with_fields(kind=kind, body=body, annotations=kept)


def _unroll(op: For, body: Stmt) -> Stmt:
    copies = []
    for i in range(max(op.extent.value, 0)):
        value = cast(binary(Add, op.min, i), op.loop_var.dtype) if i else cast(op.min, op.loop_var.dtype)
        copies.append(_SubstituteFold({op.loop_var: value}).visit(body))
    return seq(*copies) if copies else no_op()


def _statement_count(s: Stmt, loop: float = math.inf) -> float:
    """How many statements ``s`` becomes once unrolled; infinite while it still holds a loop
    (auto-unrolling only takes whole nests, innermost first), or with ``loop=1`` each loop
    counted as one statement plus its body (the size of the code an explicit unroll copies)."""
    if isinstance(s, For):
        if loop == math.inf and isinstance(s.extent, IntImm) and dict(s.annotations).get(UNROLL_KEY):
            return s.extent.value * _statement_count(s.body)  # left to the GPU compiler to unroll
        return loop + _statement_count(s.body, loop) if loop != math.inf else loop
    if isinstance(s, SeqStmt):
        return sum(_statement_count(x, loop) for x in s.seq)
    if isinstance(s, IfThenElse):
        return _statement_count(s.then_case, loop) + (_statement_count(s.else_case, loop) if s.else_case else 0)
    if isinstance(s, (Allocate, LetStmt, Realize)):
        return _statement_count(s.body, loop)
    if isinstance(s, Evaluate) and is_no_op(s):
        return 0
    return 1


class _SubstituteFold(Substituter):
    """Substitute variables, then fold the constant integer arithmetic that this exposes
    (``xo*16 + xi`` with both constant becomes one IntImm)."""

    def visit_BinaryOp(self, op: BinaryOp) -> PrimExpr:
        e = self.generic_visit(op)
        if isinstance(e.a, IntImm) and isinstance(e.b, IntImm) and e.dtype.lanes == 1:
            try:
                return binary(type(e), e.a, e.b)  # folds integer constants
            except (ExprError, DTypeError):  # e.g. a constant division by zero: leave it for run time
                return e
        return e

    def visit_Cast(self, op: Cast) -> PrimExpr:
        e = self.generic_visit(op)
        if isinstance(e.value, IntImm) and e.dtype.lanes == 1:
            return cast(e.value, e.dtype)
        return e

    def visit_Not(self, op: Not) -> PrimExpr:
        e = self.generic_visit(op)
        return logical_not(e.a) if isinstance(e.a, IntImm) else e

    def visit_Select(self, op: Select) -> PrimExpr:
        cond = self.visit(op.condition)
        if isinstance(cond, IntImm):  # only the chosen branch survives, as at run time
            return self.visit(op.true_value if cond.value else op.false_value)
        t, f = self.visit(op.true_value), self.visit(op.false_value)
        return op.with_fields(condition=cond, true_value=t, false_value=f)
