"""Edge inputs of topi operators found by a bad-input and fuzzing campaign (prelu, one_hot, shape_of,
tile/repeat, sequence_mask, dft, resize, clip, argument checks): each fix compared with numpy on fresh
random data, or checked to refuse bad input with a tensorlang error naming it."""

from __future__ import annotations

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import run_plain as run  # outputs start as garbage

rng = np.random.default_rng(1920)




# --- prelu: axis and slope checked (an out-of-range axis was an IndexError, a short slope read past its end) ---


def test_prelu_checks_its_axis_and_slope() -> None:
    X = te.placeholder((2, 4, 3, 3), name="X")
    with pytest.raises(ExprError, match="prelu: axis 4"):
        topi.nn.prelu(X, te.placeholder((4,), name="S"), 4)
    with pytest.raises(ExprError, match="prelu: slope S3 has 3 entries but X has 4 channels"):
        topi.nn.prelu(X, te.placeholder((3,), name="S3"), 1)
    with pytest.raises(ExprError, match="prelu: slope.*1-D"):
        topi.nn.prelu(X, te.placeholder((4, 1), name="S2"), 1)


@pytest.mark.parametrize("axis", [1, -1, -3])
def test_prelu_matches_numpy_on_any_axis(axis: int) -> None:
    x = rng.standard_normal((2, 4, 3, 5)).astype("float32")
    n = x.shape[axis]
    slope = rng.standard_normal(n).astype("float32")
    X, S = te.placeholder(x.shape, name="X"), te.placeholder((n,), name="S")
    shape = [1] * 4
    shape[axis] = n
    want = np.where(x > 0, x, x * slope.reshape(shape))
    np.testing.assert_allclose(run(topi.nn.prelu(X, S, axis), [X, S], [x, slope]), want, rtol=1e-6)


# --- one_hot: on/off values that do not fit the dtype were wrapped (300 -> 44 in int8) ---------------------------


@pytest.mark.parametrize("on, dtype", [(300, "int8"), (1.5, "int32"), (float("nan"), "int32"), (-1, "uint8")])
def test_one_hot_refuses_values_its_dtype_cannot_hold(on, dtype: str) -> None:
    with pytest.raises(DTypeError, match="one_hot: on_value"):
        topi.one_hot(te.placeholder((4,), "int32", name="I"), on, 0, 3, -1, dtype)


def test_one_hot_with_fitting_values_matches_numpy() -> None:
    idx = rng.integers(-1, 5, 7).astype("int32")
    on, off = int(rng.integers(1, 127)), int(rng.integers(-128, 0))
    I = te.placeholder((7,), "int32", name="I")
    got = run(topi.one_hot(I, on, off, 4, -1, "int8"), [I], [idx])
    np.testing.assert_array_equal(got, np.where(idx[:, None] == np.arange(4), on, off).astype("int8"))


# --- shape of a 0-d tensor (an IndexError) and flatten of one ---------------------------------------------------


def test_shape_of_a_0d_tensor_is_empty_and_flatten_of_it_is_refused() -> None:
    A = te.placeholder((), name="A")
    C = topi.shape(A)
    assert tuple(int(d) for d in C.shape) == (0,)
    got = run(C, [A], [np.array(rng.standard_normal(), "float32")])
    assert got.shape == (0,)
    with pytest.raises(ExprError, match="flatten"):
        topi.flatten(A)


def test_shape_of_tensors_matches_numpy() -> None:
    for shp in [(3,), (2, 0, 5), (1, 1, 4, 2)]:
        A = te.placeholder(shp, name="A")
        a = rng.standard_normal(shp).astype("float32")
        np.testing.assert_array_equal(run(topi.shape(A, "int64"), [A], [a]), np.array(a.shape, "int64"))


# --- integer arguments that are not integers nor sequences of them -----------------------------------------------


def test_scalar_non_integer_arguments_are_named() -> None:
    A = te.placeholder((2, 3), name="A")
    cases = [
        (lambda: topi.tile(A, 1.5), "tile: reps"), (lambda: topi.strided_slice(A, 1.5, 2), "strided_slice: begin"),
        (lambda: topi.repeat(A, (), 0), "repeat: repeats"), (lambda: topi.repeat(A, (2, 3), 0), "repeat: repeats"),
        (lambda: topi.strided_slice(A, te.placeholder((), "int32"), te.placeholder((2,), "int32")),
         "strided_slice: begin"),
        (lambda: topi.nn.mirror_pad(A, 1), "mirror_pad: pad_before"),
        (lambda: topi.nn.mirror_pad(A, [-1, 0]), "mirror_pad: pad_before"),
        (lambda: topi.nn.dilate(A, A), "dilate: strides"),
        (lambda: topi.take(A, 1), "take: indices"), (lambda: topi.gather(A, 0, 1), "gather: indices"),
        (lambda: topi.gather_nd(A, [0, 1]), "gather_nd: indices"),
    ]
    for fn, match in cases:
        with pytest.raises(ExprError, match=match):
            fn()


