"""Index maps of ``Stage.transform_layout``: a bijection from a tensor's logical indices onto
the indices of a dense box (its physical layout), with the inverse and the box's shape.

A mapping is analyzed as mixed-radix digits, as TVM's iter-map detection does: every output
index must be a sum of digits (``(i // lower) % extent`` pieces of an input index, or of a fused
combination of several) whose scales make it dense from 0, and the digits of all outputs must
cover every input index exactly once.  That is what makes the map one-to-one and onto, so a
mapping that loses information (``i // 4`` alone), repeats it, leaves gaps (``2 * i``), pads
(``i // 4`` over an extent that 4 does not divide) or shifts (``i + 1``) is refused, by the
analysis, with what is wrong.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..arith import Interval, can_prove, simplify, structural_key
from ..errors import ScheduleError
from ..te import AXIS_SEPARATOR
from ..te import expr as E
from ..te.expr import IntImm, PrimExpr, Var, convert
from ..te.functor import free_vars, substitute
from ..te.tensor import IterVar, IterVarType, Range, index_dtype_of


@dataclass(eq=False)
class _Mark:
    """What digits are cut from: an input index (``var``) or a fused mixed-radix number of
    other digits (``parts``, most significant first, each ``scale`` relative to the mark)."""

    extent: PrimExpr
    var: Var | None = None
    parts: tuple[_Digit, ...] = ()


@dataclass(frozen=True, eq=False)
class _Digit:
    """``(mark // lower) % extent``, times ``scale`` in the sum it is part of."""

    mark: _Mark
    lower: PrimExpr
    extent: PrimExpr
    scale: PrimExpr


@dataclass
class _Sum:
    digits: list[_Digit] = field(default_factory=list)
    base: PrimExpr = field(default_factory=lambda: E.const(0))


def _eq(a: PrimExpr, b: PrimExpr) -> bool:
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return a.value == b.value
    d = simplify(a - b)
    return isinstance(d, IntImm) and d.value == 0


def _divides(c: PrimExpr, e: PrimExpr) -> bool:
    """Whether ``c`` provably divides ``e``."""
    if isinstance(c, IntImm) and isinstance(e, IntImm):
        return c.value != 0 and e.value % c.value == 0
    r = simplify(E.binary(E.FloorMod, e, c))
    return isinstance(r, IntImm) and r.value == 0


def _quot(a: PrimExpr, b: PrimExpr) -> PrimExpr:
    """``a / b`` for a ``b`` known to divide ``a``."""
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return IntImm(a.dtype, a.value // b.value)
    return simplify(E.binary(E.FloorDiv, a, b))


def _mul(a: PrimExpr, b: PrimExpr) -> PrimExpr:
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return IntImm(a.dtype if a.dtype.bits >= b.dtype.bits else b.dtype, a.value * b.value)
    return simplify(a * b)


def _le(a: PrimExpr, b: PrimExpr) -> bool:
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return a.value <= b.value
    return can_prove(a <= b)


def _is_zero(e: PrimExpr) -> bool:
    return isinstance(e, IntImm) and e.value == 0


def _is_one(e: PrimExpr) -> bool:
    return isinstance(e, IntImm) and e.value == 1


class _Analysis:
    """Turns each output expression into digits (see the module docstring); ``fail`` raises a
    ScheduleError with the mapping's context."""

    def __init__(self, marks: dict[Var, _Mark], fail: Callable[[str], ScheduleError]):
        self.marks = marks
        self.fail = fail
        # the shape's variables are sizes: a size-0 tensor has nothing to lay out, so >= 1
        sizes = {v for m in marks.values() for v in free_vars(m.extent)}
        self.sizes = {v: Interval(E.const(1, v.dtype), E.const(2 ** (v.dtype.bits - 1) - 1, v.dtype)) for v in sizes}
        self.fused: dict[Any, _Mark] = {}  # one mark per distinct fused combination

    # -- expressions to digit sums ------------------------------------------------------
    def sum(self, e: PrimExpr) -> _Sum:
        if not (free_vars(e) & set(self.marks)):
            return _Sum([], e)  # a constant (may name shape variables)
        if isinstance(e, Var):
            m = self.marks[e]
            return _Sum([_Digit(m, E.const(1, e.dtype), m.extent, E.const(1, e.dtype))])
        if isinstance(e, E.Add):
            a, b = self.sum(e.a), self.sum(e.b)
            return _Sum(a.digits + b.digits, simplify(a.base + b.base))
        if isinstance(e, E.Sub):
            a, b = self.sum(e.a), self.sum(e.b)
            if b.digits:
                raise self.fail(f"'{e}' subtracts an index; a layout's indices only add digits of the original "
                                "indices with positive scales (+, * by a constant, // and % by a constant)")
            return _Sum(a.digits, simplify(a.base - b.base))
        if isinstance(e, E.Mul):
            a, b = self.sum(e.a), self.sum(e.b)
            if a.digits and b.digits:
                raise self.fail(f"'{e}' multiplies two indices; only a product with a constant keeps a layout "
                                "one-to-one")
            s, c = (a, b.base) if a.digits else (b, a.base)
            if not can_prove(c > 0, self.sizes):
                raise self.fail(f"'{e}' scales an index by {c}, which is not provably positive")
            return _Sum([_Digit(d.mark, d.lower, d.extent, _mul(d.scale, c)) for d in s.digits], _mul(s.base, c))
        if isinstance(e, (E.FloorDiv, E.FloorMod, E.Div, E.Mod)):
            divisor = self.sum(e.b)
            if divisor.digits:
                raise self.fail(f"'{e}' divides by an index; divide only by constants")
            c = divisor.base
            if not can_prove(c > 0, self.sizes):
                raise self.fail(f"'{e}' divides by {c}, which is not provably positive")
            a = self.sum(e.a)
            if not a.digits:  # its digits cancelled ((i % 1) // 2)
                return _Sum()
            if not _is_zero(a.base):
                raise self.fail(f"'{e}' divides an index plus the offset {a.base}; a layout's indices start at 0")
            div = isinstance(e, (E.FloorDiv, E.Div))
            return self._divide(self.fuse(a, e), c, e) if div else self._modulo(self.fuse(a, e), c, e)
        if isinstance(e, E.Cast) and e.dtype.is_int:
            return self.sum(e.value)
        raise self.fail(f"'{e}' uses {type(e).__name__}; a layout mapping is built from the indices with +, "
                        "* by a constant, and // and % by a constant")

    def _divide(self, d: _Digit, c: PrimExpr, e: PrimExpr) -> _Sum:
        if _divides(c, d.scale):
            return self.unfuse(_Digit(d.mark, d.lower, d.extent, _quot(d.scale, c)))
        if _divides(d.scale, c):
            k = _quot(c, d.scale)
            if _divides(k, d.extent):
                return self.unfuse(_Digit(d.mark, _mul(d.lower, k), _quot(d.extent, k), E.const(1, c.dtype)))
            if _le(d.extent, k):
                return _Sum()
            raise self.fail(f"'{e}': {k} does not divide the extent {d.extent} of what it divides; the layout would "
                            "need padding, which transform_layout does not add (pick a factor that divides it)")
        raise self.fail(f"'{e}': the divisor {c} and the scale {d.scale} of what it divides do not divide each other")

    def _modulo(self, d: _Digit, c: PrimExpr, e: PrimExpr) -> _Sum:
        if _divides(c, d.scale):
            return _Sum()
        if _divides(d.scale, c):
            k = _quot(c, d.scale)
            if _divides(k, d.extent):
                return self.unfuse(_Digit(d.mark, d.lower, k, d.scale))
            if _le(d.extent, k):
                return _Sum([d])
            raise self.fail(f"'{e}': {k} does not divide the extent {d.extent} of what it takes the remainder of; "
                            "the layout would need padding, which transform_layout does not add")
        raise self.fail(f"'{e}': the divisor {c} and the scale {d.scale} of what it divides do not divide each other")

    # -- fusing digits into one, and back --------------------------------------------------
    def chain(self, digits: Sequence[_Digit], e: PrimExpr) -> list[_Digit]:
        """The digits of a dense mixed-radix number, least significant first (each scale is the
        one below times its extent), or a ScheduleError."""
        rest = list(digits)
        low = [d for d in rest if not any(o is not d and _eq(_mul(o.scale, o.extent), d.scale) for o in rest)]
        if len(low) != 1:
            raise self.fail(f"'{e}' is not a mixed-radix combination of its parts (each part's scale must be the "
                            "next smaller part's scale times that part's extent), so it is not one-to-one")
        order = [low[0]]
        rest.remove(low[0])
        while rest:
            top = order[-1]
            nxt = [d for d in rest if _eq(d.scale, _mul(top.scale, top.extent))]
            if len(nxt) != 1:
                raise self.fail(f"'{e}' is not a mixed-radix combination of its parts (each part's scale must be "
                                "the next smaller part's scale times that part's extent), so it is not one-to-one")
            order.append(nxt[0])
            rest.remove(nxt[0])
        return order

    def fuse(self, s: _Sum, e: PrimExpr) -> _Digit:
        """One digit standing for a sum of digits (base 0): its only digit, or a digit of a fused mark."""
        if len(s.digits) == 1:
            return s.digits[0]
        order = self.chain(s.digits, e)
        low = order[0].scale
        extent = order[0].extent
        parts = [_Digit(order[0].mark, order[0].lower, order[0].extent, E.const(1, low.dtype))]
        for d in order[1:]:
            parts.append(_Digit(d.mark, d.lower, d.extent, extent))
            extent = _mul(extent, d.extent)
        # consecutive digits of one mark are that mark's digit ((i // 4) * 4 + i % 4 is i)
        first = parts[0]
        if all(p.mark is first.mark for p in parts) and all(
                _eq(parts[k + 1].lower, _mul(parts[k].lower, parts[k].extent)) for k in range(len(parts) - 1)):
            return _Digit(first.mark, first.lower, extent, low)
        parts.reverse()  # most significant first
        key = tuple((id(p.mark), structural_key(p.lower), structural_key(p.extent), structural_key(p.scale))
                    for p in parts)
        mark = self.fused.setdefault(key, _Mark(extent, None, tuple(parts)))
        return _Digit(mark, E.const(1, low.dtype), extent, low)

    def unfuse(self, d: _Digit) -> _Sum:
        """A digit of a fused mark whose ends fall on its parts' boundaries, as those parts
        (``(i * 4 + j) // 4`` is ``i``); any other digit as it is."""
        m = d.mark
        if m.var is not None or not m.parts:
            return _Sum([d])
        top = _mul(d.lower, d.extent)
        out: list[_Digit] = []
        for p in reversed(m.parts):  # least significant first; p.scale is where p starts in m
            start, end = p.scale, _mul(p.scale, p.extent)
            if not out and not _eq(start, d.lower):
                if _le(end, d.lower):
                    continue  # wholly below the digit
                return _Sum([d])  # the digit starts inside this part
            out.append(_Digit(p.mark, p.lower, p.extent, _mul(d.scale, _quot(p.scale, d.lower))))
            if _eq(end, top):
                return _Sum(out)
        return _Sum([d])


@dataclass(frozen=True)
class LayoutMap:
    """A checked bijection: ``initial`` index vars -> ``final`` expressions; ``shape`` of the
    transformed box; ``inverse`` expressions of the initial indices over ``inverse_vars``."""

    initial: tuple[Var, ...]
    final: tuple[PrimExpr, ...]
    shape: tuple[PrimExpr, ...]
    inverse_vars: tuple[Var, ...]
    inverse: tuple[PrimExpr, ...]

    def forward(self, indices: Sequence[PrimExpr]) -> list[PrimExpr]:
        """The transformed indices of the element at ``indices``."""
        vmap = dict(zip(self.initial, indices))
        return [substitute(f, vmap) for f in self.final]

    def backward(self, indices: Sequence[PrimExpr]) -> dict[Var, PrimExpr]:
        """The original index vars in terms of transformed ``indices``."""
        vmap = dict(zip(self.inverse_vars, indices))
        return {v: substitute(e, vmap) for v, e in zip(self.initial, self.inverse)}

    def axes(self) -> list[IterVar]:
        """Data-parallel IterVars over the transformed box, one per output index (the
        variables of ``inverse``)."""
        return [IterVar(Range(0, ext), v, IterVarType.DATA_PAR) for v, ext in zip(self.inverse_vars, self.shape)]


def call_mapping(fn: Any, shape: Sequence[PrimExpr], where: str) -> tuple[list[Var], list[Any]]:
    """Call a transform_layout mapping as TVM does (``IndexMap.from_func_with_separators``):
    one index var per parameter, ``*args`` taking the dimensions the named ones leave,
    keyword-only parameters last; the index vars and the returned items."""
    if not callable(fn):
        raise ScheduleError(f"{where}: the mapping must be a function of the indices (lambda i, j: [j, i]), "
                            f"got {fn!r}")
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise ScheduleError(f"{where}: cannot read the parameters of the mapping {fn!r}") from None
    ndim = len(shape)
    dtypes = [index_dtype_of(Range(0, d)) for d in shape]
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
    star = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
    if any(p.kind == p.VAR_KEYWORD for p in params):
        raise ScheduleError(f"{where}: the mapping may not take **kwargs (one parameter per index)")
    named = len(positional) + len(keyword)
    if named > ndim or (star is None and named != ndim):
        raise ScheduleError(f"{where}: the mapping takes {named} ind{'ices' if named != 1 else 'ex'}"
                            f"{' and more' if star else ''}, but the tensor has {ndim} dimension"
                            f"{'s' if ndim != 1 else ''} (shape {list(shape)})")
    names = positional + [f"{star}_{k}" for k in range(ndim - named)] + keyword
    args = [Var(n, dt) for n, dt in zip(names, dtypes)]
    pos_args = args[:len(args) - len(keyword)]
    kw_args = dict(zip(keyword, args[len(args) - len(keyword):]))
    out = fn(*pos_args, **kw_args)
    if isinstance(out, (PrimExpr, IterVar, int)) or not hasattr(out, "__iter__"):
        out = [out]
    return args, list(out)


def analyze(initial: Sequence[Var], items: Sequence[Any], shape: Sequence[PrimExpr], where: str) -> LayoutMap:
    """Check that ``items`` (the mapping's outputs over ``initial``, one per index of a tensor of
    ``shape``) are a bijection onto a dense box, and build the LayoutMap."""
    final: list[PrimExpr] = []
    for k, item in enumerate(items):
        if isinstance(item, str) and item == AXIS_SEPARATOR:
            raise ScheduleError(f"{where}: te.AXIS_SEPARATOR (several physical axes, for texture memory) is not "
                                "supported: tensorlang stores every buffer flat, in row-major order of the "
                                "transformed indices; drop the separator")
        if isinstance(item, IterVar):
            item = item.var
        try:
            e = convert(item)
        except Exception:  # noqa: BLE001 - whatever it is, it is not an index
            raise ScheduleError(f"{where}: output {k} of the mapping is {item!r}; each must be an index "
                                "expression") from None
        if not (e.dtype.is_int and e.dtype.lanes == 1):
            raise ScheduleError(f"{where}: output {k} of the mapping, '{e}', is a {e.dtype} expression; "
                                "indices are integers")
        final.append(e)
    text = f"[{', '.join(str(e) for e in final)}]"

    def fail(why: str) -> ScheduleError:
        return ScheduleError(f"{where}: the mapping ({', '.join(v.name for v in initial)}) -> {text} over shape "
                             f"{list(shape)} is not a one-to-one layout: {why}")

    marks = {v: _Mark(simplify(convert(d)), v) for v, d in zip(initial, shape)}
    an = _Analysis(marks, fail)
    out_digits: list[_Digit | None] = []
    extents: list[PrimExpr] = []
    for e in final:
        s = an.sum(e)
        if not _is_zero(s.base):
            raise fail(f"'{e}' has the offset {s.base}; each index of the layout must start at 0")
        if not s.digits:
            out_digits.append(None)  # a constant 0: a dimension of extent 1
            extents.append(E.const(1, e.dtype))
            continue
        d = an.fuse(s, e)
        if not _eq(d.scale, E.const(1, d.scale.dtype)):
            raise fail(f"'{e}' takes only multiples of {d.scale}, which leaves gaps in the layout")
        out_digits.append(d)
        extents.append(d.extent)
    _check_cover(initial, marks, [d for d in out_digits if d is not None], fail)
    # TVM names them axis0, axis1 ...; an output that is a whole input index keeps its name
    new_vars = [Var(_axis_name(d, k), index_dtype_of(Range(0, ext))) for k, (d, ext) in enumerate(zip(out_digits,
                                                                                                      extents))]
    inverse = _inverse(initial, marks, out_digits, new_vars)
    ranges = {v: Interval.from_range(E.const(0, v.dtype), ext) for v, ext in zip(new_vars, extents)}
    inverse = [simplify(e, ranges) for e in inverse]
    return LayoutMap(tuple(initial), tuple(final), tuple(extents), tuple(new_vars), tuple(inverse))


def _axis_name(d: _Digit | None, k: int) -> str:
    if d is not None and d.mark.var is not None and _is_one(d.lower) and _eq(d.extent, d.mark.extent):
        return d.mark.var.name
    return f"axis{k}"


def _uses(out_digits: Sequence[_Digit]) -> tuple[dict[int, list[_Digit]], list[_Mark]]:
    """Every digit cut from each mark (by id), through fused marks; the marks reached."""
    uses: dict[int, list[_Digit]] = {}
    reached: list[_Mark] = []
    stack = list(out_digits)
    while stack:
        d = stack.pop()
        if id(d.mark) not in uses:
            uses[id(d.mark)] = []
            reached.append(d.mark)
            stack.extend(d.mark.parts)
        uses[id(d.mark)].append(d)
    return uses, reached


def _check_cover(initial: Sequence[Var], marks: dict[Var, _Mark], out_digits: Sequence[_Digit],
                 fail: Callable[[str], ScheduleError]) -> None:
    """Each index (and each fused combination) must be cut into digits that tile it exactly."""
    uses, reached = _uses(out_digits)
    for v in initial:
        m = marks[v]
        if id(m) not in uses and not _is_one(m.extent):
            raise fail(f"index {v.name} (extent {m.extent}) does not occur in it, so elements would share a place")
    for m in reached:
        what = f"index {m.var.name}" if m.var is not None else "a combination of indices"
        digits = list(uses[id(m)])
        at = E.const(1, m.extent.dtype)
        while digits:
            nxt = [d for d in digits if _eq(d.lower, at)]
            if len(nxt) != 1:
                break
            digits.remove(nxt[0])
            at = _mul(at, nxt[0].extent)
        if digits or not _eq(at, m.extent):
            total = E.const(1, m.extent.dtype)
            for d in uses[id(m)]:
                total = _mul(total, d.extent)
            if _le(total, m.extent) and not _eq(total, m.extent):
                why = "parts of it are lost, so elements would share a place"
            elif _eq(total, m.extent):
                why = "its parts overlap"
            else:
                why = "parts of it are used more than once"
            raise fail(f"{what} (extent {m.extent}): {why}")


def _inverse(initial: Sequence[Var], marks: dict[Var, _Mark], out_digits: Sequence[_Digit | None],
             new_vars: Sequence[Var]) -> list[PrimExpr]:
    """The original indices as expressions of the transformed ones."""
    value: dict[int, PrimExpr] = {}  # by id of digit
    for d, v in zip(out_digits, new_vars):
        if d is not None:
            value[id(d)] = v
    uses, reached = _uses([d for d in out_digits if d is not None])
    mark_value: dict[int, PrimExpr] = {}
    pending = list(reached)
    while pending:
        progress = False
        for m in list(pending):
            if not all(id(d) in value for d in uses[id(m)]):
                continue
            total: PrimExpr | None = None
            for d in uses[id(m)]:
                term = value[id(d)] if _is_one(d.lower) else value[id(d)] * d.lower
                total = term if total is None else total + term
            assert total is not None
            mark_value[id(m)] = total
            for k, p in enumerate(m.parts):  # most significant first
                part = total if _is_one(p.scale) else E.binary(E.FloorDiv, total, p.scale)
                value[id(p)] = part if k == 0 else E.binary(E.FloorMod, part, p.extent)
            pending.remove(m)
            progress = True
        if not progress:  # unreachable for a checked cover (marks form a tree)
            raise ScheduleError("transform_layout: internal error inverting the mapping")
    return [mark_value.get(id(marks[v]), E.const(0, v.dtype)) for v in initial]
