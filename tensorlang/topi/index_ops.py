"""Index-driven ops: ``arange``, ``reverse_sequence`` (te.compute) and the scatters ``scatter_elements``,
``scatter`` and ``scatter_nd``.  A scatter writes an element more than once when indices repeat, which no
``te.compute`` can say, so the scatters are ``te.extern`` kernels written with the IR builder: copy ``data``
to the output, then walk the updates in order and combine each into the element its indices name."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import te
from ..errors import DTypeError, ExprError
from ..ir import builder as ir_builder
from ..te.dtype import DType, as_dtype
from ..te.expr import PrimExpr, convert
from ..te.extern import DeclBuffer
from ..te.tensor import Tensor
from . import tag
from .utils import check_tensors, get_const_float, get_const_int, get_const_tuple, static_dim


def _axis(axis: Any, ndim: int, what: str, arg: str) -> int:
    """``axis`` counted from 0 (negative from the end); an error names the operator and ``arg``."""
    try:
        ax = get_const_int(axis)
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a constant integer, got {axis!r}") from None
    a = ax + ndim if ax < 0 else ax
    if not 0 <= a < ndim:
        raise ExprError(f"{what}: {arg} {ax} is out of range for {ndim} dimension(s)")
    return a


def _int_dtype(t: Tensor, what: str, arg: str) -> DType:
    dt = t.dtype
    if not dt.is_int or dt.is_bool:
        raise DTypeError(f"{what}: {arg} must hold integers, got {dt}")
    return dt


def _number(value: Any, what: str, arg: str) -> float | int:
    """A Python number from a number or a constant expression; an error names ``arg``."""
    if isinstance(value, (bool, np.bool_)):
        raise ExprError(f"{what}: {arg} must be a number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    try:
        return get_const_float(value) if not (isinstance(value, PrimExpr) and value.dtype.is_int) \
            else get_const_int(value)
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a constant number, got {value!r}") from None


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: str = "float32") -> Tensor:
    """numpy.arange: ``start, start + step, ...`` short of ``stop`` (``arange(n)`` counts from 0), in ``dtype``;
    ceil((stop - start) / step) elements, none when that is not positive."""
    what = "arange"
    if stop is None:
        start, stop = 0, start
    first, last, delta = _number(start, what, "start"), _number(stop, what, "stop"), _number(step, what, "step")
    if delta == 0:
        raise ExprError(f"{what}: step must not be zero")
    try:
        dt = as_dtype(dtype)
    except DTypeError as exc:
        raise DTypeError(f"{what}: dtype {dtype!r} is not a dtype ({exc})") from None
    if dt.is_bool or dt.lanes != 1 or not (dt.is_int or dt.is_float):
        raise DTypeError(f"{what}: dtype must be a scalar integer or float type, got {dt}")
    for arg, v in (("start", first), ("stop", last), ("step", delta)):
        if isinstance(v, float) and not math.isfinite(v):
            raise ExprError(f"{what}: {arg} must be finite, got {v} (numpy: 'arange: cannot compute length')")
    # numpy's length: the exact difference over step, rounded as a float (as numpy computes it)
    length = max(math.ceil((last - first) / delta), 0)
    if length > 2**63 - 1:
        raise ExprError(f"{what}: start={first}, stop={last}, step={delta} give {length} elements, more than an "
                        f"int64 length holds (numpy: 'Maximum allowed size exceeded')")
    # numpy fills from its first two elements: v[i] = v[0] + i * (v[1] - v[0]), both already in dtype,
    # which is also what makes a float start/step with an integer dtype come out as numpy's do.
    npd = np.dtype(str(dt))
    v0 = np.array(first).astype(npd)
    v1 = np.array(first + delta).astype(npd)
    d = (v1 - v0).astype(npd)
    c0, cd = te.const(v0.item(), str(dt)), te.const(d.item(), str(dt))
    return te.compute((length,), lambda i: c0 + i.astype(str(dt)) * cd, name="T_arange", tag=tag.ELEMWISE)


def reverse_sequence(a: Tensor, seq_lengths: Tensor, seq_axis: int = 1, batch_axis: int = 0) -> Tensor:
    """For each batch ``b`` (along ``batch_axis``), the first ``seq_lengths[b]`` elements along ``seq_axis``
    reversed and the rest kept; a length past the axis reverses all of it, one of 1 or less none."""
    check_tensors("reverse_sequence", a=a, seq_lengths=seq_lengths)
    what = "reverse_sequence"
    ndim = len(a.shape)
    sax = _axis(seq_axis, ndim, what, "seq_axis")
    bax = _axis(batch_axis, ndim, what, "batch_axis")
    if sax == bax:
        raise ExprError(f"{what}: seq_axis and batch_axis are both axis {sax}")
    if not isinstance(seq_lengths, Tensor) or len(seq_lengths.shape) != 1:
        raise ExprError(f"{what}: seq_lengths must be a 1-D tensor (one length per batch)")
    _int_dtype(seq_lengths, what, "seq_lengths")
    nb, nl = static_dim(a.shape[bax]), static_dim(seq_lengths.shape[0])
    if nb is not None and nl is not None and nb != nl:
        raise ExprError(f"{what}: seq_lengths has {nl} entries but the batch axis {bax} has {nb}")
    n = a.shape[sax]

    def body(*i: Any) -> PrimExpr:
        pos = i[sax]

        # clamp in a type that holds every length (uint64 stays unsigned) before narrowing to the
        # index type: an int64 length of 2**32 + 1 cast to int32 first would read as 1
        sdt = seq_lengths.dtype
        wide = "uint64" if (sdt.bits == 64 and not sdt.is_signed) else "int64"
        length = te.min(seq_lengths[i[bax]].astype(wide), convert(n).astype(wide)).astype(pos.dtype)
        src = te.if_then_else(pos < length, length - 1 - pos, pos)
        return a(*[src if k == sax else x for k, x in enumerate(i)])
    return te.compute(a.shape, body, name="T_reverse_sequence", tag=tag.INJECTIVE)


# --- scatters ----------------------------------------------------------------------------------------------

def _combiner(reduction: str, what: str, arg: str, choices: Sequence[str]) -> Callable[[Any, Any], Any]:
    """How an update meets the element already there."""
    table: dict[str, Callable[[Any, Any], Any]] = {
        "update": lambda old, new: new,
        "add": lambda old, new: old + new,
        "mul": lambda old, new: old * new,
        "min": lambda old, new: te.min(old, new),
        "max": lambda old, new: te.max(old, new),
    }
    if reduction not in choices:
        raise ExprError(f"{what}: {arg} '{reduction}' is not one of {', '.join(repr(c) for c in choices)}")
    return table[reduction]


def _flat(idx: Sequence[Any], shape: Sequence[Any]) -> Any:
    """The row-major offset of ``idx`` in ``shape`` (0 for a 0-d tensor)."""
    flat: Any = 0
    for d, i in zip(shape, idx):
        flat = flat * d + i
    return flat


def _flat_size(shape: Sequence[Any]) -> Any:
    total: Any = 1
    for d in shape:
        total = total * d
    return total


@contextlib.contextmanager
def _loops(ib: ir_builder.IRBuilder, shape: Sequence[Any], prefix: str) -> Any:
    """Nested serial loops over ``shape``: yields their variables, outermost first."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(ib.for_range(0, d, name=f"{prefix}{k}")) for k, d in enumerate(shape)]


