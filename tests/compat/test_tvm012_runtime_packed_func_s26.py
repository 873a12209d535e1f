"""TVM 0.12's tests/python/unittest/test_runtime_packed_func.py and test_runtime_trace.py,
imports changed: the global function registry, converted Python callbacks, and ``tvm.tir.trace``
(the traced value passes through, or the trace action's return value replaces it).

Inputs are fresh random data where TVM used ones or identity matrices.  Trimmed: test_device
(``tvm.opencl`` is not a tensorlang device), test_rvalue_ref (FFI reference counts) and
test_numpy_scalar (``tvm.testing.echo``, an FFI round trip)."""

import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing  # noqa: F401 - TVM's import
from tensorlang import te

rng = np.random.default_rng()


def _data(shape, dtype):
    if dtype.startswith("int"):
        return rng.integers(-1000, 1000, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def test_get_global():
    targs = (10, 10.0, "hello")

    # register into global function table
    @tvm.register_func
    def my_packed_func(*args):
        assert tuple(args) == targs
        return 10

    # get it out from global function table
    f = tvm.get_global_func("my_packed_func")
    assert isinstance(f, tvm.runtime.PackedFunc)
    y = f(*targs)
    assert y == 10


def test_get_callback_with_node():
    x = tvm.runtime.convert(10)

    def test(y):
        return y

    f2 = tvm.runtime.convert(test)

    # register into global function table
    @tvm.register_func
    def my_callback_with_node(y, f):
        assert y == x
        return f(y)

    # get it out from global function table
    f = tvm.get_global_func("my_callback_with_node")
    assert isinstance(f, tvm.runtime.PackedFunc)
    y = f(x, f2)
    assert y.value == 10


def test_return_func_convert_byte_array_and_empty_array():
    def addy(y):
        def add(x):
            return tvm.runtime.convert(x + y)

        return add

    myf = tvm.runtime.convert(addy)
    f = myf(10)
    assert f(11).value == 21

    targs = (10, 10.0, "hello", 10)

    def myfunc(*args):
        assert tuple(args) == targs

    f = tvm.runtime.convert(myfunc)
    assert isinstance(f, tvm.runtime.PackedFunc)

    a = bytearray("hello", encoding="ascii")

    def myfunc2(ss):
        assert ss == a

    tvm.runtime.convert(myfunc2)(a)

    def myfunc3(ss):
        assert tuple(ss) == ()

    x = tvm.runtime.convert(())
    tvm.runtime.convert(myfunc3)(x)


def test_trace_default_action(capsys):
    n = 2
    x = te.placeholder((n, n, n), name="X", dtype="float32")
    y = te.compute(x.shape, lambda i, j, k: tvm.tir.trace([i, j, k, x[i][j][k]]))
    s = te.create_schedule(y.op)
    f = tvm.build(s, [x, y], target="llvm")
    xv = _data((n, n, n), x.dtype)
    xnd = tvm.nd.array(xv)
    ynd = tvm.nd.array(np.zeros((n, n, n), dtype=y.dtype))
    f(xnd, ynd)
    np.testing.assert_array_equal(ynd.numpy(), xv)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == n * n * n and printed[0].startswith("[0, 0, 0, ")


def test_trace_expr_assign():
    @tvm.register_func("tvm.tir.trace_callback2", override=True)
    def trace_buffer(x):
        return

    def check_assign(dtype):
        n = 4
        x = te.placeholder((n, n, n), name="X", dtype=dtype)
        y = te.compute(x.shape, lambda i, j, k: tvm.tir.trace([x[i][j][k]], "tvm.tir.trace_callback2"))
        z = te.compute(x.shape, lambda i, j, k: tvm.tir.trace([y[i][j][k]], "tvm.tir.trace_callback2"))
        s = te.create_schedule(z.op)
        f = tvm.build(s, [x, y, z], "llvm")

        xv = _data((n, n, n), dtype)
        xnd = tvm.nd.array(xv)
        ynd = tvm.nd.array(np.zeros((n, n, n), dtype=y.dtype))
        znd = tvm.nd.array(np.zeros((n, n, n), dtype=z.dtype))
        f(xnd, ynd, znd)

        assert np.array_equal(xnd.numpy(), xv)
        assert np.array_equal(ynd.numpy(), xv)
        assert np.array_equal(znd.numpy(), xv)

    for t in ["float32", "int64"]:  # TVM: float64, float32, int64, int32 (fewer builds here)
        check_assign(t)


def test_trace_expr_sum_args():
    seen = []

    @tvm.register_func("tvm.tir.trace_silent", override=True)
    def silent(*args):
        seen.append(args)

    def check_expr_sum(dtype):
        n = 4
        a = te.placeholder((n, n, n), name="a", dtype=dtype)
        b = te.placeholder((n, n, n), name="b", dtype=dtype)
        e = te.placeholder((n, n, n), name="e", dtype=dtype)
        d = te.placeholder((n, n, n), name="d", dtype=dtype)

        c = te.compute(
            a.shape,
            lambda i, j, k: tvm.tir.trace([i, j, k, a[i][j][k]], "tvm.tir.trace_silent")
            + tvm.tir.trace([i, j, k, b[i][j][k]], "tvm.tir.trace_silent")
            + tvm.tir.trace([i, j, k, d[i][j][k]], "tvm.tir.trace_silent")
            + tvm.tir.trace([i, j, k, e[i][j][k]], "tvm.tir.trace_silent"),
        )
        s = te.create_schedule(c.op)
        f = tvm.build(s, [a, b, d, e, c])
        vals = [_data((n, n, n), dtype) for _ in range(4)]
        a_nd, b_nd, d_nd, e_nd = (tvm.nd.array(v) for v in vals)
        c_nd = tvm.nd.array(np.zeros((n, n, n), dtype=c.dtype))
        seen.clear()
        f(a_nd, b_nd, d_nd, e_nd, c_nd)
        np.testing.assert_allclose(c_nd.numpy(), vals[0] + vals[1] + vals[2] + vals[3], rtol=1e-6)
        assert len(seen) == 4 * n * n * n
        assert all(tuple(map(int, args[:3])) == tuple(args[:3]) for args in seen)

    for t in ["float64", "int32"]:  # TVM: float64, float32, int64, int32 (fewer builds here)
        check_expr_sum(t)


def test_trace_can_change_traced_value_int_and_float():
    @tvm.register_func("tvm.tir.trace_change_int_first", override=True)
    def trace_buffer(x):
        return 13

    @tvm.register_func("tvm.tir.trace_change_int_second", override=True)
    def trace_buffer2(x):
        return 14

    @tvm.register_func("tvm.tir.trace_change_float_first", override=True)
    def trace_buffer3(x):
        return 13.0

    @tvm.register_func("tvm.tir.trace_change_float_second", override=True)
    def trace_buffer4(x):
        return 14.0

    def check_assign(dtype, kind):
        n = 4
        x = te.placeholder((n,), name="X", dtype=dtype)
        y = te.compute(x.shape, lambda i: tvm.tir.trace([x[i]], f"tvm.tir.trace_change_{kind}_first"))
        z = te.compute(x.shape, lambda i: tvm.tir.trace([y[i]], f"tvm.tir.trace_change_{kind}_second"))
        s = te.create_schedule(z.op)
        f = tvm.build(s, [x, y, z], "llvm")

        xnd = tvm.nd.array(_data((n,), dtype))
        ynd = tvm.nd.array(np.zeros((n,), dtype=y.dtype))
        znd = tvm.nd.array(np.zeros((n,), dtype=z.dtype))
        f(xnd, ynd, znd)
        assert np.array_equal(ynd.numpy(), np.array([13, 13, 13, 13]))
        assert np.array_equal(znd.numpy(), np.array([14, 14, 14, 14]))

    for t in ["int64", "int32"]:
        check_assign(t, "int")
    for t in ["float64", "float32"]:
        check_assign(t, "float")

    # a traced condition: any nonzero number the action returns is True
    x = te.placeholder((8,), name="x")
    y = te.compute((8,), lambda i: tvm.tir.trace([x[i] > 0], "tvm.tir.trace_change_int_second"), name="y")
    f = tvm.build(te.create_schedule(y.op), [x, y], "llvm")
    ynd = tvm.nd.empty((8,), "bool")
    f(tvm.nd.array(_data((8,), "float32")), ynd)
    assert ynd.numpy().all()


def test_trace_bad_input_is_named():
    x = te.placeholder((4,), name="x")
    with pytest.raises(tvm.TVMError, match="non-empty list"):
        tvm.tir.trace(x[0])

    @tvm.register_func("s26.trace_returns_text", override=True)
    def text(v):
        return "not a number"

    y = te.compute((4,), lambda i: tvm.tir.trace([x[i]], "s26.trace_returns_text"), name="y")
    f = tvm.build(te.create_schedule(y.op), [x, y], "llvm")
    with pytest.raises(tvm.TVMError, match="s26.trace_returns_text"):
        f(tvm.nd.array(_data((4,), "float32")), tvm.nd.empty((4,), "float32"))
