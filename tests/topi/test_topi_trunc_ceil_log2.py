"""``topi.trunc_divide``, ``topi.trunc_mod`` (TVM 0.12's topi/broadcast.py) and ``topi.ceil_log2``
(topi/math.py), which tensorlang lacked: C's truncating division and remainder for integers,
``trunc(a / b)`` and fmod for floats, against numpy on negative operands, broadcast and with scalars."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te, topi


def _run(C, ins, arrays):
    s = te.create_schedule(C.op)
    f = tvm.build(s, list(ins) + [C], "llvm")
    out = tvm.nd.empty([int(d) for d in C.shape], C.dtype)
    f(*[tvm.nd.array(a) for a in arrays], out)
    return out.numpy()


@pytest.mark.parametrize("dtype", ["int32", "int8", "float32"])
def test_trunc_divide_and_mod(dtype):
    rng = np.random.default_rng()
    if dtype.startswith("int"):
        a = rng.integers(-100, 100, size=(3, 4, 5)).astype(dtype)
        b = rng.integers(1, 9, size=(4, 1)).astype(dtype) * rng.choice([-1, 1], size=(4, 1)).astype(dtype)
        q_ref = (np.trunc(a.astype("float64") / b)).astype(dtype)
    else:
        a = rng.uniform(-100, 100, size=(3, 4, 5)).astype(dtype)
        b = (rng.uniform(0.5, 9, size=(4, 1)) * rng.choice([-1, 1], size=(4, 1))).astype(dtype)
        q_ref = np.trunc(a / b)
    A = te.placeholder(a.shape, dtype, name="A")
    B = te.placeholder(b.shape, dtype, name="B")
    q = _run(topi.trunc_divide(A, B), [A, B], [a, b])
    r = _run(topi.trunc_mod(A, B), [A, B], [a, b])
    tvm.testing.assert_allclose(q, q_ref, rtol=1e-5)
    tvm.testing.assert_allclose(r, np.fmod(a, b), rtol=1e-5, atol=1e-4)
    assert q.dtype == np.dtype(dtype) and r.dtype == np.dtype(dtype)


def test_trunc_with_scalars():
    a = np.random.randint(-50, 50, size=(7,)).astype("int32")
    A = te.placeholder(a.shape, "int32", name="A")
    tvm.testing.assert_allclose(_run(topi.trunc_divide(A, -3), [A], [a]), np.trunc(a / -3).astype("int32"))
    tvm.testing.assert_allclose(_run(topi.trunc_mod(A, -3), [A], [a]), np.fmod(a, -3))
    assert int(tvm.arith.Analyzer().simplify(topi.trunc_divide(-7, 2))) == -3
    assert int(tvm.arith.Analyzer().simplify(topi.trunc_mod(-7, 2))) == -1


def test_ceil_log2():
    n = te.var("n")
    A = te.placeholder((n,), "int32", name="A")
    B = te.compute((n,), lambda i: topi.ceil_log2(A[i]), name="B")
    Af = te.placeholder((n,), "float32", name="Af")
    Bf = te.compute((n,), lambda i: topi.ceil_log2(Af[i]), name="Bf")
    a = np.random.randint(1, 1 << 20, size=64).astype("int32")
    f = tvm.build(te.create_schedule([B.op, Bf.op]), [A, Af, B, Bf], "llvm")
    b, bf = tvm.nd.empty((64,), "int32"), tvm.nd.empty((64,), "float32")
    f(tvm.nd.array(a), tvm.nd.array(a.astype("float32")), b, bf)
    np.testing.assert_array_equal(b.numpy(), np.ceil(np.log2(a)).astype("int32"))
    np.testing.assert_array_equal(bf.numpy(), np.ceil(np.log2(a.astype("float32"))))
    assert B.dtype == "int32"
