"""Vector exp/log/tanh/erf/sigmoid against numpy's float64 results over the whole float32 range:
random bit patterns (every exponent, subnormals, NaNs, infinities), a dense sweep of the
interesting range, and the edge values; vectorized and scalar code agree bit for bit, with and
without AVX-512."""

import math
import platform
import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

MAX_ULP = {"exp": 1, "log": 2, "tanh": 3, "erf": 3, "sigmoid": 3}
EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 88.72283, 88.72284, 88.7229, -87.33, -103.9, -104.0,
         1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 0.625, -0.625, 0.62499994, 3.92, 3.9199998, 4.0, 9.0,
         -20.0, 1e-30, -1e-30, 3.4028235e38, -3.4028235e38, 0.70710677, 0.7071068, 1.4142135]


def _reference(name, x64):
    with np.errstate(all="ignore"):
        if name == "erf":
            return np.frompyfunc(lambda v: math.erf(v) if v == v else math.nan, 1, 1)(x64).astype(np.float64)
        if name == "sigmoid":
            return np.where(x64 >= 0, 1 / (1 + np.exp(-x64)), np.exp(x64) / (1 + np.exp(x64)))
        return getattr(np, name)(x64)


def _ulp_error(got, ref64):
    """|got - ref| in units of the float32 spacing at the reference; 0 where both are the same
    special value (NaN, infinity)."""
    with np.errstate(all="ignore"):
        ref32 = ref64.astype(np.float32)
        same = (np.isnan(got) & np.isnan(ref64)) | (got == ref32)
        spacing = np.spacing(np.abs(ref32)).astype(np.float64)
        err = np.abs(got.astype(np.float64) - ref64) / spacing
    return np.where(same, 0.0, err)


def _kernel(name, n, lanes, target="llvm"):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: getattr(te, name)(A[i]), name="B")
    s = te.create_schedule(B.op)
    if lanes > 1:
        _, inner = s[B].split(B.op.axis[0], factor=lanes)
        s[B].vectorize(inner)
    return tl.build(s, [A, B], target=target)


# Vector widths of every code path: whole 16-lane vscalefps pieces (16, 128), ldexp (8, 48, 1),
# and the integer power-of-two scaling of a target without AVX-512.
VARIANTS = [(16, "llvm"), (128, "llvm"), (8, "llvm"), (48, "llvm"), (16, "llvm -mattr=-avx512f"), (1, "llvm")]


@pytest.mark.parametrize("name", sorted(MAX_ULP))
def test_within_a_few_ulp_over_the_whole_range(name):
    rng = np.random.default_rng()
    bits = rng.integers(0, 2 ** 32, 1 << 17, dtype=np.uint64).astype(np.uint32).view(np.float32)
    dense = rng.uniform(-12, 12, 1 << 15).astype(np.float32)
    x = np.concatenate([np.array(EDGES, np.float32), bits, dense])
    x = x[:len(x) - len(x) % 16]
    ref = _reference(name, x.astype(np.float64))
    outs = {}
    for lanes, target in VARIANTS:
        out = np.full_like(x, 7.0)
        _kernel(name, len(x), lanes, target)(x, out)
        outs[lanes, target] = out
        err = _ulp_error(out, ref)
        worst = int(np.argmax(err))
        assert err[worst] <= MAX_ULP[name], f"{name}({x[worst]!r}) = {out[worst]!r}, expected {ref[worst]!r}"
        assert np.array_equal(np.isnan(out), np.isnan(ref.astype(np.float32))), f"{name}: NaN where numpy has none"
    for variant, out in outs.items():
        np.testing.assert_array_equal(out, outs[1, "llvm"], err_msg=f"{name}: {variant} differs from scalar code")


