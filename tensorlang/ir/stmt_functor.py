"""TVM's ``tir.stmt_functor``: walk and rewrite statements and expressions."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import ArgumentError
from ..te import expr as E
from ..te.expr import PrimExpr, Var, cast, convert
from ..te.functor import Mutator
from ..te.functor import post_order_visit as _post_order_visit
from ..te.functor import pre_order_visit as _pre_order_visit
from ..te.functor import substitute as substitute_vars
from . import stmt as S

# TVM 0.12's node kinds under the names of the tensorlang nodes that play their part.
_KIND_ALIASES = {"BufferStore": "Store", "BufferLoad": "Load", "ProducerLoad": "TensorRead",
                 "ProducerStore": "Provide", "ProducerRealize": "Realize"}


def _node_kinds() -> set[str]:
    return {name for mod in (S, E) for name, obj in vars(mod).items()
            if isinstance(obj, type) and obj.__module__ == mod.__name__}


def substitute(node: Any, vmap: dict[Var, Any]) -> Any:
    """``node`` with each variable of ``vmap`` replaced by its value; an integer value takes the
    variable's integer width (a loop variable may be int64 where TVM's is int32)."""
    if not isinstance(vmap, Mapping):
        raise ArgumentError(f"substitute(node, vmap): vmap must be a dict of Var -> value (TVM's Dict[Var, "
                            f"PrimExpr]), got {type(vmap).__name__}")
    values: dict[Var, PrimExpr] = {}
    for v, value in vmap.items():
        if not isinstance(v, Var):
            raise ArgumentError(f"substitute(node, vmap): the keys of vmap are variables (te.var, a loop's "
                                f"loop_var), got {type(v).__name__} {v!r}")
        value = convert(value)
        if value.dtype != v.dtype and value.dtype.is_int and v.dtype.is_int:
            value = cast(value, v.dtype)
        values[v] = value
    return substitute_vars(node, values)


def ir_transform(stmt: Any, preorder: Callable[[Any], Any] | None, postorder: Callable[[Any], Any] | None,
                 only_enable: Sequence[str] | None = None) -> Any:
    """TVM's ``ir_transform``: rebuild ``stmt`` bottom-up; for each node of the enabled kinds
    (``"tir.For"``, ``"tir.Store"`` ...; every kind when None), ``preorder(node)`` may return a
    replacement (its children are then left as they are), else the children are transformed
    and ``postorder(node)`` may return a replacement; returning None keeps the node."""
    for what, fn in (("preorder", preorder), ("postorder", postorder)):
        if fn is not None and not callable(fn):
            raise ArgumentError(f"ir_transform: {what} must be a function of a node (or None), got {fn!r}")
    if isinstance(only_enable, str):  # one kind, "tir.For": not its characters
        only_enable = [only_enable]
    kinds = None
    if only_enable is not None:
        kinds = {_KIND_ALIASES.get(k.split(".")[-1], k.split(".")[-1]) for k in only_enable}
        absent = sorted(kinds - _node_kinds())
        if absent:  # TVM has them (AttrStmt, AssertStmt, ...); here the callback would never run
            warnings.warn(f"ir_transform: tensorlang's IR has no {', '.join(absent)} nodes; "
                          f"callbacks for them never run", stacklevel=2)

    class _Transform(Mutator):
        def visit(self, node: Any, *extra: Any) -> Any:
            enabled = kinds is None or type(node).__name__ in kinds
            if enabled and preorder is not None:
                got = preorder(node)
                if got is not None:
                    return got
            out = self.generic_visit(node)
            if enabled and postorder is not None:
                got = postorder(out)
                if got is not None:
                    return got
            return out
    return _Transform().visit(stmt)


def post_order_visit(stmt: Any, fvisit: Callable[[Any], Any]) -> None:
    """TVM's ``post_order_visit``: ``fvisit(node)`` for every node of ``stmt``, children first."""
    if not callable(fvisit):
        raise ArgumentError(f"post_order_visit(stmt, fvisit): fvisit must be a function of a node, got {fvisit!r}")
    _post_order_visit(stmt, fvisit)


def pre_order_visit(stmt: Any, fvisit: Callable[[Any], Any]) -> None:
    """TVM's ``pre_order_visit``: ``fvisit(node)`` for every node of ``stmt``, parents first; a
    node's children only when it returns True."""
    if not callable(fvisit):
        raise ArgumentError(f"pre_order_visit(stmt, fvisit): fvisit must be a function of a node, got {fvisit!r}")
    _pre_order_visit(stmt, fvisit)


def stmt_seq(*parts: Any) -> S.Stmt:
    """TVM's ``tir.stmt_seq``: the statements in order (an expression is evaluated)."""
    stmts = [p if isinstance(p, S.Stmt) else S.Evaluate(convert(p)) for p in parts]
    return S.seq(*stmts) if stmts else S.no_op()


def stmt_list(stmt: S.Stmt) -> list[S.Stmt]:
    """TVM's ``tir.stmt_list``: the statements of a sequence, nested sequences flattened."""
    if isinstance(stmt, S.SeqStmt):
        return [s for part in stmt.seq for s in stmt_list(part)]
    return [stmt]


__all__ = ["ir_transform", "post_order_visit", "pre_order_visit", "stmt_list", "stmt_seq", "substitute"]
