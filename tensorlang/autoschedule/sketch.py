"""Sketches: schedule structures derived by rules from a computation's DAG, and their application.

A sketch assigns every computed stage a *plan*: how it is scheduled, with the tile sizes and
annotations left open as named *slots*.  Rules (consumers first, as in Ansor):

* CPU: non-output injective stages are inlined (elementwise and padding alike); a reduction
  with data reuse is tiled on several levels, spatial axes in four levels and reduction axes in
  two (SSRSRS), the innermost spatial level (the register tile) need not divide the extent (the
  last tile is guarded); a weight-like input of it (read along the innermost output axis,
  reused across another) may first be packed into panels as wide as the tile (``ptile``, a
  ``te``-level rewrite, ``layout.py``): its accumulator tile lives in a ``cache_write`` local stage, or, when its only
  consumer is an elementwise output reading it point by point, inside that consumer (fusion);
  a reduction (an output, or fused so into its elementwise output) whose weight-like input is
  read along another output axis instead (a convolution's filters along its output channels),
  and none along its innermost axis (or only an image, whose panels would be one row wide: a
  1x1 convolution's input), may instead compute that axis in the vector lanes
  (``lanes``, a ``te``-level rewrite, ``layout.py``): the weight packed with a block of that
  axis innermost, a register tile of columns x lanes accumulating each broadcast value of the
  other inputs, the result unpacked to the original layout (by the fused output, when there is
  one) row by row inside the parallel loop (or as a pass of its own); the
  injective stages feeding it are then computed once at the root (``root``: a padding copy
  instead of bounds checks on every broadcast);
  a reduction with a small spatial extent may instead be ``rfactor``-ed; a reduction without
  reuse (softmax, norms) is ``rfactor``-ed into vector lanes or kept simple, and is computed
  inside the rows of the output it feeds when there is one; an elementwise stage that calls
  math functions and feeds several stages may instead be computed once per such row (not
  inlined, which would evaluate it once per consumer); injective outputs are fused, parallel
  and vectorized.
* Both: a ``te.extern`` or hybrid-script stage, and a ``te.scan`` with the stages of its body,
  keep the schedule ``create_schedule`` gives them (plan ``outer``): outside code has no loops
  to split or inline, a scan's time loop is serial; a stage an extern reads is computed, not
  inlined.  An extern whose code binds no GPU thread, and a scan, cannot be scheduled for a GPU
  (SketchError naming the stage), nor can an axis of extent 0 or a read of a placeholder the
  computation does not return.
* GPU: reductions with reuse get block / virtual-thread / thread / inner tiling with a local
  accumulator and their inputs staged in shared memory by the block's threads (but one read at
  two index patterns, whose two tiles have no constant-size union); everything else
  runs one point per thread.  A 0-d output runs in one block, on the extent-1 axis that fusing
  no axes gives (TVM's sketches bind it so), one thread or a cross-thread reduction.

A custom sketch rule (``PreloadCustomSketchRule``) makes ``CustomSketch``es instead: the steps
of a loop state (``loop_state.py``), their undefined split lengths left to the search.

A sketch is applied with public schedule primitives only (``split``, ``fuse``, ``reorder``,
``compute_at``, ``compute_inline``, ``cache_read``, ``cache_write``, ``rfactor``, ``parallel``,
``vectorize``, ``unroll``, ``bind``, ``pragma``), so the result is an ordinary schedule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..autotune.space import InstantiationError
from ..ir.stmt import For, ForKind
from ..schedule.schedule import Schedule, Stage, create_schedule, reduction_range_axes
from ..te import expr as E
from ..te import thread_axis
from ..te.extern import ExternOp
from ..te.functor import post_order_visit
from ..te.scan import ScanOp
from ..te.tensor import IterVar, PlaceholderOp
from .dag import ComputeDAG, SketchError, StageInfo, is_padding, tensor_reads, vars_of
from .hardware import HardwareModel
from .layout import lane_blocks, lane_read, lanes_rewrite, pack_input, packable_read
from .loop_state import LoopStateError, SplitStep, apply_steps, steps_from_json
from .loop_state import instantiate as loop_instantiate

# Plans a stage can get.
INLINE, TILE, RFACTOR, SIMPLE, FLAT, ROWS, OUTER = "inline", "tile", "rfactor", "simple", "flat", "rows", "outer"
# A multi-level tile whose weight-like input is first packed into contiguous panels (layout.py).
PTILE = "ptile"
# Loop orders of a packed tile's second level: output axes in order, or the panel axis outermost
# (one packed panel stays in cache while the row blocks stream past it).
TILE_ORDERS = ("rows", "panel")
# A reduction output computed with a weight-like axis in the vector lanes (layout.py), and an
# injective stage computed once at the root, parallel and vectorized.
LANES, ROOT = "lanes", "root"
# The lanes sketch's reduction order: the blocked reduction axis outermost ("outer") or inside
# the other reduction axes ("window"); its lane-block axis innermost in the parallel loop
# ("inner": every block of weights passes over a row while the row's inputs are in cache) or
# in its place ("outer"); and where the result is unpacked: per row of the parallel loop, from
# L1 ("row"), or as a pass of its own ("pass").
LANE_ORDERS = ("outer", "window")
LANE_BLOCK_PLACES = ("inner", "outer")
LANE_UNPACK = ("row", "pass")
# Widest register tile (columns) of the lanes sketch.
MAX_LANE_COLUMNS = 32
AT = "at"
GTILE, GFLAT = "gtile", "gflat"
# GPU reductions without reuse and long rows (softmax's max and sum, a norm's mean, a row sum):
# a block per output element, its threads strided along the reduction and combined by a
# cross-thread all-reduce ("gcross"); computed inside the rows of an injective output whose
# leading axes are its own ("gcross@out"), which then runs a block per row ("grows").
GCROSS, GROWS = "gcross", "grows"
GPU_ROW_THREADS = (32, 64, 128, 256, 512, 1024)
# Largest vectorized inner loop and largest explicitly unrolled one: beyond them code size grows
# with no gain, and compile time with it.
MAX_VECTOR = 128
MAX_UNROLL = 32
# Most independent accumulators an rfactor-ed reduction keeps in its inner loop.
MAX_ACCUMULATORS = 8
# Rows ahead that the loads of a row's heaviest loop prefetch (pragma prefetch): while one row
# computes in cache, the next arrives from memory.
PREFETCH_ROWS = (0, 1)
# Whether a prefetching row loop is software-pipelined (pragma pipeline_rows): each row's output
# pass runs fused with the next row's prefetching loop, and the prefetch reaches two rows ahead.
PIPELINE_ROWS = (0, 1)
# Unroll budgets (auto_unroll_max_step) the search may pick.
CPU_UNROLL = (0, 16, 64, 512)
GPU_UNROLL = (0, 64, 512, 1500)
_MAX_SKETCHES = 8


# --- slots: the open decisions of a sketch -----------------------------------------------------------

@dataclass(frozen=True)
class SplitSlot:
    """Split ``extent`` into ``parts`` factors (outermost first) whose product is ``extent``; the
    innermost factor at most ``max_last`` (0: any), since it becomes vector lanes or unrolled code."""

    name: str
    extent: int
    parts: int
    max_last: int = 0
    # Innermost factors allowed although they do not divide the extent (register tiles such as
    # 5 x 64 or 8 x 48 of a 1024 x 1024 output): the outer factors then multiply to
    # ceil(extent / innermost) and the last tile is guarded.
    lasts: tuple[int, ...] = ()

    def exact(self, value: Sequence[int]) -> bool:
        return math.prod(value) == self.extent

    def check(self, value: Any) -> list[int]:
        if (not isinstance(value, (list, tuple)) or len(value) != self.parts
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
                or not (self.exact(value) or (value[-1] in self.lasts
                                              and math.prod(value[:-1]) == -(-self.extent // value[-1])))):
            allowed = f"; or innermost one of {list(self.lasts)} and the others ceil(extent / it)" if self.lasts else ""
            raise InstantiationError(f"decision {self.name}: expected {self.parts} positive ints whose product "
                                     f"is {self.extent}{allowed}, got {value!r}")
        if self.max_last and value[-1] > self.max_last:
            raise InstantiationError(f"decision {self.name}: innermost factor {value[-1]} is above "
                                     f"{self.max_last}")
        return list(value)


@dataclass(frozen=True)
class ChoiceSlot:
    """One of ``choices``; a record without this decision (written before the slot existed)
    replays with ``default`` when there is one."""

    name: str
    choices: tuple
    default: Any = None

    def check(self, value: Any) -> Any:
        if value not in self.choices:
            raise InstantiationError(f"decision {self.name}: {value!r} is not one of {list(self.choices)}")
        return value


Slot = SplitSlot | ChoiceSlot


@dataclass(frozen=True)
class Sketch:
    """A plan per stage key; ``name`` is its stable text form ("C=tile;Xpad=inline")."""

    plans: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return ";".join(f"{k}={p}" for k, p in self.plans)

    @staticmethod
    def parse(text: str) -> Sketch:
        if text.startswith(CUSTOM_PREFIX):
            rule, _, steps = text[len(CUSTOM_PREFIX):].partition(":")
            return CustomSketch((), rule, steps)
        plans = []
        for part in text.split(";"):
            key, eq, plan = part.rpartition("=")
            if not eq or not key:
                raise InstantiationError(f"bad sketch text {text!r}: expected key=plan;...")
            plans.append((key, plan))
        return Sketch(tuple(plans))

    def plan_of(self, key: str) -> str:
        return dict(self.plans).get(key, "")


CUSTOM_PREFIX = "custom:"
# Every plan kind a stage can get (``_Applier`` has a method of each name but outer and inline).
PLAN_KINDS = frozenset({INLINE, TILE, RFACTOR, SIMPLE, FLAT, ROWS, OUTER, PTILE, LANES, ROOT, AT,
                        GTILE, GFLAT, GCROSS, GROWS})


@dataclass(frozen=True)
class CustomSketch(Sketch):
    """A sketch a custom sketch rule made (``PreloadCustomSketchRule``, ``custom_rules.py``): the
    steps of a loop state (``loop_state.steps_to_json``), whose undefined split lengths are its
    slots (``custom.s<step>``: the split's parts, outermost first), and on a CPU whether its root
    stages are parallelized and its innermost loops vectorized (``custom.parallel``,
    ``custom.vectorize``).  Its name holds all of it, so a record of it replays without the rule."""

    rule: str = ""
    steps: str = "[]"

    @property
    def name(self) -> str:
        return f"{CUSTOM_PREFIX}{self.rule}:{self.steps}"


def _custom_slots(sketch: CustomSketch, hw: HardwareModel) -> list[Slot]:
    slots: list[Slot] = []
    for k, step in enumerate(steps_from_json(sketch.steps)):
        if isinstance(step, SplitStep) and any(v is None for v in step.lengths):
            slots.append(SplitSlot(f"custom.s{k}", step.extent or 1, len(step.lengths) + 1))
    if hw.kind != "cuda":
        slots += [ChoiceSlot("custom.parallel", (1, 0)), ChoiceSlot("custom.vectorize", (1, 0))]
    return slots


def _apply_custom(dag: ComputeDAG, sketch: CustomSketch, decisions: Mapping[str, Any], hw: HardwareModel
                  ) -> tuple[Schedule, list]:
    slots = _custom_slots(sketch, hw)
    missing = [sl.name for sl in slots if sl.name not in decisions]
    if missing:
        raise InstantiationError(f"custom sketch {sketch.rule}: no decision for {', '.join(missing)}")
    d = {sl.name: sl.check(decisions[sl.name]) for sl in slots}
    try:
        return apply_steps(dag, custom_state(dag, sketch, d))
    except LoopStateError as exc:
        raise InstantiationError(f"custom sketch {sketch.rule}: {exc}") from None


def custom_state(dag: ComputeDAG, sketch: CustomSketch, decisions: Mapping[str, Any]) -> Any:
    """The loop state a custom sketch's steps make with ``decisions`` (its open split lengths
    and whether to add the default parallel/vectorize marks); LoopStateError if they do not fit."""
    lengths = {int(name.removeprefix("custom.s")): v for name, v in decisions.items() if name.startswith("custom.s")}
    return loop_instantiate(dag, steps_from_json(sketch.steps), lengths, bool(decisions.get("custom.parallel")),
                            bool(decisions.get("custom.vectorize")))


def _kind(plan: str) -> tuple[str, str]:
    """(kind, target): "tile>D" -> ("tile", "D") fused into D; "rfactor@O" -> ("rfactor", "O")."""
    for sep in (">", "@"):
        if sep in plan:
            kind, _, other = plan.partition(sep)
            return kind, other
    return plan, ""


# --- rules ------------------------------------------------------------------------------------------

def _descendant_outputs(dag: ComputeDAG, info: StageInfo) -> list[StageInfo]:
    seen, stack, outs = set(), list(info.consumers), []
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        st = dag[key]
        if st.is_output:
            outs.append(st)
        stack.extend(st.consumers)
    return outs


def opaque_stages(dag: ComputeDAG, hw: HardwareModel) -> dict[str, str]:
    """Stages the rules leave as ``create_schedule`` makes them (plan ``outer``), each with why:
    a ``te.extern`` (or hybrid) stage, whose code has no loops a schedule can split, fuse or
    inline; a ``te.scan``, whose time loop is serial, and the stages of its body (its init, its
    update and those between its state and its update), which share its storage and which
    ``create_schedule`` computes inside its time loop.  On a GPU a scan's body would need its
    axes bound to threads inside the time loop, which no rule does: SketchError."""
    out: dict[str, str] = {}
    for info in dag.stages:
        op = info.op
        if isinstance(op, ExternOp):
            if hw.kind == "cuda" and not _binds_threads(op.extern_body):
                raise SketchError(f"stage {info.key} is a te.extern (or hybrid) stage whose code binds no GPU "
                                  "thread (no blockIdx/threadIdx loop): it cannot run on a GPU, and the "
                                  "auto-scheduler does not rewrite outside code; bind its loops in the code "
                                  "(ir_builder scope_attr thread_extent), or tune it for 'llvm'")
            if hw.kind != "cuda" and _binds_threads(op.extern_body):
                raise SketchError(f"stage {info.key} is a te.extern (or hybrid) stage whose code binds GPU threads: "
                                  "it cannot run on a CPU target; tune it for 'cuda'")
            out[info.key] = "a te.extern stage"
        elif isinstance(op, ScanOp):
            if hw.kind == "cuda":
                raise SketchError(f"stage {info.key} is a te.scan: the auto-scheduler does not schedule a scan on a "
                                  "GPU (its init and update stages need their axes bound to threads inside the "
                                  "serial time loop); schedule it by hand, or tune it for 'llvm'")
            out[info.key] = "a te.scan"
            for key in _scan_body(dag, op):
                out[key] = f"in the body of te.scan {info.key}"
    return out


def _binds_threads(body: Any) -> bool:
    """Whether an extern stage's statement has a loop bound to a GPU thread."""
    found: list[Any] = []
    post_order_visit(body, lambda n: found.append(n) if isinstance(n, For) and n.kind is ForKind.THREAD_BINDING
                     else None)
    return bool(found)


