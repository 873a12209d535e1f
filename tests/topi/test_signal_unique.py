"""topi's stft and dft (te.compute reductions), sliding_window and strided_set (injective
computes) and unique and argwhere (extern stages calling numpy through packed functions), built
with a plain schedule and checked against numpy on fresh random data; bad arguments raise a
tensorlang error that names the operator and the argument."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import ArgumentError, BoundsError, DTypeError, ExprError, TargetError
from tests.topi.runner import counting_calls, rand, rng, run_plain

EMU = "cuda -emulate"


def _build(outs, inputs):
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return tl.build(te.create_schedule([o.op for o in outs]), list(inputs) + list(outs), target="llvm")


# -- dft ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (7,), (3, 16), (2, 2, 9), (2, 1000)])
@pytest.mark.parametrize("inverse", [False, True])
def test_dft_matches_numpy_fft(shape, inverse):
    R, I = te.placeholder(shape, name="R"), te.placeholder(shape, name="I")
    re_out, im_out = topi.dft(R, I, inverse)
    assert re_out.dtype == "float32" and im_out.dtype == "float32"
    assert [int(d) for d in re_out.shape] == list(shape)
    r, i = rand(*shape), rand(*shape)
    got_re, got_im = run_plain([re_out, im_out], [R, I], [r, i])
    ref = (np.fft.ifft if inverse else np.fft.fft)(r.astype("float64") + 1j * i, axis=-1)
    # float32 sums of n terms of size ~1: error grows like sqrt(n) ulps of the result's scale
    tol = 2e-6 * np.sqrt(shape[-1]) * np.abs(ref).max()
    np.testing.assert_allclose(got_re, ref.real, rtol=0, atol=tol)
    np.testing.assert_allclose(got_im, ref.imag, rtol=0, atol=tol)


def test_dft_float64_and_symbolic_length_round_trip():
    n = te.var("n")
    R, I = te.placeholder((2, n), name="R", dtype="float64"), te.placeholder((2, n), name="I", dtype="float64")
    fwd = topi.dft(R, I, False)
    back = topi.dft(*fwd, True)  # idft(dft(x)) == x
    f = _build(fwd + back, [R, I])
    for length in (5, 64, 333):
        r, i = rand(2, length, dtype="float64"), rand(2, length, dtype="float64")
        outs = [np.empty((2, length)) for _ in range(4)]
        f(r, i, *outs)
        ref = np.fft.fft(r + 1j * i, axis=-1)
        np.testing.assert_allclose(outs[0] + 1j * outs[1], ref, rtol=1e-10, atol=1e-10 * length)
        np.testing.assert_allclose(outs[2], r, rtol=1e-10, atol=1e-11 * length)
        np.testing.assert_allclose(outs[3], i, rtol=1e-10, atol=1e-11 * length)


def test_dft_of_float16_sums_in_float32():
    R, I = te.placeholder((40,), name="R", dtype="float16"), te.placeholder((40,), name="I", dtype="float16")
    outs = topi.dft(R, I, False)
    assert all(o.dtype == "float16" for o in outs)
    r, i = rand(40, dtype="float16"), rand(40, dtype="float16")
    got_re, got_im = run_plain(outs, [R, I], [r, i])
    ref = np.fft.fft(r.astype("float64") + 1j * i.astype("float64"))
    np.testing.assert_allclose(got_re, ref.real.astype("float16"), rtol=2e-3, atol=2e-2)
    np.testing.assert_allclose(got_im, ref.imag.astype("float16"), rtol=2e-3, atol=2e-2)


# -- stft ---------------------------------------------------------------------------------------

def _stft_reference(x, n_fft, hop, win_length, window, normalized, onesided):
    """TVM's kernel in numpy: frame f is x[f*hop : f*hop + win_length] times the window, its
    DFT of length win_length read at rows 0..n_freq-1 (modulo win_length)."""
    n_frames = (x.shape[-1] - n_fft) // hop + 1
    n_freq = n_fft // 2 + 1 if onesided else n_fft
    frames = np.stack([x[..., f * hop:f * hop + win_length] * window[:win_length] for f in range(n_frames)], -2)
    spectrum = np.fft.fft(frames.astype("float64"), axis=-1)[..., np.arange(n_freq) % win_length]
    spectrum = np.swapaxes(spectrum, -1, -2) / (np.sqrt(n_fft) if normalized else 1)
    return np.stack([spectrum.real, spectrum.imag], -1)


@pytest.mark.parametrize("shape,n_fft,hop,normalized,onesided", [
    ((2, 50), 8, 3, False, True), ((3, 400), 64, 16, True, True), ((37,), 10, 4, True, False),
    ((1, 129), 31, 7, False, False)])
def test_stft_with_full_window_is_the_fft_of_windowed_frames(shape, n_fft, hop, normalized, onesided):
    D, W = te.placeholder(shape, name="D"), te.placeholder((n_fft,), name="W")
    n_frames = (shape[-1] - n_fft) // hop + 1
    n_freq = n_fft // 2 + 1 if onesided else n_fft
    out_shape = [*shape[:-1], n_freq, n_frames, 2]
    S = topi.stft(D, n_fft, hop, n_fft, W, normalized, onesided, out_shape)
    assert [int(d) for d in S.shape] == out_shape and S.dtype == "float32"
    x, w = rand(*shape), rand(n_fft)
    got = run_plain(S, [D, W], [x, w])
    # an independent reference: numpy's FFT of each windowed frame (torch.stft with center=False)
    frames = sliding_window_view(x, n_fft, axis=-1)[..., ::hop, :] * w
    spectrum = (np.fft.rfft if onesided else np.fft.fft)(frames.astype("float64"), axis=-1)
    spectrum = np.swapaxes(spectrum, -1, -2) / (np.sqrt(n_fft) if normalized else 1)
    tol = 3e-6 * n_fft * np.abs(spectrum).max() / np.sqrt(n_fft)
    np.testing.assert_allclose(got[..., 0], spectrum.real, rtol=0, atol=tol)
    np.testing.assert_allclose(got[..., 1], spectrum.imag, rtol=0, atol=tol)


def test_stft_with_short_window_follows_tvms_kernel():
    # win_length < n_fft: TVM transforms the win_length windowed samples (rows taken modulo it)
    D, W = te.placeholder((2, 60), name="D"), te.placeholder((12,), name="W", dtype="int32")
    S = topi.stft(D, 12, 5, 7, W, True, True, [2, 7, 10, 2])
    x, w = rand(2, 60), rng.integers(-3, 4, 12).astype("int32")
    np.testing.assert_allclose(run_plain(S, [D, W], [x, w]), _stft_reference(x, 12, 5, 7, w, True, True),
                               rtol=1e-5, atol=1e-5)


def test_stft_with_symbolic_frames():
    L, F = te.var("L"), te.var("F")
    D, W = te.placeholder((L,), name="D"), te.placeholder((16,), name="W")
    S = topi.stft(D, 16, 4, 16, W, False, True, [9, F, 2])
    f = _build(S, [D, W])
    x, w = rand(100), rand(16)
    got = np.empty((9, (100 - 16) // 4 + 1, 2), "float32")
    f(x, w, got)
    np.testing.assert_allclose(got, _stft_reference(x, 16, 4, 16, w, False, True), rtol=1e-5, atol=1e-4)


# -- sliding_window -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis,window,strides", [
    ((10,), 0, (4,), (3,)), ((6, 7, 8), 1, (3, 2), (2, 3)), ((3, 4, 5), 0, (3, 4, 5), (1, 1, 1)),
    ((2, 9, 5, 4), 2, (2, 3), (1, 2)), ((5, 8), -1, (8,), (2,))])
def test_sliding_window_matches_numpy(shape, axis, window, strides):
    A = te.placeholder(shape, name="A")
    B = topi.sliding_window(A, axis, window, strides)
    a = rand(*shape)
    ax = axis % len(shape)
    ref = sliding_window_view(a, window, axis=tuple(range(ax, len(shape))))
    ref = ref[(slice(None),) * ax + tuple(slice(None, None, s) for s in strides)]
    assert tuple(int(d) for d in B.shape) == ref.shape
    np.testing.assert_array_equal(run_plain(B, [A], [a]), ref)


def test_sliding_window_over_a_symbolic_axis():
    n = te.var("n")
    A = te.placeholder((3, n), name="A")
    B = topi.sliding_window(A, 1, [4], [3])
    f = _build(B, [A])
    for length in (4, 11, 12):
        a = rand(3, length)
        ref = sliding_window_view(a, 4, axis=1)[:, ::3]
        got = np.empty(ref.shape, "float32")
        f(a, got)
        np.testing.assert_array_equal(got, ref)


# -- strided_set --------------------------------------------------------------------------------

def _slices(ndim, begin, end, strides):
    strides = strides or []
    return tuple(slice(begin[k] if k < len(begin) else None, end[k] if k < len(end) else None,
                       strides[k] if k < len(strides) else None) for k in range(ndim))


SET_CASES = [
    ((6, 7), [1, -2], [5, 0], [2, -3]), ((5, 4, 3), [0, 3], [4, 1], [1, -1]), ((9,), [8], [-10], [-3]),
    ((9,), [-20], [20], [4]), ((6, 5), [4], [0], [-1]), ((7,), [2], [-1], None), ((8, 6), [7, 5], [-9, -7], [-2, -2]),
    ((4, 4), [3], [1], None)]


@pytest.mark.parametrize("shape,begin,end,strides", SET_CASES)
def test_strided_set_matches_numpy_slice_assignment(shape, begin, end, strides):
    sl = _slices(len(shape), begin, end, strides)
    vshape = np.empty(shape)[sl].shape
    a, v = rand(*shape), rand(*vshape)
    ref = a.copy()
    ref[sl] = v
    A, V = te.placeholder(shape, name="A"), te.placeholder(vshape, name="V")
    # constant bounds
    np.testing.assert_array_equal(run_plain(topi.strided_set(A, V, begin, end, strides), [A, V], [a, v]), ref)
    # TVM's form: int32 tensors read when the kernel runs
    Bt, Et = te.placeholder((len(begin),), "int32", "Bt"), te.placeholder((len(end),), "int32", "Et")
    St = te.placeholder((len(strides),), "int32", "St") if strides else None
    O = topi.strided_set(A, V, Bt, Et, St)
    ins = [A, V, Bt, Et] + ([St] if strides else [])
    bounds = [begin, end] + ([strides] if strides else [])
    arrays = [a, v] + [np.array(b, "int32") for b in bounds]
    np.testing.assert_array_equal(run_plain(O, ins, arrays), ref)


def test_strided_set_with_run_time_bounds_reuses_one_kernel():
    A, V = te.placeholder((10, 3), name="A"), te.placeholder((te.var("m"), 3), name="V")
    Bt, Et, St = (te.placeholder((1,), "int64", n) for n in ("Bt", "Et", "St"))
    f = _build(topi.strided_set(A, V, Bt, Et, St), [A, V, Bt, Et, St])
    for b, e, s in [(0, 10, 3), (9, None, -4), (-3, 100, 1), (2, 2, 1), (-1, -11, -1)]:
        sl = slice(b, e, s)
        a = rand(10, 3)
        v = rand(len(range(*sl.indices(10))), 3)
        ref = a.copy()
        ref[sl] = v
        got = np.empty_like(a)
        end = e if e is not None else (10 if s > 0 else -11)
        f(a, v, np.array([b]), np.array([end]), np.array([s]), got)
        np.testing.assert_array_equal(got, ref)


def test_strided_set_broadcasts_a_v_of_extent_one():
    A, V = te.placeholder((5, 6), name="A"), te.placeholder((1, 3), name="V")
    a, v = rand(5, 6), rand(1, 3)
    ref = a.copy()
    ref[1:4, ::2] = v
    np.testing.assert_array_equal(run_plain(topi.strided_set(A, V, [1, 0], [4, 6], [1, 2]), [A, V], [a, v]), ref)


def test_strided_set_reports_bad_slices():
    A, V = te.placeholder((8,), name="A"), te.placeholder((3,), name="V")
    with pytest.raises(ExprError, match="strided_set: axis 0 of the slice has 4 element"):
        topi.strided_set(A, V, [0], [8], [2])
    with pytest.raises(ExprError, match=r"strided_set: strides\[0\] is 0"):
        topi.strided_set(A, V, [0], [8], [0])
    with pytest.raises(ExprError, match="strided_set: v has 2 dimension"):
        topi.strided_set(A, te.placeholder((3, 1), name="V2"), [0], [3])
    with pytest.raises(DTypeError, match="strided_set: begin must hold integers"):
        topi.strided_set(A, V, te.placeholder((1,), name="B"), [3])
    with pytest.raises(ExprError, match="strided_set: end has 2 entries"):
        topi.strided_set(A, V, [0], [3, 4])
    with pytest.raises(DTypeError, match="strided_set: v is int32 but a is float32"):
        topi.strided_set(A, te.placeholder((3,), "int32", "V"), [0], [3])
    # bounds read at run time: a v of another extent, a zero stride are BoundsErrors, as numpy raises
    Bt, Et, St = (te.placeholder((1,), "int32", n) for n in ("Bt", "Et", "St"))
    f = _build(topi.strided_set(A, V, Bt, Et, St), [A, V, Bt, Et, St])
    a, v = rand(8), rand(3)
    one = lambda x: np.array([x], "int32")  # noqa: E731
    with pytest.raises(BoundsError, match="V"):
        f(a, v, one(0), one(8), one(2), np.empty(8, "float32"))
    with pytest.raises(BoundsError, match="St"):
        f(a, v, one(0), one(6), one(0), np.empty(8, "float32"))


# -- unique -------------------------------------------------------------------------------------

def _unique_reference(x, is_sorted):
    uniq, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    if not is_sorted:
        order = np.argsort(index, kind="stable")
        rank = np.argsort(order)
        uniq, index, counts, inverse = uniq[order], index[order], counts[order], rank[inverse.reshape(-1)]
    return uniq, index, inverse.reshape(-1), counts


@pytest.mark.parametrize("dtype", ["int32", "float32", "int64"])
@pytest.mark.parametrize("is_sorted", [True, False])
@pytest.mark.parametrize("return_counts", [True, False])
def test_unique_matches_numpy(dtype, is_sorted, return_counts):
    n = 50
    D = te.placeholder((n,), name="D", dtype=dtype)
    outs = topi.unique(D, is_sorted, return_counts)
    assert len(outs) == (5 if return_counts else 4)
    assert [str(o.dtype) for o in outs] == [dtype] + ["int32"] * (len(outs) - 1)
    assert [int(o.shape[0]) for o in outs] == [n, n, n, 1] + ([n] if return_counts else [])
    x = rng.integers(-10, 11, n).astype(dtype)  # duplicates are likely
    if dtype == "float32":
        x = x * np.float32(0.37)
    got = run_plain(outs, [D], [x])
    uniq, index, inverse, counts = _unique_reference(x, is_sorted)
    k = len(uniq)
    assert got[3].tolist() == [k]
    np.testing.assert_array_equal(got[0][:k], uniq)
    np.testing.assert_array_equal(got[1][:k], index)
    np.testing.assert_array_equal(got[2], inverse)
    # past num_unique: unique padded with 0 and indices with n, as TVM documents
    np.testing.assert_array_equal(got[0][k:], 0)
    np.testing.assert_array_equal(got[1][k:], n)
    if return_counts:
        np.testing.assert_array_equal(got[4][:k], counts)
        np.testing.assert_array_equal(got[4][k:], 0)


def test_unique_of_a_symbolic_length_and_tvms_example():
    n = te.var("n")
    D = te.placeholder((n,), name="D", dtype="int32")
    outs = topi.unique(D, False, True)
    f = _build(outs, [D])
    x = np.array([4, 5, 1, 2, 3, 3, 4, 5], "int32")  # TVM's docstring example
    res = [np.full(8, -7, "int32") for _ in range(3)] + [np.zeros(1, "int32"), np.zeros(8, "int32")]
    f(x, *res)
    assert [r.tolist() for r in res] == [[4, 5, 1, 2, 3, 0, 0, 0], [0, 1, 2, 3, 4, 8, 8, 8],
                                         [0, 1, 2, 3, 4, 4, 0, 1], [5], [2, 2, 1, 1, 2, 0, 0, 0]]
    for length in (1, 200):
        x = rng.integers(0, 60, length).astype("int32")
        res = [np.empty(length, "int32") for _ in range(3)] + [np.zeros(1, "int32"), np.empty(length, "int32")]
        f(x, *res)
        uniq, index, inverse, counts = _unique_reference(x, False)
        assert res[3][0] == len(uniq)
        np.testing.assert_array_equal(res[0][:len(uniq)], uniq)
        np.testing.assert_array_equal(res[2], inverse)
        np.testing.assert_array_equal(res[4][:len(uniq)], counts)


def test_unique_results_feed_a_compute_stage():
    D = te.placeholder((30,), name="D", dtype="int32")
    uniq, _, inverse, _ = topi.unique(D, is_sorted=False)
    E = te.compute((30,), lambda i: uniq[inverse[i]] - D[i], name="E")  # unique[inverse] rebuilds data
    x = rng.integers(-5, 6, 30).astype("int32")
    np.testing.assert_array_equal(run_plain(E, [D], [x]), 0)


def test_unique_keeps_each_nan_apart_as_tvm():
    D = te.placeholder((6,), name="D")
    x = np.array([1.5, np.nan, 1.5, np.nan, -2.0, rand(1)[0]], "float32")
    got = run_plain(topi.unique(D), [D], [x])
    assert got[3][0] == 5  # two NaNs (NaN != NaN), 1.5, -2 and the random value
    np.testing.assert_array_equal(got[0][:5], np.sort(np.delete(x, 2)))  # the second 1.5 merges


@pytest.mark.parametrize("return_counts", [True, False])
def test_unique_runs_numpy_once_per_call(return_counts):
    # every output, num_unique included, comes from one stage whose packed function runs once a call
    name = "tensorlang.topi.unique"
    D = te.placeholder((40,), name="D", dtype="int32")
    outs = topi.unique(D, is_sorted=False, return_counts=return_counts)
    assert len({id(o.op) for o in outs}) == 1
    f = _build(outs, [D])
    original = tl.get_global_func(name)
    with counting_calls(name) as calls:
        for run in (1, 2):
            x = rng.integers(-8, 9, 40).astype("int32")
            res = [np.full(int(o.shape[0]), -7, "int32") for o in outs]
            f(x, *res)
            assert len(calls) == run
            uniq, index, inverse, counts = _unique_reference(x, False)
            assert res[3].tolist() == [len(uniq)]
            np.testing.assert_array_equal(res[0][:len(uniq)], uniq)
            np.testing.assert_array_equal(res[1][:len(uniq)], index)
            np.testing.assert_array_equal(res[2], inverse)
            if return_counts:
                np.testing.assert_array_equal(res[4][:len(uniq)], counts)
    assert tl.get_global_func(name) is original


# -- argwhere -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(17,), (4, 6), (3, 4, 5), (2, 3, 2, 4)])
@pytest.mark.parametrize("dtype", ["bool", "float32", "int8"])
def test_argwhere_matches_numpy(shape, dtype):
    C = te.placeholder(shape, name="C", dtype=dtype)
    O = topi.argwhere([te.var("rows"), len(shape)], C)
    assert O.dtype == "int32"
    if dtype == "bool":
        c = rng.random(shape) < 0.4
    else:  # about half the elements zero, the others random
        c = np.where(rng.random(shape) < 0.5, rand(*shape) * 9, 0).astype(dtype)
    ref = np.argwhere(c)
    got = np.full(ref.shape, -1, "int32")
    _build(O, [C])(c, got)
    np.testing.assert_array_equal(got, ref)


def test_argwhere_output_shape_forms():
    shape = (5, 7)
    c = rand(*shape) > 0.3
    rows = int(c.sum())
    C = te.placeholder(shape, name="C", dtype="bool")
    # TVM's topi form: a tensor whose shape is (rows, ndim); also a [rows, ndim] list and rows alone
    for output_shape in (te.placeholder((rows, 2), "int32", "out_shape"), [rows, 2], rows, te.size_var("k")):
        O = topi.argwhere(output_shape, C)
        f = _build(O, [C])
        got = np.empty((rows, 2), "int32")
        f(c, got)
        np.testing.assert_array_equal(got, np.argwhere(c))
    # no nonzero element: zero rows
    O = topi.argwhere(te.var("rows"), C)
    got = np.empty((0, 2), "int32")
    _build(O, [C])(np.zeros(shape, bool), got)
    assert got.shape == (0, 2)


def test_argwhere_row_count_must_match_at_run_time():
    C = te.placeholder((4, 5), name="C")
    c = rand(4, 5)
    while not (c > 0).any():  # a positive element, so that an output of 0 rows is short
        c = rand(4, 5)
    nonzero = int(np.count_nonzero(c > 0))
    c = np.where(c > 0, c, 0).astype("float32")
    with pytest.raises(ArgumentError, match=f"argwhere: the output has {nonzero + 1} row.*{nonzero} nonzero"):
        run_plain(topi.argwhere([nonzero + 1, 2], C), [C], [c])
    f = _build(topi.argwhere(te.var("rows"), C), [C])
    with pytest.raises(ArgumentError, match="argwhere: the output has 0 row"):
        f(c, np.empty((0, 2), "int32"))


# -- bad arguments ------------------------------------------------------------------------------

def test_signal_ops_check_their_arguments():
    R, I = te.placeholder((4, 8), name="R"), te.placeholder((4, 8), name="I")
    with pytest.raises(ExprError, match=r"dft: re_data has shape \[4, 8\] but im_data \[4, 9\]"):
        topi.dft(R, te.placeholder((4, 9), name="I"), False)
    with pytest.raises(DTypeError, match="dft: re_data must hold floats"):
        topi.dft(te.placeholder((8,), "int32", "R"), I, False)
    with pytest.raises(DTypeError, match="dft: re_data is float32 but im_data is float64"):
        topi.dft(R, te.placeholder((4, 8), "float64", "I"), False)
    with pytest.raises(ExprError, match="dft: inverse must be a constant"):
        topi.dft(R, I, te.var("inv"))
    D, W = te.placeholder((2, 40), name="D"), te.placeholder((8,), name="W")
    with pytest.raises(ExprError, match="stft: output_shape .* has 4 for n_frames, expected 11"):
        topi.stft(D, 8, 3, 8, W, False, True, [2, 5, 4, 2])
    with pytest.raises(ExprError, match="stft: output_shape .* has 8 for n_freq, expected 5"):
        topi.stft(D, 8, 3, 8, W, False, True, [2, 8, 11, 2])
    with pytest.raises(ExprError, match="stft: output_shape .* must have 4 dimensions"):
        topi.stft(D, 8, 3, 8, W, False, True, [5, 11, 2])
    with pytest.raises(ExprError, match="stft: win_length=9 is larger than n_fft=8"):
        topi.stft(D, 8, 3, 9, W, False, True, [2, 5, 11, 2])
    with pytest.raises(ExprError, match="stft: hop_length must be positive"):
        topi.stft(D, 8, 0, 8, W, False, True, [2, 5, 11, 2])
    with pytest.raises(ExprError, match="stft: window has 8 elements, fewer than win_length=12"):
        topi.stft(D, 16, 3, 12, W, False, True, [2, 9, 9, 2])
    with pytest.raises(ExprError, match="stft: data has 40 samples, fewer than n_fft=64"):
        topi.stft(D, 64, 3, 8, W, False, True, [2, 33, 1, 2])
    with pytest.raises(ExprError, match="stft: data must be 1-D or 2-D"):
        topi.stft(te.placeholder((2, 2, 40), name="D3"), 8, 3, 8, W, False, True, [2, 2, 5, 11, 2])
    with pytest.raises(DTypeError, match="stft: data must hold floats"):
        topi.stft(te.placeholder((40,), "int32", "Di"), 8, 3, 8, W, False, True, [5, 11, 2])


def test_transform_ops_check_their_arguments():
    A = te.placeholder((6, 7), name="A")
    with pytest.raises(ExprError, match="sliding_window: window_shape has 1 entries"):
        topi.sliding_window(A, 0, [2], [1, 1])
    with pytest.raises(ExprError, match="sliding_window: strides must hold positive integers"):
        topi.sliding_window(A, 1, [2], [0])
    with pytest.raises(ExprError, match="sliding_window: window_shape.0. = 8 is larger than dimension 1"):
        topi.sliding_window(A, 1, [8], [1])
    with pytest.raises(ExprError, match="sliding_window: axis 2 is out of range"):
        topi.sliding_window(A, 2, [1], [1])


def test_data_dependent_ops_check_their_arguments():
    C = te.placeholder((3, 4), name="C", dtype="bool")
    with pytest.raises(ExprError, match="argwhere: output_shape has 3 columns but condition has 2"):
        topi.argwhere([5, 3], C)
    with pytest.raises(ExprError, match=r"argwhere: output_shape \[5, 2, 1\] must have 2 dimensions"):
        topi.argwhere([5, 2, 1], C)
    with pytest.raises(ExprError, match="argwhere: the row count -1 is negative"):
        topi.argwhere(-1, C)
    with pytest.raises(ExprError, match="argwhere: condition C0 is a scalar"):
        topi.argwhere(1, te.placeholder((), name="C0"))
    with pytest.raises(ExprError, match=r"unique: data must be 1-D, got shape \[3, 4\]"):
        topi.unique(C)
    with pytest.raises(ExprError, match="unique: data must be a tensor"):
        topi.unique(np.arange(4))
    with pytest.raises(TargetError, match="unique: runs on the CPU only"):
        with tl.target.Target(EMU):
            topi.unique(te.placeholder((5,), name="D"))
    with pytest.raises(TargetError, match="argwhere: runs on the CPU only"):
        with tl.target.Target(EMU):
            topi.argwhere(te.var("rows"), C)
