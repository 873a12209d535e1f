"""space_to_batch_nd and batch_to_space_nd against numpy versions of TensorFlow's reshape/transpose
definitions (zero, positive and negative padding, 1 to 3 spatial dimensions, with and without
remaining dimensions), their round trip, and scale_shift_nchw/nhwc, on fresh random data; bad
arguments are named."""

import numpy as np
import pytest

from tensorlang import te, topi
from tensorlang.errors import DTypeError, ExprError
from tests.topi.runner import rand, rng, run_plain


def _ph(a, name):
    return te.placeholder(a.shape, name=name, dtype=str(a.dtype))


def _pad_or_crop(x, before, after, value):
    """numpy.pad on the spatial axes 1..M, where a negative amount cuts elements off instead."""
    m = len(before)
    widths = [(0, 0)] + [(max(b, 0), max(a, 0)) for b, a in zip(before, after)] + [(0, 0)] * (x.ndim - 1 - m)
    out = np.pad(x, widths, constant_values=value)
    cut = [slice(None)] + [slice(max(-b, 0), out.shape[1 + k] - max(-a, 0)) for k, (b, a) in
                           enumerate(zip(before, after))]
    return out[tuple(cut)]


def _space_to_batch_ref(x, block, before, after, value):
    m = len(block)
    padded = _pad_or_crop(x, before, after, value)
    batch, spatial, rest = padded.shape[0], padded.shape[1:m + 1], padded.shape[m + 1:]
    split = [batch] + [d for s, b in zip(spatial, block) for d in (s // b, b)] + list(rest)
    y = padded.reshape(split)
    # (batch, s1/b1, b1, ..., sM/bM, bM, rest) -> (b1..bM, batch, s1/b1..sM/bM, rest)
    perm = [2 + 2 * k for k in range(m)] + [0] + [1 + 2 * k for k in range(m)] + list(range(1 + 2 * m, y.ndim))
    y = y.transpose(perm)
    return y.reshape([batch * int(np.prod(block))] + [s // b for s, b in zip(spatial, block)] + list(rest))


def _batch_to_space_ref(x, block, crop_begin, crop_end):
    m = len(block)
    batch, spatial, rest = x.shape[0], x.shape[1:m + 1], x.shape[m + 1:]
    out_batch = batch // int(np.prod(block))
    y = x.reshape(list(block) + [out_batch] + list(spatial) + list(rest))
    # (b1..bM, batch', d1..dM, rest) -> (batch', d1, b1, ..., dM, bM, rest)
    perm = [m] + [a for k in range(m) for a in (m + 1 + k, k)] + list(range(2 * m + 1, y.ndim))
    y = y.transpose(perm).reshape([out_batch] + [d * b for d, b in zip(spatial, block)] + list(rest))
    cut = [slice(None)] + [slice(b, y.shape[1 + k] - e) for k, (b, e) in enumerate(zip(crop_begin, crop_end))]
    return y[tuple(cut)]


CASES = [  # shape, block, before, after
    ((2, 4, 6, 3), [2, 3], [0, 0], [0, 0]),        # no padding, NHWC
    ((1, 5, 4, 2), [2, 2], [1, 0], [0, 2]),        # positive padding
    ((3, 7, 2), [3], [2], [0]),                    # one spatial dimension
    ((2, 2, 3, 4), [2, 1, 2], [0, 1, 0], [2, 2, 0]),  # three spatial dimensions, nothing remaining
    ((2, 6, 5, 1), [2, 2], [-1, 1], [-1, -2]),     # negative padding crops
    ((2, 4, 3), [3], [-3], [2]),                   # a crop on one side, a pad on the other
    ((2, 4, 3), [2], [3], [-5]),                   # a crop reaching into the pad: only padding is left
]


@pytest.mark.parametrize("shape, block, before, after", CASES)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_space_to_batch_nd_matches_tensorflow(shape, block, before, after, dtype):
    x = (rand(*shape) * 10).astype(dtype)
    value = 3.0 if dtype == "float32" else -2
    X = _ph(x, "X")
    out = topi.nn.space_to_batch_nd(X, block, before, after, value)
    ref = _space_to_batch_ref(x, block, before, after, value)
    assert tuple(int(d) for d in out.shape) == ref.shape
    np.testing.assert_array_equal(run_plain(out, [X], [x]), ref)


@pytest.mark.parametrize("shape, block, crop_begin, crop_end", [
    ((6, 2, 3, 2), [2, 3], [0, 0], [0, 0]),
    ((8, 3, 2, 2), [2, 2], [1, 0], [2, 3]),
    ((6, 4, 1), [3], [2], [4]),
    ((8, 2, 3, 2), [2, 1, 2], [0, 1, 1], [3, 1, 0]),
    ((4, 2, 2), [2, 2], [4, 0], [0, 4]),          # everything cropped from both dimensions
])
def test_batch_to_space_nd_matches_tensorflow(shape, block, crop_begin, crop_end):
    x = rand(*shape)
    X = _ph(x, "X")
    out = topi.nn.batch_to_space_nd(X, block, crop_begin, crop_end)
    ref = _batch_to_space_ref(x, block, crop_begin, crop_end)
    assert tuple(int(d) for d in out.shape) == ref.shape
    if ref.size:
        np.testing.assert_array_equal(run_plain(out, [X], [x]), ref)


def test_space_to_batch_nd_tensorflow_documented_example():
    x = np.arange(1, 17, dtype="float32").reshape(1, 4, 4, 1)
    X = _ph(x, "X")
    out = run_plain(topi.nn.space_to_batch_nd(X, [2, 2], [0, 0], [0, 0]), [X], [x])
    expected = [[[[1], [3]], [[9], [11]]], [[[2], [4]], [[10], [12]]],
                [[[5], [7]], [[13], [15]]], [[[6], [8]], [[14], [16]]]]
    np.testing.assert_array_equal(out, np.array(expected, "float32"))


def test_batch_to_space_nd_undoes_space_to_batch_nd():
    block = [int(b) for b in rng.integers(1, 4, 2)]
    before = [int(p) for p in rng.integers(0, 3, 2)]
    spatial = [int(s) for s in rng.integers(1, 6, 2)]
    after = [(-(s + b)) % k for s, b, k in zip(spatial, before, block)]  # the least pad that divides
    x = rand(2, *spatial, 3)
    X = _ph(x, "X")
    out = topi.nn.batch_to_space_nd(topi.nn.space_to_batch_nd(X, block, before, after), block, before, after)
    np.testing.assert_array_equal(run_plain(out, [X], [x]), x)


def test_batch_space_bad_input_is_named():
    X = te.placeholder((2, 4, 6, 3), name="X")
    with pytest.raises(ExprError, match=r"space_to_batch_nd: spatial dimension 2 of X is 6, padded by 1 \+ 0 to 7, "
                                        r"which must be a positive multiple of block_shape\[1\] = 2"):
        topi.nn.space_to_batch_nd(X, [2, 2], [0, 1], [0, 0])
    with pytest.raises(ExprError, match=r"space_to_batch_nd: pad_after \[0\] must have one entry per block "
                                        r"dimension \(2\)"):
        topi.nn.space_to_batch_nd(X, [2, 2], [0, 0], [0])
    with pytest.raises(ExprError, match=r"space_to_batch_nd: block_shape \[2, 2, 1, 1\] needs 1 to 3 entries"):
        topi.nn.space_to_batch_nd(X, [2, 2, 1, 1], [0] * 4, [0] * 4)
    with pytest.raises(ExprError, match=r"space_to_batch_nd: block_shape \[0, 2\] must hold positive integers"):
        topi.nn.space_to_batch_nd(X, [0, 2], [0, 0], [0, 0])
    with pytest.raises(ExprError, match="batch_to_space_nd: the batch 2 of X must be a constant multiple of "
                                        r"prod\(block_shape\) = 4"):
        topi.nn.batch_to_space_nd(X, [2, 2], [0, 0], [0, 0])
    with pytest.raises(ExprError, match=r"batch_to_space_nd: crops 5 and 4 of spatial dimension 1 must be >= 0 and "
                                        "together at most its 8 elements"):
        topi.nn.batch_to_space_nd(X, [2, 1], [5, 0], [4, 0])
    with pytest.raises(ExprError, match=r"batch_to_space_nd: crops -1 and 0 of spatial dimension 2"):
        topi.nn.batch_to_space_nd(X, [1, 2], [0, -1], [0, 0])
    with pytest.raises(ExprError, match="batch_to_space_nd: block_shape must be a list of constant integers"):
        topi.nn.batch_to_space_nd(X, 2, [0], [0])


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scale_shift_matches_numpy(layout, dtype):
    x = rand(2, 3, 4, 5, dtype=dtype)
    c = x.shape[1] if layout == "nchw" else x.shape[3]
    scale, shift = rand(c, dtype=dtype), rand(c, dtype=dtype)
    X, S, B = _ph(x, "X"), _ph(scale, "S"), _ph(shift, "B")
    op = topi.nn.scale_shift_nchw if layout == "nchw" else topi.nn.scale_shift_nhwc
    view = (1, c, 1, 1) if layout == "nchw" else (1, 1, 1, c)
    ref = x * scale.reshape(view) + shift.reshape(view)
    np.testing.assert_allclose(run_plain(op(X, S, B), [X, S, B], [x, scale, shift]), ref, rtol=1e-6, atol=1e-6)


def test_scale_shift_bad_input_is_named():
    X, S = te.placeholder((2, 3, 4, 5), name="X"), te.placeholder((3,), name="S")
    with pytest.raises(ExprError, match=r"scale_shift_nhwc: Scale S must have shape \(5,\) \(the channels of X\), "
                                        r"got \(3,\)"):
        topi.nn.scale_shift_nhwc(X, S, te.placeholder((5,), name="B"))
    with pytest.raises(DTypeError, match="scale_shift_nchw: Shift B is float16 but Input X is float32"):
        topi.nn.scale_shift_nchw(X, S, te.placeholder((3,), name="B", dtype="float16"))
    with pytest.raises(ExprError, match=r"scale_shift_nchw: Input Y must be 4-D, got shape \(2, 3\)"):
        topi.nn.scale_shift_nchw(te.placeholder((2, 3), name="Y"), S, S)