def _scan_body(dag: ComputeDAG, op: ScanOp) -> list[str]:
    """The keys of ``op``'s init and update stages and of every stage between its state (or a
    declared input) and its update (what ``create_schedule`` attaches to its time loop)."""
    keys: list[str] = [dag.by_op[id(t.op)].key for t in op.init if id(t.op) in dag.by_op]
    keys += [dag.by_op[id(o)].key for o in op.body_ops() if id(o) in dag.by_op]
    return keys


def check_schedulable(dag: ComputeDAG) -> None:
    """SketchError, naming the stage, for a computation no sketch can schedule: an axis of
    extent 0 (every split of it is refused, and the prior divides by it), or an input the
    stages read that is not among the computation's tensors (every candidate would fail to
    lower: the built function has no argument for it)."""
    for info in dag.stages:
        for what, axes, extents in (("axis", info.op.axis, info.spatial), ("reduce axis", info.op.reduce_axis,
                                                                         info.reduce)):
            for iv, n in zip(axes, extents):
                if n < 1:
                    raise SketchError(f"stage {info.key}, {what} {iv.var.name}, has extent {n}: the auto-scheduler "
                                      "needs every axis at least 1 long (an empty tensor or reduction has nothing "
                                      "to tune; build it with te.create_schedule)")
    given = {id(t.op) for t in dag.tensors}
    states = {id(t.op) for info in dag.stages if isinstance(info.op, ScanOp) for t in info.op.state_placeholder}
    for info in dag.stages:
        for t in info.op.input_tensors:
            if isinstance(t.op, PlaceholderOp) and id(t.op) not in given | states:
                raise SketchError(f"stage {info.key} reads the placeholder {t.name}, which the computation does not "
                                  "return: return every input tensor with the outputs (they are the built "
                                  "function's arguments)")