def test_tile_and_repeat_with_numpy_integers_match_numpy() -> None:
    a = rng.standard_normal((2, 3)).astype("float32")
    A = te.placeholder((2, 3), name="A")
    got = run([topi.tile(A, np.int64(2)), topi.repeat(A, np.int32(3), -1)], [A], [a])
    np.testing.assert_array_equal(got[0], np.tile(a, 2))
    np.testing.assert_array_equal(got[1], np.repeat(a, 3, -1))


# --- sequence_mask with uint64 lengths of 2**63 or more (read as negative int64: everything masked) -------------


def test_sequence_mask_with_huge_uint64_lengths_masks_nothing() -> None:
    x = rng.standard_normal((5, 3)).astype("float32")
    lens = np.array([2**63 + int(rng.integers(0, 100)), 2, 2**64 - 1], "uint64")
    X, L = te.placeholder(x.shape, name="X"), te.placeholder((3,), "uint64", "L")
    got = run(topi.sequence_mask(X, L, -1.0, 0), [X, L], [x, lens])
    keep = np.arange(5)[:, None] < np.array([5, 2, 5])[None, :]
    np.testing.assert_array_equal(got, np.where(keep, x, np.float32(-1.0)))


# --- dft of a length-0 axis and resize of an empty image: clear errors, not a division by zero / BoundsError ---


def test_dft_of_an_empty_axis_is_refused() -> None:
    with pytest.raises(ValueError):
        np.fft.fft(np.zeros((2, 0)))
    with pytest.raises(ExprError, match="dft: the last axis of R has length 0"):
        topi.signal.dft(te.placeholder((2, 0), name="R"), te.placeholder((2, 0), name="I"), False)


def test_dft_of_a_short_axis_still_matches_numpy() -> None:
    re, im = rng.standard_normal((3, 1)).astype("float32"), rng.standard_normal((3, 1)).astype("float32")
    R, I = te.placeholder(re.shape, name="R"), te.placeholder(im.shape, name="I")
    got = run(topi.signal.dft(R, I, False), [R, I], [re, im])
    want = np.fft.fft(re.astype("float64") + 1j * im, axis=-1)
    np.testing.assert_allclose(got[0], want.real, rtol=1e-6)
    np.testing.assert_allclose(got[1], want.imag, rtol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 0, 3), (1, 1, 3, 0)])
def test_resize_of_an_empty_image_is_refused(shape: tuple) -> None:
    with pytest.raises(ExprError, match="resize2d: data's height x width.*empty image"):
        topi.image.resize2d(te.placeholder(shape, name="A"), None, (2, 2))


def test_resize_of_an_empty_batch_still_builds() -> None:
    A = te.placeholder((0, 1, 2, 2), name="A")
    got = run(topi.image.resize2d(A, None, (3, 3)), [A], [np.zeros((0, 1, 2, 2), "float32")])
    assert got.shape == (0, 1, 3, 3)


# --- clip of a float tensor with bounds beyond its range: numpy rounds them to ±inf, tensorlang refused them ---


@pytest.mark.parametrize("lo, hi", [(-1e6, 1e6), (-70000.0, 65510.0), (-(2.0**70), 0.25), (-0.5, 2**70)])
def test_clip_of_float16_with_bounds_past_its_range_matches_numpy(lo, hi) -> None:
    h = (rng.standard_normal(16) * 30000).astype("float16")
    h[:3] = [np.inf, -np.inf, np.nan]
    H = te.placeholder((16,), "float16", "H")
    got = run(topi.clip(H, lo, hi), [H], [h])
    with np.errstate(all="ignore"):
        want = np.clip(h, lo, hi)
    assert got.dtype == want.dtype == np.float16
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("call, match", [
    (lambda A: topi.tensordot(A, -1, 1), "tensordot: b"), (lambda A: topi.unravel_index(A, -1), "unravel_index"),
    (lambda A: topi.expand_like(A, -1, -1), "expand_like: shape_like"),
    (lambda A: topi.sequence_mask(A, -1), "sequence_mask: valid_length"),
    (lambda A: topi.matrix_set_diag(A, -1), "matrix_set_diag: diagonal"),
    (lambda A: topi.sparse_to_dense(-1, (2, 3), A), "sparse_to_dense: sparse_indices"),
    (lambda A: topi.nn.bias_add(A, -1), "bias_add: bias"), (lambda A: topi.searchsorted(A, -1), "searchsorted: values"),
])
def test_a_non_tensor_argument_is_named(call, match: str) -> None:
    with pytest.raises(ExprError, match=match):
        call(te.placeholder((2, 3), "int32", name="A"))


@pytest.mark.parametrize("call, match", [
    (lambda A: topi.nn.layer_norm(A, -1, None, (-1,)), "layer_norm: gamma"),
    (lambda A: topi.nn.instance_norm(A, -1, None, (-1,)), "instance_norm: gamma"),
    (lambda A: topi.nn.batch_norm(A, -1, -1, -1, -1), "batch_norm: gamma"),
    (lambda A: topi.nn.conv1d(A, -1), "conv1d_ncw: kernel"),
    (lambda A: topi.nn.conv3d_ncdhw(A, -1, 1, 0), "conv3d_ncdhw: Filter"),
])
def test_a_non_tensor_argument_of_nn_ops_is_named(call, match: str) -> None:
    with pytest.raises(ExprError, match=match):
        call(te.placeholder((2, 3), name="A"))
