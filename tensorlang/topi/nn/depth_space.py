"""Moving blocks between the channel axis and the H x W plane: depth_to_space and space_to_depth."""

from __future__ import annotations

from typing import Any

from ... import te
from ...errors import ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, get_const_tuple


def _check(what: str, data: Tensor, block_size: Any, layout: str) -> int:
    if layout not in ("NCHW", "NHWC"):
        raise ExprError(f"{what}: layout '{layout}' is not supported (NCHW, NHWC)")
    if len(data.shape) != 4:
        raise ExprError(f"{what}: data must be 4-D ({layout}), got {len(data.shape)}-D")
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 1:
        raise ExprError(f"{what}: block_size must be a positive integer, got {block_size!r}")
    return block_size


def depth_to_space(data: Tensor, block_size: int, layout: str = "NCHW", mode: str = "DCR") -> Tensor:
    """(N, C, H, W) -> (N, C / bs**2, H * bs, W * bs); ``mode`` DCR as TensorFlow, CDR as PyTorch."""
    check_tensors("depth_to_space", data=data)
    what = "depth_to_space"
    bs = _check(what, data, block_size, layout)
    if mode not in ("DCR", "CDR"):
        raise ExprError(f"{what}: mode '{mode}' is not 'DCR' or 'CDR'")
    dim = dict(zip(layout, data.shape))
    c = get_const_tuple([dim["C"]])[0]
    if isinstance(c, int) and c % (bs * bs):
        raise ExprError(f"{what}: {data.name} has {c} channels, not a multiple of block_size**2 = {bs * bs}")
    out_c = dim["C"] // (bs * bs)
    out = {"N": dim["N"], "C": out_c, "H": dim["H"] * bs, "W": dim["W"] * bs}

    def body(*i: Any) -> PrimExpr:
        at = dict(zip(layout, i))
        offset = (at["H"] % bs) * bs + at["W"] % bs
        channel = offset * out_c + at["C"] if mode == "DCR" else at["C"] * (bs * bs) + offset
        src = {"N": at["N"], "C": channel, "H": at["H"] // bs, "W": at["W"] // bs}
        return data(*[src[d] for d in layout])
    return te.compute([out[d] for d in layout], body, name="depth_to_space", tag=tag.INJECTIVE)


def space_to_depth(data: Tensor, block_size: int, layout: str = "NCHW") -> Tensor:
    """(N, C, H, W) -> (N, C * bs**2, H / bs, W / bs): each bs x bs pixel block becomes channels."""
    check_tensors("space_to_depth", data=data)
    what = "space_to_depth"
    bs = _check(what, data, block_size, layout)
    dim = dict(zip(layout, data.shape))
    for d in "HW":
        n = get_const_tuple([dim[d]])[0]
        if isinstance(n, int) and n % bs:
            raise ExprError(f"{what}: {data.name} has {d} = {n}, not a multiple of block_size {bs}")
    in_c = dim["C"]
    out = {"N": dim["N"], "C": in_c * (bs * bs), "H": dim["H"] // bs, "W": dim["W"] // bs}

    def body(*i: Any) -> PrimExpr:
        at = dict(zip(layout, i))
        offset = at["C"] // in_c
        src = {"N": at["N"], "C": at["C"] % in_c, "H": at["H"] * bs + offset // bs, "W": at["W"] * bs + offset % bs}
        return data(*[src[d] for d in layout])
    return te.compute([out[d] for d in layout], body, name="space_to_depth", tag=tag.INJECTIVE)
