"""Max and average pooling over windows (pool2d), over whole planes (global_pool) and over windows
that split the planes into a given output size (adaptive_pool), and the gradient of pool2d (pool_grad)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.tensor import Tensor
from .. import tag
from ..utils import check_tensors, const_ints, get_const_int, get_const_tuple, static_dim
from .pad import pad


def _layout_axes(layout: Any, what: str) -> list[str]:
    """The axis letters of ``layout``, one per dimension ("NCHW16c": N, C, H, W, c)."""
    if not isinstance(layout, str):
        raise ExprError(f"{what}: layout must be a string such as 'NCHW', got {layout!r}")
    return [c for c in layout if not c.isdigit()]


def _check_data(what: str, data: Any, layout: str) -> None:
    """``data`` must be a tensor with one dimension per axis of ``layout``."""
    check_tensors(what, data=data)
    rank = len(_layout_axes(layout, what))
    if len(data.shape) != rank:
        raise ExprError(f"{what}: data {data.name} has {len(data.shape)} dimension(s) "
                        f"{get_const_tuple(data.shape)} but layout '{layout}' has {rank}")


def _hw_axes(layout: str, what: str) -> tuple[int, int]:
    axes = _layout_axes(layout, what)
    if "H" not in axes or "W" not in axes or len(axes) < 4:
        raise ExprError(f"{what}: layout '{layout}' has no H and W")
    return axes.index("H"), axes.index("W")


_NAMES = {"D": "depth", "H": "height", "W": "width"}


def _window_axes(layout: str, dims: str, what: str) -> list[int]:
    """The positions in ``layout`` of the pooled dimensions ``dims`` ("W", "HW", "DHW")."""
    axes = _layout_axes(layout, what)
    if any(d not in axes for d in dims) or len(axes) < len(dims) + 2:
        raise ExprError(f"{what}: layout '{layout}' has no {' and '.join(dims)}")
    return [axes.index(d) for d in dims]


def _acc_dtype(dtype: Any) -> str:
    """The type an average adds up in: float32 for float16 (a float16 sum overflows and drifts),
    a 64-bit integer for integers (an int8 window of 4 already overflows int8), else the data's."""
    dt = str(dtype)
    if dt == "float16":
        return "float32"
    if dtype.is_int and not dtype.is_bool:
        return "uint64" if dt.startswith("uint") else "int64"
    return dt


def _mean(total: Any, count: Any, dtype: Any) -> Any:
    """``total / count`` in the accumulation type, back in ``dtype``: integers divide with explicit
    truncation toward zero (TVM's rule for integer average pools), floats divide."""
    acc = str(total.dtype)
    count = count.astype(acc) if isinstance(count, te.expr.PrimExpr) else te.const(count, acc)
    if total.dtype.is_int:
        return te.truncdiv(total, count).astype(str(dtype))
    return (total / count).astype(str(dtype))


