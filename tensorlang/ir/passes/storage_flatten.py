"""Storage flattening. In: Realize/Provide/TensorRead on multi-dimensional tensors.
Out: Allocate/Store/Load on flat row-major buffers; every index is one integer offset
relative to the realized region's minimum (argument buffers start at 0)."""

from __future__ import annotations

from ...arith import can_prove, simplify
from ...errors import LoweringError
from ...te.dtype import HANDLE, INT32, INT64, DType
from ...te.expr import IntImm, Load, PrimExpr, TensorRead, Var, cast, const
from ...te.functor import Mutator, Substituter, substitute
from ...te.tensor import Tensor
from ..function import Buffer
from ..stmt import Allocate, BufferBind, BufferRegionBind, Provide, Realize, Stmt, Store


def index_dtype(shape: tuple[PrimExpr, ...]) -> DType:
    """int64 when a flat offset into a buffer of ``shape`` can pass 2**31 - 1 (a constant
    element count that large, or a product of symbolic dimensions), else int32."""
    total = 1
    for dim in shape:
        if not isinstance(dim, IntImm):
            if len(shape) > 1 or dim.dtype.bits > 32:
                return INT64
            continue
        total *= max(dim.value, 1)
    return INT64 if total > 2**31 - 1 else INT32


def _flat(indices: tuple[PrimExpr, ...], mins: tuple[PrimExpr, ...] | None,
          shape: tuple[PrimExpr, ...], strides: tuple[PrimExpr, ...] | None = None) -> PrimExpr:
    # Padded strides carry their own width (see _aligned_strides); otherwise the shape decides.
    wide = strides[-1].dtype == INT64 if strides else index_dtype(shape) == INT64

    def rel(d: int, idx: PrimExpr) -> PrimExpr:
        out = idx if mins is None else idx - mins[d]
        return cast(out, INT64) if wide else out  # each index fits; only the offset needs 64 bits

    def dim(e: PrimExpr) -> PrimExpr:
        return cast(e, INT64) if wide else e

    if strides is not None:  # padded rows (storage_align)
        total: PrimExpr = const(0, INT64 if wide else INT32)
        for d, idx in enumerate(indices):
            total = total + rel(d, idx) * dim(strides[d])
        return total
    offset: PrimExpr | None = None
    for d, idx in enumerate(indices):
        offset = rel(d, idx) if offset is None else offset * dim(shape[d]) + rel(d, idx)
    return offset if offset is not None else const(0)


def _padded_wide(extents: tuple[PrimExpr, ...], aligns: dict[int, tuple[int, int]]) -> bool:
    """Whether padded storage needs 64-bit strides and offsets: padding can take a tensor whose
    plain element count fits in int32 past 2**31 - 1 (and a factor that large is no int32)."""
    if index_dtype(extents) == INT64 or any(f + o > 2**31 - 1 for f, o in aligns.values()):
        return True
    if not all(isinstance(e, IntImm) for e in extents):
        return True  # a symbolic padded stride can pass 2**31 - 1 whatever the factor
    stride = 1
    for d in range(len(extents) - 2, -1, -1):
        stride *= max(extents[d + 1].value, 1)
        if d in aligns:
            factor, offset = aligns[d]
            stride += (factor + offset - stride % factor) % factor
    return stride * max(extents[0].value, 1) > 2**31 - 1


