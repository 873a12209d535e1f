"""Array ops of TVM's topi built from ``te.compute``: sequence_mask, matrix_set_diag, invert_permutation,
sparse_to_dense, reinterpret, meshgrid and collapse_sum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te.expr import PrimExpr, convert
from ..te.extern import reinterpret as _bitcast
from ..te.tensor import Tensor
from . import tag
from .utils import check_tensors, get_const_int, get_const_tuple, static_dim

# The largest matching position, -1 where nothing matches (also for an empty axis): a scatter's
# "last write wins" expressed as a reduction, since te.compute cannot scatter.
_last_match = te.comm_reducer(lambda x, y: te.max(x, y), lambda dt: te.const(-1, dt), name="last_match")


def _const_dims(t: Tensor, what: str) -> list[int]:
    """The dimensions of ``t`` as ints; a symbolic one is an error naming ``what``."""
    dims = get_const_tuple(t.shape)
    if not all(isinstance(d, int) for d in dims):
        raise ExprError(f"{what}: the shape {dims} of {t.name} must be constant")
    return list(dims)


def _check_int(t: Tensor, what: str, arg: str) -> None:
    if not t.dtype.is_int:
        raise DTypeError(f"{what}: {arg} {t.name} must hold integers, got {t.dtype}")


def sequence_mask(data: Tensor, valid_length: Tensor, mask_value: Any = 0, axis: int = 0) -> Tensor:
    """``data`` with ``mask_value`` (converted to data's dtype) at every position ``t`` of the length
    axis with ``t >= valid_length[b]`` for its batch ``b``.  ``axis`` 0: data is (MAX_LEN, batch, ...);
    1: (batch, MAX_LEN, ...).  A length of 0 or less masks the whole sequence, one of MAX_LEN or more
    masks nothing."""
    what = "sequence_mask"
    check_tensors(what, data=data, valid_length=valid_length)
    if axis not in (0, 1):
        raise ExprError(f"{what}: axis must be 0 or 1, got {axis!r}")
    if len(data.shape) < 2:
        raise ExprError(f"{what}: data {data.name} must have at least 2 dimensions, got shape "
                        f"{get_const_tuple(data.shape)}")
    _check_int(valid_length, what, "valid_length")
    batch = data.shape[1 - axis]
    lengths = static_dim(valid_length.shape[0]) if len(valid_length.shape) == 1 else -1
    if lengths == -1 or (None not in (lengths, static_dim(batch)) and lengths != static_dim(batch)):
        raise ExprError(f"{what}: valid_length {valid_length.name} must have shape (batch,) = "
                        f"({batch},), got {get_const_tuple(valid_length.shape)}")
    fill = te.const(mask_value).astype(data.dtype)

    def body(*i: Any) -> PrimExpr:
        # compared in int64: a narrow length dtype (uint8) must not wrap a long time axis; uint64 in
        # uint64 (a length of 2**63 or more read as int64 would be negative and mask everything)
        cmp = "uint64" if str(valid_length.dtype) == "uint64" else "int64"
        masked = i[axis].astype(cmp) >= valid_length(i[1 - axis]).astype(cmp)
        return te.if_then_else(masked, fill, data(*i))
    return te.compute(data.shape, body, name="T_sequence_mask", tag=tag.INJECTIVE)


def _diag_len(d: int, rows: int, cols: int) -> int:
    """The number of elements of diagonal ``d`` (``col - row``) of a rows x cols matrix."""
    return min(rows + min(0, d), cols - max(0, d))


def matrix_set_diag(data: Tensor, diagonal: Tensor, k: int | Sequence[int] = 0, align: str = "RIGHT_LEFT") -> Tensor:
    """``data`` with diagonals of its last two axes (rows M, cols N) replaced, as TensorFlow's
    MatrixSetDiagV3.  ``k``: one diagonal offset (``col - row``; > 0 above the main diagonal) or a
    band ``(k_lo, k_hi)``, with ``-M < k_lo <= k_hi < N``.  One diagonal (k_lo == k_hi): ``diagonal``
    is data's batch shape + (len,), its element t goes to ``(t + max(0, -k), t + max(0, k))``.  A
    band: ``diagonal`` is batch + (k_hi - k_lo + 1, max_len); row ``k_hi - d`` holds diagonal d,
    padded to max_len (the longest diagonal of the band).  ``align`` "RIGHT_LEFT" (default),
    "LEFT_RIGHT", "LEFT_LEFT" or "RIGHT_RIGHT" says whether superdiagonals (first word) and
    subdiagonals (second) are packed at the right (padding in front) or the left of their row;
    the main diagonal is the band's longest, so it needs no padding.  Elements outside the band
    are data's."""
    what = "matrix_set_diag"
    check_tensors(what, data=data, diagonal=diagonal)
    if isinstance(k, (list, tuple)):
        if len(k) not in (1, 2):
            raise ExprError(f"{what}: k must be an int or a pair (k_lo, k_hi), got {k!r}")
        k_lo, k_hi = get_const_int(k[0]), get_const_int(k[-1])
    else:
        k_lo = k_hi = get_const_int(k)
    if align not in ("RIGHT_LEFT", "LEFT_RIGHT", "LEFT_LEFT", "RIGHT_RIGHT"):
        raise ExprError(f"{what}: align '{align}' is not 'RIGHT_LEFT', 'LEFT_RIGHT', 'LEFT_LEFT' or 'RIGHT_RIGHT'")
    if len(data.shape) < 2:
        raise ExprError(f"{what}: data {data.name} must have at least 2 dimensions, got shape "
                        f"{get_const_tuple(data.shape)}")
    if diagonal.dtype != data.dtype:
        raise DTypeError(f"{what}: diagonal {diagonal.name} is {diagonal.dtype} but data {data.name} is {data.dtype}")
    dims = _const_dims(data, what)
    rows, cols = dims[-2], dims[-1]
    if not -rows < k_lo <= k_hi < cols:
        raise ExprError(f"{what}: k = ({k_lo}, {k_hi}) must satisfy -{rows} < k_lo <= k_hi < {cols} for "
                        f"{rows} x {cols} matrices")
    band = k_lo != k_hi
    max_len = max(_diag_len(d, rows, cols) for d in range(k_lo, k_hi + 1))
    expected = tuple(dims[:-2]) + ((k_hi - k_lo + 1,) if band else ()) + (max_len,)
    if get_const_tuple(diagonal.shape) != expected:
        raise ExprError(f"{what}: diagonal {diagonal.name} must have shape {expected} for data "
                        f"{tuple(dims)} and k = ({k_lo}, {k_hi}), got {get_const_tuple(diagonal.shape)}")
    super_right, sub_right = align.startswith("RIGHT"), align.endswith("RIGHT")

    def read_diagonal(batch: list[Any], row: PrimExpr, col: PrimExpr) -> PrimExpr:
        if not band:  # one diagonal, of full length: a superdiagonal is indexed by row, a subdiagonal by col
            return diagonal(*batch, row if k_lo >= 0 else col)
        d = col - row
        upper = d >= 0
        length = te.if_then_else(upper, te.min(convert(rows), cols - d), te.min(rows + d, convert(cols)))
        pad = max_len - length
        offset = te.if_then_else(upper, pad if super_right else 0, pad if sub_right else 0)
        return diagonal(*batch, k_hi - d, te.if_then_else(upper, row, col) + offset)

    def body(*i: Any) -> PrimExpr:
        row, col = i[-2], i[-1]
        d = col - row
        in_band = te.all(d >= k_lo, d <= k_hi)
        return te.if_then_else(in_band, read_diagonal(list(i[:-2]), row, col), data(*i))
    return te.compute(data.shape, body, name="T_matrix_set_diag", tag=tag.INJECTIVE)


def invert_permutation(data: Tensor) -> Tensor:
    """The inverse of the permutation ``data`` (1-D, integers): ``out[data[i]] = i``, so
    ``out[j]`` is the position i holding j, computed as a reduction over i.  ``data`` that is not a
    permutation of 0..n-1 is not checked: ``out[j]`` is then the last i with ``data[i] == j``
    (TVM's scatter order: a later write wins), and -1 (converted to data's dtype, so the maximum
    value for unsigned dtypes) where no i holds j; values outside [0, n) are ignored."""
    check_tensors("invert_permutation", data=data)
    what = "invert_permutation"
    if len(data.shape) != 1:
        raise ExprError(f"{what}: data {data.name} must be 1-D, got shape {get_const_tuple(data.shape)}")
    _check_int(data, what, "data")
    dt = data.dtype
    n = data.shape[0]
    i = te.reduce_axis((0, n), name="i")

    def position(acc: str) -> Any:
        def body(j: PrimExpr) -> PrimExpr:
            match = data(i).astype("int64") == j.astype("int64")
            return _last_match(i.var.astype(acc), axis=i, where=match)
        return body

    if dt.is_signed:
        return te.compute((n,), position(str(dt)), name="T_invert_permutation", tag="invert_permutation")
    # -1 does not fit an unsigned accumulator: reduce in int64, then convert (-1 wraps to the maximum).
    pos = te.compute((n,), position("int64"), name="T_invert_permutation_pos", tag="invert_permutation")
    return te.compute((n,), lambda j: pos(j).astype(dt), name="T_invert_permutation", tag=tag.ELEMWISE)


def sparse_to_dense(sparse_indices: Tensor, output_shape: Sequence[Any], sparse_values: Tensor,
                    default_value: Any = 0) -> Tensor:
    """A dense tensor of ``output_shape`` and sparse_values' dtype: ``default_value`` everywhere
    except at the listed indices.  ``sparse_indices``: 0-D (one index of a 1-D output), 1-D (N,)
    (N indices of a 1-D output) or 2-D (N, ndim) (N full indices).  ``sparse_values``: 0-D (one
    value for every index) or (N,).  ``default_value``: a number, an expression or a 0-D tensor.
    An index listed twice takes the value of its last listing (as TVM); an index outside
    ``output_shape`` (a negative one included) sets nothing.  The position of each element's
    listing is found by a reduction over the N indices (stage ``T_sparse_to_dense_pos``)."""
    what = "sparse_to_dense"
    check_tensors(what, sparse_indices=sparse_indices)
    _check_int(sparse_indices, what, "sparse_indices")
    ind_shape = _const_dims(sparse_indices, what)
    shape = list(output_shape) if isinstance(output_shape, (list, tuple)) else [output_shape]
    if len(ind_shape) > 2:
        raise ExprError(f"{what}: sparse_indices {sparse_indices.name} must be 0-D, 1-D or 2-D, got shape "
                        f"{tuple(ind_shape)}")
    ndim = ind_shape[1] if len(ind_shape) == 2 else 1
    if len(shape) != ndim:
        raise ExprError(f"{what}: output_shape {tuple(shape)} must have {ndim} dimension(s) to match "
                        f"sparse_indices {sparse_indices.name}{tuple(ind_shape)}")
    n = ind_shape[0] if ind_shape else 1
    val_shape = get_const_tuple(sparse_values.shape)
    if val_shape not in ((), (n,)):
        raise ExprError(f"{what}: sparse_values {sparse_values.name} must be 0-D or have shape ({n},), got "
                        f"{val_shape}")
    dt = sparse_values.dtype
    if isinstance(default_value, Tensor):
        if get_const_tuple(default_value.shape) not in ((), (1,)):
            raise ExprError(f"{what}: default_value {default_value.name} must hold one value, got shape "
                            f"{get_const_tuple(default_value.shape)}")
        default = default_value(*[0] * len(default_value.shape)).astype(dt)
    else:
        default = convert(default_value).astype(dt)

    def value_at(pos: Any) -> PrimExpr:
        return sparse_values() if not val_shape else sparse_values(pos)

    if not ind_shape:  # one index: no search
        return te.compute(shape, lambda x: te.if_then_else(x.astype("int64") == sparse_indices().astype("int64"),
                                                           value_at(0), default),
                          name="T_sparse_to_dense", tag=tag.INJECTIVE)
    j = te.reduce_axis((0, n), name="j")

    def listing(*x: PrimExpr) -> PrimExpr:
        if len(ind_shape) == 1:
            match = sparse_indices(j).astype("int64") == x[0].astype("int64")
        else:
            match = te.all(*[sparse_indices(j, m).astype("int64") == x[m].astype("int64") for m in range(ndim)])
        return _last_match(j.var.astype("int32"), axis=j, where=match)
    pos = te.compute(shape, listing, name="T_sparse_to_dense_pos", tag="sparse_to_dense")

    def body(*x: PrimExpr) -> PrimExpr:
        p = pos(*x)
        # Unlisted elements (p = -1) read listing 0, whose value is discarded.
        return te.if_then_else(p >= 0, value_at(te.max(p, 0)), default)
    return te.compute(shape, body, name="T_sparse_to_dense", tag=tag.INJECTIVE)


def reinterpret(x: Tensor, dtype: str) -> Tensor:
    """``x``'s elements with their bits read as ``dtype`` (of the same bit width), as numpy's
    ``x.view(dtype)`` for equal itemsizes."""
    try:
        target = te.as_dtype(dtype)
    except DTypeError as err:
        raise DTypeError(f"reinterpret: {err}") from None
    if target.bits * target.lanes != x.dtype.bits * x.dtype.lanes:
        raise DTypeError(f"reinterpret: cannot reinterpret {x.name} of {x.dtype} ({x.dtype.bits * x.dtype.lanes} "
                         f"bits) as {target} ({target.bits * target.lanes} bits): the widths differ")
    return te.compute(x.shape, lambda *i: _bitcast(target, x(*i)), name="T_reinterpret", tag=tag.ELEMWISE)


def meshgrid(a_tuple: Sequence[Tensor], indexing: str) -> list[Tensor]:
    """numpy.meshgrid of 0-D or 1-D tensors (a 0-D one counts as one element): one output per input,
    each of shape (len_0, len_1, ...) for ``indexing`` "ij", with the first two lengths swapped for
    "xy" (cartesian; when there are at least two inputs).  Output m repeats input m along its axis
    (axis m; axes 0 and 1 trade places under "xy")."""
    what = "meshgrid"
    tensors = list(a_tuple)
    if indexing not in ("ij", "xy"):
        raise ExprError(f"{what}: indexing '{indexing}' is not 'ij' or 'xy'")
    if not tensors:
        raise ExprError(f"{what}: needs at least one tensor")
    for t in tensors:
        if len(t.shape) > 1:
            raise ExprError(f"{what}: {t.name} must be 0-D or 1-D, got shape {get_const_tuple(t.shape)}")
    # which output axis carries input m
    axis = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axis[0], axis[1] = 1, 0
    lengths = [t.shape[0] if t.shape else 1 for t in tensors]
    shape = [lengths[axis.index(a)] for a in range(len(tensors))]
    outs = []
    for m, t in enumerate(tensors):
        def body(*i: PrimExpr, t: Tensor = t, a: int = axis[m]) -> PrimExpr:
            return t(i[a]) if t.shape else t()
        outs.append(te.compute(shape, body, name="T_meshgrid", tag=tag.INJECTIVE))
    return outs


def collapse_sum(data: Tensor, target_shape: Sequence[Any]) -> Tensor:
    """``data`` summed down to ``target_shape``: the reverse of numpy broadcasting ``target_shape``
    to data's shape.  Shapes align at the right; a leading axis missing from ``target_shape`` is
    summed away, an axis where the target has 1 and data more is summed keeping size 1.  Each
    target dimension must be data's or 1 (a target not broadcastable to data is an error)."""
    check_tensors("collapse_sum", data=data)
    what = "collapse_sum"
    dims = _const_dims(data, what)
    target = [get_const_int(d) for d in target_shape]
    lead = len(dims) - len(target)
    if lead < 0 or any(t not in (d, 1) for t, d in zip(target, dims[lead:])):
        raise ExprError(f"{what}: target_shape {tuple(target)} does not broadcast to the shape {tuple(dims)} of "
                        f"{data.name}")
    summed = [k for k in range(len(dims)) if k < lead or (target[k - lead] == 1 and dims[k] != 1)]
    if not summed:
        return te.compute(target, lambda *i: data(*i), name="T_collapse_sum", tag=tag.COMM_REDUCE)
    raxes = {k: te.reduce_axis((0, dims[k]), name=f"k{k}") for k in summed}

    def body(*i: PrimExpr) -> PrimExpr:
        src = [raxes[k] if k in raxes else i[k - lead] for k in range(len(dims))]
        return te.sum(data(*src), axis=[raxes[k] for k in summed])
    return te.compute(target, body, name="T_collapse_sum", tag=tag.COMM_REDUCE)


__all__ = ["collapse_sum", "invert_permutation", "matrix_set_diag", "meshgrid", "reinterpret", "sequence_mask",
           "sparse_to_dense"]
