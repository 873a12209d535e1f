"""topi problems the s15 operator fuzz campaign against numpy found: mixed-dtype concatenate / stack /
elemwise_sum / einsum promoting pairwise, argmax's int32 index over huge extents, take from an empty
axis, clip with crossed bounds, x86 dense / batch_matmul with a 0 extent, rounding integers."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import ExprError

from .runner import call, rand, rng, run_plain

# --- one common dtype for every input ----------------------------------------------------------


def _mixed() -> tuple[list, list[np.ndarray]]:
    """float64, float32 and int32 inputs, the int32 last and holding values float32 cannot hold."""
    x = rng.integers(2**24 + 1, 2**31 - 1, 4, dtype="int32") | 1  # odd and > 2**24: not a float32
    arrays = [rand(3, dtype="float64"), rand(2, dtype="float32"), x]
    ph = [te.placeholder(a.shape, str(a.dtype), name=n) for a, n in zip(arrays, "YZX")]
    return ph, arrays


def test_concatenate_mixed_dtypes_convert_each_input_once() -> None:
    ph, arrays = _mixed()
    C = topi.concatenate(ph, axis=0)
    assert str(C.dtype) == "float64"
    np.testing.assert_array_equal(run_plain(C, ph, arrays), np.concatenate(arrays))


def test_stack_mixed_dtypes_convert_each_input_once() -> None:
    y, z, x = rand(4, dtype="float64"), rand(4, dtype="float32"), _mixed()[1][2]
    ph = [te.placeholder((4,), str(a.dtype), name=n) for a, n in zip((y, z, x), "YZX")]
    C = topi.stack(ph, axis=1)
    np.testing.assert_array_equal(run_plain(C, ph, [y, z, x]), np.stack([y, z, x], axis=1))


def test_elemwise_sum_and_einsum_mixed_dtypes() -> None:
    x, z, y = _mixed()[1][2], rand(4, dtype="float32"), rand(4, dtype="float64")
    ph = [te.placeholder((4,), str(a.dtype), name=n) for a, n in zip((x, z, y), "XZY")]
    wide = [a.astype("float64") for a in (x, z, y)]
    got = run_plain(topi.elemwise_sum(ph), ph, [x, z, y])
    np.testing.assert_array_equal(got, wide[0] + wide[1] + wide[2])
    got = run_plain(topi.einsum("i,i,i->i", *ph), ph, [x, z, y])
    np.testing.assert_array_equal(got, wide[0] * wide[1] * wide[2])


# --- argmax / argmin index dtype -------------------------------------------------------------


@pytest.mark.parametrize("shape, axis, want", [
    ((2**31 + 5,), 0, "int64"), ((2**16, 2**15 + 1), None, "int64"), ((2**16, 2**15 + 1), 1, "int32"),
    ((2**31 - 1,), 0, "int32"), ((5, 7), None, "int32")])
def test_arg_index_dtype_by_extent(shape: tuple, axis: int | None, want: str) -> None:
    A = te.placeholder(shape, "int8", name="A")  # declared only: nothing of this size is allocated
    assert str(topi.argmax(A, axis=axis).dtype) == want
    assert str(topi.argmin(A, axis=axis, keepdims=True).dtype) == want


def test_arg_over_huge_extent_lowers_with_int64_index() -> None:
    A = te.placeholder((2**31 + 5,), "int8", name="A")
    B = topi.argmax(A, axis=0)
    text = str(tl.lower(te.create_schedule(B.op), [A, B]))
    assert "T_argmax: int64" in text and "uint32" not in text


def test_arg_symbolic_extent_dtype_and_values() -> None:
    n, m = te.var("n"), te.var("m", "int64")
    assert str(topi.argmax(te.placeholder((n, 3), name="A"), axis=0).dtype) == "int32"  # int32 n fits
    assert str(topi.argmax(te.placeholder((n, 3), name="A")).dtype) == "int64"  # 3 n may not
    A = te.placeholder((m, 3), "float32", name="A")
    a = rand(9, 3)
    a[4, 1] = np.nan
    for op in ("argmax", "argmin"):
        B = getattr(topi, op)(A, axis=0)
        assert str(B.dtype) == "int64"
        with tl.target.Target("llvm"):
            s = topi.x86.schedule_reduce(B)
        got = call(tl.build(s, [A, B], "llvm"), B, [a])
        np.testing.assert_array_equal(got, getattr(np, op)(a, axis=0))


# --- take from an empty axis -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["clip", "wrap", "fast"])
def test_take_from_empty_axis_is_a_clear_error(mode: str) -> None:
    A = te.placeholder((0, 3), name="A")
    I = te.placeholder((2,), "int32", name="I")  # noqa: E741
    with pytest.raises(ExprError, match=r"take: cannot take from A along axis=None .*length 0.* I has shape"):
        topi.take(A, I, mode=mode)
    with pytest.raises(ExprError, match=r"take: cannot take from A along axis 0: it has length 0"):
        topi.take(A, I, axis=0, mode=mode)
    with pytest.raises(ExprError, match=r"along axis 1"):
        topi.take(te.placeholder((3, 0), name="A"), I, axis=-1, mode=mode)


@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_empty_indices_from_empty_axis(mode: str) -> None:
    a, idx = np.zeros((0, 3), "float32"), np.zeros((0, 2), "int64")
    A = te.placeholder(a.shape, name="A")
    I = te.placeholder(idx.shape, "int64", name="I")  # noqa: E741
    for axis in (None, 0):
        B = topi.take(A, I, axis=axis, mode=mode)
        with tl.target.Target("llvm"):
            s = topi.x86.schedule_injective(B)
        got = call(tl.build(s, [A, I, B], "llvm"), B, [a, idx])
        assert got.shape == np.take(a, idx, axis=axis, mode=mode).shape


# --- clip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "int16"])
def test_clip_matches_numpy_with_crossed_bounds_and_nan(dtype: str) -> None:
    a = (rand(40) * 4).astype(dtype)
    if dtype != "int16":
        a[rng.integers(0, 40, 4)] = np.nan
    lo, hi = sorted(rng.uniform(-2, 2, 2).round(2))
    if dtype == "int16":
        lo, hi = int(lo) - 1, int(hi) + 1
    A = te.placeholder(a.shape, dtype, name="A")
    for a_min, a_max in ((lo, hi), (hi, lo)):
        got = run_plain(topi.clip(A, a_min, a_max), [A], [a])
        want = np.clip(a, np.array(a_min, dtype), np.array(a_max, dtype))
        np.testing.assert_array_equal(got, want)


# --- x86 dense / batch_matmul with a 0 extent ---------------------------------------------------


@pytest.mark.filterwarnings("ignore:tensorlang.autotune. no tuning record")
@pytest.mark.parametrize("m, n, k", [(0, 3, 4), (3, 0, 4), (3, 4, 0)])
@pytest.mark.parametrize("which", ["dense_nopack", "dense_pack", "batch_matmul"])
def test_x86_matmuls_with_a_zero_extent(m: int, n: int, k: int, which: str) -> None:
    batch = (2,) if which == "batch_matmul" else ()
    a, b = rand(*batch, m, k), rand(*batch, n, k)
    A, B = te.placeholder(a.shape, name="A"), te.placeholder(b.shape, name="B")
    with tl.target.Target("llvm"):
        C = getattr(topi.x86, which)(A, B)
        s = getattr(topi.x86, f"schedule_{which}")([C])
    got = call(tl.build(s, [A, B, C], "llvm"), C, [a, b])
    np.testing.assert_array_equal(got, a @ np.swapaxes(b, -1, -2))  # K = 0: zeros, not the garbage fill


# --- rounding integers -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int64"])
def test_rounding_integers_returns_them_unchanged(dtype: str) -> None:
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, 16, dtype=dtype, endpoint=True)
    A = te.placeholder(a.shape, dtype, name="A")
    for op in ("floor", "ceil", "round", "trunc"):
        B = getattr(topi, op)(A)
        assert B.dtype == A.dtype
        np.testing.assert_array_equal(run_plain(B, [A], [a]), getattr(np, op)(a))
