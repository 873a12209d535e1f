"""pragma prefetch: the contiguous vector loads of argument buffers in the loop nest also
prefetch ``value`` elements ahead (llvm.prefetch, one per cache line); results are unchanged."""

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ScheduleError


def _row_exp(n, m, ahead=None):
    X = te.placeholder((n, m), name="X")
    k = te.reduce_axis((0, m), name="k")
    mx = te.compute((n,), lambda i: te.max(X[i, k], axis=k), name="mx")
    Y = te.compute((n, m), lambda i, j: te.exp(X[i, j] - mx[i]), name="Y")
    s = te.create_schedule(Y.op)
    i, j = Y.op.axis
    jo, ji = s[Y].split(j, factor=16)
    s[Y].vectorize(ji)
    if ahead is not None:
        s[Y].pragma(jo, "prefetch", ahead)
    s[mx].compute_at(s[Y], i)
    return s, [X, Y]


@pytest.mark.parametrize("ahead", [None, 64, 1 << 20])
def test_prefetch_keeps_results_and_emits_one_prefetch_per_line(ahead):
    n, m = 12, 96
    s, args = _row_exp(n, m, ahead)
    f = tl.build(s, args, target="llvm")
    ll = f.get_source("ll")
    # One 16-lane float32 load is one 64-byte line: one prefetch per load (far past the end of
    # the buffer too, where a prefetch never faults).
    assert ("call void @llvm.prefetch" in ll) == (ahead is not None)
    x = np.random.default_rng().standard_normal((n, m)).astype(np.float32)
    out = np.full((n, m), np.nan, np.float32)
    f(x, out)
    np.testing.assert_allclose(out, np.exp(x - x.max(axis=1, keepdims=True)), rtol=1e-5, atol=1e-7)


def test_prefetch_is_not_applied_to_local_buffers():
    X = te.placeholder((8, 64), name="X")
    T = te.compute((8, 64), lambda i, j: X[i, j] * 2.0, name="T")
    Y = te.compute((8, 64), lambda i, j: T[i, j] + 1.0, name="Y")
    s = te.create_schedule(Y.op)
    i, j = Y.op.axis
    jo, ji = s[Y].split(j, factor=16)
    s[Y].vectorize(ji)
    s[Y].pragma(i, "prefetch", 64)
    s[T].compute_at(s[Y], i)
    _, tj = s[T].split(T.op.axis[1], factor=16)
    s[T].vectorize(tj)
    f = tl.build(s, [X, Y], target="llvm")
    # T's one vector load of X (in its loop, before LLVM unrolls it) prefetches; Y's load of the
    # local T does not.
    assert f.get_source("ll-unopt").count("call void @\"llvm.prefetch.p0\"") == 1
    x = np.random.default_rng().standard_normal((8, 64)).astype(np.float32)
    out = np.empty_like(x)
    f(x, out)
    np.testing.assert_allclose(out, x * 2 + 1, rtol=1e-6)


def test_a_negative_prefetch_distance_is_a_schedule_error():
    s, (X, Y) = _row_exp(4, 32)
    with pytest.raises(ScheduleError, match="prefetch"):
        s[Y].pragma(Y.op.axis[0], "prefetch", -16)


def test_tvm_prefetch_intrinsic_in_ir_builder_code():
    # TVM's tir.prefetch(tir.address_of(A[i]), rw, locality, cache type) in hand-written code:
    # a hint that builds (it was an unknown intrinsic) and leaves the results as they are.
    n = 256
    A = te.placeholder((n,), name="A")

    def gen(ins, outs):
        ib = tl.tir.ir_builder.create()
        a, o = ib.buffer_ptr(ins[0]), ib.buffer_ptr(outs[0])
        with ib.for_range(0, n, name="i") as i:
            with ib.if_scope(i + 16 < n):
                address = tl.tir.call_intrin("handle", "tir.address_of", a[i + 16])
                ib.emit(tl.tir.Evaluate(tl.tir.Call("int32", "tir.prefetch", [address, 0, 3, 1])))
            o[i] = a[i] * 2.0
        return ib.get()

    C = te.extern((n,), [A], gen, name="C", dtype="float32")
    f = tl.build(te.create_schedule(C.op), [A, C], "llvm")
    assert "llvm.prefetch" in f.get_source("ll")
    a = np.random.rand(n).astype("float32")
    c = np.empty(n, "float32")
    f(a, c)
    np.testing.assert_array_equal(c, a * 2.0)
