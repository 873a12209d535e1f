"""TVM 0.12 tests/python/unittest/test_arith_simplify.py, ported with only the imports changed.

test_simplify_reshape_flattened_index needs the simplifier to fold (i % 12) // 4 * 4 + i % 4 into
i % 12; the extra test checks the folded index of a reshape round trip still computes numpy's answer.
"""
import numpy as np
import pytest

import tensorlang as tvm
import tensorlang.testing  # noqa: F401
from tensorlang import te, tir, topi


def test_simplify_reshape_flattened_index():
    ana = tvm.arith.Analyzer()

    i0 = tir.Var("i0", "int64")
    i1 = tir.Var("i1", "int64")
    ana.bind(i0, tvm.ir.Range(0, 8))
    ana.bind(i1, tvm.ir.Range(0, 3))

    i_flattened = i0 * 3 + i1
    assert tvm.ir.structural_equal(
        ana.simplify((i_flattened) // 12 * 12 + (i_flattened) % 12 // 4 * 4 + (i_flattened) % 4),
        i_flattened,
    )


def test_regression_simplify_inf_recursion():
    ana = tvm.arith.Analyzer()
    cond = tir.Var("cond", "int32")

    res = (tvm.tir.NE(cond, 0).astype("int8") - tvm.tir.NE(cond, 0).astype("int8")).astype(
        "int32"
    ) == 0
    # regression in a previous case
    # try compare and int set recursive call can cause infinite loop
    ana.rewrite_simplify(res)


def test_reshape_round_trip_values():
    # not in TVM's file: the index the folding above applies to, built and compared with numpy
    A = te.placeholder((24,), name="A")
    B = topi.reshape(topi.reshape(A, (2, 3, 4)), (24,))
    C = topi.reshape(topi.reshape(A, (8, 3)), (2, 12))
    s = te.create_schedule([B.op, C.op])
    f = tvm.build(s, [A, B, C], "llvm")
    a = np.random.uniform(-1, 1, 24).astype("float32")
    b = tvm.nd.array(np.zeros(24, "float32"))
    c = tvm.nd.array(np.zeros((2, 12), "float32"))
    f(tvm.nd.array(a), b, c)
    np.testing.assert_array_equal(b.numpy(), a)
    np.testing.assert_array_equal(c.numpy(), a.reshape(2, 12))


if __name__ == "__main__":
    pytest.main([__file__])
