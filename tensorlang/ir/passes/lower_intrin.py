"""Intrinsic lowering rules: ``tl.ir.register_intrin_lowering("tir.exp", target="cuda", f=rule)``
replaces calls of an intrinsic by what ``rule(call)`` returns, on that target.

Guarantees: after ``lower_intrinsics(stmt, kind)`` every call with a rule registered for
``kind`` (or "default") has been rewritten by the rule of the highest level; calls without a
rule are unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from ...errors import LoweringError
from ...te import expr as E
from ...te.functor import Mutator
from ..stmt import Stmt

# (op name, target kind) -> (level, rule)
_RULES: dict[tuple[str, str], tuple[int, Callable[[E.Call], Any]]] = {}
# (op name, attribute) -> value, as registered (TVM uses it to declare new intrinsics)
_ATTRS: dict[tuple[str, str], Any] = {}


class CallEffectKind(enum.IntEnum):
    """How a call affects state (TVM's tir.CallEffectKind)."""

    ExprAnnotation = 0  # noqa: N815 - TVM's names
    Pure = 1  # noqa: N815
    ReadState = 2  # noqa: N815
    UpdateState = 3  # noqa: N815
    Opaque = 4  # noqa: N815


def _op_name(name: str) -> str:
    return name if name.startswith("tir.") else f"tir.{name}"


def register_intrin_lowering(op_name: str, target: str = "default", *, f: Callable | None = None,
                             level: int = 10) -> Any:
    """Lower calls of ``op_name`` on ``target`` ("cuda", "llvm", "default") with ``f(call)``;
    a rule of a higher ``level`` wins.  Also usable as a decorator."""

    def register(fn: Callable) -> Callable:
        key = (_op_name(op_name), target)
        if key not in _RULES or _RULES[key][0] <= level:
            _RULES[key] = (level, fn)
        return fn

    return register(f) if f is not None else register


def register_op_attr(op_name: str, attr_key: str, value: Any = None, level: int = 10) -> Any:
    """Record an attribute of an operator (e.g. ``TCallEffectKind``); declares a new intrinsic."""
    def register(v: Any) -> Any:
        _ATTRS[(_op_name(op_name), attr_key)] = v
        return v
    return register(value) if value is not None else register


class _Lower(Mutator):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def visit_Call(self, node: E.Call) -> E.PrimExpr:
        node = self.generic_visit(node)
        name = _op_name(node.name)
        rule = _RULES.get((name, self.kind)) or _RULES.get((name, "default"))
        if rule is None:
            return node
        out = rule[1](node)
        if out is None:
            return node
        out = E.convert(out)
        if out.dtype != node.dtype:
            # The code would store the rule's value into the call's storage: a silent wrong answer.
            raise LoweringError(f"the lowering rule for {node.name} on target '{self.kind}' returned a {out.dtype} "
                                f"value ({out}) for a {node.dtype} call ({node}); a rule must keep the call's dtype")
        return out


def lower_intrinsics(stmt: Stmt, kind: str) -> Stmt:
    """Apply the registered rules for target ``kind`` (see module docstring)."""
    if not _RULES:
        return stmt
    return _Lower(kind).visit(stmt)


__all__ = ["CallEffectKind", "register_intrin_lowering", "register_op_attr", "lower_intrinsics"]
