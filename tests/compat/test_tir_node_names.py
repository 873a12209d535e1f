"""TVM 0.12's tir node names in ported passes: BufferStore / BufferLoad / ProducerLoad match
tensorlang's Store / Load / TensorRead, in isinstance and in ir_transform's kinds, and a pass
written with them changes the built function's results as it would in TVM."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te


def _scale_stores_pass(seen: list):
    @tvm.tir.transform.prim_func_pass(opt_level=0)
    def scale(f, mod, ctx):
        def visit(op):
            if isinstance(op, (tvm.tir.BufferStore, tvm.tir.BufferLoad)):
                seen.append((type(op).__name__, op.buffer.name, len(op.indices)))

        tvm.tir.stmt_functor.post_order_visit(f.body, visit)

        def double(op):
            if op.buffer.name == "C":
                return tvm.tir.BufferStore(op.buffer, op.value * 2.0, op.indices)
            return None

        return f.with_body(tvm.tir.stmt_functor.ir_transform(f.body, None, double, ["tir.BufferStore"]))
    return scale


def test_a_pass_written_with_buffer_store_runs() -> None:
    n = 64
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute((n,), lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    seen: list = []
    with tvm.transform.PassContext(config={"tir.add_lower_pass": [(1, _scale_stores_pass(seen))]}):
        f = tvm.build(s, [A, B, C], "llvm")
    assert ("Store", "C", 1) in seen and ("Load", "A", 1) in seen
    rng = np.random.default_rng()
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c = np.empty(n, np.float32)
    f(a, b, c)
    np.testing.assert_allclose(c, (a + b) * 2, rtol=1e-6)


def test_producer_load_is_a_tensor_read() -> None:
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] * 3, name="B")
    reads = []
    tvm.tir.stmt_functor.post_order_visit(
        B.op.body[0], lambda op: reads.append(op) if isinstance(op, tvm.tir.ProducerLoad) else None)
    assert len(reads) == 1 and reads[0].producer.op.name == "A" and len(reads[0].indices) == 1


def test_kinds_tensorlang_does_not_have_warn() -> None:
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1, name="B")
    body = tvm.lower(te.create_schedule(B.op), [A, B])["main"].body
    with pytest.warns(UserWarning, match="no AttrStmt nodes"):
        tvm.tir.stmt_functor.ir_transform(body, None, lambda op: None, ["tir.AttrStmt", "tir.For"])


def test_constructors_and_sequences() -> None:
    buf = te.var("buf", "handle")
    st = tvm.tir.BufferStore(buf, tvm.tir.const(1.5, "float32"), [tvm.tir.const(3)])
    assert isinstance(st, tvm.tir.Store) and isinstance(st, tvm.tir.BufferStore) and int(st.index) == 3
    with pytest.raises(tvm.TVMError, match="holds one index"):
        tvm.tir.BufferStore(buf, 1.0, [0, 1])
    with pytest.raises(tvm.TVMError, match="tir.Load"):
        tvm.tir.BufferLoad(buf, [0])
    seq = tvm.tir.stmt_seq(st, tvm.tir.stmt_seq(st, st))
    assert len(tvm.tir.stmt_list(seq)) == 3


def test_irmodule_gpu_and_convert_at_top_level() -> None:
    n = 32
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2 + 1, name="B")
    mod = tvm.lower(te.create_schedule(B.op), [A, B], name="twice")
    assert isinstance(mod, tvm.IRModule)
    again = tvm.IRModule({"main": mod["main"]})
    f = tvm.build(again, target="llvm")
    a = np.random.default_rng().random(n, dtype=np.float32)
    b = np.empty_like(a)
    f(a, b)
    np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)
    with pytest.raises(tvm.TVMError, match="exactly one PrimFunc"):
        tvm.IRModule({"a": mod, "b": mod})
    with pytest.warns(DeprecationWarning, match="tvm.cuda"):
        assert tvm.gpu(0) == tvm.cuda(0)
    assert int(tvm.convert(3)) == 3


def test_load_and_store_buffer_var_as_tvm_passes_read_them():
    # TVM's older passes (test_cuda_shuffle's) read Load.buffer_var / Store.buffer_var.
    A = te.placeholder((16,), name="A")
    B = te.compute((16,), lambda i: A[i] * 2.0, name="B")
    func = tvm.lower(te.create_schedule(B.op), [A, B])
    seen = []

    def visit(node):
        if isinstance(node, (tvm.tir.Load, tvm.tir.Store)):
            seen.append((type(node).__name__, node.buffer_var.name))
    tvm.tir.stmt_functor.post_order_visit(func.body, visit)
    assert ("Load", "A") in seen and ("Store", "B") in seen
