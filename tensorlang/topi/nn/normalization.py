"""Normalizations: local response (lrn), L2 (l2_normalize), layer (layer_norm), instance
(instance_norm), group (group_norm) and batch (batch_norm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import te
from ...errors import DTypeError, ExprError
from ...te.expr import PrimExpr
from ...te.tensor import Tensor
from .. import tag
from ..broadcast import divide
from ..math import sqrt
from ..reduction import sum as reduce_sum
from ..transform import normalize_axes, normalize_axis, reshape
from ..utils import check_tensors, get_const_tuple, prod, static_dim
from .pad import pad


def _float(data: Tensor, what: str) -> None:
    if not data.dtype.is_float:
        raise DTypeError(f"{what}: {data.name} must hold floats, got {data.dtype}")


def _axes(data: Tensor, axis: Any, what: str) -> list[int]:
    ndim = len(data.shape)
    if axis is None:
        return list(range(ndim))
    axes = normalize_axes(axis, ndim, what)  # integers, distinct (a float axis is not truncated)
    if not axes:
        raise ExprError(f"{what}: axis {axis!r} must name at least one axis")
    return sorted(axes)


def _check_vector(what: str, arg: str, t: Tensor, shape: Sequence[Any]) -> None:
    """``t`` must have ``shape`` (where both are constant)."""
    got, want = get_const_tuple(t.shape), get_const_tuple(shape)
    if len(got) != len(want) or any(isinstance(g, int) and isinstance(w, int) and g != w for g, w in zip(got, want)):
        raise ExprError(f"{what}: {arg} {t.name} has shape {got}, expected {want}")


def _reduce_over(data: Tensor, axes: list[int], value: Any, name: str, keepdims: bool = False) -> Tensor:
    """``te.sum(value(index))`` over ``axes`` of ``data``'s shape (``value`` takes the full index and
    the output index)."""
    ndim = len(data.shape)
    raxes = {k: te.reduce_axis((0, data.shape[k]), name=f"k{k}") for k in axes}
    keep = [k for k in range(ndim) if k not in raxes]
    shape = [1 if k in raxes else data.shape[k] for k in range(ndim)] if keepdims else [data.shape[k] for k in keep]

    def body(*i: Any) -> PrimExpr:
        outer = [i[k] for k in keep] if keepdims else list(i)
        it = iter(outer)
        full = [raxes[k] if k in raxes else next(it) for k in range(ndim)]
        return te.sum(value(full, i), axis=[raxes[k] for k in axes])
    return te.compute(shape, body, name=name, tag=tag.COMM_REDUCE)


def lrn(data: Tensor, size: int, axis: int = 1, alpha: float = 0.0001, beta: float = 0.75,
        bias: float = 2) -> Tensor:
    """data / (bias + alpha * sum of squares over ``size`` neighbouring channels / size) ** beta."""
    check_tensors("lrn", data=data)
    what = "lrn"
    if len(data.shape) != 4:
        raise ExprError(f"{what}: data must be 4-D (NCHW or NHWC), got {len(data.shape)}-D")
    _float(data, what)
    ax = normalize_axis(axis, 4, what)
    if ax not in (1, 3):
        raise ExprError(f"{what}: axis must be 1 (NCHW) or 3 (NHWC), got {axis}")
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ExprError(f"{what}: size must be a positive odd integer, got {size!r}")
    before = [0, 0, 0, 0]
    before[ax] = size // 2
    padded = pad(data, before, before, name="pad_data")
    rxs = te.reduce_axis((0, size), name="rxs")

    def window(i: Sequence[Any]) -> Any:
        idx = list(i)
        idx[ax] = idx[ax] + rxs
        v = padded(*idx)
        return te.sum(v * v, axis=rxs)
    sqr_sum = te.compute(data.shape, lambda *i: window(i), name="tensor", tag="sqr_sum")
    dt = data.dtype
    scale = te.compute(data.shape, lambda *i: te.power(
        te.const(bias, dt) + te.const(alpha, dt) * sqr_sum(*i) / te.const(size, dt), te.const(beta, dt)),
        name="tensor", tag=tag.ELEMWISE)
    return divide(data, scale)


def l2_normalize(data: Tensor, eps: float, axis: Any = None) -> Tensor:
    """data / sqrt(max(sum of squares over ``axis``, eps)) (all axes when None)."""
    check_tensors("l2_normalize", data=data)
    what = "l2_normalize"
    _float(data, what)
    axes = _axes(data, axis, what)
    sq = _reduce_over(data, axes, lambda idx, _: data(*idx) * data(*idx), "T_sum", keepdims=True)
    floor_ = te.compute(data.shape, lambda *i: te.max(sq(*[0 if k in axes else x for k, x in enumerate(i)]),
                                                      te.const(eps, data.dtype)), name="tensor", tag="l2_normalize")
    return te.compute(data.shape, lambda *i: data(*i) / te.sqrt(floor_(*i)), name="T_divide", tag=tag.BROADCAST)


def layer_norm(data: Tensor, gamma: Tensor, beta: Tensor | None, axis: Any, epsilon: float = 1e-5) -> Tensor:
    """(data - mean) / sqrt(var + epsilon) * gamma + beta, mean and variance over ``axis``."""
    return _normalize(data, gamma, beta, axis, epsilon, "layer_norm")


def _normalize(data: Tensor, gamma: Tensor, beta: Tensor | None, axis: Any, epsilon: float, what: str) -> Tensor:
    """layer_norm's arithmetic; errors name the operator ``what``."""
    check_tensors(what, data=data, gamma=gamma)
    if beta is not None:
        check_tensors(what, beta=beta)
    _float(data, what)
    axes = _axes(data, axis, what)
    norm_shape = [data.shape[k] for k in axes]
    _check_vector(what, "gamma", gamma, norm_shape)
    if beta is not None:
        _check_vector(what, "beta", beta, norm_shape)
    dt, up = data.dtype, _accumulate(data.dtype)
    acc = _acc_dtype(dt)
    count = te.const(prod(get_const_tuple(norm_shape)), acc)
    keep = [k for k in range(len(data.shape)) if k not in axes]
    total = _reduce_over(data, axes, lambda idx, _: up(data(*idx)), f"{data.op.name}_sum")
    mean = te.compute(total.shape, lambda *i: total(*i) / count, name=f"{data.op.name}_mean", tag=tag.INJECTIVE)
    var_sum = _reduce_over(data, axes, lambda idx, out: (up(data(*idx)) - mean(*out)) * (up(data(*idx)) - mean(*out)),
                           f"{data.op.name}_var_sum")

    def body(*i: Any) -> PrimExpr:
        outer, inner = [i[k] for k in keep], [i[k] for k in axes]
        value = (up(data(*i)) - mean(*outer)) * te.rsqrt(var_sum(*outer) / count + te.const(epsilon, acc)) \
            * up(gamma(*inner))
        value = value + up(beta(*inner)) if beta is not None else value
        return value if acc == dt else value.astype(dt)
    return te.compute(data.shape, body, name="T_layer_norm", tag=tag.INJECTIVE)