def _aligned_strides(extents: tuple[PrimExpr, ...], aligns: dict[int, tuple[int, int]],
                     wide: bool) -> tuple[PrimExpr, ...]:
    """Row-major strides, the stride of each aligned dimension rounded up to factor * k + offset;
    all of them int64 when ``wide``, so that no product wraps before it is widened."""
    dt = INT64 if wide else INT32
    strides: list[PrimExpr] = [const(1, dt)] * len(extents)
    for d in range(len(extents) - 2, -1, -1):
        stride = strides[d + 1] * cast(extents[d + 1], dt)
        if d in aligns:
            factor, offset = (const(v, dt) for v in aligns[d])
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
        # A region bound may read another tensor (a cache of A[G[i]] attached at i starts at G[i]):
        # flattened like any other read, as the bounds end up in indices and the allocation size.
        node = node.with_fields(mins=tuple(self.visit(m) for m in node.mins),
                                extents=tuple(self.visit(e) for e in node.extents))
        self.bufs[node.tensor] = (var, node.mins, node.extents)
        align = self.aligns.get(node.tensor)
        wide = index_dtype(tuple(node.extents)) == INT64
        if align and len(node.extents) > 1:
            wide = _padded_wide(tuple(node.extents), align)
            self.strides[node.tensor] = _aligned_strides(tuple(node.extents), align, wide)
        body = self.visit(node.body)
        size: PrimExpr | None = None
        extents = [cast(e, INT64) if wide else e for e in node.extents]  # 2**32 elements must not wrap to 0
        for e in extents:
            size = e if size is None else size * e
        if node.tensor in self.strides:
            stride = self.strides[node.tensor][0]
            size = (cast(stride, INT64) if wide else stride) * extents[0]
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

    def visit_BufferRegionBind(self, node: BufferRegionBind) -> Stmt:
        """Bind a declared buffer to a region: its data to the tensor's storage, its element
        offset to the region's first element, its strides to the storage's strides."""
        t, buf = node.tensor, node.buffer
        var, mins, shape = self._lookup(t)
        strides = self.strides.get(t)
        if strides is None:
            rows: list[PrimExpr] = [const(1)]
            for d in reversed(shape[1:]):
                rows.insert(0, simplify(rows[0] * d))
            strides = tuple(rows)
        where = f"buffer {buf.name} bound to tensor {t.name}"
        offset = simplify(_flat(tuple(self.visit(m) for m in node.mins), mins, shape, self.strides.get(t)))
        vmap: dict[Var, PrimExpr] = {}
        _bind(buf.elem_offset, offset, vmap, f"{where}: element offset",
              "declare it with offset_factor=1 (or elem_offset=te.var()) to accept any offset")
        mine = strides[len(strides) - len(buf.shape):]
        if buf.strides:
            for d, (want, have) in enumerate(zip(buf.strides, mine)):
                _bind(want, have, vmap, f"{where}: stride of dimension {d}",
                      "declare it with strides=[te.var(...), ..., 1] to accept the tensor's layout")
        else:
            compact: PrimExpr = const(1)
            for d in range(len(buf.shape) - 1, -1, -1):
                _bind(compact, mine[d], vmap, f"{where}: the buffer is declared compact, but the stride of "
                      f"dimension {d}", "declare it with strides=[te.var(...), ..., 1] to accept the tensor's layout")
                compact = simplify(compact * buf.shape[d])
        for d, (want, have) in enumerate(zip(buf.shape, node.extents[len(node.extents) - len(buf.shape):])):
            _bind(want, have, vmap, f"{where}: extent of dimension {d}", "")
        body = substitute(self.visit(node.body), vmap)
        return _Rebind({buf.data: var}).visit(body)

    def visit_Provide(self, node: Provide) -> Stmt:
        var, mins, shape = self._lookup(node.tensor)
        idx = tuple(self.visit(i) for i in node.indices)
        return Store(var, self.visit(node.value), _flat(idx, mins, shape, self.strides.get(node.tensor)))

    def visit_TensorRead(self, node: TensorRead) -> PrimExpr:
        var, mins, shape = self._lookup(node.tensor)
        idx = tuple(self.visit(i) for i in node.indices)
        return Load(node.dtype, var, _flat(idx, mins, shape, self.strides.get(node.tensor)))


def _bind(want: PrimExpr, have: PrimExpr, vmap: dict[Var, PrimExpr], what: str, hint: str) -> None:
    """A variable of a declared buffer takes the value; a constant must equal it."""
    if isinstance(want, Var):
        vmap[want] = cast(have, want.dtype)
        return
    if not can_prove(want.equal(have)):
        why = f"{what} is {simplify(have)} but the declaration says {want}"
        raise LoweringError(f"{why}; {hint}" if hint else why)


class _Rebind(Substituter):
    """Replace buffer handles, in expressions and as the buffer of loads and stores."""

    def visit_Load(self, node: Load) -> PrimExpr:
        node = self.generic_visit(node)
        return node.with_fields(buffer=self.vmap.get(node.buffer, node.buffer))

    def visit_Store(self, node: Store) -> Stmt:
        node = self.generic_visit(node)
        return node.with_fields(buffer=self.vmap.get(node.buffer, node.buffer))


def storage_flatten(stmt: Stmt, args: dict[Tensor, Buffer], aliases: dict[Tensor, Tensor] | None = None,
                    aligns: dict[Tensor, dict[int, tuple[int, int]]] | None = None,
                    buffers: dict[Tensor, Var] | None = None) -> Stmt:
    """Flatten all tensor accesses of ``stmt``; ``args`` maps argument tensors to their buffers,
    ``aliases`` tensors that share another's storage (a scan's state is its output), ``aligns``
    the padded dimensions of realized tensors (Stage.storage_align); ``buffers``, when given,
    receives the buffer variable of every tensor."""
    flat = _Flatten(args, aliases, aligns)
    out = flat.visit(stmt)
    if buffers is not None:
        buffers.update({t: v for t, (v, *_) in flat.bufs.items()})
    return out
