"""tvm.ir.structural_equal / assert_structural_equal and tvm.runtime.enabled, as TVM code calls them."""

import pytest

import tensorlang as tvm
from tensorlang import te


def test_structural_equal_by_identity_and_with_free_vars_mapped():
    x, y = te.var("x"), te.var("y")
    assert tvm.ir.structural_equal(x * 2 + 1, x * 2 + 1)
    assert not tvm.ir.structural_equal(x * 2 + 1, y * 2 + 1)
    assert tvm.ir.structural_equal(x * 2 + y, y * 2 + x, map_free_vars=True)
    assert not tvm.ir.structural_equal(x * 2 + x, y * 2 + x, map_free_vars=True)
    assert tvm.ir.structural_equal([x, x + 1], [x, x + 1])
    tvm.ir.assert_structural_equal(tvm.tir.const(3, "int32"), tvm.tir.const(3, "int32"))
    with pytest.raises(ValueError, match="lhs: x \\+ 1"):
        tvm.ir.assert_structural_equal(x + 1, x + 2)


def test_statements_compare_too():
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] * 2.0, name="B")
    s = te.create_schedule(B.op)
    body1 = tvm.lower(s, [A, B]).body
    body2 = tvm.lower(s, [A, B]).body
    assert tvm.ir.structural_equal(body1, body2, map_free_vars=True)


def test_runtime_enabled():
    assert tvm.runtime.enabled("llvm") and tvm.runtime.enabled("cuda -emulate")
    assert tvm.runtime.enabled("cuda") == tvm.cuda(0).exist
    assert not tvm.runtime.enabled("rocm")
