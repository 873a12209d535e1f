"""remove_no_op: guarantees that no statement without an effect remains, and that sequences are flat."""

from __future__ import annotations

from ...te.expr import FloatImm, IntImm, cast, logical_not
from ...te.functor import Substituter
from ..stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, Realize, SeqStmt, Stmt, is_no_op, no_op, seq


def remove_no_op(stmt: Stmt) -> Stmt:
    """Drop statements that do nothing and flatten sequences (``ir.stmt.seq``).

    Removed: ``Evaluate`` of a constant; loops with constant extent <= 0 or a no-op body;
    ``IfThenElse`` with a constant condition (the taken branch stays) or with no-op branches
    (a lone no-op then-branch becomes the negated condition guarding the else-branch);
    ``Allocate``, ``Realize`` and ``LetStmt`` whose body is a no-op.  A loop of constant extent 1
    becomes its body with the loop variable replaced by ``min``, except a thread-bound loop,
    which still defines the launch configuration.  The result of removing everything is
    ``no_op()``.
    """
    return _RemoveNoOp().visit(stmt)


class _RemoveNoOp(Substituter):
    """Replaces the variables of removed extent-1 loops on the way down (``vmap``), so nested
    ones cost one walk of the body, not one per loop."""

    def __init__(self) -> None:
        super().__init__({})

    def visit_Evaluate(self, op: Evaluate) -> Stmt:
        if isinstance(op.value, (IntImm, FloatImm)):
            return op if is_no_op(op) else no_op()
        return self.generic_visit(op)

    def visit_SeqStmt(self, op: SeqStmt) -> Stmt:
        return seq(*(self.visit(s) for s in op.seq))

    def visit_For(self, op: For) -> Stmt:
        extent, start = self.visit(op.extent), self.visit(op.min)
        if isinstance(extent, IntImm) and extent.value <= 0:
            return no_op()
        if isinstance(extent, IntImm) and extent.value == 1 and op.kind is not ForKind.THREAD_BINDING:
            self.vmap[op.loop_var] = cast(start, op.loop_var.dtype)
            try:
                body = self.visit(op.body)
            finally:
                del self.vmap[op.loop_var]
            return no_op() if is_no_op(body) else body
        body = self.visit(op.body)
        if is_no_op(body):
            return no_op()
        return op.with_fields(min=start, extent=extent, body=body)

    def visit_IfThenElse(self, op: IfThenElse) -> Stmt:
        cond = self.visit(op.condition)
        if isinstance(cond, IntImm):  # only the taken branch is visited: the other is dead
            taken = op.then_case if cond.value else op.else_case
            return self.visit(taken) if taken is not None else no_op()
        then_case = self.visit(op.then_case)
        else_case = self.visit(op.else_case) if op.else_case is not None else None
        if is_no_op(else_case):
            else_case = None
        if is_no_op(then_case):
            if else_case is None:
                return no_op()
            return IfThenElse(logical_not(cond), else_case)
        return op.with_fields(condition=cond, then_case=then_case, else_case=else_case)

    def visit_Allocate(self, op: Allocate) -> Stmt:
        new = self.generic_visit(op)
        return no_op() if is_no_op(new.body) else new

    def visit_Realize(self, op: Realize) -> Stmt:
        new = self.generic_visit(op)
        return no_op() if is_no_op(new.body) else new

    def visit_LetStmt(self, op: LetStmt) -> Stmt:
        new = self.generic_visit(op)
        return no_op() if is_no_op(new.body) else new
