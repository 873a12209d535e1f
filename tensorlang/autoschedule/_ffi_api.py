"""TVM's private ``auto_scheduler._ffi_api``, which tutorials import for custom sketch rules
(``SearchPolicyUtilsIsTiled`` ...).  tensorlang has no Ansor loop-state API: the import works, and
calling any of its functions raises an error that says so (custom rules are accepted with a
warning and never run, so well-behaved tutorial code never calls them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import TensorLangError


def __getattr__(name: str) -> Callable[..., Any]:
    if name.startswith("__"):
        raise AttributeError(name)

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise TensorLangError(f"auto_scheduler._ffi_api.{name}: tensorlang has no Ansor loop-state API; custom "
                              "sketch rules (PreloadCustomSketchRule) are accepted with a warning and not run")
    missing.__name__ = name
    return missing
