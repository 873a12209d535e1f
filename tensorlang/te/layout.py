"""Data layouts (TVM's tir.layout): validated layout strings and exact index/shape maps between two of them."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import DTypeError, ExprError
from .dtype import DType, as_dtype
from .expr import IntImm, PrimExpr, cast, const, convert
from .intrin import ceildiv, floordiv, floormod

# TVM's name for "no layout"; tir.layout returns None for it, as TVM's null object reaches Python as None.
UNDEF = "__undef__"


def _parse(name: str) -> tuple[tuple[str, int], ...]:
    """(letter, factor) per axis; factor 0 marks a primal (upper-case) axis."""
    axes: list[tuple[str, int]] = []
    digits = ""
    for ch in name:
        if "0" <= ch <= "9":
            digits += ch
        elif "A" <= ch <= "Z":
            if digits:
                raise ExprError(f"invalid layout '{name}': primal axis '{ch}' cannot take a factor ({digits}); "
                                "only a sub-axis (lower case) does, as in 'NCHW16c'")
            axes.append((ch, 0))
        elif "a" <= ch <= "z":
            if not digits:
                raise ExprError(f"invalid layout '{name}': sub-axis '{ch}' needs a factor before it, "
                                f"as in '16{ch}'")
            if int(digits) == 0:
                raise ExprError(f"invalid layout '{name}': sub-axis '{ch}' has factor {digits}; it must be positive")
            axes.append((ch, int(digits)))
            digits = ""
        else:
            raise ExprError(f"invalid layout '{name}': character {ch!r} is not a letter (axis) or a digit (factor)")
    if digits:
        # TVM ignores a trailing factor; it is almost surely a typo for a missing sub-axis letter.
        raise ExprError(f"invalid layout '{name}': factor {digits} at the end names no sub-axis")
    seen: set[str] = set()
    for letter, _ in axes:
        if letter in seen:
            raise ExprError(f"invalid layout '{name}': axis '{letter}' appears more than once")
        seen.add(letter)
    for letter, factor in axes:
        if factor and letter.upper() not in seen:
            raise ExprError(f"invalid layout '{name}': sub-axis '{letter}' has no primal axis '{letter.upper()}'")
    return tuple(axes)


def _axis_letter(axis: Any) -> str:
    """Check an axis name given to index_of / factor_of: one letter, as TVM's LayoutAxis::Get requires."""
    if not (isinstance(axis, str) and len(axis) == 1 and ("A" <= axis <= "Z" or "a" <= axis <= "z")):
        raise ExprError(f"invalid layout axis {axis!r}: an axis is one letter, A-Z or a-z")
    return axis


def _index_dtype(dtype: str | DType) -> DType:
    dt = as_dtype(dtype)
    if dt.kind != "int" or dt.lanes != 1:  # TVM: "The input dtype should be integer type" (signed)
        raise DTypeError(f"a layout's index dtype must be a signed integer scalar, not {dt}")
    return dt


class Layout:
    """A data layout such as ``NCHW16c``: upper-case letters are primal axes, a lower-case
    letter after a factor is a sub-axis of its primal axis (``16c``: blocks of 16 channels).
    Build one with :func:`layout`; ``Layout("")`` is the 0-d (scalar) layout."""

    __slots__ = ("name", "dtype", "_axes")

    def __init__(self, name: str, dtype: str | DType = "int32") -> None:
        if not isinstance(name, str):
            raise ExprError(f"a layout is a string such as 'NCHW16c', not {name!r} ({type(name).__name__})")
        if name == UNDEF:
            raise ExprError(f"'{UNDEF}' is the undefined layout: tir.layout returns None for it")
        self.name = name
        self.dtype = _index_dtype(dtype)
        self._axes = _parse(name)

    def __len__(self) -> int:
        return len(self._axes)

    def __getitem__(self, index: int) -> str:
        i = operator.index(index)
        if not -len(self._axes) <= i < len(self._axes):
            raise IndexError("Layout index out of range")
        return self._axes[i][0]

    def __iter__(self) -> Iterator[str]:
        return (letter for letter, _ in self._axes)

    def __contains__(self, axis: object) -> bool:
        return isinstance(axis, str) and len(axis) == 1 and axis.isalpha() and axis in self.name

    def index_of(self, axis: str) -> int:
        """Position of ``axis`` (one letter), -1 when the layout lacks it."""
        letter = _axis_letter(axis)
        return next((i for i, (a, _) in enumerate(self._axes) if a == letter), -1)

    def factor_of(self, axis: str) -> int:
        """The factor of the sub-axis of ``axis`` (given as its primal or sub-axis letter), -1 when
        the layout has no such sub-axis."""
        sub = _axis_letter(axis).lower()
        return next((f for a, f in self._axes if a == sub), -1)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Layout):
            return self.name == other.name
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Layout({self.name})"  # TVM prints str() and repr() alike

    __str__ = __repr__


