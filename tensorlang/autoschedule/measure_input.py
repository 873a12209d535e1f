"""TVM's ``auto_scheduler.MeasureInput(task, state)`` and ``MeasureResult(costs, error_no,
error_msg, all_cost, timestamp)``, in their argument order, as the records every tuner writes.

They make the same objects a tuning run logs (``autotune``'s ``MeasureInput`` and
``MeasureResult``), so ``save_records`` and ``dump_record_to_string`` take them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autotune.measure import measure
from ..autotune.space import InstantiationError
from ..errors import TensorLangError
from .records import from_config


def MeasureInput(task: Any, state: Any) -> measure.MeasureInput:  # noqa: N802 - TVM's class name
    """TVM's ``auto_scheduler.MeasureInput(task, state)``: a candidate ``state`` (a record's
    ``inp.state``) of a ``SearchTask``."""
    if not hasattr(task, "workload_key") or not hasattr(task, "target"):
        raise TensorLangError(f"MeasureInput needs a SearchTask, got {task!r:.100}")
    try:
        from_config(state)
    except InstantiationError as exc:
        raise TensorLangError(f"MeasureInput needs an auto-scheduler state (a record's inp.state): {exc}") from None
    return measure.MeasureInput(task.target, task, state)


def MeasureResult(costs: Sequence[float], error_no: int, error_msg: str = "", all_cost: float = 0.0,  # noqa: N802
                  timestamp: float | None = None) -> measure.MeasureResult:
    """TVM's ``auto_scheduler.MeasureResult(costs, error_no, error_msg, all_cost, timestamp)``."""
    try:
        kind = measure.MeasureErrorNo(int(error_no))
    except ValueError:
        raise TensorLangError(f"MeasureResult: unknown error_no {error_no!r}") from None
    fields: dict[str, Any] = {} if timestamp is None else {"timestamp": float(timestamp)}
    return measure.MeasureResult(tuple(float(c) for c in costs), kind, float(all_cost), error_msg=error_msg, **fields)
