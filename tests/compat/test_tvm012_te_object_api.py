"""TVM object API that TVM 0.12 unit tests lean on: ``same_as`` (identity of nodes, tensors,
operations and iteration variables) and ``tir.Let`` built from plain Python numbers."""

import numpy as np

import tensorlang as tvm
from tensorlang import te


def test_same_as_is_identity():
    x = te.var("x")
    assert x.same_as(x) and not x.same_as(te.var("x"))
    e = x + 1
    assert e.same_as(e) and not e.same_as(x + 1)
    A = te.placeholder((4,), name="A")
    B = te.compute((4,), lambda i: A[i] * 2, name="B")
    assert B.op.output(0).same_as(B) and not B.same_as(A)
    assert B.op.same_as(B.op) and not B.op.same_as(A.op)
    assert B.op.axis[0].same_as(B.op.axis[0])
    m = tvm.arith.detect_linear_equation(x * te.var("b") + 7, [x])
    assert not m[0].same_as(x)


def test_let_from_python_numbers_and_in_a_compute():
    x = te.var("x")
    let = tvm.tir.Let(x, 1, x + 1)
    assert isinstance(let.value, tvm.tir.IntImm) and let.value.value == 1
    assert tvm.arith.Analyzer().simplify(let).value == 2
    bd = tvm.arith.Analyzer().const_int_bound(let)
    assert (bd.min_value, bd.max_value) == (2, 2)

    n = 16
    A = te.placeholder((n,), name="A")
    v = te.var("v", "float32")
    B = te.compute((n,), lambda i: tvm.tir.Let(v, A[i] * 2.0, v * v + 1), name="B")
    s = te.create_schedule(B.op)
    f = tvm.build(s, [A, B], "llvm")
    a = np.random.default_rng().uniform(-3, 3, n).astype("float32")
    b = tvm.nd.array(np.zeros(n, "float32"))
    f(tvm.nd.array(a), b)
    np.testing.assert_allclose(b.numpy(), (a * 2) ** 2 + 1, rtol=1e-6)