def _pool(what: str, dims: str, data: Tensor, kernel: Any, stride: Any, dilation: Any, padding: Any,
          pool_type: str, ceil_mode: bool, layout: str, count_include_pad: bool) -> Tensor:
    """Max or average over windows of the ``dims`` axes of ``layout``; ``padding`` lists the pads
    before each pooled axis, then those after (TVM's order), or one pad per axis for both sides."""
    if pool_type not in ("max", "avg"):
        raise ExprError(f"{what}: pool_type '{pool_type}' is not 'max' or 'avg'")
    axes = _window_axes(layout, dims, what)
    _check_data(what, data, layout)
    n = len(dims)
    k, st, dil = (const_ints(v, n, what, arg) for v, arg in ((kernel, "kernel"), (stride, "stride"),
                                                        (dilation, "dilation")))
    if min(k + st + dil) < 1:
        raise ExprError(f"{what}: kernel {tuple(k)}, stride {tuple(st)} and dilation {tuple(dil)} must be positive")
    pads = [get_const_int(v) for v in (padding if isinstance(padding, (list, tuple)) else [padding])]
    if len(pads) == n:
        pads = pads + pads
    if len(pads) != 2 * n:
        raise ExprError(f"{what}: padding {padding!r} must give {n} or {2 * n} values")
    if min(pads) < 0:
        raise ExprError(f"{what}: padding {tuple(pads)} must not be negative")
    before, after = pads[:n], pads[n:]
    shape = get_const_tuple(data.shape)
    sizes = [shape[a] for a in axes]
    ext = [(kk - 1) * d + 1 for kk, d in zip(k, dil)]
    # The extent of each axis with the user's padding: ceil_mode's extra cells beyond it are not
    # padding, and an average counts only the window cells inside it (TVM's and PyTorch's rule).
    padded_sizes = [size + b + a for size, b, a in zip(sizes, before, after)]
    if ceil_mode:
        after = [a + s - 1 for a, s in zip(after, st)]
    outs = [(size - e + b + a) // s + 1 for size, e, b, a, s in zip(sizes, ext, before, after, st)]
    for d, size, e, total in zip(dims, sizes, ext, outs):
        if total < 1:
            raise ExprError(f"{what}: the {_NAMES[d]} {size} with its padding is smaller than the window ({e} with "
                            f"dilation), so there is no output")
    pad_before = [0] * len(shape)
    pad_after = [0] * len(shape)
    for a, b, c in zip(axes, before, after):
        pad_before[a], pad_after[a] = b, c
    pad_value = te.min_value(data.dtype) if pool_type == "max" else 0.0
    needs_pad = any(pad_before) or any(pad_after)
    padded = pad(data, pad_before, pad_after, pad_value=pad_value, name="pad_temp") if needs_pad else data
    out_shape = list(data.shape)
    for a, o in zip(axes, outs):
        out_shape[a] = o
    r = [te.reduce_axis((0, kk), name=f"rv{j}") for j, kk in enumerate(k)]

    def window(i: Sequence[Any]) -> list[Any]:
        idx = list(i)
        for a, rv, s, d in zip(axes, r, st, dil):
            idx[a] = i[a] * s + rv * d
        return idx

    if pool_type == "max":
        return te.compute(out_shape, lambda *i: te.max(padded(*window(i)), axis=r), name="pool_max", tag="pool_max")
    acc = _acc_dtype(data.dtype)
    total = te.compute(out_shape, lambda *i: te.sum(padded(*window(i)).astype(acc), axis=r), name="pool_sum")
    if count_include_pad:
        if all((o - 1) * s + e <= p for o, s, e, p in zip(outs, st, ext, padded_sizes)):
            return te.compute(out_shape, lambda *i: _mean(total(*i), math.prod(k), data.dtype),
                              name="pool_avg", tag=tag.ELEMWISE + ",pool_avg")

        def cells(i: Sequence[Any]) -> Any:
            # window cells inside the input and its padding: all k but in ceil_mode's last windows
            per_axis = [te.max(te.min(te.const(kk, "int32"), (p - 1 - i[a] * s) // d + 1), 0)
                        for a, kk, s, d, p in zip(axes, k, st, dil, padded_sizes)]
            return te.max(math.prod(per_axis) if len(per_axis) > 1 else per_axis[0], 1)
        return te.compute(out_shape, lambda *i: _mean(total(*i), cells(i), data.dtype), name="pool_avg",
                          tag=tag.ELEMWISE + ",pool_avg")

    c = [te.reduce_axis((0, kk), name=f"rv{n + j}") for j, kk in enumerate(k)]

    def inside(i: Sequence[Any]) -> Any:
        # window cells that fall inside the unpadded input
        at = [i[a] * s + cv * d - b for a, cv, s, d, b in zip(axes, c, st, dil, before)]
        return te.all(*[x >= 0 for x in at], *[x < size for x, size in zip(at, sizes)]).astype("int32")
    count = te.compute(out_shape, lambda *i: te.sum(inside(i), axis=c), name="pool_count")
    return te.compute(out_shape, lambda *i: _mean(total(*i), te.max(count(*i), 1), data.dtype), name="pool_avg",
                      tag=tag.ELEMWISE + ",pool_avg")


def pool1d(data: Tensor, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
           padding: Sequence[int], pool_type: str, ceil_mode: bool = False, layout: str = "NCW",
           count_include_pad: bool = True) -> Tensor:
    """Max or average over kw windows of the W axis; ``padding`` is (left, right)."""
    return _pool("pool1d", "W", data, kernel, stride, dilation, padding, pool_type, ceil_mode, layout,
                 count_include_pad)


def pool2d(data: Tensor, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
           padding: Sequence[int], pool_type: str, ceil_mode: bool = False, layout: str = "NCHW",
           count_include_pad: bool = True) -> Tensor:
    """Max or average over (kh, kw) windows; ``padding`` is (top, left, bottom, right)."""
    return _pool("pool2d", "HW", data, kernel, stride, dilation, padding, pool_type, ceil_mode, layout,
                 count_include_pad)


def pool3d(data: Tensor, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
           padding: Sequence[int], pool_type: str, ceil_mode: bool = False, layout: str = "NCDHW",
           count_include_pad: bool = True) -> Tensor:
    """Max or average over (kd, kh, kw) windows; ``padding`` is (front, top, left, back, bottom, right)."""
    return _pool("pool3d", "DHW", data, kernel, stride, dilation, padding, pool_type, ceil_mode, layout,
                 count_include_pad)


def global_pool(data: Tensor, pool_type: str, layout: str = "NCHW") -> Tensor:
    """Max or average over each whole H x W plane; H and W become 1."""
    if pool_type not in ("max", "avg"):
        raise ExprError(f"global_pool: pool_type '{pool_type}' is not 'max' or 'avg'")
    ha, wa = _hw_axes(layout, "global_pool")
    _check_data("global_pool", data, layout)
    h, w = data.shape[ha], data.shape[wa]
    ry = te.reduce_axis((0, h), name="rv0")
    rx = te.reduce_axis((0, w), name="rv1")
    out_shape = list(data.shape)
    out_shape[ha] = out_shape[wa] = 1

    def src(i: Sequence[Any]) -> list[Any]:
        idx = list(i)
        idx[ha], idx[wa] = ry, rx
        return idx
    if pool_type == "max":
        return te.compute(out_shape, lambda *i: te.max(data(*src(i)), axis=[ry, rx]), name="adaptive_pool_max",
                          tag="adaptive_pool_max")
    acc = _acc_dtype(data.dtype)
    total = te.compute(out_shape, lambda *i: te.sum(data(*src(i)).astype(acc), axis=[ry, rx]),
                       name="adaptive_pool_sum", tag="adaptive_pool_sum")
    size = get_const_int(h) * get_const_int(w)
    return te.compute(out_shape, lambda *i: _mean(total(*i), size, data.dtype), name="adaptive_pool_avg",
                      tag=tag.ELEMWISE)


def _adaptive(what: str, dims: str, data: Tensor, output_size: Any, pool_type: str, layout: str) -> Tensor:
    """Max or average over windows [floor(i * n / o), ceil((i + 1) * n / o)) of each ``dims`` axis
    (of size n), giving ``output_size`` (o per axis; None keeps the axis' size)."""
    if pool_type not in ("max", "avg"):
        raise ExprError(f"{what}: pool_type '{pool_type}' is not 'max' or 'avg'")
    axes = _window_axes(layout, dims, what)
    _check_data(what, data, layout)
    size = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * len(dims)
    if len(size) != len(dims):
        raise ExprError(f"{what}: output_size must be one or {len(dims)} sizes, got {output_size!r}")
    ns = [get_const_int(data.shape[a]) for a in axes]
    outs = [n if o is None else get_const_int(o) for o, n in zip(size, ns)]
    if min(outs) < 1:
        raise ExprError(f"{what}: output_size {output_size!r} must be positive")

    def start(n: int, o: int, i: Any) -> Any:
        return (i * n) // o

    def extent(n: int, o: int, i: Any) -> Any:
        return ((i + 1) * n + o - 1) // o - (i * n) // o

    widest = [max(extent(n, o, i) for i in range(o)) for n, o in zip(ns, outs)]
    ragged = any(k * o != n for k, o, n in zip(widest, outs, ns))  # windows of different sizes: short ones masked
    r = [te.reduce_axis((0, k), name=f"rv{j}") for j, k in enumerate(widest)]
    out_shape = list(data.shape)
    for a, o in zip(axes, outs):
        out_shape[a] = o

    def window(i: Sequence[Any]) -> tuple[Any, Any]:
        idx = list(i)
        for a, rv, n, o in zip(axes, r, ns, outs):
            idx[a] = te.min(start(n, o, i[a]) + rv, n - 1) if ragged else start(n, o, i[a]) + rv
        inside = te.all(*[rv < extent(n, o, i[a]) for a, rv, n, o in zip(axes, r, ns, outs)]) if ragged else None
        return data(*idx), inside

    def pooled(reducer: Any, acc: str | None = None) -> Any:
        def body(*i: Any) -> Any:
            value, inside = window(i)
            return reducer(value.astype(acc) if acc else value, axis=r, where=inside)
        return body

    if pool_type == "max":
        return te.compute(out_shape, pooled(te.max), name="adaptive_pool_max", tag="adaptive_pool_max")
    total = te.compute(out_shape, pooled(te.sum, _acc_dtype(data.dtype)), name="adaptive_pool_sum",
                       tag="adaptive_pool_sum")
    return te.compute(out_shape, lambda *i: _mean(total(*i), math.prod(extent(n, o, i[a]) for a, n, o in
                                                                      zip(axes, ns, outs)), data.dtype),
                      name="adaptive_pool_avg", tag=tag.ELEMWISE)


def adaptive_pool(data: Tensor, output_size: Any, pool_type: str, layout: str = "NCHW") -> Tensor:
    """Max or average over windows [floor(i * H / oh), ceil((i + 1) * H / oh)) giving ``output_size`` (oh, ow)."""
    return _adaptive("adaptive_pool", "HW", data, output_size, pool_type, layout)


def adaptive_pool1d(data: Tensor, output_size: Any, pool_type: str, layout: str = "NCW") -> Tensor:
    """``adaptive_pool`` over the W axis: ``output_size`` is (ow,) or ow."""
    return _adaptive("adaptive_pool1d", "W", data, output_size, pool_type, layout)


def adaptive_pool3d(data: Tensor, output_size: Any, pool_type: str, layout: str = "NCDHW") -> Tensor:
    """``adaptive_pool`` over the D, H and W axes: ``output_size`` is (od, oh, ow) or one size for all."""
    return _adaptive("adaptive_pool3d", "DHW", data, output_size, pool_type, layout)


def _layout_hw(layout: str, what: str) -> tuple[int, int]:
    """The axis positions of H and W in ``layout`` ("NCHW", "NHWC", "NCHW16c"): digits belong to the
    split axis after them, and H or W may not be split (no "h" or "w"), as in TVM."""
    if not isinstance(layout, str):
        raise ExprError(f"{what}: layout must be a string such as 'NCHW', got {layout!r}")
    axes = [c for c in layout if not c.isdigit()]
    if not all(c.isalpha() for c in axes) or axes.count("H") != 1 or axes.count("W") != 1 or \
            "h" in axes or "w" in axes:
        raise ExprError(f"{what}: layout '{layout}' needs one H and one W axis, neither of them split")
    return axes.index("H"), axes.index("W")


def _argmax_first() -> Any:
    """(index, value) argmax whose ties go to the smaller index, so a window's gradient goes to its
    first maximum in row-major order (TVM's argmax reducer).  The identity's index -1 compares as
    the largest, so a real element tying with the identity's value still wins."""
    def combine(x: Sequence[Any], y: Sequence[Any]) -> tuple[Any, Any]:
        earlier = y[0].astype("uint32") < x[0].astype("uint32")
        take_y = te.any(y[1] > x[1], te.all(y[1] == x[1], earlier))
        return te.if_then_else(take_y, y[0], x[0]), te.if_then_else(take_y, y[1], x[1])

    def identity(idx_dt: Any, val_dt: Any) -> tuple[Any, Any]:
        return te.const(-1, idx_dt), te.const(float("-inf"), val_dt)
    return te.comm_reducer(combine, identity, name="pool_grad_argmax")


def pool_grad(grads: Tensor, data: Tensor, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
              pool_type: str, ceil_mode: bool = False, layout: str = "NCHW", count_include_pad: bool = True) -> Tensor:
    """The gradient of ``pool2d(data, kernel, stride, (1, 1), padding, pool_type, ceil_mode, layout,
    count_include_pad)`` with respect to ``data``, given ``grads``, the gradient of its output.

    ``padding`` is (top, left, bottom, right), or (height, width) for both sides, or one pad for all.  Max pooling
    sends each window's gradient to the window's maximum, the first one in row-major order
    (top-most, then left-most) on ties, as TVM does; a window made only of padding sends none.
    Average pooling spreads it evenly, dividing by kh * kw (``count_include_pad``) or by the
    window's cells inside ``data``."""
    what = "pool_grad"
    for t, arg in ((grads, "grads"), (data, "data")):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
    if pool_type not in ("max", "avg"):
        raise ExprError(f"{what}: pool_type '{pool_type}' is not 'max' or 'avg'")
    if not data.dtype.is_float:
        raise DTypeError(f"{what}: data must be float, got {data.dtype}")
    if grads.dtype != data.dtype:
        raise DTypeError(f"{what}: grads is {grads.dtype} but data is {data.dtype}")
    ha, wa = _layout_hw(layout, what)
    if len(data.shape) != len([c for c in layout if not c.isdigit()]):
        raise ExprError(f"{what}: layout '{layout}' does not fit data of shape {list(data.shape)}")
    kh, kw = const_ints(kernel, 2, what, "kernel")
    sh, sw = const_ints(stride, 2, what, "stride")
    if min(kh, kw, sh, sw) < 1:
        raise ExprError(f"{what}: kernel {(kh, kw)} and stride {(sh, sw)} must be positive")
    pads = const_ints(padding, len(padding) if isinstance(padding, (list, tuple)) else 4, what, "padding")
    if len(pads) == 2:
        pads = pads + pads
    if len(pads) != 4 or min(pads) < 0:
        raise ExprError(f"{what}: padding {padding!r} must be 4 (top, left, bottom, right) or 2 non-negative values")
    pt, pl, pb, pr = pads
    # the extent of each axis with the user's padding (an average counts no ceil_mode cells beyond it)
    extent_h, extent_w = pt + pb, pl + pr
    if ceil_mode:  # extra padding at the end makes the floor division below a ceiling one
        pb, pr = pb + sh - 1, pr + sw - 1
    height, width = (static_dim(data.shape[a]) for a in (ha, wa))
    if height is None or width is None:
        raise ExprError(f"{what}: data's height and width must be constant, got shape {list(data.shape)}")
    extent_h, extent_w = extent_h + height, extent_w + width
    out_h = (height + pt + pb - kh) // sh + 1
    out_w = (width + pl + pr - kw) // sw + 1
    if min(out_h, out_w) < 1:
        raise ExprError(f"{what}: the input {height} x {width} with its padding is smaller than the window "
                        f"{kh} x {kw}, so pooling has no output")
    out_shape = list(data.shape)
    out_shape[ha], out_shape[wa] = out_h, out_w
    if len(grads.shape) != len(out_shape) or any(
            static_dim(g) is not None and static_dim(o) is not None and static_dim(g) != static_dim(o)
            for g, o in zip(grads.shape, out_shape)):
        raise ExprError(f"{what}: grads has shape {list(grads.shape)}, but pooling data of shape "
                        f"{list(data.shape)} gives {out_shape}")
    dt = str(data.dtype)

    # Each input element lies in at most ceil(k / s) windows per axis: output rows
    # (h + pt) // sh - wh for wh < ceil(kh / sh), of which those in range and covering it count.
    wh = te.reduce_axis((0, (kh + sh - 1) // sh), name="wh")
    ww = te.reduce_axis((0, (kw + sw - 1) // sw), name="ww")

    def windows(i: Sequence[Any]) -> tuple[Any, list[Any], Any, Any]:
        ph, pw = i[ha] + pt, i[wa] + pl  # the element's place in the padded input
        oh, ow = ph // sh - wh, pw // sw - ww
        covers = te.all(oh >= 0, oh < out_h, ph - oh * sh < kh, ow >= 0, ow < out_w, pw - ow * sw < kw)
        # clamped, so that the gradient is read in bounds even for windows that do not count
        idx = list(i)
        idx[ha], idx[wa] = te.max(te.min(oh, out_h - 1), 0), te.max(te.min(ow, out_w - 1), 0)
        return covers, idx, ph - idx[ha] * sh, pw - idx[wa] * sw

    if pool_type == "max":
        pad_before = [0] * len(data.shape)
        pad_after = [0] * len(data.shape)
        pad_before[ha], pad_before[wa], pad_after[ha], pad_after[wa] = pt, pl, pb, pr
        padded = pad(data, pad_before, pad_after, pad_value=te.min_value(dt), name="pad_temp") \
            if any(pad_before) or any(pad_after) else data
        dh = te.reduce_axis((0, kh), name="dh")
        dw = te.reduce_axis((0, kw), name="dw")
        argmax = _argmax_first()

        def first_max(*i: Any) -> Any:
            idx = list(i)
            idx[ha], idx[wa] = i[ha] * sh + dh, i[wa] * sw + dw
            return argmax(((dh.var * kw + dw.var).astype("int32"), padded(*idx)), axis=[dh, dw])
        where = te.compute(out_shape, first_max, name="maxpool_grad_argmax", tag=tag.COMM_REDUCE_IDX)[0]

        def max_grad(*i: Any) -> Any:
            covers, idx, dy, dx = windows(i)
            hit = te.all(covers, where(*idx) == (dy * kw + dx).astype("int32"))
            return te.sum(te.if_then_else(hit, grads(*idx), te.const(0, dt)), axis=[wh, ww])
        return te.compute(data.shape, max_grad, name="T_pool_grad", tag="pool_grad_max")

    def avg_grad(*i: Any) -> Any:
        covers, idx, _, _ = windows(i)
        if count_include_pad:  # the window's cells inside data and its padding, as pool2d counts them
            rows = te.min(te.const(kh, "int32"), extent_h - idx[ha] * sh)
            cols = te.min(te.const(kw, "int32"), extent_w - idx[wa] * sw)
            share = grads(*idx) / te.max(rows * cols, 1).astype(dt)
        else:  # the window's cells inside data, as pool2d counts them
            h0, w0 = idx[ha] * sh - pt, idx[wa] * sw - pl
            rows = te.min(h0 + kh, height) - te.max(h0, 0)
            cols = te.min(w0 + kw, width) - te.max(w0, 0)
            share = grads(*idx) / te.max(rows * cols, 1).astype(dt)
        return te.sum(te.if_then_else(covers, share, te.const(0, dt)), axis=[wh, ww])
    return te.compute(data.shape, avg_grad, name="T_pool_grad", tag="pool_grad_avg")
