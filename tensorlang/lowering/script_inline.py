"""compute_inline into the stages that read a tensor through a buffer: hybrid scripts and externs.

Guarantees: a hybrid script that reads a tensor whose stage is computed inline reads its
expression instead (as TVM's InjectInline does for a HybridOp): each element the script loads
becomes the stage's body at that element's indices (the script's flat offset split back into
indices, simplified with the ranges of the loops around the load), with the stages that one
inlines substituted too, so the tensor needs no storage.  An inlined tensor the script uses
other than by loading scalar elements (storing into it, a vector load, passing its buffer to a
call), and any ``te.extern`` stage reading one (its code takes the tensor's memory), is a
LoweringError naming the inlined stage and its reader.
"""

from __future__ import annotations

from ..arith import Interval, simplify
from ..errors import LoweringError
from ..ir.stmt import For, Stmt, Store
from ..schedule.schedule import Schedule
from ..te import expr as E
from ..te.expr import PrimExpr, TensorRead, Var
from ..te.extern import DeclBuffer, ExternOp, HybridOp
from ..te.functor import Mutator, substitute
from ..te.intrin import floordiv, floormod
from ..te.tensor import ComputeOp, Tensor

Definitions = dict[Tensor, tuple[list[Var], PrimExpr]]


def inlined_definitions(sch: Schedule) -> Definitions:
    """Each tensor of a compute_inline stage -> (its axis variables, its body with the inlined
    stages it reads substituted)."""
    defs: Definitions = {}
    for st in sch.stages:
        op = st.op
        if st.attach_type != "inline" or not isinstance(op, ComputeOp) or isinstance(op, ExternOp):
            continue
        params = [iv.var for iv in op.axis]
        for i, b in enumerate(op.body):
            defs[op.output(i)] = (params, _Reads(defs).visit(b) if defs else b)
    return defs


def _at(definition: tuple[list[Var], PrimExpr], indices: list[PrimExpr]) -> PrimExpr:
    """An inlined stage's body at ``indices`` (each in its axis's integer type, in which the
    body's index arithmetic is)."""
    params, body = definition
    return substitute(body, {p: i if i.dtype == p.dtype else E.cast(i, p.dtype) for p, i in zip(params, indices)})


class _Reads(Mutator):
    """Reads of the inlined tensors of ``defs`` -> their bodies there."""

    def __init__(self, defs: Definitions):
        super().__init__()
        self.defs = defs

    def visit_TensorRead(self, node: TensorRead) -> PrimExpr:
        indices = [self.visit(i) for i in node.indices]
        d = self.defs.get(node.tensor)
        return node.with_fields(indices=tuple(indices)) if d is None else _at(d, indices)


def inline_into_extern(op: ExternOp, stmt: Stmt, defs: Definitions) -> tuple[Stmt, set[Tensor]]:
    """``stmt`` (``op``'s code) reading the inlined tensors' expressions, and those tensors
    (whose buffers need no binding) (module docstring)."""
    read = {buf.data: (buf, t) for buf, t in zip(op.input_placeholders, op.inputs) if t in defs}
    if not read:
        return stmt, set()
    if not isinstance(op, HybridOp):
        _, t = next(iter(read.values()))
        raise LoweringError(f"stage {t.op.name} is computed inline (compute_inline), but extern stage {op.name} "
                            f"reads {t.name} as a buffer (its code takes the tensor's memory, which an inlined "
                            f"stage does not have): compute {t.op.name} at root, or read it in a te.compute or "
                            "hybrid script stage")
    out = _ScriptInline(op.name, read, defs).visit(stmt)
    return out, {t for _, t in read.values()}


class _ScriptInline(Mutator):
    def __init__(self, stage: str, read: dict[Var, tuple[DeclBuffer, Tensor]], defs: Definitions):
        super().__init__()
        self.stage, self.read, self.defs = stage, read, defs
        self.ranges: dict[Var, Interval] = {}

    def _refuse(self, data: Var, how: str) -> LoweringError:
        t = self.read[data][1]
        return LoweringError(f"stage {t.op.name} is computed inline (compute_inline), but hybrid script stage "
                             f"{self.stage} {how} {t.name}; only scalar reads of an inlined tensor can take its "
                             f"expression: compute {t.op.name} at root")

    def visit_For(self, node: For) -> Stmt:
        hi = simplify(node.min + node.extent - E.const(1, node.extent.dtype))
        self.ranges[node.loop_var] = Interval(node.min, hi)
        try:
            return self.generic_visit(node)
        finally:
            del self.ranges[node.loop_var]

    def visit_Var(self, node: Var) -> PrimExpr:
        if node in self.read:
            raise self._refuse(node, "passes the buffer of")
        return node

    def visit_Store(self, node: Store) -> Stmt:
        if node.buffer in self.read:
            raise self._refuse(node.buffer, "stores into")
        return self.generic_visit(node)

    def visit_Load(self, node: E.Load) -> PrimExpr:
        if node.buffer not in self.read:
            return self.generic_visit(node)
        if node.dtype.lanes > 1 or node.predicate is not None:
            raise self._refuse(node.buffer, "loads a vector of")
        buf, t = self.read[node.buffer]
        flat = self.visit(node.index)
        # The script's buffers are compact, row-major: element (i0, ..., in) sits at
        # i0 * d1 * ... * dn + ... + in.
        indices: list[PrimExpr] = []
        stride: PrimExpr = E.const(1, flat.dtype)
        for k in reversed(range(len(buf.shape))):
            index = floordiv(flat, stride) if k < len(buf.shape) - 1 else flat
            if k > 0:
                dim = E.cast(buf.shape[k], flat.dtype)
                index = floormod(index, dim)
                stride = stride * dim
            indices.insert(0, simplify(index, self.ranges))
        return _at(self.defs[t], indices)
