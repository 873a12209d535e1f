"""CUDA C of tensor-core fragments and calls (``ir.wmma``): nvcuda::wmma from <mma.h>.

Guarantees: a fragment buffer is declared as an array of ``nvcuda::wmma::fragment`` of the shape,
layout and element type its calls give it (one array element a fragment, indexed as the calls
index it), and every wmma call is the nvcuda::wmma function of the same meaning.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import BuildError
from ...ir.wmma import FILL, LOAD, MMA, STORE, Fragment, mma_operands
from ...te import expr as E

PREAMBLE = "#include <mma.h>  // tensor cores: nvcuda::wmma"
_NS = "nvcuda::wmma"
_ELEMENT = {"float16": "half", "float32": "float", "int32": "int", "int8": "signed char", "uint8": "unsigned char"}


def fragment_type(frag: Fragment) -> str:
    """The ``nvcuda::wmma::fragment<...>`` type of one fragment of ``frag``."""
    kind = frag.kind.split(".")[1]
    parts = [f"{_NS}::{kind}", str(frag.m), str(frag.n), str(frag.k), _ELEMENT[str(frag.dtype)]]
    if frag.layout is not None:
        parts.append(f"{_NS}::{frag.layout}")
    return f"{_NS}::fragment<{', '.join(parts)}>"


def fragment_decl(frag: Fragment, cname: str, elements: int) -> str:
    """The declaration of a fragment buffer of ``elements`` elements."""
    return f"{fragment_type(frag)} {cname}[{elements // frag.size}];"


def render_call(call: E.Call, frags: dict[E.Var, Fragment], name: Callable[[E.Var], str],
                expr: Callable[[E.PrimExpr], str], kernel: str) -> str:
    """The C statement of a wmma call; ``name`` gives a fragment buffer's C name, ``expr`` renders
    an expression (an index, a value, a pointer)."""
    def frag(buf: E.PrimExpr, index: E.PrimExpr) -> str:
        return f"{name(buf)}[{expr(index)}]"  # type: ignore[arg-type]
    if call.name == MMA:
        mma_operands(call, frags)  # the operands fit together
        d, di, a, ai, b, bi, c, ci = call.args
        return f"{_NS}::mma_sync({frag(d, di)}, {frag(a, ai)}, {frag(b, bi)}, {frag(c, ci)});"
    buf, index = call.args[0], call.args[4]
    f = frags[buf]  # type: ignore[index]
    if call.name == FILL:
        value = call.args[5]
        return f"{_NS}::fill_fragment({frag(buf, index)}, ({_ELEMENT[str(f.dtype)]})({expr(value)}));"
    ptr, stride, layout = call.args[5], call.args[6], call.args[7]
    mem = f"{_NS}::mem_{layout.value}" if isinstance(layout, E.StringImm) else None
    if mem is None or layout.value not in ("row_major", "col_major"):  # type: ignore[union-attr]
        raise BuildError(f"kernel {kernel}: {call.name} wants the layout 'row_major' or 'col_major', got '{layout}'")
    if call.name == LOAD:
        tail = f", {mem}" if f.kind == "wmma.accumulator" else ""
        return f"{_NS}::load_matrix_sync({frag(buf, index)}, {expr(ptr)}, {expr(stride)}{tail});"
    if call.name == STORE:
        if f.kind != "wmma.accumulator":
            raise BuildError(f"kernel {kernel}: {STORE} stores accumulator fragments; {buf} is {f.kind}")
        return f"{_NS}::store_matrix_sync({expr(ptr)}, {frag(buf, index)}, {expr(stride)}, {mem});"
    raise BuildError(f"kernel {kernel}: {call.name} is not supported")
