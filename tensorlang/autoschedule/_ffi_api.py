"""TVM's private ``auto_scheduler._ffi_api``, which tutorials import for custom sketch rules
(``SearchPolicyUtilsIsTiled`` ...).  tensorlang has no Ansor loop-state API: the import works, and
calling any of its functions raises an error that says so (custom rules are accepted with a
warning and never run, so well-behaved tutorial code never calls them).  ``SerializeSearchTask``
and ``DeserializeSearchTask`` work, for tasks of registered workloads (TVM's tests round-trip them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import TensorLangError
from .task import SearchTask
from .workload_registry import WorkloadError, parse_workload_key, workload_function


def SerializeSearchTask(task: Any) -> str:  # noqa: N802 - TVM's registered function name
    """A ``SearchTask`` of a registered workload as JSON text (its workload key and target)."""
    name, _ = parse_workload_key(task.workload_key)
    try:
        workload_function(name.removeprefix("auto/"))
    except WorkloadError:
        raise WorkloadError(f"SerializeSearchTask: {task.name} is not a registered workload, so a deserialized "
                            "task could not find its computation; register its function with "
                            "@auto_scheduler.register_workload") from None
    host = task.target_host
    return json.dumps({"workload_key": task.workload_key, "target": str(task.target),
                       "target_host": None if host is None else str(host),
                       "layout_rewrite_option": task.layout_rewrite_option, "desc": task.desc})


def DeserializeSearchTask(text: str) -> Any:  # noqa: N802 - TVM's registered function name
    """The ``SearchTask`` that ``SerializeSearchTask`` wrote as ``text``."""
    try:
        fields = json.loads(text)
        key, target = fields["workload_key"], fields["target"]
    except (TypeError, ValueError, KeyError) as exc:
        raise TensorLangError(f"DeserializeSearchTask: not a serialized SearchTask ({exc})") from None
    return SearchTask(workload_key=key, target=target, target_host=fields.get("target_host"),
                      layout_rewrite_option=fields.get("layout_rewrite_option"), desc=fields.get("desc", ""))


def __getattr__(name: str) -> Callable[..., Any]:
    if name.startswith("__"):
        raise AttributeError(name)

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise TensorLangError(f"auto_scheduler._ffi_api.{name}: tensorlang has no Ansor loop-state API; custom "
                              "sketch rules (PreloadCustomSketchRule) are accepted with a warning and not run")
    missing.__name__ = name
    return missing
