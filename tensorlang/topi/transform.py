"""Layout ops: reshape, transpose, concatenate, expand_dims, squeeze, flatten, stack, split, take,
strided_slice, tile, repeat, flip, layout_transform, gather, gather_nd, one_hot, where, full.
All are injective (tags ``injective``, ``broadcast`` or ``elemwise``), so ``traverse_inline`` folds
them into their consumer."""

from __future__ import annotations

import numbers
import operator
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import te
from ..errors import DTypeError, ExprError
from ..te.broadcast import broadcast_reader, broadcast_shape
from ..te.dtype import as_dtype
from ..te.expr import IntImm, PrimExpr, convert
from ..te.flat_index import ravel, unravel
from ..te.layout import Layout
from ..te.tensor import Tensor
from . import tag

# TVM keeps these in topi/transform.py, tensorlang in modules of their own: ported code that
# calls topi.transform.matrix_set_diag (TVM's own tests do) finds them here too.
from .advanced_index import adv_index  # noqa: F401
from .array_ops import invert_permutation, matrix_set_diag, meshgrid, sequence_mask, sparse_to_dense  # noqa: F401
from .common_dtype import common_dtype
from .dynamic_slice import dynamic_strided_slice
from .einsum import matmul  # noqa: F401
from .index_ops import arange, reverse_sequence  # noqa: F401
from .utils import check_tensors, get_const_int, get_const_tuple, prod, scalar_const, static_dim


def _int_arg(value: Any, what: str, arg: str) -> int:
    """``value`` as a Python int: an int, a numpy integer or a constant integer expression.  A
    float (even a whole one), a string, a bool or a symbolic expression is an ``ExprError`` naming
    ``arg`` (numpy raises a TypeError there; truncating 1.5 to 1 would be a silent wrong answer)."""
    if isinstance(value, (bool, np.bool_)):
        raise ExprError(f"{what}: {arg} must be an integer, got {value!r}")
    if isinstance(value, PrimExpr):
        if value.dtype.is_int and not value.dtype.is_bool:
            try:
                return get_const_int(value)
            except ExprError:
                pass
        raise ExprError(f"{what}: {arg} must be a constant integer, got '{value}' ({value.dtype})")
    if hasattr(value, "__index__"):
        return operator.index(value)
    raise ExprError(f"{what}: {arg} must be an integer, got {value!r} ({type(value).__name__})")


def _is_int_like(value: Any) -> bool:
    """Whether ``value`` is one integer (not a sequence of them) as ``_int_arg`` reads it."""
    return isinstance(value, PrimExpr) or (hasattr(value, "__index__") and not isinstance(value, (bool, np.bool_))
                                           and not hasattr(value, "__len__"))


def _sequence(values: Any, what: str, arg: str, kind: str) -> list[Any]:
    """``values`` as a list: a sequence (not a string, a dict, a set or a tensor); else an ``ExprError``
    naming ``arg`` and what it should be (``kind``)."""
    if isinstance(values, (str, bytes, dict, set, Tensor)) or not hasattr(values, "__iter__"):
        raise ExprError(f"{what}: {arg} must be {kind}, got {values!r}")
    return list(values)


def normalize_axis(axis: int, ndim: int, what: str, arg: str = "axis") -> int:
    """``axis`` counted from 0 (negative counts from the end); an error names ``what`` (and ``arg``)
    when it is out of range or not an integer."""
    ax = _int_arg(axis, what, arg)
    a = ax + ndim if ax < 0 else ax
    if not 0 <= a < ndim:
        where = "" if arg == "axis" else f" ({arg})"
        raise ExprError(f"{what}: axis {ax}{where} is out of range for {ndim} dimension(s)")
    return a


def normalize_axes(axes: Any, ndim: int, what: str, arg: str = "axis") -> list[int]:
    """An int or a sequence of ints as axes counted from 0, in the order given; a repeated axis
    (after counting negatives from the end) is an ``ExprError``, as numpy's "duplicate value in 'axis'"."""
    if _is_int_like(axes):
        return [normalize_axis(axes, ndim, what, arg)]
    seq = _sequence(axes, what, arg, "an integer or a sequence of integers")
    out = [normalize_axis(a, ndim, what, f"{arg}[{k}]") for k, a in enumerate(seq)]
    if len(set(out)) != len(out):
        raise ExprError(f"{what}: duplicate value in {arg} {axes!r}")
    return out


