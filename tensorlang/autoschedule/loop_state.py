"""TVM's auto_scheduler loop-state API: ``dag.get_init_state()``, ``State`` objects that record
transform steps (``split``, ``fuse``, ``reorder``, ``compute_at``, ``cache_write`` ...), and the
loop structure those steps make (``state.stages``, ``state[C].iters``).

    s = dag.get_init_state()
    i, j, k = s[C].iters
    io, ii = s.split(C, i, [16])
    s.parallel(C, io)
    sch, args = dag.apply_steps_from_state(s)   # an ordinary te schedule

A state is its list of steps.  The loop structure is not modelled separately: the steps are
replayed onto a fresh ``te`` schedule of the DAG through the public schedule primitives, and
each stage's iterators (names, ranges, annotations) are read from that schedule, so what a state
shows is what ``tl.lower`` prints and ``tl.build`` builds.  Steps name stages by their index in
``state.stages`` and iterators by their index in the stage's ``iters`` (TVM's ``stage_id`` and
``iter_id``), so the steps of one DAG's state replay on another DAG of the same structure.

Where tensorlang differs from TVM (by design):

* Iterator names are the te schedule's: ``i.outer``/``i.inner`` for a split, ``i.j.fused`` for a
  fuse, ``i.c`` in a ``cache_write`` stage, ``k.outer.rf`` for an ``rfactor`` axis (TVM's state
  says ``i.0``, ``i@j@``, ``i_c``).  Iterators compare equal by value (name, range, kind,
  annotation), and a step finds the iterator it is given by name among the stage's loops.
* Ranges are always inferred: a stage placed with ``compute_at`` shows its real loop extents at
  once (TVM's are None until ``infer_bound_from_state``, which here returns an equal copy).  An
  iterator whose extent depends on a split length left undefined (``None``, for the search to
  fill) has range None, as do the loops of the stages computed inside one.
* ``reorder`` may name a subset of the loops (te's reorder); TVM's needs all of them.

Not supported, with a ``LoopStateError`` naming the step: the ``tensorize`` annotation; binding to
anything but ``vthread``/``blockIdx.*``/``threadIdx.*``; split lengths that are not positive
integers or None; ``apply_steps_from_state`` of a state whose split lengths are still undefined.
A step the te schedule refuses (fusing loops that are not adjacent, inlining a reduction ...)
raises at once, with the schedule's reason, and leaves the state as it was.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import TensorLangError
from ..schedule.bound_map import InferBound
from ..schedule.relations import pass_down_extents
from ..schedule.schedule import Schedule, create_schedule
from ..schedule.schedule import Stage as TeStage
from ..schedule.step_record import python_code
from ..te import expr as E
from ..te import thread_axis
from ..te.functor import post_order_visit
from ..te.tensor import ComputeOp, IterVar, IterVarType, Operation, PlaceholderOp, Range, Tensor


class LoopStateError(TensorLangError, ValueError):
    """A loop-state step that is malformed, unsupported, or refused by the te schedule."""


# TVM's IteratorAnnotation codes (``State.ANNOTATION_TRANS_TABLE``).
ANNOTATION_TRANS_TABLE = {"none": 0, "unroll": 1, "vectorize": 2, "parallel": 3, "vthread": 4,
                          "blockIdx.x": 5, "threadIdx.x": 6, "blockIdx.y": 7, "threadIdx.y": 8,
                          "blockIdx.z": 9, "threadIdx.z": 10, "tensorize": 11}
# How a loop with each annotation is printed (``str(state)``).
_ANNOTATION_WORD = {0: "for", **{code: name for name, code in ANNOTATION_TRANS_TABLE.items() if code}}
_THREAD_NAMES = ("vthread", "blockIdx.x", "threadIdx.x", "blockIdx.y", "threadIdx.y", "blockIdx.z", "threadIdx.z")


class IteratorKind:
    """TVM's kinds of iterator (``Iterator.iter_kind``)."""

    SPATIAL, REDUCTION, MIXED, SPECIAL = 0, 1, 2, 3


class ComputeAtKind:
    """Where a stage is computed (``Stage.compute_at``)."""

    ROOT, INLINED, ITER = 0, 1, 2


class StageKind:
    """``Stage.op_type``."""

    PLACEHOLDER, COMPUTE = 0, 1


class IterRange(Range):
    """A loop's range; unlike a te ``Range`` it compares by value (two stages' loops over the
    same constant range are equal, as TVM's loop-state ranges of one domain are)."""

    __slots__ = ()

    def _key(self) -> tuple:
        return tuple(e.value if isinstance(e, E.IntImm) else str(e) for e in (self.min, self.extent))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return self._key() == IterRange(other.min, other.extent)._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple:
        return IterRange, (self.min, self.extent)


@dataclass(frozen=True)
class Iterator:
    """One loop of a stage: its name, range (None when an undefined split length decides it),
    kind (``IteratorKind``) and annotation (``State.ANNOTATION_TRANS_TABLE``'s code)."""

    name: str
    range: IterRange | None
    iter_kind: int = IteratorKind.SPATIAL
    annotation: int = 0

    def __str__(self) -> str:
        rng = "None" if self.range is None else f"{self.range.min},{self.range.extent}"
        return f"{_ANNOTATION_WORD.get(self.annotation, '?')} {self.name} ({rng})"


@dataclass(frozen=True)
class StageAttributes:
    """TVM's per-stage attributes: the ``auto_unroll_max_step`` pragma's value (0: none)."""

    auto_unroll_max_step: int = 0
    storage_offset: int = 0


@dataclass(frozen=True, eq=False)
class Stage:
    """One stage of a state: its operation (as the replayed schedule computes it), kind
    (``StageKind``), loops, and where it is computed (``ComputeAtKind``)."""

    op: Operation
    op_type: int
    iters: tuple[Iterator, ...]
    compute_at: int
    attrs: StageAttributes = field(default_factory=StageAttributes)

    # TVM's names of the compute_at codes
    COMPUTE_AT_TRANS_TABLE = {"root": ComputeAtKind.ROOT, "inlined": ComputeAtKind.INLINED,
                              "iter": ComputeAtKind.ITER}

    def __repr__(self) -> str:
        return f"Stage({self.op.name}, iters=[{', '.join(str(it) for it in self.iters)}])"


