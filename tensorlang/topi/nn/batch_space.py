"""Spatial blocks to and from the batch (``space_to_batch_nd``, ``batch_to_space_nd``, TensorFlow's
semantics) and the per-channel ``scale_shift_nchw`` / ``scale_shift_nhwc``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.flat_index import ravel, unravel
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, get_const_int, get_const_tuple, prod, static_dim


def _block(data: Tensor, block_shape: Sequence[Any], what: str) -> list[int]:
    """``block_shape`` as positive ints, one per spatial dimension (1 to ndim - 1 of them)."""
    try:
        block = [get_const_int(b) for b in block_shape]
    except (ExprError, TypeError):
        raise ExprError(f"{what}: block_shape must be a list of constant integers, got {block_shape!r}") from None
    if not 1 <= len(block) <= len(data.shape) - 1:
        raise ExprError(f"{what}: block_shape {block} needs 1 to {len(data.shape) - 1} entries for {data.name} of "
                        f"shape {get_const_tuple(data.shape)} (batch first, then the spatial dimensions)")
    if any(b < 1 for b in block):
        raise ExprError(f"{what}: block_shape {block} must hold positive integers")
    return block


def _per_dim(values: Sequence[Any], m: int, what: str, arg: str) -> list[int]:
    """``values`` as ``m`` constant ints; an error names ``arg``."""
    try:
        out = [get_const_int(v) for v in values]
    except (ExprError, TypeError):
        raise ExprError(f"{what}: {arg} must be a list of constant integers, got {values!r}") from None
    if len(out) != m:
        raise ExprError(f"{what}: {arg} {out} must have one entry per block dimension ({m})")
    return out


def _spatial(data: Tensor, m: int, what: str) -> list[int]:
    dims = [static_dim(d) for d in data.shape[1:m + 1]]
    if None in dims:
        raise ExprError(f"{what}: the spatial dimensions of {data.name} {get_const_tuple(data.shape)} must be "
                        "constant")
    return dims  # type: ignore[return-value]


def space_to_batch_nd(data: Tensor, block_shape: Sequence[int], pad_before: Sequence[int], pad_after: Sequence[int],
                      pad_value: float = 0.0) -> Tensor:
    """TensorFlow's SpaceToBatchND: data (batch, s_1..s_M, rest...) is padded on each spatial
    dimension k by ``pad_before[k]`` / ``pad_after[k]`` elements of ``pad_value`` (a negative pad
    crops instead), each padded size must divide by ``block_shape[k]``, and each
    block_shape tile is spread over the batch: the output is (batch * prod(block_shape),
    padded_k / block_shape[k]..., rest...) with
    ``out[(ravel(b_1..b_M) * batch + n), o_1..o_M, r] = padded[n, o_k * block_shape[k] + b_k, r]``."""
    what = "space_to_batch_nd"
    block = _block(data, block_shape, what)
    m = len(block)
    before = _per_dim(pad_before, m, what, "pad_before")
    after = _per_dim(pad_after, m, what, "pad_after")
    spatial = _spatial(data, m, what)
    padded = [s + b + a for s, b, a in zip(spatial, before, after)]
    for k in range(m):
        if padded[k] < 1 or padded[k] % block[k]:
            raise ExprError(f"{what}: spatial dimension {k + 1} of {data.name} is {spatial[k]}, padded by "
                            f"{before[k]} + {after[k]} to {padded[k]}, which must be a positive multiple of "
                            f"block_shape[{k}] = {block[k]}")
    batch = data.shape[0]
    shape = [batch * prod(block)] + [p // b for p, b in zip(padded, block)] + list(data.shape[m + 1:])
    fill = te.const(pad_value).astype(data.dtype)

    def body(*i: PrimExpr) -> PrimExpr:
        offsets = unravel(i[0] // batch, block)
        pos = [i[1 + k] * block[k] + offsets[k] - before[k] for k in range(m)]
        # Only a positive pad reaches outside the data; a negative one just moves the window in.
        inside = [p >= 0 for p, b in zip(pos, before) if b > 0] + \
                 [p < s for p, s, a in zip(pos, spatial, after) if a > 0]
        value = data(i[0] % batch, *pos, *i[m + 1:])
        return te.if_then_else(te.all(*inside), value, fill) if inside else value
    return te.compute(shape, body, name="T_space_to_batch_nd", tag=tag.INJECTIVE)


def batch_to_space_nd(data: Tensor, block_shape: Sequence[int], crop_begin_list: Sequence[int],
                      crop_end_list: Sequence[int]) -> Tensor:
    """TensorFlow's BatchToSpaceND, the inverse of ``space_to_batch_nd``: data (batch, d_1..d_M,
    rest...), with batch a multiple of prod(block_shape), has its batch spread back over the
    spatial dimensions, giving (batch / prod(block_shape), d_k * block_shape[k]..., rest...), then
    ``crop_begin_list[k]`` / ``crop_end_list[k]`` elements (>= 0, together at most
    d_k * block_shape[k]) are cut from each spatial dimension k:
    ``out[n, p_1..p_M, r] = data[ravel(q_k % block_shape[k]) * (batch / prod) + n, q_k // block_shape[k], r]``
    with ``q_k = p_k + crop_begin_list[k]``."""
    what = "batch_to_space_nd"
    block = _block(data, block_shape, what)
    m = len(block)
    begin = _per_dim(crop_begin_list, m, what, "crop_begin_list")
    end = _per_dim(crop_end_list, m, what, "crop_end_list")
    spatial = _spatial(data, m, what)
    batch = static_dim(data.shape[0])
    blocks = prod(block)
    if batch is None or batch % blocks:
        raise ExprError(f"{what}: the batch {data.shape[0]} of {data.name} must be a constant multiple of "
                        f"prod(block_shape) = {blocks}")
    full = [s * b for s, b in zip(spatial, block)]
    for k in range(m):
        if begin[k] < 0 or end[k] < 0 or begin[k] + end[k] > full[k]:
            raise ExprError(f"{what}: crops {begin[k]} and {end[k]} of spatial dimension {k + 1} must be >= 0 and "
                            f"together at most its {full[k]} elements")
    out_batch = batch // blocks
    shape = [out_batch] + [f - b - e for f, b, e in zip(full, begin, end)] + list(data.shape[m + 1:])

    def body(*i: PrimExpr) -> PrimExpr:
        q = [i[1 + k] + begin[k] for k in range(m)]
        where = ravel([q[k] % block[k] for k in range(m)], block)
        return data(where * out_batch + i[0], *[q[k] // block[k] for k in range(m)], *i[m + 1:])
    return te.compute(shape, body, name="T_batch_to_space_nd", tag=tag.INJECTIVE)


def _scale_shift(data: Tensor, scale: Tensor, shift: Tensor, channels: tuple[int, ...], rank: int,
                 what: str) -> Tensor:
    """``data * scale + shift``, the two read at ``data``'s ``channels`` axes."""
    if len(data.shape) != rank:
        raise ExprError(f"{what}: Input {data.name} must be {rank}-D, got shape {get_const_tuple(data.shape)}")
    want = [data.shape[a] for a in channels]
    for t, arg in ((scale, "Scale"), (shift, "Shift")):
        sizes = [(static_dim(w), static_dim(d)) for w, d in zip(want, t.shape)]
        if len(t.shape) != len(want) or any(None not in (w, d) and w != d for w, d in sizes):
            raise ExprError(f"{what}: {arg} {t.name} must have shape {tuple(get_const_tuple(want))} (the channels of "
                            f"{data.name}), got {get_const_tuple(t.shape)}")
        if t.dtype != data.dtype:
            raise DTypeError(f"{what}: {arg} {t.name} is {t.dtype} but Input {data.name} is {data.dtype}")

    def body(*i: PrimExpr) -> PrimExpr:
        c = [i[a] for a in channels]
        return data(*i) * scale(*c) + shift(*c)
    return te.compute(data.shape, body, name="ScaleShift", tag=tag.BROADCAST)


def scale_shift_nchw(Input: Tensor, Scale: Tensor, Shift: Tensor) -> Tensor:
    """``Input[n, c, h, w] * Scale[c] + Shift[c]`` for a 4-D NCHW Input and (C,) Scale and Shift
    of Input's dtype."""
    check_tensors("scale_shift_nchw", Input=Input, Scale=Scale, Shift=Shift)
    return _scale_shift(Input, Scale, Shift, (1,), 4, "scale_shift_nchw")


def scale_shift_nhwc(Input: Tensor, Scale: Tensor, Shift: Tensor) -> Tensor:
    """``Input[n, h, w, c] * Scale[c] + Shift[c]`` for a 4-D NHWC Input and (C,) Scale and Shift
    of Input's dtype."""
    check_tensors("scale_shift_nhwc", Input=Input, Scale=Scale, Shift=Shift)
    return _scale_shift(Input, Scale, Shift, (3,), 4, "scale_shift_nhwc")


def scale_shift_nchwc(Input: Tensor, Scale: Tensor, Shift: Tensor) -> Tensor:
    """``Input[n, cc, h, w, cb] * Scale[cc, cb] + Shift[cc, cb]`` for a 5-D NCHW[x]c Input and
    (C / x, x) Scale and Shift of Input's dtype."""
    check_tensors("scale_shift_nchwc", Input=Input, Scale=Scale, Shift=Shift)
    return _scale_shift(Input, Scale, Shift, (1, 4), 5, "scale_shift_nchwc")


__all__ = ["batch_to_space_nd", "scale_shift_nchw", "scale_shift_nchwc", "scale_shift_nhwc", "space_to_batch_nd"]
