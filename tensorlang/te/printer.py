"""Readable text for expressions (infix, parenthesized only where precedence needs it)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from . import expr as E

_PREC = {E.Or: 1, E.And: 2, E.EQ: 3, E.NE: 3, E.LT: 4, E.LE: 4, E.GT: 4, E.GE: 4,
         E.Add: 5, E.Sub: 5, E.Mul: 6, E.Div: 6, E.FloorDiv: 6, E.FloorMod: 6}
_ATOM = 10


class Names:
    """Unique display names: distinct variables that share a name get suffixes (i, i_1, ...)."""

    def __init__(self) -> None:
        self._by_id: dict[int, str] = {}
        self._used: set[str] = set()
        self._keep: list[Any] = []

    def __call__(self, v: Any) -> str:
        got = self._by_id.get(id(v))
        if got is None:
            got, n = v.name, 0
            while got in self._used:
                n += 1
                got = f"{v.name}_{n}"
            self._used.add(got)
            self._by_id[id(v)] = got
            self._keep.append(v)
        return got


# The naming scope of the statement being printed (set and reset by expr_str).
_names: ContextVar[Names | None] = ContextVar("tensorlang_print_names", default=None)


def expr_str(e: Any, names: Names | None = None) -> str:
    """Render an expression as text (with ``names``, distinct variables get distinct names)."""
    if names is None:
        return _render(e)[0]
    token = _names.set(names)
    try:
        return _render(e)[0]
    finally:
        _names.reset(token)


def _var_name(v: Any) -> str:
    names = _names.get()
    return names(v) if names is not None else v.name


def _render(e: Any) -> tuple[str, int]:
    t = type(e)
    if t is E.Var:
        return _var_name(e), _ATOM
    if t is E.IntImm:
        if e.dtype.is_bool:
            return ("True" if e.value else "False"), _ATOM
        text = str(e.value)
        if e.dtype.bits != 32 or not e.dtype.is_signed:
            text = f"{e.dtype}({e.value})"
        return text, _ATOM if e.value >= 0 else 0
    if t is E.FloatImm:
        text = repr(e.value)
        if e.dtype.bits != 32:
            text = f"{e.dtype}({text})"
        else:
            text += "f"
        return text, _ATOM if e.value >= 0 else 0
    prec = _PREC.get(t)
    if prec is not None:
        sym = t.symbol
        if t is E.Div and not e.dtype.is_float:
            return f"truncdiv({expr_str(e.a)}, {expr_str(e.b)})", _ATOM
        a, pa = _render(e.a)
        b, pb = _render(e.b)
        if pa < prec:
            a = f"({a})"
        if pb <= prec:
            b = f"({b})"
        return f"{a} {sym} {b}", prec
    if t in (E.Min, E.Max, E.Mod):
        name = {E.Min: "min", E.Max: "max", E.Mod: "truncmod" if not e.dtype.is_float else "fmod"}[t]
        return f"{name}({expr_str(e.a)}, {expr_str(e.b)})", _ATOM
    if t is E.Not:
        a, pa = _render(e.a)
        return "!" + (a if pa == _ATOM else f"({a})"), _ATOM
    if t is E.Cast:
        return f"{e.dtype}({expr_str(e.value)})", _ATOM
    if t is E.Select:
        return (f"select({expr_str(e.condition)}, {expr_str(e.true_value)}, "
                f"{expr_str(e.false_value)})"), _ATOM
    if t is E.Call:
        return f"{e.name}({', '.join(expr_str(a) for a in e.args)})", _ATOM
    if t is E.Let:
        return f"(let {_var_name(e.var)} = {expr_str(e.value)} in {expr_str(e.body)})", _ATOM
    if t is E.TensorRead:
        return f"{e.tensor.name}[{', '.join(expr_str(i) for i in e.indices)}]", _ATOM
    if t is E.Reduce:
        src = ", ".join(expr_str(s) for s in e.source)
        axes = ", ".join(_var_name(iv.var) for iv in e.axis)
        text = f"{e.combiner.name}({src}, axis=[{axes}]"
        if not (isinstance(e.condition, E.IntImm) and e.condition.value):
            text += f", where={expr_str(e.condition)}"
        if len(e.source) > 1:
            text += f", value_index={e.value_index}"
        return text + ")", _ATOM
    if t is E.Load:
        text = f"{_var_name(e.buffer)}[{expr_str(e.index)}]"
        if e.predicate is not None:
            text += f" if {expr_str(e.predicate)}"
            return f"({text})", _ATOM
        return text, _ATOM
    if t is E.Ramp:
        return f"ramp({expr_str(e.base)}, {expr_str(e.stride)}, {e.lanes})", _ATOM
    if t is E.Broadcast:
        return f"x{e.lanes}({expr_str(e.value)})", _ATOM
    return f"<{t.__name__}>", _ATOM