def test_edge_values_exactly():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1e-45, -200.0, 200.0] + [0.0] * 7, np.float32)
    got = {}
    for name in ("exp", "log", "tanh", "erf", "sigmoid"):
        out = np.empty_like(x)
        _kernel(name, len(x), 16)(x, out)
        got[name] = out[:9]
    inf, nan = np.inf, np.nan
    np.testing.assert_array_equal(got["exp"][[0, 1, 2, 3, 7, 8]], [1, 1, inf, 0, 0, inf])
    np.testing.assert_array_equal(got["log"][[0, 1, 2, 5]], [-inf, -inf, inf, nan])
    assert got["log"][6] == np.float32(np.log(np.float64(np.float32(1e-45))))  # the smallest subnormal
    for name in ("tanh", "erf"):
        np.testing.assert_array_equal(got[name][[2, 3, 7, 8]], [1, -1, -1, 1])
        assert np.signbit(got[name][1]) and got[name][1] == 0
    np.testing.assert_array_equal(got["sigmoid"][[0, 2, 3, 7, 8]], [0.5, 1, 0, 0, 1])
    for name, out in got.items():
        assert np.isnan(out[4]), name


def test_float16_goes_through_float32():
    x = np.linspace(-6, 6, 64).astype(np.float16)
    A = te.placeholder((64,), name="A", dtype="float16")
    B = te.compute((64,), lambda i: te.exp(A[i]) + te.tanh(A[i]), name="B")
    s = te.create_schedule(B.op)
    _, inner = s[B].split(B.op.axis[0], factor=16)
    s[B].vectorize(inner)
    out = np.empty_like(x)
    tl.build(s, [A, B], target="llvm")(x, out)
    ref = np.exp(x.astype(np.float64)) + np.tanh(x.astype(np.float64))
    np.testing.assert_allclose(out.astype(np.float64), ref, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("target", ["llvm", "llvm -mattr=-avx512f"])
def test_exp_gives_the_same_bits_whichever_path_a_vector_takes(target):
    """Without AVX-512, a vector whose lanes all lie in exp's normal range takes a shorter branch
    (one power-of-two factor, no clamps), and one with any lane outside it the full code.  Lanes
    in range must not care: the same values with one lane of each vector pushed out of range
    (-100: a subnormal result) give the same bits in the other lanes, and match numpy."""
    rng = np.random.default_rng()
    x = rng.uniform(-87.0, 87.0, 4096).astype(np.float32)
    x[:64] = rng.uniform(-1e-3, 1e-3, 64).astype(np.float32)  # tiny arguments too
    mixed = x.copy()
    poisoned = rng.integers(0, 8, len(x) // 8) + np.arange(0, len(x), 8)
    mixed[poisoned] = -100.0
    f = _kernel("exp", len(x), 8, target)
    fast, slow = np.empty_like(x), np.empty_like(x)
    f(x, fast)
    f(mixed, slow)
    keep = np.ones(len(x), bool)
    keep[poisoned] = False
    np.testing.assert_array_equal(fast[keep], slow[keep])
    assert _ulp_error(fast, np.exp(x.astype(np.float64))).max() <= 1
    np.testing.assert_array_equal(slow[poisoned], np.float32(np.exp(np.float64(-100.0))))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="checks x86 packed instructions")
def test_a_plain_loop_of_exp_is_still_vectorized_by_llvm():
    """Scalar exp stays branch-free: LLVM's loop vectorizer turns an unscheduled loop of exp into
    packed code (with exp's vector-only branch inside, it left the loop scalar: 1.8x the time)."""
    f = _kernel("exp", 4096, 1)
    asm = f.get_source("asm")
    assert re.search(r"\bv?mulps\b", asm) and re.search(r"\bv?(fmadd\w*ps|addps)\b", asm), "exp loop left scalar"
    x = np.random.default_rng().uniform(-80, 80, 4096).astype(np.float32)
    out = np.empty_like(x)
    f(x, out)
    assert _ulp_error(out, np.exp(x.astype(np.float64))).max() <= 1
