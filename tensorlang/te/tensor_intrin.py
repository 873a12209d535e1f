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
from .expr import PrimExpr, Var
from .extern import DeclBuffer
from .tensor import ComputeOp, Operation, PlaceholderOp, Tensor


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


__all__ = ["TensorIntrin", "decl_tensor_intrin"]
