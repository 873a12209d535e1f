"""Tensor arithmetic operators (``conv + bias``) with numpy broadcasting, as TVM binds them."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import ExprError


def _run(args, out, arrays):
    s = te.create_schedule(out.op)
    f = tl.build(s, [*args, out], target="llvm")
    res = np.empty([int(d) for d in out.shape], out.dtype)
    f(*arrays, res)
    return res


@pytest.mark.parametrize("shape_a, shape_b", [((2, 8, 5, 5), (1, 8, 1, 1)), ((4, 1), (3,)), ((6,), (6,)),
                                              ((1, 3, 1), (5, 1, 4))])
def test_tensor_operators_broadcast_as_numpy(shape_a, shape_b):
    rng = np.random.default_rng()
    A = te.placeholder(shape_a, name="A")
    B = te.placeholder(shape_b, name="B")
    a = rng.standard_normal(shape_a).astype(np.float32)
    b = rng.uniform(0.5, 2.0, shape_b).astype(np.float32)
    for out, expect in ((A + B, a + b), (A - B, a - b), (A * B, a * b), (A / B, a / b)):
        assert out.op.tag == "broadcast"
        np.testing.assert_allclose(_run([A, B], out, [a, b]), expect, rtol=1e-6)


def test_scalars_on_either_side_and_chains():
    rng = np.random.default_rng()
    A = te.placeholder((7, 9), name="A")
    a = rng.standard_normal((7, 9)).astype(np.float32)
    out = 2.0 - A * 3.0 + 1.0
    assert out.op.tag == "elemwise"
    # a multiply and an add may fuse into one FMA (one rounding, not two): near zero the
    # results differ from numpy's by an ulp of the operands, not of the result
    np.testing.assert_allclose(_run([A], out, [a]), 2.0 - a * 3.0 + 1.0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_run([A], 1.0 / (A * A + 1.0), [a]), 1.0 / (a * a + 1.0), rtol=1e-6)


def test_integer_tensors_keep_numpy_wraparound():
    rng = np.random.default_rng()
    A = te.placeholder((64,), name="A", dtype="int32")
    B = te.placeholder((64,), name="B", dtype="int32")
    a = rng.integers(-2**31, 2**31 - 1, 64, dtype=np.int32)
    b = rng.integers(-2**31, 2**31 - 1, 64, dtype=np.int32)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_run([A, B], A * B + A, [a, b]), a * b + a)


def test_topi_operators_are_the_same_functions():
    assert topi.add is te.broadcast.add and topi.multiply is te.broadcast.multiply


def test_shapes_that_do_not_broadcast_name_the_dimension():
    A = te.placeholder((4, 3), name="A")
    B = te.placeholder((4, 5), name="B")
    with pytest.raises(ExprError, match=r"dimension 1: 3 vs 5"):
        A + B


def test_other_operands_are_not_taken():
    A = te.placeholder((4,), name="A")
    with pytest.raises(TypeError):
        A + "x"
    with pytest.raises(TypeError):
        A + [1, 2]


def test_an_expression_on_the_left_and_zero_dim_tensors_make_tensors():
    """``x - A`` (a variable), ``B[0, 0] / A`` (a read) and a 0-d tensor against a 2-d one, as TVM."""
    rng = np.random.default_rng()
    x = te.var("x", dtype="float32")
    A = te.placeholder((4, 3), name="A")
    Z = te.placeholder((), name="Z")
    a = rng.uniform(0.5, 2.0, (4, 3)).astype(np.float32)
    z = np.array(rng.standard_normal(), dtype=np.float32)
    out = x - A
    f = tl.build(te.create_schedule(out.op), [x, A, out], target="llvm")
    res = np.empty((4, 3), np.float32)
    f(1.5, a, res)
    np.testing.assert_allclose(res, np.float32(1.5) - a, rtol=1e-6)
    np.testing.assert_allclose(_run([A], A[0, 0] / A, [a]), a[0, 0] / a, rtol=1e-6)
    np.testing.assert_allclose(_run([Z, A], Z * A, [z, a]), z * a, rtol=1e-6)
    assert (Z * A).op.tag == "broadcast" and (x - A).op.tag == "elemwise"
