"""Tensor-core calls as plain loops, for running GPU kernels on the CPU (``cuda -emulate``).

Guarantees: no wmma call or ``wmma.*`` scope is left; each thread keeps a whole copy of every
fragment in ``local`` storage (fragment ``i`` at elements ``[i * size, (i + 1) * size)``, row
after row of its rows x cols matrix), and every call becomes loops computing on that copy what
the warp-wide operation computes: a fill sets every element, a load reads the tile through the
given pointer, stride and layout, a product accumulates products of the operands converted to the
accumulator's type in order of k, and a store writes the tile. Every lane of a warp computing
the same whole tile (and storing the same values) is what makes this exact.
"""

from __future__ import annotations

from typing import Any

from ...errors import BuildError
from ...te.expr import Call, IntImm, Load, PrimExpr, StringImm, Var, cast, const
from ...te.extern import ACCESS_PTR, DTYPES
from ...te.functor import Mutator
from ..stmt import Allocate, Evaluate, For, ForKind, Stmt, Store, seq
from ..storage_scope import WMMA_SCOPES
from ..wmma import FILL, LOAD, MMA, STORE, Fragment, fragments, mma_operands, uses_wmma


def lower_wmma(stmt: Stmt) -> Stmt:
    """``stmt`` with its fragments in local storage and its wmma calls as loops (module docstring)."""
    if not uses_wmma(stmt):
        return stmt
    return _Lower(fragments(stmt)).visit(stmt)


def _loops(names: str, extents: tuple[int, ...], body: Any) -> Stmt:
    """``body(*vars)`` inside serial loops of ``extents``, the first outermost."""
    vs = [Var(f"wmma_{c}", "int32") for c in names]
    out = body(*vs)
    for v, ext in reversed(list(zip(vs, extents))):
        out = For(v, const(0), const(ext), ForKind.SERIAL, out)
    return out


class _Lower(Mutator):
    def __init__(self, frags: dict[Var, Fragment]) -> None:
        self.frags = frags

    def visit_Allocate(self, node: Allocate) -> Stmt:
        node = self.generic_visit(node)
        if node.scope in WMMA_SCOPES:
            return node.with_fields(scope="local")
        return node

    def visit_Evaluate(self, node: Evaluate) -> Stmt:
        call = node.value
        if not isinstance(call, Call) or call.name not in (FILL, LOAD, MMA, STORE):
            return self.generic_visit(node)
        if call.name == MMA:
            return self._mma(call)
        buf = call.args[0]
        frag = self.frags[buf]
        base = call.args[4] * frag.size

        def at(r: PrimExpr, c: PrimExpr) -> PrimExpr:
            return base + r * frag.cols + c
        if call.name == FILL:
            value = cast(call.args[5], frag.dtype)
            return _loops("rc", (frag.rows, frag.cols), lambda r, c: Store(buf, value, at(r, c)))
        mem, offset = _pointer(call)
        stride, layout = call.args[6], call.args[7]
        col_major = isinstance(layout, StringImm) and layout.value == "col_major"
        if isinstance(layout, StringImm) and layout.value not in ("row_major", "col_major"):
            raise BuildError(f"{call.name} of {buf.name}: the layout must be 'row_major' or 'col_major', "
                             f"got '{layout.value}'")

        def addr(r: PrimExpr, c: PrimExpr) -> PrimExpr:
            return offset + (c * stride + r if col_major else r * stride + c)
        if call.name == LOAD:
            return _loops("rc", (frag.rows, frag.cols),
                          lambda r, c: Store(buf, cast(Load(mem[1], mem[0], addr(r, c)), frag.dtype), at(r, c)))
        return _loops("rc", (frag.rows, frag.cols),
                      lambda r, c: Store(mem[0], cast(Load(frag.dtype, buf, at(r, c)), mem[1]), addr(r, c)))

    def _mma(self, call: Call) -> Stmt:
        d, a, b, c = mma_operands(call, self.frags)
        dv, di, av, ai, bv, bi, cv, ci = call.args
        acc = d.dtype

        def body(i: Var, j: Var) -> Stmt:
            out = di * d.size + i * d.cols + j
            # d may be c itself: copy c's element first, then accumulate in place, k in order.
            first = Store(dv, cast(Load(c.dtype, cv, ci * c.size + i * c.cols + j), acc), out)
            kv = Var("wmma_k", "int32")
            prod = cast(Load(a.dtype, av, ai * a.size + i * a.cols + kv), acc) * \
                cast(Load(b.dtype, bv, bi * b.size + kv * b.cols + j), acc)
            update = For(kv, const(0), const(d.k), ForKind.SERIAL, Store(dv, Load(acc, dv, out) + prod, out))
            return seq(first, update)
        return _loops("ij", (d.m, d.n), body)


def _pointer(call: Call) -> tuple[tuple[Var, Any], PrimExpr]:
    """((buffer, its dtype), element offset) of the pointer argument of a load or store."""
    ptr = call.args[5]
    if not (isinstance(ptr, Call) and ptr.name == ACCESS_PTR and isinstance(ptr.args[0], Var)):
        raise BuildError(f"{call.name}: the pointer argument must be a buffer's access_ptr(), got '{ptr}'")
    code = ptr.args[2]
    dtype = DTYPES[code.value] if isinstance(code, IntImm) and 0 <= code.value < len(DTYPES) else None
    if dtype is None:
        raise BuildError(f"{call.name}: cannot tell the element type of the pointer '{ptr}'")
    return (ptr.args[0], dtype), ptr.args[1]