# --- transform steps (TVM's names and fields) --------------------------------------------------

@dataclass(frozen=True)
class SplitStep:
    """Split loop ``iter_id`` by ``lengths`` (innermost last; None: left to the search)."""

    stage_id: int
    iter_id: int
    extent: int | None
    lengths: tuple[int | None, ...]
    inner_to_outer: bool


@dataclass(frozen=True)
class FollowSplitStep:
    """Split loop ``iter_id`` into ``n_split + 1`` parts like the split step ``src_step_id``."""

    stage_id: int
    iter_id: int
    src_step_id: int
    n_split: int


@dataclass(frozen=True)
class FollowFusedSplitStep:
    """Split loop ``iter_id`` in two by the product of level ``level`` of the split steps
    ``src_step_ids`` (as a factor, or as the number of outer parts)."""

    stage_id: int
    iter_id: int
    src_step_ids: tuple[int, ...]
    level: int
    factor_or_nparts: bool


@dataclass(frozen=True)
class FuseStep:
    stage_id: int
    fused_ids: tuple[int, ...]


@dataclass(frozen=True)
class ReorderStep:
    stage_id: int
    after_ids: tuple[int, ...]


@dataclass(frozen=True)
class AnnotationStep:
    stage_id: int
    iter_id: int
    annotation: int


@dataclass(frozen=True)
class PragmaStep:
    stage_id: int
    iter_id: int
    pragma_type: str


@dataclass(frozen=True)
class StorageAlignStep:
    stage_id: int
    iter_id: int
    factor: int
    offset: int


@dataclass(frozen=True)
class ComputeAtStep:
    stage_id: int
    target_stage_id: int
    target_iter_id: int


@dataclass(frozen=True)
class ComputeInlineStep:
    stage_id: int


@dataclass(frozen=True)
class ComputeRootStep:
    stage_id: int


@dataclass(frozen=True)
class CacheReadStep:
    """A copy of stage ``stage_id``'s output in ``scope_name``, read by the reader stages; the
    new stage comes right after the source."""

    stage_id: int
    scope_name: str
    reader_stage_ids: tuple[int, ...]


@dataclass(frozen=True)
class CacheWriteStep:
    """Compute stage ``stage_id`` into a new stage in ``scope_name``, inserted before it."""

    stage_id: int
    scope_name: str


@dataclass(frozen=True)
class RfactorStep:
    """Factor reduction loop ``iter_id`` out into a new stage (inserted before), as data axis
    ``factor_iter_id`` of it."""

    stage_id: int
    iter_id: int
    factor_iter_id: int


Step = (SplitStep | FollowSplitStep | FollowFusedSplitStep | FuseStep | ReorderStep | AnnotationStep | PragmaStep
        | StorageAlignStep | ComputeAtStep | ComputeInlineStep | ComputeRootStep | CacheReadStep | CacheWriteStep
        | RfactorStep)


def follow_split_lengths(steps: Sequence[Any], step: FollowSplitStep) -> tuple[int | None, ...]:
    """TVM's lengths of a follow_split: the first ``n_split - 1`` lengths of the source split,
    then the product of the rest (None if one of them is undefined)."""
    src = _split_source(steps, step.src_step_id, "follow_split")
    if not 1 <= step.n_split <= len(src.lengths) + 1:
        raise LoopStateError(f"follow_split: n_split must be 1..{len(src.lengths) + 1} (step {step.src_step_id} "
                             f"splits into {len(src.lengths) + 1} parts), got {step.n_split}")
    head = list(src.lengths[:step.n_split - 1])
    last: int | None = 1
    for length in src.lengths[step.n_split - 1:]:
        last = None if length is None or last is None else last * length
    return tuple(head + [last])


def follow_fused_split_length(steps: Sequence[Any], step: FollowFusedSplitStep) -> int | None:
    """The product of level ``step.level`` of the source splits (None if one is undefined)."""
    out: int | None = 1
    for sid in step.src_step_ids:
        src = _split_source(steps, sid, "follow_fused_split")
        if not 0 <= step.level < len(src.lengths):
            raise LoopStateError(f"follow_fused_split: level must be 0..{len(src.lengths) - 1} for split step {sid}, "
                                 f"got {step.level}")
        length = src.lengths[step.level]
        out = None if length is None or out is None else out * length
    return out


def _split_source(steps: Sequence[Any], sid: Any, what: str) -> SplitStep:
    if not isinstance(sid, numbers.Integral) or not 0 <= int(sid) < len(steps):
        raise LoopStateError(f"{what}: source step {sid!r} is not a step of this state (it has {len(steps)})")
    src = steps[int(sid)]
    if not isinstance(src, SplitStep):
        raise LoopStateError(f"{what}: step {sid} is a {type(src).__name__}, not a split step")
    return src


def _has_undefined_lengths(steps: Sequence[Any]) -> int | None:
    """The index of the first step whose split lengths are not all defined, if any."""
    for k, step in enumerate(steps):
        if isinstance(step, SplitStep):
            lengths: Iterable[Any] = step.lengths
        elif isinstance(step, FollowSplitStep):
            lengths = follow_split_lengths(steps, step)
        elif isinstance(step, FollowFusedSplitStep):
            lengths = (follow_fused_split_length(steps, step),)
        else:
            continue
        if any(length is None for length in lengths):
            return k
    return None


# --- replay onto a te schedule -----------------------------------------------------------------

