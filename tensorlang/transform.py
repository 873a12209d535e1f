"""TVM's ``tvm.transform.PassContext``: options for the compilations made inside a ``with``
block (``opt_level``, ``config``), held in a context variable.

tensorlang honours ``config={"te.keep_schedule_record": True}`` (schedules created inside
record every primitive applied to them) and ``{"tir.add_lower_pass": [(phase, pass), ...]}``
(user passes run inside lowering, ``ir.user_passes``); other config keys are accepted for ported code and
have no effect, with a warning naming them.
"""

from __future__ import annotations

import warnings
from contextvars import ContextVar, Token
from typing import Any

KNOWN_CONFIG = ("te.keep_schedule_record", "tir.add_lower_pass")


class PassContext:
    """Compilation options for the code inside ``with PassContext(...):``."""

    def __init__(self, opt_level: int = 2, required_pass: Any = None, disabled_pass: Any = None,
                 instruments: Any = None, config: dict[str, Any] | None = None, trace: Any = None):
        self.opt_level = int(opt_level)
        self.required_pass = list(required_pass or [])
        self.disabled_pass = list(disabled_pass or [])
        self.config = dict(config or {})
        unknown = sorted(k for k in self.config if k not in KNOWN_CONFIG)
        if unknown:
            warnings.warn(f"PassContext config {', '.join(unknown)} has no effect in tensorlang "
                          f"(known: {', '.join(KNOWN_CONFIG)})", stacklevel=2)
        self._tokens: list[Token] = []

    def __enter__(self) -> PassContext:
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.reset(self._tokens.pop())

    @staticmethod
    def current() -> PassContext:
        """The innermost active context (a default one outside any ``with``)."""
        ctx = _current.get()
        return ctx if ctx is not None else _DEFAULT


_current: ContextVar[PassContext | None] = ContextVar("tensorlang_pass_context", default=None)
_DEFAULT = PassContext()

__all__ = ["PassContext"]
