"""The primitives a schedule was given, in order, with their arguments and results, rendered as the
Python that replays them (``Schedule.steps``, ``python_code``).

Only the outermost call is a step: ``tile`` is one step, not the two splits and the reorder it
makes.  The rendering names every tensor, stage and axis it meets: the tensors of the
computation by their operations' names, each stage's original axes by one unpacking line the
first time one of them is used (``C_i, C_j, C_k = tuple(C.op.axis) + tuple(C.op.reduce_axis)``),
and each axis a primitive returns by its stage and its own name (``C_i_outer``).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..te.tensor import ComputeOp, IterVar, Operation, Tensor


@dataclass(frozen=True)
class Step:
    """One primitive call: on a stage (``target`` the operation the stage was made for, ``op``
    the one it computed when called: ``cache_write`` replaces it) or on the schedule itself
    (both None)."""

    target: Operation | None
    op: Operation | None
    primitive: str
    args: tuple
    kwargs: tuple[tuple[str, Any], ...]
    result: Any


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = "t_" + name
    return name


class _Names:
    """Python names for the objects the steps mention, and the lines that bind them."""

    def __init__(self) -> None:
        self.of: dict[int, str] = {}
        self.taken: set[str] = {"s", "te", "tvm", "tl"}
        self.lines: list[str] = []
        self.axes_bound: set[int] = set()
        # (operation, its tensor's name, how code reaches it): where an unnamed axis is looked for
        self.owners: list[tuple[Operation, str, str]] = []

    def fresh(self, base: str) -> str:
        name, k = _identifier(base), 1
        while name in self.taken:
            k += 1
            name = f"{_identifier(base)}_{k}"
        self.taken.add(name)
        return name

    def bind(self, obj: Any, name: str) -> str:
        self.of[id(obj)] = name
        return name

    def op(self, op: Operation) -> str:
        """The tensor variable of ``op`` (its output 0)."""
        if id(op) not in self.of:
            self.bind(op, self.fresh(op.name))
            self.owners.append((op, self.of[id(op)], self.of[id(op)]))
        return self.of[id(op)]

    def bind_axes(self, iv: IterVar) -> None:
        """Bind the axes of the operation ``iv`` belongs to, with one unpacking line."""
        for op, tensor, code in self.owners:
            if id(op) in self.axes_bound or not isinstance(op, ComputeOp):
                continue
            ivs = list(op.axis) + list(op.reduce_axis)
            if not any(x is iv for x in ivs):
                continue
            self.axes_bound.add(id(op))
            names = [self.bind(x, self.fresh(f"{tensor}_{x.var.name}")) for x in ivs]
            lhs = ", ".join(names) + ("," if len(names) == 1 else "")
            self.lines.append(f"{lhs} = tuple({code}.op.axis) + tuple({code}.op.reduce_axis)")
            return


def python_code(schedule: Any, tensors: Sequence[Tensor], header: str = "", tensors_from: str = "...") -> str:
    """``schedule.steps`` as Python over ``tensors`` (bound by their names in the first line to
    ``tensors_from``, the code that makes them), after ``s = te.create_schedule(...)``."""
    steps: Sequence[Step] = schedule.steps
    outputs = [schedule[op].origin_op for op in schedule.outputs]
    names = _Names()
    lhs = [names.op(t.op) for t in tensors]
    lines = [header] if header else []
    if lhs:
        lines.append(f"{', '.join(lhs)} = {tensors_from}")
    _bind_intermediates(names, outputs, lines)
    outs = ", ".join(f"{names.op(op)}.op" for op in outputs)
    lines.append(f"s = te.create_schedule([{outs}])")
    for step in steps:
        if step.target is not None:
            tensor = names.op(step.target)
            names.owners.append((step.op, tensor, tensor if step.op is step.target else f"s[{tensor}]"))
        for v in list(step.args) + [v for _, v in step.kwargs]:
            _bind_axes_used(names, v)
        args = [_value(names, v) for v in step.args] + [f"{k}={_value(names, v)}" for k, v in step.kwargs]
        call = (f"s[{names.op(step.target)}]" if step.target is not None else "s") + \
            f".{step.primitive}({', '.join(args)})"
        lines.extend(names.lines)
        names.lines = []
        lines.append(_assign(names, step) + call)
    return "\n".join(lines) + "\n"


def _bind_intermediates(names: _Names, outputs: Sequence[Operation], lines: list[str]) -> None:
    """Bind every operation reachable from ``outputs`` by a path of ``op.input_tensors``."""
    frontier = [op for op in outputs if id(op) in names.of]
    seen = {id(op) for op in frontier}
    while frontier:
        op = frontier.pop(0)
        for k, t in enumerate(getattr(op, "input_tensors", [])):
            if id(t.op) in seen:
                continue
            seen.add(id(t.op))
            if id(t.op) not in names.of:
                lines.append(f"{names.op(t.op)} = {names.of[id(op)]}.op.input_tensors[{k}]")
            frontier.append(t.op)


def _bind_axes_used(names: _Names, value: Any) -> None:
    if isinstance(value, IterVar) and id(value) not in names.of:
        names.bind_axes(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _bind_axes_used(names, v)


def _value(names: _Names, v: Any) -> str:
    if isinstance(v, IterVar):
        if id(v) in names.of:
            return names.of[id(v)]
        if v.thread_tag:
            return f'te.thread_axis("{v.thread_tag}")'
        return f"<axis {v.var.name}>"
    if isinstance(v, Tensor):
        return names.op(v.op)
    if isinstance(v, Operation):
        return f"{names.op(v)}.op"
    if hasattr(v, "origin_op") and hasattr(v, "leaf_iter_vars"):   # a Stage
        return f"s[{names.op(v.origin_op)}]"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_value(names, x) for x in v)
        return f"[{inner}]"
    if isinstance(v, (int, float, str, bool)) or v is None:
        return repr(v)
    return str(v)


def _assign(names: _Names, step: Step) -> str:
    """``a, b = `` for the axes or tensors a step returns (nothing for a stage or None)."""
    res = step.result
    items = list(res) if isinstance(res, (list, tuple)) else [res]
    if not items or not all(isinstance(x, (IterVar, Tensor)) for x in items):
        return ""
    owner = names.op(step.target) if step.target is not None else None
    out = []
    for x in items:
        if isinstance(x, IterVar):
            out.append(names.bind(x, names.fresh(f"{owner}_{x.var.name}" if owner else x.var.name)))
        else:
            out.append(names.op(x.op))
    return ", ".join(out) + " = "

