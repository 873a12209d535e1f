"""The computation a search task schedules, seen as a DAG of stages with the facts sketch rules read.

``ComputeDAG(tensors)`` takes what a computation function returns (inputs and outputs, the
argument list of the built function) and classifies every computed stage: injective or
reduction, whether a reduction re-reads inputs across its output points (data reuse: worth
multi-level tiling), its consumers, and the extents of its axes.  Stage keys are the operation
names, made unique by a ``#n`` suffix, and are the same every time the function is called with
the same arguments, so records naming them replay.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..autotune.flop import compute_flop
from ..errors import TensorLangError
from ..schedule.schedule import reduction_range_axes
from ..te import expr as E
from ..te.functor import post_order_visit
from ..te.tensor import ComputeOp, PlaceholderOp, Tensor
from .loop_state import State, apply_steps, infer_bound, python_code_of


class SketchError(TensorLangError):
    """A computation cannot be auto-scheduled as given (symbolic shapes, no outputs, ...)."""


@dataclass
class StageInfo:
    """One computed stage of the DAG."""

    key: str
    op: ComputeOp
    spatial: list[int]
    reduce: list[int]
    is_output: bool
    consumers: list[str] = field(default_factory=list)
    has_reuse: bool = False          # some input read misses a spatial axis: tiling pays off
    dtype_bits: int = 32
    # A reduction whose range is read from a tensor at run time (a sparse row's nonzeros) or
    # depends on the output element (a triangular sum): its ``reduce`` entries are 1 (unknown),
    # and only the sketches that keep its loop whole apply.
    dynamic_reduce: bool = False

    @property
    def is_reduction(self) -> bool:
        return bool(self.reduce)

    @property
    def points(self) -> int:
        return math.prod(self.spatial)

    @property
    def work(self) -> int:
        return self.points * math.prod(self.reduce)


def _extent(e: Any, where: str) -> int:
    if not isinstance(e, E.IntImm):
        raise SketchError(f"{where} has the symbolic extent {e}; auto-scheduling needs constant shapes "
                          "(pass the sizes as arguments of the computation function)")
    return int(e.value)


def _reads_tensor(e: Any) -> bool:
    """Whether ``e`` reads a tensor (a size known only when the function runs)."""
    found = []
    post_order_visit(e, lambda node: found.append(node) if isinstance(node, E.TensorRead) else None)
    return bool(found)


def tensor_reads(op: ComputeOp) -> list[E.TensorRead]:
    """Every tensor read in the body of ``op``, in visiting order."""
    out: list[E.TensorRead] = []

    def fn(node: Any) -> None:
        if isinstance(node, E.TensorRead):
            out.append(node)
    for b in op.body:
        post_order_visit(b, fn)
    return out


def vars_of(e: E.PrimExpr) -> set[E.Var]:
    """The variables ``e`` uses."""
    found: set[E.Var] = set()

    def fn(node: Any) -> None:
        if isinstance(node, E.Var):
            found.add(node)
    post_order_visit(e, fn)
    return found


def is_padding(op: ComputeOp) -> bool:
    """Whether ``op`` is a guarded copy: one output, ``select(cond, read, constant)`` (or the
    constant first), as ``te.if_then_else`` pads an input."""
    if op.num_outputs != 1 or op.reduce_axis:
        return False
    body = op.body[0]
    if not isinstance(body, E.Select):
        return False
    sides = (body.true_value, body.false_value)
    consts = (E.IntImm, E.FloatImm)
    return any(isinstance(a, E.TensorRead) and isinstance(b, consts) for a, b in (sides, sides[::-1]))


def _check_axis_names(op: ComputeOp) -> None:
    """Two axes of one stage with one name would be one loop to a schedule that names loops (a
    loop state's steps, a record), as TVM's DAG refuses them."""
    seen: set[str] = set()
    for iv in (*op.axis, *op.reduce_axis):
        if iv.var.name in seen:
            raise SketchError(f"stage {op.name} has two axes named {iv.var.name!r}; give each axis of a "
                              "computation its own name")
        seen.add(iv.var.name)


def _has_reuse(op: ComputeOp) -> bool:
    spatial = {iv.var for iv in op.axis}
    for read in tensor_reads(op):
        used: set[E.Var] = set()
        for idx in read.indices:
            used |= vars_of(idx)
        if spatial - used:
            return True
    return False


def all_ops(outputs: Sequence[Tensor]) -> list[Any]:
    """Every operation ``outputs`` depend on (placeholders and themselves included), producers first."""
    order: list[Any] = []
    seen: set[int] = set()

    def visit(op: Any) -> None:
        if id(op) in seen:
            return
        seen.add(id(op))
        for t in op.input_tensors:
            visit(t.op)
        order.append(op)
    for t in outputs:
        visit(t.op)
    return order


def compute_ops(outputs: Sequence[Tensor]) -> list[ComputeOp]:
    """The computed operations ``outputs`` depend on (themselves included), producers first."""
    return [op for op in all_ops(outputs) if isinstance(op, ComputeOp)]


def _schedule_tensors(sch: Any) -> list[Tensor]:
    """A schedule's computation as a list of tensors: its placeholders, then its outputs."""
    outputs = [op.output(i) for op in sch.outputs for i in range(op.num_outputs)]
    inputs = [op.output(0) for op in all_ops(outputs) if isinstance(op, PlaceholderOp)]
    return [*inputs, *outputs]


class LayoutRewriteOption:
    """TVM's layout-rewrite choices for ``SearchTask(layout_rewrite_option=)``.  tensorlang decides
    per sketch whether a weight is packed (inside the built function, whose arguments keep their
    layout), so every option behaves as ``INSERT_TRANSFORM_STAGE``; ``REWRITE_FOR_PRE_TRANSFORMED``
    (weights passed already packed) warns that it is not followed."""

    NO_REWRITE = 0
    INSERT_TRANSFORM_STAGE = 1
    REWRITE_FOR_PRE_TRANSFORMED = 2

    @staticmethod
    def get_target_default(target: Any, in_relay_integration: bool = False) -> int:
        return LayoutRewriteOption.INSERT_TRANSFORM_STAGE


def warn_pre_transformed(where: str) -> None:
    """Warn that ``REWRITE_FOR_PRE_TRANSFORMED`` is not followed: TVM's built function would then
    take its weights already packed; ours keeps every argument's layout, so a caller passing
    packed weights must hear it."""
    warnings.warn(f"{where}: layout rewrite REWRITE_FOR_PRE_TRANSFORMED is not supported; the built function takes "
                  "its arguments in their declared layouts (weights are packed inside it, as INSERT_TRANSFORM_STAGE)",
                  stacklevel=3)


class ComputeDAG:
    """Stages of a computation in producer-before-consumer order (from its tensors, or from a
    te schedule of it, as TVM accepts)."""

    def __init__(self, tensors: Sequence[Any]):
        stage_order = None
        if hasattr(tensors, "stages") and hasattr(tensors, "outputs"):
            # TVM's ComputeDAG(te.Schedule): the schedule's operations (its cache stages too), in
            # the order of its stages
            stage_order = [st.op for st in tensors.stages]
            tensors = _schedule_tensors(tensors)
        args = [t for t in tensors if isinstance(t, Tensor)]
        if len(args) != len(list(tensors)):
            bad = next(t for t in tensors if not isinstance(t, Tensor))
            raise SketchError(f"a computation function must return tensors (inputs and outputs); got {bad!r}")
        self.tensors = args
        self.outputs = [t for t in args if not isinstance(t.op, PlaceholderOp)]
        if not self.outputs:
            raise SketchError("the computation returns no computed tensor (only placeholders)")
        order = compute_ops(self.outputs)
        names: dict[str, int] = {}
        for op in order:
            names[op.name] = names.get(op.name, 0) + 1
            _check_axis_names(op)
        used: dict[str, int] = {}
        output_ops = {id(t.op) for t in self.outputs}
        self.stages: list[StageInfo] = []
        self.by_op: dict[int, StageInfo] = {}
        for op in order:
            key = op.name
            if names[op.name] > 1:
                used[op.name] = used.get(op.name, 0) + 1
                key = f"{op.name}#{used[op.name]}"
            where = f"stage {op.name}"
            dynamic = bool(reduction_range_axes(op)) or any(
                _reads_tensor(e) for iv in op.reduce_axis for e in (iv.dom.min, iv.dom.extent))
            info = StageInfo(key=key, op=op,
                             spatial=[_extent(iv.dom.extent, f"{where}, axis {iv.name},") for iv in op.axis],
                             reduce=[1 if dynamic else _extent(iv.dom.extent, f"{where}, reduce axis {iv.name},")
                                     for iv in op.reduce_axis],
                             is_output=id(op) in output_ops, dtype_bits=op.body[0].dtype.bits,
                             dynamic_reduce=dynamic)
            info.has_reuse = bool(op.reduce_axis) and not dynamic and _has_reuse(op)
            self.stages.append(info)
            self.by_op[id(op)] = info
        for info in self.stages:
            for t in info.op.input_tensors:
                producer = self.by_op.get(id(t.op))
                if producer is not None and info.key not in producer.consumers:
                    producer.consumers.append(info.key)
        self.by_key = {s.key: s for s in self.stages}
        reachable = {id(op) for op in all_ops(self.outputs)}
        # every operation, placeholders included, in the order of a loop state's stages
        self._ops = [op for op in stage_order if id(op) in reachable] if stage_order is not None else \
            all_ops(self.outputs)

    def __getitem__(self, key: str) -> StageInfo:
        return self.by_key[key]

    @property
    def work(self) -> int:
        return sum(s.work for s in self.stages)

    def reads_elementwise(self, consumer: StageInfo, producer: StageInfo) -> bool:
        """Whether ``consumer`` reads ``producer`` only at its own output point (same shape,
        indices exactly the consumer's axes): then the producer can be tiled inside it."""
        if consumer.spatial != producer.spatial or consumer.is_reduction:
            return False
        axes = [iv.var for iv in consumer.op.axis]
        for read in tensor_reads(consumer.op):
            if read.tensor.op is producer.op and (
                    len(read.indices) != len(axes) or any(i is not v for i, v in zip(read.indices, axes))):
                return False
        return True

    @property
    def ops(self) -> list[Any]:
        """Every operation, placeholders included, producers first (TVM's ``ComputeDAG.ops``;
        for a DAG made from a schedule, in the order of the schedule's stages)."""
        return list(self._ops)

    # -- TVM's loop-state API (loop_state.py) ---------------------------------------------------
    def get_init_state(self) -> Any:
        """A loop state with no steps: every stage at the root, loops as the operations declare."""
        return State(None, self)

    @property
    def init_state(self) -> Any:
        """The initial state's snapshot (TVM's ``dag.init_state``)."""
        return self.get_init_state().state_object

    def infer_bound_from_state(self, state: Any) -> Any:
        """A copy of ``state`` with the ranges of its loops inferred (tensorlang's states always
        show them)."""
        return infer_bound(self, state)

    def infer_bound_from_states(self, states: Sequence[Any]) -> list[Any]:
        """``infer_bound_from_state`` of each state."""
        return [infer_bound(self, st) for st in states]

    def apply_steps_from_state(self, state: Any, layout_rewrite: Any = None) -> tuple[Any, list[Tensor]]:
        """The te schedule ``state``'s steps make, on a fresh schedule of this DAG, and the DAG's
        tensors (the arguments of the built function)."""
        if layout_rewrite == LayoutRewriteOption.REWRITE_FOR_PRE_TRANSFORMED:
            warn_pre_transformed("ComputeDAG.apply_steps_from_state")
        return apply_steps(self, state)

    def print_python_code_from_state(self, state: Any) -> str:
        """``state``'s steps as the te schedule primitives that make them."""
        return python_code_of(self, state)

    @property
    def flop_ct(self) -> float:
        """Floating-point operations of one run (TVM's ``flop_ct``)."""
        return float(compute_flop(self.outputs))

    def workload_key(self) -> str:
        """TVM's ``ComputeDAG.workload_key()``: a key naming this computation, a hash of its text
        then the shapes of its tensors (``'["<md5>", [512, 512], ...]'``)."""
        digest = hashlib.md5(str(self).encode()).hexdigest()
        shapes = [[d.value if isinstance(d, E.IntImm) else (d if isinstance(d, int) else str(d)) for d in t.shape]
                  for t in self.tensors]
        return json.dumps([digest, *shapes])

    def __str__(self) -> str:
        """One line per operation, as TVM prints a ComputeDAG: ``A = PLACEHOLDER [N, L]``,
        ``C(i, j) += (A[i, k]*B[k, j])``, ``D(i, j) = ...``."""
        lines = []
        for op in self.ops:
            if isinstance(op, PlaceholderOp):
                lines.append(f"{op.name} = PLACEHOLDER [{', '.join(str(d) for d in op.shape)}]")
                continue
            if not isinstance(op, ComputeOp):
                lines.append(f"{op.name} = {type(op).__name__}")
                continue
            axes = ", ".join(iv.var.name for iv in op.axis)
            for k, body in enumerate(op.body):
                name = op.name if len(op.body) == 1 else f"{op.name}.v{k}"
                if isinstance(body, E.Reduce):
                    kind = {"sum": "+=", "max": "max=", "min": "min="}.get(body.combiner.name, "reduce=")
                    where = "" if isinstance(body.condition, E.IntImm) and body.condition.value else \
                        f" where {body.condition}"
                    lines.append(f"{name}({axes}) {kind} {body.source[body.value_index]}{where}")
                else:
                    lines.append(f"{name}({axes}) = {body}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        rows = [f"  {s.key}: spatial={s.spatial} reduce={s.reduce} reuse={s.has_reuse} output={s.is_output} "
                f"consumers={s.consumers}" for s in self.stages]
        return "ComputeDAG(\n" + "\n".join(rows) + "\n)"
