"""Non-maximum suppression for object detection (TVM's ``topi.vision.get_valid_counts`` and
``topi.vision.non_max_suppression``, their CPU path).

Boxes are rows of ``data`` (batch, num_anchors, elem_length), such as [class_id, score, x1, y1,
x2, y2].  Which boxes survive depends on the data, box after box, so both operators are
``te.extern`` stages calling numpy through packed functions registered below (TVM's CPU path is
hybrid script), CPU only, as ``topi.sort`` is: declared under a ``cuda`` target they raise.
Each operator is one stage whose packed function runs once and writes all of its outputs, each
of its own shape and dtype.

Semantics, as TVM's:

* ``get_valid_counts``: a box is valid when its score is greater than ``score_threshold`` (in
  data's dtype) and, when ``id_index >= 0``, its class id is not negative.  The valid boxes move to
  the top in their order, the rest of the rows become -1; ``out_indices`` holds each valid box's
  original position, -1 below them.
* ``non_max_suppression``: per batch, the first ``valid_count`` boxes are ordered by descending
  score (stable: ties keep their order), the best ``top_k`` of them kept (``top_k > 0``).  Going
  down that order, a box with score > 0 is suppressed when its IoU with an earlier surviving box
  (score > 0 and class id >= 0; of the same class unless ``force_suppress`` or ``id_index < 0``) is
  at least ``iou_threshold``; once ``max_output_size`` boxes (``>= 0``) survive, every later box is
  dropped.  A box's corners are the min and max of its two x and two y coordinates; an IoU whose
  union is not positive is 0.  Dropped and suppressed rows become -1; a box with score <= 0 is
  neither suppressed nor counted and stays where it is.  With ``iou_threshold <= 0`` the first
  ``valid_count`` boxes are returned as they are, unsorted.  ``return_indices`` gives, instead of
  the boxes, the surviving boxes' positions in the original data (``indices`` maps the sorted
  positions back) moved to the top with -1 below, and their count per batch as (batch, 1);
  otherwise ``invalid_to_bottom`` moves the rows whose first element is >= 0 to the top.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import te
from ...errors import ArgumentError, DTypeError, ExprError
from ...runtime.ndarray import NDArray
from ...runtime.packed import register_func
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from ..sort import argsort
from ..utils import check_cpu_target, get_const_float, get_const_int, static_dim

_VALID_COUNTS = "tensorlang.topi.vision.get_valid_counts"
_NMS = "tensorlang.topi.vision.non_max_suppression"


# -- the packed functions -------------------------------------------------------------------------

def _scalar(value: Any) -> Any:
    """A parameter given as a number, or as a one-element array when it was a tensor."""
    return value.numpy().reshape(-1)[0] if isinstance(value, NDArray) else value


def _counts(valid_count: NDArray, num_anchors: int, what: str) -> np.ndarray:
    counts = valid_count.numpy().astype(np.int64)
    bad = (counts < 0) | (counts > num_anchors)
    if bad.any():
        b = int(np.argmax(bad))
        raise ArgumentError(f"{what}: valid_count[{b}] is {int(counts[b])}, outside [0, {num_anchors}]")
    return counts


def _valid_counts_packed(data: NDArray, threshold: Any, count: NDArray, out_boxes: NDArray, out_indices: NDArray,
                         id_index: int, score_index: int) -> None:
    """The valid boxes' count (batch,), the boxes moved to the top (batch, num_anchors, elem_length)
    and their original positions (batch, num_anchors), all at once."""
    x = data.numpy()
    valid = x[:, :, score_index] > np.asarray(_scalar(threshold)).astype(x.dtype)
    if id_index >= 0:
        valid &= x[:, :, id_index] >= 0
    boxes = np.full_like(x, -1)
    where = np.full(valid.shape, -1, np.int64)
    for b in range(x.shape[0]):
        keep = np.flatnonzero(valid[b])
        boxes[b, :len(keep)] = x[b, keep]
        where[b, :len(keep)] = keep
    count.copyfrom(valid.sum(axis=1))
    out_boxes.copyfrom(boxes)
    out_indices.copyfrom(where)


def _corners(box: np.ndarray, start: int) -> tuple[np.ndarray, ...]:
    """left, top, right, bottom of boxes (rows) whose coordinates start at ``start``."""
    x1, y1, x2, y2 = (box[..., start + k] for k in range(4))
    return np.minimum(x1, x2), np.minimum(y1, y2), np.maximum(x1, x2), np.maximum(y1, y2)


def _iou(a: np.ndarray, b: np.ndarray, start: int) -> np.ndarray:
    """IoU of box ``a`` with each box of ``b``, in the boxes' dtype, in TVM's order of operations."""
    al, at, ar, ab = _corners(a, start)
    bl, bt, br, bb = _corners(b, start)
    zero = a.dtype.type(0)
    w = np.maximum(zero, np.minimum(ar, br) - np.maximum(al, bl))
    h = np.maximum(zero, np.minimum(ab, bb) - np.maximum(at, bt))
    area = h * w
    union = (ar - al) * (ab - at) + (br - bl) * (bb - bt) - area
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union <= zero, zero, area / np.where(union <= zero, 1, union))


def _suppress(x: np.ndarray, order: np.ndarray, counts: np.ndarray, max_output_size: int, iou_threshold: Any,
              force_suppress: bool, top_k: int, coord_start: int, score_index: int,
              id_index: int) -> tuple[np.ndarray, np.ndarray]:
    """TVM's NMS loop: the boxes in sorted order with the suppressed ones -1, and their positions."""
    batch, num_anchors, _ = x.shape
    boxes = np.full_like(x, -1)
    where = np.full((batch, num_anchors), -1, np.int64)
    threshold = x.dtype.type(iou_threshold)
    for b in range(batch):
        count = int(counts[b])
        if threshold <= 0:
            boxes[b, :count] = x[b, :count]
            where[b, :count] = np.arange(count)
            continue
        keep = top_k if 0 < top_k < count else count
        boxes[b, :keep] = x[b, order[b, :keep]]
        where[b, :keep] = order[b, :keep]
        survivors = 0
        for j in range(count):
            if survivors == max_output_size:
                boxes[b, j], where[b, j] = -1, -1
                continue
            if not boxes[b, j, score_index] > 0:
                continue
            earlier = boxes[b, :j]
            check = earlier[:, score_index] > 0
            if id_index >= 0:
                check &= earlier[:, id_index] >= 0
                if not force_suppress:
                    check &= earlier[:, id_index] == boxes[b, j, id_index]
            if check.any() and (_iou(boxes[b, j], earlier[check], coord_start) >= threshold).any():
                boxes[b, j], where[b, j] = -1, -1
            else:
                survivors += 1
    return boxes, where