class _Replay:
    """A fresh te schedule of ``dag`` with steps applied one by one; ``stages`` lists its te
    stages in the state's order (a cache_read stage right after its source, a cache_write or
    rfactor stage right before its target, as in TVM)."""

    def __init__(self, dag: Any):
        self.dag = dag
        self.sch: Schedule = create_schedule([t.op for t in dag.outputs])
        self.stages: list[TeStage] = [self.sch[op] for op in dag.ops]
        # loops whose extent an undefined split length decides (ids of their IterVars)
        self.unknown: set[int] = set()

    # the te loop an iterator index names
    def leaf(self, sid: int, iid: int, what: str) -> IterVar:
        st = self.stage(sid, what)
        leaves = st.leaf_iter_vars
        if not isinstance(iid, numbers.Integral) or not 0 <= int(iid) < len(leaves):
            raise LoopStateError(f"{what}: stage {st.op.name} has no loop {iid!r} (it has {len(leaves)})")
        return leaves[int(iid)]

    def stage(self, sid: int, what: str) -> TeStage:
        if not isinstance(sid, numbers.Integral) or not 0 <= int(sid) < len(self.stages):
            raise LoopStateError(f"{what}: no stage {sid!r} (the state has {len(self.stages)})")
        return self.stages[int(sid)]

    def apply(self, step: Any, steps: Sequence[Any]) -> None:
        """Apply ``step`` (``steps`` are the state's steps before it, which follow-splits read)."""
        getattr(self, f"_{type(step).__name__}")(step, steps)

    def _split(self, st: TeStage, iv: IterVar, lengths: Sequence[int | None], inner_to_outer: bool) -> None:
        bad = id(iv) in self.unknown
        if inner_to_outer:
            to_split = iv
            for length in reversed(lengths):
                outer, inner = st.split(to_split, factor=1 if length is None else length)
                if length is None:
                    self.unknown.add(id(inner))
                bad = bad or length is None
                if bad:
                    self.unknown.add(id(outer))
                to_split = outer
        else:
            to_split = iv
            for length in lengths:
                outer, inner = st.split(to_split, nparts=1 if length is None else length)
                if length is None:
                    self.unknown.add(id(outer))
                bad = bad or length is None
                if bad:
                    self.unknown.add(id(inner))
                to_split = inner

    def _SplitStep(self, step: SplitStep, steps: Sequence[Any]) -> None:  # noqa: N802 - step class names
        iv = self.leaf(step.stage_id, step.iter_id, "split")
        self._split(self.stages[step.stage_id], iv, step.lengths, step.inner_to_outer)

    def _FollowSplitStep(self, step: FollowSplitStep, steps: Sequence[Any]) -> None:  # noqa: N802
        iv = self.leaf(step.stage_id, step.iter_id, "follow_split")
        self._split(self.stages[step.stage_id], iv, follow_split_lengths(steps, step), True)

    def _FollowFusedSplitStep(self, step: FollowFusedSplitStep, steps: Sequence[Any]) -> None:  # noqa: N802
        iv = self.leaf(step.stage_id, step.iter_id, "follow_fused_split")
        self._split(self.stages[step.stage_id], iv, [follow_fused_split_length(steps, step)],
                    step.factor_or_nparts)

    def _FuseStep(self, step: FuseStep, steps: Sequence[Any]) -> None:  # noqa: N802
        ivs = [self.leaf(step.stage_id, i, "fuse") for i in step.fused_ids]
        fused = self.stages[step.stage_id].fuse(*ivs)
        if any(id(iv) in self.unknown for iv in ivs):
            self.unknown.add(id(fused))

    def _ReorderStep(self, step: ReorderStep, steps: Sequence[Any]) -> None:  # noqa: N802
        ivs = [self.leaf(step.stage_id, i, "reorder") for i in step.after_ids]
        self.stages[step.stage_id].reorder(*ivs)

    def _AnnotationStep(self, step: AnnotationStep, steps: Sequence[Any]) -> None:  # noqa: N802
        iv = self.leaf(step.stage_id, step.iter_id, "annotation")
        st = self.stages[step.stage_id]
        name = _ANNOTATION_WORD.get(step.annotation)
        if name in ("unroll", "vectorize", "parallel"):
            getattr(st, name)(iv)
        elif name in _THREAD_NAMES:
            st.bind(iv, thread_axis(name))
        else:
            raise LoopStateError(f"stage {st.op.name}: annotation {step.annotation} ({name}) is not supported "
                                 "(tensorlang's loop states take unroll, vectorize, parallel and thread bindings)")

    def _PragmaStep(self, step: PragmaStep, steps: Sequence[Any]) -> None:  # noqa: N802
        iv = self.leaf(step.stage_id, step.iter_id, "pragma")
        st = self.stages[step.stage_id]
        kind, sep, value = step.pragma_type.partition("$")
        if kind == "auto_unroll_max_step":
            if not sep or not value.strip().isdigit():
                raise LoopStateError(f"stage {st.op.name}: pragma {step.pragma_type!r} needs a value, as in "
                                     "'auto_unroll_max_step$512'")
            st.pragma(iv, kind, int(value))
        elif sep:
            raise LoopStateError(f"stage {st.op.name}: pragma {step.pragma_type!r}: only auto_unroll_max_step takes "
                                 "a '$value'")
        else:
            st.pragma(iv, kind)

    def _StorageAlignStep(self, step: StorageAlignStep, steps: Sequence[Any]) -> None:  # noqa: N802
        iv = self.leaf(step.stage_id, step.iter_id, "storage_align")
        self.stages[step.stage_id].storage_align(iv, step.factor, step.offset)

    def _ComputeAtStep(self, step: ComputeAtStep, steps: Sequence[Any]) -> None:  # noqa: N802
        target = self.stage(step.target_stage_id, "compute_at")
        iv = self.leaf(step.target_stage_id, step.target_iter_id, "compute_at")
        self.stage(step.stage_id, "compute_at").compute_at(target, iv)

    def _ComputeInlineStep(self, step: ComputeInlineStep, steps: Sequence[Any]) -> None:  # noqa: N802
        self.stage(step.stage_id, "compute_inline").compute_inline()

    def _ComputeRootStep(self, step: ComputeRootStep, steps: Sequence[Any]) -> None:  # noqa: N802
        self.stage(step.stage_id, "compute_root").compute_root()

    def _CacheReadStep(self, step: CacheReadStep, steps: Sequence[Any]) -> None:  # noqa: N802
        # stages are named by the operations they were made for (the schedule maps those to the
        # stages whatever they compute now), which is also how the printed Python names them
        src = self.stage(step.stage_id, "cache_read")
        readers = [self.stage(r, "cache_read").origin_op for r in step.reader_stage_ids]
        cache = self.sch.cache_read(src.origin_op.output(0), step.scope_name, readers)
        self.stages.insert(step.stage_id + 1, self.sch[cache.op])

    def _CacheWriteStep(self, step: CacheWriteStep, steps: Sequence[Any]) -> None:  # noqa: N802
        st = self.stage(step.stage_id, "cache_write")
        # te caches every output of a multi-output stage at once (TVM's state does the same)
        outs = [st.origin_op.output(i) for i in range(st.op.num_outputs)]
        cache = self.sch.cache_write(outs if len(outs) > 1 else outs[0], step.scope_name)
        first = cache[0] if isinstance(cache, list) else cache
        self.stages.insert(step.stage_id, self.sch[first.op])

    def _RfactorStep(self, step: RfactorStep, steps: Sequence[Any]) -> None:  # noqa: N802
        iv = self.leaf(step.stage_id, step.iter_id, "rfactor")
        st = self.stages[step.stage_id]
        rf = self.sch.rfactor(st.origin_op.output(0), iv, step.factor_iter_id)
        first = rf[0] if isinstance(rf, list) else rf
        self.stages.insert(step.stage_id, self.sch[first.op])

    # -- the loop structure ------------------------------------------------------------------
    def view(self) -> tuple[list[Stage], dict[tuple[int, int], list[int]]]:
        """The state's stages, and which stages are computed at each (stage, loop)."""
        self.sch.legalize_attachments()
        index = {id(st): k for k, st in enumerate(self.stages)}
        attached = [st for st in self.stages if st.attach_type == "scope"]
        ranges: dict[int, Range] = {}
        if attached:
            try:
                ranges = {id(iv): rng for iv, rng in InferBound(self.sch).items()}
            except TensorLangError:
                ranges = {}  # a structure bounds cannot be inferred for (yet): attached loops show None
        blind = {id(st) for st in self.stages if self._under_unknown(st)}
        stages, attach = [], {}
        for k, st in enumerate(self.stages):
            if isinstance(st.op, PlaceholderOp) or not isinstance(st.op, ComputeOp):
                stages.append(Stage(st.op, StageKind.PLACEHOLDER, (), ComputeAtKind.ROOT))
                continue
            extents: dict[IterVar, Any] = {iv: iv.dom.extent for iv in (*st.op.axis, *st.op.reduce_axis)}
            pass_down_extents(st.relations, extents)
            iters = []
            for iv in st.leaf_iter_vars:
                rng: IterRange | None
                if id(iv) in self.unknown or id(st) in blind:
                    rng = None
                elif st.attach_type == "scope":
                    got = ranges.get(id(iv))
                    rng = None if got is None else _loop_range(got)
                else:
                    rng = _loop_range(Range(iv.dom.min if iv.dom is not None else 0, extents[iv]))
                iters.append(Iterator(iv.var.name, rng, _kind(iv), _annotation(st, iv)))
            where = {"root": ComputeAtKind.ROOT, "inline": ComputeAtKind.INLINED}.get(str(st.attach_type),
                                                                                     ComputeAtKind.ITER)
            if where == ComputeAtKind.ITER and id(st.attach_stage) in index:
                parent = st.attach_stage
                attach.setdefault((index[id(parent)], parent.leaf_iter_vars.index(st.attach_ivar)), []).append(k)
            unroll = [v for iv in st.leaf_iter_vars for key, v in _pragmas(st, iv) if key == "auto_unroll_max_step"]
            stages.append(Stage(st.op, StageKind.COMPUTE, tuple(iters), where,
                                StageAttributes(auto_unroll_max_step=int(unroll[-1]) if unroll else 0)))
        return stages, attach

    def _under_unknown(self, st: TeStage) -> bool:
        """Whether ``st`` is computed inside a stage with a loop of undefined extent."""
        seen = 0
        while st.attach_type == "scope" and st.attach_stage is not None and seen < 64:
            st, seen = st.attach_stage, seen + 1
            if any(id(iv) in self.unknown for iv in st.leaf_iter_vars):
                return True
        return False


