"""Tensor-core intrinsics (TVM's wmma calls) and the fragment each ``wmma.*`` buffer holds.

A kernel uses them as TVM's tensor-core schedules do, each call a statement (``Evaluate``):
``tvm_fill_fragment(frag, m, n, k, index, value)``, ``tvm_load_matrix_sync(frag, m, n, k, index,
ptr, stride, layout)``, ``tvm_mma_sync(d, di, a, ai, b, bi, c, ci)`` and
``tvm_store_matrix_sync(frag, m, n, k, index, ptr, stride, layout)``. ``index`` counts whole
fragments of the buffer; ``ptr`` is a buffer's ``access_ptr`` (``tl.address_of``). The shape
(m, n, k) and, for ``matrix_a``/``matrix_b``, the memory layout of a fragment buffer are not
declared anywhere: they are read here from the calls that use it, as TVM's InferFragment does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import BuildError
from ..te.dtype import DType, as_dtype
from ..te.expr import Call, IntImm, Load, StringImm, Var
from ..te.extern import ACCESS_PTR, DTYPES
from ..te.functor import post_order_visit
from .stmt import Allocate, Evaluate, Stmt, Store
from .storage_scope import WMMA_SCOPES

FILL, LOAD, MMA, STORE, BMMA = ("tvm_fill_fragment", "tvm_load_matrix_sync", "tvm_mma_sync",
                                "tvm_store_matrix_sync", "tvm_bmma_sync")
WMMA_CALLS = (FILL, LOAD, MMA, STORE, BMMA)
LAYOUTS = ("row_major", "col_major")

# (m, n, k) shapes nvcuda::wmma offers for each element type of the multiplied matrices.
SHAPES = {"float16": ((16, 16, 16), (32, 8, 16), (8, 32, 16)),
          "int8": ((16, 16, 16), (32, 8, 16), (8, 32, 16)),
          "uint8": ((16, 16, 16), (32, 8, 16), (8, 32, 16))}
ACCUMULATORS = {"float16": ("float16", "float32"), "int8": ("int32",), "uint8": ("int32",)}


@dataclass(frozen=True)
class Fragment:
    """What a ``wmma.*`` buffer holds: whole fragments of ``kind`` (its scope) and shape (m, n, k)."""

    kind: str
    m: int
    n: int
    k: int
    layout: str | None  # matrix_a/matrix_b: the layout they are loaded in; accumulator: None
    dtype: DType

    @property
    def rows(self) -> int:
        return self.k if self.kind == "wmma.matrix_b" else self.m

    @property
    def cols(self) -> int:
        return self.k if self.kind == "wmma.matrix_a" else self.n

    @property
    def size(self) -> int:
        """Elements of one fragment."""
        return self.rows * self.cols


def wmma_call(s: Any) -> Call | None:
    """The wmma call ``s`` evaluates, if it is one."""
    if isinstance(s, Evaluate) and isinstance(s.value, Call) and s.value.name in WMMA_CALLS:
        return s.value
    return None


def uses_wmma(stmt: Stmt) -> bool:
    """Whether ``stmt`` allocates a fragment or makes a wmma call."""
    found = False

    def fn(n: Any) -> None:
        nonlocal found
        found = found or (isinstance(n, Allocate) and n.scope in WMMA_SCOPES) or \
            (isinstance(n, Call) and n.name in WMMA_CALLS)
    post_order_visit(stmt, fn)
    return found


def _int(e: Any, what: str, call: str) -> int:
    if not isinstance(e, IntImm):
        raise BuildError(f"{call}: {what} must be a constant integer, got '{e}'")
    return e.value


def _buffer(e: Any, call: str, allocs: dict[Var, Allocate]) -> Allocate:
    if not isinstance(e, Var) or e not in allocs:
        raise BuildError(f"{call}: '{e}' is not a buffer allocated in a wmma.matrix_a, wmma.matrix_b or "
                         "wmma.accumulator scope (cache_read/cache_write into that scope)")
    return allocs[e]


def fragment_of(alloc: Allocate) -> Fragment:
    """The fragment an Allocate of a ``wmma.*`` scope holds (from the calls in its body)."""
    return fragments(alloc, inner=True)[alloc.buffer]


def fragments(stmt: Stmt, inner: bool = False) -> dict[Var, Fragment]:
    """Every fragment buffer allocated in ``stmt`` with its shape, layout and element type; a
    buffer no call gives a shape, shapes that disagree or that nvcuda::wmma lacks, a layout other
    than row_major/col_major, or a size that is not whole fragments are BuildErrors. ``inner``:
    ``stmt`` is part of a kernel, whose other fragments may be allocated around it."""
    allocs: dict[Var, Allocate] = {}
    calls: list[Call] = []
    elementwise: list[tuple[str, Var]] = []

    def fn(n: Any) -> None:
        if isinstance(n, Allocate) and n.scope in WMMA_SCOPES:
            allocs[n.buffer] = n
        elif isinstance(n, Call) and n.name in WMMA_CALLS:
            calls.append(n)
        elif isinstance(n, (Load, Store)):
            elementwise.append(("read" if isinstance(n, Load) else "written", n.buffer))
    post_order_visit(stmt, fn)
    for how, buf in elementwise:
        if buf in allocs:
            raise BuildError(f"fragment {buf.name} ({allocs[buf].scope}) is {how} element by element: a stage in a "
                             "wmma.* scope holds tensor-core fragments, which only the wmma calls touch; tensorize "
                             "it (and its readers) with tvm_fill_fragment/tvm_load_matrix_sync/tvm_mma_sync/"
                             "tvm_store_matrix_sync intrinsics")
    shapes: dict[Var, tuple[int, int, int]] = {}
    layouts: dict[Var, str] = {}
    for call in calls:
        if call.name == BMMA:
            raise BuildError("tvm_bmma_sync: 1-bit tensor-core products are not supported")
        if call.name == MMA:
            if len(call.args) != 8:
                raise BuildError(f"tvm_mma_sync takes 8 arguments (d, d_index, a, a_index, b, b_index, c, "
                                 f"c_index), got {len(call.args)}")
            for buf in call.args[0::2]:
                if not inner or buf in allocs:
                    _buffer(buf, MMA, allocs)
            continue
        arity = 6 if call.name == FILL else 8
        if len(call.args) != arity:
            raise BuildError(f"{call.name} takes {arity} arguments, got {len(call.args)}")
        buf = call.args[0]
        if inner and buf not in allocs:
            continue
        _buffer(buf, call.name, allocs)
        shape = tuple(_int(a, name, call.name) for a, name in zip(call.args[1:4], "mnk"))
        if shapes.setdefault(buf, shape) != shape:  # type: ignore[arg-type]
            raise BuildError(f"fragment {buf.name}: used with the shapes {shapes[buf]} and {shape} (m, n, k)")
        _check_ldm(call)
        if call.name == LOAD and allocs[buf].scope != "wmma.accumulator":
            layout = call.args[7]
            if not isinstance(layout, StringImm) or layout.value not in LAYOUTS:
                raise BuildError(f"{LOAD} of {buf.name}: the layout must be 'row_major' or 'col_major', got '{layout}'")
            if layouts.setdefault(buf, layout.value) != layout.value:
                raise BuildError(f"fragment {buf.name}: loaded both {layouts[buf]} and {layout.value}")
    out: dict[Var, Fragment] = {}
    for var, alloc in allocs.items():
        if var not in shapes:
            raise BuildError(f"fragment {var.name} ({alloc.scope}): no tvm_fill_fragment, tvm_load_matrix_sync "
                             "or tvm_store_matrix_sync gives its shape")
        m, n, k = shapes[var]
        frag = Fragment(alloc.scope, m, n, k, layouts.get(var, "row_major") if alloc.scope != "wmma.accumulator"
                        else None, alloc.dtype.element_of())
        _check(frag, var, alloc)
        out[var] = frag
    return out


def _check_ldm(call: Call) -> None:
    """A load's or store's row stride (ldm) is whole 16-byte units, as nvcuda::wmma requires."""
    if call.name not in (LOAD, STORE):
        return
    ptr, stride = call.args[5], call.args[6]
    if not (isinstance(stride, IntImm) and isinstance(ptr, Call) and ptr.name == ACCESS_PTR
            and isinstance(ptr.args[2], IntImm) and 0 <= ptr.args[2].value < len(DTYPES)):
        return  # a stride known only at run time: the GPU checks it
    nbytes = as_dtype(DTYPES[ptr.args[2].value]).bytes
    if stride.value * nbytes % 16:
        raise BuildError(f"{call.name} of {call.args[0]}: the row stride {stride.value} of "
                         f"{DTYPES[ptr.args[2].value]} ({stride.value * nbytes} bytes) is not a multiple of 16 "
                         "bytes, as nvcuda::wmma requires (pad the rows with storage_align)")


def _check(frag: Fragment, var: Var, alloc: Allocate) -> None:
    dt = str(frag.dtype)
    if frag.kind == "wmma.accumulator":
        if dt not in ("float16", "float32", "int32"):
            raise BuildError(f"fragment {var.name}: a wmma.accumulator holds float16, float32 or int32, not {dt}")
    elif dt not in SHAPES:
        raise BuildError(f"fragment {var.name}: {frag.kind} holds {', '.join(SHAPES)}, not {dt}")
    allowed = SHAPES.get(dt, SHAPES["float16"] if dt != "int32" else SHAPES["int8"])
    if (frag.m, frag.n, frag.k) not in allowed:
        raise BuildError(f"fragment {var.name}: nvcuda::wmma has no {frag.m}x{frag.n}x{frag.k} shape for {dt} "
                         f"(it has {', '.join('x'.join(map(str, s)) for s in allowed)})")
    if not isinstance(alloc.extent, IntImm) or alloc.extent.value % frag.size:
        raise BuildError(f"fragment {var.name}: {alloc.extent} elements are not whole {frag.rows}x{frag.cols} "
                         "fragments")


def mma_operands(call: Call, frags: dict[Var, Fragment]) -> tuple[Fragment, Fragment, Fragment, Fragment]:
    """The fragments (d, a, b, c) of a ``tvm_mma_sync``, checked to fit together."""
    d, a, b, c = (frags[v] for v in call.args[0::2])
    kinds = [f.kind for f in (d, a, b, c)]
    if kinds != ["wmma.accumulator", "wmma.matrix_a", "wmma.matrix_b", "wmma.accumulator"]:
        raise BuildError(f"tvm_mma_sync wants (accumulator, matrix_a, matrix_b, accumulator) fragments, got "
                         f"({', '.join(kinds)})")
    if len({(f.m, f.n, f.k) for f in (d, a, b, c)}) != 1:
        raise BuildError("tvm_mma_sync: its fragments have different shapes (m, n, k): "
                         f"{[(f.m, f.n, f.k) for f in (d, a, b, c)]}")
    if a.dtype != b.dtype or str(d.dtype) not in ACCUMULATORS.get(str(a.dtype), ()):
        raise BuildError(f"tvm_mma_sync: {a.dtype} x {b.dtype} products into a {d.dtype} accumulator are not a "
                         "tensor-core operation")
    return d, a, b, c
