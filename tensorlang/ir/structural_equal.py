"""TVM's ``tvm.ir.structural_equal`` / ``assert_structural_equal`` / ``structural_hash`` over expressions and
statements: equal trees hash alike."""

from __future__ import annotations

from typing import Any

from ..arith.structural import structural_key
from ..te.expr import Node, Var
from .function import Buffer, PrimFunc


def _renamed_key(node: Any) -> Any:
    """The structural key with variables (and buffers) numbered by first appearance, so two
    trees that differ only in which variables they use compare equal."""
    return _renamed_key_of(structural_key(node))


def _renamed_key_of(key: Any) -> Any:
    order: dict[int, int] = {}

    def walk(k: Any) -> Any:
        if isinstance(k, tuple):
            if len(k) == 2 and k[0] in ("v", "o") and isinstance(k[1], int):  # a variable, a buffer
                return (k[0], order.setdefault(k[1], len(order)))
            return tuple(walk(x) for x in k)
        return k
    return walk(key)


def _function_key(func: Any) -> Any:
    """A lowered function's key, as TVM compares PrimFuncs: its parameters (buffers by dtype and
    shape) and every variable bound inside define the names, so two lowerings of one computation
    compare equal though each made its own buffers and loop variables; the name and attributes count."""
    params = tuple(("buffer", str(p.dtype), tuple(structural_key(s) for s in p.shape), structural_key(p.data))
                   if isinstance(p, Buffer) else structural_key(p) for p in func.params)
    return _renamed_key_of(("PrimFunc", func.name, tuple(sorted((k, repr(v)) for k, v in func.attrs.items())),
                            func.user_arity, params, structural_key(func.body)))


def _key(node: Any, map_free_vars: bool) -> Any:
    if isinstance(node, PrimFunc):
        return _function_key(node)
    return _renamed_key(node) if map_free_vars else structural_key(node)


def structural_equal(lhs: Any, rhs: Any, map_free_vars: bool = False) -> bool:
    """Whether ``lhs`` and ``rhs`` are the same tree (variables by identity, or, with
    ``map_free_vars``, up to a consistent renaming of the variables). Lowered functions (what
    ``tvm.lower`` returns) compare up to a renaming of their parameters and bound variables, as
    in TVM, where a function defines them."""
    if isinstance(lhs, PrimFunc) or isinstance(rhs, PrimFunc):
        return isinstance(lhs, PrimFunc) and isinstance(rhs, PrimFunc) and _function_key(lhs) == _function_key(rhs)
    if isinstance(lhs, (list, tuple)) or isinstance(rhs, (list, tuple)):
        if not (isinstance(lhs, (list, tuple)) and isinstance(rhs, (list, tuple))) or len(lhs) != len(rhs):
            return False
        return all(structural_equal(a, b, map_free_vars) for a, b in zip(lhs, rhs))
    if map_free_vars and isinstance(lhs, (Node, Var)) and isinstance(rhs, (Node, Var)):
        return _renamed_key(lhs) == _renamed_key(rhs)
    return lhs is rhs or structural_key(lhs) == structural_key(rhs)


def structural_hash(node: Any, map_free_vars: bool = False) -> int:
    """A hash that structurally equal trees share (with ``map_free_vars``: equal up to renaming)."""
    return hash(_key(node, map_free_vars)) & ((1 << 63) - 1)


def assert_structural_equal(lhs: Any, rhs: Any, map_free_vars: bool = False) -> None:
    """Raise ``ValueError`` showing both trees when they are not structurally equal."""
    if not structural_equal(lhs, rhs, map_free_vars):
        raise ValueError(f"structural equality check failed:\n  lhs: {lhs}\n  rhs: {rhs}")
