"""Readable text for loop-IR statements and lowered functions."""

from __future__ import annotations

from typing import Any

from ..te.printer import Names
from ..te.printer import expr_str as _expr_str
from . import stmt as S


def stmt_str(s: S.Stmt, indent: int = 0, names: Names | None = None) -> str:
    """Render a statement tree, one statement a line, two spaces per nesting level."""
    lines: list[str] = []
    names = names or Names()
    _emit(s, indent, lines, names)
    return "\n".join(lines)


def _emit(s: Any, ind: int, out: list[str], nm: Names) -> None:
    def expr_str(e: Any) -> str:
        return _expr_str(e, nm)

    pad = "  " * ind
    if isinstance(s, S.SeqStmt):
        for x in s.seq:
            _emit(x, ind, out, nm)
    elif isinstance(s, S.For):
        head = s.kind.value
        tag = f" [{s.thread_tag}]" if s.thread_tag else ""
        ann = "".join(f" @{k}={v}" for k, v in s.annotations)
        out.append(f"{pad}{head} ({nm(s.loop_var)}, {expr_str(s.min)}, {expr_str(s.extent)}){tag}{ann} {{")
        _emit(s.body, ind + 1, out, nm)
        out.append(pad + "}")
    elif isinstance(s, S.Store):
        pred = f" if {expr_str(s.predicate)}" if s.predicate is not None else ""
        out.append(f"{pad}{nm(s.buffer)}[{expr_str(s.index)}] = {expr_str(s.value)}{pred}")
    elif isinstance(s, S.Provide):
        idx = ", ".join(expr_str(i) for i in s.indices)
        out.append(f"{pad}{s.tensor.name}[{idx}] = {expr_str(s.value)}")
    elif isinstance(s, S.Allocate):
        out.append(f"{pad}allocate {nm(s.buffer)}[{s.dtype} * {expr_str(s.extent)}], {s.scope}")
        _emit(s.body, ind, out, nm)
    elif isinstance(s, S.Realize):
        region = ", ".join(f"[{expr_str(m)}, {expr_str(e)}]" for m, e in zip(s.mins, s.extents))
        out.append(f"{pad}realize {s.tensor.name}({region}) {s.scope} {{")
        _emit(s.body, ind + 1, out, nm)
        out.append(pad + "}")
    elif isinstance(s, S.LetStmt):
        out.append(f"{pad}let {nm(s.var)} = {expr_str(s.value)}")
        _emit(s.body, ind, out, nm)
    elif isinstance(s, S.IfThenElse):
        out.append(f"{pad}if ({expr_str(s.condition)}) {{")
        _emit(s.then_case, ind + 1, out, nm)
        if s.else_case is not None:
            out.append(pad + "} else {")
            _emit(s.else_case, ind + 1, out, nm)
        out.append(pad + "}")
    elif isinstance(s, S.Evaluate):
        if not S.is_no_op(s):
            out.append(pad + expr_str(s.value))
    else:
        out.append(f"{pad}<{type(s).__name__}>")


def func_str(f: Any) -> str:
    """Render a PrimFunc: its signature, then its body."""
    from .function import Buffer
    nm = Names()
    params = []
    for p in f.params:
        if isinstance(p, Buffer):
            params.append(f"{nm(p.data)}: {p.dtype}[{', '.join(_expr_str(d, nm) for d in p.shape)}]")
        else:
            params.append(f"{nm(p)}: {p.dtype}")
    body = stmt_str(f.body, 1, nm)
    return f"func {f.name}({', '.join(params)}) {{\n{body}\n}}"