def _loop_range(rng: Range) -> IterRange:
    # Loops run from 0 in the lowered code; a symbolic start (a region of an attached stage) is
    # where the loop's first point lies, not a loop bound.
    start = rng.min if isinstance(rng.min, E.IntImm) else 0
    return IterRange(start, rng.extent)


def _kind(iv: IterVar) -> int:
    return IteratorKind.REDUCTION if iv.iter_type == IterVarType.COMM_REDUCE else IteratorKind.SPATIAL


def _annotation(st: TeStage, iv: IterVar) -> int:
    attr = st.iter_var_attrs.get(iv)
    if attr is None:
        return 0
    if attr.tensor_intrin is not None:
        return ANNOTATION_TRANS_TABLE["tensorize"]
    if attr.bind_thread is not None:
        tag = attr.bind_thread.thread_tag
        return ANNOTATION_TRANS_TABLE["vthread" if tag in ("vthread", "cthread") else tag]
    return ANNOTATION_TRANS_TABLE.get(attr.annotation or "none", 0)


def _pragmas(st: TeStage, iv: IterVar) -> list[tuple[str, Any]]:
    attr = st.iter_var_attrs.get(iv)
    return list(attr.pragmas) if attr is not None else []


# --- states -----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class StateObject:
    """An immutable snapshot of a state (TVM's ``state.state_object``): its steps, and the
    operations its stages were known by (so ops a user holds keep naming their stages).  With
    the DAG it belongs to, it also shows its ``stages`` (as TVM's state objects do, which custom
    sketch rules read without wrapping them in a ``State``)."""

    transform_steps: tuple[Any, ...] = ()
    op_ids: tuple[tuple[Operation, int], ...] = ()
    dag: Any = field(default=None, repr=False)

    @property
    def stages(self) -> list[Stage]:
        if self.dag is None:
            raise LoopStateError("this state object does not know its ComputeDAG: wrap it as State(state, dag)")
        return State(self, self.dag).stages


