"""TVM's ``te.tag_scope``: a default tag for the operations made inside a block or a function."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from ..errors import ExprError

_TAG_SCOPE: ContextVar[str] = ContextVar("tensorlang_te_tag_scope", default="")


class tag_scope:  # noqa: N801 - TVM's name
    """``with te.tag_scope(tag="conv2d"):`` (or ``@te.tag_scope(tag=...)`` on a function): the
    computes and externs made inside without a tag of their own get this one.  Scopes do not nest (as in
    TVM): an operator tagged inside another's scope would lose one of the two tags."""

    def __init__(self, tag: str):
        self.tag = str(tag)
        self._tokens: list[Token] = []

    def __enter__(self) -> tag_scope:
        outer = _TAG_SCOPE.get()
        if outer:
            raise ExprError(f"te.tag_scope(tag={self.tag!r}) inside te.tag_scope(tag={outer!r}): tag scopes "
                            "do not nest; pass tag= to the inner te.compute instead")
        self._tokens.append(_TAG_SCOPE.set(self.tag))
        return self

    def __exit__(self, *exc: Any) -> None:
        _TAG_SCOPE.reset(self._tokens.pop())

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def tagged(*args: Any, **kwargs: Any) -> Any:
            with tag_scope(self.tag):
                return fn(*args, **kwargs)
        return tagged


def current_tag() -> str:
    """The tag of the innermost active ``tag_scope`` ("" outside every scope)."""
    return _TAG_SCOPE.get()


__all__ = ["current_tag", "tag_scope"]
