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
from .loop_state import SplitStep, State, StateObject, steps_to_json
from .records import from_config, to_config
from .sketch import CustomSketch
from .task import SearchTask

# The rule name of the sketch a loop state given to MeasureInput is recorded as.
STATE_RULE = "state"


def config_of_state(task: Any, state: State | StateObject) -> Any:
    """A loop state of ``task``'s DAG (``task.compute_dag.init_state``, or one made with the
    loop-state steps) as a record's state: a custom sketch holding exactly its steps, with the
    search's default annotations off, so it replays as the state is."""
    obj = state.state_object if isinstance(state, State) else state
    for k, step in enumerate(obj.transform_steps):
        if isinstance(step, SplitStep) and any(v is None for v in step.lengths):
            raise TensorLangError(f"MeasureInput: step {k} of the state splits with undefined lengths "
                                  f"{list(step.lengths)}; a measured state needs every length defined")
    sketch = CustomSketch((), STATE_RULE, steps_to_json(obj.transform_steps))
    # what remains open in such a sketch is whether to add default parallel/vectorize marks: no
    return to_config(sketch, {slot.name: 0 for slot in task.slots(sketch)})


class _MakesRecords(type):
    """TVM's ``MeasureInput``/``MeasureResult`` are classes: ``isinstance(inp, MeasureInput)`` holds
    for every input a tuning run passes a measure callback.  Here calling them makes the records
    tuning logs hold (autotune's classes), and an instance check asks about those."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.made)  # type: ignore[attr-defined]


class MeasureInput(metaclass=_MakesRecords):
    """TVM's ``auto_scheduler.MeasureInput(task, state)``: a candidate ``state`` (a record's
    ``inp.state``, or a loop state of the task's DAG such as ``task.compute_dag.init_state``) of a
    ``SearchTask``."""

    made = measure.MeasureInput

    def __new__(cls, task: Any, state: Any) -> measure.MeasureInput:  # type: ignore[misc]
        if not hasattr(task, "workload_key") or not hasattr(task, "target"):
            raise TensorLangError(f"MeasureInput needs a SearchTask, got {task!r:.100}")
        if isinstance(state, (State, StateObject)):
            state = config_of_state(task, state)
        try:
            from_config(state)
        except InstantiationError as exc:
            raise TensorLangError(f"MeasureInput needs an auto-scheduler state (a record's inp.state): {exc}") from None
        return measure.MeasureInput(task.target, task, state)


class MeasureResult(metaclass=_MakesRecords):
    """TVM's ``auto_scheduler.MeasureResult(costs, error_no, error_msg, all_cost, timestamp)``."""

    made = measure.MeasureResult

    def __new__(cls, costs: Sequence[float], error_no: int, error_msg: str = "",  # type: ignore[misc]
                all_cost: float = 0.0, timestamp: float | None = None) -> measure.MeasureResult:
        try:
            kind = measure.MeasureErrorNo(int(error_no))
        except ValueError:
            raise TensorLangError(f"MeasureResult: unknown error_no {error_no!r}") from None
        fields: dict[str, Any] = {} if timestamp is None else {"timestamp": float(timestamp)}
        return measure.MeasureResult(tuple(float(c) for c in costs), kind, float(all_cost), error_msg=error_msg,
                                     **fields)


def recover_measure_input(inp: measure.MeasureInput, rebuild_state: bool = False) -> measure.MeasureInput:
    """TVM's ``auto_scheduler.measure.recover_measure_input``: a record's input with its task made
    again from the workload key (its computation function, as registered) and target.  A record's
    state is replayed on the task's DAG whenever it is applied, so ``rebuild_state`` changes
    nothing."""
    task = inp.task
    if not hasattr(task, "workload_key"):
        raise TensorLangError(f"recover_measure_input needs an auto-scheduler record's input, got {inp!r:.100}")
    new_task = SearchTask(workload_key=task.workload_key, target=task.target,
                          hardware_params=getattr(task, "hardware_params", None),
                          layout_rewrite_option=getattr(task, "layout_rewrite_option", None),
                          task_inputs=getattr(task, "task_inputs", None) or None)
    return measure.MeasureInput(new_task.target, new_task, inp.config)
