"""Statement simplification: every expression simplified knowing the range of each enclosing
loop variable, so guards that always hold fold to True (and are removed by remove_no_op)."""

from __future__ import annotations

from ...arith import Interval, Simplifier
from ...te.expr import IntImm, PrimExpr
from ...te.functor import Mutator
from ..stmt import For, IfThenElse, Stmt, no_op


class _StmtSimplify(Mutator):
    def __init__(self) -> None:
        super().__init__()
        self.ranges: dict = {}
        self.expr = Simplifier(self.ranges)

    def visit_PrimExpr(self, e: PrimExpr) -> PrimExpr:
        return self.expr.visit(e)

    def visit_For(self, node: For) -> Stmt:
        mn, ext = self.expr.visit(node.min), self.expr.visit(node.extent)
        self.ranges[node.loop_var] = Interval(mn, self.expr.visit(mn + ext - 1))
        self.expr.ranges = self.ranges
        try:
            body = self.visit(node.body)
        finally:
            del self.ranges[node.loop_var]
        return node.with_fields(min=mn, extent=ext, body=body)

    def visit_IfThenElse(self, node: IfThenElse) -> Stmt:
        cond = self.expr.visit(node.condition)
        if isinstance(cond, IntImm) and cond.dtype.lanes == 1:
            if cond.value:
                return self.visit(node.then_case)
            return self.visit(node.else_case) if node.else_case is not None else no_op()
        then = self.visit(node.then_case)
        other = self.visit(node.else_case) if node.else_case is not None else None
        return node.with_fields(condition=cond, then_case=then, else_case=other)


def simplify_stmt(stmt: Stmt) -> Stmt:
    """Simplify every expression of ``stmt`` under the ranges of its loops."""
    return _StmtSimplify().visit(stmt)
