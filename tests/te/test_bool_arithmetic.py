"""Arithmetic on booleans follows numpy: + * & | ^ ~ work on truth values, - and division are refused."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import DTypeError


def _run(fn, a, b):
    A = te.placeholder(a.shape, dtype="bool", name="A")
    B = te.placeholder(b.shape, dtype="bool", name="B")
    C = te.compute(a.shape, lambda i: fn(A[i], B[i]), name="C")
    f = tl.build(te.create_schedule(C.op), [A, B, C], target="llvm")
    c = np.zeros(a.shape, dtype=C.dtype)
    f(a, b, c)
    return c


@pytest.mark.parametrize("op", ["add", "mul", "and", "or", "xor", "max", "min"])
def test_bool_operators_numpy_has_match_it(op):
    rng = np.random.default_rng()
    a, b = rng.random(64) > 0.5, rng.random(64) > 0.5
    fn, ref = {"add": (lambda x, y: x + y, np.add), "mul": (lambda x, y: x * y, np.multiply),
               "and": (lambda x, y: x & y, np.bitwise_and), "or": (lambda x, y: x | y, np.bitwise_or),
               "xor": (lambda x, y: x ^ y, np.bitwise_xor), "max": (te.max, np.maximum),
               "min": (te.min, np.minimum)}[op]
    want = ref(a, b)
    got = _run(fn, a, b)
    assert got.dtype == want.dtype == np.bool_
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn", [lambda x, y: x - y, lambda x, y: x // y, lambda x, y: x % y,
                                lambda x, y: te.floordiv(x, y), lambda x, y: te.truncmod(x, y),
                                lambda x, y: x - True, lambda x, y: -x],
                         ids=["sub", "floordiv", "mod", "te.floordiv", "te.truncmod", "sub-const", "neg"])
def test_bool_subtraction_negation_and_division_are_refused(fn):
    # numpy: bool - bool and -bool raise TypeError; bool // bool is int8, never a bool.
    A = te.placeholder((4,), dtype="bool", name="A")
    with pytest.raises(DTypeError, match="boolean"):
        te.compute((4,), lambda i: fn(A[i], A[i]), name="C")
    with pytest.raises(DTypeError, match="boolean"):
        fn(te.const(True), te.const(False))


def test_bools_cast_to_integers_subtract_as_numpy():
    rng = np.random.default_rng()
    a, b = rng.random(64) > 0.5, rng.random(64) > 0.5
    got = _run(lambda x, y: x.astype("int8") - y.astype("int8"), a, b)
    np.testing.assert_array_equal(got, a.astype(np.int8) - b.astype(np.int8))
