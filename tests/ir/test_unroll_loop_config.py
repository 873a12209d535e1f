"""PassContext config "tir.UnrollLoop" (TVM's, as opt_conv_tensorcore sets it): auto_max_step
unrolls every small loop nest; bad options are a clear error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.errors import LoweringError

rng = np.random.default_rng()


def _row_sums():
    A = te.placeholder((64,), name="A")
    k = te.reduce_axis((0, 8), name="k")
    B = te.compute((8,), lambda i: te.sum(A[i * 8 + k], axis=k), name="B")
    return te.create_schedule(B.op), [A, B]


def test_auto_max_step_unrolls_small_nests_and_computes_the_same():
    s, args = _row_sums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known config: no "has no effect" warning
        with tvm.transform.PassContext(config={"tir.UnrollLoop": {"auto_max_step": 16}}):
            text = str(tvm.lower(s, args, simple_mode=True))
            f = tvm.build(s, args, "llvm")
    assert "for (k" not in text and "A[i * 8 + 7]" in text
    assert "for (k" in str(tvm.lower(s, args, simple_mode=True))  # only inside the context
    a = rng.standard_normal(64).astype("float32")
    b = np.zeros(8, "float32")
    f(a, b)
    # numpy sums 8 terms pairwise, the kernel in order: a row summing to near 0 needs an absolute bound
    np.testing.assert_allclose(b, a.reshape(8, 8).sum(axis=1), rtol=1e-5, atol=1e-5)


def test_a_nest_over_the_limit_stays_a_loop():
    s, args = _row_sums()
    with tvm.transform.PassContext(config={"tir.UnrollLoop": {"auto_max_step": 4}}):
        assert "for (k" in str(tvm.lower(s, args, simple_mode=True))


@pytest.mark.parametrize("config,message", [({"auto_max_stp": 16}, "unknown option"),
                                            ({"auto_max_step": -1}, "int >= 0"),
                                            (16, "must be a dict")])
def test_bad_options_are_refused(config, message):
    s, args = _row_sums()
    with tvm.transform.PassContext(config={"tir.UnrollLoop": config}):
        with pytest.raises(LoweringError, match=message):
            tvm.lower(s, args)