def layout(layout_str: str, dtype: str | DType = "int32") -> Layout | None:
    """The layout named by ``layout_str`` (``"NCHW16c"``), or None for ``"__undef__"``, as in TVM.
    ``dtype`` is the integer type of the layout's index arithmetic."""
    if isinstance(layout_str, Layout):
        return layout_str
    if layout_str == UNDEF:
        _index_dtype(dtype)  # TVM checks the dtype before looking at the name
        return None
    return Layout(layout_str, dtype)


# A rule computes one target axis from source values: sum(value[j] * mult) over its (j, mult)
# terms, then ("div", f) -> floordiv by f, ("mod", f) -> floormod by f, (None, 0) -> the sum.
_Rule = tuple[tuple[tuple[int, int], ...], str | None, int]


def _rules(src: Layout, dst: Layout) -> list[_Rule] | None:
    """How each axis of ``dst`` follows from the axes of ``src``; None when some axis of ``dst``
    has a primal axis that ``src`` lacks."""
    rules: list[_Rule] = []
    for letter, factor in dst._axes:
        primal = letter.upper()
        terms = []
        for j, (s_letter, s_factor) in enumerate(src._axes):
            if s_letter == primal:  # the outer part counts in blocks of the source's sub-axis
                terms.append((j, max(src.factor_of(primal), 1)))
            elif s_letter == primal.lower():
                terms.append((j, 1))
        if not terms:
            return None
        if factor:  # a sub-axis of dst: the position inside its block
            rules.append((tuple(terms), "mod", factor))
        elif dst.factor_of(primal) > 0:  # a split primal axis of dst: which block
            rules.append((tuple(terms), "div", dst.factor_of(primal)))
        else:
            rules.append((tuple(terms), None, 0))
    return rules


class BijectiveLayout:
    """The index and shape maps between ``src_layout`` and ``dst_layout`` (same primal axes).
    Build one with :func:`bijective_layout`."""

    __slots__ = ("src_layout", "dst_layout", "_forward", "_backward")

    def __init__(self, src_layout: Layout, dst_layout: Layout) -> None:
        self.src_layout = src_layout
        self.dst_layout = dst_layout
        forward, backward = _rules(src_layout, dst_layout), _rules(dst_layout, src_layout)
        if forward is None or backward is None:
            raise ExprError(f"layouts '{src_layout.name}' and '{dst_layout.name}' are not convertible: "
                            "they must have the same primal (upper-case) axes")
        self._forward, self._backward = forward, backward

    def forward_index(self, index: Sequence[Any]) -> list[PrimExpr]:
        """The dst-layout index of the element at ``index`` in the src layout."""
        return _apply_index(self._forward, index, self.src_layout, "forward_index")

    def backward_index(self, index: Sequence[Any]) -> list[PrimExpr]:
        """The src-layout index of the element at ``index`` in the dst layout."""
        return _apply_index(self._backward, index, self.dst_layout, "backward_index")

    def forward_shape(self, shape: Sequence[Any]) -> list[PrimExpr]:
        """The dst-layout shape of a tensor of ``shape`` in the src layout (a split axis rounds up)."""
        return _apply_shape(self._forward, shape, self.src_layout, self.dst_layout, "forward_shape")

    def backward_shape(self, shape: Sequence[Any]) -> list[PrimExpr]:
        """The src-layout shape of a tensor of ``shape`` in the dst layout."""
        return _apply_shape(self._backward, shape, self.dst_layout, self.src_layout, "backward_shape")

    def __repr__(self) -> str:
        return f"BijectiveLayout({self.src_layout.name}->{self.dst_layout.name})"

    __str__ = __repr__