def generate_sketches(dag: ComputeDAG, hw: HardwareModel) -> list[Sketch]:
    """The sketches of ``dag`` for the target ``hw`` describes (at least one)."""
    check_schedulable(dag)
    plans: list[dict[str, str]] = [{}]
    gpu = hw.kind == "cuda"
    opaque = opaque_stages(dag, hw)
    for info in reversed(dag.stages):
        grown: list[dict[str, str]] = []
        for plan in plans:
            if info.key in opaque:
                grown.append({**plan, info.key: OUTER})
                continue
            if not info.is_reduction and any(isinstance(dag[c].op, ExternOp) for c in info.consumers):
                # An extern stage reads its inputs' buffers: they must be computed, not inlined.
                grown.append({**plan, info.key: plan.get(info.key) or (GFLAT if gpu else FLAT)})
                continue
            for option in (_gpu_options(dag, info, plan, hw) if gpu else _cpu_options(dag, info, plan, hw)):
                grown.append(option)
        plans = grown[:_MAX_SKETCHES]
    order = [s.key for s in dag.stages]
    return [Sketch(tuple((k, p[k]) for k in order)) for p in plans]


def _cpu_options(dag: ComputeDAG, info: StageInfo, plan: dict[str, str], hw: HardwareModel) -> list[dict[str, str]]:
    key = info.key
    single = info.op.num_outputs == 1
    if not info.is_reduction:
        if info.is_output:
            return [{**plan, key: plan.get(key, FLAT)}]
        if _feeds_lanes(dag, info, plan):
            # Computed once, not once per broadcast of the register tile.  A padding stage
            # inlined instead is a finishing variant (finishing_variants): tried on the
            # leaders only, as it doubles the build.
            return [{**plan, key: ROOT}]
        options = [{**plan, key: INLINE}]
        anchor = _anchor(dag, info, plan)
        if anchor and len(info.consumers) > 1 and calls_math(info) and _read_inside(dag, info, plan, anchor):
            options.append({**plan, key: f"{AT}@{anchor}", anchor: ROWS})
        return options
    out: list[dict[str, str]] = []
    if info.has_reuse and single:
        consumer = dag[info.consumers[0]] if len(info.consumers) == 1 else None
        fused = (consumer is not None and consumer.is_output and not info.is_output
                 and plan.get(consumer.key) == FLAT and dag.reads_elementwise(consumer, info))
        if ((info.is_output or fused) and hw.kind == "llvm" and _lanes_fit(info.op)
                and lane_blocks(info.op, hw.lanes(info.dtype_bits))):
            out.append({**plan, key: f"{LANES}>{consumer.key}", consumer.key: OUTER} if fused else {**plan, key: LANES})
        for kind in ([PTILE] if packable_read(info.op) is not None else []) + [TILE]:
            if fused:
                out.append({**plan, key: f"{kind}>{consumer.key}", consumer.key: OUTER})
            else:
                out.append({**plan, key: kind})
        small = info.points < 4 * hw.threads * hw.lanes(info.dtype_bits)
        if small and math.prod(info.reduce) >= 4 * hw.lanes(info.dtype_bits):
            out.append({**plan, key: RFACTOR})
        return out
    anchor = _anchor(dag, info, plan)
    if anchor and not _read_inside(dag, info, plan, anchor):
        anchor = ""
    kinds = [RFACTOR, SIMPLE] if single and math.prod(info.reduce) >= 2 * hw.lanes(info.dtype_bits) else [SIMPLE]
    for kind in kinds:
        new = {**plan, key: f"{kind}@{anchor}" if anchor else kind}
        if anchor:
            new[anchor] = ROWS
        out.append(new)
    return out


