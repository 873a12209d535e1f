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


# -- TVM's helpers around the registry (``auto_scheduler.workload_registry`` / ``.utils``) ----------

class _RegisteredTensors:
    """The computation function of tensors registered under a key (``register_workload_tensors``):
    it returns them (a class rather than a lambda, so an entry pickles)."""

    def __init__(self, tensors: Sequence[Any]):
        self.tensors = list(tensors)

    def __call__(self) -> list[Any]:
        return list(self.tensors)


def register_workload_tensors(workload_key: str, tensors: Sequence[Any]) -> str:
    """TVM's ``register_workload_tensors``: register ``tensors`` (a computation's inputs and
    outputs) under ``workload_key``, replacing what it named; returns the key."""
    if not isinstance(workload_key, str):
        raise WorkloadError(f"register_workload_tensors: the key must be a str, got {workload_key!r}")
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise WorkloadError(f"register_workload_tensors({workload_key!r}): expected a list of tensors, "
                            f"got {tensors!r:.100}")
    _REGISTRY[workload_key] = _RegisteredTensors(tensors)
    return workload_key


def serialize_workload_registry_entry(workload_key: str) -> tuple[str, Any]:
    """TVM's ``serialize_workload_registry_entry``: the registry entry of ``workload_key`` (a
    workload key or a registered name) as a picklable pair, for another process's
    ``deserialize_workload_registry_entry``."""
    name = workload_key if workload_key in _REGISTRY else decode_workload_key(workload_key)[0]
    return name, workload_function(name)


def deserialize_workload_registry_entry(data: Any) -> None:
    """TVM's ``deserialize_workload_registry_entry``: register the entry ``data`` (what
    ``serialize_workload_registry_entry`` returned) unless its name is registered already."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], str) and callable(data[1])):
        raise WorkloadError(f"deserialize_workload_registry_entry expects (name, function) as "
                            f"serialize_workload_registry_entry returns it, got {data!r:.100}")
    name, fn = data
    _REGISTRY.setdefault(name, fn)


def get_func_name(func: Callable) -> str:
    """TVM's ``auto_scheduler.utils.get_func_name``: the name a function registers under."""
    if not callable(func):
        raise WorkloadError(f"get_func_name expects a function, got {func!r:.100}")
    return getattr(func, "__name__", None) or type(func).__name__


def decode_workload_key(workload_key: str) -> tuple[str, list | None]:
    """TVM's ``auto_scheduler.utils.decode_workload_key``: (name, its arguments flattened into one
    list) of a JSON workload key; (the key, None) when it is not one."""
    try:
        items = json.loads(workload_key)
    except (TypeError, ValueError):
        return workload_key, None
    if not isinstance(items, list) or not items:
        return workload_key, None

    def flat(values: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            out.extend(flat(v) if isinstance(v, (list, tuple)) else [v])
        return out
    return items[0], flat(items[1:])


def calc_workload_dis_factor(target_workload_pair: tuple[str, Any], workload_pair: tuple[str, Any]) -> float:
    """TVM's ``auto_scheduler.utils.calc_workload_dis_factor``: how many times larger the target
    workload is than ``workload`` (pairs as ``decode_workload_key`` gives them), when each of its
    integer arguments is a multiple of the other's and every other argument is equal; else
    infinity (a zero only matches a zero)."""
    target_name, target_args = target_workload_pair
    name, args = workload_pair
    target_args, args = list(target_args or []), list(args or [])
    if name != target_name or len(target_args) != len(args):
        return float("inf")
    factor = 1.0
    for t, a in zip(target_args, args):
        if isinstance(t, int) and not isinstance(t, bool) and isinstance(a, int) and not isinstance(a, bool):
            if t == 0 or a == 0:
                if t != a:
                    return float("inf")
            elif t % a:
                return float("inf")
            else:
                factor *= t / a
        elif t != a:
            return float("inf")
    return factor