def bijective_layout(src_layout: str | Layout | None, dst_layout: str | Layout | None) -> BijectiveLayout | None:
    """The bijective map from ``src_layout`` to ``dst_layout``.  As in TVM, None when either is
    undefined or empty, or when ``dst_layout`` has an axis whose primal axis ``src_layout`` lacks;
    an ExprError when only ``src_layout`` has an extra primal axis (TVM fails a check there too)."""
    src = layout(src_layout) if isinstance(src_layout, str) else src_layout
    dst = layout(dst_layout) if isinstance(dst_layout, str) else dst_layout
    for given in (src, dst):
        if given is not None and not isinstance(given, Layout):
            raise ExprError(f"bijective_layout takes layouts or layout strings, not {given!r}")
    if src is None or dst is None or not src.name or not dst.name or _rules(src, dst) is None:
        return None
    return BijectiveLayout(src, dst)


def _values(values: Sequence[Any], lay: Layout, what: str, kind: str) -> list[PrimExpr]:
    """Expressions of ``values``, one per axis of ``lay``; Python ints take the layout's dtype."""
    values = list(values)
    if len(values) != len(lay):
        raise ExprError(f"{what}: layout '{lay.name}' has {len(lay)} axes, got {len(values)} {kind} values")
    out = []
    for v in values:
        e = const(int(v), lay.dtype) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else convert(v)
        if not e.dtype.is_int or e.dtype.lanes != 1:
            raise DTypeError(f"{what}: {kind} values must be integer scalars, got {e.dtype} '{e}'")
        out.append(e)
    return out


def _combine(terms: Sequence[tuple[int, int]], values: Sequence[PrimExpr | None]) -> PrimExpr | None:
    """sum(values[j] * mult) over the terms, leaving out terms whose value is None."""
    total = None
    for j, mult in terms:
        v = values[j]
        if v is None:
            continue
        term = v if mult == 1 else v * mult  # no "* 1": keeps symbolic results readable
        total = term if total is None else total + term
    return total


def _apply_index(rules: list[_Rule], index: Sequence[Any], lay: Layout, what: str) -> list[PrimExpr]:
    values = _values(index, lay, what, "index")
    out = []
    for terms, op, factor in rules:
        total = _combine(terms, values)
        out.append(floordiv(total, factor) if op == "div" else floormod(total, factor) if op == "mod" else total)
    return out


def _apply_shape(rules: list[_Rule], shape: Sequence[Any], lay: Layout, target: Layout,
                 what: str) -> list[PrimExpr]:
    values = _values(shape, lay, what, "shape")
    # A sub-axis extent is fixed by the layout; it adds nothing to the primal extent (that is
    # already counted in blocks), so it is left out of the sums.
    bound: list[PrimExpr | None] = []
    for (letter, factor), v in zip(lay._axes, values):
        if factor:
            if isinstance(v, IntImm) and v.value != factor:
                raise ExprError(f"{what}: axis {len(bound)} ('{factor}{letter}' of layout '{lay.name}') "
                                f"has extent {factor}, got {v.value}")
            bound.append(None)
        else:
            bound.append(cast(v, lay.dtype))
    out = []
    for (terms, op, factor), (_, t_factor) in zip(rules, target._axes):
        if t_factor:
            out.append(const(t_factor, target.dtype))
            continue
        total = _combine(terms, bound)
        out.append(ceildiv(total, factor) if op == "div" else total)
    return out


__all__ = ["Layout", "BijectiveLayout", "layout", "bijective_layout"]
