"""A program written the way TVM's tutorials write it, with only the imports changed."""

import numpy as np

import tensorlang as tvm
from tensorlang import te


def test_vector_add_tutorial(tmp_path):
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.placeholder((n,), name="B")
    C = te.compute(A.shape, lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    outer, inner = s[C].split(C.op.axis[0], factor=64)
    s[C].parallel(outer)
    s[C].vectorize(inner)
    assert A.dtype == "float32" and str(C.dtype) == "float32"
    tgt = tvm.target.Target(target="llvm", host="llvm")
    fadd = tvm.build(s, [A, B, C], tgt, name="myadd")
    dev = tvm.device(tgt.kind.name, 0)
    size = 1024
    a = tvm.nd.array(np.random.uniform(size=size).astype(A.dtype), dev)
    b = tvm.nd.array(np.random.uniform(size=size).astype(B.dtype), dev)
    c = tvm.nd.array(np.zeros(size, dtype=C.dtype), dev)
    fadd(a, b, c)
    tvm.testing.assert_allclose(c.numpy(), a.numpy() + b.numpy())
    evaluator = fadd.time_evaluator(fadd.entry_name, dev, number=10)
    assert evaluator(a, b, c).mean > 0
    path = str(tmp_path / "myadd.so")
    fadd.export_library(path)
    loaded = tvm.runtime.load_module(path)
    c2 = tvm.nd.empty((size,), "float32", dev)
    loaded(a, b, c2)
    tvm.testing.assert_allclose(c2.numpy(), a.numpy() + b.numpy())
    assert "myadd" in str(tvm.lower(s, [A, B, C], name="myadd", simple_mode=True))
    shape = [int(x) for x in te.placeholder((3, 4)).shape]
    assert shape == [3, 4] and tvm.tir.const(2, "int32").value == 2
