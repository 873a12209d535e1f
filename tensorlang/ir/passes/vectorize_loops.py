"""vectorize_loops: guarantees that no VECTORIZED loop remains and that binary operands agree in lanes."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from ...errors import LoweringError
from ...te.expr import (
    NE,
    Add,
    And,
    BinaryOp,
    Broadcast,
    Call,
    Cast,
    FloatImm,
    FloorDiv,
    FloorMod,
    IntImm,
    Let,
    Load,
    Mul,
    Not,
    PrimExpr,
    Ramp,
    Select,
    Sub,
    Var,
    binary,
    cast,
    const,
    logical,
    logical_not,
)
from ...te.functor import Mutator, post_order_visit, substitute
from ..stmt import Allocate, Evaluate, For, ForKind, IfThenElse, LetStmt, SeqStmt, Stmt, Store, is_no_op, no_op, seq
from .bounds_check import CHECK

# Wider vectors only cost compile time (every lane is spelled out in the IR).
MAX_LANES = 1024


def vectorize_loops(stmt: Stmt) -> Stmt:
    """Rewrite every VECTORIZED loop of constant extent L as its body on L-lane vectors.

    The loop variable becomes ``Ramp(min, 1, L)``.  Lane-invariant values stay scalar until
    they meet a vector, where they are Broadcast; affine index arithmetic (ramp +/- scalar,
    ramp * scalar, ramp + ramp, widening integer casts) stays a Ramp so that stride-1
    accesses remain contiguous.  Lanes the scalar loop would not run never touch memory:
    under a lane-varying ``if`` every Store and Load carries the lane mask as its predicate,
    and the Loads in each arm of a vector Select carry that arm's condition.  A lane-invariant
    load or store under such a mask becomes a predicated access with a Broadcast index.

    Raises LoweringError for a VECTORIZED loop whose extent is not a constant, and for a store
    to a lane-invariant address of a lane-varying value, or of a value read from the same
    buffer (both reduce across the lanes).  A loop whose body cannot be vectorized (an
    Allocate, an inner loop whose bounds vary across lanes, a PARALLEL, thread-bound or nested
    VECTORIZED loop, an Evaluate with effects, an unknown node) becomes SERIAL instead, and
    VECTORIZED loops inside it are vectorized on their own.
    """
    return _LoopVectorizer().visit(stmt)


class _Scalarize(Exception):
    """Raised from a loop body this pass cannot vectorize; that loop becomes SERIAL."""


class _LoopVectorizer(Mutator):
    """Finds VECTORIZED loops, outermost first, and hands each body to a _Vectorizer."""

    def visit_For(self, op: For) -> Stmt:
        if op.kind is not ForKind.VECTORIZED:
            return self.generic_visit(op)
        if not isinstance(op.extent, IntImm):
            raise LoweringError(
                f"cannot vectorize loop {op.loop_var.name}: its extent {op.extent} is not a constant; "
                "split the loop by a constant factor first and vectorize the inner loop")
        lanes = op.extent.value
        if lanes > MAX_LANES:
            raise LoweringError(
                f"cannot vectorize loop {op.loop_var.name}: {lanes} lanes is more than the {MAX_LANES} "
                "tensorlang allows; split it by a factor that fits the machine's vectors (8, 16 ...) and "
                "vectorize the inner loop")
        start = cast(op.min, op.loop_var.dtype)
        if lanes <= 0:
            return no_op()
        if lanes == 1:
            return self.visit(substitute(op.body, {op.loop_var: start}))
        smallest = lanes & -lanes  # the largest power of two dividing the extent
        if smallest != lanes and smallest >= 4:
            # LLVM legalizes vectors of non-power-of-two length poorly (spills and shuffles):
            # run such a loop as consecutive power-of-two vectors instead, the widest first, one
            # per set bit of the extent (56 -> 32 + 16 + 8 lanes: three 16-lane registers and
            # one of 8 on AVX-512, where 7 x 8 lanes would run at half width).
            parts, offset = [], 0
            for bit in reversed(range(lanes.bit_length())):
                width = 1 << bit
                if not lanes & width:
                    continue
                inner = Var(op.loop_var.name, op.loop_var.dtype)
                parts.append(For(inner, const(0, inner.dtype), const(width, inner.dtype), ForKind.VECTORIZED,
                                 substitute(op.body, {op.loop_var: start + offset + inner}), op.thread_tag,
                                 op.annotations))
                offset += width
            return self.visit(seq(*parts))
        try:
            return _Vectorizer(op.loop_var, start, lanes).visit(op.body)
        except _Scalarize:
            serial = For(op.loop_var, op.min, op.extent, ForKind.SERIAL, op.body, op.thread_tag,
                         op.annotations)
            return self.generic_visit(serial)


class _Vectorizer(Mutator):
    """Rewrites one loop body on vectors.  A result with one lane is lane-invariant."""

    def __init__(self, var: Var, start: PrimExpr, lanes: int):
        super().__init__()
        self.var = var
        self.lanes = lanes
        # What each variable means inside the body: the loop variable, and let-bound variables
        # whose values became vectors.
        self.vmap: dict[Var, PrimExpr] = {var: Ramp(start, const(1, start.dtype), lanes)}
        # The lanes that run here (a bool vector), or None where all of them do.
        self.mask: PrimExpr | None = None

    def generic_visit(self, node: Any) -> Any:
        # Anything without a rule below (Ramp/Broadcast from earlier vectorization, Allocate,
        # Provide, TensorRead, ...) is not known to be safe to run once for all lanes.
        raise _Scalarize(type(node).__name__)

    def _broadcast(self, e: PrimExpr) -> PrimExpr:
        return e if e.dtype.lanes == self.lanes else Broadcast(e, self.lanes)

    @contextmanager
    def _masked(self, cond: PrimExpr) -> Generator[None, None, None]:
        outer, self.mask = self.mask, _and(self.mask, cond)
        try:
            yield
        finally:
            self.mask = outer

    @contextmanager
    def _bind(self, var: Var, value: PrimExpr) -> Generator[tuple[Var, PrimExpr], None, None]:
        """Scope ``var`` (bound to the vectorized ``value``) over a body; yields the binding to emit."""
        if value.dtype.lanes == 1:
            new_var, bound, meaning = var, value, var
        elif isinstance(value, Ramp):
            # Bind only the base so that uses still see a Ramp (contiguous accesses).
            new_var = Var(var.name, value.base.dtype)
            bound, meaning = value.base, Ramp(new_var, value.stride, value.lanes)
        else:
            new_var = Var(var.name, value.dtype)
            bound, meaning = value, new_var
        missing = object()
        outer = self.vmap.get(var, missing)
        self.vmap[var] = meaning
        try:
            yield new_var, bound
        finally:
            if outer is missing:
                del self.vmap[var]
            else:
                self.vmap[var] = outer

    # --- expressions -------------------------------------------------------------------

    def visit_Var(self, op: Var) -> PrimExpr:
        return self.vmap.get(op, op)

    def visit_IntImm(self, op: IntImm) -> PrimExpr:
        return op

    def visit_FloatImm(self, op: FloatImm) -> PrimExpr:
        return op

    def visit_BinaryOp(self, op: BinaryOp) -> PrimExpr:
        a, b = self.visit(op.a), self.visit(op.b)
        if a.dtype.lanes == 1 and b.dtype.lanes == 1:
            return op.with_fields(a=a, b=b)
        affine = _affine(type(op), a, b)
        if affine is not None:
            return affine
        return type(op)(self._broadcast(a), self._broadcast(b))

    def visit_Not(self, op: Not) -> PrimExpr:
        return op.with_fields(a=self.visit(op.a))

    def visit_Cast(self, op: Cast) -> PrimExpr:
        value = self.visit(op.value)
        if value.dtype.lanes == 1:
            return op.with_fields(value=value)
        if (isinstance(value, Ramp) and op.dtype.is_int and value.dtype.is_int
                and op.dtype.bits >= value.dtype.bits):
            # Widening an index keeps it affine: each lane of the Ramp already fits.
            return Ramp(cast(value.base, op.dtype), cast(value.stride, op.dtype), value.lanes)
        return Cast(op.dtype.with_lanes(self.lanes), value)

    def visit_Call(self, op: Call) -> PrimExpr:
        args = tuple(self.visit(a) for a in op.args)
        if all(a.dtype.lanes == 1 for a in args):
            return op.with_fields(args=args)
        if op.name == CHECK:  # a run-time bounds check: the index has lanes; size and name stay scalar
            return Call(args[0].dtype, CHECK, args)
        return Call(op.dtype.with_lanes(self.lanes), op.name, [self._broadcast(a) for a in args])

    def visit_Select(self, op: Select) -> PrimExpr:
        cond = self.visit(op.condition)
        if cond.dtype.lanes == 1:
            t, f = self.visit(op.true_value), self.visit(op.false_value)
            if t.dtype.lanes == 1 and f.dtype.lanes == 1:
                return op.with_fields(condition=cond, true_value=t, false_value=f)
        # A vector Select evaluates both arms, so each arm may read memory only in the lanes
        # that choose it; the arms are (re)visited under their conditions.
        mask = _as_mask(cond, self.lanes)
        bound = None
        if _loaded_buffers(mask) and (_loaded_buffers(op.true_value) or _loaded_buffers(op.false_value)):
            # The mask predicates every load of both arms: a condition that itself reads memory
            # is bound once, or nested Selects would copy each condition into every load below
            # it (IR exponential in the nesting depth).
            bound = (Var("sel_mask", mask.dtype), mask)
            mask = bound[0]
        with self._masked(mask):
            t = self.visit(op.true_value)
        with self._masked(_negate(mask)):
            f = self.visit(op.false_value)
        out = Select(mask, self._broadcast(t), self._broadcast(f))
        return out if bound is None else Let(bound[0], bound[1], out)

    def visit_Let(self, op: Let) -> PrimExpr:
        value = self.visit(op.value)
        with self._bind(op.var, value) as (var, bound):
            body = self.visit(op.body)
        return op.with_fields(var=var, value=bound, body=body)

    def visit_Load(self, op: Load) -> PrimExpr:
        if op.predicate is not None or op.dtype.lanes != 1:
            raise _Scalarize("vector load")  # already vectorized code
        index = self.visit(op.index)
        if self.mask is None:
            if index.dtype.lanes == 1:
                return op.with_fields(index=index)
            return Load(op.dtype, op.buffer, index)
        return Load(op.dtype, op.buffer, self._broadcast(index), self.mask)

    # --- statements --------------------------------------------------------------------

    def visit_Store(self, op: Store) -> Stmt:
        if op.predicate is not None:
            raise _Scalarize("predicated store")  # already vectorized code
        value, index = self.visit(op.value), self.visit(op.index)
        if index.dtype.lanes == 1:
            # One address for all lanes: only a value that every lane computes alike, and that
            # does not feed on the buffer itself, may be stored once instead of L times.
            if value.dtype.lanes != 1 or op.buffer in _loaded_buffers(value):
                raise LoweringError(f"cannot vectorize loop {self.var.name}: the store to "
                                    f"{op.buffer.name} reduces across its lanes")
            if self.mask is None:
                return op.with_fields(value=value, index=index)
        return Store(op.buffer, self._broadcast(value), self._broadcast(index), self.mask)

    def visit_IfThenElse(self, op: IfThenElse) -> Stmt:
        cond = self.visit(op.condition)
        if cond.dtype.lanes == 1:  # every lane takes the same branch: keep the branch
            then_case = self.visit(op.then_case)
            else_case = self.visit(op.else_case) if op.else_case is not None else None
            return op.with_fields(condition=cond, then_case=then_case, else_case=else_case)
        mask = _as_mask(cond, self.lanes)
        mask_var, bound = None, mask
        if _loaded_buffers(mask):
            # The branches may write what the condition reads, and every predicate below would
            # re-read it: evaluate the condition once, up front, as the scalar loop does.
            mask_var = Var("mask", mask.dtype)
            mask = mask_var
        with self._masked(mask):
            then_case = self.visit(op.then_case)
        else_case = None
        if op.else_case is not None:
            with self._masked(_negate(mask)):
                else_case = self.visit(op.else_case)
        body = seq(then_case, else_case)
        return LetStmt(mask_var, bound, body) if mask_var is not None else body

    def visit_For(self, op: For) -> Stmt:
        if op.kind not in (ForKind.SERIAL, ForKind.UNROLLED):
            raise _Scalarize(f"{op.kind.name} loop")
        start, extent = self.visit(op.min), self.visit(op.extent)
        if start.dtype.lanes != 1 or extent.dtype.lanes != 1:
            raise _Scalarize("loop bounds vary across lanes")
        return op.with_fields(min=start, extent=extent, body=self.visit(op.body))

    visit_LetStmt = visit_Let  # the same binding, around a statement instead of an expression

    def visit_SeqStmt(self, op: SeqStmt) -> Stmt:
        stmts = tuple(self.visit(s) for s in op.seq)
        return op if all(a is b for a, b in zip(stmts, op.seq)) else seq(*stmts)

    def visit_Evaluate(self, op: Evaluate) -> Stmt:
        if is_no_op(op):
            return op
        raise _Scalarize("Evaluate")  # effects would run once instead of once per lane

    def visit_Allocate(self, op: Allocate) -> Stmt:
        raise _Scalarize("Allocate")  # each lane would need its own buffer


def _affine(cls: type[BinaryOp], a: PrimExpr, b: PrimExpr) -> PrimExpr | None:
    """``a <cls> b`` as a Ramp when it stays affine in the lane index, else None."""
    ramp_a, ramp_b = isinstance(a, Ramp), isinstance(b, Ramp)
    scalar_a, scalar_b = a.dtype.lanes == 1, b.dtype.lanes == 1
    if cls is Add:
        if ramp_a and scalar_b:
            return _ramp(_fold(Add, a.base, b), a.stride, a.lanes)
        if scalar_a and ramp_b:
            return _ramp(_fold(Add, a, b.base), b.stride, b.lanes)
        if ramp_a and ramp_b:
            return _ramp(_fold(Add, a.base, b.base), _fold(Add, a.stride, b.stride), a.lanes)
    elif cls is Sub:
        if ramp_a and scalar_b:
            return _ramp(_fold(Sub, a.base, b), a.stride, a.lanes)
        if scalar_a and ramp_b:
            return _ramp(_fold(Sub, a, b.base), _fold(Sub, 0, b.stride), b.lanes)
        if ramp_a and ramp_b:
            return _ramp(_fold(Sub, a.base, b.base), _fold(Sub, a.stride, b.stride), a.lanes)
    elif cls is Mul:
        if ramp_a and scalar_b:
            return _ramp(_fold(Mul, a.base, b), _fold(Mul, a.stride, b), a.lanes)
        if scalar_a and ramp_b:
            return _ramp(_fold(Mul, a, b.base), _fold(Mul, a, b.stride), b.lanes)
    elif cls in (FloorDiv, FloorMod) and ramp_a and isinstance(b, IntImm) and isinstance(a.stride, IntImm):
        # A contiguous ramp that starts at a multiple of its length never crosses a multiple of
        # c when its length divides c: the quotient is lane-invariant and the remainder a ramp
        # (what a fused, vectorized cooperative fetch indexes with).
        lanes, c = a.lanes, b.value
        if a.stride.value == 1 and c > 0 and c % lanes == 0 and _multiple_of(a.base, lanes):
            if cls is FloorDiv:
                return binary(FloorDiv, a.base, b)
            return Ramp(binary(FloorMod, a.base, b), a.stride, lanes)
    return None


def _multiple_of(e: PrimExpr, k: int) -> bool:
    """Whether integer ``e`` is provably a multiple of ``k`` (sums and products of constants)."""
    if isinstance(e, IntImm):
        return e.value % k == 0
    if isinstance(e, (Add, Sub)):
        return _multiple_of(e.a, k) and _multiple_of(e.b, k)
    if isinstance(e, Mul):
        return _multiple_of(e.a, k) or _multiple_of(e.b, k)
    if isinstance(e, FloorMod) and isinstance(e.b, IntImm) and e.b.value % k == 0:
        return _multiple_of(e.a, k)
    if isinstance(e, Cast):
        return _multiple_of(e.value, k)
    return False


def _fold(cls: type[BinaryOp], a: PrimExpr, b: PrimExpr) -> PrimExpr:
    """``a <cls> b`` on lane-invariant ints, dropping the ``+ 0`` and ``* 1`` that the
    loop variable's Ramp(min, 1, L) brings into every base and stride."""
    if isinstance(b, IntImm) and b.value == (1 if cls is Mul else 0):
        return a
    if isinstance(a, IntImm) and a.value == (1 if cls is Mul else 0) and cls is not Sub:
        return b
    return binary(cls, a, b)