def reshape(a: Tensor, newshape: Sequence[Any]) -> Tensor:
    """``a`` with a new shape of the same size (one dimension may be -1); an int is a 1-D shape,
    as in numpy."""
    what = "reshape"
    if _is_int_like(newshape):
        newshape = [newshape]
    newshape = [d if isinstance(d, PrimExpr) and not d.dtype.is_bool and d.dtype.is_int
                else _int_arg(d, what, "newshape")
                for d in _sequence(newshape, what, "newshape", "an integer or a sequence of integers")]
    asked = tuple(newshape)
    total = prod(a.shape)
    if sum(1 for d in newshape if isinstance(d, int) and d == -1) > 1:
        raise ExprError(f"reshape: at most one dimension of the new shape {asked} may be -1")
    if any(isinstance(d, int) and d < -1 for d in newshape):
        raise ExprError(f"reshape: the new shape {asked} has a negative dimension")
    if -1 in newshape:
        known = prod([d for d in newshape if not (isinstance(d, int) and d == -1)])
        if static_dim(known) == 0:
            raise ExprError(f"reshape: cannot reshape {get_const_tuple(a.shape)} to {asked}: with a 0 dimension "
                            f"the -1 dimension could have any size (numpy: 'cannot reshape array of size "
                            f"{static_dim(total)} into shape {asked}')")
        if static_dim(total) is not None and static_dim(known) and static_dim(total) % static_dim(known):
            raise ExprError(f"reshape: cannot reshape {get_const_tuple(a.shape)} ({static_dim(total)} elements) to "
                            f"{asked}: {static_dim(known)} does not divide it")
        newshape = [total // known if isinstance(d, int) and d == -1 else d for d in newshape]
    size, new_size = static_dim(total), static_dim(prod(newshape))
    if size is not None and new_size is not None and size != new_size:
        raise ExprError(f"reshape: cannot reshape {get_const_tuple(a.shape)} ({size} elements) to "
                        f"{asked} ({new_size} elements)")
    if size == 0:  # an empty result: no element is ever read (unravel would divide by 0)
        return te.compute(newshape, lambda *i: te.const(0, a.dtype), name="T_reshape", tag=tag.INJECTIVE)
    return te.compute(newshape, lambda *i: a(*unravel(ravel(i, newshape), a.shape)),
                      name="T_reshape", tag=tag.INJECTIVE)


def transpose(a: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    """``a`` with its axes permuted (reversed when ``axes`` is None)."""
    check_tensors("transpose", a=a)
    ndim = len(a.shape)
    if axes is None:
        perm = list(reversed(range(ndim)))
    else:
        perm = [normalize_axis(x, ndim, "transpose", f"axes[{k}]")
                for k, x in enumerate(_sequence(axes, "transpose", "axes", "a sequence of integers"))]
    if sorted(perm) != list(range(ndim)):
        raise ExprError(f"transpose: axes {list(axes or [])} are not a permutation of {ndim} dimensions")
    shape = [a.shape[p] for p in perm]

    def body(*i: Any) -> PrimExpr:
        src = [None] * ndim
        for out_pos, p in enumerate(perm):
            src[p] = i[out_pos]
        return a(*src)
    return te.compute(shape, body, name="T_transpose", tag=tag.INJECTIVE)


def concatenate(a_tuple: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors joined along ``axis``; mixed dtypes are each converted once to their common
    promoted dtype (te/dtype.py), whatever their order."""
    tensors = _sequence(a_tuple, "concatenate", "a_tuple", "a sequence of tensors")
    if not tensors:
        raise ExprError("concatenate: needs at least one tensor")
    for n, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise ExprError(f"concatenate: a_tuple[{n}] is {t!r} ({type(t).__name__}), not a tensor")
    ndim = len(tensors[0].shape)
    ax = normalize_axis(axis, ndim, "concatenate")
    first = tensors[0]
    for t in tensors[1:]:
        if len(t.shape) != ndim:
            raise ExprError(f"concatenate: {t.name} has {len(t.shape)} dimensions, {first.name} has {ndim}")
        for d in range(ndim):
            mine, theirs = static_dim(t.shape[d]), static_dim(first.shape[d])
            if d != ax and mine is not None and theirs is not None and mine != theirs:
                raise ExprError(f"concatenate: dimension {d} of {t.name} has size {mine}, of {first.name} {theirs}; "
                                f"only the joined axis {ax} may differ")
    offsets: list[Any] = [0]
    for t in tensors:
        offsets.append(offsets[-1] + get_const_int(t.shape[ax]))
    shape = list(tensors[0].shape)
    shape[ax] = offsets[-1]
    dtype = common_dtype(tensors, "concatenate")

    def body(*i: Any) -> PrimExpr:
        pos = i[ax]

        def read(n: int) -> PrimExpr:
            idx = list(i)
            idx[ax] = pos - offsets[n]
            # each input straight to the output dtype: the selects must not promote pairwise
            return tensors[n](*idx).astype(dtype)
        value = read(len(tensors) - 1)
        for n in range(len(tensors) - 2, -1, -1):
            value = te.if_then_else(pos < offsets[n + 1], read(n), value)
        return value
    return te.compute(shape, body, name="T_concat", tag=tag.INJECTIVE)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """The tensors (of one shape) stacked along a new axis."""
    tensors = _sequence(tensors, "stack", "tensors", "a sequence of tensors")
    if not tensors:
        raise ExprError("stack: needs at least one tensor (numpy: 'need at least one array to stack')")
    for n, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise ExprError(f"stack: tensors[{n}] is {t!r} ({type(t).__name__}), not a tensor")
    for t in tensors[1:]:
        if len(t.shape) != len(tensors[0].shape) or any(
                static_dim(a) is not None and static_dim(b) is not None and static_dim(a) != static_dim(b)
                for a, b in zip(t.shape, tensors[0].shape)):
            raise ExprError(f"stack: {t.name} has shape {get_const_tuple(t.shape)}, {tensors[0].name} "
                            f"{get_const_tuple(tensors[0].shape)}; stacked tensors share one shape")
    nd = len(tensors[0].shape) + 1
    ax = _int_arg(axis, "stack", "axis")
    if not -nd <= ax < nd:
        raise ExprError(f"stack: axis {ax} is out of range for the {nd} dimension(s) of the result")
    ax = ax + nd if ax < 0 else ax
    return concatenate([expand_dims(t, ax) for t in tensors], ax)


def expand_dims(a: Tensor, axis: int, num_newaxis: int = 1) -> Tensor:
    """``a`` with ``num_newaxis`` size-1 dimensions inserted at ``axis``."""
    check_tensors("expand_dims", a=a)
    ndim = len(a.shape)
    axis = _int_arg(axis, "expand_dims", "axis")
    num_newaxis = _int_arg(num_newaxis, "expand_dims", "num_newaxis")
    if num_newaxis < 0:
        raise ExprError(f"expand_dims: num_newaxis must not be negative, got {num_newaxis}")
    ax = axis + ndim + 1 if axis < 0 else axis
    if not 0 <= ax <= ndim:
        raise ExprError(f"expand_dims: axis {axis} is out of range for {ndim} dimension(s)")
    shape = list(a.shape[:ax]) + [1] * num_newaxis + list(a.shape[ax:])
    return te.compute(shape, lambda *i: a(*(list(i[:ax]) + list(i[ax + num_newaxis:]))),
                      name="T_expand_dims", tag=tag.BROADCAST)


def _is_zero(dim: Any) -> bool:
    return (isinstance(dim, int) and dim == 0) or (isinstance(dim, IntImm) and dim.value == 0)


def expand_like(a: Tensor, shape_like: Tensor, axis: Any) -> Tensor:
    """``a`` broadcast to ``shape_like``'s shape along the new dimensions ``axis`` (of the output):
    the other output dimensions index ``a`` in order.  A 1-element 1-D ``a`` with ``axis``
    naming every output dimension fills the output with its value."""
    check_tensors("expand_like", a=a, shape_like=shape_like)
    out_nd = len(shape_like.shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    if len(a.shape) + len(axes) != out_nd:
        if len(a.shape) == 1 and len(axes) == out_nd:
            return te.compute(shape_like.shape, lambda *i: a(0), name="T_expand_like", tag=tag.BROADCAST)
        raise ExprError(f"expand_like: {len(a.shape)} dimension(s) of a and {len(axes)} new axis(es) {axes} do not "
                        f"make the {out_nd} of shape_like")
    new = set(normalize_axes(axes, out_nd, "expand_like"))
    kept = [k for k in range(out_nd) if k not in new]
    return te.compute(shape_like.shape, lambda *i: a(*[i[k] for k in kept]), name="T_expand_like",
                      tag=tag.BROADCAST)


def squeeze(a: Tensor, axis: Any = None) -> Tensor:
    """``a`` without its size-1 dimensions (or only those in ``axis``)."""
    check_tensors("squeeze", a=a)
    ndim = len(a.shape)
    shape = get_const_tuple(a.shape)
    if axis is None:
        drop = {k for k, d in enumerate(shape) if d == 1}
    else:
        drop = set(normalize_axes(axis, ndim, "squeeze"))
        for k in drop:
            if shape[k] != 1:
                raise ExprError(f"squeeze: dimension {k} has size {shape[k]}, not 1")
    keep = [k for k in range(ndim) if k not in drop]

    def body(*i: Any) -> PrimExpr:
        src: list[Any] = [0] * ndim
        for pos, k in enumerate(keep):
            src[k] = i[pos]
        return a(*src)
    return te.compute([a.shape[k] for k in keep], body, name="T_squeeze", tag=tag.INJECTIVE)


def flatten(data: Tensor) -> Tensor:
    """(batch, ...) -> (batch, product of the rest)."""
    if not isinstance(data, Tensor) or len(data.shape) < 1:
        raise ExprError(f"flatten: data must be a tensor with a batch dimension, got "
                        f"{get_const_tuple(data.shape) if isinstance(data, Tensor) else type(data).__name__}")
    return reshape(data, [data.shape[0], prod(data.shape[1:])])


def split(ary: Tensor, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """``ary`` cut along ``axis`` into equal sections (an int) or at the given indices (a sequence),
    as numpy.split: the sections are ``ary[0:i0]``, ``ary[i0:i1]``, ..., ``ary[ik:]`` by Python's
    slice rules, so a negative index counts from the end, one past the end is clamped to it and an
    index below its predecessor gives an empty section."""
    check_tensors("split", ary=ary)
    what = "split"
    ax = normalize_axis(axis, len(ary.shape), what)
    n = static_dim(ary.shape[ax])
    if n is None:
        raise ExprError(f"{what}: dimension {ax} of {ary.name} ({ary.shape[ax]}) must be constant to be split")
    if _is_int_like(indices_or_sections):
        sections = _int_arg(indices_or_sections, what, "indices_or_sections")
        if sections < 1:
            raise ExprError(f"{what}: indices_or_sections is {sections}; the number of sections must be positive")
        if n % sections:
            raise ExprError(f"{what}: {n} does not divide into {sections} sections")
        step = n // sections
        bounds = [k * step for k in range(sections)] + [n]
    else:
        points = _sequence(indices_or_sections, what, "indices_or_sections",
                           "an integer (the number of sections) or a sequence of integer indices")
        bounds = [0] + [_int_arg(i, what, f"indices_or_sections[{k}]") for k, i in enumerate(points)] + [n]
    outs = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        start, stop, _ = slice(lo, hi).indices(n)
        shape = list(ary.shape)
        shape[ax] = max(stop - start, 0)
        outs.append(te.compute(shape, lambda *i, lo=start: ary(*[x + lo if k == ax else x for k, x in enumerate(i)]),
                               name="T_split", tag=tag.INJECTIVE))
    return outs


def take(a: Tensor, indices: Tensor, axis: int | None = None, batch_dims: int = 0, mode: str = "clip") -> Tensor:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened ``a`` when None), as TVM's:
    ``mode`` "clip" (the default) clamps an index into [0, n - 1], "wrap" takes it modulo n
    (numpy's negative indices: -1 is the last), "fast" uses it as it is (one outside [0, n) is
    a ``BoundsError`` when the kernel runs).  The first ``batch_dims`` axes of ``indices`` and
    ``a`` are shared: each batch takes from its own slice.  Unsigned indices are clipped or
    wrapped by their value (a uint64 index of 2**63 or more is not read as a negative one).  Taking
    from a length-0 axis is an ``ExprError`` in every mode unless ``indices`` is empty, as numpy."""
    what = "take"
    check_tensors(what, a=a, indices=indices)
    if mode not in ("clip", "wrap", "fast"):
        raise ExprError(f"{what}: mode '{mode}' is not 'clip', 'wrap' or 'fast'")
    if not indices.dtype.is_int or indices.dtype.is_bool:
        raise DTypeError(f"{what}: indices must hold integers, got {indices.dtype}")
    if axis is None:
        if batch_dims:
            raise ExprError(f"{what}: batch_dims={batch_dims} needs an axis")
        _check_take_from_empty(a, indices, prod(a.shape), "axis=None (the flattened tensor)")
        return take(reshape(a, [prod(a.shape)]), indices, 0, 0, mode)
    ax = normalize_axis(axis, len(a.shape), what)
    k = len(indices.shape)
    batch_dims = _int_arg(batch_dims, what, "batch_dims")
    bd = batch_dims + k if batch_dims < 0 else batch_dims
    if not 0 <= bd <= min(ax, k):
        raise ExprError(f"{what}: batch_dims={batch_dims} must lie in [0, {min(ax, k)}] (the axis is {ax}, "
                        f"indices has {k} dimension(s))")
    n = a.shape[ax]
    _check_take_from_empty(a, indices, n, f"axis {ax}")
    dt = indices.dtype
    # Unsigned indices keep their value: uint8/16/32 widen to a signed type that holds them all, and
    # uint64 is clipped / wrapped in uint64 itself (as int64, 2**63 would clip to 0 and wrap as negative).
    idt = "int64" if dt.bits == 64 or (not dt.is_signed and dt.bits >= 32) else "int32"
    shape = list(a.shape[:ax]) + list(indices.shape[bd:]) + list(a.shape[ax + 1:])
    if static_dim(n) == 0:  # no index to take (checked above): clip and wrap by 0 must not be built
        return te.compute(shape, lambda *i: te.const(0, a.dtype), name="T_take", tag=tag.INJECTIVE)

    def body(*i: Any) -> PrimExpr:
        pre, picked, post = list(i[:ax]), list(i[ax:ax + k - bd]), list(i[ax + k - bd:])
        value = indices(*(pre[:bd] + picked))
        if not dt.is_signed and dt.bits == 64 and mode != "fast":
            usize = convert(n).astype(dt)
            where = te.min(value, usize - 1) if mode == "clip" else te.floormod(value, usize)
            return a(*(pre + [where.astype(idt)] + post))
        raw = value.astype(idt)
        size = convert(n).astype(idt)
        if mode == "clip":
            where = te.max(te.min(raw, size - 1), te.const(0, idt))
        elif mode == "wrap":
            where = te.floormod(raw, size)
        else:
            where = raw
        return a(*(pre + [where] + post))
    return te.compute(shape, body, name="T_take", tag=tag.INJECTIVE)


def _check_take_from_empty(a: Tensor, indices: Tensor, size: Any, where: str) -> None:
    """An ``ExprError`` when ``size`` (the taken length) is the constant 0 and ``indices`` may hold an
    index: numpy raises there in every mode (no element to clip or wrap to); empty indices are fine."""
    if static_dim(size) == 0 and static_dim(prod(indices.shape)) != 0:
        raise ExprError(f"take: cannot take from {a.name} along {where}: it has length 0 but indices "
                        f"{indices.name} has shape {get_const_tuple(indices.shape)} (numpy: 'cannot do a "
                        f"non-empty take from an empty axes')")


def _ints(values: Any, what: str, arg: str) -> list[int | None]:
    """A list of Python ints (None kept) from an int or a sequence; an error names ``arg``."""
    if isinstance(values, (int, np.integer, PrimExpr)) and not isinstance(values, (bool, np.bool_)):
        seq = [values]
    elif isinstance(values, (str, bytes, dict, set, Tensor)) or not hasattr(values, "__iter__"):
        raise ExprError(f"{what}: {arg} must be an integer or a sequence of integers, got {values!r}")
    else:
        seq = list(values)
    out: list[int | None] = []
    for v in seq:
        if v is None:
            out.append(None)
            continue
        try:
            out.append(get_const_int(v))
        except ExprError:
            raise ExprError(f"{what}: {arg} must hold constant integers, got {v!r}") from None
    return out


def _index_of(value: PrimExpr, size: Any, what: str, arg: str) -> PrimExpr:
    """A data-dependent index read from an index tensor: negative values count from the end, as in
    numpy (one that still falls outside is a ``BoundsError`` when the compiled function runs)."""
    dt = value.dtype
    if not dt.is_int or dt.is_bool:
        raise DTypeError(f"{what}: {arg} must hold integers, got {dt}")
    idx = value.astype("int64" if dt.bits == 64 or (not dt.is_signed and dt.bits >= 32) else "int32")
    return idx if not dt.is_signed else te.if_then_else(idx < 0, idx + size, idx)


def strided_slice(a: Tensor, begin: Sequence[Any], end: Sequence[Any], strides: Sequence[Any] | None = None,
                  axes: Sequence[int] | None = None, slice_mode: str = "end") -> Tensor:
    """``a[begin:end:strides]`` by numpy's rules; ``slice_mode="size"``: ``end`` holds sizes (-1: to the end)."""
    # numpy's rules: negative indices count from the end, a negative step walks backwards, bounds clip
    what = "strided_slice"
    if any(isinstance(v, Tensor) for v in (begin, end, strides)):
        # begin/end/strides known only at run time: TVM hands these to dynamic_strided_slice
        if axes is not None or slice_mode != "end":
            raise ExprError(f"{what}: axes and slice_mode='size' are not supported with begin/end/strides tensors")
        for arg, v in (("begin", begin), ("end", end), ("strides", strides)):
            if isinstance(v, Tensor) and len(v.shape) != 1:
                raise ExprError(f"{what}: {arg} {v.name} must be a 1-D tensor, got shape {get_const_tuple(v.shape)}")
        if strides is None:
            strides = [1] * (static_dim(begin.shape[0]) if isinstance(begin, Tensor) else len(begin))
        return dynamic_strided_slice(a, begin, end, strides)
    ndim = len(a.shape)
    if slice_mode not in ("end", "size"):
        raise ExprError(f"{what}: slice_mode '{slice_mode}' is not 'end' or 'size'")
    begins, ends = _ints(begin, what, "begin"), _ints(end, what, "end")
    steps = _ints(strides, what, "strides") if strides is not None else []
    if axes is not None:
        sliced = [normalize_axis(x, ndim, what, f"axes[{k}]")
                  for k, x in enumerate(_sequence(axes, what, "axes", "a sequence of integers"))]
        if len(set(sliced)) != len(sliced):
            raise ExprError(f"{what}: axes {list(axes)} repeat an axis")
        if len(begins) != len(sliced) or len(ends) != len(sliced) or (steps and len(steps) != len(sliced)):
            raise ExprError(f"{what}: begin ({len(begins)}), end ({len(ends)}) and strides ({len(steps)}) must "
                            f"have one entry per axis in axes ({len(sliced)})")
    else:
        count = max(len(begins), len(ends), len(steps))
        if count > ndim:
            raise ExprError(f"{what}: {count} begin/end/strides entries for a tensor of {ndim} dimension(s)")
        sliced = list(range(count))
    start = [0] * ndim
    step = [1] * ndim
    shape = list(a.shape)
    for pos, ax in enumerate(sliced):
        n = static_dim(a.shape[ax])
        b = begins[pos] if pos < len(begins) else None
        e = ends[pos] if pos < len(ends) else None
        st = 1 if slice_mode == "size" else (steps[pos] if pos < len(steps) and steps[pos] is not None else 1)
        if st == 0:
            raise ExprError(f"{what}: strides[{pos}] is 0 (axis {ax})")
        if n is None:
            if b in (None, 0) and e is None and st == 1:
                continue  # the whole of a symbolic dimension
            raise ExprError(f"{what}: dimension {ax} of {a.name} ({a.shape[ax]}) must be constant to be sliced")
        if slice_mode == "size":
            b0 = slice(b, None).indices(n)[0]
            e = None if e is None or e < 0 else b0 + e
        lo, hi, st = slice(b, e, st).indices(n)
        start[ax], step[ax], shape[ax] = lo, st, len(range(lo, hi, st))

    def body(*i: Any) -> PrimExpr:
        return a(*[x * step[k] + start[k] if step[k] != 1 or start[k] else x for k, x in enumerate(i)])
    name = "T_strided_slice_with_axes" if axes is not None else "T_strided_slice"
    return te.compute(shape, body, name=name, tag=tag.INJECTIVE)


def flip(a: Tensor, axis: int = 0) -> Tensor:
    """``a`` reversed along ``axis``."""
    check_tensors("flip", a=a)
    ax = normalize_axis(axis, len(a.shape), "flip")
    n = a.shape[ax]
    return te.compute(a.shape, lambda *i: a(*[n - 1 - x if k == ax else x for k, x in enumerate(i)]),
                      name="T_reverse_sequence", tag=tag.INJECTIVE)


def tile(a: Tensor, reps: Sequence[int]) -> Tensor:
    """``a`` repeated ``reps[k]`` times along each dimension k (numpy.tile)."""
    reps_ = _ints(reps, "tile", "reps")
    if not reps_ or any(r is None or r < 1 for r in reps_):
        raise ExprError(f"tile: reps must be positive integers, got {reps!r}")
    ndim = max(len(a.shape), len(reps_))
    src = [1] * (ndim - len(a.shape)) + list(a.shape)
    reps_ = [1] * (ndim - len(reps_)) + reps_
    lead = ndim - len(a.shape)
    shape = [d * r for d, r in zip(src, reps_)]

    def body(*i: Any) -> PrimExpr:
        # a dimension of size 0 makes an empty result: no index is ever computed there
        return a(*[i[k] % src[k] if reps_[k] != 1 and not _is_zero(src[k]) else i[k] for k in range(lead, ndim)])
    return te.compute(shape, body, name="T_tile", tag=tag.BROADCAST)


def repeat(a: Tensor, repeats: int, axis: int) -> Tensor:
    """Each element of ``a`` repeated ``repeats`` times along ``axis`` (numpy.repeat)."""
    counts = _ints(repeats, "repeat", "repeats")
    count = counts[0] if len(counts) == 1 else None
    if count is None or count < 1:
        raise ExprError(f"repeat: repeats must be a positive integer, got {repeats!r}")
    ax = normalize_axis(axis, len(a.shape), "repeat")
    shape = list(a.shape)
    shape[ax] = shape[ax] * count
    return te.compute(shape, lambda *i: a(*[x // count if k == ax else x for k, x in enumerate(i)]),
                      name="T_repeat", tag=tag.BROADCAST)


def _parse_layout(name: str, what: str, arg: str) -> list[tuple[str, int | None]]:
    """("C", None) for a primal axis, ("C", 16) for its sub-axis "16c", in layout order."""
    try:
        lay = Layout(name)
    except ExprError as err:
        raise ExprError(f"{what}: {arg}: {err}") from None
    return [(a, None) if a.isupper() else (a.upper(), lay.factor_of(a)) for a in lay]


def layout_transform(array: Tensor, src_layout: str, dst_layout: str, schedule_rule: str = "None") -> Tensor:
    """``array`` permuted (NCHW -> NHWC) and/or re-blocked (NCHW -> NCHW16c, NCHW4c -> NCHW8c); overrun is 0."""
    what = "layout_transform"
    src, dst = _parse_layout(src_layout, what, "src_layout"), _parse_layout(dst_layout, what, "dst_layout")
    if len(src) != len(array.shape):
        raise ExprError(f"{what}: src_layout '{src_layout}' has {len(src)} axes but {array.name} has "
                        f"{len(array.shape)} dimension(s)")
    if {ax for ax, f in src if f is None} != {ax for ax, f in dst if f is None}:
        raise ExprError(f"{what}: '{src_layout}' and '{dst_layout}' do not hold the same axes")
    src_factor = {ax: f for ax, f in src if f is not None}
    dst_factor = {ax: f for ax, f in dst if f is not None}
    full: dict[str, Any] = {}
    for k, (ax, f) in enumerate(src):
        dim = array.shape[k]
        if f is not None:
            if static_dim(dim) not in (None, f):
                raise ExprError(f"{what}: sub-axis {f}{ax.lower()} of '{src_layout}' has size {static_dim(dim)}")
            continue
        full[ax] = dim * src_factor[ax] if ax in src_factor else dim
    shape = [f if f is not None else (full[ax] + dst_factor[ax] - 1) // dst_factor[ax] if ax in dst_factor
             else full[ax] for ax, f in dst]
    padded = [ax for ax in dst_factor if static_dim(full[ax]) is None or static_dim(full[ax]) % dst_factor[ax]]

    def body(*i: Any) -> PrimExpr:
        outer = {ax: x for (ax, f), x in zip(dst, i) if f is None}
        inner = {ax: x for (ax, f), x in zip(dst, i) if f is not None}
        pos = {ax: outer[ax] * dst_factor[ax] + inner[ax] if ax in dst_factor else outer[ax] for ax in outer}
        idx = [pos[ax] % f if f is not None else pos[ax] // src_factor[ax] if ax in src_factor else pos[ax]
               for ax, f in src]
        if not padded:
            return array(*idx)
        inside = te.all(*[pos[ax] < full[ax] for ax in padded])
        return te.if_then_else(inside, array(*idx), te.const(0, array.dtype))
    return te.compute(shape, body, name="T_layout_trans", tag=tag.INJECTIVE)


def gather(data: Tensor, axis: int, indices: Tensor) -> Tensor:
    """``out[..., i, ...] = data[..., indices[..., i, ...], ...]`` along ``axis`` (numpy.take_along_axis)."""
    what = "gather"
    check_tensors(what, data=data, indices=indices)
    ndim = len(data.shape)
    ax = normalize_axis(axis, ndim, what)
    if len(indices.shape) != ndim:
        raise ExprError(f"{what}: indices has {len(indices.shape)} dimension(s), data has {ndim}")
    for k in range(ndim):
        di, dd = static_dim(indices.shape[k]), static_dim(data.shape[k])
        if k != ax and di is not None and dd is not None and di > dd:
            raise ExprError(f"{what}: indices dimension {k} has size {di}, more than data's {dd}")

    def body(*i: Any) -> PrimExpr:
        where = _index_of(indices(*i), data.shape[ax], what, "indices")
        return data(*[where if k == ax else x for k, x in enumerate(i)])
    return te.compute(indices.shape, body, name="T_gather", tag=tag.INJECTIVE)


def gather_nd(a: Tensor, indices: Tensor, batch_dims: int = 0) -> Tensor:
    """``out[y..., r...] = a[indices[0, y...], ..., indices[M-1, y...], r...]`` (``batch_dims`` leading y
    shared); float indices are truncated to integers, as in TVM."""
    what = "gather_nd"
    check_tensors(what, a=a, indices=indices)
    if len(indices.shape) < 1:
        raise ExprError(f"{what}: indices must have at least one dimension")
    m = get_const_int(indices.shape[0])
    batch_dims = _int_arg(batch_dims, what, "batch_dims")
    if batch_dims < 0 or m < 1 or batch_dims + m > len(a.shape):
        raise ExprError(f"{what}: indices.shape[0] = {m} (with batch_dims {batch_dims}) must lie in "
                        f"1..{len(a.shape) - batch_dims} for a tensor of {len(a.shape)} dimension(s)")
    if len(indices.shape) - 1 < batch_dims:
        raise ExprError(f"{what}: indices has no room for {batch_dims} batch dimension(s)")
    ny = len(indices.shape) - 1
    shape = list(indices.shape[1:]) + list(a.shape[batch_dims + m:])
    # float indices are truncated toward zero, as TVM's gather_nd casts them (its tests pass 1.8 for 1)
    as_int = (lambda v: v.astype("int32")) if indices.dtype.is_float else (lambda v: v)

    def body(*i: Any) -> PrimExpr:
        lead, rest = list(i[:ny]), list(i[ny:])
        picked = [_index_of(as_int(indices(k, *lead)), a.shape[batch_dims + k], what, "indices") for k in range(m)]
        return a(*(lead[:batch_dims] + picked + rest))
    return te.compute(shape, body, name="T_gather_nd", tag=tag.INJECTIVE)


def one_hot(indices: Tensor, on_value: Any, off_value: Any, depth: int, axis: int, dtype: str) -> Tensor:
    """``on_value`` where the new ``axis`` (of size ``depth``) equals the index, ``off_value`` elsewhere."""
    check_tensors("one_hot", indices=indices)
    ndim = len(indices.shape)
    axis = _int_arg(axis, "one_hot", "axis")
    ax = axis + ndim + 1 if axis < 0 else axis
    if not 0 <= ax <= ndim:
        raise ExprError(f"one_hot: axis {axis} is out of range for {ndim} + 1 dimension(s)")
    if get_const_int(depth) < 1:
        raise ExprError(f"one_hot: depth must be positive, got {depth}")
    if not indices.dtype.is_int or indices.dtype.is_bool:
        raise DTypeError(f"one_hot: indices must hold integers, got {indices.dtype}")
    # a Python number must fit dtype (300 would wrap to 44 in int8, NaN become INT_MIN); an expression is cast
    on, off = (scalar_const(v, dtype, "one_hot", arg) for v, arg in ((on_value, "on_value"), (off_value, "off_value")))
    shape = list(indices.shape[:ax]) + [depth] + list(indices.shape[ax:])

    def body(*i: Any) -> PrimExpr:
        idx = indices(*(i[:ax] + i[ax + 1:]))
        return te.if_then_else(idx.astype("int64") == i[ax].astype("int64"), on, off)
    return te.compute(shape, body, name="T_one_hot", tag=tag.INJECTIVE)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``condition`` is nonzero, else ``y``; the three broadcast as in numpy."""
    parts = [condition, x, y]
    tensors = [t for t in parts if isinstance(t, Tensor)]
    if not tensors:
        raise ExprError("where: needs at least one tensor among condition, x and y")
    shape: tuple = ()
    for t in tensors:
        shape = broadcast_shape(shape, t.shape, "where")
    readers = [broadcast_reader(t, len(shape)) if isinstance(t, Tensor) else None for t in parts]

    def body(*i: Any) -> PrimExpr:
        c, a, b = (r(*i) if r is not None else v for r, v in zip(readers, parts))
        c = convert(c)
        cond = c if c.dtype.is_bool else c != te.const(0, c.dtype)
        return te.if_then_else(cond, a, b)
    return te.compute(shape, body, name="T_where", tag=tag.BROADCAST)


def _fill_const(value: Any, dtype: Any, what: str) -> PrimExpr:
    """``value`` as a constant of ``dtype``, converted as numpy's ``np.full`` converts it: made in
    ``dtype`` directly (not through a float32 / int32 default first, which refused 1e300 as
    float64 and 2**64 - 1 as uint64 and rounded 123456789.0 on its way to int64).  A float
    becomes an integer by truncation (NaN and out-of-range floats as numpy's unsafe cast), a too
    large float becomes inf as in numpy; a Python int outside an integer dtype's range is a
    ``DTypeError`` (numpy: OverflowError).  An expression is cast."""
    dt = as_dtype(dtype)
    if isinstance(value, PrimExpr):
        return value.astype(dt)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (numbers.Real, np.bool_)):
        raise ExprError(f"{what}: fill_value must be a number, got {value!r} ({type(value).__name__})")
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_, np.generic)) \
            and not dt.is_float and not dt.is_bool:
        return te.const(int(value), dt)  # its range checked
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = np.array(value).astype(dt.numpy()).item()
    except (OverflowError, ValueError, TypeError) as err:
        raise DTypeError(f"{what}: fill_value {value!r} cannot be converted to {dt}: {err}") from None
    return te.const(converted, dt)


def full(shape: Sequence[Any], dtype: str, fill_value: Any) -> Tensor:
    """A tensor of ``shape`` holding ``fill_value`` (converted to ``dtype`` as numpy.full does) everywhere."""
    value = _fill_const(fill_value, dtype, "full")
    return te.compute(shape, lambda *i: value, name="T_full", tag=tag.ELEMWISE)


def full_like(x: Tensor, fill_value: Any) -> Tensor:
    """A tensor of ``x``'s shape and dtype holding ``fill_value`` everywhere."""
    if not isinstance(x, Tensor):
        raise ExprError(f"full_like: x must be a tensor, got {type(x).__name__}")
    value = _fill_const(fill_value, x.dtype, "full_like")
    return te.compute(x.shape, lambda *i: value, name="T_full_like", tag=tag.ELEMWISE)


def trilu(data: Tensor, k: Any, upper: bool) -> Tensor:
    """numpy's triu (``upper``) or tril of the last two axes: elements on or above (below) the
    ``k``-th diagonal kept, the others zero.  ``k``: an int, an expression or a 0-d/1-element
    tensor (read when the kernel runs)."""
    check_tensors("trilu", data=data)
    if len(data.shape) < 2:
        raise ExprError(f"topi.trilu: data must have at least 2 dimensions, got shape {get_const_tuple(data.shape)}")
    if isinstance(k, Tensor):
        if prod(get_const_tuple(k.shape)) != 1:
            raise ExprError(f"topi.trilu: k must hold one value, got shape {get_const_tuple(k.shape)}")
        k = k(*([0] * len(k.shape)))
    kk = convert(k)
    if not kk.dtype.is_int:
        raise DTypeError(f"topi.trilu: k must be an integer, got {kk.dtype}")

    def body(*i: PrimExpr) -> PrimExpr:
        row, col = i[-2], i[-1]
        diag = col.astype("int64") - row.astype("int64")
        keep = diag >= kk.astype("int64") if upper else diag <= kk.astype("int64")
        return te.if_then_else(keep, data(*i), te.const(0, data.dtype))
    return te.compute(data.shape, body, name="T_trilu", tag=tag.ELEMWISE)


def shape(array: Tensor, dtype: str = "int32") -> Tensor:
    """A 1-D tensor of ``array``'s dimensions."""
    if not isinstance(array, Tensor):
        raise ExprError(f"shape: array must be a tensor, got {type(array).__name__}")
    dims = [convert(d).astype(dtype) for d in array.shape]
    if not dims:  # a 0-d tensor: numpy.shape gives ()
        return te.compute((0,), lambda i: te.const(0, dtype), name="T_shape", tag=tag.ELEMWISE)

    def body(i: PrimExpr) -> PrimExpr:
        value = dims[-1]
        for n in range(len(dims) - 2, -1, -1):
            value = te.if_then_else(i == n, dims[n], value)
        return value
    return te.compute((len(dims),), body, name="T_shape", tag=tag.ELEMWISE)


def ndarray_size(array: Tensor, dtype: str = "int32") -> Tensor:
    """A 0-d tensor holding the number of elements of ``array``."""
    check_tensors("ndarray_size", array=array)
    size = convert(1).astype(dtype)
    for d in array.shape:
        size = size * convert(d).astype(dtype)
    return te.compute((), lambda: size, name="ndarray_size", tag=tag.ELEMWISE)


def unravel_index(indices: Tensor, shape: Tensor) -> Tensor:
    """numpy.unravel_index with its results stacked: ``out[k, j]`` is coordinate k of flat index
    ``indices[j]`` in an array of dimensions ``shape`` (a 1-D tensor, read when the kernel runs);
    out is (len(shape),) for a 0-d ``indices``.  An index outside [0, prod(shape)) is a
    ``BoundsError`` when the kernel runs, as numpy raises."""
    what = "unravel_index"
    check_tensors(what, indices=indices, shape=shape)
    if len(shape.shape) != 1 or len(indices.shape) > 1:
        raise ExprError(f"{what}: expected 0-d or 1-d indices and a 1-d shape, got {indices.name}"
                        f"{get_const_tuple(indices.shape)} and {shape.name}{get_const_tuple(shape.shape)}")
    for t, arg in ((indices, "indices"), (shape, "shape")):
        if not t.dtype.is_int or t.dtype.is_bool:
            raise DTypeError(f"{what}: {arg} must hold integers, got {t.dtype}")
    n = get_const_int(shape.shape[0])
    dt = indices.dtype

    def dim(m: PrimExpr | int) -> PrimExpr:
        return shape(m).astype(dt)

    def coordinate(k: PrimExpr, flat: PrimExpr) -> PrimExpr:
        stride: PrimExpr = te.const(1, dt)
        for m in range(1, n):  # the product of the dimensions after k
            stride = stride * te.if_then_else(k < m, dim(m), te.const(1, dt))
        total = dim(0)
        for m in range(1, n):
            total = total * dim(m)
        # An index out of range reads shape[n], past its end: the kernel's bounds check names it.
        sizes = [dim(te.if_then_else(te.all(flat >= 0, flat < total), 0, n))] + [dim(m) for m in range(1, n)]
        size = sizes[-1]
        for m in range(n - 2, -1, -1):  # sizes[k]
            size = te.if_then_else(k == m, sizes[m], size)
        return te.floormod(te.floordiv(flat, stride), size)

    if len(indices.shape) == 0:
        return te.compute((n,), lambda k: coordinate(k, indices()), name="T_unravel_index", tag=tag.INJECTIVE)
    return te.compute((n, indices.shape[0]), lambda k, j: coordinate(k, indices(j)), name="T_unravel_index",
                      tag=tag.INJECTIVE)


def tensordot(a: Tensor, b: Tensor, axes: Any) -> Tensor:
    """numpy.tensordot: contract the last ``axes`` axes of ``a`` with the first ``axes`` of ``b``
    (an int), or the axes listed in ``axes = (axes_of_a, axes_of_b)``."""
    check_tensors("tensordot", a=a, b=b)
    if isinstance(axes, int):
        if not 0 <= axes <= min(len(a.shape), len(b.shape)):
            raise ExprError(f"topi.tensordot: axes={axes} is out of range for shapes {get_const_tuple(a.shape)} "
                            f"and {get_const_tuple(b.shape)}")
        ax_a, ax_b = list(range(len(a.shape) - axes, len(a.shape))), list(range(axes))
    else:
        try:
            ax_a, ax_b = ([x] if isinstance(x, int) else list(x) for x in axes)
        except (TypeError, ValueError):
            raise ExprError(f"topi.tensordot: axes must be an int or a pair of axis lists, got {axes!r}") from None
        ax_a = [normalize_axis(x, len(a.shape), "topi.tensordot (axes of a)") for x in ax_a]
        ax_b = [normalize_axis(x, len(b.shape), "topi.tensordot (axes of b)") for x in ax_b]
    if len(ax_a) != len(ax_b):
        raise ExprError(f"topi.tensordot: {len(ax_a)} axes of a against {len(ax_b)} axes of b")
    for x, y in zip(ax_a, ax_b):
        if static_dim(a.shape[x]) is not None and static_dim(b.shape[y]) is not None and \
                static_dim(a.shape[x]) != static_dim(b.shape[y]):
            raise ExprError(f"topi.tensordot: axis {x} of a has {a.shape[x]} elements, axis {y} of b {b.shape[y]}")
    free_a = [i for i in range(len(a.shape)) if i not in ax_a]
    free_b = [i for i in range(len(b.shape)) if i not in ax_b]
    ks = [te.reduce_axis((0, a.shape[x]), name=f"k{n}") for n, x in enumerate(ax_a)]

    def fcompute(*idx: PrimExpr) -> PrimExpr:
        ia: list[Any] = [None] * len(a.shape)
        ib: list[Any] = [None] * len(b.shape)
        for pos, v in zip(free_a, idx[:len(free_a)]):
            ia[pos] = v
        for pos, v in zip(free_b, idx[len(free_a):]):
            ib[pos] = v
        for k, x, y in zip(ks, ax_a, ax_b):
            ia[x], ib[y] = k, k
        prod_ = a(*ia) * b(*ib)
        return te.sum(prod_, axis=ks) if ks else prod_
    shape = [a.shape[i] for i in free_a] + [b.shape[i] for i in free_b]
    return te.compute(shape, fcompute, name="T_tensordot", tag="tensordot")



def sliding_window(data: Tensor, axis: int, window_shape: Sequence[int], strides: Sequence[int]) -> Tensor:
    """Every window of ``window_shape`` over the axes ``axis`` .. last of ``data``, slid by ``strides``:
    ``out[pre..., w..., k...] = data[pre..., w·stride + k...]``, shape ``data.shape[:axis]`` +
    ``ceil((dim - window + 1) / stride)`` per slid axis + ``window_shape`` (numpy's
    ``sliding_window_view(data, window_shape, axes)[..., ::stride, ...]``).  TVM asks for
    ``axis >= 0``; a negative one counts from the end here."""
    what = "sliding_window"
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    ndim = len(data.shape)
    if isinstance(axis, PrimExpr) or not isinstance(axis, int):
        raise ExprError(f"{what}: axis must be an int, got {axis!r}")
    ax = normalize_axis(axis, ndim, what)
    count = ndim - ax
    windows, steps = _ints(window_shape, what, "window_shape"), _ints(strides, what, "strides")
    for arg, vals in (("window_shape", windows), ("strides", steps)):
        if len(vals) != count:
            raise ExprError(f"{what}: {arg} has {len(vals)} entries; it needs one per axis from axis {ax} on "
                            f"({count} for {ndim} dimension(s))")
        if any(v is None or v < 1 for v in vals):
            raise ExprError(f"{what}: {arg} must hold positive integers, got {list(vals)}")
    slid = []
    for k, (w, st) in enumerate(zip(windows, steps)):
        dim = data.shape[ax + k]
        if static_dim(dim) is not None and static_dim(dim) < w:
            raise ExprError(f"{what}: window_shape[{k}] = {w} is larger than dimension {ax + k} of "
                            f"{data.name} ({static_dim(dim)})")
        slid.append((dim - w + st) // st if static_dim(dim) is None else (static_dim(dim) - w + st) // st)
    shape = list(data.shape[:ax]) + slid + list(windows)

    def body(*i: PrimExpr) -> PrimExpr:
        pos = [i[ax + k] * steps[k] + i[ax + count + k] for k in range(count)]
        return data(*(list(i[:ax]) + pos))
    return te.compute(shape, body, name="T_sliding_window", tag=tag.INJECTIVE)


class _Bounds:
    """begin, end or strides of ``strided_set``: constants (None: numpy's default) or a 1-D
    integer tensor read when the kernel runs (axes past its length get the default)."""

    def __init__(self, value: Any, ndim: int, what: str, arg: str):
        self.tensor: Tensor | None = None
        self.consts: list[int | None] = []
        if isinstance(value, Tensor):
            if len(value.shape) != 1:
                raise ExprError(f"{what}: {arg} must be a 1-D tensor, got shape {list(value.shape)}")
            if not value.dtype.is_int or value.dtype.is_bool:
                raise DTypeError(f"{what}: {arg} must hold integers, got {value.dtype}")
            if static_dim(value.shape[0]) is None:
                raise ExprError(f"{what}: the length of {arg} ({value.shape[0]}) must be a constant")
            self.tensor, self.length = value, static_dim(value.shape[0])
        else:
            self.consts = _ints(value, what, arg)
            self.length = len(self.consts)
        if self.length > ndim:
            raise ExprError(f"{what}: {arg} has {self.length} entries for a tensor of {ndim} dimension(s)")

    def const(self, k: int) -> int | None:
        """Entry k as a constant (None: the default or read at run time)."""
        return self.consts[k] if self.tensor is None and k < self.length else None

    def given(self, k: int) -> bool:
        return k < self.length and (self.tensor is not None or self.consts[k] is not None)

    def read(self, k: int) -> PrimExpr:
        """Entry k as an int64 expression (a tensor read, or the constant)."""
        if self.tensor is None:
            return te.const(self.consts[k], "int64")
        return self.tensor(k).astype("int64")


def _clamped(raw: PrimExpr, n: PrimExpr, forward: Any) -> PrimExpr:
    """numpy's slice bound: negative counts from the end, then clamped into [0, n] walking
    forward, [-1, n - 1] walking backward (``forward``: a bool or a condition)."""
    x = te.if_then_else(raw < 0, raw + n, raw)
    one = te.const(1, "int64")
    zero = te.const(0, "int64")
    if forward is True:
        return te.min(te.max(x, zero), n)
    if forward is False:
        return te.min(te.max(x, -one), n - one)
    return te.if_then_else(forward, te.min(te.max(x, zero), n), te.min(te.max(x, -one), n - one))


def strided_set(a: Tensor, v: Tensor, begin: Any, end: Any, strides: Any = None) -> Tensor:
    """``a`` with ``a[begin:end:strides] = v`` (numpy's slice assignment, TVM's ``strided_set``).

    ``begin``, ``end`` and ``strides`` are 1-D integer tensors, read when the kernel runs (TVM's
    form), or lists of constants; an axis past their length takes the whole axis (stride 1).
    Negative entries count from the end and bounds clamp as numpy's; where TVM's index formula
    differs from numpy's (a negative stride whose begin is not ``-1`` modulo it, a begin below
    ``-len``), numpy's rule holds.  ``v`` has ``a``'s rank and the slice's extent on each axis
    (or 1, broadcast).  With constant bounds a mismatch is an ``ExprError``; with bounds read at
    run time a mismatched ``v`` or a zero stride is a ``BoundsError`` (on ``v`` or ``strides``)
    when the kernel runs, where numpy raises."""
    what = "strided_set"
    for t, arg in ((a, "a"), (v, "v")):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
    ndim = len(a.shape)
    if len(v.shape) != ndim:
        raise ExprError(f"{what}: v has {len(v.shape)} dimension(s), a has {ndim}; give v a's rank")
    if a.dtype != v.dtype:
        raise DTypeError(f"{what}: v is {v.dtype} but a is {a.dtype}")
    bs, es = _Bounds(begin, ndim, what, "begin"), _Bounds(end, ndim, what, "end")
    ss = _Bounds(strides if strides is not None else [], ndim, what, "strides")
    axes = []  # per axis: (selected(i), position(i), mismatch) as functions / expressions
    for k in range(ndim):
        n_static = static_dim(a.shape[k])
        v_static = static_dim(v.shape[k])
        # the stride as a constant, None when it is read at run time
        st = (None if ss.tensor is not None else ss.const(k)) if ss.given(k) else 1
        if st == 0:
            raise ExprError(f"{what}: strides[{k}] is 0")
        constant = n_static is not None and st is not None and bs.tensor is None and es.tensor is None
        if constant:
            lo, hi, step = slice(bs.const(k), es.const(k), st).indices(n_static)
            size = len(range(lo, hi, step))
            if v_static is not None and v_static not in (size, 1):
                raise ExprError(f"{what}: axis {k} of the slice has {size} element(s) but v's has {v_static}")
            axes.append(_const_axis(lo, step, size, v.shape[k]))
        else:
            axes.append(_dynamic_axis(a.shape[k], v.shape[k], bs, es, ss, k, st))

    def body(*i: PrimExpr) -> PrimExpr:
        idx = [x.astype("int64") for x in i]
        inside = [sel(x) for (sel, _, _), x in zip(axes, idx)]
        bad = [m for _, _, m in axes if m is not None]
        where = [pos(x) for (_, pos, _), x in zip(axes, idx)]
        take_v = te.all(*inside) if inside else te.const(True)
        if bad:
            take_v = take_v | te.any(*bad)
        return te.if_then_else(take_v, v(*where), a(*i))
    return te.compute(a.shape, body, name="strided_set", tag=tag.INJECTIVE + ",strided_set")


def _v_index(size: PrimExpr, size_static: int | None, v_dim: Any) -> tuple:
    """How an axis of ``v`` is read against a slice of ``size`` elements: (position -> index
    function, mismatch condition or None).  An extent of 1 broadcasts, as in numpy; any other
    extent that differs from the slice's makes every element read ``v`` past its end, a
    ``BoundsError`` naming ``v`` when the kernel runs (numpy raises there too)."""
    v_static = static_dim(v_dim)
    if v_static == 1:
        return (lambda pos: te.const(0, "int64")), None
    if v_static is not None and size_static is not None:
        return (lambda pos: pos), None  # checked when declared
    vn = convert(v_dim).astype("int64")
    if v_static is not None:
        mismatch = size != vn
        return (lambda pos: te.if_then_else(mismatch, vn, pos)), mismatch
    mismatch = te.all(size != vn, vn != 1)
    return (lambda pos: te.if_then_else(mismatch, vn, te.if_then_else(vn == 1, te.const(0, "int64"), pos))), \
        mismatch


def _const_axis(lo: int, step: int, size: int, v_dim: Any) -> tuple:
    """selected/position/mismatch of an axis whose slice is known when declared."""
    last = lo + step * (size - 1)
    first, final = (lo, last) if step > 0 else (last, lo)
    read_v, mismatch = _v_index(te.const(size, "int64"), size, v_dim)

    def selected(i: PrimExpr) -> PrimExpr:
        if size == 0:
            return te.const(False)
        cond = te.all(i >= first, i <= final)
        return cond if abs(step) == 1 else te.all(cond, te.floormod(i - lo, abs(step)) == 0)

    def position(i: PrimExpr) -> PrimExpr:
        return read_v((i - lo) // step if step > 0 else (lo - i) // -step)
    return selected, position, mismatch


def _dynamic_axis(dim: Any, v_dim: Any, bs: _Bounds, es: _Bounds, ss: _Bounds, k: int, st: int | None) -> tuple:
    """selected/position/mismatch of an axis whose bounds are read when the kernel runs."""
    n = convert(dim).astype("int64")
    zero, one = te.const(0, "int64"), te.const(1, "int64")
    if st is not None:
        step: PrimExpr = te.const(st, "int64")
        forward: Any = st > 0
    else:
        # a zero stride reads strides past its end: a BoundsError naming it, where numpy raises
        where = te.if_then_else(ss.read(k) == 0, te.const(ss.length, "int64"), te.const(k, "int64"))
        step = ss.tensor(where).astype("int64")
        forward = step > 0

    def pick(fwd: PrimExpr, back: PrimExpr) -> PrimExpr:
        return fwd if forward is True else back if forward is False else te.if_then_else(forward, fwd, back)
    b = _clamped(bs.read(k), n, forward) if bs.given(k) else pick(zero, n - one)
    e = _clamped(es.read(k), n, forward) if es.given(k) else pick(n, -one)
    size = te.max(pick((e - b + step - one) // step, (b - e - step - one) // -step), zero)
    read_v, mismatch = _v_index(size, None, v_dim)

    def selected(i: PrimExpr) -> PrimExpr:
        return pick(te.all(i >= b, i < e, te.floormod(i - b, step) == 0),
                    te.all(i <= b, i > e, te.floormod(b - i, -step) == 0))

    def position(i: PrimExpr) -> PrimExpr:
        return read_v(pick((i - b) // step, (b - i) // -step))
    return selected, position, mismatch


__all__ = ["concatenate", "expand_dims", "expand_like", "flatten", "flip", "full", "full_like", "gather", "gather_nd",
           "layout_transform", "ndarray_size", "one_hot", "repeat", "reshape", "shape", "sliding_window", "split",
           "squeeze", "stack", "strided_set", "strided_slice", "take", "tensordot", "tile", "transpose", "trilu",
           "unravel_index", "where"]
