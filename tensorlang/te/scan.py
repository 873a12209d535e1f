"""Recurrences over a time axis: ``te.scan(init, update, state)``.

``state`` is a placeholder standing for the scan's own output; ``init`` gives the first
``len(init)`` rows (time steps) and ``update`` row ``t`` from rows before it.  The scan output
is a stage whose serial time loop (``scan_axis``) runs over ``[len(init), T)``; the update
stage, and every stage between the state and the update, is computed inside that loop
(``create_schedule`` attaches them).  Lowering stores init, update and state in the scan
output's storage, so the update reads the rows written before it and nothing is copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import DTypeError, ExprError
from .attrs import tvm_attrs
from .expr import PrimExpr, TensorRead, Var
from .tensor import ComputeOp, IterVar, IterVarType, PlaceholderOp, Range, Tensor, index_dtype_of


class ScanOp(ComputeOp):
    """The output of a scan: ``out[t, ...] = update[t, ...]`` over the serial ``scan_axis`` t."""

    def __init__(self, name: str, tag: str, attrs: dict | None, init: Sequence[Tensor], update: Sequence[Tensor],
                 state: Sequence[Tensor], inputs: Sequence[Tensor], axis: Sequence[IterVar] | None = None,
                 spatial_axes: Sequence[Sequence[IterVar]] | None = None):
        names = ["t", "i", "j", "k", "l"]

        def axes_of(shape: Sequence[PrimExpr], prefix: str, skip: int) -> list[IterVar]:
            return [IterVar(Range(0, d), Var(f"{prefix}.{names[n]}" if n < 5 else f"{prefix}.ax{n}",
                                             index_dtype_of(Range(0, d))), IterVarType.DATA_PAR)
                    for n, d in enumerate(shape) if n >= skip]

        if axis is None:
            axis = axes_of(update[0].shape, name, 0)
        if spatial_axes is None:
            # Every state has its own axes after the shared time axis (states may differ in shape).
            spatial_axes = [list(axis[1:])] + [axes_of(u.shape, f"{name}.v{k}", 1) for k, u in enumerate(update)
                                               if k > 0]
        body = [TensorRead(u, [axis[0].var, *(iv.var for iv in sp)]) for u, sp in zip(update, spatial_axes)]
        super().__init__(name, tag, attrs, axis, body)
        self.scan_axis = axis[0]
        self.spatial_axes = tuple(tuple(sp) for sp in spatial_axes)
        self.outputs = tuple(Tensor(self, k, (axis[0].dom.extent, *(iv.dom.extent for iv in sp)), b.dtype)
                             for k, (sp, b) in enumerate(zip(self.spatial_axes, self.body)))
        self.init, self.update = tuple(init), tuple(update)
        self.state_placeholder = tuple(state)
        self.inputs = tuple(inputs)

    @property
    def spatial_axis_(self) -> tuple[IterVar, ...]:
        """TVM's ``ScanOp.spatial_axis_``: every state's axes after the time axis, state by state."""
        return tuple(iv for sp in self.spatial_axes for iv in sp)

    def output_axes(self, k: int) -> tuple[IterVar, ...]:
        """The axes of output ``k``: the time axis, then that state's own axes."""
        return (self.scan_axis, *self.spatial_axes[k])

    def with_tensors(self, tmap: dict[Tensor, Tensor]) -> ScanOp:
        """This scan over replaced init/update tensors (a schedule rewrote their stages), with
        the same axes, so that stages attached to its time axis stay attached."""
        return ScanOp(self.name, self.tag, self.attrs, [tmap.get(t, t) for t in self.init],
                      [tmap.get(t, t) for t in self.update], self.state_placeholder, self.inputs, self.axis,
                      self.spatial_axes)

    @property
    def init_rows(self) -> PrimExpr:
        """How many time steps the init gives (the time loop starts there)."""
        return self.init[0].shape[0]

    @property
    def input_tensors(self) -> list[Tensor]:
        return [*self.init, *self.update]

    def body_ops(self) -> list[Any]:
        """The operations of the scan's body (TVM's scan group), in no set order: its updates and
        every operation between its state (or a declared input) and its update; what
        ``create_schedule`` computes inside the time loop."""
        states = set(self.state_placeholder) | set(self.inputs)
        reads_state: dict[int, bool] = {}

        def depends(o: Any) -> bool:
            if id(o) not in reads_state:
                reads_state[id(o)] = False  # cycles cannot happen; this also memoizes
                reads_state[id(o)] = any(t in states or depends(t.op) for t in o.input_tensors)
            return reads_state[id(o)]

        updates = {id(u.op) for u in self.update}
        feeds: dict[int, Any] = {}
        stack = [u.op for u in self.update]
        while stack:
            o = stack.pop()
            if id(o) in feeds or isinstance(o, PlaceholderOp):
                continue
            feeds[id(o)] = o
            stack.extend(t.op for t in o.input_tensors)
        return [o for o in feeds.values() if id(o) in updates or depends(o)]