def _ramp(base: PrimExpr, stride: PrimExpr, lanes: int) -> PrimExpr:
    if isinstance(stride, IntImm) and stride.value == 0:
        return base  # every lane has the same value: lane-invariant after all
    return Ramp(base, stride, lanes)


def _as_mask(cond: PrimExpr, lanes: int) -> PrimExpr:
    """``cond`` as a bool vector of ``lanes`` lanes."""
    if not cond.dtype.is_bool:
        zero = const(0, cond.dtype.element_of())
        cond = NE(cond, zero if cond.dtype.lanes == 1 else Broadcast(zero, cond.dtype.lanes))
    return cond if cond.dtype.lanes == lanes else Broadcast(cond, lanes)


def _and(mask: PrimExpr | None, cond: PrimExpr) -> PrimExpr:
    if mask is None:
        return cond
    if isinstance(mask, Broadcast) and isinstance(cond, Broadcast):
        return Broadcast(logical(And, mask.value, cond.value), mask.lanes)
    return And(mask, cond)


def _negate(mask: PrimExpr) -> PrimExpr:
    if isinstance(mask, Broadcast):
        return Broadcast(logical_not(mask.value), mask.lanes)
    return Not(mask)


def _loaded_buffers(e: PrimExpr) -> set[Var]:
    out: set[Var] = set()

    def collect(n: Any) -> None:
        if isinstance(n, Load):
            out.add(n.buffer)
    post_order_visit(e, collect)
    return out


