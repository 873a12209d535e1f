"""Out-of-bounds reads found at lower time: every read a stage makes must stay inside the read
tensor's declared shape over the points the stage computes; otherwise a LoweringError names the
stage, the tensor, the dimension, the index and the range it reaches.

The points a stage computes are its domain, narrowed to the region bound inference gives it
when it is computed at another stage's loop (lowering guards the rest of the domain). A read
under a condition (the chosen side of ``te.if_then_else``, a reduction's ``where=``) is checked
over the points where the condition holds, when the condition combines (and, or, not)
comparisons of integer expressions linear in the loop variables (``i + j < n``, ``2*i + 1 < n``:
schedule.guards); a read under any other condition (data-dependent, nonlinear) is left to the
condition. Only constant bounds are checked here; ``symbolic_read_checks`` turns
unconditional reads ``A[i + c]`` whose extents or sizes are symbolic into checks the runtime
makes at each call (``B[m]`` reading ``A[n]`` with m > n is an ArgumentError, not a read past A).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arith import Interval, can_prove, const_bound, relax, simplify
from ..errors import LoweringError
from ..ir.passes.bounds_check import CHECK, dimension_name
from ..te import expr as E
from ..te.functor import Mutator, children, free_vars, substitute
from .bound import Bounds
from .guards import Path, Ranges, feasible_points, index_bounds, linear, narrow
from .schedule import Schedule, Stage

# Distinct (expression, path) pairs one stage's reads are followed along before the rest are
# left to run-time checks.
MAX_VISITS = 20_000

# The reads lowering could not prove inside their tensor, by identity: the read and the
# dimensions whose index is unproven (checked at run time: checked_reads).
Unproven = dict[int, tuple[E.TensorRead, set[int]]]


def check_reads_in_bounds(sch: Schedule, bodies: dict[Stage, tuple[E.PrimExpr, ...]], bounds: Bounds) -> Unproven:
    """LoweringError for the first read outside its tensor's shape (see the module docstring);
    returns the reads whose dimensions it could neither prove inside nor reject."""
    unproven: Unproven = {}

    def doubt(read: E.TensorRead, dims: set[int]) -> None:
        if dims:
            unproven.setdefault(id(read), (read, set()))[1].update(dims)

    for st, body in bodies.items():
        ranges = _computed_points(st, bounds)
        lets = _let_values(body)
        if ranges is None:
            called = {id(r) for r in _unconditional(body)} if st.attach_type == "root" else set()
            for read in _all_reads_of(body):
                doubt(read, _unproven_symbolic(st, read, lets)
                      - (_call_checked(st, read) if id(read) in called else set()))
            continue
        for read, where in _reads(body, Path(ranges)):
            if where is None:  # under a guard schedule.guards does not understand
                doubt(read, _unproven_symbolic(st, read, lets))
            else:
                doubt(read, _check(st, read, where, lets))
    return unproven


def _let_values(body: tuple[E.PrimExpr, ...]) -> dict[E.Var, E.PrimExpr]:
    """The value of every Let variable of ``body`` (te.compute binds shared subexpressions)."""
    return {n.var: n.value for n in _unconditional(body, every=True, nodes=E.Let)}


def _expand(idx: E.PrimExpr, lets: dict[E.Var, E.PrimExpr]) -> E.PrimExpr:
    """``idx`` with the Let variables it uses replaced by their values (an index through
    ``cse0 % 10`` is bounded once cse0 is ``i * 100 + j``)."""
    for _ in range(64):
        used = {v: lets[v] for v in free_vars(idx) if v in lets}
        if not used:
            break
        idx = substitute(idx, used)
    return idx


def _unproven_symbolic(st: Stage, read: E.TensorRead, lets: dict[E.Var, E.PrimExpr]) -> set[int]:
    """The dimensions of ``read`` not provably inside over the stage's whole domain (symbolic
    extents and sizes allowed); unconditional ``v + c`` reads of a root stage are left out:
    symbolic_read_checks checks them at each call."""
    op = st.op
    axes = list(op.axis) + list(getattr(op, "reduce_axis", ()))
    ranges = {iv.var: Interval(iv.dom.min, simplify(iv.dom.min + iv.dom.extent - 1)) for iv in axes}
    out = set()
    for d, (idx, size) in enumerate(zip(read.indices, read.tensor.shape)):
        lo, hi = relax(simplify(_expand(idx, lets)), ranges)
        if lo is not None and hi is not None and can_prove(E.GE(lo, E.const(0, lo.dtype))) \
                and can_prove(E.LT(hi, E.cast(size, hi.dtype))):
            continue
        out.add(d)
    return out


def _all_reads_of(body: tuple[E.PrimExpr, ...]) -> list[E.TensorRead]:
    return _unconditional(body, every=True)


def _call_checked(st: Stage, read: E.TensorRead) -> set[int]:
    """The dimensions of an unconditional read of a root stage that symbolic_read_checks
    checks at each call (``v + c`` on an axis of the stage, something symbolic)."""
    op = st.op
    axes = {iv.var: iv for iv in list(op.axis) + list(getattr(op, "reduce_axis", ()))}
    out = set()
    for d, (idx, size) in enumerate(zip(read.indices, read.tensor.shape)):
        vc = _var_plus_const(idx)
        if vc is None or vc[0] not in axes:
            continue
        dom = axes[vc[0]].dom
        if not (isinstance(dom.extent, E.IntImm) and isinstance(size, E.IntImm) and isinstance(dom.min, E.IntImm)):
            out.add(d)
    return out


def checked_reads(bodies: dict[Stage, tuple[E.PrimExpr, ...]], unproven: Unproven
                  ) -> dict[Stage, tuple[E.PrimExpr, ...]]:
    """``bodies`` with each unproven dimension of each unproven read wrapped in the run-time
    check ir.passes.bounds_check.CHECK (a BoundsError naming tensor, dimension and index, when
    the read happens out of bounds), so that no read lowering cannot prove reads garbage."""
    if not unproven:
        return bodies
    wrap = _WrapReads(unproven)
    return {st: tuple(wrap.visit(b) for b in body) for st, body in bodies.items()}


def _computed_points(st: Stage, bounds: Bounds) -> Ranges | None:
    """Each axis's constant range over the points ``st`` computes (None when unknown)."""
    op = st.op
    loops = {v: r for v, r in bounds.var_ranges.items()}
    ranges: Ranges = {}
    for iv in list(op.axis) + list(getattr(op, "reduce_axis", ())):
        lo, ext = iv.dom.min, iv.dom.extent
        if not (isinstance(lo, E.IntImm) and isinstance(ext, E.IntImm)) or ext.value <= 0:
            return None
        first, last = lo.value, lo.value + ext.value - 1
        region = bounds.ranges.get(iv)
        if st.attach_type == "scope" and region is not None and not iv.is_reduce:
            # Only the region consumers read is computed; the rest of the domain is guarded.
            rlo, _ = const_bound(region.min, loops)
            _, rhi = const_bound(region.min + region.extent - 1, loops)
            first = max(first, rlo) if rlo is not None else first
            last = min(last, rhi) if rhi is not None else last
        if first > last:
            return None  # computes nothing
        ranges[iv.var] = (first, last)
    return ranges


