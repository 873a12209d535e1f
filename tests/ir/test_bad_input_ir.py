"""Bad input to storage flattening and the ir_builder: padded storage never wraps its int32
size, and the builder refuses non-integer loop bounds, indices and float conditions where
they are written."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ExprError
from tensorlang.ir.stmt import Allocate
from tensorlang.te.functor import post_order_visit


def _allocation(func, name: str):
    found = []
    post_order_visit(func.body, lambda n: found.append(n) if isinstance(n, Allocate) and n.buffer.name == name
                     else None)
    assert found  # loop partitioning may copy it: every copy has the same size
    assert len({str(a.extent) for a in found}) == 1
    return found[0]


def test_padded_region_past_int32_is_sized_in_int64():
    # The stage's shape is symbolic, so Stage.storage_align cannot check it; the realized
    # region (4 rows under compute_at) is constant and padding takes it past 2**31 - 1.
    n = te.var("n")
    A = te.placeholder((n, 16), name="A")
    B = te.compute((n, 16), lambda i, j: A[i, j] + 1, name="B")
    C = te.compute((n, 16), lambda i, j: B[i, j] * 2, name="C")
    s = te.create_schedule(C.op)
    s[B].storage_align(B.op.axis[0], 2**30 + 7, 0)
    xo, _ = s[C].split(C.op.axis[0], 4)
    s[B].compute_at(s[C], xo)
    alloc = _allocation(tl.lower(s, [A, C]), "B")
    assert str(alloc.extent.dtype) == "int64"
    assert alloc.extent.value == 4 * (2**30 + 7)  # was int32: 28 elements


def test_padded_symbolic_stride_is_computed_in_int64():
    n = te.var("n")
    A = te.placeholder((4, n, 16), name="A")
    B = te.compute((4, n, 16), lambda i, j, k: A[i, j, k] + 1, name="B")
    C = te.compute((4, n, 16), lambda i, j, k: B[i, j, k] * 2, name="C")
    s = te.create_schedule(C.op)
    s[B].storage_align(B.op.axis[0], 2**31, 0)  # a factor past int32 is no error either
    alloc = _allocation(tl.lower(s, [A, C]), "B")
    seen = []
    post_order_visit(alloc.extent, lambda e: seen.append(e) if hasattr(e, "dtype") and e.dtype.is_int else None)
    assert seen and all(str(e.dtype) == "int64" for e in seen if not isinstance(e, te.Var)), alloc.extent


def test_padded_storage_still_computes_right():
    n = te.var("n")
    A = te.placeholder((n, 5), name="A")
    B = te.compute((n, 5), lambda i, j: A[i, j] * 3, name="B")
    C = te.compute((n, 5), lambda i, j: B[i, j] + 1, name="C")
    s = te.create_schedule(C.op)
    s[B].storage_align(B.op.axis[0], 8, 3)
    f = tl.build(s, [A, C])
    a = np.random.default_rng().standard_normal((6, 5)).astype("float32")
    c = np.empty_like(a)
    f(a, c)
    np.testing.assert_allclose(c, a * 3 + 1, rtol=1e-6, atol=1e-6)


def _extern(body):
    A = te.placeholder((8,), name="A")

    def emit(ins, outs):
        ib = tl.tir.ir_builder.create()
        body(ib, ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0]))
        return ib.get()
    return te.extern((8,), [A], emit, name="B")


def test_ir_builder_refuses_float_loop_bound():
    def body(ib, a, o):
        with ib.for_range(0, 4.5, name="i") as i:
            o[i] = a[i]
    with pytest.raises(ExprError, match=r"for_range 'i': the end must be an integer, got 4.5"):
        _extern(body)


def test_ir_builder_refuses_float_index():
    def body(ib, a, o):
        with ib.for_range(0, 4) as i:
            o[i] = a[i * 0.5]
    with pytest.raises(ExprError, match=r"an index of buffer A\w* must be an integer"):
        _extern(body)


def test_ir_builder_refuses_float_condition_and_keeps_integer_ones():
    def bad(ib, a, o):
        with ib.if_scope(3.5):
            o[0] = a[0]
    with pytest.raises(ExprError, match=r"if_scope: the condition must be a scalar bool"):
        _extern(bad)

    def good(ib, a, o):
        with ib.for_range(0, 8, name="i") as i:
            with ib.if_scope(i % 2):  # an integer condition: true when nonzero
                o[i] = a[i]
            with ib.else_scope():
                o[i] = a[i] * 2.0
    B = _extern(good)
    f = tl.build(te.create_schedule(B.op), [B.op.input_tensors[0], B])
    a = np.random.default_rng().standard_normal(8).astype("float32")
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, np.where(np.arange(8) % 2 == 1, a, a * 2), rtol=1e-6)
