"""Winograd convolutions F(m x m, r x r): the transform matrices (Cook-Toom, from interpolation
points), the weight transform, and the stride-1 NHWC convolution TVM's auto-scheduler uses.

A 1-D correlation of ``m`` outputs with an ``r``-tap filter ``g`` over ``alpha = m + r - 1``
inputs ``d`` is ``y = A^T [(G g) * (B^T d)]``; in 2-D, ``Y = A^T [(G g G^T) * (B^T d B)] A`` per
m x m output tile, so a tile costs alpha^2 multiplications instead of m^2 r^2.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from ... import te
from ...errors import ArgumentError, DTypeError, ExprError
from ...te.dtype import as_dtype
from ...te.tensor import Tensor
from ..const_matrix import const_matrix
from ..utils import check_tensors, get_const_int, get_const_tuple, get_pad_tuple, out_dtype_of, pair
from .pad import pad

# Interpolation points, the best-conditioned first: small integers and their reciprocals keep the
# entries of A, B and G near 1, so float32 rounding errors stay small (Barabasz et al., "Error
# analysis and improving the accuracy of Winograd convolution", 2018). The point at infinity is
# always used as well, so alpha - 1 finite points are taken.
_POINTS = tuple(Fraction(p) for p in ("0", "1", "-1", "1/2", "-1/2", "2", "-2", "1/4", "-1/4", "4", "-4",
                                      "3/4", "-3/4", "4/3", "-4/3"))


def _polymul(p: list[Fraction], q: list[Fraction]) -> list[Fraction]:
    """The product of two polynomials given by their coefficients, lowest degree first."""
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


@cache
def _cook_toom(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact A (alpha x m), B (alpha x alpha) and G (alpha x r) of F(m, r), as float64.

    The linear convolution h = g * x (degree alpha - 1) is evaluated at the points p_i and at
    infinity (the leading coefficient): h = C [(V_r g) * (V_m x)], V_n the alpha x n evaluation
    matrix, C the interpolation matrix.  Correlation is convolution transposed, so
    y = V_m^T [(V_r g) * (C^T d)]: A = V_m, G = V_r, B = C.  Column i of C holds the Lagrange
    polynomial N_i(x) / N_i(p_i), N_i = prod_{k != i} (x - p_k); the last column is
    prod_k (x - p_k) for the point at infinity.  Scalars move from B's columns to G's rows (G is
    applied once per filter) so that B holds small integers.
    """
    alpha = m + r - 1
    pts = _POINTS[:alpha - 1]

    def evaluation(n: int) -> list[list[Fraction]]:
        rows = [[p ** j for j in range(n)] for p in pts]
        return rows + [[Fraction(int(j == n - 1)) for j in range(n)]]

    a, g = evaluation(m), evaluation(r)
    b = [[Fraction(0)] * alpha for _ in range(alpha)]
    for i, p_i in enumerate(pts):
        numer, denom = [Fraction(1)], Fraction(1)
        for k, p_k in enumerate(pts):
            if k != i:
                numer = _polymul(numer, [-p_k, Fraction(1)])
                denom *= p_i - p_k
        # Column i of B is N_i scaled to coprime integers, with the sign that keeps row i of G
        # positive; G's row takes the rest of 1 / N_i(p_i).
        scale = Fraction(math.lcm(*(c.denominator for c in numer)), math.gcd(*(c.numerator for c in numer)))
        scale = scale if denom > 0 else -scale
        for j, c in enumerate(numer):
            b[j][i] = c * scale
        g[i] = [v / (denom * scale) for v in g[i]]
    full = [Fraction(1)]
    for p in pts:
        full = _polymul(full, [-p, Fraction(1)])
    scale = Fraction(math.lcm(*(c.denominator for c in full)), math.gcd(*(c.numerator for c in full)))
    for j, c in enumerate(full):
        b[j][alpha - 1] = c * scale
    g[alpha - 1] = [v / scale for v in g[alpha - 1]]
    return tuple(np.array(x, dtype="float64") for x in (a, b, g))  # type: ignore[return-value]


