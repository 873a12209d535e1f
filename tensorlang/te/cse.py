"""Sharing of common subexpressions: an expression node that the user's code reuses becomes one
``Let``-bound variable, so every later pass sees an expression linear in what was built.

Python code such as ``x = A[i]; for _ in range(9): x = x * x + x`` builds a DAG of 20 nodes
that a tree walk visits 3**9 times; after ``share_subexpressions`` it is a chain of 9 lets.

Guarantees: the result computes the same value; only nodes that are referenced more than once
(by identity) and have a non-leaf child are bound; a node that reads a tensor and is only
evaluated under a ``Select`` branch is never hoisted out of it (the branch may guard an
out-of-bounds read); the walk is iterative, so depth is no problem here.
"""

from __future__ import annotations

from typing import Any

from .expr import FloatImm, IntImm, Let, Node, PrimExpr, Reduce, Select, TensorRead, Var
from .functor import children, rebuild

_LEAVES = (Var, IntImm, FloatImm)


def share_subexpressions(expr: PrimExpr, prefix: str = "cse") -> PrimExpr:
    """``expr`` with each repeated subexpression computed once (see the module docstring)."""
    order, refs = _post_order(expr)
    if all(refs.get(id(n), 0) < 2 for n in order):
        return expr
    unconditional = _unconditional(expr)
    reads = _reads_tensor(order)
    shared = [n for n in order
              if refs.get(id(n), 0) >= 2 and _worth_binding(n)
              and (id(n) in unconditional or not reads[id(n)])]
    if not shared:
        return expr
    binding: dict[int, Var] = {}
    values: list[tuple[Var, PrimExpr]] = []
    memo: dict[int, Any] = {}
    for k, node in enumerate(shared):  # post order: a value only uses variables bound before it
        value = _substitute(node, binding, memo, top=True)
        var = Var(f"{prefix}{k}", node.dtype)
        binding[id(node)] = var
        values.append((var, value))
    out = _substitute(expr, binding, memo, top=False)
    for var, value in reversed(values):
        out = Let(var, value, out)
    return out


def _worth_binding(node: Node) -> bool:
    if isinstance(node, (*_LEAVES, Reduce)) or not isinstance(node, PrimExpr):
        return False
    return any(not isinstance(c, _LEAVES) for c in children(node))


def _post_order(root: Node) -> tuple[list[Node], dict[int, int]]:
    """Each node once, children first, and how many parent edges point at each."""
    refs: dict[int, int] = {}
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in children(node):
            refs[id(child)] = refs.get(id(child), 0) + 1
            if id(child) not in seen:
                stack.append((child, False))
    return order, refs


def _unconditional(root: Node) -> set[int]:
    """Ids of the nodes evaluated whatever the conditions of Selects are."""
    out: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in out:
            continue
        out.add(id(node))
        stack.extend([node.condition] if isinstance(node, Select) else children(node))
    return out


def _reads_tensor(order: list[Node]) -> dict[int, bool]:
    reads: dict[int, bool] = {}
    for node in order:  # children come first
        reads[id(node)] = isinstance(node, TensorRead) or any(reads.get(id(c), False) for c in children(node))
    return reads


def _substitute(root: Node, binding: dict[int, Var], memo: dict[int, Any], top: bool) -> Any:
    """``root`` rebuilt with bound nodes replaced by their variables (``root`` itself kept when
    ``top``, for building its own let value); iterative and memoized by identity."""
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if not (node is root and top) and key in binding:
            memo[key] = binding[key]
            continue
        if key in memo and not (node is root and top):
            continue
        kids = list(children(node))
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in kids if id(c) not in memo and id(c) not in binding)
            continue
        memo_key = ("top", key) if node is root and top else key
        new = _rebuilt(node, binding, memo)
        memo[memo_key] = new  # type: ignore[index]
    return memo[("top", id(root))] if top else memo[id(root)]  # type: ignore[index]


def _rebuilt(node: Node, binding: dict[int, Var], memo: dict[int, Any]) -> Node:
    def new_of(child: Any) -> Any:
        if not isinstance(child, Node):
            return child
        bound = binding.get(id(child))
        return bound if bound is not None else memo.get(id(child), child)

    changes: dict[str, Any] = {}
    for name in getattr(node, "_children", ()):
        value = getattr(node, name)
        if isinstance(value, tuple):
            new = tuple(new_of(v) for v in value)
            if any(a is not b for a, b in zip(new, value)):
                changes[name] = new
        elif isinstance(value, Node):
            new = new_of(value)
            if new is not value:
                changes[name] = new
    return rebuild(node, changes) if changes else node
