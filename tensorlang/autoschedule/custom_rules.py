"""Custom sketch rules (TVM's ``PreloadCustomSketchRule``) run over loop states.

As in TVM's sketch generation, states start from ``dag.get_init_state()`` at the last stage and
walk to the first: at each stage every rule whose ``meet_condition_func(policy, state,
stage_id)`` is not ``PASS`` is applied (``apply_func`` returns ``[[state, next_stage_id], ...]``,
or one such pair), and one that answers ``APPLY_AND_SKIP_REST`` stops the rules after it.
Where no rule answered ``APPLY_AND_SKIP_REST``, tensorlang's own rule for that stage follows, in
loop-state terms: a non-output stage without reduction is inlined, anything else is left as
declared (TVM's always-inline and skip rules; its tiling rules exist only as tensorlang's
whole-DAG sketches).

The states a custom rule touched become ``CustomSketch``es: their undefined split lengths (and,
on a CPU, default parallel and vectorize annotations) are what the search decides.  If some rule
answered ``APPLY_AND_SKIP_REST``, the search explores the custom sketches only (tensorlang's
sketches would schedule that stage their own way); otherwise they join tensorlang's sketches.

Not supported, with a ``LoopStateError``: a split step that mixes defined and undefined lengths,
or leaves undefined the lengths of a loop whose extent is itself undefined; a rule that keeps
returning states without reaching the first stage (more than ``MAX_STATES`` states in all).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..te.tensor import ComputeOp
from .loop_state import ComputeAtKind, LoopStateError, SplitStep, StageKind, State, StateObject, steps_to_json
from .sketch import CustomSketch

# Most states a rule set may produce while sketches are generated (a guard against a rule that
# never moves to an earlier stage).
MAX_STATES = 1024
PASS, APPLY, APPLY_AND_SKIP_REST = 0, 1, 2


def generate_custom_sketches(policy: Any, dag: Any, rules: Sequence[Any]) -> tuple[list[CustomSketch], bool]:
    """The sketches ``rules`` make of ``dag`` (``policy`` is what their functions are given), and
    whether one of them replaced tensorlang's rules for a stage (``APPLY_AND_SKIP_REST``)."""
    init = dag.get_init_state()
    frontier: list[tuple[StateObject, int, str]] = [(init.state_object, len(init.stages) - 1, "")]
    done: list[tuple[StateObject, str]] = []
    skip_rest, made = False, 0
    while frontier:
        grown: list[tuple[StateObject, int, str]] = []
        for obj, stage_id, applied in frontier:
            if stage_id < 0:
                done.append((obj, applied))
                continue
            skipped = False
            for rule in rules:
                cond = rule.meet_condition_func(policy, obj, stage_id)
                if cond == PASS:
                    continue
                if cond not in (APPLY, APPLY_AND_SKIP_REST):
                    raise LoopStateError(f"custom sketch rule {rule.rule_name}: meet_condition_func returned {cond!r}; "
                                         "expected PreloadCustomSketchRule.PASS, APPLY or APPLY_AND_SKIP_REST")
                for state, next_id in _pairs(rule.apply_func(policy, obj, stage_id), rule.rule_name, dag):
                    grown.append((state, next_id, applied or rule.rule_name))
                if cond == APPLY_AND_SKIP_REST:
                    skipped = skip_rest = True
                    break
            if not skipped:
                grown.append((_default_rule(State(obj, dag), stage_id), stage_id - 1, applied))
        made += len(grown)
        if made > MAX_STATES:
            raise LoopStateError(f"custom sketch rules made more than {MAX_STATES} states without reaching the first "
                                 "stage; an apply_func must return stage ids below the one it was given")
        frontier = grown
    sketches: dict[str, CustomSketch] = {}
    for obj, applied in done:
        if not applied:
            continue  # tensorlang's own sketches cover what no custom rule touched
        _check_lengths(obj.transform_steps, applied)
        sketch = CustomSketch((), applied.replace(":", "_"), steps_to_json(obj.transform_steps))
        sketches.setdefault(sketch.name, sketch)
    return list(sketches.values()), skip_rest


def _pairs(result: Any, rule: str, dag: Any) -> list[tuple[StateObject, int]]:
    """``apply_func``'s answer as (state, next stage id) pairs (a single pair is accepted too)."""
    if isinstance(result, (list, tuple)) and len(result) == 2 and isinstance(result[0], (State, StateObject)):
        result = [result]
    if not isinstance(result, (list, tuple)):
        raise LoopStateError(f"custom sketch rule {rule}: apply_func must return [[state, next_stage_id], ...], "
                             f"got {result!r:.100}")
    out = []
    for item in result:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], (State, StateObject))
                and isinstance(item[1], int) and not isinstance(item[1], bool)):
            raise LoopStateError(f"custom sketch rule {rule}: apply_func must return [[state, next_stage_id], ...], "
                                 f"got the item {item!r:.100}")
        state = item[0] if isinstance(item[0], State) else State(item[0], dag)
        out.append((state.state_object, int(item[1])))
    return out


def _default_rule(state: State, stage_id: int) -> StateObject:
    """tensorlang's rule for a stage no custom rule claimed: inline a non-output stage without
    reduction (a plain compute); leave any other as it is."""
    st = state.stages[stage_id]
    op = st.op
    readers = [k for k, other in enumerate(state.stages)
               if other.op_type == StageKind.COMPUTE and any(t.op is op for t in other.op.input_tensors)]
    if st.op_type == StageKind.COMPUTE and st.compute_at == ComputeAtKind.ROOT and readers and \
            type(op) is ComputeOp and not op.reduce_axis:
        inlined = state.copy()
        try:
            inlined.compute_inline(stage_id)
            return inlined.state_object
        except LoopStateError:
            pass  # the schedule refuses (an output, a stage others are computed at): leave it
    return state.state_object


def _check_lengths(steps: Sequence[Any], rule: str) -> None:
    for k, step in enumerate(steps):
        if not isinstance(step, SplitStep) or all(v is not None for v in step.lengths):
            continue
        if any(v is not None for v in step.lengths):
            raise LoopStateError(f"custom sketch rule {rule}: step {k} splits with lengths {list(step.lengths)}; "
                                 "tensorlang's search fills a split whose lengths are all None, not some of them")
        if step.extent is None:
            raise LoopStateError(f"custom sketch rule {rule}: step {k} splits a loop whose extent depends on "
                                 "another undefined split; tensorlang's search cannot fill its lengths")
