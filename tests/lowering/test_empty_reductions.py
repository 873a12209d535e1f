"""Reductions over an axis that runs zero times follow numpy: sum and prod give 0 and 1, while
max, min, fmax, fmin and argmax (no identity) are a tensorlang error naming the stage and axis:
a LoweringError for a constant extent, an ArgumentError at call time for a symbolic one."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te, topi
from tensorlang.errors import ArgumentError, LoweringError

_prod = te.comm_reducer(lambda x, y: x * y, lambda dt: te.const(1, dt), name="prod")
REDUCERS = {"sum": (te.sum, np.sum), "prod": (_prod, np.prod), "max": (te.max, np.max),
            "min": (te.min, np.min), "fmax": (te.fmax, np.fmax.reduce), "fmin": (te.fmin, np.fmin.reduce)}


def _reduce_rows(reducer, m, dtype="float32"):
    n = te.var("n")
    A = te.placeholder((n, m), name="A", dtype=dtype)
    k = te.reduce_axis((0, m), name="k")
    B = te.compute((n,), lambda i: reducer(A[i, k], axis=k), name="B")
    return A, B


def _numpy_result(np_fn, a):
    try:
        return np_fn(a, axis=1)
    except ValueError as e:
        assert "zero-size array" in str(e)
        return None


@pytest.mark.parametrize("name", sorted(REDUCERS))
@pytest.mark.parametrize("symbolic", [False, True])
def test_empty_axis_matches_numpy(name, symbolic):
    reducer, np_fn = REDUCERS[name]
    rng = np.random.default_rng(7)
    a = rng.standard_normal((5, 0)).astype("float32")
    expected = _numpy_result(np_fn, a)
    A, B = _reduce_rows(reducer, te.var("m") if symbolic else 0)
    s = te.create_schedule(B.op)
    if expected is None and not symbolic:
        with pytest.raises(LoweringError, match=r"stage B reduces with .* over axis k, whose extent is 0"):
            tl.build(s, [A, B], "llvm")
        return
    f = tl.build(s, [A, B], "llvm")
    b = tl.nd.array(rng.standard_normal(5).astype("float32"))
    if expected is None:
        with pytest.raises(ArgumentError, match=r"stage B reduces with .* over axis k, whose extent is m.*m = 0"):
            f(tl.nd.array(a), b)
        return
    f(tl.nd.array(a), b)
    np.testing.assert_array_equal(b.numpy(), expected)


@pytest.mark.parametrize("name", ["max", "min", "fmax"])
def test_nonempty_symbolic_axis_still_runs(name):
    reducer, np_fn = REDUCERS[name]
    A, B = _reduce_rows(reducer, te.var("m"))
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=4)
    f = tl.build(s, [A, B], "llvm")
    rng = np.random.default_rng(3)
    for m in (1, 3, 9):
        a = rng.standard_normal((4, m)).astype("float32")
        b = tl.nd.array(np.zeros(4, "float32"))
        f(tl.nd.array(a), b)
        np.testing.assert_array_equal(b.numpy(), np_fn(a, axis=1))


def test_empty_axis_after_rfactor_is_still_refused():
    A, B = _reduce_rows(te.max, te.var("m"))
    s = te.create_schedule(B.op)
    ko, ki = s[B].split(B.op.reduce_axis[0], factor=4)
    s.rfactor(B, ki)
    f = tl.build(s, [A, B], "llvm")
    with pytest.raises(ArgumentError, match="over axis k"):
        f(tl.nd.array(np.zeros((3, 0), "float32")), tl.nd.array(np.zeros(3, "float32")))
    a = np.random.default_rng(1).standard_normal((3, 6)).astype("float32")
    b = tl.nd.array(np.zeros(3, "float32"))
    f(tl.nd.array(a), b)
    np.testing.assert_array_equal(b.numpy(), a.max(axis=1))


def test_topi_argmax_of_empty_axis():
    n, m = te.var("n"), te.var("m")
    A = te.placeholder((n, m), name="A")
    B = topi.argmax(A, axis=1)
    s = te.create_schedule(B.op)
    f = tl.build(s, [A, B], "llvm")
    with pytest.raises(ArgumentError, match="argmax over axis k"):
        f(tl.nd.array(np.zeros((2, 0), "float32")), tl.nd.array(np.zeros(2, "int32")))
    a = np.random.default_rng(2).standard_normal((3, 5)).astype("float32")
    b = tl.nd.array(np.zeros(3, "int32"))
    f(tl.nd.array(a), b)
    np.testing.assert_array_equal(b.numpy(), a.argmax(axis=1))
    with pytest.raises(LoweringError, match="argmax over axis k, whose extent is 0"):
        C = topi.argmax(te.placeholder((3, 0), name="C"), axis=1)
        tl.build(te.create_schedule(C.op), [C], "llvm")


def test_where_masking_every_point_gives_the_identity():
    # numpy needs initial= for a masked max; te.max's where= keeps TVM's meaning (the identity
    # fills masked points), which the docstring of comm_reducer states.
    n = 6
    A = te.placeholder((n, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    B = te.compute((n,), lambda i: te.max(A[i, k], axis=k, where=k < i), name="B")
    f = tl.build(te.create_schedule(B.op), [A, B], "llvm")
    a = np.random.default_rng(4).standard_normal((n, n)).astype("float32")
    b = tl.nd.array(np.zeros(n, "float32"))
    f(tl.nd.array(a), b)
    expected = np.array([np.max(a[i, :i], initial=-np.inf) for i in range(n)], "float32")
    np.testing.assert_array_equal(b.numpy(), expected)


def test_user_reducer_keeps_its_identity_unless_asked():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 0)).astype("float32")
    mine = te.comm_reducer(lambda x, y: x + 2 * y, lambda dt: te.const(1.5, dt), name="mine")
    strict = te.comm_reducer(lambda x, y: x + 2 * y, lambda dt: te.const(1.5, dt), name="strict",
                             allow_empty=False)
    A, B = _reduce_rows(mine, te.var("m"))
    f = tl.build(te.create_schedule(B.op), [A, B], "llvm")
    b = tl.nd.array(np.zeros(3, "float32"))
    f(tl.nd.array(a), b)
    np.testing.assert_array_equal(b.numpy(), np.full(3, 1.5, "float32"))
    A, B = _reduce_rows(strict, te.var("m"))
    f = tl.build(te.create_schedule(B.op), [A, B], "llvm")
    with pytest.raises(ArgumentError, match="strict over axis k"):
        f(tl.nd.array(a), b)
