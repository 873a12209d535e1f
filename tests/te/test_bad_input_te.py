"""Bad declarations get a tensorlang error naming the compute, tensor or buffer at fault, at the
call that declares them (not a build error, a wrong answer, or a lowering error that points
elsewhere); the borderline inputs next to them keep working and give numpy's answer."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import DTypeError, ExprError


def _run(outs, args, inputs):
    f = tl.build(te.create_schedule(outs.op), args)
    res = np.zeros([int(d) for d in outs.shape], str(outs.dtype))
    f(*inputs, res)
    return res


# --- scan: init, update and state share the output's storage ------------------------------
def _scan(state_dtype):
    X = te.placeholder((4, 3), name="X")
    state = te.placeholder((4, 3), state_dtype, name="state")
    init = te.compute((1, 3), lambda _, i: X[0, i], name="init")
    update = te.compute((4, 3), lambda t, i: state[t - 1, i].astype("float32") + X[t, i], name="update")
    return X, te.scan(init, update, state)


def test_scan_refuses_a_state_of_another_dtype():
    # The float32 rows were read back as int32 bits: 1.2e9 instead of a running sum.
    with pytest.raises(DTypeError, match=r"scan 'scan': init init is float32 but the state state is int32"):
        _scan("int32")


def test_scan_of_matching_dtypes_is_numpys_cumsum():
    X, S = _scan("float32")
    x = np.random.default_rng().random((4, 3), dtype="float32")
    np.testing.assert_allclose(_run(S, [X, S], [x]), np.cumsum(x, 0), rtol=1e-5, atol=1e-6)


# --- compute: the element dtype and the variables of the body ---------------------------
@pytest.mark.parametrize("dtype", ["float32x4", "handle"])
def test_compute_of_a_vector_or_handle_value_is_refused_by_name(dtype):
    A = te.placeholder((4,), name="A")
    with pytest.raises(DTypeError, match=rf"compute 'B': the function's value is a {dtype}\S* expression"):
        te.compute((4,), lambda i: A[i].astype(dtype), name="B")


def _mat():
    return te.placeholder((4, 4), name="A"), te.reduce_axis((0, 4), name="k")


def test_reduce_axis_outside_its_reduction_is_named():
    A, k = _mat()
    with pytest.raises(ExprError, match=r"compute 'B': reduce_axis k is used outside a reduction"):
        te.compute((4,), lambda i: A[i, k] + 1.0, name="B")


def test_reduce_axis_missing_from_the_reduction_is_named():
    A, k = _mat()
    r = te.reduce_axis((0, 4), name="r")
    with pytest.raises(ExprError, match=r"reduce_axis r is used in a reduction over k, which does not include it"):
        te.compute((4,), lambda i: te.sum(A[i, k] * A[r, i], axis=k), name="B")


def test_index_of_another_compute_is_named():
    A, _ = _mat()
    C = te.compute((4,), lambda i: A[i, 0], name="C")
    with pytest.raises(ExprError, match=r"compute 'B': the body uses i, an index of another compute"):
        te.compute((4,), lambda j: A[j, C.op.axis[0].var], name="B")


def test_nested_reduction_is_still_reported_first():
    A, k = _mat()
    with pytest.raises(ExprError, match="a reduction must be the outermost operation"):
        te.compute((4,), lambda i: te.sum(A[i, k], axis=k) + 1.0, name="B")


def test_one_reduce_axis_in_two_computes_and_a_free_var_keep_working():
    A, k = _mat()
    n = te.var("n")
    B = te.compute((4,), lambda i: te.sum(A[i, k], axis=k), name="B")
    C = te.compute((4,), lambda i: te.sum(A[k, i] + B[i] * n.astype("float32"), axis=k), name="C")
    f = tl.build(te.create_schedule(C.op), [A, n, C])
    a, c = np.random.default_rng().random((4, 4), dtype="float32"), np.zeros(4, "float32")
    f(a, 3, c)
    np.testing.assert_allclose(c, a.sum(0) + 4 * 3 * a.sum(1), rtol=1e-5, atol=1e-5)


# --- tir.Select's condition, as te.if_then_else's ----------------------------------------
def test_select_with_a_float_condition_is_refused():
    A = te.placeholder((4,), name="A")
    with pytest.raises(DTypeError, match="a condition must be bool or int, got float32 expression 'A"):
        tl.tir.Select(A[0], 1.0, 0.0)


def test_select_with_an_int_condition_holds_where_nonzero():
    # It reached LLVM as a select on an i32 and was rejected there.
    A = te.placeholder((6,), "int32", name="A")
    B = te.compute((6,), lambda i: tl.tir.Select(A[i], 1.0, -1.0), name="B")
    a = np.random.default_rng().integers(-2, 3, 6).astype("int32")
    np.testing.assert_array_equal(_run(B, [A, B], [a]), np.where(a != 0, 1.0, -1.0))


@pytest.mark.parametrize("index", [1, -1, "0"])
def test_output_of_a_missing_index_is_refused(index):
    A = te.placeholder((4,), name="A")
    with pytest.raises(ExprError, match=r"operation A has 1 output\(s\) \(0..0\)"):
        A.op.output(index)


# --- extern buffers and callbacks --------------------------------------------------------
def _double(ins, outs):
    ib = tl.tir.ir_builder.create()
    a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
    with ib.for_range(0, 4) as i:
        o[i] = a[i] * 2
    return ib.get()


@pytest.mark.parametrize("buf, fragment", [
    (3, "in_buffers: expected buffers .*got 3 for A"),
    # these two read int32 bits of the float input, or past its 4 elements
    (("int32", (4,)), "in_buffers: buffer Ab is int32 but A is float32"),
    (("float32", (40,)), r"in_buffers: buffer Ab has shape \[40\] but A has shape \[4\]"),
])
def test_extern_in_buffer_must_match_its_tensor(buf, fragment):
    A = te.placeholder((4,), name="A")
    if isinstance(buf, tuple):
        buf = tl.tir.decl_buffer(buf[1], buf[0], "Ab")
    with pytest.raises(ExprError, match=f"extern 'B': {fragment}"):
        te.extern((4,), [A], _double, in_buffers=[buf], name="B")


def test_extern_output_takes_its_out_buffers_dtype():
    A = te.placeholder((4,), name="A")
    B = te.extern((4,), [A], _double, out_buffers=[tl.tir.decl_buffer((4,), "int32", "Ob")], name="B")
    assert B.dtype == "int32"
    a = np.random.default_rng().random(4, dtype="float32") * 10
    np.testing.assert_array_equal(_run(B, [A, B], [a]), (a * 2).astype("int32"))


def test_callbacks_of_the_wrong_arity_are_named():
    A = te.placeholder((4,), name="A")
    with pytest.raises(ExprError, match=r"extern 'B': fcompute <lambda>\(ins\) is called with 2 argument"):
        te.extern((4,), [A], lambda ins: None, name="B")
    y = te.compute((4,), lambda i: A[i] * 2, name="y")
    with pytest.raises(ExprError, match=r"decl_tensor_intrin 'tensor_intrin': fcompute <lambda>\(ins\) is called"):
        te.decl_tensor_intrin(y.op, lambda ins: None)


def test_all_and_any_of_no_condition_are_refused():
    for f, name in ((te.all, "te.all"), (te.any, "te.any")):
        with pytest.raises(ExprError, match=f"{name} needs at least one condition"):
            f()
    n = te.var("n")
    assert str(te.all(n > 0)) == str(n > 0)

