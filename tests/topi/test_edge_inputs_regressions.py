"""Edge inputs of topi operators whose fixes were once lost and found again by a fuzzing campaign
(scatter, take, broadcast_to, bool ops, arange, reshape, conv2d windows, pools, nll_loss): each
compared with numpy on fresh random data."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError, TensorLangError
from tests.topi.runner import run_plain as run  # outputs start as garbage

rng = np.random.default_rng(1919)




# --- scatter with a narrow index dtype -------------------------------------------------------------------


@pytest.mark.parametrize("idt, n", [("int8", 200), ("int16", 40000), ("uint8", 300)])
def test_scatter_with_narrow_indices_keeps_every_update(idt: str, n: int) -> None:
    info = np.iinfo(idt)
    d = rng.standard_normal(n).astype("float32")
    idx = rng.integers(info.min, info.max, 60, endpoint=True).astype(idt)
    u = rng.standard_normal(60).astype("float32")
    D, I = te.placeholder((n,), "float32", "D"), te.placeholder((60,), idt, "I")
    U = te.placeholder((60,), "float32", "U")
    got = run(topi.scatter(D, I, U, 0), [D, I, U], [d, idx, u])
    want = d.copy()
    for k in range(60):
        j = int(idx[k]) + (n if int(idx[k]) < 0 else 0)
        if 0 <= j < n:
            want[j] = u[k]
    np.testing.assert_array_equal(got, want)


# --- reverse_sequence with int64 lengths -------------------------------------------------------------------


def test_reverse_sequence_with_wide_lengths_clamps_them_to_the_axis() -> None:
    a = rng.standard_normal((4, 6)).astype("float32")
    lens = np.array([2**32 + 1, 3, 2**40, -(2**33)], "int64")
    A, S = te.placeholder(a.shape, "float32", "A"), te.placeholder((4,), "int64", "S")
    got = run(topi.reverse_sequence(A, S, 1, 0), [A, S], [a, lens])
    want = a.copy()
    for b in range(4):
        n = int(min(max(lens[b], 0), 6))
        want[b, :n] = a[b, :n][::-1]
    np.testing.assert_array_equal(got, want)


# --- broadcast_to: numpy's one-sided rule --------------------------------------------------------------------


@pytest.mark.parametrize("src, dst", [((3, 1), (1, 4)), ((3,), (1,)), ((2, 3), (3,)), ((2, 3), (2, 1))])
def test_broadcast_to_refuses_targets_numpy_refuses(src: tuple, dst: tuple) -> None:
    with pytest.raises(ValueError):
        np.broadcast_to(np.zeros(src), dst)
    with pytest.raises(ExprError, match="broadcast_to"):
        topi.broadcast_to(te.placeholder(src, name="A"), dst)


@pytest.mark.parametrize("src, dst", [((3, 1), (2, 3, 4)), ((1,), (0,)), ((), (2, 2)), ((4,), (0, 4))])
def test_broadcast_to_matches_numpy(src: tuple, dst: tuple) -> None:
    a = rng.standard_normal(src).astype("float32")
    A = te.placeholder(src, name="A")
    C = topi.broadcast_to(A, dst)
    assert tuple(int(d) for d in C.shape) == dst
    np.testing.assert_array_equal(run(C, [A], [a]), np.broadcast_to(a, dst))


# --- take on empty input / indices --------------------------------------------------------------------------


@pytest.mark.parametrize("shape, ishape, axis", [((0, 3), (0,), 0), ((4, 3), (0, 2), 1), ((0, 3), (2,), 1),
                                                 ((0, 3), (0,), None)])
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_with_empty_data_or_indices_matches_numpy(shape: tuple, ishape: tuple, axis, mode: str) -> None:
    a = rng.standard_normal(shape).astype("float32")
    idx = rng.integers(0, 3, ishape).astype("int32")
    A, I = te.placeholder(shape, name="A"), te.placeholder(ishape, "int32", "I")
    got = run(topi.take(A, I, axis, mode=mode), [A, I], [a, idx])
    np.testing.assert_array_equal(got, np.take(a, idx, axis, mode=mode))


def test_take_from_an_empty_tensor_with_indices_is_refused() -> None:
    with pytest.raises(ExprError, match="take"):
        topi.take(te.placeholder((0, 3), name="A"), te.placeholder((2,), "int32", "I"))


# --- bool dtype rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, npf", [("add", np.add), ("multiply", np.multiply), ("maximum", np.maximum),
                                       ("floor_divide", np.floor_divide), ("floor_mod", np.mod),
                                       ("mod", np.fmod), ("power", np.power)])
def test_bool_binary_ops_give_numpys_dtype_and_values(name: str, npf) -> None:
    a = rng.integers(0, 2, 16).astype(bool)
    b = np.ones(16, bool) if name in ("floor_divide", "floor_mod", "mod") else rng.integers(0, 2, 16).astype(bool)
    A, B = te.placeholder((16,), "bool", "A"), te.placeholder((16,), "bool", "B")
    C = getattr(topi, name)(A, B)
    want = npf(a, b)
    assert str(C.dtype) == str(want.dtype)
    np.testing.assert_array_equal(run(C, [A, B], [a, b]), want)


def test_bool_subtract_and_negative_are_refused_as_in_numpy() -> None:
    A, B = te.placeholder((4,), "bool", "A"), te.placeholder((4,), "bool", "B")
    with pytest.raises(TypeError):
        np.subtract(np.ones(4, bool), np.ones(4, bool))
    with pytest.raises(DTypeError, match="subtract"):
        topi.subtract(A, B)
    with pytest.raises(DTypeError, match="subtract"):
        topi.subtract(A, True)
    with pytest.raises(DTypeError, match="negative"):
        topi.negative(A)


# --- arange ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(0, float("inf"), 1), (0, 1, float("nan")), (float("-inf"), 0, 1),
                                  (-(2**63), 2**63, 1), (0, 1e30, 1e-10)])
def test_arange_with_no_finite_or_too_long_length_is_refused(args: tuple) -> None:
    with pytest.raises(ExprError, match="arange"):
        topi.arange(*args, dtype="int64")


@pytest.mark.parametrize("args, dtype", [((250, 260, 1), "uint8"), ((-5, 5, 3), "int16"),
                                         ((2**62, 2**62 + 5, 1), "int64")])
def test_arange_matches_numpy(args: tuple, dtype: str) -> None:
    start = int(rng.integers(0, 3))
    args = (args[0] + start, *args[1:])
    np.testing.assert_array_equal(run(topi.arange(*args, dtype=dtype), [], []), np.arange(*args, dtype=dtype))


# --- flatten / reshape of 0-size tensors -------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 0, 4), (0, 3, 4), (3, 4, 0)])
@pytest.mark.parametrize("fn", ["topi.flatten", "topi.nn.flatten", "topi.nn.batch_flatten"])
def test_flatten_of_a_0_size_tensor(shape: tuple, fn: str) -> None:
    f = {"topi.flatten": topi.flatten, "topi.nn.flatten": topi.nn.flatten,
         "topi.nn.batch_flatten": topi.nn.batch_flatten}[fn]
    a = np.zeros(shape, "float32")
    A = te.placeholder(shape, name="A")
    got = run(f(A), [A], [a])
    assert got.shape == (shape[0], int(np.prod(shape[1:])))


@pytest.mark.parametrize("newshape", [(0, -1), (-1, 0), (2, -1, 0)])
def test_reshape_of_minus_1_with_a_0_dimension_is_refused(newshape: tuple) -> None:
    with pytest.raises(ValueError):
        np.zeros((2, 0, 4)).reshape(newshape)
    with pytest.raises(ExprError, match="reshape.*-1"):
        topi.reshape(te.placeholder((2, 0, 4), name="A"), newshape)


def test_reshape_of_a_0_size_tensor_with_minus_1_still_works() -> None:
    A = te.placeholder((2, 0, 4), name="A")
    assert tuple(int(d) for d in topi.reshape(A, (8, -1)).shape) == np.zeros((2, 0, 4)).reshape(8, -1).shape


# --- conv2d bad windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"strides": 0, "padding": 0}, "strides"), ({"strides": (1, -1), "padding": 0}, "strides"),
    ({"strides": 1, "padding": 0, "dilation": 0}, "dilation"), ({"strides": 1, "padding": -1}, "padding"),
    ({"strides": 1, "padding": (0, 0, 0, -2)}, "padding"), ({"strides": 1, "padding": 0, "dilation": 3}, "smaller"),
])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_conv2d_bad_windows_are_clear_errors(kwargs: dict, match: str, layout: str) -> None:
    X = te.placeholder((1, 2, 5, 5) if layout == "NCHW" else (1, 5, 5, 2), name="X")
    W = te.placeholder((3, 2, 3, 3) if layout == "NCHW" else (3, 3, 2, 3), name="W")
    with pytest.raises(ExprError, match=f"conv2d.*{match}"):
        topi.nn.conv2d(X, W, data_layout=layout, **kwargs)


def test_conv2d_kernel_larger_than_the_padded_input_is_a_clear_error() -> None:
    X, W = te.placeholder((1, 2, 5, 5), name="X"), te.placeholder((3, 2, 7, 7), name="W")
    with pytest.raises(ExprError, match="conv2d.*smaller than the kernel"):
        topi.nn.conv2d(X, W, 1, 0)
    with pytest.raises(ExprError, match="depthwise.*padding"):
        topi.nn.depthwise_conv2d_nchw(X, te.placeholder((2, 1, 3, 3)), 1, -1, 1)
    with pytest.raises(ExprError, match="conv3d.*padding"):
        topi.nn.conv3d_ncdhw(te.placeholder((1, 2, 5, 5, 5)), te.placeholder((3, 2, 3, 3, 3)), 1, -1, 1)
    with pytest.raises(ExprError, match="pool2d.*padding"):
        topi.nn.pool2d(X, (2, 2), (1, 1), (1, 1), (-1, 0, 0, 0), "max")


def test_conv2d_with_the_kernel_just_fitting_the_padding_matches_numpy() -> None:
    x = rng.standard_normal((1, 2, 3, 3)).astype("float32")
    w = rng.standard_normal((2, 2, 5, 5)).astype("float32")
    X, W = te.placeholder(x.shape, name="X"), te.placeholder(w.shape, name="W")
    got = run(topi.nn.conv2d(X, W, 1, 1), [X, W], [x, w])
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.einsum("nchw,kchw->nk", xp, w).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# --- stack / clip / pad / leaky_relu bad arguments ---------------------------------------------------------------


def test_bad_arguments_of_stack_clip_pad_leaky_relu_name_the_operator() -> None:
    A = te.placeholder((2, 3), name="A")
    I8 = te.placeholder((3,), "int8", name="I8")
    cases = [
        (lambda: topi.stack([], 0), "stack"), (lambda: topi.stack([A, A], 3), "stack: axis 3"),
        (lambda: topi.stack([A, A], -4), "stack: axis -4"),
        (lambda: topi.clip(A, None, 1.0), "clip: a_min"), (lambda: topi.clip(A, 0.0, "x"), "clip: a_max"),
        (lambda: topi.clip(I8, -300, 3), "clip: a_min"), (lambda: topi.clip(A, A, 1.0), "clip: a_min"),
        (lambda: topi.nn.pad(A, [-1, 0], [0, 0]), "pad: pad_before"),
        (lambda: topi.nn.pad(A, [0, 0], [0, -2]), "pad: pad_after"),
        (lambda: topi.nn.pad(A, [1.5, 0]), "pad: pad_before"), (lambda: topi.nn.pad(A, 1), "pad: pad_before"),
        (lambda: topi.nn.pad(I8, [1], [1], pad_value=300), "pad: pad_value"),
        (lambda: topi.nn.pad(A, [1, 0], pad_value="x"), "pad: pad_value"),
        (lambda: topi.nn.leaky_relu(A, None), "leaky_relu: alpha"),
        (lambda: topi.nn.leaky_relu(A, "a"), "leaky_relu: alpha"),
        (lambda: topi.nn.leaky_relu(I8, 0.1), "leaky_relu: alpha"),
    ]
    for fn, match in cases:
        with pytest.raises(TensorLangError, match=match):
            fn()


def test_stack_negative_axis_and_pad_clip_leaky_relu_still_match_numpy() -> None:
    a, b = rng.standard_normal((2, 3)).astype("float32"), rng.standard_normal((2, 3)).astype("float32")
    A, B = te.placeholder((2, 3), name="A"), te.placeholder((2, 3), name="B")
    got = run([topi.stack([A, B], -1), topi.nn.pad(A, [1, 0], [0, 2], pad_value=np.float32(1.5)),
               topi.clip(A, np.float64(-0.5), 0.5), topi.nn.leaky_relu(A, np.float32(0.25))], [A, B], [a, b])
    np.testing.assert_array_equal(got[0], np.stack([a, b], -1))
    np.testing.assert_array_equal(got[1], np.pad(a, ((1, 0), (0, 2)), constant_values=1.5))
    np.testing.assert_array_equal(got[2], np.clip(a, -0.5, 0.5))
    np.testing.assert_allclose(got[3], np.where(a > 0, a, a * np.float32(0.25)), rtol=1e-6)


# --- average pools sum wide -------------------------------------------------------------------------------


def _avg_ref(a: np.ndarray, k: int) -> np.ndarray:
    n, c, h, w = a.shape
    s = a.astype(np.float64).reshape(n, c, h // k, k, w // k, k).sum(axis=(3, 5))
    return s / (k * k)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "float16"])
def test_avg_pool2d_sums_in_a_wide_type(dtype: str) -> None:
    if dtype == "float16":
        a = (rng.standard_normal((1, 2, 4, 4)) * 30000).clip(-65000, 65000).astype("float16")
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, (1, 2, 4, 4), endpoint=True).astype(dtype)
    A = te.placeholder(a.shape, dtype, "A")
    got = run(topi.nn.pool2d(A, (2, 2), (2, 2), (1, 1), (0, 0, 0, 0), "avg"), [A], [a])
    ref = _avg_ref(a, 2)
    want = ref.astype("float16") if dtype == "float16" else np.trunc(ref).astype(dtype)
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_of_int8_with_padding_truncates_toward_zero(count_include_pad: bool) -> None:
    a = rng.integers(-128, 127, (1, 1, 3, 3), endpoint=True).astype("int8")
    A = te.placeholder(a.shape, "int8", "A")
    got = run(topi.nn.pool2d(A, (2, 2), (1, 1), (1, 1), (1, 1, 1, 1), "avg",
                             count_include_pad=count_include_pad), [A], [a])
    p = np.pad(a.astype(np.int64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones((3, 3), np.int64), 1)
    want = np.zeros((4, 4), np.int64)
    for i in range(4):
        for j in range(4):
            total = p[0, 0, i:i + 2, j:j + 2].sum()
            cnt = 4 if count_include_pad else ones[i:i + 2, j:j + 2].sum()
            want[i, j] = int(np.trunc(total / cnt))
    np.testing.assert_array_equal(got[0, 0], want.astype("int8"))


@pytest.mark.parametrize("op", ["global", "adaptive"])
def test_global_and_adaptive_avg_pools_of_int8_sum_wide(op: str) -> None:
    a = rng.integers(-128, 127, (1, 2, 4, 6), endpoint=True).astype("int8")
    A = te.placeholder(a.shape, "int8", "A")
    C = topi.nn.global_pool(A, "avg") if op == "global" else topi.nn.adaptive_pool(A, (1, 2), "avg")
    got = run(C, [A], [a])
    if op == "global":
        want = np.trunc(a.astype(np.float64).mean(axis=(2, 3), keepdims=True))
    else:
        want = np.trunc(a.astype(np.float64).reshape(1, 2, 4, 2, 3).mean(axis=(2, 4)).reshape(1, 2, 1, 2))
    np.testing.assert_array_equal(got, want.astype("int8"))


# --- nll_loss edge cases ---------------------------------------------------------------------------------------


def _nll_ref(p, t, w, reduction, ignore):
    losses, weights = np.zeros(t.shape), np.zeros(t.shape)
    for idx in np.ndindex(*t.shape):
        c = int(t[idx])
        if c != ignore:
            losses[idx] = -float(p[(idx[0], c, *idx[1:])]) * float(w[c])
            weights[idx] = float(w[c])
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / weights.sum()


@pytest.mark.parametrize("tdt, ignore", [("uint8", -100), ("int8", 300), ("uint8", 255), ("int64", 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_with_an_ignore_index_out_of_the_targets_range(tdt: str, ignore: int, reduction: str) -> None:
    p = rng.standard_normal((5, 4, 2)).astype("float32")
    t = rng.integers(0, 4, (5, 2)).astype(tdt)
    w = rng.random(4).astype("float32") + 0.1
    P, T, W = te.placeholder(p.shape, name="P"), te.placeholder(t.shape, tdt, "T"), te.placeholder((4,), name="W")
    got = run(topi.nn.nll_loss(P, T, W, reduction, ignore), [P, T, W], [p, t, w])
    np.testing.assert_allclose(got, _nll_ref(p, t, w, reduction, ignore), rtol=1e-5, atol=1e-6)


def test_nll_loss_of_float16_adds_up_in_float32() -> None:
    # 3000 losses of ~30 add up past float16's 65504: a float16 total (and weight sum) is inf
    n = 3000
    p = -(rng.random((n, 3)) * 10 + 25).astype("float16")
    t = rng.integers(0, 3, n).astype("int32")
    w = (rng.random(3) + 0.5).astype("float16")
    P, T = te.placeholder(p.shape, "float16", "P"), te.placeholder((n,), "int32", "T")
    W = te.placeholder((3,), "float16", "W")
    got = run(topi.nn.nll_loss(P, T, W, "mean"), [P, T, W], [p, t, w])
    want = np.float16(_nll_ref(p, t, w, "mean", -100))
    assert got.dtype == np.float16
    assert np.isfinite(want) and abs(float(got) - float(want)) <= 2 * float(np.spacing(want))


def test_nll_loss_bad_arguments_are_clear_errors() -> None:
    P, T, W = te.placeholder((3, 4), name="P"), te.placeholder((3,), "int32", "T"), te.placeholder((4,), name="W")
    cases = [
        (lambda: topi.nn.nll_loss(P, T, te.placeholder((5,), name="W5")), ExprError, "5 entries"),
        (lambda: topi.nn.nll_loss(P, te.placeholder((2,), "int32"), W), ExprError, "targets"),
        (lambda: topi.nn.nll_loss(te.placeholder((3, 4), "int32"), T, te.placeholder((4,), "int32")),
         DTypeError, "predictions"),
        (lambda: topi.nn.nll_loss(P, T, te.placeholder((4,), "float16")), DTypeError, "weights"),
        (lambda: topi.nn.nll_loss(P, T, W, "mean", 1.5), ExprError, "ignore_index"),
        (lambda: topi.nn.nll_loss(P, te.placeholder((3,), "bool"), W), DTypeError, "targets"),
    ]
    for fn, err, match in cases:
        with pytest.raises(err, match=f"nll_loss.*{match}"):
            fn()
