"""Readable text for expressions (infix, parenthesized only where precedence needs it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import expr as E
from .functor import Visitor

# Python's order: comparisons, then | ^ & and shifts, then + - and * /.
_PREC = {E.Or: 1, E.And: 2, E.EQ: 3, E.NE: 3, E.LT: 4, E.LE: 4, E.GT: 4, E.GE: 4,
         E.BitwiseOr: 5, E.BitwiseXor: 6, E.BitwiseAnd: 7, E.ShiftLeft: 8, E.ShiftRight: 8,
         E.Add: 9, E.Sub: 9, E.Mul: 10, E.Div: 10, E.FloorDiv: 10, E.FloorMod: 10}
_ATOM = 20


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


def expr_str(e: Any, names: Names | None = None) -> str:
    """Render an expression as text (with ``names``, distinct variables get distinct names)."""
    return ExprPrinter(names).visit(e)[0]


class ExprPrinter(Visitor):
    """``visit(e)`` is ``(text, precedence)``: the text of ``e``, and how tightly it binds (an
    operand of lower precedence than its operator gets parentheses)."""

    def __init__(self, names: Names | None = None):
        super().__init__()
        self.names = names

    def text(self, e: Any) -> str:
        return self.visit(e)[0]

    def name(self, v: Any) -> str:
        return self.names(v) if self.names is not None else v.name

    def generic_visit(self, e: Any, *extra: Any) -> tuple[str, int]:
        return f"<{type(e).__name__}>", _ATOM

    def visit_Var(self, e: E.Var) -> tuple[str, int]:
        return self.name(e), _ATOM

    def visit_IntImm(self, e: E.IntImm) -> tuple[str, int]:
        if e.dtype.is_bool:
            return ("True" if e.value else "False"), _ATOM
        text = str(e.value)
        if e.dtype.bits != 32 or not e.dtype.is_signed:
            text = f"{e.dtype}({e.value})"
        return text, _ATOM if e.value >= 0 else 0

    def visit_StringImm(self, e: E.StringImm) -> tuple[str, int]:
        return repr(e.value), _ATOM

    def visit_FloatImm(self, e: E.FloatImm) -> tuple[str, int]:
        # The shortest text that reads back as the dtype's value (0.1f, not 0.10000000149011612f).
        text = repr(e.value) if e.dtype.bits == 64 else str({16: np.float16, 32: np.float32}[e.dtype.bits](e.value))
        if e.dtype.bits != 32:
            text = f"{e.dtype}({text})"
        else:
            text += "f"
        return text, _ATOM if e.value >= 0 else 0

    def visit_BinaryOp(self, e: E.BinaryOp) -> tuple[str, int]:
        t = type(e)
        prec = _PREC.get(t)
        if prec is None or (t is E.Div and not e.dtype.is_float):
            return f"{self.call_name(e)}({self.text(e.a)}, {self.text(e.b)})", _ATOM
        a, pa = self.visit(e.a)
        b, pb = self.visit(e.b)
        if pa < prec:
            a = f"({a})"
        if pb <= prec:
            b = f"({b})"
        return f"{a} {t.symbol} {b}", prec

    @staticmethod
    def call_name(e: E.BinaryOp) -> str:
        """The function-call spelling of a binary operator that has no infix form here."""
        if type(e) is E.Div:
            return "truncdiv"
        if type(e) is E.Mod:
            return "fmod" if e.dtype.is_float else "truncmod"
        return {E.Min: "min", E.Max: "max"}[type(e)]

    def visit_Not(self, e: E.Not) -> tuple[str, int]:
        a, pa = self.visit(e.a)
        return "!" + (a if pa == _ATOM else f"({a})"), _ATOM

    def visit_Cast(self, e: E.Cast) -> tuple[str, int]:
        return f"{e.dtype}({self.text(e.value)})", _ATOM

    def visit_Select(self, e: E.Select) -> tuple[str, int]:
        return (f"select({self.text(e.condition)}, {self.text(e.true_value)}, "
                f"{self.text(e.false_value)})"), _ATOM

    def visit_Call(self, e: E.Call) -> tuple[str, int]:
        return f"{e.name}({', '.join(self.text(a) for a in e.args)})", _ATOM

    def visit_Let(self, e: E.Let) -> tuple[str, int]:
        return f"(let {self.name(e.var)} = {self.text(e.value)} in {self.text(e.body)})", _ATOM

    def visit_TensorRead(self, e: E.TensorRead) -> tuple[str, int]:
        return f"{e.tensor.name}[{', '.join(self.text(i) for i in e.indices)}]", _ATOM

    def visit_Reduce(self, e: E.Reduce) -> tuple[str, int]:
        src = ", ".join(self.text(s) for s in e.source)
        axes = ", ".join(self.name(iv.var) for iv in e.axis)
        text = f"{e.combiner.name}({src}, axis=[{axes}]"
        if not (isinstance(e.condition, E.IntImm) and e.condition.value):
            text += f", where={self.text(e.condition)}"
        if len(e.source) > 1:
            text += f", value_index={e.value_index}"
        return text + ")", _ATOM

    def visit_Load(self, e: E.Load) -> tuple[str, int]:
        text = f"{self.name(e.buffer)}[{self.text(e.index)}]"
        if e.predicate is not None:
            return f"({text} if {self.text(e.predicate)})", _ATOM
        return text, _ATOM

    def visit_Ramp(self, e: E.Ramp) -> tuple[str, int]:
        return f"ramp({self.text(e.base)}, {self.text(e.stride)}, {e.lanes})", _ATOM

    def visit_Broadcast(self, e: E.Broadcast) -> tuple[str, int]:
        return f"x{e.lanes}({self.text(e.value)})", _ATOM
