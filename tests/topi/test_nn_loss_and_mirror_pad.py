"""nll_loss (none, sum, mean; ignore_index; extra dimensions) against a numpy version of PyTorch's
definition, and mirror_pad against numpy.pad's symmetric and reflect modes, on fresh random data;
bad arguments and out-of-range targets are named."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import BoundsError, DTypeError, ExprError
from tests.topi.runner import rand, rng, run_plain


def _nll_ref(pred, target, weight, reduction, ignore_index):
    n, c = pred.shape[:2]
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    picked = np.take_along_axis(pred.astype(np.float64), t[:, None], axis=1)[:, 0]
    w = weight.astype(np.float64)[t] * valid
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore"):
        return loss.sum() / w.sum()


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("extra", [(), (3, 4)])
def test_nll_loss_matches_numpy(reduction, extra):
    n, c = 6, 5
    pred, weight = rand(n, c, *extra), rng.uniform(0.5, 2.0, c).astype("float32")
    target = rng.integers(0, c, size=(n, *extra)).astype("int32")
    target.flat[::4] = -100                        # ignored
    P, T, W = (te.placeholder(a.shape, name=nm, dtype=str(a.dtype)) for a, nm in
               ((pred, "P"), (target, "T"), (weight, "W")))
    out = topi.nn.nll_loss(P, T, W, reduction, -100)
    got = run_plain(out, [P, T, W], [pred, target, weight])
    # float32 sums of terms of both signs: the bound scales with the terms' magnitudes.
    scale = np.abs(_nll_ref(pred, target, weight, "none", -100)).sum()
    np.testing.assert_allclose(got, _nll_ref(pred, target, weight, reduction, -100), rtol=1e-5, atol=1e-6 * scale)
    if reduction == "mean":  # every target ignored: 0 / 0, NaN as in PyTorch
        assert np.isnan(run_plain(out, [P, T, W], [pred, np.full_like(target, -100), weight]))


def test_nll_loss_bad_input_is_named():
    P, W = te.placeholder((4, 3), name="P"), te.placeholder((3,), name="W")
    T = te.placeholder((4,), name="T", dtype="int64")
    with pytest.raises(ExprError, match="nll_loss: reduction 'avg' is not"):
        topi.nn.nll_loss(P, T, W, "avg")
    with pytest.raises(DTypeError, match="nll_loss: targets F must be integers"):
        topi.nn.nll_loss(P, te.placeholder((4,), name="F"), W)
    with pytest.raises(ExprError, match=r"nll_loss: expected predictions \(N, C, d...\)"):
        topi.nn.nll_loss(P, te.placeholder((4, 2), name="T2", dtype="int64"), W)
    out = topi.nn.nll_loss(P, T, W, "sum")
    f = tl.build(te.create_schedule(out.op), [P, T, W, out], target="llvm")
    res = np.empty((), "float32")
    with pytest.raises(BoundsError):  # a class index past C that is not ignore_index
        f(rand(4, 3), np.array([0, 1, 3, 2]), rand(3), res)


@pytest.mark.parametrize("mode", ["SYMMETRIC", "REFLECT"])
def test_mirror_pad_matches_numpy(mode):
    x = rand(4, 5, 3)
    X = te.placeholder(x.shape, name="X")
    edge = 1 if mode == "SYMMETRIC" else 0
    for before, after in [((1, 2, 0), (2, 0, 1)), ((3 + edge, 0, 2 + edge), (0, 4 + edge, 1)), ((0, 0, 0), (1, 1, 1))]:
        out = topi.nn.mirror_pad(X, before, after, mode)
        ref = np.pad(x, list(zip(before, after)), mode=mode.lower())
        np.testing.assert_array_equal(run_plain(out, [X], [x]), ref)


def test_mirror_pad_bad_input_is_named():
    X = te.placeholder((4, 5), name="X")
    with pytest.raises(ExprError, match="mirror_pad: dimension 0 of X has 4 elements, so a REFLECT pad must be 0 to 3"):
        topi.nn.mirror_pad(X, (4, 0), (0, 0), "REFLECT")
    with pytest.raises(ExprError, match="mirror_pad: mode 'EDGE' is not"):
        topi.nn.mirror_pad(X, (1, 0), (0, 0), "EDGE")
