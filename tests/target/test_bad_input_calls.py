"""Bad calls of built functions: a shape variable overflowed by an array names the array's
dimension, and what a packed function raises carries a note naming it."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError


def test_shape_variable_overflow_names_the_array_dimension():
    n = te.var("n")
    A = te.placeholder((n,), dtype="int8", name="A")
    B = te.compute((4,), lambda i: A[i], name="B")
    f = tl.build(te.create_schedule(B.op), [A, B])
    a = np.empty(2**31 + 16, "int8")  # never touched: only its length matters
    with pytest.raises(ArgumentError, match=r"argument A: dimension 0 is 2147483664, .*shape variable n.*"
                                            r"te\.var\(\"n\", \"int64\"\)"):
        f(a, np.zeros(4, "int8"))


def test_packed_function_error_names_the_function():
    @tl.register_func("bad_input_calls.two_args", override=True)
    def two_args(x, scale):
        pass

    A = te.placeholder((8,), name="A")
    B = te.extern((8,), [A], lambda ins, outs: tl.tir.call_packed("bad_input_calls.two_args", outs[0]), name="B")
    f = tl.build(te.create_schedule(B.op), [A, B])
    a = np.random.default_rng().standard_normal(8).astype("float32")
    with pytest.raises(TypeError) as info:  # what the function raised, as TVM passes it on
        f(a, np.empty_like(a))
    assert any(re.search(r"packed function 'bad_input_calls\.two_args', .* 1 argument", n)
               for n in info.value.__notes__)