def _reads(body: tuple[E.PrimExpr, ...], path: Path) -> list[tuple[E.TensorRead, Path | None]]:
    """Every read with the paths of the points where it runs (None for the reads under
    conditions schedule.guards cannot narrow by)."""
    found: list[tuple[E.TensorRead, Path | None]] = []
    # (node, path) pairs by the path's value: a chain of selects (a constant matrix written as
    # nested `i == a && j == b` cases) reaches the same node along many equal paths, and
    # telling them apart by identity explores exponentially many.
    seen: set[tuple[int, Any]] = set()
    stack: list[tuple[Any, Path]] = [(b, path) for b in body]
    while stack:
        node, where = stack.pop()
        key = (id(node), _path_key(where))
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > MAX_VISITS:
            # Too many distinct paths to follow: the reads not yet placed get run-time checks.
            found += [(r, None) for r in _all_reads_of((node, *(n for n, _ in stack)))]
            return found
        if isinstance(node, E.TensorRead):
            found.append((node, where))
        if isinstance(node, E.Select):
            stack.append((node.condition, where))
            for side, holds in ((node.true_value, True), (node.false_value, False)):
                paths = narrow(node.condition, holds, where)
                if paths is None:
                    found += [(r, None) for r in _all_reads_of((side,))]
                for p in paths or ():
                    stack.append((side, p))
        elif isinstance(node, E.Reduce):
            paths = narrow(node.condition, True, where)
            if paths is None:
                found += [(r, None) for r in _all_reads_of(node.source)]
            for p in paths or ():
                stack.extend((s, p) for s in node.source)
        else:
            stack.extend((c, where) for c in children(node))
    return found


