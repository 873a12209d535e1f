"""Storage flattening. In: Realize/Provide/TensorRead on multi-dimensional tensors.
Out: Allocate/Store/Load on flat row-major buffers; every index is one integer offset
relative to the realized region's minimum (argument buffers start at 0)."""

from __future__ import annotations

from ...errors import LoweringError
from ...te.dtype import HANDLE
from ...te.expr import Load, PrimExpr, TensorRead, Var
from ...te.functor import Mutator
from ...te.tensor import Tensor
from ..function import Buffer
from ..stmt import Allocate, BufferBind, Provide, Realize, Stmt, Store


def _flat(indices: tuple[PrimExpr, ...], mins: tuple[PrimExpr, ...] | None,
          shape: tuple[PrimExpr, ...], strides: tuple[PrimExpr, ...] | None = None) -> PrimExpr:
    from ...te.expr import const
    if strides is not None:  # padded rows (storage_align)
        total: PrimExpr = const(0)
        for d, idx in enumerate(indices):
            rel = idx if mins is None else idx - mins[d]
            total = total + rel * strides[d]
        return total
    offset: PrimExpr | None = None
    for d, idx in enumerate(indices):
        rel = idx if mins is None else idx - mins[d]
        offset = rel if offset is None else offset * shape[d] + rel
    return offset if offset is not None else const(0)


def _aligned_strides(extents: tuple[PrimExpr, ...], aligns: dict[int, tuple[int, int]]) -> tuple[PrimExpr, ...]:
    """Row-major strides, the stride of each aligned dimension rounded up to factor * k + offset."""
    from ...te.expr import const
    strides: list[PrimExpr] = [const(1)] * len(extents)
    for d in range(len(extents) - 2, -1, -1):
        stride = strides[d + 1] * extents[d + 1]
        if d in aligns:
            factor, offset = aligns[d]
            stride = stride + (factor + offset - stride % factor) % factor
        strides[d] = stride
    return tuple(strides)


class _Flatten(Mutator):
    def __init__(self, args: dict[Tensor, Buffer], aliases: dict[Tensor, Tensor] | None = None,
                 aligns: dict[Tensor, dict[int, tuple[int, int]]] | None = None):
        super().__init__()
        self.aliases = aliases or {}
        self.aligns = aligns or {}
        self.strides: dict[Tensor, tuple[PrimExpr, ...]] = {}
        # tensor -> (buffer var, region mins or None for arguments, region extents)
        self.bufs: dict[Tensor, tuple[Var, tuple | None, tuple]] = {
            t: (b.data, None, b.shape) for t, b in args.items()}

    def visit_Realize(self, node: Realize) -> Stmt:
        if node.tensor in self.aliases:
            return self.visit(node.body)  # stored in the tensor it aliases
        var = Var(node.tensor.name, HANDLE)
        self.bufs[node.tensor] = (var, node.mins, node.extents)
        align = self.aligns.get(node.tensor)
        if align and len(node.extents) > 1:
            strides = _aligned_strides(tuple(node.extents), align)
            self.strides[node.tensor] = strides
        body = self.visit(node.body)
        size: PrimExpr | None = None
        for e in node.extents:
            size = e if size is None else size * e
        if node.tensor in self.strides:
            size = self.strides[node.tensor][0] * node.extents[0]
        from ...te.expr import const
        return Allocate(var, node.tensor.dtype, size if size is not None else const(1), node.scope, body)

    def _lookup(self, t: Tensor) -> tuple[Var, tuple | None, tuple]:
        got = self.bufs.get(self.aliases.get(t, t))
        if got is None:
            raise LoweringError(f"tensor {t.name} is used but is neither in the argument list nor computed "
                                "by this schedule; add it to the arguments of lower/build")
        return got

    def visit_BufferBind(self, node: BufferBind) -> Stmt:
        var, _, _ = self._lookup(node.tensor)
        return _Rebind({node.var: var}).visit(self.visit(node.body))

    def visit_Provide(self, node: Provide) -> Stmt:
        var, mins, shape = self._lookup(node.tensor)
        idx = tuple(self.visit(i) for i in node.indices)
        return Store(var, self.visit(node.value), _flat(idx, mins, shape, self.strides.get(node.tensor)))

    def visit_TensorRead(self, node: TensorRead) -> PrimExpr:
        var, mins, shape = self._lookup(node.tensor)
        idx = tuple(self.visit(i) for i in node.indices)
        return Load(node.dtype, var, _flat(idx, mins, shape, self.strides.get(node.tensor)))


class _Rebind(Mutator):
    """Replace buffer handles, in expressions and as the buffer of loads and stores."""

    def __init__(self, vmap: dict[Var, Var]):
        super().__init__()
        self.vmap = vmap

    def visit_Var(self, node: Var) -> PrimExpr:
        return self.vmap.get(node, node)

    def visit_Load(self, node: Load) -> PrimExpr:
        node = self.generic_visit(node)
        return node.with_fields(buffer=self.vmap.get(node.buffer, node.buffer))

    def visit_Store(self, node: Store) -> Stmt:
        node = self.generic_visit(node)
        return node.with_fields(buffer=self.vmap.get(node.buffer, node.buffer))


def storage_flatten(stmt: Stmt, args: dict[Tensor, Buffer], aliases: dict[Tensor, Tensor] | None = None,
                    aligns: dict[Tensor, dict[int, tuple[int, int]]] | None = None) -> Stmt:
    """Flatten all tensor accesses of ``stmt``; ``args`` maps argument tensors to their buffers,
    ``aliases`` tensors that share another's storage (a scan's state is its output), ``aligns``
    the padded dimensions of realized tensors (Stage.storage_align)."""
    return _Flatten(args, aliases, aligns).visit(stmt)
