"""Float -> integer conversions are defined for every input, as numpy's (C casts on x86):
out-of-range values, infinities and NaN give what the truncating conversion gives (int32 or
int64 INT_MIN, wrapped to the target width), never LLVM's poison; constant folding agrees."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te

VALUES = [-5.0, -300.0, 70000.0, 3e9, -3e9, 1e20, -1e20, np.nan, np.inf, -np.inf, 0.5, -0.5, 255.9,
          2.0**63, 2.0**64 - 4096, -2.0**63, 2.0**31, -2.0**31, 2.0**31 - 1, 1.5e19, -1.0, 65535.5]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def _numpy_scalar_cast(a: np.ndarray, dst: str) -> np.ndarray:
    """numpy's C cast, element by element (its SIMD loops differ for some out-of-range uint32)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.array([np.array([x]).astype(dst)[0] for x in a], dst)


@pytest.mark.parametrize("src", ["float16", "float32", "float64"])
@pytest.mark.parametrize("vectorize", [False, True])
def test_every_float_converts_to_every_int_as_numpy(src: str, vectorize: bool) -> None:
    with np.errstate(over="ignore"):
        a = np.array(VALUES + [0.0] * (24 - len(VALUES)), src)
    A = te.placeholder((24,), src, name="A")
    outs = [te.compute((24,), lambda i, d=d: A[i].astype(d), name=f"to_{d}") for d in INTS]
    s = te.create_schedule([o.op for o in outs])
    if vectorize:
        for o in outs:
            _, xi = s[o].split(o.op.axis[0], factor=8)
            s[o].vectorize(xi)
    f = tl.build(s, [A, *outs])
    got = [np.zeros(24, d) for d in INTS]
    f(a, *got)
    for d, g in zip(INTS, got):
        np.testing.assert_array_equal(g, _numpy_scalar_cast(a, d), err_msg=f"{src} -> {d}")


@pytest.mark.parametrize("dst", INTS)
def test_constant_folding_converts_as_the_code_does(dst: str) -> None:
    for v in VALUES:
        folded = te.const(v, "float64").astype(dst)
        assert isinstance(folded, te.IntImm)
        assert folded.value == int(_numpy_scalar_cast(np.array([v]), dst)[0]), (v, dst)