def _nms_packed(data: NDArray, order: NDArray, valid_count: NDArray, indices: NDArray, max_output_size: Any,
                iou_threshold: Any, *args: Any) -> None:
    """``(..., *outputs, force_suppress, top_k, coord_start, score_index, id_index, invalid_to_bottom)``:
    one output, the suppressed boxes, or two, the survivors' original positions (batch, num_anchors)
    and how many survive (batch, 1)."""
    *outs, force_suppress, top_k, coord_start, score_index, id_index, invalid_to_bottom = args
    x = data.numpy()
    num_anchors = x.shape[1]
    counts = _counts(valid_count, num_anchors, "non_max_suppression")
    boxes, where = _suppress(x, order.numpy().astype(np.int64), counts, int(_scalar(max_output_size)),
                             _scalar(iou_threshold), bool(force_suppress), top_k, coord_start, score_index, id_index)
    if len(outs) == 1:
        if invalid_to_bottom:
            moved = np.full_like(boxes, -1)
            for b in range(boxes.shape[0]):
                rows = boxes[b, boxes[b, :, 0] >= 0]
                moved[b, :len(rows)] = rows
            boxes = moved
        outs[0].copyfrom(boxes)
        return
    original = indices.numpy().astype(np.int64)
    compact = np.full(where.shape, -1, np.int64)
    for b in range(where.shape[0]):
        kept = where[b][where[b] >= 0]
        mapped = original[b, kept]
        bad = (mapped < -1) | (mapped >= num_anchors)
        if bad.any():
            k = int(kept[np.argmax(bad)])
            raise ArgumentError(f"non_max_suppression: indices[{b}, {k}] is {int(original[b, k])}, not a box "
                                f"position in [0, {num_anchors}) (nor -1)")
        mapped = mapped[mapped >= 0]  # a surviving box whose original position is -1 is dropped, as in TVM
        compact[b, :len(mapped)] = mapped
    outs[0].copyfrom(compact)
    outs[1].copyfrom((compact >= 0).sum(axis=1, keepdims=True))