def finishing_variants(dag: ComputeDAG, sketch: Sketch) -> list[Sketch]:
    """Sketches worth measuring with a leader's decisions at the end of a search, but too slow
    to build for the search itself: a padding stage computed as a pass before a ``lanes``
    stage, inlined instead.  Loop partitioning then leaves the kernel's interior reading the
    input itself and its border tiles and window rows reading constant zeros (no select), which
    saves the padded copy: a 3x3 conv2d 1x64x56x56 ran 1.4% faster on 1 thread and 2.7% on 2
    with the same decisions, but nine copies of the kernel (three column ranges x three window
    rows) doubled its build, and searching with it took 64 trials 79 s instead of 44."""
    plans = dict(sketch.plans)
    out = []
    for key, plan in sketch.plans:
        if plan == ROOT and key in dag.by_key and is_padding(dag[key].op) and _feeds_lanes(dag, dag[key], plans):
            out.append(Sketch(tuple((k, INLINE if k == key else p) for k, p in sketch.plans)))
    return out


def _lanes_fit(op: Any) -> bool:
    """Whether the lanes sketch suits reduction ``op``: no input packs into panels along its
    innermost axis (a convolution's image is read along a sliding window), or the one that
    does is an image, indexed by output axes the lane input does not use besides the innermost
    (a 1x1 convolution's input: its panels would be one image row wide).  A matmul's B, indexed
    by the innermost axis alone, keeps its panels."""
    panel = packable_read(op)
    if panel is None:
        return True
    lane = lane_read(op)
    if lane is None:
        return False
    own = {v for i in panel.indices for v in vars_of(i)} - {v for i in lane.indices for v in vars_of(i)}
    return len(own & {iv.var for iv in op.axis}) >= 2


def _feeds_lanes(dag: ComputeDAG, info: StageInfo, plan: dict[str, str]) -> bool:
    """Whether ``info`` is read by a ``lanes`` stage other than as its packed weight."""
    for key in info.consumers:
        if _kind(plan.get(key, ""))[0] == LANES:
            read = lane_read(dag[key].op)
            if read is None or read.tensor.op is not info.op:
                return True
    return False


def _anchor(dag: ComputeDAG, info: StageInfo, plan: dict[str, str], row_plans: tuple[str, ...] = (FLAT, ROWS)
            ) -> str:
    """The output whose rows ``info`` can be computed in: the only output it feeds, an injective
    one whose leading axes are ``info``'s own (so one row of it needs one row of ``info``) and
    whose plan is one of ``row_plans``."""
    if info.is_output:
        return ""
    outs = _descendant_outputs(dag, info)
    if len(outs) != 1 or outs[0].is_reduction or plan.get(outs[0].key) not in row_plans:
        return ""
    out = outs[0]
    if info.is_reduction:
        ok = out.spatial[:len(info.spatial)] == info.spatial and len(out.spatial) > len(info.spatial)
    else:
        ok = out.spatial == info.spatial and len(info.spatial) > 1
    return out.key if ok else ""


def calls_math(info: StageInfo) -> bool:
    found = []

    def fn(node: Any) -> None:
        if isinstance(node, E.Call):
            found.append(node)
    for b in info.op.body:
        post_order_visit(b, fn)
    return bool(found)


def _gpu_options(dag: ComputeDAG, info: StageInfo, plan: dict[str, str], hw: HardwareModel
                 ) -> list[dict[str, str]]:
    key = info.key
    if not info.is_reduction:
        return [{**plan, key: plan.get(key, GFLAT) if info.is_output else INLINE}]
    if info.has_reuse and info.op.num_outputs == 1:
        return [{**plan, key: GTILE}]
    out = [{**plan, key: GFLAT}]
    if info.op.num_outputs == 1 and not info.dynamic_reduce and math.prod(info.reduce) >= hw.warp_size:
        anchor = _anchor(dag, info, plan, (GFLAT, GROWS)) if info.spatial else ""
        if anchor and not _read_inside(dag, info, plan, anchor):
            anchor = ""
        cross = {**plan, key: f"{GCROSS}@{anchor}" if anchor else GCROSS}
        if anchor:
            cross[anchor] = GROWS
        out.insert(0, cross)
    return out


def _read_inside(dag: ComputeDAG, info: StageInfo, plan: Mapping[str, str], anchor: str) -> bool:
    """Whether every reader of ``info`` (through inlined stages) runs inside ``anchor``'s rows:
    the anchor itself or a stage computed there; one at the root could not read a value
    computed per row (softmax over the outer axis: its sum, whose rows are not the output's,
    reads the exponentials at the root)."""
    for key in info.consumers:
        p = plan.get(key, "")
        kind, other = _kind(p)
        if key == anchor or (other == anchor and kind in (GCROSS, RFACTOR, SIMPLE, AT)):
            continue
        if p != INLINE or not _read_inside(dag, dag[key], plan, anchor):
            return False
    return True


def _row_axes(dag: ComputeDAG, sketch_plans: Mapping[str, str], anchor: str) -> int:
    """How many leading axes of ``grows`` output ``anchor`` make its rows: those of the
    reductions computed in it (the fewest, if they differ)."""
    return min(len(dag[k].spatial) for k, p in sketch_plans.items() if _kind(p) == (GCROSS, anchor))


def _row_threads(hw: HardwareModel) -> tuple[int, ...]:
    return tuple(t for t in GPU_ROW_THREADS if t <= hw.max_threads_per_block)


def sketch_slots(dag: ComputeDAG, sketch: Sketch, hw: HardwareModel) -> list[Slot]:
    """The open decisions of ``sketch``, in a fixed order."""
    if isinstance(sketch, CustomSketch):
        return _custom_slots(sketch, hw)
    slots: list[Slot] = []
    for key, plan in sketch.plans:
        info = dag[key]
        kind, _ = _kind(plan)
        if kind in (TILE, PTILE, GTILE):
            last = len(info.spatial) - 1
            for i, n in enumerate(info.spatial):
                top = MAX_VECTOR // 2 if i == last else MAX_UNROLL
                lasts = () if kind == GTILE else register_tile_sizes(n, i == last, top, hw, info.dtype_bits)
                slots.append(SplitSlot(f"{key}.s{i}", n, 4, top, lasts))
            slots += [SplitSlot(f"{key}.r{i}", n, 2, 4 * MAX_UNROLL) for i, n in enumerate(info.reduce)]
            slots.append(ChoiceSlot(f"{key}.unroll", GPU_UNROLL if kind == GTILE else CPU_UNROLL))
            if kind == PTILE:
                slots.append(ChoiceSlot(f"{key}.order", TILE_ORDERS))
        elif kind == LANES:
            slots += lane_slots(info, hw)
        elif kind == RFACTOR:
            slots.append(SplitSlot(f"{key}.rf", math.prod(info.reduce), 3, MAX_VECTOR))
        elif kind == FLAT:
            slots.append(SplitSlot(f"{key}.flat", info.points, 2, MAX_VECTOR))
        elif kind == AT:
            slots.append(SplitSlot(f"{key}.vec", info.spatial[-1], 2, MAX_VECTOR))
        elif kind == ROWS:
            slots.append(SplitSlot(f"{key}.rows", info.spatial[0], 2))
            if len(info.spatial) > 1:
                slots.append(SplitSlot(f"{key}.vec", info.spatial[-1], 2, MAX_VECTOR))
                if hw.kind == "llvm":
                    slots.append(ChoiceSlot(f"{key}.prefetch", PREFETCH_ROWS, default=0))
                    if any(_kind(p) == (AT, key) for _, p in sketch.plans):
                        slots.append(ChoiceSlot(f"{key}.pipeline", PIPELINE_ROWS, default=0))
        elif kind == GFLAT:
            slots.append(SplitSlot(f"{key}.threads", info.points, 2, hw.max_threads_per_block))
        elif kind == GROWS or (kind == GCROSS and not _kind(plan)[1]):
            slots.append(ChoiceSlot(f"{key}.threads", _row_threads(hw)))
    return slots


