"""TVM's ``autotvm.env.GLOBAL_SCOPE``: whether a template is being instantiated for a tuning
trial (``in_tuning``), which TOPI-style templates read to skip work that only a deployed build
needs.  The flag lives in a context variable that ``Task.instantiate`` sets and resets."""

from __future__ import annotations

from contextvars import ContextVar

_in_tuning: ContextVar[bool] = ContextVar("tensorlang_autotune_in_tuning", default=False)


class _GlobalScope:
    """``GLOBAL_SCOPE.in_tuning``: True inside a template instantiated for a tuning trial."""

    @property
    def in_tuning(self) -> bool:
        return _in_tuning.get()

    @in_tuning.setter
    def in_tuning(self, value: bool) -> None:
        _in_tuning.set(bool(value))


class AutotvmGlobalScope(_GlobalScope):
    """TVM's class of ``GLOBAL_SCOPE``; ``AutotvmGlobalScope.current`` is that scope.  Its state
    lives in context variables, so every instance reads and sets the same ``in_tuning``."""

    current: AutotvmGlobalScope


GLOBAL_SCOPE = AutotvmGlobalScope()
AutotvmGlobalScope.current = GLOBAL_SCOPE


class tuning_scope:  # noqa: N801 - a context manager, like the dispatch contexts
    """``in_tuning`` is True for the duration of a ``with`` block."""

    def __enter__(self) -> None:
        self._token = _in_tuning.set(True)

    def __exit__(self, *exc: object) -> None:
        _in_tuning.reset(self._token)


__all__ = ["GLOBAL_SCOPE", "AutotvmGlobalScope", "tuning_scope"]
