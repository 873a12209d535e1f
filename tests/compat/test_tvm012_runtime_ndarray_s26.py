"""TVM 0.12's tests/python/unittest/test_runtime_ndarray.py, imports changed: NDArrays of every
integer width on each enabled device, fp16 <-> fp32 casts built for llvm, and DataType's type
codes.  Inputs are fresh random data, results compared with numpy."""

import numpy as np

import tensorlang as tvm
import tensorlang.testing
from tensorlang import te


@tvm.testing.uses_gpu
def test_nd_create():
    for target, dev in tvm.testing.enabled_targets():
        for dtype in ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32"]:
            x = np.random.randint(0, 10, size=(3, 4))
            x = np.array(x, dtype=dtype)
            y = tvm.nd.array(x, device=dev)
            z = y.copyto(dev)
            assert y.dtype == x.dtype
            assert y.shape == x.shape
            assert isinstance(y, tvm.nd.NDArray)
            np.testing.assert_equal(x, y.numpy())
            np.testing.assert_equal(x, z.numpy())
        # no need here, just to test usablity
        dev.sync()


def test_fp16_conversion():
    n = 100

    for (src, dst) in [("float32", "float16"), ("float16", "float32")]:
        A = te.placeholder((n,), dtype=src)
        B = te.compute((n,), lambda i: A[i].astype(dst))

        s = te.create_schedule([B.op])
        func = tvm.build(s, [A, B], "llvm")

        x_tvm = tvm.nd.array(100 * np.random.randn(n).astype(src) - 50)
        y_tvm = tvm.nd.array(100 * np.random.randn(n).astype(dst) - 50)

        func(x_tvm, y_tvm)

        expected = x_tvm.numpy().astype(dst)
        real = y_tvm.numpy()

        tvm.testing.assert_allclose(expected, real)


def test_dtype():
    dtype = tvm.DataType("handle")
    assert dtype.type_code == tvm.DataTypeCode.HANDLE
    # the other codes, as DLPack numbers them (bool is a 1-bit uint)
    for name, code in [("int8", tvm.DataTypeCode.INT), ("uint16", tvm.DataTypeCode.UINT),
                       ("bool", tvm.DataTypeCode.UINT), ("float16", tvm.DataTypeCode.FLOAT),
                       ("float32x4", tvm.DataTypeCode.FLOAT)]:
        assert tvm.runtime.DataType(name).type_code == code, name
    assert (tvm.DataTypeCode.INT, tvm.DataTypeCode.UINT, tvm.DataTypeCode.FLOAT) == (0, 1, 2)