def _path_key(path: Path) -> tuple:
    """``path`` as a hashable value (its variables by identity)."""
    return (tuple(sorted((id(v), r) for v, r in path.ranges.items())),
            tuple((tuple((id(v), c) for v, c in con.coefs), con.lo, con.hi) for con in path.constraints))


def _var_plus_const(e: E.PrimExpr) -> tuple[E.Var, int] | None:
    """``e`` as (variable, constant) when it is ``v``, ``v + c`` or ``v - c`` of integers."""
    if isinstance(e, E.Var) and e.dtype.is_int:
        return e, 0
    if isinstance(e, (E.Add, E.Sub)) and isinstance(e.a, E.Var) and isinstance(e.b, E.IntImm) and e.a.dtype.is_int:
        return e.a, e.b.value if isinstance(e, E.Add) else -e.b.value
    return None


def _check(st: Stage, read: E.TensorRead, path: Path, lets: dict[E.Var, E.PrimExpr]) -> set[int]:
    """LoweringError when ``read`` goes outside its tensor on ``path``; the dimensions it could
    not decide (a symbolic size, an index that reads data, a nonlinear index whose loose bounds
    leave the tensor over a domain too large to enumerate)."""
    tensor = read.tensor
    intervals = {v: Interval(E.const(lo, v.dtype), E.const(hi, v.dtype)) for v, (lo, hi) in path.ranges.items()}
    unknown: set[int] = set()
    for d, (idx, size) in enumerate(zip(read.indices, tensor.shape)):
        if not isinstance(size, E.IntImm):
            unknown |= _unproven_symbolic(st, read, lets) & {d}
            continue
        idx = simplify(_expand(idx, lets), intervals)
        lo, hi = const_bound(idx, intervals)
        form = linear(idx)
        if form is not None and all(v in path.ranges for v, _ in form.coefs):
            flo, fhi = index_bounds(form, path)  # exact for a linear index, and sees the constraints
            lo, hi = (flo, fhi) if lo is None or hi is None else (max(lo, flo), min(hi, fhi))
        if lo is None or hi is None:
            unknown.add(d)
            continue
        outside = (lo < 0 or hi >= size.value) and _reaches_outside(idx, path, size.value)
        if outside is None and form is None:
            unknown.add(d)  # loose bounds of a nonlinear index: let the run-time check decide
        elif outside is not False:
            raise LoweringError(
                f"stage {st.op.name} reads {tensor.name}[{', '.join(str(i) for i in read.indices)}] out of "
                f"bounds: index {d} ('{idx}') reaches {lo}..{hi} but dimension {d} of {tensor.name} has "
                f"size {size.value}; guard the read with te.if_then_else or shrink the compute's shape")
    return unknown


class _WrapReads(Mutator):
    def __init__(self, unproven: Unproven):
        super().__init__()
        self.unproven = unproven

    def visit_TensorRead(self, node: E.TensorRead) -> E.PrimExpr:
        marked = self.unproven.get(id(node))
        node = self.generic_visit(node)
        if marked is None:
            return node
        t = node.tensor
        indices = tuple(
            E.Call(idx.dtype, CHECK, (idx, E.cast(size, "int64"), E.StringImm(dimension_name(t.name, d, len(t.shape)))))
            if d in marked[1] else idx for d, (idx, size) in enumerate(zip(node.indices, t.shape)))
        return node.with_fields(indices=indices)


def _reaches_outside(idx: E.PrimExpr, path: Path, size: int) -> bool | None:
    """Bounds can be loose (``min(3*i, 4*i) + min(-3*i, -2*i)`` is 0, yet bounded by -27..27;
    a linear index under constraints it is no multiple of): over a small domain, evaluate the
    index at every point that meets the path's constraints. True: some point reads outside;
    False: none does; None: the domain is too large (or not constant) to tell."""
    names = sorted(free_vars(idx), key=lambda v: v.name)
    form = linear(idx)
    points = feasible_points(names, path, 1 << 16 if form is not None else 1024)
    if points is None:
        return None
    for point in points:
        if form is not None:
            value = form.value(point)
        else:
            folded = simplify(substitute(idx, {v: E.const(point[v], v.dtype) for v in names}))
            if not isinstance(folded, E.IntImm):
                return None
            value = folded.value
        if not 0 <= value < size:
            return True
    return False