def _wrapped(value: PrimExpr, size: Any) -> tuple[PrimExpr, PrimExpr]:
    """(in range, index): a negative index counts from the end as in numpy; the check is made in the
    index's own dtype, so a wide index is never truncated into range."""
    dt = value.dtype
    if dt.bits < 64:  # a narrow index meets the size in a type that holds both (200 wraps in int8)
        value, dt = value.astype("int64" if dt.bits == 32 and not dt.is_signed else "int32"), \
            as_dtype("int64" if dt.bits == 32 and not dt.is_signed else "int32")
    size_ = convert(size).astype(str(dt))
    if dt.is_signed:
        value = te.if_then_else(value < 0, value + size_, value)
        ok = te.all(value >= 0, value < size_)
    else:
        ok = value < size_
    return ok, value.astype("int32")


def _copy(ib: ir_builder.IRBuilder, src: Any, dst: Any, total: Any) -> None:
    with ib.for_range(0, total, name="c") as c:
        dst[c] = src[c]


def _check_dtypes(data: Tensor, updates: Tensor, what: str) -> None:
    if updates.dtype != data.dtype:
        raise DTypeError(f"{what}: updates has dtype {updates.dtype} but data has {data.dtype}")


def scatter_elements(data: Tensor, indices: Tensor, updates: Tensor, axis: int = 0,
                     reduction: str = "update") -> Tensor:
    """A copy of ``data`` with ``out[..., indices[i, j, ...], ...] = updates[i, j, ...]`` (``indices`` placing
    along ``axis``, numpy.put_along_axis), or that element combined with the update by ``reduction``
    ("add", "mul", "min", "max"); updates apply in row-major order, so with "update" the last of repeated
    indices wins.  Negative indices count from the end; an update whose index is still out of range is skipped."""
    what = "scatter_elements"
    combine = _combiner(reduction, what, "reduction", ("update", "add", "mul", "min", "max"))
    for arg, t in (("data", data), ("indices", indices), ("updates", updates)):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {t!r}")
    ndim = len(data.shape)
    ax = _axis(axis, ndim, what, "axis")
    _int_dtype(indices, what, "indices")
    _check_dtypes(data, updates, what)
    if len(indices.shape) != ndim:
        raise ExprError(f"{what}: indices has {len(indices.shape)} dimension(s), data has {ndim}")
    ishape, ushape = get_const_tuple(indices.shape), get_const_tuple(updates.shape)
    if len(ushape) != len(ishape) or any(isinstance(x, int) and isinstance(y, int) and x != y
                                         for x, y in zip(ishape, ushape)):
        raise ExprError(f"{what}: updates has shape {ushape} but indices has shape {ishape}; they must match")
    for k in range(ndim):
        di, dd = static_dim(indices.shape[k]), static_dim(data.shape[k])
        if k != ax and di is not None and dd is not None and di > dd:
            raise ExprError(f"{what}: indices dimension {k} has size {di}, more than data's {dd}")

    def kernel(ins: list[DeclBuffer], outs: list[DeclBuffer]) -> Any:
        ib = ir_builder.create()
        src, ind, upd = (ib.buffer_ptr(b) for b in ins)
        out = ib.buffer_ptr(outs[0])
        _copy(ib, src, out, _flat_size(data.shape))
        with _loops(ib, indices.shape, "u") as idx:
            ok, k = _wrapped(ind[_flat(idx, indices.shape)], data.shape[ax])
            with ib.if_scope(ok):
                pos = _flat([k if n == ax else x for n, x in enumerate(idx)], data.shape)
                out[pos] = combine(out[pos], upd[_flat(idx, updates.shape)])
        return ib.get()
    return te.extern(data.shape, [data, indices, updates], kernel, name="scatter_elements", dtype=data.dtype,
                     tag="scatter_elements")


