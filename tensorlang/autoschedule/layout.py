"""Layout rewrite: a reduction's weight-like input read through contiguous column panels.

A matmul ``C[i, j] = sum_k A[i, k] * B[k, j]`` walks B down its columns with a stride of a whole
row: at 1024 floats a row, every step of ``k`` lands in the same L1 set and a new page.  Packing B
into panels ``P[j // nr, k, j % nr]`` (the template of ``examples/matmul.py`` does it by hand)
makes the ``nr`` columns a register tile needs one contiguous stream.  ``packable_read`` finds
such an input of a reduction (read once, indexed by the output's innermost axis in exactly one
dimension and by a reduction axis, not by some other output axis: reused across the output); and
``pack_input`` rewrites the computation at the ``te`` level: a new packing stage, the reduction
rebuilt to read it, and every stage downstream rebuilt to read the new reduction.  The function's
arguments (inputs and outputs) keep their shapes and order, so the result is checked and built
like the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..te import expr as E
from ..te.functor import Mutator
from ..te.operation import compute
from ..te.tensor import ComputeOp, PlaceholderOp, Tensor
from .dag import compute_ops, tensor_reads, vars_of


@dataclass(frozen=True)
class PackableRead:
    """Input ``tensor`` of a reduction, read with ``indices``; dimension ``dim`` is the output's
    innermost axis itself."""

    tensor: Tensor
    indices: tuple
    dim: int


def packable_read(op: ComputeOp) -> PackableRead | None:
    """The input of reduction ``op`` worth packing into panels along its innermost axis, or None."""
    if op.num_outputs != 1 or not op.reduce_axis or len(op.axis) < 2:
        return None
    j = op.axis[-1].var
    spatial = {iv.var for iv in op.axis}
    reduce = {iv.var for iv in op.reduce_axis}
    reads = tensor_reads(op)
    for read in reads:
        t = read.tensor
        if sum(r.tensor is t for r in reads) != 1 or len(read.indices) < 2:
            continue
        dims = [d for d, idx in enumerate(read.indices) if j in vars_of(idx)]
        if len(dims) != 1 or read.indices[dims[0]] is not j:
            continue
        used = set().union(*(vars_of(i) for i in read.indices))
        if not (used & reduce) or not (spatial - used):
            continue
        return PackableRead(t, tuple(read.indices), dims[0])
    return None


def _panel_position(read: PackableRead, op: ComputeOp) -> int:
    """Where the panel index goes among the packed tensor's leading dimensions: before the first
    dimension indexed by a reduction axis, so one panel (reduction x ``nr``) is contiguous."""
    reduce = {iv.var for iv in op.reduce_axis}
    rest = [idx for d, idx in enumerate(read.indices) if d != read.dim]
    return next((p for p, idx in enumerate(rest) if vars_of(idx) & reduce), len(rest))


class _Reads(Mutator):
    """Replace reads of some tensors: by a function of the indices, or by another tensor."""

    def __init__(self, fns: dict[Tensor, Any] | None = None, tmap: dict[Tensor, Tensor] | None = None):
        super().__init__()
        self.fns = fns or {}
        self.tmap = tmap or {}

    def visit_TensorRead(self, node: E.TensorRead) -> E.PrimExpr:
        idx = tuple(self.visit(i) for i in node.indices)
        if node.tensor in self.fns:
            return self.fns[node.tensor](idx)
        return node.with_fields(tensor=self.tmap.get(node.tensor, node.tensor), indices=idx)


def pack_input(tensors: Sequence[Tensor], op: ComputeOp, nr: int
               ) -> tuple[list[Tensor], Tensor, dict[Tensor, Tensor]]:
    """Rewrite the computation ``tensors`` (inputs and outputs) so reduction ``op`` reads its
    packable input through panels of ``nr`` columns: (new tensor list, packed tensor, map from
    every replaced tensor to its new version).  The argument list keeps its order and shapes."""
    read = packable_read(op)
    if read is None:
        raise ValueError(f"stage {op.name} has no input to pack")
    src, dim = read.tensor, read.dim
    m = int(op.axis[-1].dom.extent.value)
    nr = max(1, min(nr, m))
    panels = -(-m // nr)
    pos = _panel_position(read, op)
    rest_shape = [s for d, s in enumerate(src.shape) if d != dim]
    shape = [*rest_shape[:pos], panels, *rest_shape[pos:], nr]

    def fpack(*ax: Any) -> E.PrimExpr:
        *lead, ji = ax
        jo = lead[pos]
        rest = [*lead[:pos], *lead[pos + 1:]]
        col = jo * nr + ji
        idx = [*rest[:dim], col, *rest[dim:]]
        value = src(*idx)
        if m % nr:
            return E.if_then_else(col < m, value, E.const(0, src.dtype))
        return value
    packed = compute(shape, fpack, name=f"{src.op.name}_packed")

    def packed_read(idx: tuple) -> E.PrimExpr:
        jv = idx[dim]
        rest = [i for d, i in enumerate(idx) if d != dim]
        return packed(*rest[:pos], jv // nr, *rest[pos:], jv % nr)
    new_op = ComputeOp(op.name, op.tag, op.attrs, op.axis,
                       [_Reads(fns={src: packed_read}).visit(b) for b in op.body])
    tmap = {op.output(0): new_op.output(0)}
    # Every stage downstream of ``op``, in producer-before-consumer order, rebuilt to read the new tensors.
    rw = _Reads(tmap=tmap)
    for o in compute_ops([t for t in tensors if not isinstance(t.op, PlaceholderOp)]):
        if o is op or not any(t in tmap for t in o.input_tensors):
            continue
        rebuilt = ComputeOp(o.name, o.tag, o.attrs, o.axis, [rw.visit(b) for b in o.body])
        tmap.update({o.output(i): rebuilt.output(i) for i in range(o.num_outputs)})
    return [tmap.get(t, t) for t in tensors], packed, tmap
