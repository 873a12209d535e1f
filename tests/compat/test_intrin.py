"""TVM's intrin_math tutorial on ``cuda -emulate``: math intrinsics, call_pure_extern of CUDA
device functions, intrinsic lowering rules and a new intrinsic."""

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import te
from tensorlang.ir import register_intrin_lowering, register_op_attr
from tensorlang.ir.passes import lower_intrin

TGT = "cuda -emulate"


@pytest.fixture
def clean_rules():
    saved = dict(lower_intrin._RULES)
    yield
    lower_intrin._RULES.clear()
    lower_intrin._RULES.update(saved)


def test_intrin_math_tutorial(clean_rules):
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute(A.shape, lambda i: te.exp(A[i]), name="B")
    s = te.create_schedule(B.op)
    num_thread = 64
    bx, tx = s[B].split(B.op.axis[0], factor=num_thread)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, [A, B], TGT, name="myexp")

    def check(f, fn):
        a = np.random.uniform(0.5, 2, 100).astype("float32")
        b = np.zeros(100, "float32")
        f(a, b)
        np.testing.assert_allclose(b, fn(a), rtol=1e-5)

    check(f, np.exp)
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute(A.shape, lambda i: tvm.tir.call_pure_extern("float32", "__expf", A[i]), name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=num_thread)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    f = tvm.build(s, [A, B], TGT, name="myexp")
    assert "__expf" in f.imported_modules[0].get_source()
    check(f, np.exp)
    def my_cuda_math_rule(op):
        assert isinstance(op, tvm.tir.Call)
        name = op.op.name
        assert name.startswith("tir.")
        dispatch_name = name[4:]
        if op.dtype == "float32":
            return tvm.tir.call_pure_extern("float32", f"{dispatch_name}f", op.args[0])
        elif op.dtype == "float64":
            return tvm.tir.call_pure_extern("float32", dispatch_name, op.args[0])
        else:
            return op
    register_intrin_lowering("tir.exp", target="cuda", f=my_cuda_math_rule, level=99)
    A = te.placeholder((n,), name="A")
    B = te.compute(A.shape, lambda i: te.exp(A[i]), name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=num_thread)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    fcuda = tvm.build(s, [A, B], TGT, name="myexp")
    assert "expf(" in fcuda.imported_modules[0].get_source()
    check(fcuda, np.exp)
    def mylog(x):
        return tvm.tir.call_intrin(x.dtype, "tir.mylog", x)
    def my_cuda_mylog_rule(op):
        if op.dtype == "float32":
            return tvm.tir.call_pure_extern("float32", "logf", op.args[0])
        elif op.dtype == "float64":
            return tvm.tir.call_pure_extern("float64", "log", op.args[0])
        else:
            return op
    register_op_attr("tir.mylog", "TCallEffectKind", tvm.tir.CallEffectKind.Pure)
    register_intrin_lowering("tir.mylog", target="cuda", f=my_cuda_mylog_rule, level=99)
    n = te.var("n")
    A = te.placeholder((n,), name="A")
    B = te.compute(A.shape, lambda i: mylog(A[i]), name="B")
    s = te.create_schedule(B.op)
    bx, tx = s[B].split(B.op.axis[0], factor=num_thread)
    s[B].bind(bx, te.thread_axis("blockIdx.x"))
    s[B].bind(tx, te.thread_axis("threadIdx.x"))
    fcuda = tvm.build(s, [A, B], TGT, name="mylog")
    check(fcuda, np.log)
    # The tutorial's exp rule returns a float32 call for a float64 exp: storing that would be a
    # silent wrong answer (float32 bits in a float64 buffer), so the build names the rule instead.
    A64 = te.placeholder((64,), name="A64", dtype="float64")
    B64 = te.compute(A64.shape, lambda i: te.exp(A64[i]), name="B64")
    s64 = te.create_schedule(B64.op)
    bx, tx = s64[B64].split(B64.op.axis[0], factor=num_thread)
    s64[B64].bind(bx, te.thread_axis("blockIdx.x"))
    s64[B64].bind(tx, te.thread_axis("threadIdx.x"))
    with pytest.raises(tvm.TVMError, match="rule for exp on target 'cuda' returned a float32 value .* float64 call"):
        tvm.build(s64, [A64, B64], TGT)