def _int_in(value: Any, low: int, high: int, what: str, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ExprError(f"{what}: {arg}={value!r} is not supported for Winograd (an int in [{low}, {high}])")
    return int(value)


def winograd_transform_matrices(tile_size: int, kernel_size: int, out_dtype: str) -> tuple[Tensor, Tensor, Tensor]:
    """The transform matrices (A, B, G) of F(tile_size, kernel_size) as constant tensors of
    ``out_dtype``: A (alpha, tile_size), B (alpha, alpha), G (alpha, kernel_size), alpha =
    tile_size + kernel_size - 1, with ``Y = A^T [(G g G^T) * (B^T d B)] A``.
    tile_size 2..8 and kernel_size 3..7, as TVM's."""
    what = "winograd_transform_matrices"
    m = _int_in(tile_size, 2, 8, what, "tile_size")
    r = _int_in(kernel_size, 3, 7, what, "kernel_size")
    try:
        dtype = as_dtype(out_dtype)
    except DTypeError:
        raise DTypeError(f"{what}: out_dtype {out_dtype!r} is not a dtype") from None
    if not dtype.is_float:
        # The matrices hold fractions: an integer type would truncate them to a wrong result.
        raise DTypeError(f"{what}: out_dtype {out_dtype!r} must be a float type")
    return tuple(const_matrix(v.astype(str(dtype)), name) for v, name in zip(_cook_toom(m, r), "ABG"))  # type: ignore[return-value]


def conv2d_winograd_weight_transform(kernel: Tensor, tile_size: int) -> Tensor:
    """An OIHW ``kernel`` (CO, CI, K, K) transformed for F(tile_size, K): (alpha, alpha, CO, CI),
    ``G g G^T`` per (CO, CI), in the kernel's dtype."""
    what = "conv2d_winograd_weight_transform"
    check_tensors(what, kernel=kernel)
    shape = get_const_tuple(kernel.shape)
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape):
        raise ArgumentError(f"{what}: kernel {kernel.name} must be 4-D OIHW with constant sizes, got {shape}")
    co, ci, kh, kw = shape
    if kh != kw:
        raise ArgumentError(f"{what}: kernel {kernel.name} is {kh}x{kw}; only square kernels are supported")
    _, _, G = winograd_transform_matrices(tile_size, kh, str(kernel.dtype))
    alpha = tile_size + kh - 1
    r_kh = te.reduce_axis((0, kh), name="r_kh")
    r_kw = te.reduce_axis((0, kw), name="r_kw")
    return te.compute((alpha, alpha, co, ci),
                      lambda eps, nu, o, i: te.sum(kernel[o, i, r_kh, r_kw] * G[eps, r_kh] * G[nu, r_kw],
                                                   axis=[r_kh, r_kw]),
                      name="transform_weight")