def _acc_dtype(dt: Any) -> str:
    """The dtype statistics are summed in: float32 for float16 data (a float16 sum of a few
    hundred values near 100 is off by its 0.125 ulp), as TVM's layer_norm does."""
    return "float32" if str(dt) == "float16" else str(dt)


def _accumulate(dt: Any) -> Any:
    acc = _acc_dtype(dt)
    return (lambda x: x) if acc == str(dt) else (lambda x: x.astype(acc))


def instance_norm(data: Tensor, gamma: Tensor, beta: Tensor | None, axis: Any, epsilon: float = 1e-5) -> Tensor:
    """TVM's topi ``instance_norm``: mean and variance over ``axis`` (the spatial axes of each
    instance and channel), scaled by ``gamma`` and shifted by ``beta`` shaped like those axes:
    the same arithmetic as ``layer_norm``."""
    return _normalize(data, gamma, beta, axis, epsilon, "instance_norm")


def group_norm(data: Tensor, gamma: Tensor, beta: Tensor | None, num_groups: int, channel_axis: int,
               axes: Any, epsilon: float = 1e-5) -> Tensor:
    """Mean and variance over each group of ``channels / num_groups`` consecutive channels and
    ``axes`` (the others besides the channel axis), then ``gamma[c]`` and ``beta[c]`` per channel."""
    check_tensors("group_norm", data=data)
    what = "group_norm"
    _float(data, what)
    ndim = len(data.shape)
    c_ax = normalize_axis(channel_axis, ndim, what)
    spatial = [] if isinstance(axes, (list, tuple)) and not axes else _axes(data, axes, what)
    if c_ax in spatial:
        raise ExprError(f"{what}: axes {axes!r} must not include the channel axis {channel_axis}")
    channels = static_dim(data.shape[c_ax])
    if not isinstance(num_groups, int) or num_groups < 1 or channels is None or channels % num_groups:
        raise ExprError(f"{what}: num_groups={num_groups!r} must divide the {data.shape[c_ax]} channels")
    _check_vector(what, "gamma", gamma, [data.shape[c_ax]])
    if beta is not None:
        _check_vector(what, "beta", beta, [data.shape[c_ax]])
    per = channels // num_groups
    dt, up = data.dtype, _accumulate(data.dtype)
    acc = _acc_dtype(dt)
    count = te.const(per * prod(get_const_tuple([data.shape[k] for k in spatial])), acc)
    keep = [k for k in range(ndim) if k != c_ax and k not in spatial]  # e.g. the batch axis
    kc = te.reduce_axis((0, per), name="kc")
    ks = {k: te.reduce_axis((0, data.shape[k]), name=f"k{k}") for k in spatial}

    def reduce(value: Any, name: str) -> Tensor:
        def body(*i: Any) -> PrimExpr:  # i: the kept axes, then the group
            outer = dict(zip(keep, i[:-1]))
            idx = [outer[k] if k in outer else ks[k] if k in ks else i[-1] * per + kc for k in range(ndim)]
            return te.sum(value(idx, i), axis=[kc, *ks.values()])
        return te.compute([data.shape[k] for k in keep] + [num_groups], body, name=name, tag=tag.COMM_REDUCE)

    total = reduce(lambda idx, _: up(data(*idx)), f"{data.op.name}_group_sum")
    mean = te.compute(total.shape, lambda *i: total(*i) / count, name=f"{data.op.name}_group_mean",
                      tag=tag.INJECTIVE)
    var_sum = reduce(lambda idx, g: (up(data(*idx)) - mean(*g)) * (up(data(*idx)) - mean(*g)),
                     f"{data.op.name}_group_var_sum")

    def out(*i: Any) -> PrimExpr:
        g = [i[k] for k in keep] + [i[c_ax] // per]
        value = (up(data(*i)) - mean(*g)) * te.rsqrt(var_sum(*g) / count + te.const(epsilon, acc)) \
            * up(gamma(i[c_ax]))
        value = value + up(beta(i[c_ax])) if beta is not None else value
        return value if acc == dt else value.astype(dt)
    return te.compute(data.shape, out, name="T_group_norm", tag=tag.INJECTIVE)


def batch_norm(data: Tensor, gamma: Tensor, beta: Tensor, moving_mean: Tensor, moving_var: Tensor,
               axis: int | None = None, epsilon: float | None = 1e-5, center: bool | None = True,
               scale: bool | None = True, training: bool | None = False,
               momentum: float | None = None) -> list[Tensor]:
    """[out, moving_mean, moving_var]; ``training`` uses the batch's statistics and updates the moving ones."""
    what = "batch_norm"
    check_tensors(what, data=data, gamma=gamma, beta=beta, moving_mean=moving_mean, moving_var=moving_var)
    _float(data, what)
    ax = normalize_axis(1 if axis is None else axis, len(data.shape), what)
    epsilon = 1e-5 if epsilon is None else epsilon
    momentum = 0.1 if momentum is None else momentum
    for arg, t in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean), ("moving_var", moving_var)):
        _check_vector(what, arg, t, [data.shape[ax]])
    shape = [1] * len(data.shape)
    shape[ax] = data.shape[ax]
    if training:
        if not 0 <= momentum <= 1:
            raise ExprError(f"{what}: momentum must lie in [0, 1], got {momentum}")
        others = [k for k in range(len(data.shape)) if k != ax]
        count = prod(get_const_tuple([data.shape[k] for k in others]))
        mean = reduce_sum(data, axis=others) / count
        centered = data - reshape(mean, shape)
        var = reduce_sum(centered * centered, axis=others) / count
        out = centered / sqrt(reshape(var, shape) + epsilon)
    else:
        out = (data - reshape(moving_mean, shape)) / sqrt(reshape(moving_var, shape) + epsilon)
    if scale is None or scale:
        out = out * reshape(gamma, shape)
    if center is None or center:
        out = out + reshape(beta, shape)
    if training:
        return [out, (1 - momentum) * moving_mean + momentum * mean, (1 - momentum) * moving_var + momentum * var]
    # the moving statistics pass through unchanged, as new tensors (TVM multiplies by 1)
    return [out, moving_mean * 1, moving_var * 1]