class State:
    """A schedule under construction: its transform steps and the loop structure they make.

    ``State(state_object, dag)`` wraps a snapshot (what a custom sketch rule receives); every
    primitive records one step and changes this state only (``copy()`` to branch).  Stages are
    named by index, operation or tensor (the op a state returned, or the DAG's own)."""

    ANNOTATION_TRANS_TABLE = ANNOTATION_TRANS_TABLE

    def __init__(self, state_object: StateObject | State | None, dag: Any = None):
        if isinstance(state_object, State):
            state_object = state_object.state_object
        if state_object is None:
            state_object = StateObject()
        if dag is None and isinstance(state_object, StateObject):
            dag = state_object.dag
        if not isinstance(state_object, StateObject):
            raise LoopStateError(f"State expects a state_object (state.state_object) and a ComputeDAG, got "
                                 f"{state_object!r:.100}")
        if not hasattr(dag, "ops") or not hasattr(dag, "outputs"):
            raise LoopStateError(f"State expects the ComputeDAG its steps apply to, got {dag!r:.100}")
        self.compute_dag = dag
        self._steps: list[Any] = list(state_object.transform_steps)
        # id(op) -> (op, stage index): every op a stage of this state has been computed by
        self._ids: dict[int, tuple[Operation, int]] = {id(op): (op, k) for op, k in state_object.op_ids}
        self._replay: _Replay | None = None
        self._view: tuple[list[Stage], dict[tuple[int, int], list[int]]] | None = None

    # -- what the state shows ---------------------------------------------------------------
    @property
    def state_object(self) -> StateObject:
        """This state as an immutable snapshot (``State(snapshot, dag)`` makes it a state again)."""
        self._structure()
        return StateObject(tuple(self._steps), tuple(self._ids.values()), self.compute_dag)

    @property
    def transform_steps(self) -> list[Any]:
        """The steps recorded so far, in order."""
        return list(self._steps)

    @property
    def stages(self) -> list[Stage]:
        """Every stage, placeholders included, in TVM's order."""
        return list(self._structure()[0])

    @property
    def stage_ops(self) -> list[Operation]:
        return [st.op for st in self.stages]

    @property
    def stage_id_map(self) -> dict[Operation, int]:
        """Each operation a stage of this state has been computed by -> the stage's index."""
        self._structure()
        return {op: k for op, k in self._ids.values()}

    def __getitem__(self, key: Tensor | Operation | int) -> Stage:
        return self.stages[self._stage_id(key, "state[...]")]

    def copy(self) -> State:
        """An independent state with the same steps."""
        return State(self.state_object, self.compute_dag)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return self.compute_dag is other.compute_dag and self._steps == other._steps

    __hash__ = None  # type: ignore[assignment]  # states change in place

    def __str__(self) -> str:
        stages, attach = self._structure()
        lines = ["Placeholder: " + ", ".join(st.op.name for st in stages if st.op_type == StageKind.PLACEHOLDER)]
        for k, st in enumerate(stages):
            if st.op_type == StageKind.COMPUTE and st.compute_at == ComputeAtKind.ROOT:
                _print_stage(lines, stages, attach, k, 0)
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return str(self)

    # -- primitives (TVM's signatures) --------------------------------------------------------
    def bind(self, stage: Any, iterator: Iterator, thread_name: str) -> Iterator:
        """Bind a loop to ``vthread``, ``blockIdx.x/y/z`` or ``threadIdx.x/y/z``."""
        if thread_name not in _THREAD_NAMES:
            raise LoopStateError(f"State.bind: invalid thread_name {thread_name!r} (expected one of "
                                 f"{', '.join(_THREAD_NAMES)})")
        return self._annotate(stage, iterator, thread_name, "bind")

    def parallel(self, stage: Any, iterator: Iterator) -> Iterator:
        return self._annotate(stage, iterator, "parallel", "parallel")

    def vectorize(self, stage: Any, iterator: Iterator) -> Iterator:
        return self._annotate(stage, iterator, "vectorize", "vectorize")

    def unroll(self, stage: Any, iterator: Iterator, max_unroll: int | None = None) -> Iterator:
        """Unroll a loop; with ``max_unroll``, a loop longer than it is left as it is (no step)."""
        sid = self._stage_id(stage, "unroll")
        iid = self._iter_id(sid, iterator, "unroll")
        it = self.stages[sid].iters[iid]
        if max_unroll and it.range is not None and isinstance(it.range.extent, E.IntImm) and \
                it.range.extent.value > max_unroll:
            return it
        return self._annotate(sid, iterator, "unroll", "unroll")

    def _annotate(self, stage: Any, iterator: Iterator, name: str, what: str) -> Iterator:
        sid = self._stage_id(stage, what)
        iid = self._iter_id(sid, iterator, what)
        self._do(AnnotationStep(sid, iid, ANNOTATION_TRANS_TABLE[name]), what)
        return self.stages[sid].iters[iid]

    def fuse(self, stage: Any, iters: Sequence[Iterator]) -> Iterator:
        """Fuse adjacent loops (outermost first) into one."""
        sid = self._stage_id(stage, "fuse")
        ids = tuple(self._iter_id(sid, it, "fuse") for it in _as_list(iters, "fuse", "iters"))
        self._do(FuseStep(sid, ids), "fuse")
        return self.stages[sid].iters[min(ids) if ids else 0]

    def pragma(self, stage: Any, iterator: Iterator, pragma_type: str) -> None:
        """A pragma on a loop: ``"auto_unroll_max_step$<n>"``, or a pragma name te knows."""
        if not isinstance(pragma_type, str):
            raise LoopStateError(f"State.pragma: pragma_type must be a str, got {pragma_type!r}")
        sid = self._stage_id(stage, "pragma")
        self._do(PragmaStep(sid, self._iter_id(sid, iterator, "pragma"), pragma_type), "pragma")

    def reorder(self, stage: Any, order: Sequence[Iterator]) -> None:
        sid = self._stage_id(stage, "reorder")
        ids = tuple(self._iter_id(sid, it, "reorder") for it in _as_list(order, "reorder", "order"))
        self._do(ReorderStep(sid, ids), "reorder")

    def split(self, stage: Any, iterator: Iterator, lengths: Sequence[int | None],
              inner_to_outer: bool = True) -> list[Iterator]:
        """Split a loop into ``len(lengths) + 1`` loops: ``lengths`` are the extents of the inner
        ones (``inner_to_outer``) or of the outer ones; a None length is left to the search."""
        sid = self._stage_id(stage, "split")
        iid = self._iter_id(sid, iterator, "split")
        norm = tuple(_length(v) for v in _as_list(lengths, "split", "lengths"))
        if not norm:
            raise LoopStateError("State.split: lengths is empty")
        rng = self.stages[sid].iters[iid].range
        extent = rng.extent.value if rng is not None and isinstance(rng.extent, E.IntImm) else None
        self._do(SplitStep(sid, iid, extent, norm, bool(inner_to_outer)), "split")
        return list(self.stages[sid].iters[iid:iid + len(norm) + 1])

    def follow_split(self, stage: Any, iterator: Iterator, src_step_id: int, n_split: int) -> list[Iterator]:
        """Split a loop like split step ``src_step_id``, into ``n_split + 1`` loops (the last
        one takes the product of the source's remaining lengths)."""
        sid = self._stage_id(stage, "follow_split")
        iid = self._iter_id(sid, iterator, "follow_split")
        step = FollowSplitStep(sid, iid, int(src_step_id), int(n_split))
        n = len(follow_split_lengths(self._steps, step))
        self._do(step, "follow_split")
        return list(self.stages[sid].iters[iid:iid + n + 1])

    def follow_fused_split(self, stage: Any, iterator: Iterator, src_step_ids: Sequence[int], level: int,
                           factor_or_nparts: bool) -> list[Iterator]:
        """Split a loop in two by the product of level ``level`` of the split steps
        ``src_step_ids``: as the inner extent (``factor_or_nparts`` True) or the outer one."""
        sid = self._stage_id(stage, "follow_fused_split")
        iid = self._iter_id(sid, iterator, "follow_fused_split")
        ids = tuple(int(s) for s in _as_list(src_step_ids, "follow_fused_split", "src_step_ids"))
        step = FollowFusedSplitStep(sid, iid, ids, int(level), bool(factor_or_nparts))
        follow_fused_split_length(self._steps, step)
        self._do(step, "follow_fused_split")
        return list(self.stages[sid].iters[iid:iid + 2])

    def storage_align(self, stage: Any, iterator: Iterator, factor: int, offset: int) -> None:
        sid = self._stage_id(stage, "storage_align")
        self._do(StorageAlignStep(sid, self._iter_id(sid, iterator, "storage_align"), int(factor), int(offset)),
                 "storage_align")

    def compute_at(self, stage: Any, target_stage: Any, target_iter: Iterator) -> None:
        """Compute ``stage`` inside loop ``target_iter`` of ``target_stage``."""
        sid = self._stage_id(stage, "compute_at")
        tid = self._stage_id(target_stage, "compute_at")
        self._do(ComputeAtStep(sid, tid, self._iter_id(tid, target_iter, "compute_at")), "compute_at")

    def compute_inline(self, stage: Any) -> None:
        self._do(ComputeInlineStep(self._stage_id(stage, "compute_inline")), "compute_inline")

    def compute_root(self, stage: Any) -> None:
        self._do(ComputeRootStep(self._stage_id(stage, "compute_root")), "compute_root")

    def cache_read(self, stage: Any, scope_name: str, reader_stages: Sequence[Any]) -> Operation:
        """A copy of ``stage``'s output in ``scope_name`` that ``reader_stages`` read instead;
        returns the new stage's operation (its stage comes right after ``stage``)."""
        sid = self._stage_id(stage, "cache_read")
        readers = tuple(self._stage_id(r, "cache_read") for r in _as_list(reader_stages, "cache_read",
                                                                           "reader_stages"))
        self._do(CacheReadStep(sid, str(scope_name), readers), "cache_read", added=sid + 1)
        return self.stages[sid + 1].op

    def cache_write(self, stage: Any, scope_name: str) -> Operation:
        """Compute ``stage`` into a new stage in ``scope_name`` (inserted before it), which it
        then copies out; returns the new stage's operation."""
        sid = self._stage_id(stage, "cache_write")
        self._do(CacheWriteStep(sid, str(scope_name)), "cache_write", added=sid)
        return self.stages[sid].op

    def rfactor(self, stage: Any, iterator: Iterator, factor_iter_id: int) -> Operation:
        """Factor reduction loop ``iterator`` out into a new stage of partial results (inserted
        before ``stage``), where it becomes data axis ``factor_iter_id``; returns its operation."""
        sid = self._stage_id(stage, "rfactor")
        iid = self._iter_id(sid, iterator, "rfactor")
        self._do(RfactorStep(sid, iid, int(factor_iter_id)), "rfactor", added=sid)
        return self.stages[sid].op

    # -- machinery ----------------------------------------------------------------------------
    def _replayed(self) -> _Replay:
        if self._replay is None:
            replay = _Replay(self.compute_dag)
            for k, step in enumerate(self._steps):
                try:
                    replay.apply(step, self._steps[:k])
                except TensorLangError as exc:
                    raise LoopStateError(f"step {k} ({_describe(step)}) does not apply to this DAG: {exc}") from exc
            self._replay = replay
        return self._replay

    def _structure(self) -> tuple[list[Stage], dict[tuple[int, int], list[int]]]:
        if self._view is None:
            self._view = self._replayed().view()
            for k, st in enumerate(self._view[0]):
                self._ids[id(st.op)] = (st.op, k)
        return self._view

    def _do(self, step: Any, what: str, added: int | None = None) -> None:
        """Record ``step`` after applying it to the replayed schedule; on failure the state is
        left as it was."""
        replay = self._replayed()
        self._structure()  # know the ops of the stages before the step
        try:
            replay.apply(step, self._steps)
        except TensorLangError as exc:
            self._replay = None  # the te schedule may be half-changed: replay afresh next time
            raise LoopStateError(f"State.{what}: {exc}") from exc
        self._steps.append(step)
        if added is not None:  # a new stage: later stages move up one, as TVM's stage_id_map does
            self._ids = {key: (op, k + 1 if k >= added else k) for key, (op, k) in self._ids.items()}
        self._view = None

    def _stage_id(self, key: Any, what: str) -> int:
        n = len(self._structure()[0])
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            if not 0 <= int(key) < n:
                raise LoopStateError(f"State.{what}: no stage {key} (the state has {n})")
            return int(key)
        op = key.op if isinstance(key, Tensor) else key
        if not isinstance(op, Operation):
            raise LoopStateError(f"State.{what}: a stage is named by its index, operation or tensor, got {key!r:.80}")
        found = self._ids.get(id(op))
        if found is None or found[0] is not op:
            raise LoopStateError(f"State.{what}: operation {op.name} is not a stage of this state (stages: "
                                 f"{', '.join(st.op.name for st in self._structure()[0])})")
        return found[1]

    def _iter_id(self, sid: int, iterator: Any, what: str) -> int:
        stage = self._structure()[0][sid]
        if not isinstance(iterator, Iterator):
            raise LoopStateError(f"State.{what}: expected an Iterator of stage {stage.op.name} "
                                 f"(state[...].iters), got {iterator!r:.80}")
        names = [it.name for it in stage.iters]
        if names.count(iterator.name) == 1:
            return names.index(iterator.name)
        if names.count(iterator.name) > 1:
            raise LoopStateError(f"State.{what}: stage {stage.op.name} has several loops named {iterator.name}")
        raise LoopStateError(f"State.{what}: {iterator.name} is not a loop of stage {stage.op.name} (its loops: "
                             f"{', '.join(names) or 'none'})")