class WinogradTiles:
    """The output tiling of a stride-1, undilated Winograd convolution F(m, r) over an input of
    h x w: padding, output size, tiles per column/row, and the extra zero padding at the bottom
    and right that completes the last tiles' alpha x alpha inputs."""

    def __init__(self, what: str, h: int, w: int, r: int, m: int, padding: Any):
        self.m, self.r, self.alpha = m, r, m + r - 1
        self.pt, self.pl, self.pb, self.pr = get_pad_tuple(padding, (r, r))
        self.oh = h + self.pt + self.pb - r + 1
        self.ow = w + self.pl + self.pr - r + 1
        if self.oh < 1 or self.ow < 1:
            raise ArgumentError(f"{what}: data of {h}x{w} padded by {padding!r} is smaller than the "
                                f"{r}x{r} kernel")
        self.nh, self.nw = -(-self.oh // m), -(-self.ow // m)
        # The last tile reads up to row (nh - 1) * m + alpha - 1 of the padded input.
        self.extra_h, self.extra_w = self.nh * m - self.oh, self.nw * m - self.ow


def check_unit(what: str, value: Any, arg: str) -> None:
    """Raise ArgumentError naming ``arg`` unless ``value`` (an int or a pair) is 1 in both dimensions."""
    try:
        ok = all(get_const_int(v) == 1 for v in pair(value, f"{what} {arg}"))
    except ExprError:
        ok = False
    if not ok:
        raise ArgumentError(f"{what}: {arg} {value!r} is not supported (Winograd needs {arg} 1)")


def _constant_shape(what: str, tensor: Tensor, arg: str, layout: str) -> tuple[int, ...]:
    shape = get_const_tuple(tensor.shape)
    if len(shape) != 4:
        raise ArgumentError(f"{what}: {arg} {tensor.name} must be 4-D ({layout}), got shape {shape}")
    if not all(isinstance(d, int) for d in shape):
        raise ArgumentError(f"{what}: {arg} {tensor.name} must have constant sizes, got {shape}")
    return shape


def _winograd_nhwc(what: str, data: Tensor, weight: Tensor, strides: Any, padding: Any, dilation: Any,
                   out_dtype: str | None, tile_size: int, pre_computed: bool) -> Tensor:
    out_dtype = out_dtype_of(out_dtype, data, what)
    n, h, w, ci = _constant_shape(what, data, "data", "NHWC")
    check_unit(what, dilation, "dilation")
    check_unit(what, strides, "strides")
    m = tile_size
    if pre_computed:
        eps_h, eps_w, co, wci = _constant_shape(what, weight, "weight", "alpha, alpha, CO, CI")
        kh, kw = eps_h - m + 1, eps_w - m + 1
    else:
        kh, kw, wci, co = _constant_shape(what, weight, "weight", "HWIO")
    if (kh, kw) != (3, 3):
        form = f"a transformed {eps_h}x{eps_w} (F({m}, 3) needs {m + 2}x{m + 2})" if pre_computed else f"{kh}x{kw}"
        raise ArgumentError(f"{what}: weight {weight.name} is {form}; only 3x3 kernels are supported")
    if wci != ci:
        raise ArgumentError(f"{what}: data {data.name} has {ci} channels but weight {weight.name} expects {wci}")
    t = WinogradTiles(what, h, w, 3, m, padding)
    alpha, nh, nw = t.alpha, t.nh, t.nw
    A, B, G = winograd_transform_matrices(m, 3, out_dtype)
    P = n * nh * nw

    data_pad = pad(data, (0, t.pt, t.pl, 0), (0, t.pb + t.extra_h, t.pr + t.extra_w, 0), name="data_pad")
    if pre_computed:
        kernel_pack = weight
    else:
        r_kh = te.reduce_axis((0, 3), name="r_kh")
        r_kw = te.reduce_axis((0, 3), name="r_kw")
        kernel_pack = te.compute(
            (alpha, alpha, co, ci),
            lambda eps, nu, o, i: te.sum(weight[r_kh, r_kw, i, o].astype(out_dtype) * G[eps, r_kh] * G[nu, r_kw],
                                         axis=[r_kh, r_kw]),
            name="kernel_pack")
    # tile p is (batch p // (nh nw), tile row p // nw % nh, tile column p % nw)
    input_tile = te.compute(
        (alpha, alpha, P, ci),
        lambda eps, nu, p, c: data_pad[p // (nh * nw), (p // nw) % nh * m + eps, p % nw * m + nu, c],
        name="input_tile")
    r_a = te.reduce_axis((0, alpha), name="r_a")
    r_b = te.reduce_axis((0, alpha), name="r_b")
    data_pack = te.compute(
        (alpha, alpha, P, ci),
        lambda eps, nu, p, c: te.sum(input_tile[r_a, r_b, p, c].astype(out_dtype) * B[r_a, eps] * B[r_b, nu],
                                     axis=[r_a, r_b]),
        name="data_pack")
    rc = te.reduce_axis((0, ci), name="ci")
    bgemm = te.compute(
        (alpha, alpha, P, co),
        lambda eps, nu, p, o: te.sum(data_pack[eps, nu, p, rc] * kernel_pack[eps, nu, o, rc].astype(out_dtype),
                                     axis=[rc]),
        name="bgemm")
    r_a = te.reduce_axis((0, alpha), name="r_a")
    r_b = te.reduce_axis((0, alpha), name="r_b")
    inverse = te.compute(
        (m, m, P, co),
        lambda vh, vw, p, o: te.sum(bgemm[r_a, r_b, p, o] * A[r_a, vh] * A[r_b, vw], axis=[r_a, r_b]),
        name="inverse")
    return te.compute(
        (n, t.oh, t.ow, co),
        lambda b, y, x, o: inverse[y % m, x % m, b * nh * nw + y // m * nw + x // m, o],
        name="conv2d_winograd", tag="conv2d_winograd_nhwc")


def conv2d_winograd_nhwc(data: Tensor, weight: Tensor, strides: Any, padding: Any, dilation: Any,
                         out_dtype: str | None, pre_computed: bool = False,
                         auto_scheduler_rewritten_layout: str = "",
                         meta_schedule_original_shape: Any = None) -> Tensor:
    """Winograd F(4x4, 3x3) convolution: data (N, H, W, CI), weight (3, 3, CI, CO) HWIO, or with
    ``pre_computed`` already transformed, (6, 6, CO, CI) -> (N, OH, OW, CO).  Stride 1 and no
    dilation only.  The auto-scheduler arguments are accepted for TVM's signature and must be
    left at their defaults (tensorlang does not rewrite layouts)."""
    what = "conv2d_winograd_nhwc"
    if auto_scheduler_rewritten_layout:
        raise ArgumentError(f"{what}: auto_scheduler_rewritten_layout {auto_scheduler_rewritten_layout!r} is not "
                            "supported (leave it empty)")
    if meta_schedule_original_shape:
        raise ArgumentError(f"{what}: meta_schedule_original_shape {meta_schedule_original_shape!r} is not "
                            "supported (leave it None)")
    return _winograd_nhwc(what, data, weight, strides, padding, dilation, out_dtype, 4, bool(pre_computed))


def conv2d_winograd_nhwc_without_weight_transform(data: Tensor, weight: Tensor, strides: Any, padding: Any,
                                                  dilation: Any, out_dtype: str | None,
                                                  auto_scheduler_rewritten_layout: str = "",
                                                  meta_schedule_original_shape: Any = None) -> Tensor:
    """``conv2d_winograd_nhwc`` with a weight already transformed, (6, 6, CO, CI) as
    ``conv2d_winograd_weight_transform(kernel_oihw, 4)`` gives it."""
    return conv2d_winograd_nhwc(data, weight, strides, padding, dilation, out_dtype, pre_computed=True,
                                auto_scheduler_rewritten_layout=auto_scheduler_rewritten_layout,
                                meta_schedule_original_shape=meta_schedule_original_shape)
