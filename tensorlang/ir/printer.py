"""Readable text for loop-IR statements and lowered functions."""

from __future__ import annotations

from typing import Any

from ..te.functor import Visitor
from ..te.printer import ExprPrinter, Names
from . import stmt as S
from .function import Buffer


def stmt_str(s: S.Stmt, indent: int = 0, names: Names | None = None) -> str:
    """Render a statement tree, one statement a line, two spaces per nesting level."""
    printer = StmtPrinter(names or Names())
    printer.visit(s, indent)
    return "\n".join(printer.lines)


class StmtPrinter(Visitor):
    """``visit(s, indent)`` appends the lines of ``s`` to ``lines``."""

    def __init__(self, names: Names):
        super().__init__()
        self.names = names
        self.exprs = ExprPrinter(names)
        self.lines: list[str] = []

    def expr(self, e: Any) -> str:
        return self.exprs.visit(e)[0]

    def add(self, ind: int, text: str) -> None:
        self.lines.append("  " * ind + text)

    def generic_visit(self, s: Any, *extra: Any) -> None:
        self.add(extra[0], f"<{type(s).__name__}>")

    def visit_SeqStmt(self, s: S.SeqStmt, ind: int) -> None:
        for x in s.seq:
            self.visit(x, ind)

    def visit_For(self, s: S.For, ind: int) -> None:
        tag = f" [{s.thread_tag}]" if s.thread_tag else ""
        ann = "".join(f" @{k}={v}" for k, v in s.annotations)
        self.add(ind, f"{s.kind.value} ({self.names(s.loop_var)}, {self.expr(s.min)}, {self.expr(s.extent)})"
                      f"{tag}{ann} {{")
        self.visit(s.body, ind + 1)
        self.add(ind, "}")

    def visit_Store(self, s: S.Store, ind: int) -> None:
        pred = f" if {self.expr(s.predicate)}" if s.predicate is not None else ""
        self.add(ind, f"{self.names(s.buffer)}[{self.expr(s.index)}] = {self.expr(s.value)}{pred}")

    def visit_Provide(self, s: S.Provide, ind: int) -> None:
        idx = ", ".join(self.expr(i) for i in s.indices)
        self.add(ind, f"{s.tensor.name}[{idx}] = {self.expr(s.value)}")

    def visit_Allocate(self, s: S.Allocate, ind: int) -> None:
        self.add(ind, f"allocate {self.names(s.buffer)}[{s.dtype} * {self.expr(s.extent)}], {s.scope}")
        self.visit(s.body, ind)

    def visit_Realize(self, s: S.Realize, ind: int) -> None:
        region = ", ".join(f"[{self.expr(m)}, {self.expr(e)}]" for m, e in zip(s.mins, s.extents))
        self.add(ind, f"realize {s.tensor.name}({region}) {s.scope} {{")
        self.visit(s.body, ind + 1)
        self.add(ind, "}")

    def visit_BufferRegionBind(self, s: S.BufferRegionBind, ind: int) -> None:
        region = ", ".join(f"[{self.expr(m)}, {self.expr(e)}]" for m, e in zip(s.mins, s.extents))
        self.add(ind, f"bind {s.buffer.name} = {s.tensor.name}({region}) {{")
        self.visit(s.body, ind + 1)
        self.add(ind, "}")

    def visit_LetStmt(self, s: S.LetStmt, ind: int) -> None:
        self.add(ind, f"let {self.names(s.var)} = {self.expr(s.value)}")
        self.visit(s.body, ind)

    def visit_IfThenElse(self, s: S.IfThenElse, ind: int) -> None:
        self.add(ind, f"if ({self.expr(s.condition)}) {{")
        self.visit(s.then_case, ind + 1)
        if s.else_case is not None:
            self.add(ind, "} else {")
            self.visit(s.else_case, ind + 1)
        self.add(ind, "}")

    def visit_Evaluate(self, s: S.Evaluate, ind: int) -> None:
        if not S.is_no_op(s):
            self.add(ind, self.expr(s.value))


def func_str(f: Any) -> str:
    """Render a PrimFunc: its signature, then its body."""
    nm = Names()
    exprs = ExprPrinter(nm)
    params = []
    for p in f.params:
        if isinstance(p, Buffer):
            params.append(f"{nm(p.data)}: {p.dtype}[{', '.join(exprs.visit(d)[0] for d in p.shape)}]")
        else:
            params.append(f"{nm(p)}: {p.dtype}")
    body = stmt_str(f.body, 1, nm)
    return f"func {f.name}({', '.join(params)}) {{\n{body}\n}}"