@dataclass(frozen=True)
class ReadMargin:
    """A read is inside its tensor when ``margin`` (over shape variables) is at least 0;
    ``message`` says which read and how far it reaches."""

    margin: E.PrimExpr
    what: str
    message: str


def symbolic_read_checks(sch: Schedule, bodies: dict[Stage, tuple[E.PrimExpr, ...]]) -> list[ReadMargin]:
    """For each unconditional read ``T[.., v + c, ..]`` of a stage at root, where ``v`` is an
    axis of the stage and its extent or T's size there is symbolic: the margin that keeps the
    read inside T whenever the axis runs (its extent at least 1)."""
    checks: list[ReadMargin] = []
    for st, body in bodies.items():
        if st.attach_type != "root":
            continue
        op = st.op
        axes = {iv.var: iv for iv in list(op.axis) + list(getattr(op, "reduce_axis", ()))}
        for read in _unconditional(body):
            for d, (idx, size) in enumerate(zip(read.indices, read.tensor.shape)):
                vc = _var_plus_const(idx)
                if vc is None or vc[0] not in axes:
                    continue
                var, c = vc
                dom = axes[var].dom
                static = isinstance(dom.extent, E.IntImm) and isinstance(size, E.IntImm)
                if static and isinstance(dom.min, E.IntImm):
                    continue
                ext = dom.extent
                where = ", ".join(str(i) for i in read.indices)
                what = f"stage {op.name} reads {read.tensor.name}[{where}]"
                if not isinstance(dom.min, E.IntImm):
                    # A symbolic start (reduce_axis((n, m))): inside when the axis does not run,
                    # or both its first point min + c and its last min + c + extent - 1 are.
                    start = dom.min + c
                    low, high = start, size - start - ext
                    zero = E.const(0, ext.dtype)
                    margin = simplify(E.max_(E.min_(low, high), zero - ext))
                    if not (isinstance(margin, E.IntImm) and margin.value >= 0):
                        checks.append(ReadMargin(margin, what, (
                            f"{what} out of bounds: index {d} ('{idx}') reaches {simplify(start)}.."
                            f"{simplify(start + ext - 1)}, "
                            f"but dimension {d} of {read.tensor.name} has size {size}")))
                    continue
                first = dom.min.value + c
                runs = E.max_(ext, E.const(0, ext.dtype))
                # Inside when the axis does not run (-extent <= 0 then only at 0) or its last
                # point first + extent - 1 is below size.
                if first < 0:
                    margin = E.const(0, ext.dtype) - runs
                else:
                    gap = simplify(size - ext - first)
                    if isinstance(gap, E.IntImm) and gap.value >= 0:
                        continue  # inside for every value of the shape variables
                    margin = E.max_(gap, E.const(0, ext.dtype) - runs)
                reach = f"{ext} - 1" if first == 0 else f"{first} + {ext} - 1"
                checks.append(ReadMargin(
                    margin, what,
                    f"stage {op.name} reads {read.tensor.name}[{where}] out of bounds: index {d} ('{idx}') "
                            f"reaches {reach}, but dimension {d} of {read.tensor.name} has size {size}"))
    return checks


def _unconditional(body: tuple[E.PrimExpr, ...], every: bool = False, nodes: type = E.TensorRead) -> list[Any]:
    """The reads evaluated at every point (not under a Select side or a reduction's where=);
    with ``every``, all reads (or all nodes of type ``nodes``)."""
    found: list[Any] = []
    seen: set[int] = set()
    stack: list[Any] = list(body)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, nodes):
            found.append(node)
        if every:
            stack.extend(children(node))
        elif isinstance(node, E.Select):
            stack.append(node.condition)
        elif isinstance(node, E.Reduce):
            always = isinstance(node.condition, E.IntImm) and node.condition.value
            stack.extend(node.source if always else ())
        else:
            stack.extend(children(node))
    return found
