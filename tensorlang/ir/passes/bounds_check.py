"""insert_bounds_checks: guarantees that every Load and Store on a buffer of known size (an
argument buffer, an Allocate) carries its index as ``tl.bounds_check(index, size, name)``,
which code generation turns into a run-time check of each enabled lane (``-bounds-check``).

The wrapped index keeps the index's dtype and value; ``size`` is the buffer's element count as
int64 and ``name`` the tensor's name, for the error. Accesses through other handles (a Let of a
pointer) stay unchecked.
"""

from __future__ import annotations

from typing import Any

from ...te.dtype import INT64
from ...te.expr import Call, IntImm, Load, PrimExpr, StringImm, Var, cast
from ...te.functor import Mutator
from ..function import PrimFunc
from ..stmt import Allocate, Store

CHECK = "tl.bounds_check"
# In a CHECK of one dimension of a multi-dimensional tensor (schedule.read_bounds.checked_reads),
# the name is the tensor's and the dimension's, joined by this (target.abi.bounds_error splits them).
DIMENSION_SEPARATOR = "\x1f"


def dimension_name(tensor: str, dim: int, ndim: int) -> str:
    """The name a CHECK of dimension ``dim`` of an ``ndim``-dimensional tensor carries (a 1-D
    tensor's index is its element index: the tensor's name alone)."""
    return tensor if ndim == 1 else f"{tensor}{DIMENSION_SEPARATOR}{dim}"


def insert_bounds_checks(func: PrimFunc) -> PrimFunc:
    """``func`` with every access to a buffer of known size checked (see the module docstring)."""
    sizes: dict[Var, tuple[PrimExpr, str]] = {}
    for b in func.buffers:
        size: PrimExpr = IntImm(INT64, 1)
        for d in b.shape:
            size = size * cast(d, INT64)
        sizes[b.data] = (size, b.name)
    return func.with_body(_Check(sizes).visit(func.body))


def unwrap(index: PrimExpr) -> tuple[PrimExpr, PrimExpr | None, str]:
    """(index, size, name) of a checked index; (index, None, "") of any other."""
    if isinstance(index, Call) and index.name == CHECK:
        value, size, name = index.args
        return value, size, name.value
    return index, None, ""


class _Check(Mutator):
    def __init__(self, sizes: dict[Var, tuple[PrimExpr, str]]):
        super().__init__()
        self.sizes = sizes

    def _wrap(self, buffer: Var, index: PrimExpr) -> PrimExpr:
        known = self.sizes.get(buffer)
        if known is None:
            return index
        size, name = known
        return Call(index.dtype, CHECK, (index, size, StringImm(name)))

    def visit_Allocate(self, s: Allocate) -> Any:
        lanes = s.dtype.lanes
        self.sizes[s.buffer] = (cast(s.extent, INT64) * IntImm(INT64, lanes), s.buffer.name)
        try:
            return self.generic_visit(s)
        finally:
            del self.sizes[s.buffer]

    def visit_Load(self, e: Load) -> Any:
        e = self.generic_visit(e)
        return e.with_fields(index=self._wrap(e.buffer, e.index))

    def visit_Store(self, s: Store) -> Any:
        s = self.generic_visit(s)
        return s.with_fields(index=self._wrap(s.buffer, s.index))