# Registered when the module is imported; override=True lets a reload register them again.
register_func(_VALID_COUNTS, _valid_counts_packed, override=True)
register_func(_NMS, _nms_packed, override=True)


# -- declarations ---------------------------------------------------------------------------------

def _check_data(what: str, data: Any) -> tuple[Any, Any, int]:
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    if len(data.shape) != 3 or static_dim(data.shape[2]) is None:
        raise ExprError(f"{what}: data must be 3-D (batch, num_anchors, elem_length) with a constant "
                        f"elem_length, got shape {list(data.shape)}")
    if not data.dtype.is_float:
        raise DTypeError(f"{what}: data must be float, got {data.dtype}")
    return data.shape[0], data.shape[1], get_const_int(data.shape[2])


def _int_arg(what: str, value: Any, arg: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, PrimExpr)):
        raise ExprError(f"{what}: {arg} must be an int, got {value!r}")
    try:
        return get_const_int(value)
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a constant int, got {value!r}") from None


def _position(what: str, value: Any, arg: str, length: int, last: int = 0, optional: bool = False) -> int:
    """An element position in a box of ``length`` values (negative: none, when ``optional``)."""
    pos = _int_arg(what, value, arg)
    if (pos < 0 and not optional) or pos + last >= length:
        span = f"{pos}..{pos + last}" if last else f"{pos}"
        raise ExprError(f"{what}: {arg} {span} is outside a box of {length} values")
    return pos


def _scalar_arg(what: str, value: Any, arg: str, integer: bool) -> Any:
    """A number, or a tensor of one element (an input of the stage)."""
    if isinstance(value, Tensor):
        if len(value.shape) > 1 or (value.shape and static_dim(value.shape[0]) != 1):
            raise ExprError(f"{what}: {arg} must be a number or a tensor of one element, got shape "
                            f"{list(value.shape)}")
        if integer and not value.dtype.is_int:
            raise DTypeError(f"{what}: {arg} must be an integer tensor, got {value.dtype}")
        return value
    if integer:
        return _int_arg(what, value, arg)
    try:
        return get_const_float(value)
    except (ExprError, TypeError):
        raise ExprError(f"{what}: {arg} must be a number or a tensor, got {value!r}") from None


def get_valid_counts(data: Tensor, score_threshold: Any = 0, id_index: int = 0, score_index: int = 1) -> list[Tensor]:
    """``[valid_count, out_tensor, out_indices]``: per batch, how many boxes of ``data`` (batch,
    num_anchors, elem_length) are valid (int32, (batch,)), the valid boxes moved to the top with -1
    rows below them, and the valid boxes' original positions (int32, -1 below).  A box is valid when
    its score (element ``score_index``) is greater than ``score_threshold`` (a number, or a tensor of
    one element) and its class id (element ``id_index``; a negative ``id_index`` checks none) is not
    negative."""
    what = "get_valid_counts"
    batch, num_anchors, length = _check_data(what, data)
    ids = _position(what, id_index, "id_index", length, optional=True)
    score = _position(what, score_index, "score_index", length)
    threshold = _scalar_arg(what, score_threshold, "score_threshold", integer=False)
    check_cpu_target(what)
    ins = [data] + ([threshold] if isinstance(threshold, Tensor) else [])

    def body(i: list[Any], o: list[Any]) -> Any:
        thr = i[1] if len(i) > 1 else te.const(threshold, "float64")
        return te.call_packed(_VALID_COUNTS, i[0], thr, *o, ids, score)
    return te.extern([[batch], list(data.shape), [batch, num_anchors]], ins, body, name="get_valid_counts",
                     dtype=["int32", data.dtype, "int32"], tag="get_valid_counts")


