"""Tensor intrinsics: a small computation declared with ``te.compute`` together with the code
that performs it (``te.decl_tensor_intrin``), which ``Stage.tensorize`` puts in place of a
loop nest computing the same thing.

The code is built once, here, on buffers whose data, element offset and strides are
placeholders; tensorize binds them to the region of the real tensors each use covers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ExprError
from .dtype import INT32
from .expr import Call, PrimExpr, TensorRead, Var, convert
from .extern import DeclBuffer
from .functor import substitute
from .reduction import check_callable_with
from .tensor import ComputeOp, IterVar, IterVarType, Operation, PlaceholderOp, Range, Tensor, TensorRegion


class TensorIntrin:
    """A declared intrinsic: ``op`` (what it computes), its ``inputs`` and their ``buffers``
    (inputs first, then the output), and up to three pieces of code: ``body`` computes the
    output from scratch, ``reduce_init`` sets it to the reduction's identity and
    ``reduce_update`` adds one part of a reduction split outside the intrinsic."""

    def __init__(self, name: str, op: ComputeOp, inputs: Sequence[Tensor], buffers: Sequence[DeclBuffer],
                 body: Any, reduce_init: Any, reduce_update: Any, scalar_params: Sequence[Var]):
        self.name = name
        self.op = op
        self.inputs = tuple(inputs)
        self.buffers = tuple(buffers)
        self.body = body
        self.reduce_init = reduce_init
        self.reduce_update = reduce_update
        self.scalar_params = tuple(scalar_params)

    def __repr__(self) -> str:
        return f"TensorIntrin({self.name})"

    def __call__(self, *args: Any, reduce_axis: Any = None) -> TensorIntrinCall:
        """The intrinsic applied to tensor regions (``A[i, 0:16]``), inside ``te.compute``
        (TVM's TensorComputeOp); scalar arguments bind ``scalar_params`` in order."""
        regions, scalars = [], []
        for a in args:
            if isinstance(a, Tensor):
                a = TensorRegion.of(a, [])
            elif isinstance(a, TensorRead):  # A[i, j]: the one-element region, as TVM reads it
                a = TensorRegion.of(a.tensor, list(a.indices))
            if isinstance(a, TensorRegion):
                regions.append(a)
            else:
                scalars.append(convert(a))
        where = f"tensor intrinsic '{self.name}'"
        if len(regions) != len(self.inputs):
            raise ExprError(f"{where} takes {len(self.inputs)} tensor region(s), got {len(regions)}")
        if len(scalars) != len(self.scalar_params):
            raise ExprError(f"{where} takes {len(self.scalar_params)} scalar argument(s), got {len(scalars)}")
        for r, t in zip(regions, self.inputs):
            if r.tensor.dtype != t.dtype:
                raise ExprError(f"{where}: region of {r.tensor.name} is {r.tensor.dtype}, input {t.name} is {t.dtype}")
        axes = [] if reduce_axis is None else [reduce_axis] if isinstance(reduce_axis, IterVar) else list(reduce_axis)
        return TensorIntrinCall(self, regions, scalars, axes)


class TensorIntrinCall:
    """A tensor intrinsic applied to regions: what ``te.compute`` turns into a TensorComputeOp."""

    def __init__(self, intrin: TensorIntrin, regions: Sequence[TensorRegion], scalars: Sequence[PrimExpr],
                 reduce_axis: Sequence[IterVar]):
        self.intrin, self.regions, self.scalars = intrin, tuple(regions), tuple(scalars)
        self.reduce_axis = tuple(reduce_axis)


class TensorComputeOp(ComputeOp):
    """An output computed tile by tile by a tensor intrinsic: its first ``schedulable_ndim``
    axes are loops, the others span the intrinsic's output; each point of the loops (and of
    the ``reduce_axis``) runs the intrinsic on the input ``regions``, whose bounds may use the
    loop variables."""

    def __init__(self, name: str, tag: str, attrs: dict | None, axis: Sequence[IterVar], shape: Sequence[PrimExpr],
                 call: TensorIntrinCall, schedulable_ndim: int | None = None):
        self.call = call
        self.intrin = call.intrin
        self.schedulable_ndim = len(axis) if schedulable_ndim is None else schedulable_ndim
        axis = list(axis) + [IterVar(Range(0, d), Var(f"ax{n}", INT32), IterVarType.DATA_PAR)
                             for n, d in enumerate(shape) if n >= len(axis)]
        # Dataflow sees the regions as reads of their first and last elements (bound inference
        # and the out-of-bounds check then cover the whole box); lowering emits the intrinsic.
        corners = []
        for r in call.regions:
            corners.append(TensorRead(r.tensor, [m for m, _ in r.region]))
            corners.append(TensorRead(r.tensor, [m + e - 1 for m, e in r.region]))
        out_dtype = call.intrin.op.output(0).dtype
        super().__init__(name, tag, attrs, axis, [Call(out_dtype, "tl.tensor_intrin_regions", corners)])
        self.reduce_axis = tuple(call.reduce_axis)
        self.outputs = (Tensor(self, 0, tuple(shape), out_dtype),)

    def regions_at(self, vmap: dict[Var, PrimExpr]) -> list[tuple[Tensor, list[PrimExpr], list[PrimExpr]]]:
        """Each input region with its bounds in the given values of the axes."""
        return [(r.tensor, [substitute(m, vmap) for m, _ in r.region], [substitute(e, vmap) for _, e in r.region])
                for r in self.call.regions]

    def with_regions(self, name: str, axis: Sequence[IterVar], tmap: dict[Tensor, Tensor],
                     vmap: dict[Var, PrimExpr]) -> TensorComputeOp:
        """This op over replaced tensors and axis variables (cache_read/cache_write)."""
        regions = [TensorRegion(tmap.get(r.tensor, r.tensor), [(substitute(m, vmap), substitute(e, vmap))
                                                             for m, e in r.region]) for r in self.call.regions]
        call = TensorIntrinCall(self.intrin, regions, [substitute(x, vmap) for x in self.call.scalars],
                                self.call.reduce_axis)
        return TensorComputeOp(name, self.tag, self.attrs, axis, self.output(0).shape, call, self.schedulable_ndim)


def decl_tensor_intrin(op: Operation, fcompute: Callable[..., Any], name: str = "tensor_intrin",
                       binds: dict[Tensor, DeclBuffer] | None = None, scalar_params: Sequence[Var] | None = None,
                       default_buffer_params: dict[str, Any] | None = None) -> TensorIntrin:
    """Declare that ``fcompute(ins, outs)`` (``fcompute(ins, outs, scalar_params)`` when
    ``scalar_params`` are given) computes ``op``.  It gets one buffer per input and output of
    ``op`` (from ``binds``, else a compact buffer made with ``default_buffer_params``) and
    returns the code: one statement or call, or ``(body, reduce_init, reduce_update)`` so that
    a reduction can also be tensorized when some of its loops stay outside (either of the
    last two may be None)."""
    where = f"decl_tensor_intrin '{name}'"
    if not isinstance(op, ComputeOp) or type(op) is not ComputeOp:
        raise ExprError(f"{where}: op must be the operation of a te.compute, got {op!r}")
    if op.num_outputs != 1:
        raise ExprError(f"{where}: the intrinsic's computation must have one output, got {op.num_outputs}")
    binds = dict(binds or {})
    params = dict(default_buffer_params or {})
    inputs = op.input_tensors
    for t in inputs:
        if not isinstance(t.op, PlaceholderOp):
            raise ExprError(f"{where}: input {t.name} must be a te.placeholder (the intrinsic reads its inputs "
                            "directly)")
    out = op.output(0)
    buffers = []
    for t in [*inputs, out]:
        buf = binds.get(t)
        if buf is None:
            buf = DeclBuffer(t.shape, t.dtype, t.op.name, strides=params.get("strides"),
                             elem_offset=params.get("elem_offset"), offset_factor=params.get("offset_factor", 0))
        if not isinstance(buf, DeclBuffer):
            raise ExprError(f"{where}: binds[{t.name}] must be a buffer (tir.decl_buffer), got {buf!r}")
        if buf.dtype != t.dtype or len(buf.shape) != len(t.shape):
            raise ExprError(f"{where}: buffer {buf.name} ({buf.dtype}, {len(buf.shape)} dims) does not match "
                            f"tensor {t.name} ({t.dtype}, {len(t.shape)} dims)")
        buffers.append(buf)
    scalars = list(scalar_params or [])
    for v in scalars:
        if not isinstance(v, Var):
            raise ExprError(f"{where}: scalar_params must be te.var's, got {v!r}")
    ins, outs = buffers[:-1], buffers[-1:]
    if not callable(fcompute):
        raise ExprError(f"{where}: fcompute must be a function of (ins, outs), got {fcompute!r}")
    check_callable_with(fcompute, 3 if scalars else 2, f"{where}: fcompute")
    got = fcompute(ins, outs, scalars) if scalars else fcompute(ins, outs)
    if isinstance(got, (list, tuple)):
        if len(got) != 3:
            raise ExprError(f"{where}: fcompute must return one statement or (body, reduce_init, reduce_update), "
                            f"got {len(got)} items")
        body, reset, update = got
    else:
        body, reset, update = got, None, None
    if body is None and update is None:
        raise ExprError(f"{where}: fcompute returned no code; return a statement (ib.get()) or a call")
    for part in (body, reset, update):
        if part is not None and not isinstance(part, PrimExpr) and not hasattr(part, "_children"):
            raise ExprError(f"{where}: fcompute returned {part!r}, which is neither a statement nor a call")
    return TensorIntrin(name, op, inputs, buffers, body, reset, update, scalars)


def tensor_compute(name: str, tag: str, attrs: dict | None, axis: Sequence[IterVar], shape: Sequence[PrimExpr],
                   call: TensorIntrinCall) -> Tensor:
    """The output of ``te.compute(shape, lambda *outer: intrin(regions...))``."""
    out = call.intrin.op.output(0)
    trailing = list(shape)[len(axis):]
    if len(trailing) > len(out.shape):
        raise ExprError(f"compute '{name}': the intrinsic '{call.intrin.name}' writes {len(out.shape)} dimension(s), "
                        f"but the shape leaves {len(trailing)} after the {len(axis)} index argument(s)")
    return TensorComputeOp(name, tag, attrs, axis, shape, call).output(0)


__all__ = ["TensorIntrin", "TensorIntrinCall", "TensorComputeOp", "decl_tensor_intrin", "tensor_compute"]
