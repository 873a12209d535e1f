"""Constant padding (tag ``injective,pad``), mirror padding (``injective,pad``) and dilation (tag
``injective,dilate``) of a tensor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import te
from ...errors import ExprError
from ...te.expr import IntImm, PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, equal_const_int, get_const_int, scalar_const


def pad(data: Tensor, pad_before: Sequence[Any], pad_after: Sequence[Any] | None = None, pad_value: Any = 0.0,
        name: str = "PadInput", attrs: dict | None = None) -> Tensor:
    """``data`` with ``pad_before[k]`` / ``pad_after[k]`` elements of ``pad_value`` around dimension k."""
    check_tensors("pad", data=data)
    ndim = len(data.shape)
    pad_before = _pads(pad_before, "pad_before")
    pad_after = list(pad_before) if pad_after is None else _pads(pad_after, "pad_after")
    if len(pad_before) != ndim or len(pad_after) != ndim:
        raise ExprError(f"pad: {data.name} has {ndim} dimensions but pad_before has {len(pad_before)} and "
                        f"pad_after {len(pad_after)} entries")
    fill = scalar_const(pad_value, data.dtype, "pad", "pad_value")
    shape = [data.shape[k] + pad_before[k] + pad_after[k] for k in range(ndim)]

    def body(*i: Any) -> PrimExpr:
        conds, src = [], []
        for k in range(ndim):
            if equal_const_int(pad_before[k], 0) and equal_const_int(pad_after[k], 0):
                src.append(i[k])
                continue
            src.append(i[k] - pad_before[k])
            if not equal_const_int(pad_before[k], 0):
                conds.append(i[k] >= pad_before[k])
            if not equal_const_int(pad_after[k], 0):
                conds.append(i[k] < data.shape[k] + pad_before[k])
        value = data(*src)
        if not conds:
            return value
        return te.if_then_else(te.all(*conds), value, fill)
    return te.compute(shape, body, name=name, tag=tag.INJECTIVE + ",pad", attrs=attrs)


def _pads(values: Any, arg: str, what: str = "pad") -> list[Any]:
    """``pad``'s ``arg``: a sequence of non-negative integers (or integer expressions); a scalar, a
    float, a bool or a negative pad (numpy: "index can't contain negative values") is an ExprError."""
    if isinstance(values, (str, bytes, Tensor)) or not hasattr(values, "__iter__"):
        raise ExprError(f"{what}: {arg} must be a sequence of integers (one per dimension), got {values!r}")
    out = []
    for k, v in enumerate(values):
        if isinstance(v, PrimExpr) and v.dtype.is_int and not v.dtype.is_bool:
            if isinstance(v, IntImm) and v.value < 0:
                raise ExprError(f"{what}: {arg}[{k}] is negative ({v.value})")
            out.append(v)
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ExprError(f"{what}: {arg}[{k}] must be an integer, got {v!r} ({type(v).__name__})")
        if v < 0:
            raise ExprError(f"{what}: {arg}[{k}] is negative ({int(v)})")
        out.append(int(v))
    return out


def mirror_pad(data: Tensor, pad_before: Sequence[Any], pad_after: Sequence[Any] | None = None,
               mode: str = "SYMMETRIC", name: str = "MirrorPadInput") -> Tensor:
    """``data`` padded with its own mirror image along each dimension: ``SYMMETRIC`` repeats the
    edge element (numpy's ``symmetric``), ``REFLECT`` does not (numpy's ``reflect``).  A pad may
    reach at most across the data once: up to n elements (``SYMMETRIC``) or n - 1 (``REFLECT``)."""
    check_tensors("mirror_pad", data=data)
    ndim = len(data.shape)
    if mode not in ("SYMMETRIC", "REFLECT"):
        raise ExprError(f"mirror_pad: mode '{mode}' is not 'SYMMETRIC' or 'REFLECT'")
    pad_before = _pads(pad_before, "pad_before", "mirror_pad")
    pad_after = list(pad_before) if pad_after is None else _pads(pad_after, "pad_after", "mirror_pad")
    if len(pad_before) != ndim or len(pad_after) != ndim:
        raise ExprError(f"mirror_pad: {data.name} has {ndim} dimensions but pad_before has {len(pad_before)} and "
                        f"pad_after {len(pad_after)} entries")
    before = [get_const_int(p) for p in pad_before]
    after = [get_const_int(p) for p in pad_after]
    edge = 1 if mode == "SYMMETRIC" else 0  # SYMMETRIC: index -1 reads element 0; REFLECT: element 1
    for k, (b, a) in enumerate(zip(before, after)):
        n = get_const_int(data.shape[k])
        if min(b, a) < 0 or max(b, a) > n - 1 + edge:
            raise ExprError(f"mirror_pad: dimension {k} of {data.name} has {n} elements, so a {mode} pad must be "
                            f"0 to {n - 1 + edge}; got {b} before and {a} after")
    shape = [data.shape[k] + before[k] + after[k] for k in range(ndim)]

    def body(*i: Any) -> PrimExpr:
        src = []
        for k in range(ndim):
            if before[k] == 0 and after[k] == 0:
                src.append(i[k])
                continue
            n = data.shape[k]
            j = i[k] - before[k]
            if before[k]:
                j = te.if_then_else(j < 0, -j - edge, j)
            if after[k]:
                j = te.if_then_else(j >= n, 2 * n - 1 - j - (1 - edge), j)
            src.append(j)
        return data(*src)
    return te.compute(shape, body, name=name, tag=tag.INJECTIVE + ",pad")


def dilate(data: Tensor, strides: Sequence[Any], dilation_value: Any = 0.0, name: str = "DilatedInput") -> Tensor:
    """``data`` with ``strides[k] - 1`` elements of ``dilation_value`` between neighbours along dimension k."""
    check_tensors("dilate", data=data)
    ndim = len(data.shape)
    if isinstance(strides, (str, bytes, Tensor)) or not hasattr(strides, "__len__"):
        raise ExprError(f"dilate: strides must be a sequence of positive integers, got {strides!r}")
    if len(strides) != ndim:
        raise ExprError(f"dilate: {data.name} has {ndim} dimensions but strides has {len(strides)} entries")
    steps = []
    for k, s in enumerate(strides):
        try:
            steps.append(get_const_int(s))
        except ExprError:
            steps.append(0)
        if steps[-1] < 1:
            raise ExprError(f"dilate: strides[{k}] must be a positive integer, got {s!r}")
    shape = [(data.shape[k] - 1) * steps[k] + 1 if steps[k] != 1 else data.shape[k] for k in range(ndim)]
    fill = te.const(dilation_value).astype(data.dtype)

    def body(*i: Any) -> PrimExpr:
        on_grid = [i[k] % steps[k] == 0 for k in range(ndim) if steps[k] != 1]
        value = data(*[i[k] // steps[k] if steps[k] != 1 else i[k] for k in range(ndim)])
        return te.if_then_else(te.all(*on_grid), value, fill) if on_grid else value
    return te.compute(shape, body, name=name, tag=tag.INJECTIVE + ",dilate")
