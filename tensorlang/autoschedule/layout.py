"""Layout rewrites of a reduction's weight-like input: contiguous column panels, or output lanes.

A weight-like input of a reduction is read once, indexed by one output axis ``a`` in exactly one
dimension (``W[..., a, ...]``) and by a reduction axis, and reused across the other output axes.
Packing it with ``a``'s block innermost (``P[..., a // bn, ..., a % bn]``, the panel index
before the first dimension a reduction axis indexes, so one block over the whole reduction is
one contiguous stream) serves two sketches:

* panels (``pack_input``): ``a`` is the output's innermost axis, as B's columns in a matmul
  ``C[i, j] = sum_k A[i, k] * B[k, j]``: walking B down its columns strides a whole row per
  step of ``k`` (at 1024 floats a row, every step lands in the same L1 set and a new page);
  the panels make the ``nr`` columns a register tile needs one contiguous stream
  (``examples/matmul.py`` packs by hand);
* output lanes (``lanes_rewrite``): ``a`` is another output axis, one that the other inputs do
  not use (each of their values is then broadcast across ``a``'s block), as a convolution's
  output channels: the reduction is rebuilt with ``a % bn`` as a new innermost output axis
  (vector lanes that the packed weight fills with aligned loads), and an unpacking stage puts
  the result back in the original layout (``conv2d_nchwc`` in ``examples/conv2d.py`` by hand).

Both rewrite the computation at the ``te`` level: new stages, the reduction rebuilt to read the
packed input, and every stage downstream rebuilt to read the new tensors.  The function's
arguments (inputs and outputs) keep their shapes and order, so the result is checked and built
like the original.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..te import expr as E
from ..te.functor import Mutator, substitute
from ..te.operation import compute
from ..te.tensor import ComputeOp, IterVar, IterVarType, PlaceholderOp, Range, Tensor
from .dag import compute_ops, tensor_reads, vars_of


@dataclass(frozen=True)
class PackableRead:
    """Input ``tensor`` of a reduction, read with ``indices``; dimension ``dim`` is the output's
    axis number ``axis`` itself."""

    tensor: Tensor
    indices: tuple
    dim: int
    axis: int = -1


def packable_read(op: ComputeOp, axis: int = -1) -> PackableRead | None:
    """The weight-like input of reduction ``op`` along output axis ``axis`` (default the
    innermost), or None: read once, that axis in exactly one dimension and nothing else there,
    a reduction axis in another, and some other output axis unused (reuse across it)."""
    if op.num_outputs != 1 or not op.reduce_axis or len(op.axis) < 2:
        return None
    axis %= len(op.axis)
    a = op.axis[axis].var
    spatial = {iv.var for iv in op.axis}
    reduce = {iv.var for iv in op.reduce_axis}
    reads = tensor_reads(op)
    for read in reads:
        t = read.tensor
        if sum(r.tensor is t for r in reads) != 1 or len(read.indices) < 2:
            continue
        dims = [d for d, idx in enumerate(read.indices) if a in vars_of(idx)]
        if len(dims) != 1 or read.indices[dims[0]] is not a:
            continue
        used = set().union(*(vars_of(i) for i in read.indices))
        if not (used & reduce) or not (spatial - used):
            continue
        return PackableRead(t, tuple(read.indices), dims[0], axis)
    return None


def lane_read(op: ComputeOp) -> PackableRead | None:
    """The weight-like input of reduction ``op`` along a non-innermost output axis that no
    other input uses (its values are broadcast across that axis's lanes); the longest such axis.
    None when there is none."""
    found = []
    for axis in range(len(op.axis) - 1):
        read = packable_read(op, axis)
        if read is None:
            continue
        a = op.axis[axis].var
        if any(r.tensor is not read.tensor and any(a in vars_of(i) for i in r.indices) for r in tensor_reads(op)):
            continue
        found.append(read)
    return max(found, key=lambda r: (int(op.axis[r.axis].dom.extent.value), -r.axis), default=None)


def _panel_position(read: PackableRead, op: ComputeOp) -> int:
    """Where the block index goes among the packed tensor's leading dimensions: before the first
    dimension indexed by a reduction axis, so one block (reduction x ``nr``) is contiguous."""
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


def _pack(read: PackableRead, op: ComputeOp, nr: int) -> tuple[Tensor, Callable[[E.PrimExpr, E.PrimExpr, list], Any]]:
    """(packed tensor, ``at(block, lane, rest)``: the packed element standing for the source's
    element at ``rest`` (its indices without dimension ``read.dim``) and ``block * nr + lane``)."""
    src, dim = read.tensor, read.dim
    m = int(op.axis[read.axis].dom.extent.value)
    blocks = -(-m // nr)
    pos = _panel_position(read, op)
    rest_shape = [s for d, s in enumerate(src.shape) if d != dim]
    shape = [*rest_shape[:pos], blocks, *rest_shape[pos:], nr]

    def fpack(*ax: Any) -> E.PrimExpr:
        *lead, ji = ax
        jo = lead[pos]
        rest = [*lead[:pos], *lead[pos + 1:]]
        col = jo * nr + ji
        value = src(*rest[:dim], col, *rest[dim:])
        if m % nr:
            return E.if_then_else(col < m, value, E.const(0, src.dtype))
        return value
    packed = compute(shape, fpack, name=f"{src.op.name}_packed")

    def at(block: Any, lane: Any, rest: list) -> Any:
        return packed(*rest[:pos], block, *rest[pos:], lane)
    return packed, at


def _rebuild_downstream(tensors: Sequence[Tensor], op: ComputeOp, tmap: dict[Tensor, Tensor]) -> list[Tensor]:
    """Every stage downstream of ``op``, in producer-before-consumer order, rebuilt to read the
    replaced tensors of ``tmap`` (which it extends); the argument list with its replacements."""
    rw = _Reads(tmap=tmap)
    for o in compute_ops([t for t in tensors if not isinstance(t.op, PlaceholderOp)]):
        if o is op or not any(t in tmap for t in o.input_tensors):
            continue
        rebuilt = ComputeOp(o.name, o.tag, o.attrs, o.axis, [rw.visit(b) for b in o.body])
        tmap.update({o.output(i): rebuilt.output(i) for i in range(o.num_outputs)})
    return [tmap.get(t, t) for t in tensors]


def pack_input(tensors: Sequence[Tensor], op: ComputeOp, nr: int
               ) -> tuple[list[Tensor], Tensor, dict[Tensor, Tensor]]:
    """Rewrite the computation ``tensors`` (inputs and outputs) so reduction ``op`` reads its
    packable input through panels of ``nr`` columns: (new tensor list, packed tensor, map from
    every replaced tensor to its new version).  The argument list keeps its order and shapes."""
    read = packable_read(op)
    if read is None:
        raise ValueError(f"stage {op.name} has no input to pack")
    m = int(op.axis[-1].dom.extent.value)
    nr = max(1, min(nr, m))
    packed, at = _pack(read, op, nr)

    def packed_read(idx: tuple) -> E.PrimExpr:
        jv = idx[read.dim]
        return at(jv // nr, jv % nr, [i for d, i in enumerate(idx) if d != read.dim])
    new_op = ComputeOp(op.name, op.tag, op.attrs, op.axis,
                       [_Reads(fns={read.tensor: packed_read}).visit(b) for b in op.body])
    tmap = {op.output(0): new_op.output(0)}
    return _rebuild_downstream(tensors, op, tmap), packed, tmap


@dataclass(frozen=True)
class LaneStages:
    """The stages ``lanes_rewrite`` makes of one reduction."""

    packed: Tensor      # the weight-like input, the lane axis's block innermost
    lanes: Tensor       # the reduction, the lane axis split: (..., a // bn, ..., a % bn)
    unpacked: Tensor    # the reduction's result in its original layout (the original name)
    axis: int           # the output axis in the lanes
    block_dim: int      # the dimension of ``packed`` that numbers the blocks


def lane_blocks(op: ComputeOp, lanes: int) -> tuple[int, ...]:
    """Lane blocks ``lanes_rewrite`` may use for ``op``: whole vectors (1 to 4 of them) that
    divide the lane axis, else 8 or 4 lanes when those divide it; () when nothing fits (or no
    input is weight-like along a non-innermost axis)."""
    read = lane_read(op)
    if read is None:
        return ()
    m = int(op.axis[read.axis].dom.extent.value)
    whole = tuple(v * lanes for v in (2, 1, 4, 3) if m % (v * lanes) == 0)
    return whole or tuple(b for b in (8, 4) if b < lanes and m % b == 0)


def lanes_rewrite(tensors: Sequence[Tensor], op: ComputeOp, bn: int
                  ) -> tuple[list[Tensor], LaneStages, dict[Tensor, Tensor]]:
    """Rewrite the computation ``tensors`` so reduction ``op`` computes ``bn`` points of its lane
    axis (``lane_read``) as its innermost axis, reading the weight-like input packed with that
    block innermost; a new stage with ``op``'s name unpacks the result.  ``bn`` must divide the
    axis.  Returns (new tensor list, the new stages, map from every replaced tensor to its new
    version); the argument list keeps its order and shapes."""
    read = lane_read(op)
    if read is None:
        raise ValueError(f"stage {op.name} has no weight-like input along a non-innermost axis")
    a = read.axis
    m = int(op.axis[a].dom.extent.value)
    if bn < 1 or m % bn:
        raise ValueError(f"stage {op.name}: a lane block of {bn} does not divide axis "
                         f"{op.axis[a].var.name} of extent {m}")
    packed, at = _pack(read, op, bn)
    pos = _panel_position(read, op)
    axes = []
    for i, iv in enumerate(op.axis):
        extent = m // bn if i == a else int(iv.dom.extent.value)
        name = f"{iv.var.name}.block" if i == a else iv.var.name
        axes.append(IterVar(Range(0, extent), E.Var(name, iv.var.dtype), IterVarType.DATA_PAR))
    lane = IterVar(Range(0, bn), E.Var(f"{op.axis[a].var.name}.lane", op.axis[a].var.dtype), IterVarType.DATA_PAR)
    block = axes[a].var
    vmap = {iv.var: (block * bn + lane.var if i == a else axes[i].var) for i, iv in enumerate(op.axis)}

    def packed_read(idx: tuple) -> E.PrimExpr:
        return at(block, lane.var, [i for d, i in enumerate(idx) if d != read.dim])
    body = [_Reads(fns={read.tensor: packed_read}).visit(substitute(b, vmap)) for b in op.body]
    lanes_op = ComputeOp(f"{op.name}_lanes", op.tag, op.attrs, [*axes, lane], body)
    inner = lanes_op.output(0)

    def funpack(*ax: Any) -> E.PrimExpr:
        return inner(*ax[:a], ax[a] // bn, *ax[a + 1:], ax[a] % bn)
    unpacked = compute(op.output(0).shape, funpack, name=op.name)
    tmap = {op.output(0): unpacked}
    return _rebuild_downstream(tensors, op, tmap), LaneStages(packed, inner, unpacked, a, pos), tmap