def _lane_block(extent: int) -> int:
    """The vector width for a row of ``extent`` elements: all of it up to MAX_VECTOR, else the
    largest power of two up to 64 that divides it; 0 when none of at least 2 does."""
    if 2 <= extent <= MAX_VECTOR:
        return extent
    width = 64
    while width >= 2 and extent % width:
        width //= 2
    return width if width >= 2 else 0


def blocked_reduce_axis(info: StageInfo) -> int:
    """The reduction axis the lanes sketch splits into blocks: the longest (a convolution's
    input channels), the first of equals."""
    return max(range(len(info.reduce)), key=lambda i: (info.reduce[i], -i))


def lane_slots(info: StageInfo, hw: HardwareModel) -> list[Slot]:
    """The decisions of a ``lanes`` stage: the lane block ``bn`` (dividing the lane axis), the
    register tile's columns ``reg_n`` (of the innermost axis; a last partial tile is guarded),
    the split of the blocked reduction axis, the reduction order, whether the innermost
    reduction axis other than the blocked one is unrolled, where the lane-block axis goes in
    the parallel loop and where the result is unpacked."""
    key = info.key
    width = info.spatial[-1]
    r = blocked_reduce_axis(info)
    return [ChoiceSlot(f"{key}.bn", lane_blocks(info.op, hw.lanes(info.dtype_bits))),
            ChoiceSlot(f"{key}.reg_n", tuple(range(1, min(width, MAX_LANE_COLUMNS) + 1))),
            SplitSlot(f"{key}.r", info.reduce[r], 2, 4 * MAX_UNROLL),
            ChoiceSlot(f"{key}.order", LANE_ORDERS),
            ChoiceSlot(f"{key}.unroll", (1, 0)),
            ChoiceSlot(f"{key}.blocks", LANE_BLOCK_PLACES),
            ChoiceSlot(f"{key}.unpack", LANE_UNPACK)]


def register_tile_sizes(extent: int, vector_axis: bool, top: int, hw: HardwareModel,
                        dtype_bits: int = 32) -> tuple[int, ...]:
    """Innermost tile sizes of an output axis allowed without dividing ``extent``: whole vectors
    (1 to 4 of them) for the vectorized axis, 2 to 8 rows for the others (a register tile of
    rows x vectors accumulators)."""
    if hw.kind != "llvm":
        return ()
    lanes = hw.lanes(dtype_bits)
    sizes = range(lanes, top + 1, lanes) if vector_axis else range(2, min(top, 8) + 1)
    return tuple(v for v in sizes if v < extent and extent % v)


# --- application ------------------------------------------------------------------------------------

