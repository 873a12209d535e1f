"""topi problems a fuzz campaign against numpy found: take with large unsigned indices, unchecked
nn.dense / nn.matmul shapes, full's fill value made in the wrong dtype, raw Python exceptions (or
silent truncation) for bad arguments, numpy.split's sections, and reductions of 0-d tensors."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError, TensorLangError

from .runner import rand, rng, run_plain

# --- take with unsigned indices at or above 2**31 / 2**63 --------------------------------------


def _by_value(idx: np.ndarray, n: int, mode: str) -> np.ndarray:
    """``idx`` clipped into [0, n - 1] or wrapped modulo n by its unsigned value.  (np.take itself
    casts uint64 indices to intp, so 2**63 and up turn negative there: clip gives 0, and mode="wrap"
    of 2**63 loops ~2**63 / n times; uint8..uint32 indices it takes by value.)"""
    wide = idx.astype("uint64")
    return (np.minimum(wide, np.uint64(n - 1)) if mode == "clip" else wide % np.uint64(n)).astype("int64")


@pytest.mark.parametrize("idt", ["uint8", "uint16", "uint32", "uint64"])
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_unsigned_indices_keep_their_value(idt: str, mode: str) -> None:
    n = int(rng.integers(3, 40))
    top = np.iinfo(idt).max
    a = rand(n, 3)
    idx = np.concatenate([rng.integers(0, top, 12, dtype=idt, endpoint=True),
                          np.array([top, top - 1, top // 2 + 1, 0, n - 1, n], idt)])
    A = te.placeholder(a.shape, "float32", name="A")
    I = te.placeholder(idx.shape, idt, name="I")  # noqa: E741
    got = run_plain(topi.take(A, I, axis=0, mode=mode), [A, I], [a, idx])
    np.testing.assert_array_equal(got, a[_by_value(idx, n, mode)])
    if idt != "uint64":
        np.testing.assert_array_equal(got, np.take(a, idx, axis=0, mode=mode))


@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_flat_uint64_indices(mode: str) -> None:
    a = rand(3, 5)
    idx = np.array([[2**64 - 1, 2**63], [7, 2**63 + 3]], "uint64")
    A = te.placeholder(a.shape, "float32", name="A")
    I = te.placeholder(idx.shape, "uint64", name="I")  # noqa: E741
    got = run_plain(topi.take(A, I, mode=mode), [A, I], [a, idx])
    np.testing.assert_array_equal(got, a.ravel()[_by_value(idx, a.size, mode)])


# --- nn.dense / nn.matmul shape checks -----------------------------------------------------------


def test_nn_matmul_checks_the_contracted_dimensions() -> None:
    A = te.placeholder((3, 4), name="A")
    with pytest.raises(ExprError, match=r"matmul: .*A \(dimension 1\) has 4 but B \(dimension 0\) has 5"):
        topi.nn.matmul(A, te.placeholder((5, 6), name="B"))
    with pytest.raises(ExprError, match=r"A \(dimension 0\) has 3 but B \(dimension 1\) has 4"):
        topi.nn.matmul(A, te.placeholder((6, 4), name="B"), transpose_a=True, transpose_b=True)
    with pytest.raises(ExprError, match="matmul: tensor_a and tensor_b must be 2-D"):
        topi.nn.matmul(A, te.placeholder((4,), name="B"))


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_nn_matmul_with_bias_matches_numpy(ta: bool, tb: bool) -> None:
    a, b, bias = rand(3, 4), rand(4, 5), rand(5)
    a_in, b_in = (a.T.copy() if ta else a), (b.T.copy() if tb else b)
    A = te.placeholder(a_in.shape, name="A")
    B = te.placeholder(b_in.shape, name="B")
    C = te.placeholder((5,), name="bias")
    got = run_plain(topi.nn.matmul(A, B, C, transpose_a=ta, transpose_b=tb), [A, B, C], [a_in, b_in, bias])
    np.testing.assert_allclose(got, a @ b + bias, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", ["dense", "matmul"])
def test_bias_length_is_checked(op: str) -> None:
    A = te.placeholder((3, 4), name="A")
    W = te.placeholder((3, 4) if op == "dense" else (4, 3), name="W")
    with pytest.raises(ExprError, match=f"{op}: bias bias has 7 elements but the output has 3 columns"):
        getattr(topi.nn, op)(A, W, bias=te.placeholder((7,), name="bias"))
    with pytest.raises(ExprError, match=f"{op}: bias bias2 must be 1-D"):
        getattr(topi.nn, op)(A, W, bias=te.placeholder((1, 3), name="bias2"))


def test_dense_and_matmul_shape_checks_skip_symbolic_dimensions() -> None:
    n, k = te.var("n"), te.var("k")
    X = te.placeholder((n, k), name="X")
    bias = te.placeholder((3,), name="bias")
    assert tuple(topi.nn.dense(X, te.placeholder((3, k), name="W"), bias).shape)[1] == 3
    assert tuple(topi.nn.matmul(X, te.placeholder((k, 3), name="Y"), bias).shape)[1] == 3
    assert len(topi.nn.dense(X, te.placeholder((3, 7), name="W7")).shape) == 2  # K symbolic on one side
    m = te.var("m")
    assert len(topi.nn.dense(X, te.placeholder((3, k), name="W"), te.placeholder((m,), name="b")).shape) == 2


# --- full / full_like make the fill value in the requested dtype ---------------------------------


@pytest.mark.parametrize("dtype, value", [
    ("float64", 1e300), ("float64", -1e-310), ("float64", 0.1), ("uint64", 2**64 - 1), ("uint64", 2**63),
    ("int64", -2**63), ("int64", 123456789.0), ("int64", 2**53 + 1), ("float32", 1e39), ("float16", 1e5),
    ("int32", -1.7), ("bool", 0.5), ("float64", 2**70), ("uint8", np.int64(-1)), ("float32", np.float64(0.1)),
])
def test_full_and_full_like_match_numpy(dtype: str, value) -> None:
    shape = tuple(int(d) for d in rng.integers(1, 4, 2))
    want = np.full(shape, value, dtype) if dtype not in ("float32", "float16") or abs(value) < 1e30 else \
        np.full(shape, np.inf, dtype)  # numpy overflows to inf (with a warning)
    np.testing.assert_array_equal(run_plain(topi.full(shape, dtype, value), [], []), want)
    X = te.placeholder(shape, dtype, name="X")
    np.testing.assert_array_equal(run_plain(topi.full_like(X, value), [X], [np.zeros(shape, dtype)]), want)


def test_full_refuses_what_numpy_refuses() -> None:
    with pytest.raises(DTypeError, match="-1 does not fit uint8"):
        topi.full((2,), "uint8", -1)
    with pytest.raises(DTypeError, match="fill_value .* cannot be converted to float32"):
        topi.full((2,), "float32", 2**1100)
    with pytest.raises(ExprError, match="full_like: fill_value must be a number"):
        topi.full_like(te.placeholder((2,), name="X"), "x")


# --- bad arguments are tensorlang errors naming the argument ------------------------------------

_A = te.placeholder((3, 4), "float32", name="A")
_B = te.placeholder((3, 4), "float32", name="B")


@pytest.mark.parametrize("call, error, match", [
    (lambda: topi.split(_A, 0, 1), ExprError, "split: indices_or_sections is 0; the number of sections must be"),
    (lambda: topi.split(_A, -2, 0), ExprError, "split: indices_or_sections is -2"),
    (lambda: topi.split(_A, 2.0, 1), ExprError, "split: indices_or_sections must be an integer"),
    (lambda: topi.split(_A, [1.5], 1), ExprError, r"split: indices_or_sections\[0\] must be an integer, got 1.5"),
    (lambda: topi.split(_A, "2", 1), ExprError, "split: indices_or_sections must be"),
    (lambda: topi.split(_A, 2, 1.0), ExprError, "split: axis must be an integer, got 1.0"),
    (lambda: topi.sum(_A, axis=1.5), ExprError, "sum: axis must be an integer or a sequence of integers, got 1.5"),
    (lambda: topi.sum(_A, axis="x"), ExprError, "sum: axis must be an integer or a sequence of integers, got 'x'"),
    (lambda: topi.max(_A, axis=[0.5]), ExprError, r"max: axis\[0\] must be an integer, got 0.5"),
    (lambda: topi.min(_A, axis=True), ExprError, "min: axis must be an integer or a sequence"),
    (lambda: topi.sum(_A, axis=(0, 0)), ExprError, r"sum: duplicate value in axis \(0, 0\)"),
    (lambda: topi.prod(_A, axis=[1, -1]), ExprError, r"prod: duplicate value in axis \[1, -1\]"),
    (lambda: topi.argmax(_A, axis=0.0), ExprError, "argmax: axis must be an integer"),
    (lambda: topi.reshape(_A, 5), ExprError, r"reshape: cannot reshape \(3, 4\) \(12 elements\) to \(5,\)"),
    (lambda: topi.reshape(_A, [3, 4.0]), ExprError, "reshape: newshape must be an integer, got 4.0"),
    (lambda: topi.reshape(_A, "12"), ExprError, "reshape: newshape must be an integer or a sequence"),
    (lambda: topi.transpose(_A, "ab"), ExprError, "transpose: axes must be a sequence of integers, got 'ab'"),
    (lambda: topi.transpose(_A, (1.0, 0)), ExprError, r"transpose: axes\[0\] must be an integer, got 1.0"),
    (lambda: topi.transpose(_A, (0, 2)), ExprError, r"transpose: axis 2 \(axes\[1\]\) is out of range"),
    (lambda: topi.concatenate([_A, 3]), ExprError, r"concatenate: a_tuple\[1\] is 3 \(int\), not a tensor"),
    (lambda: topi.concatenate(_A), ExprError, "concatenate: a_tuple must be a sequence of tensors"),
    (lambda: topi.expand_dims(_A, 0.5), ExprError, "expand_dims: axis must be an integer, got 0.5"),
    (lambda: topi.expand_dims(_A, 0, 1.0), ExprError, "expand_dims: num_newaxis must be an integer"),
    (lambda: topi.squeeze(_A, (0, 0)), ExprError, "squeeze: duplicate value in axis"),
    (lambda: topi.stack([_A, None]), ExprError, r"stack: tensors\[1\] is None"),
    (lambda: topi.one_hot(te.placeholder((3,), "int32", name="I"), 1.0, 0.0, 4, 0.5, "float32"), ExprError,
     "one_hot: axis must be an integer"),
    (lambda: topi.take(_A, te.placeholder((2,), "int32", name="I"), 1, batch_dims=0.5), ExprError,
     "take: batch_dims must be an integer"),
    (lambda: topi.strided_slice(_A, [0], [2], axes=[0.5]), ExprError, r"strided_slice: axes\[0\] must be an integer"),
    (lambda: topi.nn.pool2d(_A, (2, 2), (1, 1), (1, 1), (0, 0, 0, 0), "max"), ExprError,
     r"pool2d: data A has 2 dimension\(s\) \(3, 4\) but layout 'NCHW' has 4"),
    (lambda: topi.nn.global_pool(_A, "avg"), ExprError, "global_pool: data A has 2 dimension"),
    (lambda: topi.nn.adaptive_pool(_A, (1, 1), "max"), ExprError, "adaptive_pool: data A has 2 dimension"),
    (lambda: topi.nn.conv2d_nchw(_A, _B, 1, 0, 1), ExprError, r"conv2d_nchw: Input A must be 4-D \(NCHW\)"),
    (lambda: topi.nn.conv2d_nhwc(te.placeholder((1, 4, 4, 2), name="D"), _B, 1, 0, 1), ExprError,
     r"conv2d_nhwc: Filter B must be 4-D \(HWIO\)"),
    (lambda: topi.nn.depthwise_conv2d_nchw(_A, _B, 1, 0, 1), ExprError, "depthwise_conv2d_nchw: Input A must be 4-D"),
    (lambda: topi.nn.group_conv2d_nchw(_A, _B, 1, 0, 1, 1), ExprError, "group_conv2d_nchw: Input A must be 4-D"),
])
def test_bad_arguments_raise_tensorlang_errors_naming_them(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_bad_arguments_are_never_raw_python_exceptions() -> None:
    for call in [lambda: topi.split(_A, None), lambda: topi.sum(_A, axis=[None]), lambda: topi.reshape(_A, None),
                 lambda: topi.transpose(_A, 3), lambda: topi.concatenate([None]), lambda: topi.squeeze(_A, "0"),
                 lambda: topi.nn.pool2d(_A, (2, 2), (1, 1), (1, 1), 0, "max", layout=3)]:
        with pytest.raises(TensorLangError):
            call()


def test_split_and_axis_accept_numpy_integers_and_reshape_accepts_an_int() -> None:
    a = rand(3, 4)
    A = te.placeholder(a.shape, name="A")
    np.testing.assert_array_equal(run_plain(topi.reshape(A, np.int64(12)), [A], [a]), a.reshape(12))
    np.testing.assert_array_equal(run_plain(topi.reshape(A, 12), [A], [a]), a.reshape(12))
    np.testing.assert_allclose(run_plain(topi.sum(A, axis=np.int32(-1)), [A], [a]), a.sum(-1), rtol=1e-5)
    parts = run_plain(topi.split(A, np.int64(2), np.int64(1)), [A], [a])
    for got, want in zip(parts, np.split(a, 2, 1)):
        np.testing.assert_array_equal(got, want)


# --- split follows numpy.split: empty sections, clamped and negative indices ---------------------


@pytest.mark.parametrize("indices", [[3, 1], [7, 2], [-2], [0, 0, 5, 9], [2, -1, 6], [5], [], [-9, 2]])
def test_split_at_indices_matches_numpy(indices) -> None:
    a = rand(4, 5)
    A = te.placeholder(a.shape, name="A")
    outs = topi.split(A, indices, 1)
    want = np.split(a, indices, 1)
    assert [tuple(int(d) for d in o.shape) for o in outs] == [w.shape for w in want]
    got = run_plain(outs, [A], [a])
    for g, w in zip(got if isinstance(got, list) else [got], want):
        np.testing.assert_array_equal(g, w)


# --- reductions of a 0-d tensor (or over no axes) return the values ------------------------------


@pytest.mark.parametrize("name", ["sum", "max", "min", "prod", "all", "any"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "uint8", "bool"])
def test_reductions_of_0d_tensors_return_the_value(name: str, dtype: str) -> None:
    a = np.array(rng.integers(0, 3) if dtype in ("int32", "uint8", "bool") else rng.standard_normal(), dtype)
    A = te.placeholder((), dtype, name="A")
    for kwargs in ({}, {"keepdims": True}, {"axis": ()}):
        C = getattr(topi, name)(A, **kwargs)
        assert tuple(C.shape) == ()
        want = getattr(np, name)(a, **kwargs)
        assert str(C.dtype) == ("bool" if name in ("all", "any") else dtype)
        np.testing.assert_array_equal(run_plain(C, [A], [a]), want)


@pytest.mark.parametrize("name", ["sum", "max", "prod", "any"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_over_no_axes_return_the_elements(name: str, keepdims: bool) -> None:
    a = rand(3, 4)
    A = te.placeholder(a.shape, name="A")
    got = run_plain(getattr(topi, name)(A, axis=(), keepdims=keepdims), [A], [a])
    np.testing.assert_array_equal(got, getattr(np, name)(a, axis=(), keepdims=keepdims))


@pytest.mark.parametrize("sched, target", [("x86", "llvm"), ("cuda", "cuda -emulate")])
def test_0d_reductions_take_the_reduce_schedules(sched: str, target: str) -> None:
    import tensorlang as tl
    a = np.array(rng.standard_normal(), "float32")
    A = te.placeholder((), name="A")
    C = topi.sum(A)
    with tl.target.Target(target):
        s = getattr(topi, sched).schedule_reduce(C)
    f = tl.build(s, [A, C], target=target)
    c = np.zeros((), "float32")
    f(a, c)
    assert c == a


@pytest.mark.parametrize("op", ["sort", "argsort", "topk", "cumsum", "cumprod"])
def test_a_float_axis_of_sort_and_scan_is_refused_not_truncated(op):
    A = te.placeholder((3, 4), name="A")
    with pytest.raises(ExprError, match=rf"{op}: axis must be an integer, got 1.5"):
        getattr(topi, op)(A, axis=1.5)