def scatter(data: Tensor, indices: Tensor, updates: Tensor, axis: int = 0) -> Tensor:
    """TVM's older name for ``scatter_elements`` with reduction "update"."""
    return scatter_elements(data, indices, updates, axis, "update")


def scatter_nd_parts(data: Tensor, indices: Tensor, updates: Tensor, mode: str,
                     what: str = "scatter_nd") -> tuple[Callable[[Any, Any], Any], int, list[Any], list[Any]]:
    """``scatter_nd``'s arguments checked: (how an update meets the element, M = the number of data
    axes the indices pick, the Y dimensions of the indices, the X dimensions each update covers)."""
    combine = _combiner(mode, what, "mode", ("update", "add", "mul", "min", "max"))
    for arg, t in (("data", data), ("indices", indices), ("updates", updates)):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {t!r}")
    _int_dtype(indices, what, "indices")
    _check_dtypes(data, updates, what)
    if len(indices.shape) < 1:
        raise ExprError(f"{what}: indices must have at least one dimension (its first indexes data's axes)")
    m = static_dim(indices.shape[0])
    if m is None or not 1 <= m <= len(data.shape):
        raise ExprError(f"{what}: indices.shape[0] = {indices.shape[0]} must be a constant in "
                        f"1..{len(data.shape)} (data's dimensions)")
    ys, xs = list(indices.shape[1:]), list(data.shape[m:])
    want = get_const_tuple(ys + xs)
    have = get_const_tuple(updates.shape)
    if len(have) != len(want) or any(isinstance(x, int) and isinstance(y, int) and x != y
                                     for x, y in zip(have, want)):
        raise ExprError(f"{what}: updates has shape {have} but indices {get_const_tuple(indices.shape)} and "
                        f"data {get_const_tuple(data.shape)} need {want} (indices.shape[1:] + data.shape[{m}:])")
    return combine, m, ys, xs


def scatter_nd_picked(ind: Any, indices: Tensor, data: Tensor, m: int, y: Sequence[Any]) -> tuple[PrimExpr, list[Any]]:
    """(whether every index is in range, the data indices) of update ``y``, read from the index
    buffer ``ind``: negative indices count from the end."""
    picked = [_wrapped(ind[_flat([n, *y], indices.shape)], data.shape[n]) for n in range(m)]
    return te.all(*[ok for ok, _ in picked]), [k for _, k in picked]


def scatter_nd(data: Tensor, indices: Tensor, updates: Tensor, mode: str = "update") -> Tensor:
    """A copy of ``data`` (shape X_0..X_{N-1}) with ``out[indices[0, y...], ..., indices[M-1, y...], x...]``
    set to ``updates[y..., x...]`` ("update") or combined with it ("add", "mul", "min", "max"); ``indices``
    has shape (M, Y...), ``updates`` (Y..., X_M..X_{N-1}).  Updates apply in row-major order of y; negative
    indices count from the end and an update whose indices are still out of range is skipped."""
    combine, m, ys, xs = scatter_nd_parts(data, indices, updates, mode)

    def kernel(ins: list[DeclBuffer], outs: list[DeclBuffer]) -> Any:
        ib = ir_builder.create()
        src, ind, upd = (ib.buffer_ptr(b) for b in ins)
        out = ib.buffer_ptr(outs[0])
        _copy(ib, src, out, _flat_size(data.shape))
        with _loops(ib, ys, "y") as y:
            ok, picked = scatter_nd_picked(ind, indices, data, m, y)
            with ib.if_scope(ok):
                with _loops(ib, xs, "x") as x:
                    pos = _flat(picked + x, data.shape)
                    out[pos] = combine(out[pos], upd[_flat(y + x, updates.shape)])
        return ib.get()
    return te.extern(data.shape, [data, indices, updates], kernel, name="scatter_nd", dtype=data.dtype,
                     tag="scatter_nd")


__all__ = ["arange", "reverse_sequence", "scatter", "scatter_elements", "scatter_nd"]
