"""TVM 0.12's hand-written kernels: ``ib.pointer`` (a BufferVar), ``tir.PrimFunc(params, body, ...)``
built with ``tvm.build`` (directly or through ``IRModule.from_expr``), and void LLVM intrinsics,
which are refused by name. Each kernel runs on fresh random data and is checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te, tir
from tensorlang.errors import ArgumentError, DTypeError


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng()


# -- ib.pointer --------------------------------------------------------------------------

def test_pointer_is_an_indexable_buffer_var_and_a_parameter(rng):
    ib = tir.ir_builder.create()
    a = ib.pointer("float32", name="A")
    assert isinstance(a, tir.ir_builder.BufferVar)
    handle = a.asobject()
    assert isinstance(handle, tir.Var) and handle.dtype.is_handle and handle.name == "A"
    assert isinstance(a[0], tir.Load) and a[0].buffer is handle
    n = te.var("n")
    with ib.for_range(0, n, name="i") as i:
        a[i] = a[i] * 2.0 + 1.0
    f = tvm.tir.PrimFunc([a, n], ib.get()).with_attr("global_symbol", "affine")
    m = tvm.build(f, target="llvm")
    size = int(rng.integers(5, 40))
    k = int(rng.integers(1, size))
    x = rng.standard_normal(size).astype("float32")
    y = x.copy()
    m(y, k)  # a raw pointer takes an array of any length; the kernel touches the first k
    np.testing.assert_allclose(y[:k], x[:k] * 2 + 1, rtol=1e-6)
    np.testing.assert_array_equal(y[k:], x[k:])


def test_pointer_of_vectors_addresses_lanes_as_tvm_does(rng):
    # TVM's test_llvm_lookup_intrin, run: element i of a uint8x8 pointer is bytes 8i..8i+7.
    ib = tir.ir_builder.create()
    a = ib.pointer("uint8x8", name="A")
    b = ib.pointer("uint8x8", name="B")
    n = te.var("n")
    with ib.for_range(0, n, name="i") as i:
        b[i] = tir.call_llvm_pure_intrin("uint8x8", "llvm.ctpop", tir.const(1, "uint32"), a[i])
    m = tvm.build(tvm.IRModule.from_expr(tir.PrimFunc([a, b, n], ib.get())), target="llvm")
    count = int(rng.integers(2, 9))
    x = rng.integers(0, 256, size=8 * count, dtype=np.uint8)
    y = rng.integers(0, 256, size=8 * count, dtype=np.uint8)
    m(x, y, count)
    np.testing.assert_array_equal(y, np.unpackbits(x[:, None], axis=1).sum(axis=1))


def test_pointer_as_a_call_extern_argument(rng):
    ib = tir.ir_builder.create()
    a = ib.pointer("float32", name="A")
    nbytes = te.var("nbytes", "int64")
    ib.emit(tir.call_extern("handle", "memset", a, 0, nbytes))  # the BufferVar converts to its handle
    m = tvm.build(tir.PrimFunc([a, nbytes], ib.get()), target="llvm")
    size = int(rng.integers(4, 32))
    k = int(rng.integers(1, size))
    x = rng.standard_normal(size).astype("float32")
    y = x.copy()
    m(y, 4 * k)
    np.testing.assert_array_equal(y[:k], 0)
    np.testing.assert_array_equal(y[k:], x[k:])


def test_pointer_with_a_parallel_loop_called_twice(rng):
    # TVM's test_static_callback, without its coprocessor scope.
    n = te.size_var("n")
    ab = tir.decl_buffer((n,), "int64")
    ib = tir.ir_builder.create()
    a = ib.buffer_ptr(ab)
    with ib.for_range(0, n, "i", kind="parallel") as i:
        a[i] = a[i] + 1
    m = tvm.driver.build(tvm.IRModule.from_expr(tir.PrimFunc([ab], ib.get()).with_attr("global_symbol", "ramp")),
                         target="llvm")
    x = rng.integers(-100, 100, size=int(rng.integers(10, 5000)), dtype=np.int64)
    y = tvm.nd.array(x)
    m(y)
    m(y)
    np.testing.assert_array_equal(y.numpy(), x + 2)


# -- tir.PrimFunc(params, body, ...) ------------------------------------------------------

def _add_one_body(ab):
    ib = tir.ir_builder.create()
    a = ib.buffer_ptr(ab)
    with ib.for_range(0, ab.shape[0], name="i") as i:
        a[i] = a[i] + 1.0
    return ib.get()


def test_tvm_constructor_over_a_symbolic_decl_buffer(rng):
    # /work/meas/s13/codegen/repro/r_primfunc_ctor.py, run.
    n = te.size_var("n")
    ab = tir.decl_buffer((n,), "float32", name="A")
    f = tir.PrimFunc([ab], _add_one_body(ab))
    assert f.name == "main" and str(f.ret_type) == "void" and f.user_arity == 1
    mod = tvm.IRModule.from_expr(f.with_attr("global_symbol", "addone"))
    m = tvm.build(mod, target="llvm")
    assert m.entry_name == "addone" and m["addone"] is m
    for size in rng.integers(1, 100, size=3):
        x = rng.standard_normal(int(size)).astype("float32")
        y = tvm.nd.array(x)
        m(y)
        np.testing.assert_allclose(y.numpy(), x + 1, rtol=1e-6)


def test_tvm_constructor_built_directly_and_tensorlang_order(rng):
    n = te.size_var("n")
    ab = tir.decl_buffer((n,), "float32", name="A")
    body = _add_one_body(ab)
    direct = tvm.build(tir.PrimFunc([ab], body).with_attr("global_symbol", "addone"), target="llvm")
    ours = tvm.build(tir.PrimFunc("addone", [ab], body), target="llvm")  # r_primfunc_ctor2.py
    kw = tvm.build(tir.PrimFunc(params=[ab], body=body, attrs={"global_symbol": "kw"}), target="llvm")
    assert (direct.entry_name, ours.entry_name, kw.entry_name) == ("addone", "addone", "kw")
    for m in (direct, ours, kw):
        x = rng.standard_normal(int(rng.integers(1, 64))).astype("float32")
        y = x.copy()
        m(y)
        np.testing.assert_allclose(y, x + 1, rtol=1e-6)


def test_handle_params_with_buffer_map_and_a_scalar(rng):
    n = te.var("n")
    a, b = te.var("a", "handle"), te.var("b", "handle")
    alpha = te.var("alpha", "float32")
    ab = tir.decl_buffer((n, 4), "float32", name="A")
    bb = tir.decl_buffer((n, 4), "float32", name="B")
    ib = tir.ir_builder.create()
    pa, pb = ib.buffer_ptr(ab), ib.buffer_ptr(bb)
    with ib.for_range(0, n, name="i") as i:
        with ib.for_range(0, 4, name="j", kind="vectorize") as j:
            pb[i, j] = pa[i, j] * alpha
    f = tir.PrimFunc([a, b, alpha], ib.get(), buffer_map={a: ab, b: bb}).with_attr("global_symbol", "scale")
    assert len(f.buffer_map) == 2 and f.buffer_map[f.params[0]].shape[1].value == 4
    m = tvm.build(f, target="llvm")
    x = rng.standard_normal((int(rng.integers(1, 20)), 4)).astype("float32")
    y = np.zeros_like(x)
    scale = float(rng.standard_normal())
    m(x, y, scale)
    np.testing.assert_allclose(y, x * np.float32(scale), rtol=1e-6)


def test_body_using_the_mapped_handle_itself(rng):
    # The handle parameter and its buffer's data are one array: memcpy by handles, then index.
    n = te.var("n")
    a, b = te.var("a", "handle"), te.var("b", "handle")
    ab = tir.decl_buffer((n,), "float32", name="A")
    bb = tir.decl_buffer((n,), "float32", name="B")
    ib = tir.ir_builder.create()
    ib.emit(tir.call_extern("handle", "memcpy", b, a, (n * 4).astype("int64")))
    pb = ib.buffer_ptr(bb)
    with ib.for_range(0, n, name="i") as i:
        pb[i] = pb[i] * 3.0
    m = tvm.build(tir.PrimFunc([a, b], ib.get(), buffer_map={a: ab, b: bb}), target="llvm")
    x = rng.standard_normal(int(rng.integers(1, 50))).astype("float32")
    y = np.zeros_like(x)
    m(x, y)
    np.testing.assert_allclose(y, x * 3, rtol=1e-6)


def test_scalar_params_and_a_vector_buffer(rng):
    # TVM's test_llvm_scalar_concat shape: scalars in, an int32x2 buffer out (two int32s here).
    x, y = tir.Var("x", "int32"), tir.Var("y", "int32")
    z = tir.decl_buffer((1,), "int32x2", name="z")
    f = tir.PrimFunc([x, y, z], z.vstore(0, tir.Ramp(x, y, 2)))
    m = tvm.build(tvm.ir.IRModule.from_expr(f.with_attr("global_symbol", "concat")), [x, y, z], target="llvm")
    vx, vy = (int(v) for v in rng.integers(-1000, 1000, size=2))
    out = rng.integers(0, 10, size=2).astype("int32")
    m(vx, vy, out)
    np.testing.assert_array_equal(out, [vx, vx + vy])


def test_buffer_with_a_symbolic_offset(rng):
    # offset_factor gives the buffer an offset variable; whole arrays start at offset 0.
    n = te.size_var("n")
    ab = tir.decl_buffer((n,), "float32", name="A", offset_factor=1)
    bb = tir.decl_buffer((n,), "float32", name="B", offset_factor=1)
    ib = tir.ir_builder.create()
    with ib.for_range(0, n, name="i") as i:
        ib.emit(bb.vstore(i, ab.vload(i) - 2.0))
    m = tvm.build(tir.PrimFunc([ab, bb], ib.get()), target="llvm")
    x = rng.standard_normal(int(rng.integers(1, 50))).astype("float32")
    y = np.zeros_like(x)
    m(x, y)
    np.testing.assert_allclose(y, x - 2, rtol=1e-6)


def test_lowered_function_keeps_tensorlang_form(rng):
    # What tvm.lower returns still reconstructs with tensorlang's own arguments.
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] * 2, name="B")
    f = tvm.lower(te.create_schedule(B.op), [A, B], name="dbl")
    again = tir.PrimFunc(f.name, f.params, f.body, user_arity=f.user_arity, checks=f.checks)
    m = tvm.build(again, target="llvm")
    x = rng.standard_normal(8).astype("float32")
    y = np.zeros_like(x)
    m(x, y)
    np.testing.assert_allclose(y, x * 2, rtol=1e-6)


def test_body_reading_a_buffer_outside_the_params_is_refused():
    ab = tir.decl_buffer((4,), "float32", name="A")
    other = tir.decl_buffer((4,), "float32", name="Other")
    ib = tir.ir_builder.create()
    a, o = ib.buffer_ptr(ab), ib.buffer_ptr(other)
    with ib.for_range(0, 4, name="i") as i:
        a[i] = o[i]
    with pytest.raises(ArgumentError, match=r"uses buffer\(s\) Other, which are not parameters"):
        tir.PrimFunc([ab], ib.get())


def test_other_bad_constructions_are_refused():
    ab = tir.decl_buffer((4,), "float32", name="A")
    k = te.var("k")
    ib = tir.ir_builder.create()
    ib.buffer_ptr(ab)[0] = k.astype("float32")
    body = ib.get()
    with pytest.raises(ArgumentError, match="variable.*k are used but never bound"):
        tir.PrimFunc([ab], body)
    with pytest.raises(ArgumentError, match="handle without a buffer"):
        tir.PrimFunc([te.var("h", "handle"), k], body)
    with pytest.raises(ArgumentError, match="return nothing"):
        tir.PrimFunc([ab, k], body, ret_type="int32")
    with pytest.raises(ArgumentError, match="not a parameter"):
        tir.PrimFunc([ab, k], body, buffer_map={te.var("g", "handle"): ab})
    strided = tir.decl_buffer((4,), "float32", name="S", strides=[2])
    with pytest.raises(ArgumentError, match="dense and row-major"):
        tir.PrimFunc([strided], tir.Evaluate(0))


# -- void intrinsics --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["", "void"])
@pytest.mark.parametrize("call", [tir.call_llvm_intrin, tir.call_llvm_pure_intrin])
def test_void_llvm_intrinsics_are_refused_by_name(call, dtype):
    # /work/meas/s13/codegen/repro/r_void_llvm_intrin.py: refused where it is written, by name.
    ib = tir.ir_builder.create()
    a = ib.allocate("uint8", (8,), name="A")
    with pytest.raises(DTypeError, match="void LLVM intrinsics"):
        call(dtype, "llvm.va_start", tir.const(1, "uint32"), a.asobject())
