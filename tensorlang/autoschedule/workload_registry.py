"""Computation functions by name (TVM's ``auto_scheduler.register_workload``), so that a task can
be named by a string or a workload key (``'["matmul_add", 1024, 1024, 1024, "float32"]'``).

A ``SearchTask`` does not need its function registered: it keeps the function itself.  The
registry serves code written for TVM, which registers every computation and may name it later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import TensorLangError

_REGISTRY: dict[str, Callable[..., Sequence[Any]]] = {}
# TVM's name of the registry (its tests look workload keys up in it)
WORKLOAD_FUNC_REGISTRY = _REGISTRY


class WorkloadError(TensorLangError, KeyError):
    """A workload name or key that names no registered computation, or names it twice."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


def register_workload(func_name: Any = None, f: Callable | None = None, override: bool = False) -> Any:
    """Register a computation function under its name, or ``func_name``: as a decorator
    (``@register_workload``, ``@register_workload("name")``) or a call (``register_workload(
    "name", f)``).  A different function under a taken name needs ``override=True``; the same
    function registered again (a module run twice) is accepted."""
    if callable(func_name) and f is None:
        return _register(func_name.__name__, func_name, override)
    if func_name is not None and not isinstance(func_name, str):
        raise WorkloadError(f"register_workload: the name must be a str or the function, got {func_name!r}")

    def deco(fn: Callable) -> Callable:
        if not callable(fn):
            raise WorkloadError(f"register_workload({func_name!r}): {fn!r} is not a function")
        return _register(func_name or fn.__name__, fn, override)
    return deco(f) if f is not None else deco


def _register(name: str, fn: Callable, override: bool) -> Callable:
    old = _REGISTRY.get(name)
    if old is not None and not override and not _same_function(old, fn):
        raise WorkloadError(f"register_workload: {name!r} is already registered to {_where(old)}; "
                            "pass override=True to replace it")
    _REGISTRY[name] = fn
    return fn


def _same_function(a: Callable, b: Callable) -> bool:
    return a is b or (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None), getattr(b, "__qualname__", None))


def _where(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def workload_function(name: str) -> Callable[..., Sequence[Any]]:
    """The function registered under ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise WorkloadError(f"no computation is registered as {name!r} (registered: {known}); decorate its "
                            "function with @autoschedule.register_workload") from None


def registered_name(fn: Callable) -> str | None:
    """The name ``fn`` is registered under (None when it is not registered)."""
    return next((name for name, f in _REGISTRY.items() if f is fn), None)


def parse_workload_key(key: str) -> tuple[str, tuple]:
    """``'["name", arg, ...]'`` -> (name, args), args as tuples where the JSON holds lists."""
    try:
        items = json.loads(key)
    except (TypeError, ValueError) as exc:
        raise WorkloadError(f"workload key {key!r} is not JSON: {exc}") from None
    if not isinstance(items, list) or not items or not isinstance(items[0], str):
        raise WorkloadError(f"workload key {key!r} must be a JSON list whose first item is the workload's name")
    return items[0], tuple(_tuples(a) for a in items[1:])


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def make_workload_key(func: str | Callable, args: Sequence[Any]) -> str:
    """TVM's JSON form of a workload: the name (``func``, or the name its function is registered
    under), then the arguments."""
    name = func if isinstance(func, str) else registered_name(func)
    if name is None:
        raise WorkloadError(f"make_workload_key: {getattr(func, '__name__', func)!r} is not a registered workload; "
                            "decorate its function with @auto_scheduler.register_workload")
    try:
        return json.dumps([name, *args])
    except TypeError as exc:
        raise WorkloadError(f"workload {name!r}: its arguments {tuple(args)!r} are not JSON values ({exc}); "
                            "a workload key can only hold numbers, strings and lists") from None
