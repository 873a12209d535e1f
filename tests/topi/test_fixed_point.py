"""fixed_point_multiply and fixed_point_multiply_per_axis against an int64 numpy version of TVM's
q_multiply_shift lowering (itself checked against exact integer rounding), on INT32_MIN/MAX, 0, -1,
negative and random x, multipliers at the int32 edges and shifts across [-31, 31]; bad arguments
are named."""

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import rng, run_plain

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MULTIPLIERS = [INT32_MAX, INT32_MIN, 2**30, 1518500250, -1073741824, 1, 0, -1]


def _q_multiply_shift(x, m, lshift, rshift):
    """TVM's lowering in int64 numpy (which wraps, as the compiled code does): x << lshift, times m, plus
    1 << (rshift + 30), arithmetic shift right by rshift + 31, low 32 bits."""
    v = (x.astype(np.int64) << np.asarray(lshift, np.int64)) * np.asarray(m, np.int64)
    total = np.asarray(rshift, np.int64) + 31
    return ((v + (np.int64(1) << (total - 1))) >> total).astype(np.int32)


def _exact(x, m, lshift, rshift):
    """round-half-up(x * m * 2**(lshift - rshift - 31)) with Python ints, wrapped into int32."""
    total = rshift + 31
    v = (x * m * 2**lshift + 2 ** (total - 1)) >> total
    return (v + 2**31) % 2**32 - 2**31


def _xs(n=64):
    x = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True, dtype=np.int64).astype(np.int32)
    x[:8] = [INT32_MIN, INT32_MAX, 0, -1, 1, INT32_MIN + 1, -(2**30), 3]
    x[8:16] = rng.integers(-1000, 1000, 8)  # small values: the ties and roundings of small products
    return x


def test_reference_is_exact_rounding():
    # Where the int64 product cannot overflow (no left shift with a right shift), and for left shifts alone,
    # TVM's steps equal exact round-half-up arithmetic wrapped into int32.
    x = _xs(32)
    for m in MULTIPLIERS:
        for lshift, rshift in [(0, 0), (0, 1), (0, 17), (0, 31), (1, 0), (13, 0), (31, 0)]:
            ref = _q_multiply_shift(x, m, lshift, rshift)
            assert [int(v) for v in ref] == [_exact(int(v), m, lshift, rshift) for v in x], (m, lshift, rshift)
    # Halves round up: 3 * 2**30 / 2**31 = 1.5 -> 2, and -1.5 -> -1.
    assert list(_q_multiply_shift(np.array([3, -3], np.int32), 2**30, 0, 0)) == [2, -1]


@pytest.mark.parametrize("m", MULTIPLIERS[:5])
def test_fixed_point_multiply_matches_reference(m):
    x = _xs()
    X = te.placeholder(x.shape, "int32", name="X")
    for shift in range(-31, 32):
        out = topi.fixed_point_multiply(X, m, shift)
        assert str(out.dtype) == "int32"
        got = run_plain(out, [X], [x])
        np.testing.assert_array_equal(got, _q_multiply_shift(x, m, max(shift, 0), max(-shift, 0)),
                                      err_msg=f"shift {shift}")


def test_fixed_point_multiply_approximates_the_scale():
    # multiplier 0.75 * 2**31 with shift -2: x * 0.1875, to the nearest integer.
    x = rng.integers(-10**6, 10**6, 50).astype(np.int32)
    X = te.placeholder(x.shape, "int32", name="X")
    got = run_plain(topi.fixed_point_multiply(X, 3 * 2**29, -2), [X], [x])
    np.testing.assert_array_equal(got, np.floor(x * 0.1875 + 0.5).astype(np.int32))


@pytest.mark.parametrize("axes,lshift_required", [((1,), True), ((0, 2), True), ((-1,), False), ((2, 0), True)])
def test_fixed_point_multiply_per_axis_matches_reference(axes, lshift_required):
    shape = (4, 5, 6)
    x = _xs(int(np.prod(shape))).reshape(shape)
    axes_n = [a % 3 for a in axes]
    pshape = tuple(shape[a] for a in axes_n)
    y = rng.integers(INT32_MIN, INT32_MAX, pshape, endpoint=True, dtype=np.int64).astype(np.int32)
    y.flat[:3] = [INT32_MAX, INT32_MIN, 0]
    # As relay's requantize makes them: per position a left or a right shift, both within [0, 31].
    shift = rng.integers(-31, 32, pshape)
    shift.flat[:2] = [31, -31]
    lshift, rshift = np.maximum(shift, 0).astype(np.int32), np.maximum(-shift, 0).astype(np.int32)
    X, Y, L, R = (te.placeholder(a.shape, "int32", name=nm) for a, nm in ((x, "X"), (y, "Y"), (lshift, "L"),
                                                                           (rshift, "R")))
    out = topi.fixed_point_multiply_per_axis(X, Y, L, R, lshift_required, True, axes)
    got = run_plain(out, [X, Y, L, R], [x, y, lshift, rshift])
    # Parameter entry of every element of x: its indices along the axes, in the axes' order.
    idx = np.indices(shape)
    at = tuple(idx[a] for a in axes_n)
    ref = _q_multiply_shift(x, y[at], lshift[at] if lshift_required else 0, rshift[at])
    np.testing.assert_array_equal(got, ref)


def test_fixed_point_bad_input_is_named():
    X = te.placeholder((4, 3), "int32", name="X")
    with pytest.raises(DTypeError, match="fixed_point_multiply: x F must be int32, got float32"):
        topi.fixed_point_multiply(te.placeholder((4,), name="F"), 2**30, 0)
    with pytest.raises(ExprError, match=r"fixed_point_multiply: shift 32 is outside \[-31, 31\]"):
        topi.fixed_point_multiply(X, 2**30, 32)
    with pytest.raises(ExprError, match="fixed_point_multiply: multiplier 2147483648 does not fit in int32"):
        topi.fixed_point_multiply(X, 2**31, 0)
    Y = te.placeholder((4,), "int32", name="Y")
    with pytest.raises(ExprError, match=r"fixed_point_multiply_per_axis: y Y must have the shape \(3,\) of X's axes"):
        topi.fixed_point_multiply_per_axis(X, Y, Y, Y, True, True, [1])
    with pytest.raises(ExprError, match=r"fixed_point_multiply_per_axis: axes \[2\] are out of range"):
        topi.fixed_point_multiply_per_axis(X, Y, Y, Y, True, True, [2])
    with pytest.raises(DTypeError, match="fixed_point_multiply_per_axis: lshift L must be int32, got int64"):
        topi.fixed_point_multiply_per_axis(X, Y, te.placeholder((4,), "int64", name="L"), Y, True, True, [0])