class _Applier:
    """Applies one sketch with its decisions to a fresh schedule of the DAG."""

    def __init__(self, dag: ComputeDAG, sketch: Sketch, decisions: Mapping[str, Any], hw: HardwareModel):
        self.dag, self.sketch, self.hw = dag, sketch, hw
        slots = {s.name: s for s in sketch_slots(dag, sketch, hw)}
        decisions = {**{n: sl.default for n, sl in slots.items()
                        if isinstance(sl, ChoiceSlot) and sl.default is not None}, **decisions}
        missing = [n for n in slots if n not in decisions]
        if missing:
            raise InstantiationError(f"sketch {sketch.name}: no decision for {', '.join(missing)}")
        self.d = {n: slot.check(decisions[n]) for n, slot in slots.items()}
        self.attach: dict[str, tuple[Stage, IterVar]] = {}
        # A grows output's thread axis and its extent, which the reductions in its rows share.
        self.row_thread: dict[str, tuple[IterVar, int]] = {}
        # Anchors whose rows prefetch the next row: the distance in elements (one row of them).
        self.prefetch: dict[str, int] = {}
        # Layout rewrites first (they replace operations), then the schedule of the result.
        self.ops = {info.key: info.op for info in dag.stages}
        self.packed: dict[str, Any] = {}
        self.lanes: dict[str, Any] = {}
        self.args = list(dag.tensors)
        for key, plan in sketch.plans:
            kind = _kind(plan)[0]
            if kind not in (PTILE, LANES) or key not in dag.by_key:
                continue
            if kind == PTILE:
                nr = math.prod(self.d[f"{key}.s{len(dag[key].spatial) - 1}"][2:])
                self.args, self.packed[key], tmap = pack_input(self.args, self.ops[key], nr)
            else:
                try:
                    self.args, self.lanes[key], tmap = lanes_rewrite(self.args, self.ops[key], self.d[f"{key}.bn"])
                except ValueError as exc:
                    raise InstantiationError(f"sketch {sketch.name}: {exc}") from None
            self.ops = {k: tmap[o.output(0)].op if o.output(0) in tmap else o for k, o in self.ops.items()}
        self.sch: Schedule = create_schedule([t.op for t in self.args if not isinstance(t.op, PlaceholderOp)])

    def tensor(self, key: str) -> Any:
        return self.ops[key].output(0)

    def stage(self, key: str) -> Stage:
        return self.sch[self.tensor(key)]

    def run(self) -> Schedule:
        plans = dict(self.sketch.plans)
        unknown = [k for k in plans if k not in self.dag.by_key]
        if unknown or set(plans) != set(self.dag.by_key):
            raise InstantiationError(f"sketch {self.sketch.name} does not match the computation's stages "
                                     f"({', '.join(self.dag.by_key)})")
        for key, plan in plans.items():
            kind, other = _kind(plan)
            # A plan no rule makes (a hand-edited log, a log of another tensorlang): named, not an
            # AttributeError from the dispatch below; a plan's anchor must be one of the stages.
            if kind not in PLAN_KINDS or (other and other not in self.dag.by_key):
                raise InstantiationError(f"sketch {self.sketch.name}: stage {key} has the plan {plan!r}, "
                                         f"not one of {', '.join(sorted(PLAN_KINDS))} (with a known stage after "
                                         "'>' or '@')")
            if plan == INLINE:
                self.stage(key).compute_inline()
        for info in reversed(self.dag.stages):  # consumers first: anchors exist before attaching
            kind, other = _kind(plans[info.key])
            if kind in (INLINE, OUTER):
                continue
            getattr(self, f"_{kind}")(info, other)
        return self.sch

    # -- CPU ------------------------------------------------------------------------------------
    def _split_levels(self, st: Stage, axes: Sequence[IterVar], sizes: Sequence[Sequence[int]]
                      ) -> list[list[IterVar]]:
        """Split each axis into len(size) levels; the levels grouped outermost first."""
        n_levels = len(sizes[0]) if sizes else 0
        groups: list[list[IterVar]] = [[] for _ in range(n_levels)]
        for ax, size in zip(axes, sizes):
            parts = []
            rest = ax
            for factor in reversed(size[1:]):
                rest, inner = st.split(rest, factor=factor)
                parts.append(inner)
            parts.append(rest)
            for lvl, iv in enumerate(reversed(parts)):
                groups[lvl].append(iv)
        return groups

    def _fuse(self, st: Stage, axes: Sequence[IterVar]) -> IterVar | None:
        return st.fuse(*axes) if len(axes) > 1 else (axes[0] if axes else None)

    def _ptile(self, info: StageInfo, into: str) -> None:
        self._tile(info, into, self.d[f"{info.key}.order"] == "panel")
        pst = self.sch[self.packed[info.key]]
        *lead, ji = pst.op.axis
        # Panels (and any batch axes before them) in parallel, each panel row one vector store.
        pst.parallel(self._fuse(pst, lead[:-1]) if len(lead) > 1 else lead[0])
        pst.vectorize(ji)

    def _tile(self, info: StageInfo, into: str, panel_first: bool = False) -> None:
        key = info.key
        t = self.tensor(key)
        if into:
            outer = self.stage(into)
            inner_tensor = t
        else:
            inner_tensor = self.sch.cache_write(t, "local")
            outer = self.sch[t]
        sp = [self.d[f"{key}.s{i}"] for i in range(len(info.spatial))]
        rd = [self.d[f"{key}.r{i}"] for i in range(len(info.reduce))]
        # The outer stage: levels 0 and 1 of every spatial axis, then the tile (levels 2 x 3).
        merged = [[s[0], s[1], s[2] * s[3]] for s in sp]
        g0, g1, g2 = self._split_levels(outer, list(outer.op.axis), merged)
        if panel_first:
            g1 = [g1[-1], *g1[:-1]]
        outer.reorder(*g0, *g1, *g2)
        fused = self._fuse(outer, g0)
        if fused is not None and math.prod(s[0] for s in sp) > 1:
            outer.parallel(fused)
        if g2 and merged[-1][2] > 1:
            outer.vectorize(g2[-1])
        at = g1[-1] if g1 else fused
        inner = self.sch[inner_tensor]
        inner.compute_at(outer, at)
        s2, s3 = self._split_levels(inner, list(inner.op.axis), [[s[2], s[3]] for s in sp])
        r0, r1 = self._split_levels(inner, list(inner.op.reduce_axis), rd)
        inner.reorder(*r0, *s2, *r1, *s3)
        for iv, s in zip(s3[:-1], sp[:-1]):
            if s[3] > 1:
                inner.unroll(iv)
        if s3 and sp[-1][3] > 1:
            inner.vectorize(s3[-1])
        step = self.d[f"{key}.unroll"]
        if step and r1:
            inner.pragma(r1[0], "auto_unroll_max_step", step)

    def _lanes(self, info: StageInfo, into: str) -> None:
        """The lanes layout (layout.lanes_rewrite) scheduled as examples/conv2d.py's
        conv2d_nchwc: the packed weight and the unpacking as parallel passes (the unpacking in
        register transposes), the reduction per row of the unpacking's parallel loop (or as a
        pass) in a register tile of ``reg_n`` columns x ``bn`` lanes.  Fused ``into`` an
        elementwise output, that output unpacks (the unpacking stage inlined into it)."""
        key = info.key
        st = self.lanes[key]
        bn, reg_n = self.d[f"{key}.bn"], self.d[f"{key}.reg_n"]
        lanes = self.hw.lanes(info.dtype_bits)
        blocks_inner = self.d[f"{key}.blocks"] == "inner"
        self._pack_lanes(st.packed, st.block_dim, bn, lanes)
        # The unpacking: (the lane-block axis and all but the innermost axis) in parallel, then
        # lanes x columns, transposed in tiles of v x v.
        un = self.sch[st.unpacked]
        if into:
            un.compute_inline()
            un = self.stage(into)
        axes = list(un.op.axis)
        a = st.axis
        blk, ln = un.split(axes[a], factor=bn)
        rest = [ax for i, ax in enumerate(axes[:-1]) if i != a]
        outer = [*rest, blk] if blocks_inner else [*rest[:a], blk, *rest[a:]]
        un.reorder(*outer, ln, axes[-1])
        row = self._fuse(un, outer)
        un.parallel(row)
        v = _transpose_width(bn, lanes)
        if v is None:
            un.vectorize(axes[-1])
        else:
            lo, li = un.split(ln, factor=v)
            xo, xi = un.split(axes[-1], factor=v)
            un.reorder(row, xo, lo, li, xi)
            un.unroll(li)
            un.vectorize(xi)
        # The reduction: a register tile of reg_n columns x bn lanes in a local stage.
        lt = st.lanes
        local = self.sch.cache_write(lt, "local")
        ls = self.sch[lt]
        *lead, col, lane = ls.op.axis
        co, ci = ls.split(col, factor=reg_n)
        if self.d[f"{key}.unpack"] == "row":
            ls.reorder(*lead, co, ci, lane)
            ls.compute_at(un, row)
        else:
            rest = [ax for i, ax in enumerate(lead) if i != a]
            outer = [*rest, lead[a]] if blocks_inner else lead
            ls.reorder(*outer, co, ci, lane)
            ls.parallel(self._fuse(ls, outer))
        ls.vectorize(lane)
        lo = self.sch[local]
        lo.compute_at(ls, co)
        *_, lcol, llane = lo.op.axis
        raxes = list(lo.op.reduce_axis)
        r = blocked_reduce_axis(info)
        ro, ri = lo.split(raxes[r], factor=self.d[f"{key}.r"][1])
        others = [ax for i, ax in enumerate(raxes) if i != r]
        order = [ro, *others, ri] if self.d[f"{key}.order"] == "outer" else [*others, ro, ri]
        lo.reorder(*order, lcol, llane)
        lo.unroll(lcol)
        lo.vectorize(llane)
        if self.d[f"{key}.unroll"] and others:
            lo.unroll(others[-1])

    def _pack_lanes(self, packed: Any, block_dim: int, bn: int, lanes: int) -> None:
        """The packed weight (..., blocks, rest..., bn): the blocks in parallel, and (when the
        source has dimensions after the block's) runs of consecutive source elements (a whole
        number of v x v blocks where possible, at most 256) unrolled in front of the vectorized
        lanes, so consecutive stores read consecutive addresses, which the LLVM code generator
        turns into register transposes."""
        pk = self.sch[packed]
        *outer, lane = pk.op.axis
        head, after = outer[:block_dim + 1], outer[block_dim + 1:]
        v = _transpose_width(bn, lanes)
        if not after or v is None:
            pk.parallel(self._fuse(pk, outer))
            pk.vectorize(lane)
            return
        run = math.prod(int(ax.dom.extent.value) for ax in after[1:])
        first = int(after[0].dom.extent.value)
        divisors = [d for d in range(1, first + 1) if first % d == 0]
        # The shortest run that is whole v x v transposes, else the longest of at most 256.
        cu = next((d for d in divisors if d * run % v == 0 and d * run <= 256),
                  max(d for d in divisors if d * run <= 256 or d == 1))
        fo, fi = pk.split(after[0], factor=cu)
        lo, li = pk.split(lane, factor=v)
        pk.reorder(*head, fo, lo, fi, *after[1:], li)
        pk.parallel(self._fuse(pk, [*head, fo]))
        for ax in (fi, *after[1:]):
            pk.unroll(ax)
        pk.vectorize(li)

    def _root(self, info: StageInfo, _: str) -> None:
        st = self.stage(info.key)
        *lead, last = st.op.axis
        if lead:
            st.parallel(self._fuse(st, lead))
        lanes = self.hw.lanes(info.dtype_bits)
        if info.spatial[-1] > 1:
            _, inner = st.split(last, factor=min(lanes, info.spatial[-1]))
            st.vectorize(inner)

    def _rfactor(self, info: StageInfo, anchor: str) -> None:
        key = info.key
        t = self.tensor(key)
        st = self.sch[t]
        ko_n, kio_n, kii_n = self.d[f"{key}.rf"]
        k = self._fuse(st, list(st.op.reduce_axis))
        _, ki = st.split(k, factor=kio_n * kii_n)
        rf = self.sch.rfactor(t, ki, factor_axis=len(info.spatial))
        rst = self.sch[rf]
        *spatial, kf = rst.op.axis
        kio, kii = rst.split(kf, factor=kii_n)
        if anchor and 1 < kio_n <= MAX_ACCUMULATORS:
            # Inside a row of its consumer: kio independent vector accumulators updated in turn
            # in the reduction loop, each add (or max) waiting for its own chain only.  (At the
            # root, kio stays outside, where the parallel loop spreads it over threads.)
            rst.reorder(*spatial, *rst.op.reduce_axis, kio, kii)
            rst.unroll(kio)
        else:
            rst.reorder(*spatial, kio, *rst.op.reduce_axis, kii)
        if kii_n > 1:
            rst.vectorize(kii)
        if anchor:
            where = self.attach[anchor]
            rst.compute_at(*where)
            if 1 < kio_n <= MAX_ACCUMULATORS and kii_n > 1:
                # The kio accumulators fold into one vector first (kio vector ops), so the serial
                # chain left per row is kii scalars instead of kio * kii (a third less time for
                # softmax's max and sum on one core).
                _, k2 = st.split(st.op.reduce_axis[0], factor=kii_n)
                tree = self.sch[self.sch.rfactor(t, k2, factor_axis=len(info.spatial))]
                tree.vectorize(tree.op.axis[-1])
                tree.compute_at(*where)
            st.compute_at(*where)
            return
        par = self._fuse(rst, [*spatial, kio])
        if par is not None and info.points * kio_n > 1:
            rst.parallel(par)
        self._root_parallel(st, info)

    def _root_parallel(self, st: Stage, info: StageInfo) -> None:
        fused = self._fuse(st, list(st.op.axis))
        if fused is not None and info.points > 1:
            st.parallel(fused)

    def _simple(self, info: StageInfo, anchor: str) -> None:
        st = self.stage(info.key)
        if anchor:
            st.compute_at(*self.attach[anchor])
        elif not (info.dynamic_reduce and self._vector_inside_reduction(st, info)):
            self._root_parallel(st, info)

    def _vector_inside_reduction(self, st: Stage, info: StageInfo) -> bool:
        """A reduction of data-dependent length (a sparse block row) with its last output axis
        (the rows of a block) moved inside it as vector lanes, accumulated in a local vector and
        the other axes fused in parallel; False, changing nothing, where the reduction's range
        depends on that axis."""
        *outer, last = st.op.axis
        lanes = _lane_block(info.spatial[-1])
        if not outer or lanes == 0 or any(last in uses for uses in reduction_range_axes(st.op).values()):
            return False
        t = self.tensor(info.key)
        acc = self.sch[self.sch.cache_write(t, "local")]
        out = self.sch[t]
        *outer, last = out.op.axis
        if lanes < info.spatial[-1]:  # a long row: blocks of lanes, each accumulated in turn
            block, last = out.split(last, factor=lanes)
            outer = [*outer, block]
        fused = self._fuse(out, outer)
        if math.prod(info.spatial) // lanes > 1:
            out.parallel(fused)
        out.vectorize(last)
        acc.compute_at(out, fused)
        *a_outer, a_last = acc.op.axis
        acc.reorder(*a_outer, *acc.op.reduce_axis, a_last)
        acc.vectorize(a_last)
        return True

    def _split_flat(self, info: StageInfo, knob: str, singleton: bool = False
                    ) -> tuple[Stage, int, IterVar, IterVar] | None:
        """(stage, factor, outer, inner): all of ``info``'s axes fused and split by decision ``knob``;
        for a stage without axes, None, or with ``singleton`` an axis of extent 1 split so."""
        st = self.stage(info.key)
        fused = self._fuse(st, list(st.op.axis))
        if fused is None:
            if not singleton:
                return None
            fused = st.fuse()  # fusing no axes makes one of extent 1 (TVM's singleton)
        _, factor = self.d[f"{info.key}.{knob}"]
        return (st, factor, *st.split(fused, factor=factor))

    def _flat(self, info: StageInfo, _: str) -> None:
        split = self._split_flat(info, "flat")
        if split is None:
            return
        st, v, fo, fi = split
        if info.points // v > 1:
            st.parallel(fo)
        if v > 1:
            st.vectorize(fi)

    def _at(self, info: StageInfo, anchor: str) -> None:
        st = self.stage(info.key)
        _, v = self.d[f"{info.key}.vec"]
        outer, inner = st.split(st.op.axis[-1], factor=v)
        if v > 1:
            st.vectorize(inner)
        if self.prefetch.get(anchor):
            # The expensive stage of the row (it calls math functions): its loads of the next row
            # overlap this row's arithmetic.
            st.pragma(st.op.axis[1] if len(st.op.axis) > 2 else outer, "prefetch", self.prefetch[anchor])
        st.compute_at(*self.attach[anchor])

    def _rows(self, info: StageInfo, _: str) -> None:
        st = self.stage(info.key)
        axes = list(st.op.axis)
        _, r = self.d[f"{info.key}.rows"]
        ro, ri = st.split(axes[0], factor=r)
        if info.spatial[0] // r > 1:
            st.parallel(ro)
        if len(axes) > 1:
            _, v = self.d[f"{info.key}.vec"]
            lo, li = st.split(axes[-1], factor=v)
            if v > 1:
                st.vectorize(li)
            if self.d.get(f"{info.key}.prefetch"):
                pipelined = bool(self.d.get(f"{info.key}.pipeline"))
                # Pipelined, a row's prefetching loop also stores the previous row's output, and
                # the next row's max pass follows at once: ask for the row after next.
                self.prefetch[info.key] = math.prod(info.spatial[1:]) * (2 if pipelined else 1)
                if pipelined:
                    st.pragma(ri, "pipeline_rows")
                if not any(_kind(p) == (AT, info.key) for _, p in self.sketch.plans):
                    # No stage of its own computes the row's expensive part: this loop does.
                    st.pragma(axes[1] if len(axes) > 2 else lo, "prefetch", self.prefetch[info.key])
        self.attach[info.key] = (st, ri)

    # -- GPU ------------------------------------------------------------------------------------
    def _gtile(self, info: StageInfo, _: str) -> None:
        key = info.key
        t = self.tensor(key)
        local = self.sch.cache_write(t, "local")
        outer = self.sch[t]
        sp = [self.d[f"{key}.s{i}"] for i in range(len(info.spatial))]
        rd = [self.d[f"{key}.r{i}"] for i in range(len(info.reduce))]
        gb, gv, gt, gi = self._split_levels(outer, list(outer.op.axis), sp)
        outer.reorder(*gb, *gv, *gt, *gi)
        block = self._fuse(outer, gb)
        vthread = self._fuse(outer, gv)
        thread = self._fuse(outer, gt)
        outer.bind(block, thread_axis("blockIdx.x"))
        if math.prod(s[1] for s in sp) > 1:
            outer.bind(vthread, thread_axis("vthread"))
        outer.bind(thread, thread_axis("threadIdx.x"))
        n_threads = math.prod(s[2] for s in sp)
        inner = self.sch[local]
        inner.compute_at(outer, thread)
        r0, r1 = self._split_levels(inner, list(inner.op.reduce_axis), rd)
        inner.reorder(*r0, *r1, *inner.op.axis)
        for iv in inner.op.axis:
            inner.unroll(iv)
        patterns: dict[tuple[int, int], set[str]] = {}
        for read in tensor_reads(inner.op):
            patterns.setdefault((id(read.tensor.op), read.tensor.value_index), set()).add(
                ",".join(str(i) for i in read.indices))
        for src in list(inner.op.input_tensors):
            if len(patterns.get((id(src.op), src.value_index), ())) > 1:
                # Read at two index patterns (a Gram matrix's A[k, i] * A[k, j]): one shared copy
                # would hold the union of two tiles whose distance depends on the block, which
                # has no constant size; the threads read this input from global memory.
                continue
            shared = self.sch.cache_read(src, "shared", [local])
            sst = self.sch[shared]
            sst.compute_at(inner, r0[-1])
            fused = self._fuse(sst, list(sst.op.axis))
            if fused is not None:
                _, tx = sst.split(fused, factor=n_threads)
                sst.bind(tx, thread_axis("threadIdx.x"))
        step = self.d[f"{key}.unroll"]
        if step:
            outer.pragma(block, "auto_unroll_max_step", step)

    def _gflat(self, info: StageInfo, _: str) -> None:
        acc = None
        if info.is_reduction and info.op.num_outputs == 1:
            # One thread reduces one element: its running value lives in a register, written
            # to global memory once, instead of a global load and store every step.
            acc = self.sch[self.sch.cache_write(self.tensor(info.key), "local")]
        # A 0-d output still runs in a kernel: one block of one thread (code outside any
        # blockIdx/threadIdx loop cannot run on a GPU), as TVM binds an extent-1 fused axis.
        split = self._split_flat(info, "threads", singleton=True)
        assert split is not None
        st, _, bo, ti = split
        st.bind(bo, thread_axis("blockIdx.x"))
        st.bind(ti, thread_axis("threadIdx.x"))
        if acc is not None:
            acc.compute_at(st, ti)

    def _grows(self, info: StageInfo, _: str) -> None:
        st = self.stage(info.key)
        rows = _row_axes(self.dag, dict(self.sketch.plans), info.key)
        axes = list(st.op.axis)
        bx = self._fuse(st, axes[:rows])
        rest = self._fuse(st, axes[rows:])
        tx = thread_axis("threadIdx.x")
        if rest is not None:
            _, ti = st.split(rest, factor=self.d[f"{info.key}.threads"])
            st.bind(ti, tx)
        if bx is not None:
            st.bind(bx, thread_axis("blockIdx.x"))
        self.attach[info.key] = (st, bx)
        self.row_thread[info.key] = (tx, self.d[f"{info.key}.threads"])

    def _gcross(self, info: StageInfo, anchor: str) -> None:
        st = self.stage(info.key)
        if anchor:
            tx, threads = self.row_thread[anchor]
        else:
            tx, threads = thread_axis("threadIdx.x"), self.d[f"{info.key}.threads"]
        k = self._fuse(st, list(st.op.reduce_axis))
        _, ki = st.split(k, factor=threads)
        if anchor:
            st.compute_at(*self.attach[anchor])
        else:
            # A 0-d output fuses no axes into an extent-1 one: one block, as TVM's sketches bind it.
            bx = self._fuse(st, list(st.op.axis))
            st.bind(bx if bx is not None else st.fuse(), thread_axis("blockIdx.x"))
        st.bind(ki, tx)
        # The all-reduce leaves the result in every thread; one of them stores it.
        st.set_store_predicate(tx.var.equal(0))


def _transpose_width(bn: int, lanes: int) -> int | None:
    """Lanes of a layout transpose over blocks of ``bn``: a whole vector when it divides ``bn``,
    else ``bn`` itself when it is a power of two of at least 4; None (no transpose) otherwise."""
    if bn % lanes == 0:
        return lanes
    return bn if bn >= 4 and bn & (bn - 1) == 0 else None


def apply_sketch(dag: ComputeDAG, sketch: Sketch, decisions: Mapping[str, Any], hw: HardwareModel
                 ) -> tuple[Schedule, list]:
    """``(schedule, args)``: a schedule of ``dag`` following ``sketch`` with ``decisions`` (slot
    name -> value), and the tensors to build it with (``dag.tensors``, or their rewritten
    versions when the sketch packs an input: same shapes and order).  InstantiationError when
    a decision is missing or out of its slot's range."""
    if isinstance(sketch, CustomSketch):
        return _apply_custom(dag, sketch, decisions, hw)
    applier = _Applier(dag, sketch, decisions, hw)
    return applier.run(), applier.args