def scan(init: Tensor | Sequence[Tensor], update: Tensor | Sequence[Tensor], state_placeholder: Any,
         inputs: Sequence[Tensor] | None = None, name: str = "scan", tag: str = "", attrs: dict | None = None) -> Any:
    """The recurrence ``state[t] = update(state[< t])`` from ``init`` rows (see module docstring)."""
    inits, updates, states = ([x] if isinstance(x, Tensor) else list(x) if isinstance(x, (list, tuple)) else [x]
                              for x in (init, update, state_placeholder))
    where = f"scan '{name}'"
    if not (len(inits) == len(updates) == len(states)) or not inits:
        raise ExprError(f"{where}: give one init, update and state per recurrence")
    for what, tensors in (("init", inits), ("update", updates), ("state_placeholder", states)):
        for t in tensors:
            if not isinstance(t, Tensor):
                raise ExprError(f"{where}: {what} must be a tensor or a list of tensors, got {t!r}")
    steps = str(updates[0].shape[0])
    for ini, upd, st in zip(inits, updates, states):
        if not isinstance(st.op, PlaceholderOp):
            raise ExprError(f"{where}: the state {st.name} must be a te.placeholder")
        if [str(d) for d in upd.shape] != [str(d) for d in st.shape]:
            raise ExprError(f"{where}: update {upd.name} has shape {list(upd.shape)}, state {st.name} "
                            f"{list(st.shape)}; they must match")
        if [str(d) for d in ini.shape[1:]] != [str(d) for d in st.shape[1:]]:
            raise ExprError(f"{where}: init {ini.name} must have the state's shape after its first (time) axis")
        if str(upd.shape[0]) != steps:
            raise ExprError(f"{where}: every state must have the same number of time steps (first dimension), "
                            f"got {upd.shape[0]} for {upd.name} and {steps}")
        if not isinstance(upd.op, ComputeOp):
            raise ExprError(f"{where}: update {upd.name} must be a te.compute")
        # init, update and state share the scan output's storage: another dtype would be read
        # back as the state's (float bits taken for integers), as TVM's ScanOp also refuses.
        for what, t in (("init", ini), ("update", upd)):
            if t.dtype != st.dtype:
                raise DTypeError(f"{where}: {what} {t.name} is {t.dtype} but the state {st.name} is {st.dtype}; "
                                 f"they must match (cast the {what}'s expression with .astype('{st.dtype}'))")
    # TVM wraps a single tensor given as ``inputs``, as it does for init/update/state
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs or [])
    for t in ins:
        if not isinstance(t, Tensor):
            raise ExprError(f"{where}: inputs must be a tensor or a list of tensors, got {t!r}")
    if attrs is not None and not isinstance(attrs, dict):
        raise ExprError(f"{where}: attrs must be a dict, got {attrs!r}")
    op = ScanOp(name, tag, tvm_attrs(attrs), inits, updates, states, ins)
    return op.outputs[0] if len(op.outputs) == 1 else list(op.outputs)


__all__ = ["ScanOp", "scan"]
