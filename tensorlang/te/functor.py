"""Generic visitors and mutators over any Node (expressions and loop-IR statements): the one
dispatch protocol of every tree walk (passes, both code generators, both printers).

``visit(node, *extra)`` calls ``visit_<ClassName>(node, *extra)`` for the nearest class in the
node's MRO that has one (looked up once per visitor class and node class), else
``generic_visit(node, *extra)``, which walks the node's ``_children``. A mutator returns the node
itself when none of its children changed, so "nothing changed" is an identity check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .expr import Node, PrimExpr, Var


class Visitor:
    """Walks a tree; override ``visit_<ClassName>(node, *extra)`` and call
    ``self.generic_visit`` to recurse; ``extra`` arguments (a vector lane, an indentation) are
    passed through unchanged."""

    # Per visitor class: node class -> the function that visits it (filled on first use).
    _dispatch: dict[type, Callable[..., Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}

    def __init__(self) -> None:
        pass

    def visit(self, node: Any, *extra: Any) -> Any:
        fn = self._dispatch.get(type(node))
        if fn is None:
            fn = self._find_method(type(node))
        return fn(self, node, *extra)

    @classmethod
    def _find_method(cls, node_cls: type) -> Callable[..., Any]:
        for klass in node_cls.__mro__:
            fn = getattr(cls, "visit_" + klass.__name__, None)
            if fn is not None:
                break
        else:
            fn = cls.generic_visit
        cls._dispatch[node_cls] = fn
        return fn

    @classmethod
    def handles(cls, node_cls: type) -> bool:
        """Whether a ``visit_<Class>`` method covers ``node_cls`` (else ``generic_visit`` does)."""
        return any(hasattr(cls, "visit_" + k.__name__) for k in node_cls.__mro__)

    def generic_visit(self, node: Any, *extra: Any) -> Any:
        for child in children(node):
            self.visit(child, *extra)


def children(node: Any) -> Iterator[Node]:
    """The child nodes of ``node`` (its ``_children`` fields, tuples flattened), in order."""
    for name in getattr(node, "_children", ()):
        value = getattr(node, name)
        if isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Node))
        elif isinstance(value, Node):
            yield value


class Mutator(Visitor):
    """Rebuilds a tree bottom-up; ``visit_<ClassName>`` returns the replacement node."""

    def generic_visit(self, node: Any, *extra: Any) -> Any:
        children = getattr(node, "_children", ())
        if not children:
            return node
        changed = False
        new: dict[str, Any] = {}
        for name in children:
            value = getattr(node, name)
            if isinstance(value, tuple):
                out = tuple(self.visit(v, *extra) if isinstance(v, Node) else v for v in value)
                if any(a is not b for a, b in zip(out, value)):
                    changed = True
                    new[name] = out
            elif isinstance(value, Node):
                out = self.visit(value, *extra)
                if out is not value:
                    changed = True
                    new[name] = out
        if not changed:
            return node
        return rebuild(node, new)


def rebuild(node: Any, changes: dict[str, Any]) -> Any:
    """A copy of ``node`` with some constructor arguments replaced."""
    args = [changes.get(p, getattr(node, p)) for p in node._params]
    return type(node)(*args)


def post_order_visit(node: Any, fn: Callable[[Any], None]) -> None:
    """Call ``fn`` on every node of the tree, children before parents (iteratively, so any
    depth of nesting works)."""
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if expanded:
            fn(n)
            continue
        stack.append((n, True))
        stack.extend((c, False) for c in reversed(list(children(n))))


def pre_order_visit(node: Any, fn: Callable[[Any], Any]) -> None:
    """Call ``fn`` on every node of the tree, parents before children, as TVM's
    ``tir.stmt_functor.pre_order_visit``: a node's children are visited only when ``fn`` returns
    a true value for it (iteratively, so any depth of nesting works)."""
    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        if fn(n):
            stack.extend(reversed(list(children(n))))


class Substituter(Mutator):
    """Replaces variables by expressions (identity-keyed map); passes subclass it to replace or
    fold more on the way."""

    def __init__(self, vmap: dict[Var, PrimExpr]):
        super().__init__()
        self.vmap = vmap

    def visit_Var(self, node: Var) -> PrimExpr:
        return self.vmap.get(node, node)


def substitute(node: Any, vmap: dict[Var, PrimExpr]) -> Any:
    """Replace variables by expressions (identity-keyed map) in an expression or statement."""
    if not vmap:
        return node
    return Substituter(vmap).visit(node)


def contains(node: Any, pred: Callable[[Any], bool]) -> bool:
    """Whether any node of the tree satisfies ``pred`` (parents before children; stops at the
    first, and walks iteratively, so any depth of nesting works)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if pred(n):
            return True
        stack.extend(children(n))
    return False


def free_vars(node: Any) -> set[Var]:
    """The set of Vars that appear anywhere in the tree (loop variables included)."""
    out: set[Var] = set()

    def fn(n: Any) -> None:
        if isinstance(n, Var):
            out.add(n)
    post_order_visit(node, fn)
    return out


def uses_var(node: Any, targets: set[Var]) -> bool:
    """True when any variable of ``targets`` appears in the tree."""
    return bool(free_vars(node) & targets)
