"""Target-independent pieces of the x86 and CUDA schedules: argument normalisation, constant sizes,
inlining of a stage's producers, finding the reductions an output depends on and the stages of a
softmax, and the walk over outputs that ``schedule_reduce`` shares on both targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...errors import ExprError, ScheduleError
from ...schedule.inline import AutoInlineInjective
from ...schedule.schedule import Schedule, create_schedule
from ...te.tensor import ComputeOp, Operation, Tensor
from .. import tag
from ..utils import get_const_int, get_const_tuple, traverse_inline


def as_tensors(outs: Any) -> list[Tensor]:
    """``outs`` (a tensor, an operation or a list of them) as a list of tensors."""
    items = [outs] if isinstance(outs, (Tensor, Operation)) else list(outs)
    return [t.output(0) if isinstance(t, Operation) else t for t in items]


def schedule_each(outs: Any, per_output: Callable[[Schedule, Tensor], Any], inline: bool = False) -> Schedule:
    """A schedule of ``outs`` where ``per_output(sch, t)`` schedules each computed output, after
    every stage without a reduction that is not an output is inlined when ``inline`` (TVM's
    ``AutoInlineInjective``: by structure, not by tag, so a user's untagged ``te.compute``
    between topi ops is inlined too): the shape that ``schedule_injective`` and ``schedule_pool``
    share on both targets."""
    tensors = as_tensors(outs)
    sch = create_schedule([t.op for t in tensors])
    if inline:
        AutoInlineInjective(sch)
    for t in tensors:
        if isinstance(t.op, ComputeOp):
            per_output(sch, t)
    return sch


def const_size(extents: Sequence[Any]) -> int | None:
    """The product of ``extents``, or None when one of them is symbolic."""
    size = 1
    for e in extents:
        try:
            size *= get_const_int(e)
        except ExprError:
            return None
    return size


def out_size(op: Operation) -> int | None:
    """The number of elements each output of compute ``op`` has (None when symbolic)."""
    return const_size([iv.dom.extent for iv in op.axis])


def is_reduction(op: Operation) -> bool:
    """Whether ``op`` is a compute op with reduction axes."""
    return isinstance(op, ComputeOp) and bool(op.reduce_axis)


def inline_producers(sch: Schedule, op: Operation) -> list[ComputeOp]:
    """Inline the compute ops feeding ``op`` that have no reduction axes and one output (padding,
    casts, elementwise math ...), and the ones feeding those; outputs stay as they are.  Returns the
    other compute ops reached (reductions that are not outputs)."""
    outputs = {id(o) for o in sch.outputs}
    seen: set[int] = set()
    reached: list[ComputeOp] = []

    def visit(producer: Operation) -> None:
        if id(producer) in seen or not isinstance(producer, ComputeOp) or id(producer) in outputs:
            return
        seen.add(id(producer))
        if producer.reduce_axis or producer.num_outputs != 1:
            reached.append(producer)
            return
        sch[producer].compute_inline()
        for t in producer.input_tensors:
            visit(t.op)

    for t in op.input_tensors:
        visit(t.op)
    return reached


def reductions_feeding(sch: Schedule, out: Tensor) -> list[Operation]:
    """Inline the injective ops between ``out`` and the compute ops it reads that are not injective,
    and return those ops (reductions, argmax's index copy ...), nearest first."""
    found: list[Operation] = []

    def collect(op: Operation) -> None:
        if op is not out.op and not tag.is_injective(op.tag) and all(op is not f for f in found):
            found.append(op)

    traverse_inline(sch, out.op, collect)
    return found


def inline_all(sch: Schedule, out: Tensor) -> list[ComputeOp]:
    """Inline every compute op ``out`` depends on that has no reduction axes and one output (and is
    not an output); return the other compute ops it depends on (reductions), nearest first."""
    outputs = {id(o) for o in sch.outputs}
    seen: set[int] = {id(out.op)}
    reductions: list[ComputeOp] = []
    stack = [t.op for t in out.op.input_tensors]
    while stack:
        op = stack.pop(0)
        if id(op) in seen or not isinstance(op, ComputeOp):
            continue
        seen.add(id(op))
        if id(op) in outputs:
            continue
        if op.reduce_axis or op.num_outputs != 1:
            reductions.append(op)
        else:
            sch[op].compute_inline()
        stack += [t.op for t in op.input_tensors]
    return reductions


SOFTMAX_TAGS = ("softmax_output", "log_softmax_output")


def softmax_parts(op: Operation) -> tuple[Tensor, ComputeOp, ComputeOp | None, ComputeOp]:
    """(input, max, exp or None, sum of exps) of a ``topi.nn.softmax`` / ``log_softmax`` output op."""
    reds = [t.op for t in op.input_tensors if is_reduction(t.op)]
    if op.tag == "softmax_output":
        (expsum,) = reds
        (expo,) = [t.op for t in op.input_tensors if not is_reduction(t.op)]
        (maxelem,) = [t.op for t in expo.input_tensors if is_reduction(t.op)]
        expo_op: ComputeOp | None = expo  # type: ignore[assignment]
    else:
        expsum = next(r for r in reds if any(t.op is not r and t.op in reds for t in r.input_tensors))
        maxelem = next(r for r in reds if r is not expsum)
        expo_op = None
    (data,) = maxelem.input_tensors
    return data, maxelem, expo_op, expsum  # type: ignore[return-value]


def _find_softmax(sch: Schedule, out: Tensor) -> ComputeOp | None:
    """The softmax/log_softmax op that ``out`` is, or that the injective ops making ``out`` read
    (those inlined on the way)."""
    if out.op.tag in SOFTMAX_TAGS:
        return out.op  # type: ignore[return-value]
    found = [op for op in reductions_feeding(sch, out) if op.tag in SOFTMAX_TAGS]
    return found[0] if len(found) == 1 else None  # type: ignore[return-value]


def softmax_stages(sch: Schedule, out: Tensor) -> tuple[Tensor, ComputeOp, ComputeOp, ComputeOp | None, ComputeOp]:
    """(anchor, softmax op, max, exp or None, sum of exps) for a softmax/log_softmax output ``out`` or an
    elementwise op after one (then the anchor, whose loops the rows get, and the softmax inlined into
    it); the injective ops on the way and the input's elementwise producers are inlined."""
    sm = _find_softmax(sch, out)
    if sm is None:
        raise ScheduleError(f"schedule_softmax: {out.op.name} is not a softmax or log_softmax output "
                            f"(tag '{out.op.tag}')")
    outputs = {id(o) for o in sch.outputs}
    same = out.op is sm or (id(sm) not in outputs and const_size(out.shape) is not None and
                            len(out.shape) == len(sm.output(0).shape) and
                            get_const_tuple(out.shape) == get_const_tuple(sm.output(0).shape))
    anchor = out if same else sm.output(0)
    if anchor.op is not sm:
        sch[sm].compute_inline()
    _, maxelem, expo, expsum = softmax_parts(sm)
    inline_producers(sch, maxelem)  # the input's elementwise producers (and the input, if computed)
    return anchor, sm, maxelem, expo, expsum


def reduction_and_anchor(op: Operation) -> tuple[ComputeOp, Tensor] | None:
    """(the op that reduces, the tensor it is scheduled with) for a reduction, or for argmax's index
    copy (whose producer reduces index-value pairs); None for other ops."""
    if is_reduction(op):
        return op, op.output(0)  # type: ignore[return-value]
    if isinstance(op, ComputeOp) and op.tag.startswith(tag.COMM_REDUCE_IDX):
        producers = [t.op for t in op.input_tensors if is_reduction(t.op)]
        if len(producers) == 1:
            return producers[0], op.output(0)  # type: ignore[return-value]
    return None


def _fusable_reduction(sch: Schedule, out: Tensor, reds: list[Operation]) -> tuple[ComputeOp, Tensor] | None:
    """The reduction to schedule inside ``out``'s loops: the one reduction it reads, not an output
    itself, when ``out`` has as many elements as it (an elementwise consumer, not a broadcast)."""
    if len(reds) != 1:
        return None
    found = reduction_and_anchor(reds[0])
    if found is None:
        return None
    red, anchor = found
    outputs = {id(o) for o in sch.outputs}
    if id(red) in outputs or id(anchor.op) in outputs:
        return None
    n = out_size(out.op)
    if n is None or n != out_size(red) or not isinstance(out.op, ComputeOp) or not out.op.axis:
        return None
    return red, anchor


def schedule_reductions(outs: Any, reduction_at: Callable[[Schedule, ComputeOp, Tensor], None],
                        injective: Callable[[Schedule, Tensor], Any]) -> Schedule:
    """A schedule of reductions ``outs`` (or of elementwise ops after reductions): the elementwise
    ops between inlined, ``reduction_at(sch, red, anchor)`` schedules each reduction with the
    tensor it runs in (itself, argmax's index copy, or an elementwise output with as many
    elements), and ``injective(sch, out)`` any other output."""
    tensors = as_tensors(outs)
    sch = create_schedule([t.op for t in tensors])
    done: set[int] = set()

    def schedule(red: ComputeOp, anchor: Tensor) -> None:
        if id(red) in done:
            return
        done.add(id(red))
        feeding = inline_producers(sch, red)
        reduction_at(sch, red, anchor)
        for op in feeding:  # reductions computed from reductions (a variance): at root, before
            found = reduction_and_anchor(op)
            if found is not None:
                schedule(*found)

    for out in tensors:
        found = reduction_and_anchor(out.op)
        if found is not None:
            schedule(*found)
            continue
        if not isinstance(out.op, ComputeOp):
            continue
        reds = reductions_feeding(sch, out)
        fused = _fusable_reduction(sch, out, reds)
        if fused is not None:
            schedule(fused[0], out)
            if fused[1].op is not fused[0]:  # argmax's index copy: folded into the consumer
                sch[fused[1]].compute_inline()
            continue
        injective(sch, out)
        for op in reds:
            found = reduction_and_anchor(op)
            if found is not None:
                schedule(*found)
    return sch


def tile_and_accumulate(sch: Schedule, anchor: Tensor, out: Tensor, scope: str) -> tuple[Tensor, Tensor, Tensor | None]:
    """The stages of a tiled reduction ``anchor`` (a matmul, a convolution) whose consumer chain
    ends in ``out``: (the stage that gets the tiling, the stage of ``scope`` accumulating each tile
    under it, an output left for the caller to schedule on its own or None).  When ``anchor`` is
    the output, the accumulator is a cache_write of it; when ``out`` (elementwise ops after it,
    inlined) has its shape, ``out`` is tiled and ``anchor`` accumulates under it; otherwise (a
    reshape after it ...) ``anchor`` is tiled at root over a cache_write and ``out`` comes back."""
    if anchor.op is out.op:
        return anchor, sch.cache_write(anchor, scope), None
    if const_size(out.shape) is not None and get_const_tuple(out.shape) == get_const_tuple(anchor.shape):
        if scope != "global":
            sch[anchor].set_scope(scope)
        return out, anchor, None
    return anchor, sch.cache_write(anchor, scope), out