def _as_list(value: Any, what: str, arg: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise LoopStateError(f"State.{what}: {arg} must be a list, got {value!r:.80}")


def _length(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, E.IntImm):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise LoopStateError(f"State.split: a length must be a positive integer or None, got {value!r}")
    return int(value)


def _describe(step: Any) -> str:
    fields = ", ".join(f"{k}={v!r}" for k, v in vars(step).items())
    return f"{type(step).__name__}({fields})"


def _print_stage(lines: list[str], stages: list[Stage], attach: dict[tuple[int, int], list[int]], k: int,
                 indent: int) -> None:
    """TVM's printing of a stage: its loops (trivial ones left out), the stages computed at
    each, then the stage itself."""
    st = stages[k]
    if st.compute_at == ComputeAtKind.INLINED:
        return
    for i, it in enumerate(st.iters):
        trivial = it.range is not None and isinstance(it.range.extent, E.IntImm) and it.range.extent.value == 1
        if not trivial:
            lines.append(" " * indent + str(it))
            indent += 2
        for child in attach.get((k, i), []):
            _print_stage(lines, stages, attach, child, indent)
    lines.append(" " * indent + f"{st.op.name} = ...")


# --- what ComputeDAG's methods call ------------------------------------------------------------

def as_state(state: Any, dag: Any, what: str) -> State:
    """``state`` (a State or a state_object) as a State of ``dag``."""
    if isinstance(state, State):
        return state
    if isinstance(state, StateObject):
        return State(state, dag)
    recorded = _recorded_state(state, dag)
    if recorded is not None:
        return recorded
    raise LoopStateError(f"ComputeDAG.{what} expects a loop state (dag.get_init_state() and its steps), got "
                         f"{state!r:.100}")


def _recorded_state(config: Any, dag: Any) -> State | None:
    """The loop state a record's state holds when it is a custom sketch's (a loop state measured
    with ``MeasureInput``, or a custom rule's candidate); None for anything else."""
    from .records import from_config  # records and sketch build on this module: a cycle, broken here
    from .sketch import CustomSketch, custom_state
    try:
        sketch, decisions = from_config(config)
    except Exception:  # noqa: BLE001 - not a record's state at all: the caller names what it expects
        return None
    if not isinstance(sketch, CustomSketch):
        return None
    return custom_state(dag, sketch, decisions)


def infer_bound(dag: Any, state: Any) -> State:
    """TVM's ``infer_bound_from_state``: a copy of ``state`` whose loops show their inferred
    ranges (a tensorlang state always does)."""
    state = as_state(state, dag, "infer_bound_from_state")
    out = State(state.state_object, state.compute_dag)
    out._structure()
    return out


def apply_steps(dag: Any, state: Any) -> tuple[Schedule, list[Tensor]]:
    """The te schedule ``state``'s steps make on a fresh schedule of ``dag``, and ``dag``'s tensors."""
    steps = as_state(state, dag, "apply_steps_from_state").transform_steps
    undefined = _has_undefined_lengths(steps)
    if undefined is not None:
        raise LoopStateError(f"apply_steps_from_state: step {undefined} ({_describe(steps[undefined])}) leaves split "
                             "lengths undefined (None); fill them in before making a schedule")
    replay = _Replay(dag)
    for k, step in enumerate(steps):
        try:
            replay.apply(step, steps[:k])
        except TensorLangError as exc:
            raise LoopStateError(f"apply_steps_from_state: step {k} ({_describe(step)}): {exc}") from exc
    return replay.sch, list(dag.tensors)


def python_code_of(dag: Any, state: Any, source: str = "...") -> str:
    """``state``'s steps as the te schedule primitives that make them (TVM's
    ``print_python_code_from_state``)."""
    sch, tensors = apply_steps(dag, state)
    return python_code(sch, tensors, tensors_from=source)


def fill_lengths(state: State, lengths: Callable[[int, SplitStep], Sequence[int]]) -> State:
    """A copy of ``state`` whose split steps with undefined lengths take ``lengths(k, step)``
    (step ``k`` of the state) instead."""
    steps = []
    for k, step in enumerate(state.transform_steps):
        if isinstance(step, SplitStep) and any(v is None for v in step.lengths):
            got = tuple(int(v) for v in lengths(k, step))
            if len(got) != len(step.lengths):
                raise LoopStateError(f"fill_lengths: step {k} needs {len(step.lengths)} lengths, got {got}")
            step = SplitStep(step.stage_id, step.iter_id, step.extent, got, step.inner_to_outer)
        steps.append(step)
    return State(StateObject(tuple(steps), state.state_object.op_ids), state.compute_dag)


# --- steps as JSON (a custom sketch's record) ----------------------------------------------------

_STEP_TYPES = {cls.__name__: cls for cls in (
    SplitStep, FollowSplitStep, FollowFusedSplitStep, FuseStep, ReorderStep, AnnotationStep, PragmaStep,
    StorageAlignStep, ComputeAtStep, ComputeInlineStep, ComputeRootStep, CacheReadStep, CacheWriteStep, RfactorStep)}


def steps_to_json(steps: Sequence[Any]) -> str:
    """``steps`` as compact JSON: ``[["SplitStep", [stage_id, iter_id, ...]], ...]``."""
    return json.dumps([[type(st).__name__, [list(v) if isinstance(v, tuple) else v for v in astuple_shallow(st)]]
                       for st in steps], separators=(",", ":"))


def astuple_shallow(step: Any) -> tuple:
    return tuple(getattr(step, f.name) for f in fields(step))


def steps_from_json(text: str) -> list[Any]:
    """The steps ``steps_to_json`` wrote."""
    try:
        items = json.loads(text)
        out = []
        for name, values in items:
            cls = _STEP_TYPES[name]
            out.append(cls(*(tuple(v) if isinstance(v, list) else v for v in values)))
        return out
    except (ValueError, TypeError, KeyError) as exc:
        raise LoopStateError(f"not a list of loop-state steps ({type(exc).__name__}: {exc}): {text[:120]!r}") from None


# --- what custom sketch rules read (TVM's SearchPolicyUtils*) ------------------------------------

def consumers(state: State, stage_id: int) -> list[int]:
    """The stages that read stage ``stage_id``, looking through inlined stages to their readers."""
    stages = state.stages

    def direct(k: int) -> list[int]:
        op = stages[k].op
        return [c for c, st in enumerate(stages)
                if st.op_type == StageKind.COMPUTE and any(t.op is op for t in st.op.input_tensors)]
    out: set[int] = set()
    seen: set[int] = set()
    stack = direct(stage_id)
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        if stages[c].compute_at == ComputeAtKind.INLINED:
            stack.extend(direct(c))
        else:
            out.add(c)
    return sorted(out)


def elementwise_match(state: State, stage_id: int, target_id: int) -> bool:
    """Whether stage ``target_id`` is reached from ``stage_id`` through a chain of single readers,
    each of the same shape, reading its producer only at its own point, and none a reduction."""
    stages = state.stages
    cur = stage_id
    for _ in range(len(stages)):
        if cur == target_id:
            return True
        op = stages[cur].op
        readers = [c for c, st in enumerate(stages)
                   if st.op_type == StageKind.COMPUTE and any(t.op is op for t in st.op.input_tensors)]
        if len(readers) != 1:
            return False
        nxt = stages[readers[0]].op
        if not isinstance(op, ComputeOp) or type(nxt) is not ComputeOp or nxt.reduce_axis or \
                [str(d) for d in op.output(0).shape] != [str(d) for d in nxt.output(0).shape]:
            return False
        axes = [iv.var for iv in nxt.axis]
        reads: list[Any] = []
        for body in nxt.body:
            post_order_visit(body, lambda e: reads.append(e) if isinstance(e, E.TensorRead) and e.tensor.op is op
                             else None)
        if any(len(r.indices) != len(axes) or any(i is not v for i, v in zip(r.indices, axes)) for r in reads):
            return False
        cur = readers[0]
    return False


def is_tiled(stage: Stage) -> bool:
    """Whether a stage's loops were split or fused (TVM's ``SearchPolicyUtilsIsTiled``)."""
    return any(".outer" in it.name or ".inner" in it.name or it.name.endswith(".fused") for it in stage.iters)


# --- a custom sketch made concrete ----------------------------------------------------------------

def instantiate(dag: Any, steps: Sequence[Any], lengths: dict[int, Sequence[int]], parallel: bool,
                vectorize: bool) -> State:
    """The state ``steps`` make on ``dag`` with the undefined lengths of split step ``k`` taken
    from ``lengths[k]`` (the split's parts, outermost first, as a search slot holds them), then,
    when asked, TVM's initial annotations: the outermost loop of each root stage parallel, the
    innermost loop of each stage vectorized (a data-parallel loop of 2..64 iterations that no
    stage is computed in), where the rule left the stage without such annotations."""
    def filled(k: int, step: SplitStep) -> Sequence[int]:
        parts = list(lengths[k])
        return parts[1:] if step.inner_to_outer else parts[:-1]
    state = fill_lengths(State(StateObject(tuple(steps)), dag), filled)
    _annotate_defaults(state, parallel, vectorize)
    return state


def _annotate_defaults(state: State, parallel: bool, vectorize: bool) -> None:
    for sid in range(len(state.stages)):
        stages, attach = state._structure()
        st = stages[sid]
        if st.op_type != StageKind.COMPUTE or st.compute_at == ComputeAtKind.INLINED or not st.iters:
            continue
        marks = {it.annotation for it in st.iters}
        first = st.iters[0]
        if parallel and st.compute_at == ComputeAtKind.ROOT and first.iter_kind == IteratorKind.SPATIAL and \
                not marks & {ANNOTATION_TRANS_TABLE[n] for n in ("parallel", *_THREAD_NAMES)} and \
                not _extent_is(first, lambda n: n <= 1):
            try:
                state.parallel(sid, first)
            except LoopStateError:
                pass  # an optional annotation the schedule refuses is left out
        last_id = len(st.iters) - 1
        last = state.stages[sid].iters[last_id]
        if vectorize and last.iter_kind == IteratorKind.SPATIAL and last.annotation == 0 and \
                ANNOTATION_TRANS_TABLE["vectorize"] not in marks and (sid, last_id) not in attach and \
                _extent_is(last, lambda n: 2 <= n <= 64):
            try:
                state.vectorize(sid, last)
            except LoopStateError:
                pass


def _extent_is(it: Iterator, test: Callable[[int], bool]) -> bool:
    return it.range is not None and isinstance(it.range.extent, E.IntImm) and test(it.range.extent.value)


__all__ = ["State", "StateObject", "Stage", "Iterator", "IterRange", "StageAttributes", "IteratorKind",
           "ComputeAtKind", "StageKind", "LoopStateError", "ANNOTATION_TRANS_TABLE", "SplitStep", "FollowSplitStep",
           "FollowFusedSplitStep", "FuseStep", "ReorderStep", "AnnotationStep", "PragmaStep", "StorageAlignStep",
           "ComputeAtStep", "ComputeInlineStep", "ComputeRootStep", "CacheReadStep", "CacheWriteStep",
           "RfactorStep", "follow_split_lengths", "follow_fused_split_length", "apply_steps", "infer_bound",
           "python_code_of", "fill_lengths", "as_state", "steps_to_json", "steps_from_json", "consumers",
           "elementwise_match", "is_tiled", "instantiate"]
