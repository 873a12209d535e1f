"""TVM's private ``auto_scheduler._ffi_api``, which tutorials import for custom sketch rules.

The helpers a rule reads a loop state with work (``SearchPolicyUtilsGetConsumers``,
``SearchPolicyUtilsIsElementwiseMatch``, ``SearchPolicyUtilsIsTiled``), as do
``SerializeSearchTask`` and ``DeserializeSearchTask`` for tasks of registered workloads (TVM's
tests round-trip them); calling any other of TVM's functions raises an error that names it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import TensorLangError
from .loop_state import State, consumers, elementwise_match, is_tiled
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


class _Map(dict):
    """A dict whose ``items()`` is a list, as TVM's ``Map.items()`` (tutorials index it)."""

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return list(super().items())


def SearchPolicyUtilsGetConsumers(task: Any, state: Any, stage_id: int) -> _Map:  # noqa: N802 - TVM's name
    """The stages reading stage ``stage_id`` of ``state`` (through inlined stages), as a map of
    stage id -> stage id."""
    ids = consumers(State(state, task.compute_dag), int(stage_id))
    return _Map((k, k) for k in ids)


def SearchPolicyUtilsIsElementwiseMatch(task: Any, state: Any, stage_id: int,  # noqa: N802
                                        target_stage_id: int) -> bool:
    """Whether stage ``target_stage_id`` reads stage ``stage_id`` point by point through a chain
    of single elementwise readers of the same shape."""
    return elementwise_match(State(state, task.compute_dag), int(stage_id), int(target_stage_id))


def SearchPolicyUtilsIsTiled(stage: Any) -> bool:  # noqa: N802
    """Whether a loop-state stage's loops were split or fused."""
    return is_tiled(stage)


def __getattr__(name: str) -> Callable[..., Any]:
    if name.startswith("__"):
        raise AttributeError(name)

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise TensorLangError(f"auto_scheduler._ffi_api.{name}: tensorlang does not provide this TVM function "
                              "(custom sketch rules can use SearchPolicyUtilsGetConsumers, "
                              "SearchPolicyUtilsIsElementwiseMatch, SearchPolicyUtilsIsTiled and the loop-state "
                              "API of auto_scheduler.loop_state.State)")
    missing.__name__ = name
    return missing
