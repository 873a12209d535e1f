"""Compiled kernels compute what numpy computes (tensorlang.te.numeric): integer division by zero
and INT_MIN // -1 without a signal, wrap-around value arithmetic, numpy's float // and %, and
NaN-propagating max/min, elementwise and as reductions, scalar and vectorized."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint32"]
FLOATS = ["float16", "float32", "float64"]


def _binary_kernel(dtype: str, fn, n: int, vectorize: bool):
    A = te.placeholder((n,), dtype, name="A")
    B = te.placeholder((n,), dtype, name="B")
    C = te.compute((n,), lambda i: fn(A[i], B[i]), name="C")
    s = te.create_schedule(C.op)
    if vectorize:
        _, xi = s[C].split(C.op.axis[0], factor=8)
        s[C].vectorize(xi)
    f = tl.build(s, [A, B, C], "llvm")

    def call(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        c = np.random.default_rng().integers(0, 100, n).astype(C.dtype.numpy())  # garbage to overwrite
        f(a, b, c)
        return c
    return call


def _int_operands(dtype: str, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)
    b = rng.integers(-9 if info.min else 0, 9, n, endpoint=True).astype(dtype)
    a[:4] = [info.min, info.min, info.max, 7]
    b[:4] = [-1 if info.min else 1, 0, 0, 0]  # INT_MIN // -1 and zero divisors
    return a, b


INT_OPS = [(lambda x, y: x // y, np.floor_divide), (lambda x, y: x % y, np.remainder),
           (te.truncmod, np.fmod), (lambda x, y: x + y * y - x * y, lambda x, y: x + y * y - x * y)]


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("vectorize", [False, True])
def test_integer_division_and_overflow_match_numpy(dtype: str, vectorize: bool, rng) -> None:
    a, b = _int_operands(dtype, rng, 64)
    for k, (fn, ref) in enumerate(INT_OPS):
        with np.errstate(all="ignore"):
            want = ref(a, b)
        if k < 3:  # numpy's division by zero gives 0 (np.fmod's too, but with a warning only)
            want = np.where(b == 0, 0, want).astype(dtype)
        np.testing.assert_array_equal(_binary_kernel(dtype, fn, 64, vectorize)(a, b), want)
    # truncating division: numpy has no ufunc; exact integer arithmetic in Python says
    got = _binary_kernel(dtype, te.truncdiv, 64, vectorize)(a, b)
    for x, y, g in zip(a.tolist(), b.tolist(), got.tolist()):
        q = 0 if y == 0 else (abs(x) // abs(y)) * (1 if (x < 0) == (y < 0) else -1)
        assert g == np.array(q).astype(dtype), (x, y, g)


def test_signed_overflow_is_not_assumed_away() -> None:
    n = 8
    A = te.placeholder((n,), "int8", name="A")
    C = te.compute((n,), lambda i: (A[i] > A[i] - 1).astype("int8"), name="C")
    B = te.placeholder((n,), "int32", name="B")
    D = te.compute((n,), lambda i: (B[i] * 4) // 4 + (-B[i] < 0).astype("int32"), name="D")
    for out, arg, data in ((C, A, np.array([-128, -1, 0, 1, 127, 5, -5, 3], "int8")),
                           (D, B, np.array([2**30, -2**31, 2**29, -1, 0, 1, 2**31 - 1, 77], "int32"))):
        s = te.create_schedule(out.op)
        f = tl.build(s, [arg, out], "llvm")
        got = np.zeros(n, out.dtype.numpy())
        f(data, got)
        with np.errstate(all="ignore"):
            want = ((data > data - np.array(1, data.dtype)).astype("int8") if out is C else
                    ((data * np.int32(4)) // np.int32(4) + (-data < 0).astype("int32")))
        np.testing.assert_array_equal(got, want)


SPECIAL = [1.0, 18752.0, -7.5, 7.5, 0.0, -0.0, np.inf, -np.inf, np.nan, 5.0, -5.0, 1e4, 3.0, 0.3, -1e-3, 2.5]
SPECIAL_B = [0.1, 175.9, 2.0, -2.0, 3.0, -3.0, 2.0, 1.0, 1.0, 0.0, 0.0, 3.3, np.inf, -0.1, 7.0, np.nan]
FLOAT_OPS = [(lambda x, y: x // y, np.floor_divide), (lambda x, y: x % y, np.remainder),
             (te.max, np.maximum), (te.min, np.minimum)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vectorize", [False, True])
def test_float_floordiv_mod_and_nan_minmax_match_numpy(dtype: str, vectorize: bool, rng) -> None:
    a = np.concatenate([np.array(SPECIAL, dtype), (rng.standard_normal(16) * 50).astype(dtype)])
    b = np.concatenate([np.array(SPECIAL_B, dtype), (rng.standard_normal(16) * 5).astype(dtype)])
    for fn, ref in FLOAT_OPS:
        kernel = _binary_kernel(dtype, fn, 32, vectorize)
        for x, y in ((a, b), (b, a)):
            with np.errstate(all="ignore"):
                want = ref(x, y)
            np.testing.assert_array_equal(kernel(x, y), want, err_msg=f"{ref.__name__} {dtype}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_min_reductions_propagate_nan_and_keep_infinities(dtype: str, rng) -> None:
    n, m = 6, 16
    A = te.placeholder((n, m), dtype, name="A")
    k = te.reduce_axis((0, m), name="k")
    mx = te.compute((n,), lambda i: te.max(A[i, k], axis=k), name="mx")
    k2 = te.reduce_axis((0, m), name="k2")
    mn = te.compute((n,), lambda i: te.min(A[i, k2], axis=k2), name="mn")
    s = te.create_schedule([mx.op, mn.op])
    f = tl.build(s, [A, mx, mn], "llvm")
    a = rng.standard_normal((n, m)).astype(dtype)
    a[0, :] = -np.inf
    a[1, :] = np.inf
    a[2, 5] = np.nan
    a[3, 0] = np.nan
    a[4, m - 1] = np.nan
    got_max, got_min = np.zeros(n, dtype), np.zeros(n, dtype)
    f(a, got_max, got_min)
    np.testing.assert_array_equal(got_max, a.max(axis=1))
    np.testing.assert_array_equal(got_min, a.min(axis=1))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vectorize", [False, True])
def test_max_min_of_equal_values_give_the_second_as_numpy(dtype: str, vectorize: bool) -> None:
    # numpy.maximum(-0.0, 0.0) is 0.0 and maximum(0.0, -0.0) is -0.0: a tie gives the second
    # argument; the sign of zero must come out the same (assert_array_equal alone would not see it).
    a = np.array([-0.0, 0.0, -0.0, 0.0, 1.0, np.nan, -0.0, 2.0] * 4, dtype)
    b = np.array([0.0, -0.0, -0.0, 0.0, np.nan, 1.0, np.nan, 2.0] * 4, dtype)
    for fn, ref in ((te.max, np.maximum), (te.min, np.minimum)):
        got = _binary_kernel(dtype, fn, 32, vectorize)(a, b)
        want = ref(a, b)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=f"{ref.__name__} {dtype}")
    relu = _binary_kernel(dtype, lambda x, y: te.max(x, te.const(0.0, dtype)), 32, vectorize)(a, b)
    np.testing.assert_array_equal(np.signbit(relu), np.signbit(np.maximum(a, np.zeros_like(a))))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("vectorize", [False, True])
def test_negation_flips_the_sign_of_zero_as_numpy(dtype: str, vectorize: bool) -> None:
    a = np.array([0.0, -0.0, 1.5, -np.inf, np.inf, np.nan, 1e-40, -2.0] * 4, dtype)
    got = _binary_kernel(dtype, lambda x, y: -x, 32, vectorize)(a, a)
    want = np.negative(a)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got[~np.isnan(a)]), np.signbit(want[~np.isnan(a)]))


@pytest.mark.parametrize("dtype", INTS + ["uint64"])
@pytest.mark.parametrize("vectorize", [False, True])
def test_integer_power_is_numpys_exact_wrapping_power(dtype: str, vectorize: bool, rng) -> None:
    info = np.iinfo(dtype)
    a = rng.integers(max(info.min, -9), min(info.max, 9), 64, endpoint=True).astype(dtype)
    b = rng.integers(0, min(info.max, 80), 64, endpoint=True).astype(dtype)
    a[:4], b[:4] = [0, 1, info.max, info.min], [0, 0, 3, 2]
    kernel = _binary_kernel(dtype, te.power, 64, vectorize)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(kernel(a, b), np.power(a, b))  # wrap-around included
    if info.min < 0:  # numpy refuses negative exponents; here 1 / a ** -b truncated toward zero
        a = np.array([1, -1, -1, 2, -3, 0, 5, 1] * 8, dtype)
        b = np.array([-1, -1, -2, -1, -2, -1, -3, -5] * 8, dtype)
        want = np.array([1, -1, 1, 0, 0, 0, 0, 1] * 8, dtype)
        np.testing.assert_array_equal(_binary_kernel(dtype, te.power, 64, vectorize)(a, b), want)