def non_max_suppression(data: Tensor, valid_count: Tensor, indices: Tensor, max_output_size: Any = -1,
                        iou_threshold: Any = 0.5, force_suppress: bool = False, top_k: int = -1, coord_start: int = 2,
                        score_index: int = 1, id_index: int = 0, return_indices: bool = True,
                        invalid_to_bottom: bool = False) -> Any:
    """Non-maximum suppression of the boxes of ``data`` (batch, num_anchors, elem_length), of which
    the first ``valid_count`` (int, (batch,)) per batch count; ``indices`` (int, (batch, num_anchors))
    holds their positions in the original data (``get_valid_counts``' third output, or an arange).
    The coordinates are the four elements from ``coord_start``; ``max_output_size`` (< 0: no limit)
    and ``iou_threshold`` are numbers or tensors of one element.  See the module docstring for the
    rules.

    Returns the boxes (data's shape and dtype), or with ``return_indices`` the list
    ``[box_indices (batch, num_anchors) int32, valid_box_count (batch, 1) int32]``."""
    what = "non_max_suppression"
    batch, num_anchors, length = _check_data(what, data)
    for t, arg, ndim in ((valid_count, "valid_count", 1), (indices, "indices", 2)):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
        if not t.dtype.is_int:
            raise DTypeError(f"{what}: {arg} must be an integer tensor, got {t.dtype}")
        want = [batch, num_anchors][:ndim]
        if len(t.shape) != ndim or any(static_dim(a) is not None and static_dim(b) is not None and
                                       static_dim(a) != static_dim(b) for a, b in zip(t.shape, want)):
            raise ExprError(f"{what}: {arg} must have shape {want}, got {list(t.shape)}")
    coords = _position(what, coord_start, "coord_start", length, last=3)
    score = _position(what, score_index, "score_index", length)
    ids = _position(what, id_index, "id_index", length, optional=True)
    k = _int_arg(what, top_k, "top_k")
    limit = _scalar_arg(what, max_output_size, "max_output_size", integer=True)
    threshold = _scalar_arg(what, iou_threshold, "iou_threshold", integer=False)
    check_cpu_target(what)
    scores = te.compute((batch, num_anchors), lambda i, j: data[i, j, score], name="nms_scores")
    order = argsort(scores, valid_count=valid_count, axis=1, is_ascend=False)
    ins = [data, order, valid_count, indices]
    params = [t for t in (limit, threshold) if isinstance(t, Tensor)]

    def body(i: list[Any], o: list[Any]) -> Any:
        extra = iter(i[4:])
        lim = next(extra) if isinstance(limit, Tensor) else limit
        thr = next(extra) if isinstance(threshold, Tensor) else te.const(threshold, "float64")
        return te.call_packed(_NMS, *i[:4], lim, thr, *o, int(bool(force_suppress)), k, coords, score, ids,
                              int(bool(invalid_to_bottom)))
    if return_indices:  # one stage for both outputs: the suppression runs once
        return te.extern([[batch, num_anchors], [batch, 1]], ins + params, body, name="nms_indices",
                         dtype=["int32", "int32"], tag="nms")
    return te.extern(list(data.shape), ins + params, body, name="nms_boxes", dtype=data.dtype, tag="nms")


__all__ = ["get_valid_counts", "non_max_suppression"]
