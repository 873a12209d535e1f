"""numpy semantics at the te level: constant folding, constant range checks, reducer identities,
shape and split-factor range checks, and te.sum refusing a spatial index as its axis."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import DTypeError, ExprError, ScheduleError
from tensorlang.te import numeric
from tensorlang.te.expr import IntImm, binary

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
OPS = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "FloorDiv": np.floor_divide,
       "FloorMod": np.remainder, "Min": np.minimum, "Max": np.maximum}


def _extremes(dtype: str, rng: np.random.Generator) -> np.ndarray:
    info = np.iinfo(dtype)
    edge = [info.min, info.max, 0, 1, info.max - 1, info.min + 1]
    if info.min < 0:
        edge += [-1, -2]
    rand = rng.integers(info.min, info.max, size=24, endpoint=True, dtype=dtype)
    return np.concatenate([np.array(edge, dtype=dtype), rand])


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_fold_int_equals_numpy_on_extremes(dtype: str, rng: np.random.Generator) -> None:
    xs = _extremes(dtype, rng)
    ys = rng.permutation(xs)
    dt = te.as_dtype(dtype)
    for name, fn in OPS.items():
        with np.errstate(all="ignore"):
            want = fn(xs, ys)
        got = [numeric.fold_int(name, int(x), int(y), dt) for x, y in zip(xs, ys)]
        np.testing.assert_array_equal(np.array(got, dtype=dtype), want, err_msg=f"{name} {dtype}")
        # constant folding while building expressions follows the same rules
        built = [te.const(int(x), dtype) for x in xs[:8]]
        for x, y, bx in zip(xs[:8], ys[:8], built):
            if name in ("FloorDiv", "FloorMod") and y == 0:
                continue  # a constant zero divisor is refused at declaration time (below)
            e = binary(getattr(te, name), bx, te.const(int(y), dtype))
            assert isinstance(e, IntImm) and e.value == int(fn(np.array(x), np.array(y)).astype(dtype))


def test_int_division_conventions() -> None:
    i32 = te.as_dtype("int32")
    assert numeric.fold_int("FloorDiv", -2**31, -1, i32) == -2**31
    assert numeric.fold_int("FloorMod", -2**31, -1, i32) == 0
    assert numeric.fold_int("FloorDiv", 7, 0, i32) == 0 and numeric.fold_int("Mod", 7, 0, i32) == 0
    assert numeric.fold_int("Div", -7, 2, i32) == -3 and numeric.fold_int("Mod", -7, 2, i32) == -1
    with pytest.raises(ExprError, match="division by the constant zero"):
        te.var("x") // 0


@pytest.mark.parametrize("value,dtype", [(300, "int8"), (-1, "uint8"), (2**31, "int32"),
                                         (2**64, "uint64"), (2**70, None)])
def test_out_of_range_constant_is_refused(value: int, dtype: str | None) -> None:
    with pytest.raises(DTypeError, match=str(value)):
        te.const(value, dtype)


def test_in_range_constants_and_casts_keep_their_value() -> None:
    assert te.const(-128, "int8").value == -128 and te.const(2**64 - 1, "uint64").value == 2**64 - 1
    # casting an existing value wraps, as numpy's astype does
    assert te.const(300, "int32").astype("int8").value == np.int32(300).astype(np.int8)
    with pytest.raises(DTypeError, match="300"):  # numpy 2: int8 + 300 is an OverflowError
        te.var("x", "int8") + 300


def test_huge_shapes_and_split_factors_are_refused() -> None:
    with pytest.raises(DTypeError, match="dimension 0"):
        te.placeholder((2**70,), name="A")
    A = te.placeholder((64,), name="A")
    B = te.compute((64,), lambda i: A[i] * 2, name="B")
    s = te.create_schedule(B.op)
    with pytest.raises(ScheduleError, match="factor"):
        s[B].split(B.op.axis[0], factor=10**30)


def test_sum_over_a_spatial_index_is_refused() -> None:
    A = te.placeholder((8, 8), name="A")
    with pytest.raises(ExprError, match="spatial index 'j'"):
        te.compute((8, 8), lambda i, j: te.sum(A[i, j], axis=j), name="C")
    with pytest.raises(ExprError, match="spatial index 'j'"):
        te.compute((8, 8), lambda i, j: te.sum(A[i, j], j), name="C")
    # elementwise two-operand max/min still works
    C = te.compute((8,), lambda i: te.max(A[i, 0], te.const(0.0)), name="C")
    assert C.shape[0].value == 8


def test_float_max_min_reductions_start_at_infinity() -> None:
    A = te.placeholder((8,), name="A")
    k = te.reduce_axis((0, 8), name="k")
    mx = te.compute((1,), lambda _: te.max(A[k], axis=k), name="mx")
    mn = te.compute((1,), lambda _: te.min(A[k], axis=k), name="mn")
    assert mx.op.body[0].combiner.identity[0].value == -np.inf
    assert mn.op.body[0].combiner.identity[0].value == np.inf


def test_min_max_of_a_spatial_index_are_elementwise() -> None:
    # te.min(3, j) / te.max(i, j): elementwise, as TVM reads them; axis=j by keyword is refused.
    C = te.compute((5, 5), lambda i, j: te.min(3, j) * 10 + te.max(i, j), name="C")
    f = tl.build(te.create_schedule(C.op), [C])
    out = np.zeros((5, 5), "int32")
    f(out)
    i, j = np.indices((5, 5))
    np.testing.assert_array_equal(out, np.minimum(3, j) * 10 + np.maximum(i, j))
    A = te.placeholder((8, 8), name="A")
    with pytest.raises(ExprError, match="spatial index 'j'"):
        te.compute((8, 8), lambda i, j: te.max(A[i, j], axis=j), name="D")


@pytest.mark.parametrize("src, dst", [("float16", "float32"), ("float16", "float64"), ("float32", "float64")])
def test_a_constant_holds_its_dtypes_value(src, dst) -> None:
    # A float16 0.1 widened is float16(0.1), as numpy: the constant is rounded to its dtype, and
    # folding rounds after each operation.
    vals = np.random.default_rng().uniform(-100, 100, 4)
    A = te.placeholder((1,), dst, name="A")
    C = te.compute((4,), lambda i: A[0] + te.const(float(vals[0]), src).astype(dst)
                   + (te.const(float(vals[1]), src) * te.const(float(vals[2]), src)).astype(dst), name="C")
    f = tl.build(te.create_schedule(C.op), [A, C])
    out = np.zeros(4, dst)
    f(np.zeros(1, dst), out)
    s = np.dtype(src).type
    want = np.array(0, dst) + np.array(s(vals[0]), dst) + np.array(s(vals[1]) * s(vals[2]), dst)
    np.testing.assert_array_equal(out, np.full(4, want, dst))


@pytest.mark.parametrize("dtype", ["int32", "int8", "float32"])
def test_power_operator_is_te_power(dtype: str, rng: np.random.Generator) -> None:
    # x ** y and 2 ** x on expressions (a bare TypeError before): numpy's power, in the dtype
    n = 64
    A = te.placeholder((n,), dtype, name="A")
    if dtype == "float32":
        B = te.compute((n,), lambda i: A[i] ** 2.5 + 2.0 ** A[i], name="B")
        a = (rng.random(n) * 3).astype(dtype)
        want = a ** np.float32(2.5) + np.float32(2.0) ** a
    else:
        B = te.compute((n,), lambda i: A[i] ** 3 + 2 ** A[i], name="B")
        a = rng.integers(0, 9, n).astype(dtype)  # int8: 8 ** 3 and 2 ** 8 wrap around, as in numpy
        with np.errstate(over="ignore"):
            want = a ** np.array(3, dtype) + np.array(2, dtype) ** a
    out = np.zeros(n, dtype)
    tl.build(te.create_schedule(B.op), [A, B])(a, out)
    np.testing.assert_allclose(out, want, rtol=1e-5)
