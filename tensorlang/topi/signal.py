"""Short-time and discrete Fourier transforms (TVM's ``topi.stft`` and ``topi.dft``).

Both are direct O(n²) sums, as TVM's CPU kernels are, written as ``te.compute`` reductions so
they schedule and build like any reduction.  The angle ``2π·(j·k)/n`` is reduced modulo ``n`` in
integer arithmetic before it becomes a float: ``j·k`` grows to ``n²`` and a float32 angle that
large would lose most of its fractional digits, while ``(j·k mod n)/n`` keeps them.  Sums of
float16 data run in float32 and are rounded once at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import te
from ..errors import DTypeError, ExprError
from ..te.expr import IntImm, PrimExpr, convert
from ..te.tensor import Tensor
from .utils import get_const_int, static_dim


def _acc_dtype(dtype: Any) -> str:
    """The dtype the sums run in: float64 for float64 data, float32 otherwise."""
    return "float64" if dtype.bits == 64 else "float32"


def _const_flag(value: Any, what: str, arg: str) -> bool:
    """A Python bool from a bool, an int or a constant expression (TVM passes IntImm / Bool)."""
    if isinstance(value, PrimExpr) and not isinstance(value, IntImm):
        raise ExprError(f"{what}: {arg} must be a constant, got {value}")
    try:
        return bool(get_const_int(value))
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a bool, got {value!r}") from None


def _positive_int(value: Any, what: str, arg: str) -> int:
    try:
        n = get_const_int(value)
    except ExprError:
        raise ExprError(f"{what}: {arg} must be a constant integer, got {value!r}") from None
    if n < 1:
        raise ExprError(f"{what}: {arg} must be positive, got {n}")
    return n


def _angle(j: PrimExpr, k: PrimExpr, n: Any, dtype: str) -> PrimExpr:
    """``2π·(j·k mod n)/n`` in ``dtype``, the product taken modulo n in int64 first."""
    n64 = convert(n).astype("int64")
    m = te.floormod(j.astype("int64") * k.astype("int64"), n64).astype(dtype)
    if static_dim(n) is not None:
        return m * te.const(2 * math.pi / static_dim(n), dtype)
    return m * te.const(2 * math.pi, dtype) / n64.astype(dtype)


def _round_to(t: Tensor, dtype: Any, name: str, tag: str) -> Tensor:
    """``t`` cast to ``dtype`` (a separate stage: a reduction must stay a stage's whole body)."""
    if t.dtype == dtype:
        return t
    return te.compute(t.shape, lambda *i: t(*i).astype(dtype), name=name, tag=tag)


def dft(re_data: Tensor, im_data: Tensor, inverse: Any) -> list[Tensor]:
    """The discrete Fourier transform along the last axis of the complex signal
    ``re_data + i·im_data`` (two float tensors of one shape and dtype): ``[re, im]`` of
    ``numpy.fft.fft``, or of ``numpy.fft.ifft`` (scaled by 1/n) when ``inverse``."""
    what = "dft"
    for t, arg in ((re_data, "re_data"), (im_data, "im_data")):
        if not isinstance(t, Tensor):
            raise ExprError(f"{what}: {arg} must be a tensor, got {type(t).__name__}")
        if not t.shape:
            raise ExprError(f"{what}: {arg} ({t.name}) is a scalar; it needs an axis to transform")
        if not t.dtype.is_float or t.dtype.lanes != 1:
            raise DTypeError(f"{what}: {arg} must hold floats, got {t.dtype}")
    if re_data.dtype != im_data.dtype:
        raise DTypeError(f"{what}: re_data is {re_data.dtype} but im_data is {im_data.dtype}; give one dtype")
    if len(re_data.shape) != len(im_data.shape) or any(
            static_dim(a) is not None and static_dim(b) is not None and static_dim(a) != static_dim(b)
            for a, b in zip(re_data.shape, im_data.shape)):
        raise ExprError(f"{what}: re_data has shape {list(re_data.shape)} but im_data {list(im_data.shape)}; "
                        f"they must match")
    inv = _const_flag(inverse, what, "inverse")
    dt = re_data.dtype
    acc = _acc_dtype(dt)
    n = re_data.shape[-1]
    if static_dim(n) == 0:
        raise ExprError(f"{what}: the last axis of {re_data.name} has length 0: there is no point to transform "
                        f"(numpy: 'Invalid number of FFT data points (0)')")
    # 1/n for the inverse, applied to every term (a reduction is a stage's whole body)
    if not inv:
        scale = None
    elif static_dim(n) is not None:
        scale = te.const(1.0 / max(static_dim(n), 1), acc)
    else:
        scale = te.const(1.0, acc) / convert(n).astype(acc)

    def transform(real_part: bool) -> Tensor:
        k = te.reduce_axis((0, n), name="k")

        def body(*i: PrimExpr) -> PrimExpr:
            src = list(i[:-1]) + [k]
            theta = _angle(i[-1], k, n, acc)
            c, s = te.cos(theta), te.sin(theta)
            x, y = re_data(*src).astype(acc), im_data(*src).astype(acc)
            # exp(∓iθ)·(x + iy): forward uses -θ, the inverse +θ
            if real_part:
                term = x * c - y * s if inv else x * c + y * s
            else:
                term = y * c + x * s if inv else y * c - x * s
            return te.sum(term * scale if scale is not None else term, axis=k)
        part = "re" if real_part else "im"
        out = te.compute(re_data.shape, body, name=f"dft_{part}", tag="dft")
        return _round_to(out, dt, f"dft_{part}_cast", "dft")

    return [transform(True), transform(False)]


def stft(data: Tensor, n_fft: int, hop_length: int, win_length: int, window: Tensor, normalized: bool,
         onesided: bool, output_shape: Sequence[Any]) -> Tensor:
    """The short-time Fourier transform of ``data`` (1-D, or 2-D with a batch axis first) as TVM
    computes it: frame ``f`` starts at ``f·hop_length``; frequency row ``r`` is
    ``Σ_{w<win_length} window[w]·data[f·hop_length + w]·exp(-2πi·r·w/win_length)`` (divided by
    √n_fft when ``normalized``).  The result is ``(..., n_freq, n_frames, 2)``, real and imaginary
    parts last, in ``data``'s dtype, with ``output_shape`` as the caller gives it (TVM's relay
    computes it): n_freq is ``n_fft // 2 + 1`` when ``onesided`` else ``n_fft``, n_frames
    ``1 + (len - n_fft) // hop_length``.  With ``win_length == n_fft`` this is
    ``torch.stft(center=False)``; for a shorter ``win_length`` TVM's kernel (followed here)
    transforms the ``win_length`` windowed samples, where torch centres the window in n_fft."""
    what = "stft"
    if not isinstance(data, Tensor):
        raise ExprError(f"{what}: data must be a tensor, got {type(data).__name__}")
    if len(data.shape) not in (1, 2):
        raise ExprError(f"{what}: data must be 1-D or 2-D (batch, samples), got shape {list(data.shape)}")
    if not data.dtype.is_float or data.dtype.lanes != 1:
        raise DTypeError(f"{what}: data must hold floats, got {data.dtype}")
    if not isinstance(window, Tensor):
        raise ExprError(f"{what}: window must be a tensor, got {type(window).__name__}")
    if len(window.shape) != 1:
        raise ExprError(f"{what}: window must be 1-D, got shape {list(window.shape)}")
    if window.dtype.is_bool or window.dtype.lanes != 1 or not (window.dtype.is_float or window.dtype.is_int):
        raise DTypeError(f"{what}: window must hold numbers, got {window.dtype}")
    nfft = _positive_int(n_fft, what, "n_fft")
    hop = _positive_int(hop_length, what, "hop_length")
    wlen = _positive_int(win_length, what, "win_length")
    if wlen > nfft:
        raise ExprError(f"{what}: win_length={wlen} is larger than n_fft={nfft}")
    if static_dim(window.shape[0]) is not None and static_dim(window.shape[0]) < wlen:
        raise ExprError(f"{what}: window has {static_dim(window.shape[0])} elements, fewer than "
                        f"win_length={wlen}")
    norm = _const_flag(normalized, what, "normalized")
    one = _const_flag(onesided, what, "onesided")
    length = data.shape[-1]
    if static_dim(length) is not None and static_dim(length) < nfft:
        raise ExprError(f"{what}: data has {static_dim(length)} samples, fewer than n_fft={nfft}")

    batched = len(data.shape) == 2
    try:
        shape = list(output_shape)
    except TypeError:
        raise ExprError(f"{what}: output_shape must be a list of dimensions, got {output_shape!r}") from None
    if len(shape) != len(data.shape) + 2:
        raise ExprError(f"{what}: output_shape {shape} must have {len(data.shape) + 2} dimensions "
                        f"({'batch, ' if batched else ''}n_freq, n_frames, 2)")
    try:
        shape = [d if isinstance(d, PrimExpr) else get_const_int(d) for d in shape]
    except ExprError:
        raise ExprError(f"{what}: output_shape {output_shape!r} must hold integers or expressions") from None
    expected: list[Any] = ([data.shape[0]] if batched else []) + [
        nfft // 2 + 1 if one else nfft,
        (static_dim(length) - nfft) // hop + 1 if static_dim(length) is not None else None, 2]
    names = (["batch"] if batched else []) + ["n_freq", "n_frames", "the last (real, imaginary)"]
    for d, want, name in zip(shape, expected, names):
        if static_dim(d) is not None and static_dim(want) is not None and static_dim(d) != static_dim(want):
            raise ExprError(f"{what}: output_shape {list(output_shape)} has {static_dim(d)} for {name}, "
                            f"expected {static_dim(want)}")

    acc = _acc_dtype(data.dtype)
    scale = te.const(1.0 / math.sqrt(nfft), acc) if norm else None

    def body(*i: PrimExpr) -> PrimExpr:
        lead, (row, frame, part) = list(i[:-3]), i[-3:]
        w = te.reduce_axis((0, wlen), name="w")
        theta = _angle(row, w, wlen, acc)
        # exp(-iθ) = cos θ - i·sin θ
        trig = te.if_then_else(part == 0, te.cos(theta), -te.sin(theta))
        term = window(w).astype(acc) * data(*lead, frame * hop + w).astype(acc) * trig
        return te.sum(term * scale if scale is not None else term, axis=w)

    out = te.compute(shape, body, name="stft", tag="stft")
    return _round_to(out, data.dtype, "stft_cast", "stft")


__all__ = ["stft", "dft"]
